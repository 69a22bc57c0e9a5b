// fuzz_rejects: hub-sink's rejected-deliveries report (hub_rejects.h), which
// hubc_rejects_open() reads back at start-up, on arbitrary bytes: what it
// finds there decides which deliveries the sink drops as redeliveries.
//
// Input: four bytes of options, then the report's bytes, then (the last
// OPT[3] bytes) what the harness rejects into it:
//   OPT[0] bits 0-1: the store id to open with: none (""), A, B, or one that
//          is not a store id (upper-case hex: counts as none); bit 2: with
//          no report bytes, no report at all (else an empty file); bit 3:
//          the seq added is UINT64_MAX - OPT[2] (else AFTER + 1 + OPT[2]);
//          bit 4: it is 0 (the hub never sends it; the header allows it);
//   OPT[1] AFTER, the inbox's last: 0-191, or UINT64_MAX - (OPT[1] - 192);
//   OPT[3] the length of the tail: id, type, origin_id and reason split at
//          NULs, then the body's bytes (any).
// The report is written to DIR/education@513431.rejected (DIR: one
// temporary directory per process, on /dev/shm when there is one, so that
// fdatasync costs nothing; removed at exit, also by replay's parent when a
// child aborted; the report unlinked after each input). Invariants (only
// what the header promises):
//   1. open succeeds (an ordinary file in a directory of ours); it makes no
//      report when there was none; afterwards the report is its bytes up to
//      and including the last line feed (a torn last line cut, nothing
//      else changed), with an "inbox_torn" note naming the line iff
//      something was cut;
//   2. the seqs remembered, against a model of the lines: every line as
//      hub-sink writes it ({"seq":N,"store_id":"ID","endpoint":"…"…"},
//      N in canonical decimal) whose ID is the open's store id and N above
//      AFTER is remembered; nothing else is, except (the reader looks only
//      at a line's head) a line that begins like one; every seq remembered
//      is above AFTER; a line that does not even begin like one gets a
//      "rejects_line" warning, and none is given when every line is one;
//   3. hubc_rejects_reach() moves LAST past exactly the consecutive seqs
//      remembered after it (checked at every seq the lines name, their
//      neighbours, AFTER and the extremes);
//   4. opened again: nothing cut, no torn note, the same seqs and reaches;
//   5. a delivery added (seq above AFTER, or 0; text fields and body from
//      the input) is remembered at once, and reach() agrees; committed, the
//      report is the old bytes plus one line, valid JSON (jansson) with
//      exactly the nine keys: seq
//      and store_id as written, id/origin_id/type/reason null when empty,
//      text that is UTF-8 kept as it came and other text with U+FFFD, the
//      body's base64 the exact bytes; opened again, the report gives the
//      same seqs plus that one (when above AFTER), and cuts nothing.
// Everything made per input is destroyed (LeakSanitizer runs in `make fuzz`).
#include "fuzz_util.h"
#include "hub_rejects.h"
#include "hub_utf8.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define S_EP "education@513431"
#define S_AT "2026-10-03T08:40:12Z"

static const char *const s_ids[4] = {"", "0123456789abcdef0123456789abcdef",
                                     "fedcba9876543210fedcba9876543210",
                                     "0123456789ABCDEF0123456789ABCDEF"};

static struct {
    char dir[64];
    char path[128]; // DIR/S_EP.rejected
    pid_t owner;    // the process that made DIR removes it
} s_env;

static void
s_remove_env(void)
{
    if (s_env.owner != getpid() || !s_env.dir[0]) {
        return; // a forked child (replay) leaves it to its parent
    }
    unlink(s_env.path);
    rmdir(s_env.dir);
}

static void
s_setup(void)
{
    if (s_env.dir[0]) {
        return;
    }
    struct stat st;
    const char *base = getenv("TMPDIR");
    if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0) {
        base = "/dev/shm";
    } else if (!base || !base[0] || strlen(base) > 32) {
        base = "/tmp";
    }
    snprintf(s_env.dir, sizeof s_env.dir, "%s/hub-fuzz-rejects-XXXXXX", base);
    if (!mkdtemp(s_env.dir)) {
        fu_fail("cannot make a temporary directory %s: %s", s_env.dir, strerror(errno));
    }
    snprintf(s_env.path, sizeof s_env.path, "%s/%s.rejected", s_env.dir, S_EP);
    s_env.owner = getpid();
    atexit(s_remove_env);
}

