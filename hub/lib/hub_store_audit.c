// hub_store: the audit chain. One record per disclosure, each holding the
// hash of the one before, so removing or changing a record shows: the
// hash of record N is BLAKE2b-256(prev_hash || R), where R is record N's
// canonical msgpack without its "hash" key (docs/STORE.md, "The audit
// chain"). The subject index maps a keyed hash of the citizen ID to the
// records about that person, so auditors can search without raw IDs.
#include "hub_error.h"
#include "hub_mpr.h"
#include "hub_store.h"
#include "hub_store_int.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_AUDIT_KEYS 12                        // keys of an audit record, "hash" included
static const char s_head_key[] = "audit_head"; // meta key of the chain head
static const char s_subject_tag[] =
    "audit_subject:"; // keeps subject keys apart from mask pseudonyms

void
hub_store_keyed(const hub_store_t *self, const void *const *p, const size_t *len, size_t n,
                uint8_t out[HUB_STORE_HASH_SIZE])
{
    if (self->subject_b2) {
        // As strong, and a fifth of the time of HMAC-SHA256 in software
        // (it was a tenth of the ingest path).
        crypto_generichash_state st;
        crypto_generichash_init(&st, self->key, HUB_STORE_HASH_SIZE, HUB_STORE_HASH_SIZE);
        for (size_t i = 0; i < n; i++) {
            crypto_generichash_update(&st, p[i], len[i]);
        }
        crypto_generichash_final(&st, out, HUB_STORE_HASH_SIZE);
        sodium_memzero(&st, sizeof st);
        return;
    }
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, self->key, HUB_STORE_HASH_SIZE);
    for (size_t i = 0; i < n; i++) {
        crypto_auth_hmacsha256_update(&st, p[i], len[i]);
    }
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(&st, sizeof st);
}

int
hub_store_subject_key(const hub_store_t *self, const char *cid, uint8_t out[HUB_STORE_HASH_SIZE])
{
    if (!self->has_key || !cid) {
        return HUB_EINVAL;
    }
    const void *p[] = {s_subject_tag, cid};
    size_t len[] = {sizeof s_subject_tag - 1, strlen(cid)};
    hub_store_keyed(self, p, len, 2, out);
    return HUB_OK;
}

static void
s_hash(const uint8_t prev[HUB_STORE_HASH_SIZE], const uint8_t *rec, size_t len,
       uint8_t out[HUB_STORE_HASH_SIZE])
{
    // BLAKE2b, not SHA-256: libsodium's SHA-256 is portable C (no SHA-NI)
    // and hashing every audit record with it took a third of the ingest
    // time; BLAKE2b is as strong and several times faster in software.
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, HUB_STORE_HASH_SIZE);
    crypto_generichash_update(&st, prev, HUB_STORE_HASH_SIZE);
    crypto_generichash_update(&st, rec, len);
    crypto_generichash_final(&st, out, HUB_STORE_HASH_SIZE);
}

// ---------------------------------------------------------------- writing

// The record without "hash" into SELF->rec (11 keys, sorted); *SPLIT gets
// the offset where "hash" belongs (after "eseq").
static int
s_write_body(hub_store_t *self, const hub_store_ingest_t *in, const hub_store_disclosure_t *x,
             const uint8_t *subject, size_t *split)
{
    hub_mpw_t w;
    self->rec.len = 0;
    hub_mpw_init(&w, &self->rec);
    hub_mpw_map(&w, S_AUDIT_KEYS - 1);
    hub_mpw_cstr(&w, "disclosure");
    hub_mpw_bin(&w, x->disc, sizeof x->disc);
    hub_mpw_cstr(&w, "endpoint");
    hub_mpw_cstr(&w, x->endpoint);
    hub_mpw_cstr(&w, "eseq");
    hub_mpw_uint(&w, x->eseq);
    *split = self->rec.len;
    hub_mpw_cstr(&w, "message_id");
    hub_mpw_cstr(&w, x->id);
    hub_mpw_cstr(&w, "origin_id");
    hub_mpw_cstr(&w, in->id);
    hub_mpw_cstr(&w, "prev_hash");
    hub_mpw_bin(&w, self->head, HUB_STORE_HASH_SIZE);
    hub_mpw_cstr(&w, "seq");
    hub_mpw_uint(&w, self->next_audit);
    hub_mpw_cstr(&w, "source");
    hub_mpw_cstr(&w, in->source);
    hub_mpw_cstr(&w, "subject");
    if (subject) {
        hub_mpw_bin(&w, subject, HUB_STORE_HASH_SIZE);
    } else {
        hub_mpw_nil(&w);
    }
    hub_mpw_cstr(&w, "time_ms");
    hub_mpw_uint(&w, in->now_ms);
    hub_mpw_cstr(&w, "type");
    hub_mpw_cstr(&w, x->type);
    return hub_mpw_error(&w);
}

