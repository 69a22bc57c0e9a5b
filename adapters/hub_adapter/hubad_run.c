// One file: from its saved cursor, record by record through the mapping,
// in batches whose messages and cursor go into the outbox together.
#include "hubad.h"

#include "hub_codec.h"
#include "hub_error.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

// Where a file was read to: its identity, the next record's start, the
// encoding found (so a resumed reading decodes as the first did) and a hash
// of the bytes before the offset (a file rewritten in place, same inode,
// is not taken for the one read).
typedef struct {
    uint64_t dev, ino;
    uint64_t offset, line;
    uint64_t enc;
    uint64_t tail;
} s_cursor_t;

#define S_TAIL 64 // bytes before the cursor that its hash covers

// One file being read.
typedef struct {
    const char *path;    // as given (for messages and the report)
    char name[PATH_MAX]; // the cursor's name: the absolute path
    hubad_src_t *src;
    s_cursor_t at;    // after the last record read
    uint64_t pending; // records read since the last commit
} s_file_t;

// ------------------------------------------------------------------ ids seen

static uint64_t
s_hash(const uint8_t id[16])
{
    uint64_t h;
    memcpy(&h, id, sizeof h); // the id is a SHA-256 prefix: already uniform
    return h;
}

static bool
s_seen_grow(hubad_t *ad)
{
    size_t cap = ad->seen_cap ? ad->seen_cap * 2 : 1u << 16;
    uint8_t *t = calloc(cap, 16);
    if (!t) {
        return false;
    }
    static const uint8_t empty[16];
    for (size_t i = 0; i < ad->seen_cap; i++) {
        const uint8_t *id = ad->seen + i * 16;
        if (memcmp(id, empty, 16) != 0) {
            size_t j = s_hash(id) & (cap - 1);
            while (memcmp(t + j * 16, empty, 16) != 0) {
                j = (j + 1) & (cap - 1);
            }
            memcpy(t + j * 16, id, 16);
        }
    }
    free(ad->seen);
    ad->seen = t;
    ad->seen_cap = cap;
    return true;
}

static uint8_t
s_nibble(char c)
{
    return (uint8_t) (c <= '9' ? c - '0' : c - 'a' + 10);
}

// True when ID (32 hex digits) came before in this run; remembers it.
static bool
s_seen(hubad_t *ad, const char *id)
{
    uint8_t key[16];
    for (int i = 0; i < 16; i++) {
        key[i] = (uint8_t) (s_nibble(id[2 * i]) << 4 | s_nibble(id[2 * i + 1]));
    }
    key[0] |= 1; // never all zero: that marks an empty slot
    if (ad->seen_n * 2 >= ad->seen_cap && !s_seen_grow(ad)) {
        return false; // out of memory: the hub still answers duplicate
    }
    size_t j = s_hash(key) & (ad->seen_cap - 1);
    static const uint8_t empty[16];
    for (;;) {
        uint8_t *slot = ad->seen + j * 16;
        if (memcmp(slot, key, 16) == 0) {
            return true;
        }
        if (memcmp(slot, empty, 16) == 0) {
            memcpy(slot, key, 16);
            ad->seen_n++;
            return false;
        }
        j = (j + 1) & (ad->seen_cap - 1);
    }
}

// ------------------------------------------------------------------ cursors

// FNV-1a of the (up to) S_TAIL bytes of the file at PATH before OFFSET;
// 0 when there are none or they cannot be read.
static uint64_t
s_tail(const char *path, uint64_t offset)
{
    uint8_t buf[S_TAIL];
    size_t n = offset < S_TAIL ? (size_t) offset : S_TAIL;
    int fd = n ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    ssize_t got = fd >= 0 ? pread(fd, buf, n, (off_t) (offset - n)) : -1;
    if (fd >= 0) {
        close(fd);
    }
    uint64_t h = 14695981039346656037ull;
    for (ssize_t i = 0; i < got; i++) {
        h = (h ^ buf[i]) * 1099511628211ull;
    }
    return got == (ssize_t) n && n ? h : 0;
}

