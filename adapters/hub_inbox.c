#include "hub_inbox.h"

#include "hub_buf.h"
#include "hub_dir.h"
#include "hub_error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_NAME_MAX 256 // an inbox file's name
#define S_EP_MAX 128   // an endpoint's name
#define S_ID_HEX 32    // a store id: 32 lower-case hex digits

struct hubc_inbox {
    char *dir;
    int dirfd;  // for fsync after renames and creates
    int lockfd; // .ENDPOINT.lock, write-locked while open
    char endpoint[S_EP_MAX];
    char store_id[S_ID_HEX + 1]; // .ENDPOINT.store_id ("": none)
    hubc_inbox_opts_t opts;      // header points into HEADER
    hub_buf_t header;
    int fd;                // the part file (O_APPEND)
    char part[S_NAME_MAX]; // its name
    time_t started;        // the time in its name
    uint64_t first;        // the first seq in its name
    uint64_t size;         // its durable bytes (header included)
    uint64_t records;      // records in it, durable or pending
    uint64_t npending;     // records added since the last commit
    uint64_t durable;      // the last seq made durable
    uint64_t last;         // the last seq added
    hub_buf_t pending;     // records added since the last commit
    bool broken;           // a write failed: nothing more is written
    uint64_t files, written;
};

// One part file found when opening.
typedef struct {
    char name[S_NAME_MAX];
    uint64_t first;
    bool csv;
} s_found_t;

// ---------------------------------------------------------------- names

static const char *
s_ext(bool csv)
{
    return csv ? "csv" : "jsonl";
}