int
hub_store_audit_append(hub_store_t *self, const hub_store_ingest_t *in,
                       const hub_store_disclosure_t *x, const uint8_t *subject)
{
    size_t split;
    int rc = s_write_body(self, in, x, subject, &split);
    if (rc) {
        return rc;
    }
    uint8_t hash[HUB_STORE_HASH_SIZE];
    s_hash(self->head, self->rec.data, self->rec.len, hash);
    // The stored record: the same pairs with "hash" in its sorted place,
    // under a 12-pair header (both headers are one byte: a fixmap).
    hub_mpw_t w;
    self->aux.len = 0;
    hub_mpw_init(&w, &self->aux);
    hub_mpw_map(&w, S_AUDIT_KEYS);
    hub_mpw_raw(&w, self->rec.data + 1, split - 1);
    hub_mpw_cstr(&w, "hash");
    hub_mpw_bin(&w, hash, sizeof hash);
    hub_mpw_raw(&w, self->rec.data + split, self->rec.len - split);
    rc = hub_mpw_error(&w);
    uint8_t key[8];
    hub_store_be64(key, self->next_audit);
    rc = rc ? rc
            : hub_store_put(self, HUB_STORE_DB_AUDIT, key, 8, self->aux.data, self->aux.len,
                            MDB_APPEND);
    if (!rc && subject) {
        rc = hub_store_runs_note(self, subject, self->next_audit);
    }
    if (!rc) {
        memcpy(self->head, hash, sizeof hash);
        self->next_audit++;
        self->head_dirty = true;
    }
    return rc;
}

int
hub_store_audit_head(hub_store_t *self, MDB_txn *txn, uint64_t *seq,
                     uint8_t hash[HUB_STORE_HASH_SIZE])
{
    MDB_val v;
    *seq = 0;
    memset(hash, 0, HUB_STORE_HASH_SIZE);
    int rc = hub_store_get(self, txn, HUB_STORE_DB_META, s_head_key, sizeof s_head_key - 1, &v);
    if (rc == HUB_ENOTFOUND) {
        return HUB_OK; // no audit record yet: the chain starts from zeros
    }
    if (!rc && (hub_mpr_get_uint(v.mv_data, v.mv_size, "seq", seq) ||
                hub_mpr_get_bin(v.mv_data, v.mv_size, "hash", hash, HUB_STORE_HASH_SIZE))) {
        snprintf(self->err, sizeof self->err, "meta audit_head: a damaged record");
        rc = HUB_EIO;
    }
    return rc;
}

int
hub_store_audit_put_head(hub_store_t *self)
{
    hub_mpw_t w;
    self->rec.len = 0;
    hub_mpw_init(&w, &self->rec);
    hub_mpw_map(&w, 2);
    hub_mpw_cstr(&w, "hash");
    hub_mpw_bin(&w, self->head, HUB_STORE_HASH_SIZE);
    hub_mpw_cstr(&w, "seq");
    hub_mpw_uint(&w, self->next_audit - 1);
    int rc = hub_mpw_error(&w);
    return rc ? hub_store_fail(self, rc)
              : hub_store_put(self, HUB_STORE_DB_META, s_head_key, sizeof s_head_key - 1,
                              self->rec.data, self->rec.len, 0);
}

// ---------------------------------------------------------------- reading