// ---------------------------------------------------------------- files

static void
s_write_file(const uint8_t *p, size_t len)
{
    int fd = open(s_env.path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        fu_fail("cannot make %s: %s", s_env.path, strerror(errno));
    }
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n <= 0) {
            fu_fail("cannot write %s: %s", s_env.path, strerror(errno));
        }
        p += n;
        len -= (size_t) n;
    }
    close(fd);
}

// The report's bytes (malloc'd, never NULL), or NULL with *LEN 0 when
// there is no report.
static uint8_t *
s_read_file(size_t *len)
{
    *len = 0;
    int fd = open(s_env.path, O_RDONLY);
    if (fd < 0) {
        if (errno != ENOENT) {
            fu_fail("cannot open %s: %s", s_env.path, strerror(errno));
        }
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        fu_fail("cannot stat %s", s_env.path);
    }
    size_t cap = (size_t) st.st_size + 1;
    uint8_t *buf = fu_need(malloc(cap));
    ssize_t n;
    while ((n = read(fd, buf + *len, cap - *len)) > 0) {
        *len += (size_t) n;
        if (*len == cap) {
            cap *= 2;
            buf = fu_need(realloc(buf, cap));
        }
    }
    if (n < 0) {
        fu_fail("cannot read %s", s_env.path);
    }
    close(fd);
    return buf;
}

// ---------------------------------------------------------------- the model

// The lines' seqs, sorted: MUST (lines as hub-sink writes them) and MAY
// (lines that begin like one), both of the open's store id above AFTER.
typedef struct {
    uint64_t *v;
    size_t n, cap;
} s_set_t;

static void
s_set_add(s_set_t *s, uint64_t v)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->v = fu_need(realloc(s->v, s->cap * sizeof *s->v));
    }
    s->v[s->n++] = v;
}

static int
s_u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

// Sorts S and drops repeats.
static void
s_set_seal(s_set_t *s)
{
    if (s->n > 1) {
        qsort(s->v, s->n, sizeof *s->v, s_u64_cmp);
    }
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (k == 0 || s->v[k - 1] != s->v[i]) {
            s->v[k++] = s->v[i];
        }
    }
    s->n = k;
}

// The index of V in sealed S, or S->n.
static size_t
s_set_find(const s_set_t *s, uint64_t v)
{
    const uint64_t *hit = s->n ? bsearch(&v, s->v, s->n, sizeof v, s_u64_cmp) : NULL;
    return hit ? (size_t) (hit - s->v) : s->n;
}

static void
s_set_free(s_set_t *s)
{
    free(s->v);
    *s = (s_set_t){0};
}

// Reads decimal digits at P (up to END) into *V; the number of digits, 0
// when there are none or the value is above UINT64_MAX.
static size_t
s_digits(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
    size_t n = 0;
    *v = 0;
    for (; p + n < end && p[n] >= '0' && p[n] <= '9'; n++) {
        uint64_t dig = (uint64_t) (p[n] - '0');
        if (*v > (UINT64_MAX - dig) / 10) {
            return 0;
        }
        *v = *v * 10 + dig;
    }
    return n;
}

