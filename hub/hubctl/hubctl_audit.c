// hubctl audit: what the auditors' commands share (hubctl_audit.h): the
// options, the store opened read-only with the hash key, the decoded
// record, the selection of records, and the operations-log record that
// every reading of the audit leaves behind.
#include "hubctl_audit.h"

#include "hub_error.h"
#include "hub_ids.h"
#include "hub_mpr.h"
#include "hubctl.h"
#include "hubctl_ops.h"

#include <errno.h>
#include <sodium.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define S_BATCH 256 // subject index entries read at a time

static const char s_help[] =
    "usage: hubctl audit COMMAND [options]   (hubctl audit COMMAND --help for each)\n"
    "\n"
    "  query    the disclosures recorded: by subject (a citizen ID, through the keyed-hash\n"
    "           index), source, endpoint, rule, type, purpose, time; paged\n"
    "  report   a subject-access report: which departments received which of a person's\n"
    "           data, when, why and under which law (Chinese and English; text, HTML)\n"
    "  verify   recompute the hash chain and check the signed checkpoints, in the store or\n"
    "           in an exported bundle; names the first record altered, removed or inserted\n"
    "  export   an evidence bundle (records, chain hashes, checkpoints, public key) that\n"
    "           verify --bundle checks offline\n"
    "\n"
    "Reading the audit is itself recorded in the operations log (action audit.query,\n"
    "audit.report, audit.export) with the OS user and the filters. docs/OPERATIONS.md, Audit.\n";

int
hubctl_audit(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(int, char **);
    } cmds[] = {{"query", hubctl_audit_query},
                {"report", hubctl_audit_report},
                {"verify", hubctl_audit_verify},
                {"export", hubctl_audit_export}};
    if (argc < 1 || strcmp(argv[0], "-h") == 0 || strcmp(argv[0], "--help") == 0) {
        fputs(s_help, argc < 1 ? stderr : stdout);
        return argc < 1 ? HUBCTL_USAGE : HUBCTL_OK;
    }
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        if (strcmp(argv[0], cmds[i].name) == 0) {
            return cmds[i].run(argc - 1, argv + 1);
        }
    }
    return hubctl_usage_error("audit: unknown command '%s' (query, report, verify, export)",
                              argv[0]);
}

// ---------------------------------------------------------------- options

static bool
s_format(const char *value, hubctl_fmt_t *fmt)
{
    static const struct {
        const char *name;
        hubctl_fmt_t fmt;
    } fmts[] = {{"table", HUBCTL_FMT_TABLE},
                {"json", HUBCTL_FMT_JSON},
                {"csv", HUBCTL_FMT_CSV},
                {"text", HUBCTL_FMT_TEXT},
                {"html", HUBCTL_FMT_HTML}};
    for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; i++) {
        if (strcmp(value, fmts[i].name) == 0) {
            *fmt = fmts[i].fmt;
            return true;
        }
    }
    hubctl_usage_error("--format takes table, json, csv, text or html, not '%s'", value);
    return false;
}

static bool
s_time(const char *name, const char *value, uint64_t *ms, bool *given)
{
    if (!hubctl_parse_time(value, hubctl_now_ms(), ms)) {
        hubctl_usage_error("--%s takes a time (2026-11-27, 2026-11-27T08:00:00+08:00, "
                           "yesterday, 2h, 30d), not '%s'",
                           name, value);
        return false;
    }
    *given = true;
    return true;
}

