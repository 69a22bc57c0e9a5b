// The rejected-deliveries report (hub_rejects.h): lines built in memory,
// appended and fdatasynced at commit; the seqs rejected, kept as ranges
// (a newer hub whose every delivery this build cannot read gives one
// range, however long the stream).
#include "hub_rejects.h"

#include "hub_buf.h"
#include "hub_dir.h"
#include "hub_error.h"
#include "hub_utf8.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_ID_HEX 32   // a store id: 32 lower-case hex digits
#define S_HEAD_MAX 96 // what is read of a line at open: {"seq":N,"store_id":"…"

// The seqs LO..HI, all rejected.
typedef struct {
    uint64_t lo, hi;
} s_range_t;

struct hubc_rejects {
    char *dir;
    char *path; // DIR/ENDPOINT.rejected
    char *endpoint;
    char store_id[S_ID_HEX + 1]; // carried by the lines written ("": none)
    hub_buf_t pending;           // lines added since the last commit
    s_range_t *ranges;           // the seqs remembered: sorted, none touching the next
    size_t nranges, cap;
    uint64_t count; // lines added since open
    bool dir_due;   // the report was made and its directory not yet fsynced
};

// The scan of the report at open.
typedef struct {
    char head[S_HEAD_MAX]; // the first bytes of the line being read
    size_t head_len;
    uint64_t at;            // bytes read
    uint64_t good_len;      // bytes up to the end of the last complete line
    uint64_t line;          // complete lines
    uint64_t bad, bad_line; // lines hub-sink did not write, and the first of them
} s_scan_t;

static int
s_io_error(hub_diag_t *diag, const char *what, const char *path)
{
    hub_diag_add(diag, HUB_DIAG_ERROR, "inbox_io", path, "%s: %s", what, strerror(errno));
    return HUB_EIO;
}

// ---------------------------------------------------------------- seqs

static bool
s_is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

// Remembers SEQ. Errors: HUB_ENOMEM (nothing changed).
static int
s_remember(hubc_rejects_t *self, uint64_t seq)
{
    size_t i = self->nranges;
    while (i > 0 && self->ranges[i - 1].lo > seq) { // seqs mostly come in order
        i--;
    }
    s_range_t *prev = i > 0 ? &self->ranges[i - 1] : NULL;
    s_range_t *next = i < self->nranges ? &self->ranges[i] : NULL;
    if (prev && seq <= prev->hi) {
        return HUB_OK;
    }
    if (prev && prev->hi + 1 == seq) {
        prev->hi = next && next->lo == seq + 1 ? next->hi : seq;
        if (next && next->lo == seq + 1) {
            memmove(next, next + 1, (self->nranges - i - 1) * sizeof *next);
            self->nranges--;
        }
        return HUB_OK;
    }
    if (next && next->lo == seq + 1) {
        next->lo = seq;
        return HUB_OK;
    }
    if (self->nranges == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 8;
        s_range_t *grown = realloc(self->ranges, cap * sizeof *grown);
        if (!grown) {
            return HUB_ENOMEM;
        }
        self->ranges = grown;
        self->cap = cap;
    }
    memmove(&self->ranges[i + 1], &self->ranges[i], (self->nranges - i) * sizeof *self->ranges);
    self->ranges[i] = (s_range_t){seq, seq};
    self->nranges++;
    return HUB_OK;
}

bool
hubc_rejects_has(const hubc_rejects_t *self, uint64_t seq)
{
    for (size_t i = self->nranges; i > 0; i--) {
        if (self->ranges[i - 1].lo <= seq) {
            return seq <= self->ranges[i - 1].hi;
        }
    }
    return false;
}

uint64_t
hubc_rejects_reach(const hubc_rejects_t *self, uint64_t last)
{
    for (size_t i = 0; i < self->nranges; i++) {
        // LO <= LAST + 1, not LO - 1 <= LAST (which wraps at seq 0); HI >
        // LAST first, so that LAST + 1 cannot wrap either.
        if (self->ranges[i].hi > last && self->ranges[i].lo <= last + 1) {
            last = self->ranges[i].hi;
        }
    }
    return last;
}