static bool
s_endpoint_ok(const char *ep)
{
    size_t n = strlen(ep);
    if (n == 0 || n >= S_EP_MAX || ep[0] == '.' || ep[0] == '-') {
        return false;
    }
    return strspn(ep, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@._-") == n;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
// days_from_civil), so that names' UTC times need no timegm().
static int64_t
s_days(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

// TS ("YYYYMMDDTHHMMSS") as seconds since the epoch.
static time_t
s_ts_time(const char ts[16])
{
    int64_t v[6] = {0};
    static const int at[6] = {0, 4, 6, 9, 11, 13}, len[6] = {4, 2, 2, 2, 2, 2};
    for (int i = 0; i < 6; i++) {
        for (int k = 0; k < len[i]; k++) {
            v[i] = v[i] * 10 + (ts[at[i] + k] - '0');
        }
    }
    return (time_t) (s_days(v[0], v[1], v[2]) * 86400 + v[3] * 3600 + v[4] * 60 + v[5]);
}

static void
s_ts_of(time_t t, char ts[16])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(ts, 16, "%Y%m%dT%H%M%S", &tm);
}

static bool
s_ts_ok(const char *s)
{
    for (int i = 0; i < 15; i++) {
        bool digit = s[i] >= '0' && s[i] <= '9';
        if (i == 8 ? s[i] != 'T' : !digit) {
            return false;
        }
    }
    return true;
}

bool
hubc_inbox_parse_name(const char *name, const char *endpoint, char ts[16], uint64_t *first,
                      bool *csv, bool *part)
{
    size_t n = strlen(endpoint);
    if (strncmp(name, endpoint, n) != 0 || name[n] != '-' || !s_ts_ok(name + n + 1) ||
        name[n + 16] != '-') {
        return false;
    }
    const char *p = name + n + 17, *q = p;
    uint64_t v = 0;
    while (*q >= '0' && *q <= '9' && q - p < 20) {
        v = v * 10 + (uint64_t) (*q++ - '0');
    }
    if (q == p || *q != '.') {
        return false;
    }
    q++;
    bool is_csv = strncmp(q, "csv", 3) == 0;
    size_t elen = is_csv ? 3 : strncmp(q, "jsonl", 5) == 0 ? 5 : 0;
    if (elen == 0 || (strcmp(q + elen, "") != 0 && strcmp(q + elen, ".part") != 0)) {
        return false;
    }
    memcpy(ts, name + n + 1, 15);
    ts[15] = '\0';
    *first = v;
    *csv = is_csv;
    *part = q[elen] != '\0';
    return true;
}

static void
s_name(char out[S_NAME_MAX], const char *ep, const char *ts, uint64_t first, bool csv, bool part)
{
    snprintf(out, S_NAME_MAX, "%s-%s-%012llu.%s%s", ep, ts, (unsigned long long) first, s_ext(csv),
             part ? ".part" : "");
}

// ---------------------------------------------------------------- files

static int
s_io_error(hubc_inbox_t *self, hub_diag_t *diag, const char *what, const char *name)
{
    hub_diag_add(diag, HUB_DIAG_ERROR, "inbox_io", self->dir, "%s %s: %s", what, name,
                 strerror(errno));
    return HUB_EIO;
}

static int
s_sync_dir(hubc_inbox_t *self, hub_diag_t *diag)
{
    return fsync(self->dirfd) == 0 ? HUB_OK : s_io_error(self, diag, "cannot fsync", ".");
}

// Writes all LEN bytes at P to FD (appending).
static int
s_write_all(int fd, const void *p, size_t len)
{
    const uint8_t *b = p;
    while (len > 0) {
        ssize_t n = write(fd, b, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return HUB_EIO;
        }
        b += n;
        len -= (size_t) n;
    }
    return HUB_OK;
}

// Names the part file of FIRST with the time now into NAME (*STARTED
// gets that time): a name that no other file of the inbox has, finished
// or not. After a restart (hubc_inbox_restart()) FIRST repeats an earlier
// file's; should that file be of this very second, the time goes on a
// second, so that a rename never replaces a file.
static void
s_part_name(const hubc_inbox_t *self, uint64_t first, char name[S_NAME_MAX], time_t *started)
{
    char ts[16], done[S_NAME_MAX];
    *started = time(NULL);
    for (int i = 0; i < 1000; i++, (*started)++) {
        s_ts_of(*started, ts);
        s_name(name, self->endpoint, ts, first, self->opts.csv, true);
        s_name(done, self->endpoint, ts, first, self->opts.csv, false);
        bool other = strcmp(name, self->part) != 0 && faccessat(self->dirfd, name, F_OK, 0) == 0;
        if (!other && faccessat(self->dirfd, done, F_OK, 0) != 0) {
            return;
        }
    }
}

// Creates the empty part file for FIRST, named with the time now, holding
// the header, durable; the directory is fsynced by the caller.
static int
s_create_part(hubc_inbox_t *self, uint64_t first, hub_diag_t *diag)
{
    char name[S_NAME_MAX];
    s_part_name(self, first, name, &self->started);
    memcpy(self->part, name, sizeof name);
    int fd =
        openat(self->dirfd, self->part, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) {
        return s_io_error(self, diag, "cannot create", self->part);
    }
    if (s_write_all(fd, self->opts.header, self->opts.header_len) != HUB_OK || fdatasync(fd) != 0) {
        int rc = s_io_error(self, diag, "cannot write", self->part);
        close(fd);
        return rc;
    }
    self->fd = fd;
    self->first = first;
    self->size = self->opts.header_len;
    self->records = 0;
    return HUB_OK;
}

// Renames part file NAME (of FIRST, format CSV) to its finished name, or
// removes it when it holds no record.
static int
s_finish_name(hubc_inbox_t *self, const char *name, bool has_records, hub_diag_t *diag)
{
    if (!has_records) {
        return unlinkat(self->dirfd, name, 0) == 0 ? HUB_OK
                                                   : s_io_error(self, diag, "cannot remove", name);
    }
    char done[S_NAME_MAX];
    snprintf(done, sizeof done, "%.*s", (int) (strlen(name) - strlen(".part")), name);
    if (renameat(self->dirfd, name, self->dirfd, done) != 0) {
        return s_io_error(self, diag, "cannot rename", name);
    }
    return HUB_OK;
}

int
hubc_inbox_commit(hubc_inbox_t *self, hub_diag_t *diag)
{
    if (self->broken) {
        hub_diag_add(diag, HUB_DIAG_ERROR, "inbox_io", self->dir, "the inbox failed before");
        return HUB_EIO;
    }
    if (self->pending.len == 0) {
        return HUB_OK;
    }
    if (s_write_all(self->fd, self->pending.data, self->pending.len) != HUB_OK ||
        fdatasync(self->fd) != 0) {
        int rc = s_io_error(self, diag, "cannot write", self->part);
        // Keep the file whole: cut what this commit may have appended.
        if (ftruncate(self->fd, (off_t) self->size) == 0) {
            fdatasync(self->fd);
        }
        self->broken = true;
        return rc;
    }
    self->size += self->pending.len;
    self->pending.len = 0;
    self->written += self->npending;
    self->npending = 0;
    self->durable = self->last;
    return HUB_OK;
}

int
hubc_inbox_rotate(hubc_inbox_t *self, hub_diag_t *diag)
{
    int rc = hubc_inbox_commit(self, diag);
    if (rc || self->records == 0) {
        return rc;
    }
    // The next part file first: at every moment one part file says how
    // far the inbox goes, even when the finished ones are taken away.
    int old_fd = self->fd;
    char old[S_NAME_MAX];
    memcpy(old, self->part, sizeof old);
    rc = s_create_part(self, self->last + 1, diag);
    rc = rc ? rc : s_finish_name(self, old, true, diag);
    rc = rc ? rc : s_sync_dir(self, diag);
    if (self->fd != old_fd) {
        close(old_fd);
    }
    self->broken = rc != HUB_OK;
    self->files += rc == HUB_OK;
    return rc;
}

// Before the first record of an empty part file: its name gets the time
// now and FIRST = SEQ (which differs from the name's after a gap).
static int
s_restart_part(hubc_inbox_t *self, uint64_t seq, hub_diag_t *diag)
{
    char name[S_NAME_MAX];
    time_t now;
    s_part_name(self, seq, name, &now);
    if (strcmp(name, self->part) == 0) {
        return HUB_OK;
    }
    if (renameat(self->dirfd, self->part, self->dirfd, name) != 0) {
        self->broken = true;
        return s_io_error(self, diag, "cannot rename", self->part);
    }
    memcpy(self->part, name, sizeof name);
    self->started = now;
    self->first = seq;
    int rc = s_sync_dir(self, diag);
    self->broken = rc != HUB_OK;
    return rc;
}

int
hubc_inbox_add(hubc_inbox_t *self, uint64_t seq, const void *rec, size_t len, hub_diag_t *diag)
{
    if (seq <= self->last) {
        return HUB_EINVAL;
    }
    if (self->broken) {
        return hubc_inbox_commit(self, diag);
    }
    uint64_t cap = self->opts.rotate_bytes;
    bool full = cap && self->size + self->pending.len + len > cap;
    int rc = HUB_OK;
    if (self->records > 0 && (full || seq != self->last + 1)) {
        rc = hubc_inbox_rotate(self, diag);
    }
    if (rc == HUB_OK && self->records == 0) {
        rc = s_restart_part(self, seq, diag);
    }
    if (rc == HUB_OK && hub_buf_append(&self->pending, rec, len) != HUB_OK) {
        rc = HUB_ENOMEM;
    }
    if (rc == HUB_OK) {
        self->records++;
        self->npending++;
        self->last = seq;
    }
    return rc;
}

bool
hubc_inbox_rotate_due(const hubc_inbox_t *self, time_t now)
{
    uint64_t age = self->opts.rotate_seconds;
    return self->records > 0 && age && now >= self->started &&
           (uint64_t) (now - self->started) >= age;
}

// ------------------------------------------------------ the store's id

int
hubc_inbox_restart(hubc_inbox_t *self, uint64_t after, hub_diag_t *diag)
{
    int rc = hubc_inbox_rotate(self, diag); // what was written stays, finished
    if (rc) {
        return rc;
    }
    self->last = self->durable = after;
    return s_restart_part(self, after + 1, diag);
}

static bool
s_id_ok(const char *id, size_t n)
{
    return n == S_ID_HEX && strspn(id, "0123456789abcdef") >= n;
}

// Reads .ENDPOINT.store_id (missing: none) into self->store_id.
static int
s_id_read(hubc_inbox_t *self, hub_diag_t *diag)
{
    char name[S_EP_MAX + 16], buf[S_ID_HEX + 2] = "";
    snprintf(name, sizeof name, ".%s.store_id", self->endpoint);
    int fd = openat(self->dirfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return errno == ENOENT ? HUB_OK : s_io_error(self, diag, "cannot open", name);
    }
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    if (n != S_ID_HEX + 1 || buf[S_ID_HEX] != '\n' || !s_id_ok(buf, S_ID_HEX)) {
        hub_diag_add(diag, HUB_DIAG_ERROR, "inbox_store_id", self->dir,
                     "%s is not a store id (32 hex digits and a line feed): remove it, and the "
                     "hub's next id is taken as this inbox's",
                     name);
        return HUB_EIO;
    }
    memcpy(self->store_id, buf, S_ID_HEX);
    self->store_id[S_ID_HEX] = '\0';
    return HUB_OK;
}

// Writes ID and a line feed to the new file TMP, durably.
static int
s_id_write(hubc_inbox_t *self, const char *tmp, const char *id, hub_diag_t *diag)
{
    char line[S_ID_HEX + 1];
    memcpy(line, id, S_ID_HEX);
    line[S_ID_HEX] = '\n';
    int fd = openat(self->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0) {
        return s_io_error(self, diag, "cannot create", tmp);
    }
    int rc = s_write_all(fd, line, sizeof line) != HUB_OK || fsync(fd) != 0
                 ? s_io_error(self, diag, "cannot write", tmp)
                 : HUB_OK;
    close(fd);
    return rc;
}

int
hubc_inbox_set_store_id(hubc_inbox_t *self, const char *store_id, hub_diag_t *diag)
{
    if (!store_id || !s_id_ok(store_id, strlen(store_id))) {
        return HUB_EINVAL;
    }
    char name[S_EP_MAX + 16], tmp[S_EP_MAX + 24];
    snprintf(name, sizeof name, ".%s.store_id", self->endpoint);
    snprintf(tmp, sizeof tmp, "%s.tmp", name);
    // A new file renamed over the old one: a crash leaves the old id or the
    // new one, never a part of either.
    int rc = s_id_write(self, tmp, store_id, diag);
    if (rc == HUB_OK && renameat(self->dirfd, tmp, self->dirfd, name) != 0) {
        rc = s_io_error(self, diag, "cannot rename", tmp);
    }
    rc = rc ? rc : s_sync_dir(self, diag);
    if (rc == HUB_OK) {
        memcpy(self->store_id, store_id, S_ID_HEX + 1);
    }
    return rc;
}

const char *
hubc_inbox_store_id(const hubc_inbox_t *self)
{
    return self->store_id;
}

// ---------------------------------------------------------------- opening

// Adds part file NAME to *FOUND (growing it), or notes finished file
// FIRST in *MAX_DONE.
static int
s_note(const char *name, const char *ep, s_found_t **found, size_t *n, uint64_t *max_done,
       char *max_name)
{
    char ts[16];
    uint64_t first;
    bool csv, part;
    if (!hubc_inbox_parse_name(name, ep, ts, &first, &csv, &part) || strlen(name) >= S_NAME_MAX) {
        return HUB_OK;
    }
    if (!part) {
        if (first >= *max_done) {
            *max_done = first;
            snprintf(max_name, S_NAME_MAX, "%s", name);
        }
        return HUB_OK;
    }
    s_found_t *grown = realloc(*found, (*n + 1) * sizeof **found);
    if (!grown) {
        return HUB_ENOMEM;
    }
    *found = grown;
    snprintf(grown[*n].name, S_NAME_MAX, "%s", name);
    grown[*n].first = first;
    grown[*n].csv = csv;
    (*n)++;
    return HUB_OK;
}

static int
s_cmp_found(const void *a, const void *b)
{
    const s_found_t *x = a, *y = b;
    return x->first < y->first ? -1 : x->first > y->first;
}

// The part files of the endpoint, sorted by first seq, and the newest
// finished file (MAX_NAME "" when none).
static int
s_list(hubc_inbox_t *self, s_found_t **found, size_t *n, char *max_name, hub_diag_t *diag)
{
    int fd = dup(self->dirfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0) {
            close(fd);
        }
        return s_io_error(self, diag, "cannot list", ".");
    }
    uint64_t max_done = 0;
    int rc = HUB_OK;
    max_name[0] = '\0';
    struct dirent *e;
    while (rc == HUB_OK && (e = readdir(d)) != NULL) {
        rc = s_note(e->d_name, self->endpoint, found, n, &max_done, max_name);
    }
    closedir(d);
    if (*n > 1) {
        qsort(*found, *n, sizeof **found, s_cmp_found);
    }
    return rc;
}

// Copies bytes FROM.. of part file NAME (damaged records and what follows
// them) into NAME.FROM.damaged.
static int
s_keep_damaged(hubc_inbox_t *self, int fd, const char *name, uint64_t from, uint64_t size,
               hub_diag_t *diag)
{
    char keep[S_NAME_MAX + 32];
    snprintf(keep, sizeof keep, "%s.%llu.damaged", name, (unsigned long long) from);
    int out = openat(self->dirfd, keep, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    uint8_t chunk[65536];
    int rc = out < 0 ? HUB_EIO : HUB_OK;
    for (uint64_t at = from; rc == HUB_OK && at < size;) {
        ssize_t n = pread(fd, chunk, sizeof chunk, (off_t) at);
        rc = n > 0 ? s_write_all(out, chunk, (size_t) n) : HUB_EIO;
        at += n > 0 ? (uint64_t) n : 0;
    }
    rc = rc == HUB_OK && fdatasync(out) != 0 ? HUB_EIO : rc;
    if (out >= 0) {
        close(out);
    }
    return rc ? s_io_error(self, diag, "cannot keep the damaged part of", name) : HUB_OK;
}

// Cuts part file NAME (open as FD) after its last good record; *SCAN gets
// what it holds.
static int
s_repair(hubc_inbox_t *self, int fd, const s_found_t *f, hubc_inbox_scan_t *scan, hub_diag_t *diag)
{
    uint64_t size;
    if (hubc_inbox_scan_fd(fd, f->csv, f->first, scan, &size) != HUB_OK) {
        return s_io_error(self, diag, "cannot read", f->name);
    }
    if (size == scan->good_len) {
        return HUB_OK;
    }
    char where[S_NAME_MAX + 32];
    snprintf(where, sizeof where, "%s:%llu", f->name,
             (unsigned long long) (scan->bad_line ? scan->bad_line : scan->line));
    if (scan->bad_line) {
        int rc = s_keep_damaged(self, fd, f->name, scan->good_len, size, diag);
        if (rc) {
            return rc;
        }
        hub_diag_add(diag, HUB_DIAG_WARNING, "inbox_damaged", where,
                     "not the record after seq %llu: %llu bytes from here kept in %s.%llu.damaged",
                     (unsigned long long) scan->last, (unsigned long long) (size - scan->good_len),
                     f->name, (unsigned long long) scan->good_len);
    } else {
        hub_diag_add(diag, HUB_DIAG_NOTE, "inbox_torn", where,
                     "cut a torn last record (%llu bytes) after seq %llu",
                     (unsigned long long) (size - scan->good_len), (unsigned long long) scan->last);
    }
    if (ftruncate(fd, (off_t) scan->good_len) != 0 || fdatasync(fd) != 0) {
        return s_io_error(self, diag, "cannot cut", f->name);
    }
    return HUB_OK;
}

// True when part file FD (of SCAN) starts with this inbox's CSV header.
static bool
s_same_header(const hubc_inbox_t *self, int fd, const hubc_inbox_scan_t *scan)
{
    if (!self->opts.csv || scan->header_len != self->opts.header_len) {
        return !self->opts.csv;
    }
    uint8_t *buf = malloc(self->opts.header_len + 1);
    bool same = buf &&
                pread(fd, buf, self->opts.header_len, 0) == (ssize_t) self->opts.header_len &&
                memcmp(buf, self->opts.header, self->opts.header_len) == 0;
    free(buf);
    return same;
}

// Takes the newest part file F (repaired, scanned as SCAN, open as FD) as
// the current one, unless it is of another format or header: then it is
// finished and a new one made. Takes ownership of FD.
static int
s_adopt(hubc_inbox_t *self, const s_found_t *f, int fd, const hubc_inbox_scan_t *scan,
        hub_diag_t *diag)
{
    char ts[16];
    uint64_t first;
    bool csv, part;
    self->last = self->durable = scan->last;
    if (f->csv == self->opts.csv && s_same_header(self, fd, scan)) {
        hubc_inbox_parse_name(f->name, self->endpoint, ts, &first, &csv, &part);
        memcpy(self->part, f->name, sizeof self->part);
        self->fd = fd;
        self->started = s_ts_time(ts);
        self->first = f->first;
        self->size = scan->good_len;
        self->records = scan->records;
        return HUB_OK;
    }
    close(fd);
    int rc = s_finish_name(self, f->name, scan->records > 0, diag);
    rc = rc ? rc : s_create_part(self, scan->last + 1, diag);
    self->files += rc == HUB_OK && scan->records > 0;
    return rc;
}

// Recovers every part file of FOUND (N of them): all but the newest are
// finished; the newest becomes the current one. Takes ownership of none.
static int
s_recover(hubc_inbox_t *self, const s_found_t *found, size_t n, hub_diag_t *diag)
{
    int rc = HUB_OK;
    for (size_t i = 0; rc == HUB_OK && i < n; i++) {
        hubc_inbox_scan_t scan;
        int fd = openat(self->dirfd, found[i].name, O_RDWR | O_APPEND | O_CLOEXEC);
        if (fd < 0) {
            return s_io_error(self, diag, "cannot open", found[i].name);
        }
        rc = s_repair(self, fd, &found[i], &scan, diag);
        if (rc == HUB_OK && i + 1 == n) {
            return s_adopt(self, &found[i], fd, &scan, diag);
        }
        close(fd);
        rc = rc ? rc : s_finish_name(self, found[i].name, scan.records > 0, diag);
        self->files += rc == HUB_OK && scan.records > 0;
    }
    return rc;
}

// With no part file: the last seq of the newest finished file NAME (0 when
// there is none), and a new part file after it.
static int
s_start_after(hubc_inbox_t *self, const char *name, hub_diag_t *diag)
{
    uint64_t last = 0;
    if (name[0]) {
        char ts[16];
        uint64_t first, size;
        bool csv, part;
        hubc_inbox_scan_t scan;
        hubc_inbox_parse_name(name, self->endpoint, ts, &first, &csv, &part);
        int fd = openat(self->dirfd, name, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || hubc_inbox_scan_fd(fd, csv, first, &scan, &size) != HUB_OK) {
            int rc = s_io_error(self, diag, "cannot read", name);
            if (fd >= 0) {
                close(fd);
            }
            return rc;
        }
        close(fd);
        last = scan.last;
    }
    self->last = self->durable = last;
    return s_create_part(self, last + 1, diag);
}

static int
s_lock(hubc_inbox_t *self, hub_diag_t *diag)
{
    char name[S_EP_MAX + 8];
    snprintf(name, sizeof name, ".%s.lock", self->endpoint);
    self->lockfd = openat(self->dirfd, name, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (self->lockfd < 0) {
        return s_io_error(self, diag, "cannot create", name);
    }
    if (fcntl(self->lockfd, F_SETLK, &fl) != 0) {
        hub_diag_add(diag, HUB_DIAG_ERROR, "inbox_locked", self->dir,
                     "another process writes the inbox of %s (it holds %s)", self->endpoint, name);
        return HUB_EIO;
    }
    return HUB_OK;
}

// Opens the inbox directory DIR, made (durably, in its parent) when
// missing; the files made in it are made durable by s_sync_dir().
static int
s_open_dir(hubc_inbox_t *self, const char *dir, hub_diag_t *diag)
{
    if (hub_dir_make(dir, 0750, NULL) != HUB_OK) {
        return s_io_error(self, diag, "cannot create the inbox directory", dir);
    }
    self->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return self->dirfd < 0 ? s_io_error(self, diag, "cannot open the inbox directory", dir)
                           : HUB_OK;
}

int
hubc_inbox_open(hubc_inbox_t **out, const char *dir, const char *endpoint,
                const hubc_inbox_opts_t *opts, hub_diag_t *diag)
{
    *out = NULL;
    if (!s_endpoint_ok(endpoint)) {
        hub_diag_add(diag, HUB_DIAG_ERROR, "bad_endpoint", endpoint,
                     "an endpoint name for the inbox holds only letters, digits and @ . _ -");
        return HUB_EINVAL;
    }
    hubc_inbox_t *self = calloc(1, sizeof *self);
    if (!self || !(self->dir = strdup(dir)) ||
        hub_buf_append(&self->header, opts->header ? opts->header : "", opts->header_len)) {
        hubc_inbox_destroy(&self);
        return HUB_ENOMEM;
    }
    self->dirfd = self->lockfd = self->fd = -1;
    snprintf(self->endpoint, sizeof self->endpoint, "%s", endpoint);
    self->opts = *opts;
    self->opts.header = self->header.data;
    s_found_t *found = NULL;
    size_t n = 0;
    char newest[S_NAME_MAX];
    int rc = s_open_dir(self, dir, diag);
    rc = rc ? rc : s_lock(self, diag);
    rc = rc ? rc : s_id_read(self, diag);
    rc = rc ? rc : s_list(self, &found, &n, newest, diag);
    rc = rc ? rc : n > 0 ? s_recover(self, found, n, diag) : s_start_after(self, newest, diag);
    rc = rc ? rc : s_sync_dir(self, diag);
    free(found);
    if (rc) {
        hubc_inbox_destroy(&self);
        return rc;
    }
    *out = self;
    return HUB_OK;
}

void
hubc_inbox_destroy(hubc_inbox_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    hubc_inbox_t *self = *self_p;
    if (self->fd >= 0) {
        hubc_inbox_commit(self, NULL);
        close(self->fd);
    }
    if (self->lockfd >= 0) {
        close(self->lockfd);
    }
    if (self->dirfd >= 0) {
        close(self->dirfd);
    }
    hub_buf_free(&self->pending);
    hub_buf_free(&self->header);
    free(self->dir);
    free(self);
    *self_p = NULL;
}

uint64_t
hubc_inbox_last(const hubc_inbox_t *self)
{
    return self->last;
}

uint64_t
hubc_inbox_durable(const hubc_inbox_t *self)
{
    return self->durable;
}

uint64_t
hubc_inbox_files(const hubc_inbox_t *self)
{
    return self->files;
}

uint64_t
hubc_inbox_written(const hubc_inbox_t *self)
{
    return self->written;
}

const char *
hubc_inbox_part(const hubc_inbox_t *self)
{
    return self->part;
}