static bool
s_set(hubctl_audit_opts_t *o, const char *name, const char *value)
{
    uint64_t n;
    if (strcmp(name, "since") == 0 || strcmp(name, "until") == 0) {
        return name[0] == 's' ? s_time(name, value, &o->since_ms, &o->since_given)
                              : s_time(name, value, &o->until_ms, &o->until_given);
    }
    if (strcmp(name, "limit") == 0) {
        bool ok = hubctl_opt_count(name, value, HUBCTL_AUDIT_LIMIT_MAX, &n) &&
                  (n > 0 || (hubctl_usage_error("--limit must be above 0"), false));
        o->limit = (size_t) n;
        o->limit_given = ok;
        return ok;
    }
    if (strcmp(name, "after") == 0) {
        return hubctl_opt_count(name, value, UINT64_MAX - 1, &o->after);
    }
    if (strcmp(name, "format") == 0) {
        return s_format(value, &o->format);
    }
    if (strcmp(name, "lang") == 0 && strcmp(value, "zh") != 0 && strcmp(value, "en") != 0) {
        hubctl_usage_error("--lang takes zh or en, not '%s'", value);
        return false;
    }
    const char **slot = strcmp(name, "config") == 0     ? &o->config
                        : strcmp(name, "subject") == 0  ? &o->subject
                        : strcmp(name, "source") == 0   ? &o->source
                        : strcmp(name, "endpoint") == 0 ? &o->endpoint
                        : strcmp(name, "rule") == 0     ? &o->rule
                        : strcmp(name, "type") == 0     ? &o->type
                        : strcmp(name, "purpose") == 0  ? &o->purpose
                        : strcmp(name, "lang") == 0     ? &o->lang
                        : strcmp(name, "bundle") == 0   ? &o->bundle
                        : strcmp(name, "pub-key") == 0  ? &o->pub_key
                                                        : &o->output;
    *slot = value;
    return true;
}

bool
hubctl_audit_parse(int argc, char **argv, const char *const *allowed, hubctl_audit_opts_t *o)
{
    memset(o, 0, sizeof *o);
    const char *env = getenv("HUB_CONFIG");
    o->config = env && *env ? env : "config";
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || a[1] == '\0') {
            hubctl_usage_error("unexpected argument '%s'", a);
            return false;
        }
        const char *eq = strchr(a, '=');
        const char *body = strcmp(a, "-o") == 0 ? "output" : a + 2;
        size_t nlen = eq ? (size_t) (eq - body) : strlen(body);
        char name[32];
        snprintf(name, sizeof name, "%.*s", (int) (nlen < 31 ? nlen : 31), body);
        if ((a[1] != '-' && strcmp(a, "-o") != 0) || nlen > 31 ||
            !hubctl_opt_allowed(name, allowed)) {
            hubctl_usage_error("unknown option '%s'", a);
            return false;
        }
        const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!value) {
            hubctl_usage_error("option --%s needs a value", name);
            return false;
        }
        if (!s_set(o, name, value)) {
            return false;
        }
    }
    if (o->since_given && o->until_given && o->until_ms <= o->since_ms) {
        hubctl_usage_error("--until must be after --since");
        return false;
    }
    return true;
}

// ---------------------------------------------------------------- opening

// The subject key of --subject (normalised first: "x", a 15-digit ID).
static bool
s_subject(hubctl_audit_t *self)
{
    char cid[19], detail[HUB_IDS_DETAIL_MAX];
    const char *s = self->opts.subject;
    if (hub_cid_normalize(s, strlen(s), cid, detail, sizeof detail) != HUB_IDS_OK) {
        fprintf(stderr, "hubctl: --subject '%s' is not a citizen ID: %s\n", s, detail);
        return false;
    }
    if (!self->has_key) {
        fprintf(stderr, "hubctl: --subject needs the hash key (%s), which cannot be read\n",
                self->cfg.hash_key);
        return false;
    }
    return hub_store_subject_key(self->store, cid, self->subject) == HUB_OK;
}

bool
hubctl_audit_open(hubctl_audit_t *self, bool need_key)
{
    self->arena = hub_arena_new(1 << 16);
    self->scratch = hub_arena_new(1 << 14);
    hub_diag_t *diag = hub_diag_new();
    bool ok = self->arena && self->scratch && diag &&
              hub_config_load(&self->cfg, self->opts.config, diag) == HUB_OK;
    if (ok) {
        self->has_key =
            hub_config_read_key(self->cfg.hash_key, self->key, need_key ? diag : NULL) == HUB_OK;
        ok = self->has_key || !need_key;
    }
    ok = ok && hub_store_open(&self->store, self->cfg.store, self->cfg.store_map_size,
                              HUB_STORE_RDONLY, self->has_key ? self->key : NULL, diag) == HUB_OK;
    if (!ok) {
        hub_diag_print(diag, stderr);
        fprintf(stderr, "hubctl: cannot read the audit (configuration %s)\n", self->opts.config);
    }
    hub_diag_destroy(&diag);
    return ok && (!self->opts.subject || s_subject(self));
}