void
hubc_rejects_forget(hubc_rejects_t *self, uint64_t upto)
{
    size_t k = 0;
    while (k < self->nranges && self->ranges[k].hi <= upto) {
        k++;
    }
    if (k > 0) {
        memmove(self->ranges, self->ranges + k, (self->nranges - k) * sizeof *self->ranges);
        self->nranges -= k;
    }
    if (self->nranges > 0 && self->ranges[0].lo <= upto) {
        self->ranges[0].lo = upto + 1;
    }
}

void
hubc_rejects_set_store_id(hubc_rejects_t *self, const char *store_id, bool restored)
{
    size_t n = 0;
    while (store_id && n < S_ID_HEX && s_is_hex(store_id[n])) {
        n++;
    }
    bool ok = n == S_ID_HEX && store_id[n] == '\0'; // else none: lines stay readable
    snprintf(self->store_id, sizeof self->store_id, "%s", ok ? store_id : "");
    if (restored) {
        self->nranges = 0; // the old store's seqs: the restored hub issues them again
    }
}

// ---------------------------------------------------------------- lines

// Appends S as a JSON string; a byte that does not begin a UTF-8
// character becomes U+FFFD, so that the line stays valid JSON whatever
// the hub sent (id, type and origin_id are copied as they came).
static int
s_json_text(hub_buf_t *out, const char *s)
{
    int rc = hub_buf_append(out, "\"", 1);
    for (size_t i = 0, n; rc == HUB_OK && s[i]; i += n) {
        unsigned char c = (unsigned char) s[i];
        n = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
        if (c == '"' || c == '\\') {
            rc = hub_buf_printf(out, "\\%c", c);
        } else if (c < 0x20) {
            rc = hub_buf_printf(out, "\\u%04x", c);
        } else if (n == 1 || (strnlen(s + i, n) == n && hub_utf8_valid(s + i, n, NULL))) {
            rc = hub_buf_append(out, s + i, n);
        } else {
            rc = hub_buf_puts(out, "\\ufffd");
            n = 1;
        }
    }
    return rc ? rc : hub_buf_append(out, "\"", 1);
}

// Appends KEY and S as a JSON string, or null when S is empty.
static int
s_json_field(hub_buf_t *out, const char *key, const char *s)
{
    int rc = hub_buf_printf(out, ",\"%s\":", key);
    return rc ? rc : s[0] ? s_json_text(out, s) : hub_buf_puts(out, "null");
}

// Appends the LEN bytes at P in base64 (RFC 4648, with padding).
static int
s_base64(hub_buf_t *out, const uint8_t *p, size_t len)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (hub_buf_reserve(out, (len + 2) / 3 * 4) != HUB_OK) {
        return HUB_ENOMEM;
    }
    char *q = (char *) out->data + out->len;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t) p[i] << 16 | (i + 1 < len ? (uint32_t) p[i + 1] << 8 : 0) |
                     (i + 2 < len ? p[i + 2] : 0);
        *q++ = abc[v >> 18 & 63];
        *q++ = abc[v >> 12 & 63];
        *q++ = i + 1 < len ? abc[v >> 6 & 63] : '=';
        *q++ = i + 2 < len ? abc[v & 63] : '=';
    }
    out->len = (size_t) (q - (char *) out->data);
    return HUB_OK;
}

int
hubc_rejects_add(hubc_rejects_t *self, const hubc_delivery_t *d, const char *at, const char *reason)
{
    hub_buf_t *b = &self->pending;
    size_t undo = b->len;
    // seq and store_id first: how the report is read again at open.
    int rc = hub_buf_printf(b, "{\"seq\":%llu,\"store_id\":\"%s\"", (unsigned long long) d->seq,
                            self->store_id);
    rc = rc ? rc : s_json_field(b, "endpoint", self->endpoint);
    rc = rc ? rc : s_json_field(b, "id", d->id);
    rc = rc ? rc : s_json_field(b, "origin_id", d->origin_id);
    rc = rc ? rc : s_json_field(b, "type", d->type);
    rc = rc ? rc : s_json_field(b, "rejected_at", at);
    rc = rc ? rc : s_json_field(b, "reason", reason);
    rc = rc ? rc : hub_buf_puts(b, ",\"body\":\"");
    rc = rc ? rc : s_base64(b, d->body, d->body_len);
    rc = rc ? rc : hub_buf_puts(b, "\"}\n");
    rc = rc ? rc : s_remember(self, d->seq);
    if (rc) {
        b->len = undo;
        return rc;
    }
    self->count++;
    return HUB_OK;
}