// The entries of format 4's index (`audit_subject`: audit records from
// before the store's first run) above AFTER and below BOUND, into SEQS
// from *N on.
static int
s_old_index(hub_store_t *self, MDB_txn *txn, const uint8_t *subject, uint64_t after, uint64_t bound,
            uint64_t *seqs, size_t max, size_t *n)
{
    MDB_cursor *c;
    int rc = hub_store_mdb_err(self, mdb_cursor_open(txn, self->dbi[HUB_STORE_DB_SUBJECT], &c),
                               "mdb_cursor_open audit_subject");
    if (rc) {
        return rc;
    }
    uint8_t key[HUB_STORE_HASH_SIZE + 8];
    memcpy(key, subject, HUB_STORE_HASH_SIZE);
    hub_store_be64(key + HUB_STORE_HASH_SIZE, after + 1);
    MDB_val k = {sizeof key, key}, v;
    int mrc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    for (; mrc == 0 && *n < max; mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size != sizeof key || memcmp(k.mv_data, subject, HUB_STORE_HASH_SIZE) != 0 ||
            hub_store_get_be64((const uint8_t *) k.mv_data + HUB_STORE_HASH_SIZE) >= bound) {
            break;
        }
        seqs[(*n)++] = hub_store_get_be64((const uint8_t *) k.mv_data + HUB_STORE_HASH_SIZE);
    }
    mdb_cursor_close(c);
    return mrc && mrc != MDB_NOTFOUND ? hub_store_mdb_err(self, mrc, "mdb_cursor_get audit_subject")
                                      : HUB_OK;
}

int
hub_store_audit_by_subject(hub_store_t *self, const uint8_t subject[HUB_STORE_HASH_SIZE],
                           uint64_t after, uint64_t *seqs, size_t max, size_t *n)
{
    if (!subject || !n || (!seqs && max)) {
        return HUB_EINVAL;
    }
    *n = 0;
    if (max == 0 || after == UINT64_MAX) {
        return HUB_OK;
    }
    // Ascending: format 4's index covers the records before the first
    // run, the runs those up to "subject_indexed", `audit_tail` the rest. A
    // run may still name records retention removed: those below the base
    // are skipped.
    MDB_txn *txn;
    uint64_t base, bound, indexed = UINT64_MAX;
    uint8_t prev[HUB_STORE_HASH_SIZE];
    int rc = hub_store_read_begin(self, &txn);
    if (rc) {
        return rc;
    }
    rc = hub_store_audit_base_in(self, txn, &base, prev);
    rc = rc ? rc : hub_store_runs_bound(self, txn, &bound);
    rc = rc ? rc : s_old_index(self, txn, subject, after, bound, seqs, max, n);
    rc = rc ? rc : hub_store_runs_find(self, txn, subject, after, base, seqs, max, n, &indexed);
    if (!rc && *n < max && indexed != UINT64_MAX) {
        uint64_t from = after + 1 > indexed ? after + 1 : indexed;
        rc = hub_store_runs_tail(self, txn, subject, from > base ? from : base, seqs, max, n);
    }
    hub_store_read_end(self);
    if (rc) {
        *n = 0;
    }
    return rc;
}

// ---------------------------------------------------------------- checking

typedef struct {
    uint64_t seq;                      // the record's key
    const uint8_t *prev;               // the chain's hash before it
    uint8_t hash[HUB_STORE_HASH_SIZE]; // its stored hash (out)
    const char *endpoint;              // its endpoint, borrowed from the record (out)
    size_t endpoint_len;
    uint64_t eseq;                     // its endpoint sequence (out)
    const char *why;                   // what is wrong (out)
    bool has_disc;                     // it names a disclosure descriptor (out, format 3)
    uint8_t disc[HUB_STORE_HASH_SIZE]; // which (out)
} s_check_t;

// The canonical msgpack map header for N pairs into OUT; its length.
static size_t
s_map_header(uint8_t out[5], uint32_t n)
{
    if (n < 16) {
        out[0] = (uint8_t) (0x80 | n);
        return 1;
    }
    if (n < 65536) {
        out[0] = 0xde;
        out[1] = (uint8_t) (n >> 8);
        out[2] = (uint8_t) n;
        return 3;
    }
    out[0] = 0xdf;
    for (int i = 0; i < 4; i++) {
        out[1 + i] = (uint8_t) (n >> (24 - 8 * i));
    }
    return 5;
}