void
hubctl_audit_close(hubctl_audit_t *self)
{
    hub_store_destroy(&self->store);
    hub_config_free(&self->cfg);
    hub_arena_destroy(&self->arena);
    hub_arena_destroy(&self->scratch);
    sodium_memzero(self->key, sizeof self->key);
}

// ---------------------------------------------------------------- records

// A string or nil at R into *OUT (NULL for nil), copied into ARENA.
static int
s_str(hub_mpr_t *r, hub_arena_t *arena, const char **out)
{
    hub_mp_obj_t o;
    if (hub_mpr_next(r, &o) || (o.kind != HUB_MP_STR && o.kind != HUB_MP_NIL)) {
        return HUB_EDECODE;
    }
    *out = o.kind == HUB_MP_NIL ? NULL : hub_arena_strndup(arena, (const char *) o.data, o.len);
    return o.kind == HUB_MP_STR && !*out ? HUB_ENOMEM : HUB_OK;
}

// An array of strings (or nils) at R.
static int
s_strs(hub_mpr_t *r, hub_arena_t *arena, const char ***out, size_t *n)
{
    hub_mp_obj_t o;
    if (hub_mpr_next(r, &o) || o.kind != HUB_MP_ARRAY) {
        return HUB_EDECODE;
    }
    *n = o.len;
    *out = hub_arena_alloc(arena, (o.len + 1) * sizeof **out);
    int rc = *out ? HUB_OK : HUB_ENOMEM;
    for (uint32_t i = 0; i < o.len && !rc; i++) {
        rc = s_str(r, arena, &(*out)[i]);
    }
    return rc;
}

// The "fields" array: {mask, path, rule} maps.
static int
s_fields(hub_mpr_t *r, hub_arena_t *arena, hubctl_audit_rec_t *out)
{
    hub_mp_obj_t o, m;
    if (hub_mpr_next(r, &o) || o.kind != HUB_MP_ARRAY) {
        return HUB_EDECODE;
    }
    out->nfields = o.len;
    out->fields = hub_arena_alloc(arena, (o.len + 1) * sizeof *out->fields);
    int rc = out->fields ? HUB_OK : HUB_ENOMEM;
    for (uint32_t i = 0; i < o.len && !rc; i++) {
        hubctl_audit_field_t *f = &out->fields[i];
        rc = hub_mpr_next(r, &m) || m.kind != HUB_MP_MAP || m.len != 3 ? HUB_EDECODE : HUB_OK;
        const char *k;
        size_t klen;
        for (uint32_t j = 0; j < 3 && !rc; j++) {
            rc = hub_mpr_str(r, &k, &klen);
            const char **slot = klen == 4 && !memcmp(k, "mask", 4)   ? &f->mask
                                : klen == 4 && !memcmp(k, "path", 4) ? &f->path
                                                                     : &f->rule;
            rc = rc ? rc : s_str(r, arena, slot);
        }
        if (!rc && (!f->mask || !f->path)) {
            rc = HUB_EDECODE;
        }
    }
    return rc;
}

typedef enum { S_STR, S_UINT, S_STRS, S_FIELDS } s_kind_t;

// The keys an audit record is read by; the others (hash, prev_hash,
// subject) are skipped here. OFF: where the value goes in the record;
// NOFF: where an array's length goes (0: not kept).
static const struct {
    const char *name;
    s_kind_t kind;
    size_t off, noff;
} s_keys[] = {
    {"endpoint", S_STR, offsetof(hubctl_audit_rec_t, endpoint), 0},
    {"eseq", S_UINT, offsetof(hubctl_audit_rec_t, eseq), 0},
    {"fields", S_FIELDS, 0, 0},
    {"legal_bases", S_STRS, offsetof(hubctl_audit_rec_t, bases), 0},
    {"message_id", S_STR, offsetof(hubctl_audit_rec_t, message_id), 0},
    {"origin_id", S_STR, offsetof(hubctl_audit_rec_t, origin_id), 0},
    {"purposes", S_STRS, offsetof(hubctl_audit_rec_t, purposes), 0},
    {"rules", S_STRS, offsetof(hubctl_audit_rec_t, rules), offsetof(hubctl_audit_rec_t, nrules)},
    {"ruleset", S_STR, offsetof(hubctl_audit_rec_t, ruleset), 0},
    {"seq", S_UINT, offsetof(hubctl_audit_rec_t, seq), 0},
    {"source", S_STR, offsetof(hubctl_audit_rec_t, source), 0},
    {"time_ms", S_UINT, offsetof(hubctl_audit_rec_t, time_ms), 0},
    {"type", S_STR, offsetof(hubctl_audit_rec_t, type), 0},
};