static bool
s_lower_hex(uint8_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

enum { S_FOREIGN, S_LOOSE, S_STRICT };

// What the line P..END (without its line feed) is: S_STRICT as hub-sink
// writes it, S_LOOSE beginning like one, else S_FOREIGN; *SEQ and ID (32
// hex digits or "") get its seq and store id when it is not foreign.
static int
s_classify(const uint8_t *p, const uint8_t *end, uint64_t *seq, char id[33])
{
    static const char a[] = "{\"seq\":", b[] = ",\"store_id\":\"", c[] = "\",\"endpoint\":\"";
    size_t len = (size_t) (end - p), i = sizeof a - 1, n;
    if (len < i || memcmp(p, a, i) != 0 || (n = s_digits(p + i, end, seq)) == 0 || *seq == 0) {
        return S_FOREIGN;
    }
    bool canonical = p[i] != '0';
    i += n;
    if (len - i < sizeof b - 1 || memcmp(p + i, b, sizeof b - 1) != 0) {
        return S_FOREIGN;
    }
    i += sizeof b - 1;
    for (n = 0; i + n < len && n <= 32 && s_lower_hex(p[i + n]); n++) {
    }
    if ((n != 0 && n != 32) || i + n >= len || p[i + n] != '"') {
        return S_FOREIGN;
    }
    memcpy(id, p + i, n);
    id[n] = '\0';
    i += n;
    bool strict = canonical && len - i >= sizeof c - 1 && memcmp(p + i, c, sizeof c - 1) == 0 &&
                  len - i >= sizeof c + 1 && memcmp(end - 2, "\"}", 2) == 0;
    return strict ? S_STRICT : S_LOOSE;
}

typedef struct {
    s_set_t must, may;                   // the seqs of the open's store id above AFTER
    s_set_t cands;                       // the seqs to ask about
    uint64_t lines;                      // complete lines
    uint64_t first_foreign, first_loose; // the first line of each kind (1-based; 0: none)
} s_model_t;

static void
s_cand(s_model_t *m, uint64_t v)
{
    s_set_add(&m->cands, v);
    s_set_add(&m->cands, v - 1); // wraps at 0: UINT64_MAX, a candidate anyway
    s_set_add(&m->cands, v + 1);
}

// The model of the complete lines of FILE (LEN bytes) for STORE_ID and AFTER.
static void
s_model(s_model_t *m, const uint8_t *file, size_t len, const char *store_id, uint64_t after)
{
    *m = (s_model_t){0};
    s_cand(m, 0);
    s_cand(m, 1);
    s_cand(m, UINT64_MAX);
    s_cand(m, after);
    const uint8_t *p = file, *end = file + len;
    const uint8_t *nl;
    while (p < end && (nl = memchr(p, '\n', (size_t) (end - p))) != NULL) {
        uint64_t seq, v;
        char id[33];
        m->lines++;
        int kind = s_classify(p, nl, &seq, id);
        if (kind == S_FOREIGN) {
            m->first_foreign = m->first_foreign ? m->first_foreign : m->lines;
            if (nl - p > 7 && memcmp(p, "{\"seq\":", 7) == 0 && s_digits(p + 7, nl, &v)) {
                s_cand(m, v);
            }
        } else {
            s_cand(m, seq);
            if (kind == S_LOOSE) {
                m->first_loose = m->first_loose ? m->first_loose : m->lines;
            }
            if (strcmp(id, store_id) == 0 && seq > after) {
                s_set_add(&m->may, seq);
                if (kind == S_STRICT) {
                    s_set_add(&m->must, seq);
                }
            }
        }
        p = nl + 1;
    }
    s_set_seal(&m->must);
    s_set_seal(&m->may);
    s_set_seal(&m->cands);
}

static void
s_model_free(s_model_t *m)
{
    s_set_free(&m->must);
    s_set_free(&m->may);
    s_set_free(&m->cands);
}

// ---------------------------------------------------------------- checks

// The seqs R remembers among the candidates (sealed).
static void
s_remembered(const hubc_rejects_t *r, const s_set_t *cands, s_set_t *out)
{
    *out = (s_set_t){0};
    for (size_t i = 0; i < cands->n; i++) {
        if (hubc_rejects_has(r, cands->v[i])) {
            s_set_add(out, cands->v[i]);
        }
    }
    s_set_seal(out);
}

// R remembers what the model says it must or may (HAS: what it remembers
// among the candidates), nothing at or below AFTER.
static void
s_check_seqs(const s_model_t *m, const s_set_t *has, uint64_t after, const char *what)
{
    for (size_t i = 0; i < has->n; i++) {
        uint64_t v = has->v[i];
        if (v <= after) {
            fu_fail("%s: seq %" PRIu64 " remembered, at or below AFTER %" PRIu64, what, v, after);
        }
        if (s_set_find(&m->may, v) == m->may.n) {
            fu_fail("%s: seq %" PRIu64 " remembered, and no line of the store id names it", what,
                    v);
        }
    }
    for (size_t i = 0; i < m->must.n; i++) {
        if (s_set_find(has, m->must.v[i]) == has->n) {
            fu_fail("%s: seq %" PRIu64 " of a line as hub-sink writes it is not remembered", what,
                    m->must.v[i]);
        }
    }
}

// hubc_rejects_reach() at every candidate, against HAS (every seq R
// remembers: the candidates hold every seq a line names).
static void
s_check_reach(const hubc_rejects_t *r, const s_set_t *cands, const s_set_t *has, const char *what)
{
    uint64_t *run_end = fu_need(malloc((has->n ? has->n : 1) * sizeof *run_end));
    for (size_t k = has->n; k > 0; k--) {
        size_t i = k - 1;
        run_end[i] = i + 1 < has->n && has->v[i + 1] == has->v[i] + 1 ? run_end[i + 1] : has->v[i];
    }
    for (size_t i = 0; i < cands->n; i++) {
        uint64_t last = cands->v[i], want = last;
        size_t k = last == UINT64_MAX ? has->n : s_set_find(has, last + 1);
        if (k < has->n) {
            want = run_end[k];
        }
        uint64_t got = hubc_rejects_reach(r, last);
        if (got != want) {
            fu_fail("%s: reach(%" PRIu64 ") is %" PRIu64 ", the seqs remembered say %" PRIu64, what,
                    last, got, want);
        }
    }
    free(run_end);
}

static void
s_same_set(const s_set_t *a, const s_set_t *b, const char *what)
{
    if (a->n != b->n || (a->n && memcmp(a->v, b->v, a->n * sizeof *a->v) != 0)) {
        fu_fail("%s: %zu seqs remembered, before %zu (or other ones)", what, b->n, a->n);
    }
}

// The entry of DIAG with REASON, or NULL; fails when there are two.
static const hub_diag_entry_t *
s_diag_find(const hub_diag_t *diag, const char *reason, hub_diag_sev_t sev)
{
    const hub_diag_entry_t *found = NULL;
    for (size_t i = 0; i < hub_diag_count(diag); i++) {
        const hub_diag_entry_t *e = hub_diag_at(diag, i);
        if (strcmp(e->reason, reason) == 0) {
            if (found || e->sev != sev) {
                fu_fail("open: two \"%s\" entries, or one of another severity", reason);
            }
            found = e;
        }
    }
    return found;
}

// E's where is the report's path and line LINE.
static void
s_check_where(const hub_diag_entry_t *e, uint64_t line)
{
    char want[HUB_DIAG_WHERE_MAX];
    snprintf(want, sizeof want, "%s:%" PRIu64, s_env.path, line);
    if (strcmp(e->where, want) != 0) {
        fu_fail("open: \"%s\" at %s, not %s", e->reason, e->where, want);
    }
}

// Opens the report; fails unless HUB_OK with no error in DIAG.
static hubc_rejects_t *
s_open(const char *store_id, uint64_t after, hub_diag_t *diag, const char *what)
{
    hubc_rejects_t *r = NULL;
    hub_diag_reset(diag);
    int rc = hubc_rejects_open(&r, s_env.dir, S_EP, store_id, after, diag);
    fu_check_diag(diag);
    if (rc != HUB_OK || !r || hub_diag_errors(diag)) {
        hub_diag_print(diag, stderr);
        fu_fail("%s: open returned %s", what, hub_error_name(rc));
    }
    if (strcmp(hubc_rejects_path(r), s_env.path) != 0 || hubc_rejects_count(r) != 0) {
        fu_fail("%s: path %s, count %" PRIu64, what, hubc_rejects_path(r), hubc_rejects_count(r));
    }
    return r;
}

// ---------------------------------------------------------------- the line added

// Copies the NUL-terminated field at *P (up to END) into OUT (SIZE bytes,
// truncated) and moves *P past it.
static void
s_field(const uint8_t **p, const uint8_t *end, char *out, size_t size)
{
    const uint8_t *nul = memchr(*p, '\0', (size_t) (end - *p));
    size_t len = (size_t) ((nul ? nul : end) - *p);
    size_t k = len < size - 1 ? len : size - 1;
    memcpy(out, *p, k);
    out[k] = '\0';
    *p = nul ? nul + 1 : end;
}

static int
s_b64_value(uint8_t c)
{
    return c >= 'A' && c <= 'Z'   ? c - 'A'
           : c >= 'a' && c <= 'z' ? c - 'a' + 26
           : c >= '0' && c <= '9' ? c - '0' + 52
           : c == '+'             ? 62
           : c == '/'             ? 63
                                  : -1;
}

// S, strict base64 with padding, decodes to the LEN bytes at WANT.
static bool
s_b64_is(const char *s, const uint8_t *want, size_t len)
{
    size_t n = strlen(s), out = 0;
    if (n % 4 != 0 || n != (len + 2) / 3 * 4) {
        return false;
    }
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        size_t pad = 0;
        for (size_t j = 0; j < 4; j++) {
            bool last = i + 4 == n;
            if (last && j >= 2 && s[i + j] == '=' && (j == 3 || s[i + 3] == '=')) {
                v[j] = 0;
                pad++;
            } else if ((v[j] = s_b64_value((uint8_t) s[i + j])) < 0) {
                return false;
            }
        }
        uint32_t w =
            (uint32_t) v[0] << 18 | (uint32_t) v[1] << 12 | (uint32_t) v[2] << 6 | (uint32_t) v[3];
        uint8_t bytes[3] = {(uint8_t) (w >> 16), (uint8_t) (w >> 8), (uint8_t) w};
        for (size_t j = 0; j < 3 - pad; j++, out++) {
            if (out >= len || bytes[j] != want[out]) {
                return false;
            }
        }
    }
    return out == len;
}