// Writes all LEN bytes at P to FD (appending).
static int
s_write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return HUB_EIO;
        }
        p += n;
        len -= (size_t) n;
    }
    return HUB_OK;
}

// Opens the report for appending, made (durably: the directory fsynced
// before anything is written into it) when missing. A directory fsync
// that failed is owed until one succeeds: the file it made is there and
// is opened without O_CREAT next time, but its name may not be durable.
static int
s_open_append(hubc_rejects_t *self, int *fd, hub_diag_t *diag)
{
    *fd = open(self->path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (*fd < 0 && errno == ENOENT) {
        *fd = open(self->path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
        self->dir_due = *fd >= 0;
    }
    if (*fd < 0) {
        return s_io_error(diag, "cannot open", self->path);
    }
    if (self->dir_due && hub_dir_sync(self->dir) != HUB_OK) {
        int rc = s_io_error(diag, "cannot fsync", self->dir);
        close(*fd);
        return rc;
    }
    self->dir_due = false;
    return HUB_OK;
}

int
hubc_rejects_commit(hubc_rejects_t *self, hub_diag_t *diag)
{
    if (self->pending.len == 0) {
        return HUB_OK;
    }
    // Opened at each commit (rejections are rare): a report the operator
    // took away is made again, not written on where no one looks.
    int fd;
    struct stat st;
    int rc = s_open_append(self, &fd, diag);
    if (rc) {
        return rc;
    }
    if (fstat(fd, &st) != 0) {
        rc = s_io_error(diag, "cannot stat", self->path);
    } else if (s_write_all(fd, self->pending.data, self->pending.len) != HUB_OK ||
               fdatasync(fd) != 0) {
        rc = s_io_error(diag, "cannot write", self->path);
        // Keep the file whole: cut what this commit may have appended.
        if (ftruncate(fd, st.st_size) == 0) {
            fdatasync(fd);
        }
    }
    close(fd);
    if (rc == HUB_OK) {
        self->pending.len = 0;
    }
    return rc;
}

// ---------------------------------------------------------------- opening

// The seq and store id at the start H (LEN bytes) of a line as
// hub_rejects_add() writes it; false when it is not one.
static bool
s_parse_head(const char *h, size_t len, uint64_t *seq, char id[S_ID_HEX + 1])
{
    static const char a[] = "{\"seq\":", b[] = ",\"store_id\":\"";
    size_t i = sizeof a - 1, n = 0;
    uint64_t v = 0;
    // Only the digits hub_rejects_add() writes: no leading zero (a seq
    // is never 0), no wrap past 2^64.
    if (len <= i || memcmp(h, a, i) != 0 || h[i] == '0') {
        return false;
    }
    for (; i < len && h[i] >= '0' && h[i] <= '9'; i++) {
        uint64_t dig = (uint64_t) (h[i] - '0');
        if (v > (UINT64_MAX - dig) / 10) {
            return false;
        }
        v = v * 10 + dig;
    }
    if (v == 0 || len - i < sizeof b - 1 || memcmp(h + i, b, sizeof b - 1) != 0) {
        return false;
    }
    i += sizeof b - 1;
    while (i + n < len && n <= S_ID_HEX && s_is_hex(h[i + n])) {
        n++;
    }
    if (i + n >= len || h[i + n] != '"' || (n != 0 && n != S_ID_HEX)) {
        return false;
    }
    memcpy(id, h + i, n);
    id[n] = '\0';
    *seq = v;
    return true;
}

// A line of the report ended: its seq is remembered when it is of this
// store id and above AFTER.
static int
s_line(hubc_rejects_t *self, s_scan_t *sc, uint64_t after)
{
    uint64_t seq;
    char id[S_ID_HEX + 1];
    sc->line++;
    if (!s_parse_head(sc->head, sc->head_len, &seq, id)) {
        sc->bad_line = sc->bad ? sc->bad_line : sc->line;
        sc->bad++;
        return HUB_OK;
    }
    return strcmp(id, self->store_id) == 0 && seq > after ? s_remember(self, seq) : HUB_OK;
}

// Feeds the next N bytes at P of the report to the scan.
static int
s_feed(hubc_rejects_t *self, s_scan_t *sc, const uint8_t *p, size_t n, uint64_t after)
{
    int rc = HUB_OK;
    while (n > 0 && rc == HUB_OK) {
        const uint8_t *nl = memchr(p, '\n', n);
        size_t take = nl ? (size_t) (nl - p) : n; // the line's bytes before its end
        size_t room = sizeof sc->head - sc->head_len, k = take < room ? take : room;
        memcpy(sc->head + sc->head_len, p, k);
        sc->head_len += k;
        if (!nl) {
            sc->at += n;
            break;
        }
        sc->at += take + 1;
        sc->good_len = sc->at;
        rc = s_line(self, sc, after);
        sc->head_len = 0;
        p += take + 1;
        n -= take + 1;
    }
    return rc;
}

// Cuts a torn last line of the report (open as FD, scanned as SC).
static int
s_cut_torn(hubc_rejects_t *self, int fd, const s_scan_t *sc, hub_diag_t *diag)
{
    if (sc->at == sc->good_len) {
        return HUB_OK;
    }
    if (ftruncate(fd, (off_t) sc->good_len) != 0 || fdatasync(fd) != 0) {
        return s_io_error(diag, "cannot cut the torn last line of", self->path);
    }
    char where[1100];
    snprintf(where, sizeof where, "%s:%llu", self->path, (unsigned long long) sc->line + 1);
    hub_diag_add(diag, HUB_DIAG_NOTE, "inbox_torn", where,
                 "cut a torn last line (%llu bytes): its delivery was never acknowledged, and "
                 "comes again",
                 (unsigned long long) (sc->at - sc->good_len));
    return HUB_OK;
}

// Reads the report, if there is one (hubc_rejects_open()).
static int
s_read(hubc_rejects_t *self, uint64_t after, hub_diag_t *diag)
{
    int fd = open(self->path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        return errno == ENOENT ? HUB_OK : s_io_error(diag, "cannot open", self->path);
    }
    uint8_t chunk[65536];
    s_scan_t sc = {.head_len = 0};
    int rc = HUB_OK;
    for (;;) {
        ssize_t n = pread(fd, chunk, sizeof chunk, (off_t) sc.at);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            rc = n < 0 ? s_io_error(diag, "cannot read", self->path) : HUB_OK;
            break;
        }
        rc = s_feed(self, &sc, chunk, (size_t) n, after);
        if (rc) {
            break;
        }
    }
    rc = rc ? rc : s_cut_torn(self, fd, &sc, diag);
    close(fd);
    if (rc == HUB_OK && sc.bad) {
        char where[1100];
        snprintf(where, sizeof where, "%s:%llu", self->path, (unsigned long long) sc.bad_line);
        hub_diag_add(diag, HUB_DIAG_WARNING, "rejects_line", where,
                     "%llu line(s) from here on are not lines hub-sink wrote: passed over",
                     (unsigned long long) sc.bad);
    }
    return rc;
}

int
hubc_rejects_open(hubc_rejects_t **out, const char *dir, const char *endpoint, const char *store_id,
                  uint64_t after, hub_diag_t *diag)
{
    *out = NULL;
    size_t plen = strlen(dir) + strlen(endpoint) + sizeof "/.rejected";
    hubc_rejects_t *self = calloc(1, sizeof *self);
    if (!self || !(self->dir = strdup(dir)) || !(self->endpoint = strdup(endpoint)) ||
        !(self->path = malloc(plen))) {
        hubc_rejects_destroy(&self);
        return HUB_ENOMEM;
    }
    snprintf(self->path, plen, "%s/%s.rejected", dir, endpoint);
    // A report found here may have been made by a process that died before
    // its directory was fsynced: the first commit fsyncs it again.
    self->dir_due = true;
    hubc_rejects_set_store_id(self, store_id, false);
    int rc = s_read(self, after, diag);
    if (rc) {
        hubc_rejects_destroy(&self);
        return rc;
    }
    *out = self;
    return HUB_OK;
}

void
hubc_rejects_destroy(hubc_rejects_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    hubc_rejects_t *self = *self_p;
    hub_buf_free(&self->pending);
    free(self->ranges);
    free(self->dir);
    free(self->path);
    free(self->endpoint);
    free(self);
    *self_p = NULL;
}

uint64_t
hubc_rejects_count(const hubc_rejects_t *self)
{
    return self->count;
}

const char *
hubc_rejects_path(const hubc_rejects_t *self)
{
    return self->path;
}