// One pair of the record: key K (KLEN bytes), its value at R.
static int
s_pair(const char *k, size_t klen, hub_mpr_t *r, hub_arena_t *arena, hubctl_audit_rec_t *out)
{
    char *base = (char *) out;
    size_t n;
    for (size_t i = 0; i < sizeof s_keys / sizeof s_keys[0]; i++) {
        if (strlen(s_keys[i].name) != klen || memcmp(s_keys[i].name, k, klen) != 0) {
            continue;
        }
        switch (s_keys[i].kind) {
        case S_STR:
            return s_str(r, arena, (const char **) (void *) (base + s_keys[i].off));
        case S_UINT:
            return hub_mpr_uint(r, (uint64_t *) (void *) (base + s_keys[i].off)) ? HUB_EDECODE
                                                                                 : HUB_OK;
        case S_STRS: {
            int rc = s_strs(r, arena, (const char ***) (void *) (base + s_keys[i].off), &n);
            if (!rc && s_keys[i].noff) {
                *(size_t *) (void *) (base + s_keys[i].noff) = n;
            }
            return rc;
        }
        case S_FIELDS:
            return s_fields(r, arena, out);
        }
    }
    return hub_mpr_skip(r) ? HUB_EDECODE : HUB_OK;
}

int
hubctl_audit_decode(const void *rec, size_t len, hub_arena_t *arena, hubctl_audit_rec_t *out)
{
    memset(out, 0, sizeof *out);
    hub_mpr_t r;
    hub_mp_obj_t m;
    hub_mpr_init(&r, rec, len);
    int rc = hub_mpr_next(&r, &m) || m.kind != HUB_MP_MAP ? HUB_EDECODE : HUB_OK;
    for (uint32_t i = 0; i < m.len && !rc; i++) {
        const char *k;
        size_t klen;
        rc = hub_mpr_str(&r, &k, &klen) ? HUB_EDECODE : s_pair(k, klen, &r, arena, out);
    }
    out->has_subject =
        !rc && hub_mpr_get_bin(rec, len, "subject", out->subject, sizeof out->subject) == HUB_OK;
    if (!rc && (!out->endpoint || !out->source || !out->type || !out->message_id || !out->rules ||
                !out->purposes || !out->bases || !out->fields)) {
        rc = HUB_EDECODE;
    }
    if (!rc && !out->ruleset) {
        out->ruleset = "";
    }
    void *copy = rc ? NULL : hub_arena_alloc(arena, len);
    if (!rc && copy) {
        memcpy(copy, rec, len);
        out->raw = copy;
        out->raw_len = len;
    }
    return rc ? rc : copy ? HUB_OK : HUB_ENOMEM;
}

// ---------------------------------------------------------------- selecting

int
hubctl_audit_range(hubctl_audit_t *self, uint64_t *first, uint64_t *last)
{
    uint8_t prev[HUB_STORE_HASH_SIZE];
    int rc = hub_store_audit_base(self->store, first, prev);
    rc = rc ? rc : hub_store_last_seq(self->store, HUB_STORE_AUDIT, last);
    if (!rc && *last < *first) {
        *first = *last = 0;
    }
    return rc;
}

// The time of record SEQ.
static int
s_time_of(hubctl_audit_t *self, uint64_t seq, uint64_t *ms)
{
    const void *rec;
    size_t len;
    int rc = hub_store_record(self->store, HUB_STORE_AUDIT, seq, &rec, &len);
    if (!rc && hub_mpr_get_uint(rec, len, "time_ms", ms)) {
        fprintf(stderr, "hubctl: audit record %llu is damaged (no time_ms)\n",
                (unsigned long long) seq);
        rc = HUB_EDECODE;
    }
    return rc;
}

