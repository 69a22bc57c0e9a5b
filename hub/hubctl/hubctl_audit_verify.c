// hubctl audit verify: recomputes the audit hash chain and checks every
// signed checkpoint, in the store (hub_store_audit_verify_signed()) or in
// an evidence bundle written by `hubctl audit export`, offline, without
// the store. It names the first record altered, removed or inserted.
#include "hubctl.h"
#include "hubctl_audit.h"
#include "hubctl_ops.h"

#include "hub_error.h"
#include "hub_mpr.h"

#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

static const char s_help[] =
    "usage: hubctl audit verify [--config DIR] [--pub-key FILE] [--format text|json]\n"
    "       hubctl audit verify --bundle FILE [--pub-key FILE] [--format text|json]\n"
    "\n"
    "Recomputes the audit hash chain from its first kept record (meta audit_base after\n"
    "retention) to its head, checks that each endpoint's deliveries are numbered without a\n"
    "gap, and checks every signed checkpoint with the hub's Ed25519 public key (hub.yaml's\n"
    "audit_sign_key + \".pub\", or --pub-key): its signature, and that the record it names\n"
    "is still there with the hash it signed, so a tail cut off (and a head rewritten) shows.\n"
    "With --bundle it checks an evidence bundle from `hubctl audit export` offline: each\n"
    "record's hash, the links between them, and that each piece of the chain ends at a\n"
    "checkpoint signed by the bundle's key (or --pub-key's, which must be the same).\n"
    "\n"
    "Prints \"ok: N records, M checkpoints, head SEQ/HASH\" and exits 0, or names the first\n"
    "record altered, removed or inserted and why, and exits 1.\n";

// ---------------------------------------------------------------- the store

static json_t *
s_store_json(const hub_store_verify_t *v, bool ok, bool pk, const hub_diag_t *diag)
{
    char hash[65];
    hubctl_audit_hex(v->head_hash, sizeof v->head_hash, hash);
    json_t *last = json_null();
    if (v->last_cp_audit_seq) {
        char t[64];
        hubctl_format_time(v->last_cp_time_ms, t, sizeof t);
        last = json_pack("{s:I, s:s, s:I}", "audit_seq", (json_int_t) v->last_cp_audit_seq, "time",
                         t, "time_ms", (json_int_t) v->last_cp_time_ms);
    }
    return json_pack("{s:b, s:I, s:I, s:{s:I, s:s}, s:I, s:b, s:o, s:o, s:o, s:o}", "ok", ok,
                     "first", (json_int_t) v->first, "records", (json_int_t) v->checked, "head",
                     "seq", (json_int_t) v->head_seq, "hash", hash, "checkpoints",
                     (json_int_t) v->checkpoints, "checkpoints_checked", pk, "last_checkpoint",
                     last, "bad", v->bad ? json_integer((json_int_t) v->bad) : json_null(),
                     "bad_checkpoint",
                     v->bad_checkpoint ? json_integer((json_int_t) v->bad_checkpoint) : json_null(),
                     "problems", hubctl_diag_json(diag));
}

static void
s_store_text(const hub_store_verify_t *v, bool ok, const char *pk_path, const hub_diag_t *diag)
{
    char hash[65], t[64];
    hubctl_audit_hex(v->head_hash, sizeof v->head_hash, hash);
    if (!ok) {
        for (size_t i = 0; i < hub_diag_count(diag); i++) {
            printf("broken: %s\n", hub_diag_at(diag, i)->text);
        }
        if (v->bad) {
            printf("first bad record: %llu\n", (unsigned long long) v->bad);
        }
        return;
    }
    printf("ok: %llu records, %llu checkpoints, head %llu/%s\n", (unsigned long long) v->checked,
           (unsigned long long) v->checkpoints, (unsigned long long) v->head_seq, hash);
    if (v->first > 1) {
        printf("the chain starts at record %llu (older records removed by retention)\n",
               (unsigned long long) v->first);
    }
    if (!pk_path) {
        printf("checkpoints not checked: no public key (hub.yaml audit_sign_key + .pub, or "
               "--pub-key)\n");
    } else if (v->last_cp_audit_seq) {
        hubctl_format_time(v->last_cp_time_ms, t, sizeof t);
        printf("last checkpoint: record %llu, signed %s; %llu records after it not signed yet\n",
               (unsigned long long) v->last_cp_audit_seq, t,
               (unsigned long long) (v->head_seq - v->last_cp_audit_seq));
    } else if (v->head_seq) {
        printf("no checkpoint yet: the %llu records are not signed\n",
               (unsigned long long) v->checked);
    }
}