static bool
s_cursor_read(hubad_t *ad, const char *name, s_cursor_t *c)
{
    char buf[160];
    size_t len = 0;
    if (!ad->box || hubc_outbox_cursor(ad->box, name, buf, sizeof buf - 1, &len) != HUB_OK ||
        len >= sizeof buf) {
        return false;
    }
    buf[len] = '\0';
    unsigned long long v[7];
    char *p = buf, *end;
    for (int i = 0; i < 7; i++) {
        errno = 0;
        v[i] = strtoull(p, &end, 10);
        if (errno || end == p) {
            return false;
        }
        p = end;
    }
    *c = (s_cursor_t){v[1], v[2], v[3], v[4], v[5], v[6]};
    return v[0] == 1 && v[5] <= HUBC_ENC_GBK;
}

// Puts the batch and F's cursor into the outbox in one transaction, then
// flushes it. False when the run cannot go on.
static bool
s_commit(hubad_t *ad, s_file_t *f)
{
    if (ad->opts.dry_run || (f->pending == 0 && ad->batch_n == 0)) {
        f->pending = 0;
        return true;
    }
    const void **msgs = calloc(ad->batch_n ? ad->batch_n : 1, sizeof *msgs);
    const size_t *lens = (const size_t *) ad->batch_lens.data;
    size_t off = 0;
    for (size_t i = 0; msgs && i < ad->batch_n; i++) {
        msgs[i] = ad->batch.data + off;
        off += lens[i];
    }
    char cur[160];
    int n =
        snprintf(cur, sizeof cur, "1 %llu %llu %llu %llu %d %llu", (unsigned long long) f->at.dev,
                 (unsigned long long) f->at.ino, (unsigned long long) f->at.offset,
                 (unsigned long long) f->at.line, (int) hubad_src_encoding(f->src),
                 (unsigned long long) s_tail(f->path, f->at.offset));
    // The rejected-records report first: the put moves the file's cursor
    // past the records it names, and a rerun never reads them again.
    // (EINVAL: a pipe or a terminal, --rejected /dev/stdout: nothing to sync.)
    if (ad->report &&
        (fflush(ad->report) != 0 || (fsync(fileno(ad->report)) != 0 && errno != EINVAL))) {
        fprintf(stderr, "hub-adapter: cannot write the rejected-records report: %s\n",
                strerror(errno));
        ad->failed = true;
        free(msgs);
        return false;
    }
    int rc = msgs ? hubc_outbox_put(ad->box, msgs, lens, ad->batch_n, f->name, cur, (size_t) n)
                  : HUB_ENOMEM;
    free(msgs);
    if (rc) {
        fprintf(stderr, "hub-adapter: %s: cannot write the outbox: %s\n", f->path,
                hub_strerror(rc));
        ad->failed = true;
        return false;
    }
    ad->batch.len = ad->batch_lens.len = ad->batch_n = 0;
    f->pending = 0;
    return hubad_flush(ad) == HUB_OK;
}

// ------------------------------------------------------------------ records

// A mapped message: counted, printed (dry run) or added to the batch.
static bool
s_message(hubad_t *ad, const hubc_map_result_t *res)
{
    if (s_seen(ad, res->id)) {
        ad->stats.duplicate++;
        return true;
    }
    if (ad->opts.dry_run) {
        ad->stats.published++;
        hubad_print_msg(ad);
        return true;
    }
    size_t before = ad->batch.len;
    int rc = hub_codec_encode(ad->msg, &ad->batch);
    size_t len = ad->batch.len - before;
    rc = rc ? rc : hub_buf_append(&ad->batch_lens, &len, sizeof len);
    if (rc) {
        fprintf(stderr, "hub-adapter: out of memory\n");
        ad->failed = true;
        return false;
    }
    ad->batch_n++;
    return true;
}

// One record of F: a defect, or mapped into a message.
static bool
s_record(hubad_t *ad, s_file_t *f, const hubc_csv_rec_t *rec, const char *column)
{
    if (rec->reason) {
        hubad_reject(ad, f->path, rec->line, column, "", rec->reason, rec->detail);
        return true;
    }
    hubc_map_result_t res;
    if (hubc_map_record(ad->map, hubad_src_map(f->src), ad->msg, &res) != HUB_OK) {
        fprintf(stderr, "hub-adapter: out of memory\n");
        ad->failed = true;
        return false;
    }
    if (res.status == HUBC_SKIPPED) {
        ad->stats.skipped++;
    } else if (res.status == HUBC_REJECTED) {
        hubad_reject(ad, f->path, rec->line, res.column, res.value, res.reason, res.text);
    } else {
        return s_message(ad, &res);
    }
    return true;
}