// The text field KEY of J is WANT as written: null when WANT is empty,
// else WANT itself when it is UTF-8, else text with U+FFFD in it.
static void
s_check_text(const json_t *j, const char *key, const char *want)
{
    const json_t *v = json_object_get(j, key);
    if (!want[0]) {
        if (!json_is_null(v)) {
            fu_fail("added line: %s is not null for no text", key);
        }
        return;
    }
    const char *got = json_string_value(v);
    if (!got) {
        fu_fail("added line: %s is not a string", key);
    }
    if (hub_utf8_valid(want, strlen(want), NULL)) {
        if (strcmp(got, want) != 0) {
            fu_fail("added line: %s \"%s\" is not the UTF-8 text given", key, got);
        }
    } else if (!strstr(got, "\xef\xbf\xbd")) {
        fu_fail("added line: %s \"%s\" holds no U+FFFD for text that is not UTF-8", key, got);
    }
}

static bool
s_string_is(const json_t *j, const char *key, const char *want)
{
    const char *got = json_string_value(json_object_get(j, key));
    return got && strcmp(got, want) == 0;
}

// LINE (LEN bytes, its line feed included) is D's, as hub_rejects_add()
// writes it with STORE_ID.
static void
s_check_added_line(const uint8_t *line, size_t len, const hubc_delivery_t *d, const char *reason,
                   const char *store_id)
{
    if (len == 0 || line[len - 1] != '\n' || memchr(line, '\n', len - 1)) {
        fu_fail("added: the report did not grow by one line (%zu bytes)", len);
    }
    char head[160];
    int n = snprintf(head, sizeof head,
                     "{\"seq\":%" PRIu64 ",\"store_id\":\"%s\",\"endpoint\":", d->seq, store_id);
    if (len < (size_t) n || memcmp(line, head, (size_t) n) != 0) {
        fu_fail("added line does not begin with %s", head);
    }
    json_error_t err;
    json_t *j = json_loadb((const char *) line, len - 1, JSON_DECODE_INT_AS_REAL, &err);
    if (!j || !json_is_object(j)) {
        fu_fail("added line is not a JSON object: %s (column %d)", err.text, err.column);
    }
    if (json_object_size(j) != 9 || !json_is_number(json_object_get(j, "seq")) ||
        !s_string_is(j, "store_id", store_id) || !s_string_is(j, "endpoint", S_EP) ||
        !s_string_is(j, "rejected_at", S_AT)) {
        fu_fail("added line: not the nine keys, or seq, store_id, endpoint, rejected_at wrong");
    }
    s_check_text(j, "id", d->id);
    s_check_text(j, "origin_id", d->origin_id);
    s_check_text(j, "type", d->type);
    s_check_text(j, "reason", reason);
    const char *body = json_string_value(json_object_get(j, "body"));
    if (!body || !s_b64_is(body, d->body, d->body_len)) {
        fu_fail("added line: body is not the base64 of the delivery's %zu bytes", d->body_len);
    }
    json_decref(j);
}