int
hubctl_audit_seq_at(hubctl_audit_t *self, uint64_t first, uint64_t last, uint64_t time_ms,
                    uint64_t *seq)
{
    // Records are appended as messages arrive, so their times only grow:
    // the first one at or after TIME_MS is found by halving [lo, hi).
    uint64_t lo = first, hi = last + 1;
    int rc = HUB_OK;
    while (!rc && lo < hi && first > 0) {
        uint64_t mid = lo + (hi - lo) / 2, ms;
        rc = s_time_of(self, mid, &ms);
        if (ms < time_ms) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *seq = first > 0 ? lo : last + 1;
    return rc;
}

static bool
s_contains(const char *hay, const char *needle)
{
    return hay && strstr(hay, needle) != NULL;
}

// Whether REC passes the filters other than subject and time.
static bool
s_matches(const hubctl_audit_opts_t *o, const hubctl_audit_rec_t *rec)
{
    if ((o->source && strcmp(rec->source, o->source) != 0) ||
        (o->endpoint && strcmp(rec->endpoint, o->endpoint) != 0) ||
        (o->type && strcmp(rec->type, o->type) != 0)) {
        return false;
    }
    bool rule = !o->rule, purpose = !o->purpose;
    for (size_t i = 0; i < rec->nrules; i++) {
        rule = rule || strcmp(rec->rules[i], o->rule) == 0;
        purpose = purpose || s_contains(rec->purposes[i], o->purpose);
    }
    return rule && purpose;
}

typedef struct {
    size_t max, n;
    hubctl_audit_each_fn each;
    void *arg;
    bool *more;
    bool stop;
} s_sel_t;

// Reads record SEQ and hands it on when it matches.
static int
s_visit(hubctl_audit_t *self, uint64_t seq, s_sel_t *sel)
{
    const void *raw;
    size_t len;
    hubctl_audit_rec_t rec;
    int rc = hub_store_record(self->store, HUB_STORE_AUDIT, seq, &raw, &len);
    if (rc == HUB_ENOTFOUND) {
        return HUB_OK; // removed by retention since the index was read
    }
    // Decoded for the filters into the scratch arena; kept (in the
    // page's arena) only when it matches.
    hub_arena_reset(self->scratch);
    rc = rc ? rc : hubctl_audit_decode(raw, len, self->scratch, &rec);
    if (rc == HUB_EDECODE) {
        fprintf(stderr, "hubctl: audit record %llu is damaged (run hubctl audit verify)\n",
                (unsigned long long) seq);
    }
    if (rc || !s_matches(&self->opts, &rec)) {
        return rc;
    }
    if (sel->max && sel->n == sel->max) {
        *sel->more = true; // one more matches: there is a next page
        sel->stop = true;
        return HUB_OK;
    }
    rc = hubctl_audit_decode(raw, len, self->arena, &rec);
    sel->n += !rc;
    sel->stop = rc || !sel->each(self, &rec, sel->arg);
    return rc;
}

// The records of the subject in [LO, HI), through the index.
static int
s_by_subject(hubctl_audit_t *self, uint64_t lo, uint64_t hi, s_sel_t *sel)
{
    uint64_t seqs[S_BATCH], after = lo > 0 ? lo - 1 : 0;
    size_t n = S_BATCH;
    int rc = HUB_OK;
    while (!rc && !sel->stop && n == S_BATCH) {
        rc = hub_store_audit_by_subject(self->store, self->subject, after, seqs, S_BATCH, &n);
        for (size_t i = 0; i < n && !rc && !sel->stop; i++) {
            if (seqs[i] >= hi) {
                return HUB_OK;
            }
            rc = s_visit(self, seqs[i], sel);
        }
        after = n ? seqs[n - 1] : after;
    }
    return rc;
}

int
hubctl_audit_select(hubctl_audit_t *self, size_t max, hubctl_audit_each_fn each, void *arg,
                    bool *more)
{
    bool dummy;
    s_sel_t sel = {max, 0, each, arg, more ? more : &dummy, false};
    *sel.more = false;
    uint64_t first, last, lo, hi;
    const hubctl_audit_opts_t *o = &self->opts;
    int rc = hubctl_audit_range(self, &first, &last);
    lo = first;
    hi = last + 1;
    if (!rc && o->since_given) {
        rc = hubctl_audit_seq_at(self, first, last, o->since_ms, &lo);
    }
    if (!rc && o->until_given) {
        rc = hubctl_audit_seq_at(self, first, last, o->until_ms, &hi);
    }
    lo = o->after >= lo ? o->after + 1 : lo;
    if (rc || first == 0 || lo >= hi) {
        return rc;
    }
    if (o->subject) {
        return s_by_subject(self, lo, hi, &sel);
    }
    for (uint64_t seq = lo; seq < hi && !rc && !sel.stop; seq++) {
        rc = s_visit(self, seq, &sel);
    }
    return rc;
}

bool
hubctl_audit_keep(hubctl_audit_t *self, const hubctl_audit_rec_t *rec, void *arg)
{
    (void) self;
    hubctl_audit_recs_t *kept = arg;
    if (kept->n == kept->cap) {
        size_t cap = kept->cap ? kept->cap * 2 : 64;
        hubctl_audit_rec_t *recs = realloc(kept->recs, cap * sizeof *recs);
        if (!recs) {
            fprintf(stderr, "hubctl: out of memory\n");
            return false;
        }
        kept->recs = recs;
        kept->cap = cap;
    }
    kept->recs[kept->n++] = *rec;
    return true;
}

// ---------------------------------------------------------------- the oplog

size_t
hubctl_audit_filters(const hubctl_audit_t *self, hub_mpw_t *w, bool write, const uint64_t *records)
{
    static const char *const fmts[] = {NULL, "table", "json", "csv", "text", "html"};
    const hubctl_audit_opts_t *o = &self->opts;
    const uint64_t limit = o->limit;
    struct {
        const char *key;
        const char *str;     // a string value, or
        const uint64_t *num; // a number, or
        const uint8_t *bin;  // the subject key
    } pairs[] = {
        {"after", NULL, o->after ? &o->after : NULL, NULL},
        {"endpoint", o->endpoint, NULL, NULL},
        {"format", fmts[o->format], NULL, NULL},
        {"lang", o->lang, NULL, NULL},
        {"limit", NULL, o->limit_given ? &limit : NULL, NULL},
        {"output", o->output, NULL, NULL},
        {"purpose", o->purpose, NULL, NULL},
        {"records", NULL, records, NULL},
        {"rule", o->rule, NULL, NULL},
        {"since_ms", NULL, o->since_given ? &o->since_ms : NULL, NULL},
        {"source", o->source, NULL, NULL},
        {"subject", NULL, NULL, o->subject ? self->subject : NULL},
        {"type", o->type, NULL, NULL},
        {"until_ms", NULL, o->until_given ? &o->until_ms : NULL, NULL},
    };
    size_t n = 0;
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        if (!pairs[i].str && !pairs[i].num && !pairs[i].bin) {
            continue;
        }
        n++;
        if (write) {
            hub_mpw_cstr(w, pairs[i].key);
            if (pairs[i].str) {
                hub_mpw_cstr(w, pairs[i].str);
            } else if (pairs[i].num) {
                hub_mpw_uint(w, *pairs[i].num);
            } else {
                hub_mpw_bin(w, pairs[i].bin, HUB_STORE_HASH_SIZE);
            }
        }
    }
    return n;
}