// PATH made absolute and without "." and ".." segments (lexically: the
// cursor's name must not depend on how the file was named on the command
// line). False when it does not fit.
static bool
s_abspath(const char *path, char out[PATH_MAX])
{
    char joined[PATH_MAX * 2];
    char cwd[PATH_MAX] = "";
    if (path[0] != '/' && !getcwd(cwd, sizeof cwd)) {
        return false;
    }
    snprintf(joined, sizeof joined, "%s/%s", cwd, path);
    size_t n = 0;
    for (char *seg = joined, *next; seg; seg = next) {
        next = strchr(seg, '/');
        size_t len = next ? (size_t) (next - seg) : strlen(seg);
        next = next ? next + 1 : NULL;
        if (len == 0 || (len == 1 && seg[0] == '.')) {
            continue;
        }
        if (len == 2 && seg[0] == '.' && seg[1] == '.') {
            while (n > 0 && out[--n] != '/') {
            }
            continue;
        }
        if (n + len + 2 > PATH_MAX) {
            return false;
        }
        out[n++] = '/';
        memcpy(out + n, seg, len);
        n += len;
    }
    out[n ? n : (out[n++] = '/', n)] = '\0';
    return true;
}

// Opens F at its saved cursor: a file replaced or shortened since is read
// from the start (message ids make a second reading harmless).
static int
s_open(hubad_t *ad, s_file_t *f)
{
    if (!s_abspath(f->path, f->name)) {
        fprintf(stderr, "hub-adapter: %s: the path is too long\n", f->path);
        return HUB_EIO;
    }
    hub_diag_reset(ad->diag);
    int rc = hubad_src_open(&f->src, f->path, ad->map, ad->diag);
    if (rc) {
        hub_diag_print(ad->diag, stderr);
        return rc;
    }
    struct stat st;
    s_cursor_t saved;
    hubad_src_identity(f->src, &f->at.dev, &f->at.ino);
    f->at.offset = 0;
    f->at.line = 1;
    if (s_cursor_read(ad, f->name, &saved) && stat(f->path, &st) == 0) {
        if (saved.dev == f->at.dev && saved.ino == f->at.ino &&
            saved.offset <= (uint64_t) st.st_size && saved.tail == s_tail(f->path, saved.offset)) {
            hubad_src_resume(f->src, saved.offset, saved.line, (hubc_enc_t) saved.enc);
            f->at = saved;
        } else {
            fprintf(stderr,
                    "hub-adapter: %s was replaced or shortened since it was read: "
                    "reading it from the start\n",
                    f->path);
        }
    }
    return HUB_OK;
}

void
hubad_file(hubad_t *ad, const char *path, bool final, uint64_t *read)
{
    s_file_t f = {.path = path};
    *read = 0;
    if (s_open(ad, &f) != HUB_OK) {
        ad->failed = true;
        return;
    }
    ad->stats.files++;
    hubc_map_set_recorded_at(ad->map, NULL); // when this reading happened
    bool ok = true;
    while (ok && !hubad_stop) {
        hubc_csv_rec_t rec;
        const char *column;
        int rc = hubad_src_next(f.src, final, &rec, &column);
        if (rc == HUB_ENOTFOUND) {
            break;
        }
        if (rc) {
            fprintf(stderr, "hub-adapter: %s: cannot read: %s\n", path, hub_strerror(rc));
            ad->failed = true;
            break;
        }
        ok = s_record(ad, &f, &rec, column);
        f.at.offset = rec.end;
        f.at.line = rec.end_line;
        f.pending++;
        (*read)++;
        if (ok && f.pending >= ad->opts.batch) {
            ok = s_commit(ad, &f);
        }
    }
    if (ok && !ad->failed) {
        s_commit(ad, &f);
    }
    hubad_src_destroy(&f.src);
}