static int
s_verify_store(hubctl_audit_t *a)
{
    if (!hubctl_audit_open(a, false)) {
        return HUBCTL_INVALID;
    }
    uint8_t pk[32];
    char *pk_path = NULL;
    bool have_pk =
        hubctl_audit_pub_key(&a->cfg, a->opts.pub_key, pk, &pk_path, a->opts.pub_key == NULL);
    if (a->opts.pub_key && !have_pk) {
        free(pk_path);
        return HUBCTL_INVALID;
    }
    hub_store_verify_t v;
    hub_diag_t *diag = hub_diag_new();
    int rc = hub_store_audit_verify_signed(a->store, have_pk ? pk : NULL, &v, diag);
    if (rc && rc != HUB_EINVALID) {
        fprintf(stderr, "hubctl: cannot read the audit: %s (%s)\n", hub_strerror(rc),
                hub_store_last_error(a->store));
    } else if (a->opts.format == HUBCTL_FMT_JSON) {
        hubctl_print_json(s_store_json(&v, rc == HUB_OK, have_pk, diag));
    } else {
        s_store_text(&v, rc == HUB_OK, have_pk ? pk_path : NULL, diag);
    }
    hub_diag_destroy(&diag);
    free(pk_path);
    return rc ? HUBCTL_INVALID : HUBCTL_OK;
}

// ---------------------------------------------------------------- a bundle

typedef struct {
    uint64_t audit_seq;
    uint8_t hash[HUB_STORE_HASH_SIZE];
    uint64_t seq;
} s_cp_t;

typedef struct {
    const char *path;
    long line; // the line being read
    uint8_t pk[32];
    uint64_t (*segs)[2]; // the pieces of the chain the bundle holds
    size_t nsegs;
    uint64_t head_seq;
    uint64_t base_seq; // audit_base's seq (1: none)
    uint8_t base_prev[HUB_STORE_HASH_SIZE];
    s_cp_t *cps;
    size_t ncps, cap;
    size_t seg;                        // the segment being read
    uint64_t next;                     // the record expected next (0: the segment's start)
    uint8_t prev[HUB_STORE_HASH_SIZE]; // the chain's hash so far
    size_t cp_at;                      // the next checkpoint to meet
    uint64_t records, selected, unsigned_tail;
    uint64_t bad;                          // the first bad record (0: none named)
    char why[400];                         // what is wrong ("" while nothing is)
    uint8_t (*discs)[HUB_STORE_HASH_SIZE]; // disclosure descriptors found sound
    size_t ndiscs, discs_cap;
} s_bundle_t;