// Appends the record of ACTION with DETAIL on a writable handle of its
// own. On failure says why on stderr.
static bool
s_record_write(hubctl_audit_t *self, const char *action, const hub_buf_t *detail)
{
    char user[128];
    hub_store_t *st = NULL;
    hub_diag_t *diag = hub_diag_new();
    int rc = !self->has_key ? HUB_EINVAL
                            : hub_store_open(&st, self->cfg.store, self->cfg.store_map_size, 0,
                                             self->key, diag);
    rc = rc ? rc
            : hub_store_oplog_append(st, hubctl_now_ms(), hubctl_user(user, sizeof user), action,
                                     detail->data, detail->len, NULL);
    if (rc) {
        hub_diag_print(diag, stderr);
        fprintf(stderr,
                "hubctl: %s refused: this reading of the audit could not be recorded in the "
                "operations log (%s%s%s), so nothing of it is shown%s%s%s\n",
                action,
                !self->has_key ? "the hash key cannot be read, so the store cannot be opened "
                                 "for writing"
                               : hub_strerror(rc),
                st && *hub_store_last_error(st) ? ": " : "", st ? hub_store_last_error(st) : "",
                rc == HUB_EFULL ? "; " : "", rc == HUB_EFULL ? hub_store_full_remedy(st) : "",
                rc == HUB_EFULL ? ", then reload" : "");
    }
    hub_store_destroy(&st);
    hub_diag_destroy(&diag);
    return rc == HUB_OK;
}

