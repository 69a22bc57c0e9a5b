// hubctl audit export: an evidence bundle that `hubctl audit verify
// --bundle` checks offline. One JSON Lines file: a header (what was asked,
// by whom, the hub's public key, the chain's base and head, the pieces of
// the chain it holds), then the signed checkpoints inside those pieces,
// then every record of each piece with its raw bytes. A piece runs from a
// selected record to the first checkpoint at or after it, so every
// selected record is tied by the hash chain to a signature.
#include "hubctl.h"
#include "hubctl_audit.h"
#include "hubctl_ops.h"

#include "hub_error.h"
#include "hub_mpr.h"

#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static const char s_help[] =
    "usage: hubctl audit export -o FILE [--subject CITIZEN_ID] [--since TIME] [--until TIME]\n"
    "                           [--config DIR] [--pub-key FILE]\n"
    "\n"
    "Writes an evidence bundle (JSON Lines): the audit records selected (about a subject,\n"
    "in a time range, or all), each with the records after it up to the first signed\n"
    "checkpoint, those checkpoints, and the hub's public key. `hubctl audit verify --bundle\n"
    "FILE` checks it offline, without the store. When hubd runs, export asks it to sign a\n"
    "checkpoint first, so the newest records are covered too. The export is recorded in the\n"
    "operations log (audit.export) before the bundle is written; when it cannot be recorded\n"
    "(the store is full) nothing is written and the exit status is 1.\n";

typedef struct {
    uint64_t (*r)[2]; // ranges [first, last], ascending, apart
    size_t n, cap;
} s_ranges_t;

static bool
s_add(s_ranges_t *rs, uint64_t first, uint64_t last)
{
    if (rs->n && first <= rs->r[rs->n - 1][1] + 1) {
        rs->r[rs->n - 1][1] = last > rs->r[rs->n - 1][1] ? last : rs->r[rs->n - 1][1];
        return true;
    }
    if (rs->n == rs->cap) {
        size_t cap = rs->cap ? rs->cap * 2 : 64;
        uint64_t(*r)[2] = realloc(rs->r, cap * sizeof *r);
        if (!r) {
            return false;
        }
        rs->r = r;
        rs->cap = cap;
    }
    rs->r[rs->n][0] = first;
    rs->r[rs->n][1] = last;
    rs->n++;
    return true;
}

// How many seqs the ranges RS hold.
static uint64_t
s_count(const s_ranges_t *rs)
{
    uint64_t n = 0;
    for (size_t i = 0; i < rs->n; i++) {
        n += rs->r[i][1] - rs->r[i][0] + 1;
    }
    return n;
}

// The first of the N pairs at R, sorted by their element COL, whose
// element COL is at or above SEQ (N when none): a binary search.
static size_t
s_lower(uint64_t (*r)[2], size_t n, int col, uint64_t seq)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r[mid][col] < seq) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

static bool
s_in(const s_ranges_t *rs, uint64_t seq)
{
    size_t lo = s_lower(rs->r, rs->n, 1, seq);
    return lo < rs->n && rs->r[lo][0] <= seq;
}

typedef struct {
    hubctl_audit_t *a;
    s_ranges_t selected; // the records asked for
    s_ranges_t segments; // the pieces of the chain written
    uint64_t (*cps)[2];  // per checkpoint: the audit seq it names, its own seq
    size_t ncps;
    uint64_t first, last; // the chain kept
    uint64_t written;
} s_export_t;

static bool
s_collect(hubctl_audit_t *a, const hubctl_audit_rec_t *rec, void *arg)
{
    s_export_t *x = arg;
    bool ok = s_add(&x->selected, rec->seq, rec->seq);
    hub_arena_reset(a->arena); // only the seq is kept
    return ok;
}

// Asks hubd to sign the head now; says so when it cannot.
static void
s_ask_checkpoint(const hub_config_t *cfg)
{
    hub_buf_t req = HUB_BUF_INIT;
    hub_mpw_t w;
    json_t *reply = NULL;
    hubctl_admin_begin(&w, &req, "checkpoint", 0);
    int rc = hub_mpw_error(&w)
                 ? HUB_ENOMEM
                 : hubctl_admin_call(cfg->admin, HUBCTL_ADMIN_TIMEOUT_MS, &req, &reply);
    if (rc || !json_is_true(json_object_get(reply, "ok"))) {
        const char *why = json_string_value(json_object_get(reply, "error"));
        fprintf(stderr,
                "hubctl: note: hubd signed no checkpoint now (%s): the newest records "
                "may be in the bundle unsigned\n",
                why ? why : "not running");
    }
    json_decref(reply);
    hub_buf_free(&req);
}