static bool
s_bad(s_bundle_t *b, uint64_t bad, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static bool
s_bad(s_bundle_t *b, uint64_t bad, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(b->why, sizeof b->why, "%s:%ld: ", b->path, b->line);
    va_start(ap, fmt);
    vsnprintf(b->why + n, sizeof b->why - (size_t) n, fmt, ap);
    va_end(ap);
    b->bad = bad;
    return false;
}

// HEX (64 digits) into OUT (32 bytes).
static bool
s_hex32(const char *hex, uint8_t out[32])
{
    size_t n = 0;
    return hex && strlen(hex) == 64 && sodium_hex2bin(out, 32, hex, 64, NULL, &n, NULL) == 0 &&
           n == 32;
}

// The base64 string J's bytes into OUT.
static bool
s_raw(const json_t *j, hub_buf_t *out)
{
    const char *s = json_string_value(j);
    size_t n = s ? strlen(s) : 0, len = 0;
    out->len = 0;
    if (!s || hub_buf_reserve(out, n) != HUB_OK) {
        return false;
    }
    bool ok = sodium_base642bin(out->data, n, s, n, NULL, &len, NULL,
                                sodium_base64_VARIANT_ORIGINAL) == 0;
    out->len = ok ? len : 0;
    return ok;
}

static bool
s_header(s_bundle_t *b, json_t *h, const uint8_t *want_pk)
{
    json_t *segs = json_object_get(h, "segments"), *base = json_object_get(h, "audit_base");
    const char *format = json_string_value(json_object_get(h, "format"));
    if (!format || strcmp(format, "hub-audit-bundle") != 0 ||
        json_integer_value(json_object_get(h, "version")) != 1) {
        return s_bad(b, 0, "not a hub audit bundle (format hub-audit-bundle, version 1)");
    }
    if (!s_hex32(json_string_value(json_object_get(h, "public_key")), b->pk)) {
        return s_bad(b, 0, "the bundle has no public key (64 hex digits)");
    }
    if (want_pk && memcmp(want_pk, b->pk, 32) != 0) {
        return s_bad(b, 0, "the bundle's public key is not the one given with --pub-key");
    }
    b->head_seq = (uint64_t) json_integer_value(json_object_get(json_object_get(h, "head"), "seq"));
    b->base_seq = base && json_is_object(base)
                      ? (uint64_t) json_integer_value(json_object_get(base, "seq"))
                      : 1;
    if (b->base_seq > 1 &&
        !s_hex32(json_string_value(json_object_get(base, "prev_hash")), b->base_prev)) {
        return s_bad(b, 0, "audit_base has no prev_hash");
    }
    b->nsegs = json_array_size(segs);
    b->segs = calloc(b->nsegs + 1, sizeof *b->segs);
    for (size_t i = 0; b->segs && i < b->nsegs; i++) {
        json_t *s = json_array_get(segs, i);
        b->segs[i][0] = (uint64_t) json_integer_value(json_array_get(s, 0));
        b->segs[i][1] = (uint64_t) json_integer_value(json_array_get(s, 1));
        if (b->segs[i][0] == 0 || b->segs[i][1] < b->segs[i][0] ||
            (i && b->segs[i][0] <= b->segs[i - 1][1])) {
            return s_bad(b, 0, "segment %zu is not a range after the one before", i + 1);
        }
    }
    return b->segs ? true : s_bad(b, 0, "out of memory");
}

static bool
s_checkpoint(s_bundle_t *b, json_t *line, hub_buf_t *raw)
{
    hub_store_checkpoint_t cp;
    const char *why = "its raw bytes are not base64";
    if (!s_raw(json_object_get(line, "raw"), raw) ||
        hub_store_checkpoint_check(raw->data, raw->len, b->pk, &cp, &why)) {
        return s_bad(b, 0, "a checkpoint is broken: %s", why);
    }
    if (b->ncps && cp.audit_seq <= b->cps[b->ncps - 1].audit_seq) {
        return s_bad(b, 0, "checkpoint %llu is out of order", (unsigned long long) cp.seq);
    }
    if (b->ncps == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 64;
        s_cp_t *cps = realloc(b->cps, b->cap * sizeof *cps);
        if (!cps) {
            return s_bad(b, 0, "out of memory");
        }
        b->cps = cps;
    }
    s_cp_t *c = &b->cps[b->ncps++];
    c->audit_seq = cp.audit_seq;
    c->seq = cp.seq;
    memcpy(c->hash, cp.hash, sizeof c->hash);
    return true;
}

// The chain reached record SEQ with hash HASH: the checkpoints naming it
// must agree, and a segment must end at one (or at the export's head).
static bool
s_reached(s_bundle_t *b, uint64_t seq, const uint8_t hash[32])
{
    bool signed_here = false;
    while (b->cp_at < b->ncps && b->cps[b->cp_at].audit_seq <= seq) {
        const s_cp_t *c = &b->cps[b->cp_at++];
        if (c->audit_seq == seq && memcmp(c->hash, hash, 32) != 0) {
            return s_bad(b, b->segs[b->seg][0],
                         "record %llu is not the one checkpoint %llu signed: one of records "
                         "%llu..%llu was altered, removed or inserted",
                         (unsigned long long) seq, (unsigned long long) c->seq,
                         (unsigned long long) b->segs[b->seg][0], (unsigned long long) seq);
        }
        signed_here = signed_here || c->audit_seq == seq;
    }
    if (seq != b->segs[b->seg][1]) {
        return true;
    }
    if (!signed_here && seq != b->head_seq) {
        return s_bad(b, seq, "records %llu..%llu end at no signed checkpoint",
                     (unsigned long long) b->segs[b->seg][0], (unsigned long long) seq);
    }
    b->unsigned_tail += signed_here ? 0 : seq - b->segs[b->seg][0] + 1;
    b->seg++;
    b->next = 0;
    return true;
}

// Whether the raw bytes of LINE's KIND ("record", "disclosure", ...) say
// what its readable copy says: the copy is what people look at.
static bool
s_same_view(const hub_buf_t *raw, json_t *line, const char *kind)
{
    json_t *view = hubctl_mp_json(raw->data, raw->len);
    bool same = view && json_equal(view, json_object_get(line, kind));
    json_decref(view);
    return same;
}

// A disclosure descriptor: its raw bytes must hash to its key.
static bool
s_disclosure(s_bundle_t *b, json_t *line, hub_buf_t *raw)
{
    uint8_t key[HUB_STORE_HASH_SIZE], h[HUB_STORE_HASH_SIZE];
    if (!s_hex32(json_string_value(json_object_get(line, "key")), key) ||
        !s_raw(json_object_get(line, "raw"), raw)) {
        return s_bad(b, 0, "a disclosure without a key of 64 hex digits or base64 raw bytes");
    }
    crypto_generichash(h, sizeof h, raw->data, raw->len, NULL, 0);
    if (sodium_memcmp(h, key, sizeof h) != 0) {
        return s_bad(b, 0, "a disclosure descriptor was altered: its bytes do not hash to its key");
    }
    if (!s_same_view(raw, line, "disclosure")) {
        return s_bad(b, 0, "a disclosure's readable copy differs from its raw bytes");
    }
    if (b->ndiscs == b->discs_cap) {
        size_t cap = b->discs_cap ? 2 * b->discs_cap : 16;
        void *grown = realloc(b->discs, cap * sizeof *b->discs);
        if (!grown) {
            return s_bad(b, 0, "out of memory");
        }
        b->discs = grown;
        b->discs_cap = cap;
    }
    memcpy(b->discs[b->ndiscs++], key, sizeof key);
    return true;
}

// Record SEQ (RAW) names a descriptor the bundle holds, or none (format 2).
static bool
s_names_known(s_bundle_t *b, uint64_t seq, const hub_buf_t *raw)
{
    uint8_t key[HUB_STORE_HASH_SIZE];
    if (hub_mpr_get_bin(raw->data, raw->len, "disclosure", key, sizeof key) == HUB_ENOTFOUND) {
        return true;
    }
    for (size_t i = 0; i < b->ndiscs; i++) {
        if (memcmp(b->discs[i], key, sizeof key) == 0) {
            return true;
        }
    }
    return s_bad(b, seq, "record %llu names a disclosure descriptor the bundle does not hold",
                 (unsigned long long) seq);
}

static bool
s_record(s_bundle_t *b, json_t *line, hub_buf_t *raw)
{
    uint64_t seq = (uint64_t) json_integer_value(json_object_get(line, "seq"));
    uint64_t want = b->seg < b->nsegs ? (b->next ? b->next : b->segs[b->seg][0]) : 0;
    if (!want || seq < want) {
        return s_bad(b, seq,
                     "record %llu was inserted: the bundle's pieces of the chain "
                     "do not hold it there",
                     (unsigned long long) seq);
    }
    if (seq > want) {
        return s_bad(b, want, "record %llu is missing (a gap before record %llu)",
                     (unsigned long long) want, (unsigned long long) seq);
    }
    if (!s_raw(json_object_get(line, "raw"), raw)) {
        return s_bad(b, seq, "record %llu: its raw bytes are not base64", (unsigned long long) seq);
    }
    // The first record of a piece links to what came before it only when
    // that is known: the chain's start, or the base retention left.
    const uint8_t zeros[32] = {0};
    const uint8_t *prev = b->next              ? b->prev
                          : seq == 1           ? zeros
                          : seq == b->base_seq ? b->base_prev
                                               : NULL;
    const char *why = NULL;
    uint8_t hash[32];
    if (hub_store_audit_check(raw->data, raw->len, seq, prev, hash, &why)) {
        return s_bad(b, seq, "record %llu is broken: %s", (unsigned long long) seq, why);
    }
    // The readable copy must say what the raw bytes (which the hashes
    // cover) say.
    if (!s_same_view(raw, line, "record")) {
        return s_bad(b, seq, "record %llu: its readable copy differs from its raw bytes",
                     (unsigned long long) seq);
    }
    if (!s_names_known(b, seq, raw)) {
        return false;
    }
    memcpy(b->prev, hash, sizeof hash);
    b->next = seq + 1;
    b->records++;
    b->selected += json_is_true(json_object_get(line, "selected"));
    return s_reached(b, seq, hash);
}

static bool
s_line(s_bundle_t *b, const char *text, size_t len, const uint8_t *want_pk, hub_buf_t *raw)
{
    json_error_t err;
    json_t *j = json_loadb(text, len, 0, &err);
    bool ok;
    if (!j || !json_is_object(j)) {
        ok = s_bad(b, 0, "not a JSON object: %s", j ? "another value" : err.text);
    } else if (b->line == 1) {
        ok = s_header(b, j, want_pk);
    } else if (json_object_get(j, "checkpoint")) {
        ok = b->records == 0 ? s_checkpoint(b, j, raw)
                             : s_bad(b, 0, "a checkpoint after the records");
    } else if (json_object_get(j, "disclosure")) {
        ok = b->records == 0 ? s_disclosure(b, j, raw)
                             : s_bad(b, 0, "a disclosure after the records");
    } else {
        ok = s_record(b, j, raw);
    }
    json_decref(j);
    return ok;
}

static bool
s_read_bundle(s_bundle_t *b, const uint8_t *want_pk)
{
    FILE *f = fopen(b->path, "rb");
    if (!f) {
        return s_bad(b, 0, "cannot open: %s", strerror(errno));
    }
    char *text = NULL;
    size_t cap = 0;
    ssize_t n;
    hub_buf_t raw = HUB_BUF_INIT;
    bool ok = true;
    while (ok && (n = getline(&text, &cap, f)) > 0) {
        b->line++;
        ok = s_line(b, text, (size_t) n, want_pk, &raw);
    }
    ok = ok && (b->line > 0 || s_bad(b, 0, "the file is empty"));
    if (ok && b->seg < b->nsegs) {
        uint64_t from = b->next ? b->next : b->segs[b->seg][0];
        ok = s_bad(b, from, "records %llu..%llu are missing (the bundle ends early)",
                   (unsigned long long) from, (unsigned long long) b->segs[b->seg][1]);
    }
    free(text);
    hub_buf_free(&raw);
    fclose(f);
    return ok;
}

static int
s_verify_bundle(const hubctl_audit_opts_t *o)
{
    s_bundle_t b;
    memset(&b, 0, sizeof b);
    b.path = o->bundle;
    uint8_t want[32];
    if (o->pub_key && !hubctl_audit_pub_key(NULL, o->pub_key, want, NULL, false)) {
        return HUBCTL_INVALID;
    }
    bool ok = s_read_bundle(&b, o->pub_key ? want : NULL);
    char pk[65];
    hubctl_audit_hex(b.pk, sizeof b.pk, pk);
    if (o->format == HUBCTL_FMT_JSON) {
        hubctl_print_json(json_pack(
            "{s:b, s:s, s:I, s:I, s:I, s:I, s:I, s:s, s:o, s:s}", "ok", ok, "bundle", b.path,
            "records", (json_int_t) b.records, "selected", (json_int_t) b.selected, "segments",
            (json_int_t) b.nsegs, "checkpoints", (json_int_t) b.ncps, "unsigned",
            (json_int_t) b.unsigned_tail, "public_key", pk, "bad",
            ok || !b.bad ? json_null() : json_integer((json_int_t) b.bad), "error", b.why));
    } else if (ok) {
        printf("ok: %llu records (%llu selected) in %zu pieces of the chain, %zu checkpoints, "
               "signed by %s%s\n",
               (unsigned long long) b.records, (unsigned long long) b.selected, b.nsegs, b.ncps, pk,
               o->pub_key ? " (the key given)" : " (compare with the hub's audit_sign_key.pub)");
        if (b.unsigned_tail) {
            printf("warning: the last %llu records were exported before a checkpoint signed "
                   "them\n",
                   (unsigned long long) b.unsigned_tail);
        }
    } else {
        printf("broken: %s\n", b.why);
        if (b.bad) {
            printf("first bad record: %llu\n", (unsigned long long) b.bad);
        }
    }
    free(b.segs);
    free(b.cps);
    free(b.discs);
    return ok ? HUBCTL_OK : HUBCTL_INVALID;
}

int
hubctl_audit_verify(int argc, char **argv)
{
    static const char *const allowed[] = {"config", "bundle", "pub-key", "format", NULL};
    if (hubctl_ops_help(argc, argv, s_help)) {
        return HUBCTL_OK;
    }
    hubctl_audit_t a;
    memset(&a, 0, sizeof a);
    if (!hubctl_audit_parse(argc, argv, allowed, &a.opts)) {
        return HUBCTL_USAGE;
    }
    if (a.opts.format && a.opts.format != HUBCTL_FMT_TEXT && a.opts.format != HUBCTL_FMT_JSON) {
        return hubctl_usage_error("audit verify: --format takes text or json");
    }
    if (a.opts.bundle) {
        return s_verify_bundle(&a.opts);
    }
    int rc = s_verify_store(&a);
    hubctl_audit_close(&a);
    return rc;
}