static bool
s_is(const char *k, size_t klen, const char *name)
{
    return klen == strlen(name) && memcmp(k, name, klen) == 0;
}

// The value of a pair the check looks at: "hash" is kept (and left out of
// the hashed bytes), "seq" and "prev_hash" compared, "endpoint" and "eseq"
// kept for the delivery-number check.
static int
s_check_value(const char *k, size_t klen, hub_mpr_t val, s_check_t *ck, bool *has_hash)
{
    const void *bin;
    size_t blen;
    uint64_t u;
    if (s_is(k, klen, "hash")) {
        bool ok = !hub_mpr_bin(&val, &bin, &blen) && blen == HUB_STORE_HASH_SIZE && !*has_hash;
        if (ok) {
            memcpy(ck->hash, bin, HUB_STORE_HASH_SIZE);
        }
        *has_hash = true;
        ck->why = ok ? NULL : "its hash is not 32 bytes (or given twice)";
    } else if (s_is(k, klen, "seq") && (hub_mpr_uint(&val, &u) || u != ck->seq)) {
        ck->why = "its seq is not its key";
    } else if (s_is(k, klen, "prev_hash") &&
               (hub_mpr_bin(&val, &bin, &blen) || blen != HUB_STORE_HASH_SIZE ||
                memcmp(bin, ck->prev, HUB_STORE_HASH_SIZE) != 0)) {
        ck->why = "its prev_hash is not the hash of the record before";
    } else if (s_is(k, klen, "endpoint") && hub_mpr_str(&val, &ck->endpoint, &ck->endpoint_len)) {
        ck->why = "its endpoint is not a string";
    } else if (s_is(k, klen, "eseq") && hub_mpr_uint(&val, &ck->eseq)) {
        ck->why = "its eseq is not a number";
    } else if (s_is(k, klen, "disclosure")) {
        ck->has_disc = !hub_mpr_bin(&val, &bin, &blen) && blen == HUB_STORE_HASH_SIZE;
        ck->why = ck->has_disc ? NULL : "its disclosure is not 32 bytes";
        memcpy(ck->disc, ck->has_disc ? bin : ck->disc, sizeof ck->disc);
    }
    return ck->why ? HUB_EINVALID : HUB_OK;
}

// Checks one audit record against the chain, hashing as it reads: PREV,
// the map header for one pair fewer, every pair but "hash" as stored.
static int
s_check_record(const void *data, size_t len, s_check_t *ck)
{
    hub_mpr_t r;
    hub_mp_obj_t m;
    hub_mpr_init(&r, data, len);
    if (hub_mpr_next(&r, &m) || m.kind != HUB_MP_MAP || m.len == 0) {
        ck->why = "it is not a msgpack map";
        return HUB_EINVALID;
    }
    crypto_generichash_state st;
    uint8_t hdr[5], want[HUB_STORE_HASH_SIZE];
    crypto_generichash_init(&st, NULL, 0, HUB_STORE_HASH_SIZE);
    crypto_generichash_update(&st, ck->prev, HUB_STORE_HASH_SIZE);
    crypto_generichash_update(&st, hdr, s_map_header(hdr, m.len - 1));
    bool has_hash = false;
    ck->endpoint = NULL;
    ck->why = NULL;
    for (uint32_t i = 0; i < m.len && !ck->why; i++) {
        const uint8_t *start = r.p;
        const char *k;
        size_t klen;
        if (hub_mpr_str(&r, &k, &klen)) {
            ck->why = "a key is not a string";
            break;
        }
        hub_mpr_t val = r;
        if (hub_mpr_skip(&r)) {
            ck->why = "it is not valid msgpack";
        } else if (!s_check_value(k, klen, val, ck, &has_hash) && !s_is(k, klen, "hash")) {
            crypto_generichash_update(&st, start, (size_t) (r.p - start));
        }
    }
    if (!ck->why && (!has_hash || !hub_mpr_done(&r))) {
        ck->why = has_hash ? "bytes follow the record" : "it has no hash";
    }
    crypto_generichash_final(&st, want, sizeof want);
    if (!ck->why && sodium_memcmp(want, ck->hash, sizeof want) != 0) {
        ck->why = "its hash does not match its content";
    }
    return ck->why ? HUB_EINVALID : HUB_OK;
}