// The audit seq every checkpoint names, in order.
static int
s_checkpoints(s_export_t *x)
{
    uint64_t last;
    int rc = hub_store_last_seq(x->a->store, HUB_STORE_CHECKPOINT, &last);
    x->cps = rc ? NULL : calloc(last + 1, sizeof *x->cps);
    rc = rc ? rc : x->cps ? HUB_OK : HUB_ENOMEM;
    for (uint64_t seq = 1; seq <= last && !rc; seq++) {
        const void *rec;
        size_t len;
        hub_store_checkpoint_t cp;
        rc = hub_store_record(x->a->store, HUB_STORE_CHECKPOINT, seq, &rec, &len);
        if (rc == HUB_ENOTFOUND) {
            rc = HUB_OK; // verify will say a checkpoint is missing
            continue;
        }
        if (!rc && hub_store_checkpoint_check(rec, len, NULL, &cp, NULL) == HUB_OK &&
            (!x->ncps || cp.audit_seq > x->cps[x->ncps - 1][0])) {
            x->cps[x->ncps][0] = cp.audit_seq;
            x->cps[x->ncps++][1] = seq;
        }
    }
    return rc;
}

// The first checkpoint at or after SEQ, else the head.
static uint64_t
s_signed_at(const s_export_t *x, uint64_t seq)
{
    size_t lo = s_lower(x->cps, x->ncps, 0, seq);
    return lo < x->ncps && x->cps[lo][0] <= x->last ? x->cps[lo][0] : x->last;
}

static int
s_select(s_export_t *x)
{
    hubctl_audit_t *a = x->a;
    int rc = hubctl_audit_range(a, &x->first, &x->last);
    if (rc || x->first == 0) {
        return rc;
    }
    if (a->opts.subject) {
        rc = hubctl_audit_select(a, 0, s_collect, x, NULL);
    } else {
        uint64_t lo = x->first, hi = x->last + 1;
        rc = a->opts.since_given ? hubctl_audit_seq_at(a, x->first, x->last, a->opts.since_ms, &lo)
                                 : HUB_OK;
        rc = rc || !a->opts.until_given
                 ? rc
                 : hubctl_audit_seq_at(a, x->first, x->last, a->opts.until_ms, &hi);
        rc = rc || lo >= hi || s_add(&x->selected, lo, hi - 1) ? rc : HUB_ENOMEM;
    }
    for (size_t i = 0; i < x->selected.n && !rc; i++) {
        uint64_t end = s_signed_at(x, x->selected.r[i][1]);
        rc = s_add(&x->segments, x->selected.r[i][0], end) ? HUB_OK : HUB_ENOMEM;
    }
    return rc;
}

// ---------------------------------------------------------------- writing

static json_t *
s_hex_json(const uint8_t *p, size_t n)
{
    char hex[2 * HUB_STORE_HASH_SIZE + 1];
    hubctl_audit_hex(p, n, hex);
    return json_string(hex);
}

static json_t *
s_filters(const hubctl_audit_t *a)
{
    char t[64];
    json_t *f = json_object();
    if (a->opts.subject) {
        json_object_set_new(f, "subject_key", s_hex_json(a->subject, HUB_STORE_HASH_SIZE));
    }
    if (a->opts.since_given) {
        hubctl_format_time(a->opts.since_ms, t, sizeof t);
        json_object_set_new(f, "since", json_string(t));
    }
    if (a->opts.until_given) {
        hubctl_format_time(a->opts.until_ms, t, sizeof t);
        json_object_set_new(f, "until", json_string(t));
    }
    return f;
}

