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
#include <stdio.h>
#include <string.h>

#define S_AUDIT_KEYS 16 // keys of an audit record, "hash" included
static const char s_head_key[] = "audit_head"; // meta key of the chain head
static const char s_subject_tag[] =
    "audit_subject:"; // keeps subject keys apart from mask pseudonyms

int
hub_store_subject_key(const hub_store_t *self, const char *cid, uint8_t out[HUB_STORE_HASH_SIZE])
{
    if (!self->has_key || !cid) {
        return HUB_EINVAL;
    }
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, self->key, HUB_STORE_HASH_SIZE);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *) s_subject_tag,
                                  sizeof s_subject_tag - 1);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *) cid, strlen(cid));
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(&st, sizeof st);
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

// The record without "hash" into SELF->rec (15 keys, sorted); *SPLIT gets
// the offset where "hash" belongs (after "fields").
static int
s_write_body(hub_store_t *self, const hub_store_ingest_t *in, const hub_store_disclosure_t *x,
             const uint8_t *subject, size_t *split)
{
    hub_mpw_t w;
    self->rec.len = 0;
    hub_mpw_init(&w, &self->rec);
    hub_mpw_map(&w, S_AUDIT_KEYS - 1);
    hub_mpw_cstr(&w, "endpoint");
    hub_mpw_cstr(&w, x->d->endpoint->id);
    hub_mpw_cstr(&w, "eseq");
    hub_mpw_uint(&w, x->eseq);
    hub_mpw_cstr(&w, "fields");
    hub_store_w_fields(&w, x);
    *split = self->rec.len;
    hub_mpw_cstr(&w, "legal_bases");
    hub_store_w_bases(&w, x->d);
    hub_mpw_cstr(&w, "message_id");
    hub_mpw_cstr(&w, x->id);
    hub_mpw_cstr(&w, "origin_id");
    hub_mpw_cstr(&w, in->id);
    hub_mpw_cstr(&w, "prev_hash");
    hub_mpw_bin(&w, self->head, HUB_STORE_HASH_SIZE);
    hub_mpw_cstr(&w, "purposes");
    hub_store_w_purposes(&w, x->d);
    hub_mpw_cstr(&w, "rules");
    hub_store_w_rules(&w, x->d);
    hub_mpw_cstr(&w, "ruleset");
    hub_mpw_cstr(&w, in->ruleset);
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
    // under a 16-pair header (15 pairs fit a one-byte fixmap header).
    hub_mpw_t w;
    self->aux.len = 0;
    hub_mpw_init(&w, &self->aux);
    hub_mpw_map(&w, S_AUDIT_KEYS);
    hub_mpw_raw(&w, self->rec.data + 1, split - 1);
    hub_mpw_cstr(&w, "hash");
    hub_mpw_bin(&w, hash, sizeof hash);
    hub_mpw_raw(&w, self->rec.data + split, self->rec.len - split);
    rc = hub_mpw_error(&w);
    uint8_t key[HUB_STORE_HASH_SIZE + 8];
    hub_store_be64(key, self->next_audit);
    rc = rc ? rc
            : hub_store_put(self, HUB_STORE_DB_AUDIT, key, 8, self->aux.data, self->aux.len,
                            MDB_APPEND);
    if (!rc && subject) {
        memcpy(key, subject, HUB_STORE_HASH_SIZE);
        hub_store_be64(key + HUB_STORE_HASH_SIZE, self->next_audit);
        rc = hub_store_put(self, HUB_STORE_DB_SUBJECT, key, sizeof key, "", 0, 0);
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
    MDB_txn *txn;
    MDB_cursor *c;
    int rc = hub_store_read_begin(self, &txn);
    if (rc) {
        return rc;
    }
    rc = hub_store_mdb_err(self, mdb_cursor_open(txn, self->dbi[HUB_STORE_DB_SUBJECT], &c),
                           "mdb_cursor_open audit_subject");
    if (rc) {
        hub_store_read_end(self);
        return rc;
    }
    uint8_t key[HUB_STORE_HASH_SIZE + 8];
    memcpy(key, subject, HUB_STORE_HASH_SIZE);
    hub_store_be64(key + HUB_STORE_HASH_SIZE, after + 1);
    MDB_val k = {sizeof key, key}, v;
    int mrc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    for (; mrc == 0 && *n < max; mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size != sizeof key || memcmp(k.mv_data, subject, HUB_STORE_HASH_SIZE) != 0) {
            break;
        }
        seqs[(*n)++] = hub_store_get_be64((const uint8_t *) k.mv_data + HUB_STORE_HASH_SIZE);
    }
    mdb_cursor_close(c);
    hub_store_read_end(self);
    if (mrc && mrc != MDB_NOTFOUND) {
        *n = 0;
        return hub_store_mdb_err(self, mrc, "mdb_cursor_get audit_subject");
    }
    return HUB_OK;
}

// ---------------------------------------------------------------- verifying

typedef struct {
    uint64_t seq; // the record's key
    const uint8_t *prev; // the chain's hash before it
    uint8_t hash[HUB_STORE_HASH_SIZE]; // its stored hash (out)
    const char *why; // what is wrong (out)
} s_check_t;

