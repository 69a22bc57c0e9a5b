// hub_inbox's reader of inbox files (hub_inbox.h, "reading an inbox
// file"): where the good records of a part file end, for recovery.
#include "hub_error.h"
#include "hub_inbox.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

void
hubc_inbox_scan_init(hubc_inbox_scan_t *self, bool csv, uint64_t first)
{
    memset(self, 0, sizeof *self);
    self->csv = csv;
    self->last = first - 1;
    self->line = 1;
    self->rec_line = 1;
}

// The sequence a record begins with, from its first bytes; 0 when it does
// not begin with one.
static uint64_t
s_head_seq(const hubc_inbox_scan_t *self)
{
    static const char json_head[] = "{\"seq\":";
    size_t i = 0, start;
    if (!self->csv) {
        if (self->head_len < sizeof json_head ||
            memcmp(self->head, json_head, sizeof json_head - 1) != 0) {
            return 0;
        }
        i = sizeof json_head - 1;
    }
    start = i;
    uint64_t v = 0;
    // As the sink writes it: no leading zero, no more than a u64 holds.
    if (i < self->head_len && self->head[i] == '0') {
        return 0;
    }
    while (i < self->head_len && self->head[i] >= '0' && self->head[i] <= '9') {
        uint64_t d = (uint64_t) (self->head[i++] - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return 0;
        }
        v = v * 10 + d;
    }
    uint8_t end = i < self->head_len ? self->head[i] : 0;
    bool ended = end == ',' || (self->csv ? end == '\r' : end == '}');
    return i > start && ended ? v : 0;
}

// A record ended with the byte at offset AT - 1.
static void
s_record_end(hubc_inbox_scan_t *self)
{
    if (self->csv && self->header_len == 0) {
        self->header_len = self->good_len = self->at;
    } else if (s_head_seq(self) == self->last + 1 && self->last + 1 != 0) {
        self->records++;
        self->last++;
        self->good_len = self->at;
    } else {
        self->bad_line = self->rec_line;
        self->stopped = true;
    }
    self->head_len = 0;
    self->rec_line = self->line;
}

void
hubc_inbox_scan_feed(hubc_inbox_scan_t *self, const void *data, size_t len)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < len && !self->stopped; i++) {
        uint8_t b = p[i];
        if (self->head_len < sizeof self->head) {
            self->head[self->head_len++] = b;
        }
        self->at++;
        if (self->csv && b == '"') {
            self->quoted = !self->quoted; // "" inside a cell toggles twice
        } else if (b == '\n') {
            self->line++;
            if (!self->quoted) {
                s_record_end(self);
            }
        }
    }
}

int
hubc_inbox_scan_fd(int fd, bool csv, uint64_t first, hubc_inbox_scan_t *scan, uint64_t *size)
{
    uint8_t chunk[65536];
    hubc_inbox_scan_init(scan, csv, first);
    *size = 0;
    for (;;) {
        ssize_t n = pread(fd, chunk, sizeof chunk, (off_t) *size);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return HUB_EIO;
        }
        if (n == 0) {
            return HUB_OK;
        }
        hubc_inbox_scan_feed(scan, chunk, (size_t) n);
        *size += (uint64_t) n;
    }
}