bool
hubctl_audit_record_access(hubctl_audit_t *self, const char *action, uint64_t records)
{
    hub_buf_t detail = HUB_BUF_INIT;
    hub_mpw_t w;
    hub_mpw_init(&w, &detail);
    hub_mpw_map(&w, hubctl_audit_filters(self, &w, false, &records));
    hubctl_audit_filters(self, &w, true, &records);
    // LMDB allows one handle per store in a process: the reader goes first,
    // and comes back for the answer.
    hub_store_destroy(&self->store);
    bool ok = hub_mpw_error(&w) == HUB_OK && s_record_write(self, action, &detail);
    hub_buf_free(&detail);
    hub_diag_t *diag = hub_diag_new();
    if (ok && hub_store_open(&self->store, self->cfg.store, self->cfg.store_map_size,
                             HUB_STORE_RDONLY, self->has_key ? self->key : NULL, diag) != HUB_OK) {
        hub_diag_print(diag, stderr);
        fprintf(stderr, "hubctl: %s: recorded, but the store cannot be read again\n", action);
        ok = false;
    }
    hub_diag_destroy(&diag);
    return ok;
}

// ---------------------------------------------------------------- output

FILE *
hubctl_audit_out_open(const hubctl_audit_opts_t *opts)
{
    if (!opts->output || strcmp(opts->output, "-") == 0) {
        return stdout;
    }
    FILE *f = fopen(opts->output, "w");
    if (!f) {
        fprintf(stderr, "hubctl: %s: cannot write: %s\n", opts->output, strerror(errno));
    }
    return f;
}

bool
hubctl_audit_out_close(const hubctl_audit_opts_t *opts, FILE *f)
{
    bool ok = fflush(f) == 0 && !ferror(f);
    if (f != stdout) {
        ok = fclose(f) == 0 && ok;
    }
    if (!ok) {
        fprintf(stderr, "hubctl: %s: write error\n", f == stdout ? "stdout" : opts->output);
    }
    return ok;
}

void
hubctl_audit_hex(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

bool
hubctl_audit_pub_key(const hub_config_t *cfg, const char *file, uint8_t pk[32], char **path_out,
                     bool quiet)
{
    hub_buf_t path = HUB_BUF_INIT;
    if (file) {
        hub_buf_puts(&path, file);
    } else {
        hub_buf_printf(&path, "%s.pub", cfg->audit_sign_key);
    }
    const char *p = hub_buf_cstr(&path);
    FILE *f = p ? fopen(p, "rb") : NULL;
    char buf[160];
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    buf[n] = '\0';
    const char *end = NULL;
    size_t bin_len = 0;
    bool ok = f && n < sizeof buf - 1 &&
              sodium_hex2bin(pk, 32, buf, n, " \t\r\n", &bin_len, &end) == 0 && bin_len == 32 &&
              strspn(end, " \t\r\n") == strlen(end);
    if (!ok && !quiet) {
        fprintf(stderr, "hubctl: %s: %s\n", p ? p : "?",
                !f ? strerror(errno) : "not an Ed25519 public key (64 hex digits)");
    }
    if (f) {
        fclose(f);
    }
    if (path_out) {
        *path_out = p ? strdup(p) : NULL;
    }
    hub_buf_free(&path);
    return ok;
}