static int
s_header(FILE *out, s_export_t *x, const uint8_t pk[32])
{
    hubctl_audit_t *a = x->a;
    uint8_t prev[HUB_STORE_HASH_SIZE], head[HUB_STORE_HASH_SIZE] = {0};
    uint64_t base, now = hubctl_now_ms();
    const void *rec;
    size_t len;
    int rc = hub_store_audit_base(a->store, &base, prev);
    if (!rc && x->last) {
        rc = hub_store_record(a->store, HUB_STORE_AUDIT, x->last, &rec, &len);
        rc = rc || hub_mpr_get_bin(rec, len, "hash", head, sizeof head) ? (rc ? rc : HUB_EDECODE)
                                                                        : HUB_OK;
    }
    json_t *segs = json_array();
    for (size_t i = 0; i < x->segments.n; i++) {
        json_array_append_new(segs, json_pack("[I, I]", (json_int_t) x->segments.r[i][0],
                                              (json_int_t) x->segments.r[i][1]));
    }
    char t[64], user[128];
    hubctl_format_time(now, t, sizeof t);
    json_t *h =
        json_pack("{s:s, s:i, s:s, s:I, s:s, s:s, s:o, s:s, s:s, s:o, s:o, s:{s:I, s:o}, s:o, s:I}",
                  "format", "hub-audit-bundle", "version", 1, "created", t, "created_ms",
                  (json_int_t) now, "created_by", hubctl_user(user, sizeof user), "store",
                  a->cfg.store, "filters", s_filters(a), "hash", "BLAKE2b-256", "signature",
                  "Ed25519", "public_key", s_hex_json(pk, 32), "audit_base",
                  base > 1 ? json_pack("{s:I, s:o}", "seq", (json_int_t) base, "prev_hash",
                                       s_hex_json(prev, sizeof prev))
                           : json_null(),
                  "head", "seq", (json_int_t) x->last, "hash", s_hex_json(head, sizeof head),
                  "segments", segs, "records", (json_int_t) s_count(&x->segments));
    char *text = rc || !h ? NULL : json_dumps(h, JSON_COMPACT);
    if (text) {
        fprintf(out, "%s\n", text);
    }
    free(text);
    json_decref(h);
    return rc ? rc : text ? HUB_OK : HUB_ENOMEM;
}

// One line: {KEY: the record as JSON, "raw": base64, ...EXTRA}.
static int
s_line(FILE *out, const char *key, const void *rec, size_t len, json_t *extra)
{
    size_t b64len = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = malloc(b64len);
    json_t *view = hubctl_mp_json(rec, len);
    int rc = b64 && view ? HUB_OK : view ? HUB_ENOMEM : HUB_EDECODE;
    if (!rc) {
        sodium_bin2base64(b64, b64len, rec, len, sodium_base64_VARIANT_ORIGINAL);
        json_object_set_new(extra, key, view);
        view = NULL;
        json_object_set_new(extra, "raw", json_string(b64));
        char *text = json_dumps(extra, JSON_COMPACT);
        rc = text ? HUB_OK : HUB_ENOMEM;
        if (text) {
            fprintf(out, "%s\n", text);
        }
        free(text);
    }
    json_decref(view);
    json_decref(extra);
    free(b64);
    return rc;
}

// The disclosure descriptors the written records name, each once (a rule
// set has a few dozen), before the records: a verifier checks each against
// its key and the records against them.
static int
s_disclosures(FILE *out, s_export_t *x)
{
    hub_store_t *st = x->a->store;
    const void *rec;
    size_t len, n = 0, cap = 0;
    uint8_t(*keys)[HUB_STORE_HASH_SIZE] = NULL, key[HUB_STORE_HASH_SIZE];
    int rc = HUB_OK;
    for (size_t s = 0; s < x->segments.n && !rc; s++) {
        for (uint64_t seq = x->segments.r[s][0]; seq <= x->segments.r[s][1] && !rc; seq++) {
            rc = hub_store_record_raw(st, HUB_STORE_AUDIT, seq, &rec, &len);
            if (rc || hub_mpr_get_bin(rec, len, "disclosure", key, sizeof key) != HUB_OK) {
                continue; // a format-2 record holds its disclosure itself
            }
            size_t i = 0;
            while (i < n && memcmp(keys[i], key, sizeof key) != 0) {
                i++;
            }
            if (i == n && n == cap) {
                cap = cap ? 2 * cap : 16;
                void *grown = realloc(keys, cap * sizeof *keys);
                rc = grown ? HUB_OK : HUB_ENOMEM;
                keys = grown ? grown : keys;
            }
            if (!rc && i == n) {
                memcpy(keys[n++], key, sizeof key);
            }
        }
    }
    for (size_t i = 0; i < n && !rc; i++) {
        char hex[2 * HUB_STORE_HASH_SIZE + 1];
        sodium_bin2hex(hex, sizeof hex, keys[i], HUB_STORE_HASH_SIZE);
        rc = hub_store_disclosure(st, keys[i], &rec, &len);
        rc = rc ? rc : s_line(out, "disclosure", rec, len, json_pack("{s:s}", "key", hex));
    }
    free(keys);
    return rc;
}