int
hub_store_audit_check(const void *rec, size_t len, uint64_t seq, const uint8_t *prev,
                      uint8_t hash[HUB_STORE_HASH_SIZE], const char **why)
{
    uint8_t own[HUB_STORE_HASH_SIZE];
    s_check_t ck = {seq, prev, {0}, NULL, 0, 0, NULL, false, {0}};
    if (!rec || !hash) {
        return HUB_EINVAL;
    }
    if (!prev && hub_mpr_get_bin(rec, len, "prev_hash", own, sizeof own)) {
        ck.why = "it has no prev_hash of 32 bytes";
    }
    ck.prev = prev ? prev : own;
    int rc = ck.why ? HUB_EINVALID : s_check_record(rec, len, &ck);
    if (!rc) {
        memcpy(hash, ck.hash, HUB_STORE_HASH_SIZE);
    }
    if (why) {
        *why = ck.why;
    }
    return rc;
}

// ------------------------------------------------------------ delivery numbers

// Each endpoint's last delivery number seen in the walk: an open-addressing
// table by name (a hub has some hundred endpoints).
typedef struct {
    char name[128];
    uint64_t eseq; // 0: a free slot
} s_ep_t;

typedef struct {
    s_ep_t *slots;
    size_t cap, n;
} s_eps_t;

static s_ep_t *
s_eps_slot(s_ep_t *slots, size_t cap, const char *name, size_t len)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) {
        h = (h ^ (uint8_t) name[i]) * 1099511628211ULL;
    }
    for (size_t i = h & (cap - 1);; i = (i + 1) & (cap - 1)) {
        if (!slots[i].eseq || (strlen(slots[i].name) == len && !memcmp(slots[i].name, name, len))) {
            return &slots[i];
        }
    }
}

static int
s_eps_grow(s_eps_t *t)
{
    size_t cap = t->cap ? t->cap * 2 : 64;
    s_ep_t *slots = calloc(cap, sizeof *slots);
    if (!slots) {
        return HUB_ENOMEM;
    }
    for (size_t i = 0; i < t->cap; i++) {
        if (t->slots[i].eseq) {
            *s_eps_slot(slots, cap, t->slots[i].name, strlen(t->slots[i].name)) = t->slots[i];
        }
    }
    free(t->slots);
    t->slots = slots;
    t->cap = cap;
    return HUB_OK;
}

// Records delivery ESEQ of endpoint NAME; *LAST gets the one seen before
// (0: none). A name too long for an endpoint is refused (*LAST = ESEQ).
static int
s_eps_step(s_eps_t *t, const char *name, size_t len, uint64_t eseq, uint64_t *last)
{
    *last = eseq;
    if (len == 0 || len >= sizeof t->slots[0].name || eseq == 0) {
        return HUB_OK;
    }
    if ((t->n + 1) * 2 > t->cap && s_eps_grow(t)) {
        return HUB_ENOMEM;
    }
    s_ep_t *e = s_eps_slot(t->slots, t->cap, name, len);
    *last = e->eseq;
    if (!e->eseq) {
        memcpy(e->name, name, len);
        e->name[len] = '\0';
        t->n++;
    }
    e->eseq = eseq;
    return HUB_OK;
}

// ---------------------------------------------------------------- verifying

typedef struct {
    hub_store_t *self;
    MDB_txn *txn;
    const uint8_t *pk;                      // NULL: checkpoints are not looked at
    MDB_cursor *cpc;                        // over the checkpoints (with PK)
    hub_store_checkpoint_t cp;              // the next checkpoint to find in the chain
    bool cp_valid;                          // CP holds one
    uint64_t cp_good;                       // the record after which nothing signed was checked
    uint8_t prev[HUB_STORE_HASH_SIZE];      // the chain's hash so far
    uint8_t discs[16][HUB_STORE_HASH_SIZE]; // descriptors found sound (a ring)
    size_t ndiscs;
    s_eps_t eps;
    hub_store_verify_t *out;
    hub_diag_t *diag;
} s_walk_t;