// Reads one key/value pair of an audit record: copies every pair but
// "hash" to OUT and checks "seq" and "prev_hash" on the way.
static int
s_check_pair(hub_mpr_t *r, hub_mpw_t *out, s_check_t *ck, bool *has_hash)
{
    const uint8_t *start = r->p;
    const char *k;
    size_t klen;
    if (hub_mpr_str(r, &k, &klen)) {
        ck->why = "a key is not a string";
        return HUB_EINVALID;
    }
    hub_mpr_t val = *r;
    const void *bin;
    size_t blen;
    uint64_t u;
    int rc = hub_mpr_skip(r);
    if (klen == 4 && memcmp(k, "hash", 4) == 0) {
        rc = rc ? rc : hub_mpr_bin(&val, &bin, &blen);
        *has_hash = !rc && blen == HUB_STORE_HASH_SIZE && !*has_hash;
        if (*has_hash) {
            memcpy(ck->hash, bin, HUB_STORE_HASH_SIZE);
        }
        ck->why = *has_hash ? NULL : "its hash is not 32 bytes (or given twice)";
        return *has_hash ? HUB_OK : HUB_EINVALID;
    }
    if (!rc && klen == 3 && memcmp(k, "seq", 3) == 0 && (hub_mpr_uint(&val, &u) || u != ck->seq)) {
        ck->why = "its seq is not its key";
        return HUB_EINVALID;
    }
    if (!rc && klen == 9 && memcmp(k, "prev_hash", 9) == 0 &&
        (hub_mpr_bin(&val, &bin, &blen) || blen != HUB_STORE_HASH_SIZE ||
         memcmp(bin, ck->prev, HUB_STORE_HASH_SIZE) != 0)) {
        ck->why = "its prev_hash is not the hash of the record before";
        return HUB_EINVALID;
    }
    ck->why = rc ? "it is not valid msgpack" : NULL;
    hub_mpw_raw(out, start, (size_t) (r->p - start));
    return rc ? HUB_EINVALID : HUB_OK;
}

// Checks one audit record against the chain; SELF->aux gets the record
// without "hash", the bytes its hash covers.
static int
s_check_record(hub_store_t *self, const MDB_val *v, s_check_t *ck)
{
    hub_mpr_t r;
    hub_mp_obj_t m;
    hub_mpr_init(&r, v->mv_data, v->mv_size);
    if (hub_mpr_next(&r, &m) || m.kind != HUB_MP_MAP || m.len == 0) {
        ck->why = "it is not a msgpack map";
        return HUB_EINVALID;
    }
    hub_mpw_t w;
    self->aux.len = 0;
    hub_mpw_init(&w, &self->aux);
    hub_mpw_map(&w, m.len - 1);
    bool has_hash = false;
    int rc = HUB_OK;
    for (uint32_t i = 0; i < m.len && !rc; i++) {
        rc = s_check_pair(&r, &w, ck, &has_hash);
    }
    if (!rc && (!has_hash || !hub_mpr_done(&r))) {
        ck->why = has_hash ? "bytes follow the record" : "it has no hash";
        rc = HUB_EINVALID;
    }
    if (!rc && hub_mpw_error(&w)) {
        return hub_mpw_error(&w);
    }
    uint8_t want[HUB_STORE_HASH_SIZE];
    if (!rc) {
        s_hash(ck->prev, self->aux.data, self->aux.len, want);
        if (sodium_memcmp(want, ck->hash, sizeof want) != 0) {
            ck->why = "its hash does not match its content";
            rc = HUB_EINVALID;
        }
    }
    return rc;
}

// Walks the chain in TXN; *LAST and LAST_HASH get its end.
static int
s_walk(hub_store_t *self, MDB_txn *txn, uint64_t *checked, uint64_t *bad, hub_diag_t *diag,
       uint8_t last_hash[HUB_STORE_HASH_SIZE])
{
    MDB_cursor *c;
    int rc = hub_store_mdb_err(self, mdb_cursor_open(txn, self->dbi[HUB_STORE_DB_AUDIT], &c),
                               "mdb_cursor_open audit");
    if (rc) {
        return rc;
    }
    s_check_t ck = {0, last_hash, {0}, NULL};
    MDB_val k, v;
    int mrc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
    for (; mrc == 0 && !rc; mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        uint64_t expect = *checked + 1;
        ck.seq = k.mv_size == 8 ? hub_store_get_be64(k.mv_data) : 0;
        ck.why = ck.seq != expect ? "a gap: the record before it is missing" : NULL;
        rc = ck.why ? HUB_EINVALID : s_check_record(self, &v, &ck);
        if (rc == HUB_EINVALID) {
            *bad = expect;
            hub_diag_add(diag, HUB_DIAG_ERROR, "audit_chain", NULL,
                         "audit record %llu is broken: %s", (unsigned long long) expect, ck.why);
        } else if (!rc) {
            memcpy(last_hash, ck.hash, HUB_STORE_HASH_SIZE);
            (*checked)++;
        }
    }
    mdb_cursor_close(c);
    if (!rc && mrc != MDB_NOTFOUND) {
        rc = hub_store_mdb_err(self, mrc, "mdb_cursor_get audit");
    }
    return rc;
}

int
hub_store_audit_verify(hub_store_t *self, uint64_t *checked, uint64_t *bad, hub_diag_t *diag)
{
    MDB_txn *txn;
    uint8_t last[HUB_STORE_HASH_SIZE] = {0}, head[HUB_STORE_HASH_SIZE];
    uint64_t head_seq;
    *checked = *bad = 0;
    int rc = hub_store_read_begin(self, &txn);
    if (rc) {
        return rc;
    }
    rc = s_walk(self, txn, checked, bad, diag, last);
    rc = rc ? rc : hub_store_audit_head(self, txn, &head_seq, head);
    hub_store_read_end(self);
    if (!rc && (head_seq != *checked || memcmp(head, last, sizeof last) != 0)) {
        hub_diag_add(diag, HUB_DIAG_ERROR, "audit_chain", NULL,
                     "the chain head names record %llu, but the chain ends at %llu%s",
                     (unsigned long long) head_seq, (unsigned long long) *checked,
                     head_seq == *checked ? " with another hash" : "");
        rc = HUB_EINVALID;
    }
    return rc;
}