static int
s_body(FILE *out, s_export_t *x)
{
    hub_store_t *st = x->a->store;
    const void *rec;
    size_t len;
    int rc = HUB_OK;
    for (size_t i = 0; i < x->ncps && !rc; i++) {
        if (s_in(&x->segments, x->cps[i][0])) {
            rc = hub_store_record(st, HUB_STORE_CHECKPOINT, x->cps[i][1], &rec, &len);
            rc = rc ? rc : s_line(out, "checkpoint", rec, len, json_object());
        }
    }
    rc = rc ? rc : s_disclosures(out, x);
    for (size_t s = 0; s < x->segments.n && !rc; s++) {
        for (uint64_t seq = x->segments.r[s][0]; seq <= x->segments.r[s][1] && !rc; seq++) {
            // As stored: the bytes the chain's hashes cover.
            rc = hub_store_record_raw(st, HUB_STORE_AUDIT, seq, &rec, &len);
            rc = rc ? rc
                    : s_line(out, "record", rec, len,
                             json_pack("{s:I, s:b}", "seq", (json_int_t) seq, "selected",
                                       s_in(&x->selected, seq)));
            x->written += !rc;
        }
    }
    return rc;
}

static int
s_export(s_export_t *x)
{
    hubctl_audit_t *a = x->a;
    uint8_t pk[32];
    if (!hubctl_audit_pub_key(&a->cfg, a->opts.pub_key, pk, NULL, false)) {
        fprintf(stderr, "hubctl: a bundle carries the hub's public key to check its checkpoints: "
                        "create the signing key with hubctl keygen --sign-key\n");
        return HUB_EIO;
    }
    s_ask_checkpoint(&a->cfg);
    int rc = s_checkpoints(x);
    rc = rc ? rc : s_select(x);
    // Recorded before the bundle is written: not recorded, not written.
    if (!rc && !hubctl_audit_record_access(a, "audit.export", s_count(&x->segments))) {
        return HUB_EIO;
    }
    FILE *out = rc ? NULL : hubctl_audit_out_open(&a->opts);
    if (!rc && !out) {
        return HUB_EIO;
    }
    rc = rc ? rc : s_header(out, x, pk);
    rc = rc ? rc : s_body(out, x);
    if (out && !hubctl_audit_out_close(&a->opts, out)) {
        rc = rc ? rc : HUB_EIO;
    }
    if (rc && rc != HUB_EIO) {
        fprintf(stderr, "hubctl: audit export failed: %s (%s)\n", hub_strerror(rc),
                hub_store_last_error(a->store));
    }
    return rc;
}

int
hubctl_audit_export(int argc, char **argv)
{
    static const char *const allowed[] = {"config", "subject", "since", "until",
                                          "output", "pub-key", NULL};
    if (hubctl_ops_help(argc, argv, s_help)) {
        return HUBCTL_OK;
    }
    hubctl_audit_t a;
    memset(&a, 0, sizeof a);
    if (!hubctl_audit_parse(argc, argv, allowed, &a.opts)) {
        return HUBCTL_USAGE;
    }
    if (!a.opts.output || strcmp(a.opts.output, "-") == 0) {
        return hubctl_usage_error("audit export needs -o FILE");
    }
    s_export_t x;
    memset(&x, 0, sizeof x);
    x.a = &a;
    int rc = hubctl_audit_open(&a, a.opts.subject != NULL) ? s_export(&x) : HUB_EIO;
    if (!rc) {
        printf("%s: %llu records (%llu selected) in %zu pieces of the chain\n", a.opts.output,
               (unsigned long long) x.written, (unsigned long long) s_count(&x.selected),
               x.segments.n);
        fflush(stdout);
    }
    free(x.selected.r);
    free(x.segments.r);
    free(x.cps);
    hubctl_audit_close(&a);
    return rc ? HUBCTL_INVALID : HUBCTL_OK;
}