// Marks the chain broken at record BAD (0: none named) with a reason.
static int
s_broken(s_walk_t *w, uint64_t bad, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
s_broken(s_walk_t *w, uint64_t bad, const char *reason, const char *fmt, ...)
{
    char text[HUB_DIAG_TEXT_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    w->out->bad = bad;
    hub_diag_add(w->diag, HUB_DIAG_ERROR, reason, NULL, "%s", text);
    return HUB_EINVALID;
}

// Reads the next checkpoint (signature checked) into W->cp.
static int
s_cp_next(s_walk_t *w)
{
    MDB_val k, v;
    uint64_t want = w->cp_valid ? w->cp.seq + 1 : 1, after = w->cp_valid ? w->cp.audit_seq : 0;
    int mrc = mdb_cursor_get(w->cpc, &k, &v, w->cp_valid ? MDB_NEXT : MDB_FIRST);
    w->cp_valid = false;
    if (mrc) {
        return mrc == MDB_NOTFOUND ? HUB_OK : hub_store_mdb_err(w->self, mrc, "checkpoint");
    }
    const char *why;
    uint64_t key = k.mv_size == 8 ? hub_store_get_be64(k.mv_data) : 0;
    w->out->bad_checkpoint = key == want ? key : want;
    if (key != want) {
        return s_broken(w, 0, "audit_checkpoint", "checkpoint %llu is missing",
                        (unsigned long long) want);
    }
    if (hub_store_checkpoint_check(v.mv_data, v.mv_size, w->pk, &w->cp, &why)) {
        return s_broken(w, 0, "audit_checkpoint", "checkpoint %llu is broken: %s",
                        (unsigned long long) key, why);
    }
    if (w->cp.seq != key || w->cp.audit_seq <= after) {
        return s_broken(w, 0, "audit_checkpoint", "checkpoint %llu is broken: %s",
                        (unsigned long long) key,
                        w->cp.seq != key ? "its seq is not its key"
                                         : "it names a record no later than the one before");
    }
    w->out->bad_checkpoint = 0;
    w->out->checkpoints++;
    w->out->last_cp_audit_seq = w->cp.audit_seq;
    w->out->last_cp_time_ms = w->cp.time_ms;
    w->cp_valid = true;
    return HUB_OK;
}

// Finds the checkpoints naming record SEQ (hash HASH) and checks them.
static int
s_cp_at(s_walk_t *w, uint64_t seq, const uint8_t hash[HUB_STORE_HASH_SIZE])
{
    int rc = HUB_OK;
    while (!rc && w->pk && w->cp_valid && w->cp.audit_seq <= seq) {
        if (w->cp.audit_seq == seq && memcmp(w->cp.hash, hash, HUB_STORE_HASH_SIZE) != 0) {
            w->out->bad_checkpoint = w->cp.seq;
            return s_broken(w, w->cp_good + 1, "audit_checkpoint",
                            "audit record %llu is not the one checkpoint %llu signed: one of "
                            "records %llu..%llu was altered, removed or inserted",
                            (unsigned long long) seq, (unsigned long long) w->cp.seq,
                            (unsigned long long) w->cp_good + 1, (unsigned long long) seq);
        }
        if (w->cp.audit_seq == seq) {
            w->cp_good = seq;
        } // else: before the base, where only its signature can be checked
        rc = s_cp_next(w);
    }
    return rc;
}

// One record (key K, value V) of the walk.
// Whether the descriptor KEY is stored and hashes to KEY (each one is
// hashed once, not once per record naming it). HUB_EINVALID with *WHY.
static int
s_disc_sound(s_walk_t *w, const uint8_t key[HUB_STORE_HASH_SIZE], const char **why)
{
    size_t n = w->ndiscs < 16 ? w->ndiscs : 16;
    for (size_t i = 0; i < n; i++) {
        if (memcmp(w->discs[i], key, HUB_STORE_HASH_SIZE) == 0) {
            return HUB_OK;
        }
    }
    int rc = hub_store_disc_check(w->self, w->txn, key, why);
    if (!rc) {
        memcpy(w->discs[w->ndiscs++ % 16], key, HUB_STORE_HASH_SIZE);
    }
    return rc;
}

static int
s_step(s_walk_t *w, const MDB_val *k, const MDB_val *v)
{
    uint64_t expect = w->out->first + w->out->checked, last;
    s_check_t ck = {k->mv_size == 8 ? hub_store_get_be64(k->mv_data) : 0,
                    w->prev,
                    {0},
                    NULL,
                    0,
                    0,
                    NULL,
                    false,
                    {0}};
    if (ck.seq != expect) {
        return s_broken(w, expect, "audit_chain", "audit record %llu is broken: %s",
                        (unsigned long long) expect,
                        ck.seq > expect ? "a gap: the record before it is missing"
                                        : "a key that is not a sequence number");
    }
    if (s_check_record(v->mv_data, v->mv_size, &ck)) {
        return s_broken(w, expect, "audit_chain", "audit record %llu is broken: %s",
                        (unsigned long long) expect, ck.why);
    }
    if (s_eps_step(&w->eps, ck.endpoint, ck.endpoint ? ck.endpoint_len : 0, ck.eseq, &last)) {
        return HUB_ENOMEM;
    }
    // Deliveries to one endpoint are numbered 1, 2, 3 ... in audit order.
    bool from_start = w->out->first == 1;
    if ((last || from_start) && ck.eseq != last + 1) {
        return s_broken(
            w, expect, "audit_chain",
            "audit record %llu is broken: it is delivery %llu to %.*s, after %llu: %s",
            (unsigned long long) expect, (unsigned long long) ck.eseq, (int) ck.endpoint_len,
            ck.endpoint ? ck.endpoint : "", (unsigned long long) last,
            ck.eseq > last ? "records before it were removed" : "it was inserted (or moved)");
    }
    if (ck.has_disc && s_disc_sound(w, ck.disc, &ck.why)) {
        return ck.why ? s_broken(w, expect, "audit_chain", "audit record %llu is broken: %s",
                                 (unsigned long long) expect, ck.why)
                      : HUB_EIO;
    }
    memcpy(w->prev, ck.hash, sizeof ck.hash);
    w->out->checked++;
    return s_cp_at(w, expect, ck.hash);
}

static int
s_walk(s_walk_t *w)
{
    MDB_cursor *c;
    int rc =
        hub_store_mdb_err(w->self, mdb_cursor_open(w->txn, w->self->dbi[HUB_STORE_DB_AUDIT], &c),
                          "mdb_cursor_open audit");
    if (rc) {
        return rc;
    }
    uint8_t key[8];
    hub_store_be64(key, w->out->first);
    MDB_val k = {sizeof key, key}, v;
    int mrc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    for (; mrc == 0 && !rc; mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        rc = s_step(w, &k, &v);
    }
    mdb_cursor_close(c);
    if (!rc && mrc != MDB_NOTFOUND) {
        rc = hub_store_mdb_err(w->self, mrc, "mdb_cursor_get audit");
    }
    return rc;
}

// The head must name the last record found, with its hash.
static int
s_head(s_walk_t *w)
{
    const hub_store_verify_t *o = w->out;
    uint64_t end = o->first + o->checked - 1, h = o->head_seq;
    if (h == end && memcmp(o->head_hash, w->prev, HUB_STORE_HASH_SIZE) == 0) {
        return HUB_OK;
    }
    if (h > end) {
        return s_broken(w, end + 1, "audit_chain",
                        "the chain head names record %llu, but the chain ends at %llu: records "
                        "%llu..%llu were removed",
                        (unsigned long long) h, (unsigned long long) end,
                        (unsigned long long) end + 1, (unsigned long long) h);
    }
    if (h < end) {
        return s_broken(w, h + 1, "audit_chain",
                        "the chain head names record %llu, but the chain goes on to %llu: "
                        "records %llu..%llu were added after it",
                        (unsigned long long) h, (unsigned long long) end,
                        (unsigned long long) h + 1, (unsigned long long) end);
    }
    return s_broken(w, end, "audit_chain",
                    "the chain head names record %llu with another hash: record %llu was replaced",
                    (unsigned long long) h, (unsigned long long) end);
}

// MS (since the epoch) as UTC ISO 8601 into BUF.
static void
s_utc(uint64_t ms, char buf[32])
{
    time_t t = (time_t) (ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        snprintf(buf, 32, "%llu ms", (unsigned long long) ms);
    }
}

// A checkpoint left over names a record past the chain's end: the tail
// was cut off, and the head rewritten to hide it.
static int
s_cp_tail(s_walk_t *w)
{
    uint64_t end = w->out->first + w->out->checked - 1;
    char when[32];
    if (!w->cp_valid) {
        return HUB_OK;
    }
    s_utc(w->cp.time_ms, when);
    w->out->bad_checkpoint = w->cp.seq;
    return s_broken(w, end + 1, "audit_checkpoint",
                    "checkpoint %llu (signed %s) names audit record %llu, but the chain "
                    "ends at %llu: records %llu..%llu at least were removed (the tail was cut off)",
                    (unsigned long long) w->cp.seq, when, (unsigned long long) w->cp.audit_seq,
                    (unsigned long long) end, (unsigned long long) end + 1,
                    (unsigned long long) w->cp.audit_seq);
}

// No endpoint wrote deliveries past its last audited one (every delivery
// is audited in the same transaction).
static int
s_ep_tails(s_walk_t *w)
{
    uint64_t end = w->out->first + w->out->checked - 1;
    for (size_t i = 0; i < w->eps.cap; i++) {
        const s_ep_t *e = &w->eps.slots[i];
        MDB_val v;
        uint64_t next = 0;
        if (!e->eseq) {
            continue;
        }
        int rc =
            hub_store_get(w->self, w->txn, HUB_STORE_DB_ENDPOINT, e->name, strlen(e->name), &v);
        if (rc == HUB_ENOTFOUND ||
            (!rc && hub_mpr_get_uint(v.mv_data, v.mv_size, "next_eseq", &next) == HUB_OK &&
             next - 1 > e->eseq)) {
            return s_broken(w, end + 1, "audit_chain",
                            "endpoint %s received deliveries up to %llu, but its last audit record "
                            "is delivery %llu: records after %llu were removed",
                            e->name, (unsigned long long) (next ? next - 1 : 0),
                            (unsigned long long) e->eseq, (unsigned long long) end);
        }
        if (rc) {
            return rc;
        }
    }
    return HUB_OK;
}

static int
s_verify(s_walk_t *w)
{
    hub_store_verify_t *out = w->out;
    int rc = hub_store_audit_base_in(w->self, w->txn, &out->first, w->prev);
    rc = rc ? rc : hub_store_audit_head(w->self, w->txn, &out->head_seq, out->head_hash);
    w->cp_good = out->first - 1;
    if (!rc && w->pk) {
        rc = hub_store_mdb_err(
            w->self, mdb_cursor_open(w->txn, w->self->dbi[HUB_STORE_DB_CHECKPOINT], &w->cpc),
            "mdb_cursor_open checkpoint");
        w->cpc = rc ? NULL : w->cpc;
        rc = rc ? rc : s_cp_next(w);
        // Checkpoints of records retention removed: the one naming the
        // record just before the base must agree with the base.
        rc = rc || out->first == 1 ? rc : s_cp_at(w, out->first - 1, w->prev);
    }
    rc = rc ? rc : s_walk(w);
    rc = rc ? rc : s_head(w);
    rc = rc ? rc : s_cp_tail(w);
    return rc ? rc : s_ep_tails(w);
}

int
hub_store_audit_verify_signed(hub_store_t *self, const uint8_t pk[32], hub_store_verify_t *out,
                              hub_diag_t *diag)
{
    if (!out) {
        return HUB_EINVAL;
    }
    memset(out, 0, sizeof *out);
    s_walk_t w;
    memset(&w, 0, sizeof w);
    w.self = self;
    w.pk = pk;
    w.out = out;
    w.diag = diag;
    int rc = hub_store_read_begin(self, &w.txn);
    if (rc) {
        return rc;
    }
    rc = s_verify(&w);
    if (w.cpc) {
        mdb_cursor_close(w.cpc);
    }
    free(w.eps.slots);
    hub_store_read_end(self);
    return rc;
}

int
hub_store_audit_verify(hub_store_t *self, uint64_t *checked, uint64_t *bad, hub_diag_t *diag)
{
    hub_store_verify_t out;
    int rc = hub_store_audit_verify_signed(self, NULL, &out, diag);
    *checked = out.checked;
    *bad = out.bad;
    return rc;
}