// ---------------------------------------------------------------- the target

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s_setup(); // first: replay's warm-up (an empty input) makes it in the parent
    if (size < 4) {
        return 0;
    }
    uint8_t opt0 = data[0], opt1 = data[1], opt2 = data[2];
    const char *store_id = s_ids[opt0 & 3];
    const char *written_id = (opt0 & 3) == 3 ? "" : store_id; // not a store id: none
    uint64_t after = opt1 < 192 ? opt1 : UINT64_MAX - (uint64_t) (opt1 - 192);
    size_t tail = data[3] < size - 4 ? data[3] : size - 4;
    const uint8_t *file = data + 4;
    size_t len = size - 4 - tail;
    bool none = len == 0 && (opt0 & 4);

    unlink(s_env.path);
    if (!none) {
        s_write_file(file, len);
    }
    size_t keep = len;
    while (keep > 0 && file[keep - 1] != '\n') {
        keep--;
    }
    s_model_t m;
    s_model(&m, file, keep, written_id, after);
    hub_diag_t *diag = fu_need(hub_diag_new());

    // 1. Opened: a torn last line cut, nothing else changed.
    hubc_rejects_t *r = s_open(store_id, after, diag, "open");
    size_t now_len;
    uint8_t *now = s_read_file(&now_len);
    if (none ? now != NULL : !now || now_len != keep || (keep && memcmp(now, file, keep) != 0)) {
        fu_fail("open: the report is %zu bytes, the input's whole lines %zu (or not them)", now_len,
                keep);
    }
    const hub_diag_entry_t *torn = s_diag_find(diag, "inbox_torn", HUB_DIAG_NOTE);
    if ((torn != NULL) != (keep != len)) {
        fu_fail("open: cut %zu bytes, and %s note", len - keep, torn ? "a" : "no");
    }
    if (torn) {
        s_check_where(torn, m.lines + 1);
    }
    // 2. The seqs remembered, and the warning for foreign lines.
    const hub_diag_entry_t *bad = s_diag_find(diag, "rejects_line", HUB_DIAG_WARNING);
    if ((m.first_foreign && !bad) || (!m.first_foreign && !m.first_loose && bad)) {
        fu_fail("open: a foreign line at %" PRIu64 ", and %s warning", m.first_foreign,
                bad ? "a" : "no");
    }
    if (bad && m.first_foreign && (!m.first_loose || m.first_loose > m.first_foreign)) {
        s_check_where(bad, m.first_foreign);
    }
    size_t nbad = bad != NULL;
    s_set_t has1, has2, has3;
    s_remembered(r, &m.cands, &has1);
    s_check_seqs(&m, &has1, after, "open");
    // 3. Reach.
    s_check_reach(r, &m.cands, &has1, "open");
    hubc_rejects_destroy(&r);

    // 4. Opened again: the same.
    r = s_open(store_id, after, diag, "second open");
    size_t again_len;
    uint8_t *again = s_read_file(&again_len);
    if ((again == NULL) != (now == NULL) || again_len != now_len ||
        (now_len && memcmp(again, now, now_len) != 0) ||
        s_diag_find(diag, "inbox_torn", HUB_DIAG_NOTE) ||
        (s_diag_find(diag, "rejects_line", HUB_DIAG_WARNING) != NULL) != nbad) {
        fu_fail("second open: the report changed, or the diag did (%zu entries)",
                hub_diag_count(diag));
    }
    free(again);
    s_remembered(r, &m.cands, &has2);
    s_same_set(&has1, &has2, "second open");
    s_check_reach(r, &m.cands, &has2, "second open");

    // 5. A delivery rejected into the report, committed, found again.
    if (after < UINT64_MAX || (opt0 & 16)) {
        hubc_delivery_t d = {0};
        uint64_t seq = opt0 & 8 ? UINT64_MAX - opt2 : after + 1 + opt2;
        d.seq = opt0 & 16 ? 0 : seq > after ? seq : after + 1; // AFTER + 1 + OPT2 may wrap
        const uint8_t *p = data + size - tail, *end = data + size;
        char reason[256];
        s_field(&p, end, d.id, sizeof d.id);
        s_field(&p, end, d.type, sizeof d.type);
        s_field(&p, end, d.origin_id, sizeof d.origin_id);
        s_field(&p, end, reason, sizeof reason);
        d.body = p;
        d.body_len = (size_t) (end - p);
        if (hubc_rejects_add(r, &d, S_AT, reason) != HUB_OK || !hubc_rejects_has(r, d.seq) ||
            hubc_rejects_count(r) != 1) {
            fu_fail("add: seq %" PRIu64 " not taken, or not remembered", d.seq);
        }
        // Remembered at once: what was, and D's seq (the candidates still
        // hold every seq remembered, and now D's and its neighbours).
        s_cand(&m, d.seq);
        s_set_seal(&m.cands);
        s_set_t want = {0};
        for (size_t i = 0; i < has2.n; i++) {
            s_set_add(&want, has2.v[i]);
        }
        s_set_add(&want, d.seq);
        s_set_seal(&want);
        s_remembered(r, &m.cands, &has3);
        s_same_set(&want, &has3, "added");
        s_check_reach(r, &m.cands, &has3, "added");
        s_set_free(&has3);
        hub_diag_reset(diag);
        if (hubc_rejects_commit(r, diag) != HUB_OK) {
            hub_diag_print(diag, stderr);
            fu_fail("commit failed");
        }
        size_t after_len;
        uint8_t *grown = s_read_file(&after_len);
        if (!grown || after_len <= now_len || (now_len && memcmp(grown, now, now_len) != 0)) {
            fu_fail("commit: the report is not what it was plus a line");
        }
        s_check_added_line(grown + now_len, after_len - now_len, &d, reason, written_id);
        hubc_rejects_destroy(&r);

        // Opened again: D's seq found (when above AFTER), nothing cut.
        r = s_open(store_id, after, diag, "open after the commit");
        size_t third_len;
        uint8_t *third = s_read_file(&third_len);
        if (!third || third_len != after_len || memcmp(third, grown, after_len) != 0 ||
            s_diag_find(diag, "inbox_torn", HUB_DIAG_NOTE)) {
            fu_fail("open after the commit: the report changed");
        }
        free(third);
        free(grown);
        if (d.seq <= after) {
            want.n = 0;
            for (size_t i = 0; i < has2.n; i++) {
                s_set_add(&want, has2.v[i]);
            }
        }
        s_remembered(r, &m.cands, &has3);
        s_same_set(&want, &has3, "open after the commit");
        s_check_reach(r, &m.cands, &has3, "open after the commit");
        s_set_free(&has3);
        s_set_free(&want);
    }
    hubc_rejects_destroy(&r);
    s_set_free(&has1);
    s_set_free(&has2);
    free(now);
    hub_diag_destroy(&diag);
    s_model_free(&m);
    unlink(s_env.path);
    return 0;
}
