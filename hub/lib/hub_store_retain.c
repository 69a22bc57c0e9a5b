// hub_store: retention and signed checkpoints (hub_store.h, "retention
// and checkpoints"; the records are in docs/STORE.md). A checkpoint signs
// the audit chain's head with the hub's Ed25519 key, so a chain whose tail
// was cut off and whose head was rewritten no longer reaches a seq and hash
// the hub once signed. Retention empties old message bodies, drops the
// acknowledged deliveries of those messages, and removes audit records past
// their own (longer) time, leaving meta "audit_base" so the chain is still
// verified from the first record kept.
#include "hub_error.h"
#include "hub_mpr.h"
#include "hub_store.h"
#include "hub_store_int.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define S_CP_TAG "hub-audit-checkpoint" // the signed message's first bytes (with a NUL)
#define S_CP_MSG (sizeof S_CP_TAG + 8 + HUB_STORE_HASH_SIZE + 8)
#define S_EP_MAX 128 // room for one endpoint's name

static const char s_base_key[] = "audit_base";   // meta: {prev_hash, seq} of the first kept record
static const char s_purged_key[] = "purged_log"; // meta: the last log seq whose body is purged

// ------------------------------------------------------------- checkpoints

// "hub-audit-checkpoint\0" || be64 audit_seq || hash || be64 time_ms.
static void
s_cp_message(uint8_t out[S_CP_MSG], uint64_t audit_seq, const uint8_t hash[HUB_STORE_HASH_SIZE],
             uint64_t time_ms)
{
    memcpy(out, S_CP_TAG, sizeof S_CP_TAG);
    hub_store_be64(out + sizeof S_CP_TAG, audit_seq);
    memcpy(out + sizeof S_CP_TAG + 8, hash, HUB_STORE_HASH_SIZE);
    hub_store_be64(out + sizeof S_CP_TAG + 8 + HUB_STORE_HASH_SIZE, time_ms);
}

int
hub_store_checkpoint_check(const void *rec, size_t len, const uint8_t pk[32],
                           hub_store_checkpoint_t *out, const char **why)
{
    uint8_t sig[crypto_sign_BYTES], msg[S_CP_MSG];
    const char *dummy;
    why = why ? why : &dummy;
    *why = NULL;
    if (!rec || !out) {
        return HUB_EINVAL;
    }
    if (hub_mpr_get_uint(rec, len, "seq", &out->seq) ||
        hub_mpr_get_uint(rec, len, "audit_seq", &out->audit_seq) ||
        hub_mpr_get_uint(rec, len, "time_ms", &out->time_ms) ||
        hub_mpr_get_bin(rec, len, "hash", out->hash, HUB_STORE_HASH_SIZE) ||
        hub_mpr_get_bin(rec, len, "sig", sig, sizeof sig)) {
        *why = "it is not a checkpoint record (seq, audit_seq, time_ms, hash, sig)";
        return HUB_EINVALID;
    }
    if (pk) {
        s_cp_message(msg, out->audit_seq, out->hash, out->time_ms);
        if (crypto_sign_verify_detached(sig, msg, sizeof msg, pk) != 0) {
            *why = "its signature does not verify with the hub's public key";
            return HUB_EINVALID;
        }
    }
    return HUB_OK;
}

// The audit seq checkpoint SEQ names (0 when SEQ is 0), in the batch.
static int
s_cp_named(hub_store_t *self, uint64_t seq, uint64_t *audit_seq)
{
    uint8_t key[8];
    MDB_val v;
    *audit_seq = 0;
    if (seq == 0) {
        return HUB_OK;
    }
    hub_store_be64(key, seq);
    int rc = hub_store_get(self, self->txn, HUB_STORE_DB_CHECKPOINT, key, sizeof key, &v);
    if (!rc && hub_mpr_get_uint(v.mv_data, v.mv_size, "audit_seq", audit_seq)) {
        snprintf(self->err, sizeof self->err, "checkpoint %llu: a damaged record",
                 (unsigned long long) seq);
        rc = HUB_EIO;
    }
    return rc == HUB_ENOTFOUND ? HUB_EIO : rc;
}

static int
s_cp_put(hub_store_t *self, const uint8_t sk[64], uint64_t seq, uint64_t audit_seq,
         uint64_t time_ms)
{
    uint8_t msg[S_CP_MSG], sig[crypto_sign_BYTES], key[8];
    s_cp_message(msg, audit_seq, self->head, time_ms);
    crypto_sign_detached(sig, NULL, msg, sizeof msg, sk);
    hub_mpw_t w;
    self->rec.len = 0;
    hub_mpw_init(&w, &self->rec);
    hub_mpw_map(&w, 5);
    hub_mpw_cstr(&w, "audit_seq");
    hub_mpw_uint(&w, audit_seq);
    hub_mpw_cstr(&w, "hash");
    hub_mpw_bin(&w, self->head, HUB_STORE_HASH_SIZE);
    hub_mpw_cstr(&w, "seq");
    hub_mpw_uint(&w, seq);
    hub_mpw_cstr(&w, "sig");
    hub_mpw_bin(&w, sig, sizeof sig);
    hub_mpw_cstr(&w, "time_ms");
    hub_mpw_uint(&w, time_ms);
    int rc = hub_mpw_error(&w);
    hub_store_be64(key, seq);
    return rc ? hub_store_fail(self, rc)
              : hub_store_put(self, HUB_STORE_DB_CHECKPOINT, key, sizeof key, self->rec.data,
                              self->rec.len, MDB_APPEND);
}

int
hub_store_checkpoint(hub_store_t *self, const uint8_t sk[64], uint64_t time_ms)
{
    if (!sk) {
        return HUB_EINVAL;
    }
    bool own;
    int rc = hub_store_write_begin(self, &own);
    if (rc) {
        return rc;
    }
    // In a batch the head is the batch's own (its records commit with the
    // checkpoint or not at all); in a write of our own, the committed one.
    uint64_t head = self->next_audit - 1, last = 0, named = 0;
    rc = hub_store_last_in(self, self->txn, HUB_STORE_DB_CHECKPOINT, &last);
    rc = rc ? rc : s_cp_named(self, last, &named);
    if (!rc && head > 0 && head != named) {
        rc = s_cp_put(self, sk, last + 1, head, time_ms);
    }
    return hub_store_write_end(self, own, rc);
}

// ---------------------------------------------------------------- the base

static int
s_base_read(hub_store_t *self, MDB_txn *txn, uint64_t *seq, uint8_t prev[HUB_STORE_HASH_SIZE])
{
    MDB_val v;
    *seq = 1;
    memset(prev, 0, HUB_STORE_HASH_SIZE);
    int rc = hub_store_get(self, txn, HUB_STORE_DB_META, s_base_key, sizeof s_base_key - 1, &v);
    if (rc == HUB_ENOTFOUND) {
        return HUB_OK; // nothing was ever removed: the chain starts at 1 from zeros
    }
    if (!rc && (hub_mpr_get_uint(v.mv_data, v.mv_size, "seq", seq) ||
                hub_mpr_get_bin(v.mv_data, v.mv_size, "prev_hash", prev, HUB_STORE_HASH_SIZE) ||
                *seq == 0)) {
        snprintf(self->err, sizeof self->err, "meta %s: a damaged record", s_base_key);
        rc = HUB_EIO;
    }
    return rc;
}

int
hub_store_audit_base_in(hub_store_t *self, MDB_txn *txn, uint64_t *seq,
                        uint8_t prev[HUB_STORE_HASH_SIZE])
{
    return s_base_read(self, txn, seq, prev);
}

int
hub_store_audit_base(hub_store_t *self, uint64_t *seq, uint8_t prev_hash[HUB_STORE_HASH_SIZE])
{
    if (!seq || !prev_hash) {
        return HUB_EINVAL;
    }
    MDB_txn *txn;
    int rc = hub_store_read_begin(self, &txn);
    rc = rc ? rc : s_base_read(self, txn, seq, prev_hash);
    hub_store_read_end(self);
    return rc;
}

// --------------------------------------------------------------- retention

// A msgpack uint in meta NAME (0 when absent), in the batch.
static int
s_meta_uint(hub_store_t *self, const char *name, uint64_t *out)
{
    MDB_val v;
    *out = 0;
    int rc = hub_store_get(self, self->txn, HUB_STORE_DB_META, name, strlen(name), &v);
    if (rc == HUB_ENOTFOUND) {
        return HUB_OK;
    }
    hub_mpr_t r;
    hub_mpr_init(&r, v.mv_data, v.mv_size);
    if (!rc && hub_mpr_uint(&r, out)) {
        snprintf(self->err, sizeof self->err, "meta %s: not a number", name);
        rc = HUB_EIO;
    }
    return rc;
}

static int
s_meta_put_uint(hub_store_t *self, const char *name, uint64_t value)
{
    hub_mpw_t w;
    self->rec.len = 0;
    hub_mpw_init(&w, &self->rec);
    hub_mpw_uint(&w, value);
    int rc = hub_mpw_error(&w);
    return rc ? hub_store_fail(self, rc)
              : hub_store_put(self, HUB_STORE_DB_META, name, strlen(name), self->rec.data,
                              self->rec.len, 0);
}

// Log record V with its "msg" made nil and "purged_ms" NOW added, into
// SELF->rec. *SKIP when it has no body left to purge.
static int
s_purged_log_record(hub_store_t *self, const MDB_val *v, uint64_t now_ms, bool *skip)
{
    hub_mpr_t r;
    hub_mp_obj_t m;
    hub_mpr_init(&r, v->mv_data, v->mv_size);
    *skip = true;
    if (hub_mpr_next(&r, &m) || m.kind != HUB_MP_MAP) {
        return HUB_EIO;
    }
    hub_mpw_t w;
    self->rec.len = 0;
    hub_mpw_init(&w, &self->rec);
    hub_mpw_map(&w, m.len + 1);
    for (uint32_t i = 0; i < m.len; i++) {
        const uint8_t *start = r.p;
        const char *k;
        size_t klen;
        if (hub_mpr_str(&r, &k, &klen) || hub_mpr_skip(&r)) {
            return HUB_EIO;
        }
        if (klen == 9 && memcmp(k, "purged_ms", 9) == 0) {
            return HUB_OK; // purged already
        }
        if (klen == 3 && memcmp(k, "msg", 3) == 0) {
            // "purged_ms" sorts right after "msg": the record stays canonical.
            hub_mpw_cstr(&w, "msg");
            hub_mpw_nil(&w);
            hub_mpw_cstr(&w, "purged_ms");
            hub_mpw_uint(&w, now_ms);
            *skip = false;
        } else {
            hub_mpw_raw(&w, start, (size_t) (r.p - start));
        }
    }
    return hub_mpw_error(&w);
}

// Reads record SEQ of DB in the batch and its time field NAME; *END when
// there is no such record (the end of the log or chain).
static int
s_timed(hub_store_t *self, hub_store_db_t db, uint64_t seq, const char *name, MDB_val *v,
        uint64_t *t, bool *end)
{
    uint8_t key[8];
    hub_store_be64(key, seq);
    int rc = hub_store_get(self, self->txn, db, key, sizeof key, v);
    *end = rc == HUB_ENOTFOUND;
    if (rc) {
        return *end ? HUB_OK : hub_store_fail(self, rc);
    }
    if (hub_mpr_get_uint(v->mv_data, v->mv_size, name, t)) {
        snprintf(self->err, sizeof self->err, "purge: %s %llu: a damaged record",
                 db == HUB_STORE_DB_LOG ? "log" : "audit", (unsigned long long) seq);
        return hub_store_fail(self, HUB_EIO);
    }
    return HUB_OK;
}

// Empties the bodies of log records received before BEFORE, oldest first,
// from the one after meta "purged_log" (the log is in time order).
static int
s_purge_bodies(hub_store_t *self, uint64_t before, uint64_t now_ms, size_t *budget,
               hub_store_purged_t *out)
{
    uint64_t done, seq, received;
    int rc = s_meta_uint(self, s_purged_key, &done);
    for (seq = done + 1; !rc; seq++) {
        MDB_val v;
        bool end, skip;
        rc = s_timed(self, HUB_STORE_DB_LOG, seq, "received_ms", &v, &received, &end);
        if (rc || end || received >= before) {
            break;
        }
        if (*budget == 0) {
            out->more = true;
            break;
        }
        rc = s_purged_log_record(self, &v, now_ms, &skip);
        if (rc) {
            snprintf(self->err, sizeof self->err, "purge: log %llu: a damaged record",
                     (unsigned long long) seq);
            return hub_store_fail(self, rc);
        }
        if (!skip) {
            uint8_t key[8];
            hub_store_be64(key, seq);
            rc = hub_store_put(self, HUB_STORE_DB_LOG, key, sizeof key, self->rec.data,
                               self->rec.len, 0);
            out->bodies++;
            (*budget)--;
        }
    }
    return !rc && seq - 1 > done ? s_meta_put_uint(self, s_purged_key, seq - 1) : rc;
}

// The names of every endpoint, NUL-separated, into SELF->aux.
static int
s_endpoints(hub_store_t *self, size_t *n)
{
    MDB_cursor *c;
    MDB_val k, v;
    *n = 0;
    self->aux.len = 0;
    int rc = hub_store_epc_flush(self); // the cursors the batch holds, first
    if (rc) {
        return rc;
    }
    int mrc = mdb_cursor_open(self->txn, self->dbi[HUB_STORE_DB_ENDPOINT], &c);
    if (mrc) {
        return hub_store_fail(self, hub_store_mdb_err(self, mrc, "mdb_cursor_open endpoint"));
    }
    rc = HUB_OK;
    for (mrc = mdb_cursor_get(c, &k, &v, MDB_FIRST); mrc == 0 && !rc;
         mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size == 0 || k.mv_size >= S_EP_MAX || memchr(k.mv_data, 0, k.mv_size)) {
            continue; // not a name a queue key can hold
        }
        rc = hub_buf_append(&self->aux, k.mv_data, k.mv_size);
        rc = rc ? rc : hub_buf_append(&self->aux, "", 1);
        *n += !rc;
    }
    mdb_cursor_close(c);
    if (!rc && mrc != MDB_NOTFOUND) {
        rc = hub_store_mdb_err(self, mrc, "mdb_cursor_get endpoint");
    }
    return rc ? hub_store_fail(self, rc) : HUB_OK;
}

// ENDPOINT's acknowledged sequence, in the batch.
static int
s_acked(hub_store_t *self, const char *endpoint, uint64_t *acked)
{
    MDB_val v;
    int rc = hub_store_get(self, self->txn, HUB_STORE_DB_ENDPOINT, endpoint, strlen(endpoint), &v);
    if (!rc && hub_mpr_get_uint(v.mv_data, v.mv_size, "acked_eseq", acked)) {
        snprintf(self->err, sizeof self->err, "endpoint %s: a damaged cursor record", endpoint);
        rc = HUB_EIO;
    }
    return rc ? hub_store_fail(self, rc) : HUB_OK;
}

// Removes ENDPOINT's oldest queue records while they are acknowledged and
// their message's body is purged (log seq at most UPTO).
static int
s_purge_queue(hub_store_t *self, const char *endpoint, uint64_t upto, size_t *budget,
              hub_store_purged_t *out)
{
    uint64_t acked;
    int rc = s_acked(self, endpoint, &acked);
    uint8_t key[S_EP_MAX + 8];
    size_t plen = strlen(endpoint) + 1;
    memcpy(key, endpoint, plen);
    hub_store_be64(key + plen, 0);
    MDB_cursor *c;
    int mrc = rc ? 0 : mdb_cursor_open(self->txn, self->dbi[HUB_STORE_DB_QUEUE], &c);
    if (rc || mrc) {
        return rc ? rc
                  : hub_store_fail(self, hub_store_mdb_err(self, mrc, "mdb_cursor_open queue"));
    }
    MDB_val k = {plen + 8, key}, v;
    for (mrc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); mrc == 0;
         mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        uint64_t log_seq;
        if (k.mv_size != plen + 8 || memcmp(k.mv_data, key, plen) != 0 ||
            hub_store_get_be64((const uint8_t *) k.mv_data + plen) > acked ||
            hub_mpr_get_uint(v.mv_data, v.mv_size, "log_seq", &log_seq) || log_seq > upto) {
            break; // past this endpoint, or the oldest left is still needed
        }
        if (*budget == 0) {
            out->more = true;
            break;
        }
        if ((mrc = mdb_cursor_del(c, 0)) != 0) {
            break;
        }
        out->deliveries++;
        (*budget)--;
    }
    mdb_cursor_close(c);
    if (mrc && mrc != MDB_NOTFOUND) {
        return hub_store_fail(self, hub_store_mdb_err(self, mrc, "purge queue"));
    }
    return HUB_OK;
}

static int
s_purge_queues(hub_store_t *self, size_t *budget, hub_store_purged_t *out)
{
    uint64_t upto = 0;
    size_t n = 0;
    int rc = s_meta_uint(self, s_purged_key, &upto);
    rc = rc ? rc : s_endpoints(self, &n);
    // The names are copied out of SELF->aux first: purging reuses it.
    hub_buf_t names = HUB_BUF_INIT;
    rc = rc ? rc : hub_buf_append(&names, self->aux.data, self->aux.len);
    size_t off = 0;
    for (size_t i = 0; i < n && !rc && upto > 0; i++) {
        const char *ep = (const char *) names.data + off;
        off += strlen(ep) + 1;
        rc = s_purge_queue(self, ep, upto, budget, out);
    }
    hub_buf_free(&names);
    return rc;
}

// Writes meta "audit_base" {prev_hash, seq}.
static int
s_base_put(hub_store_t *self, uint64_t seq, const uint8_t prev[HUB_STORE_HASH_SIZE])
{
    hub_mpw_t w;
    self->rec.len = 0;
    hub_mpw_init(&w, &self->rec);
    hub_mpw_map(&w, 2);
    hub_mpw_cstr(&w, "prev_hash");
    hub_mpw_bin(&w, prev, HUB_STORE_HASH_SIZE);
    hub_mpw_cstr(&w, "seq");
    hub_mpw_uint(&w, seq);
    int rc = hub_mpw_error(&w);
    return rc ? hub_store_fail(self, rc)
              : hub_store_put(self, HUB_STORE_DB_META, s_base_key, sizeof s_base_key - 1,
                              self->rec.data, self->rec.len, 0);
}

// Removes audit record V (seq KEY) and its entry in format 4's subject
// index, if any (the runs go whole: s_purge_runs()); HASH gets its hash,
// the next record's prev_hash.
static int
s_audit_drop(hub_store_t *self, const uint8_t key[8], const MDB_val *v,
             uint8_t hash[HUB_STORE_HASH_SIZE])
{
    uint8_t subject[HUB_STORE_HASH_SIZE + 8];
    if (hub_mpr_get_bin(v->mv_data, v->mv_size, "hash", hash, HUB_STORE_HASH_SIZE)) {
        return HUB_EIO;
    }
    bool indexed =
        hub_mpr_get_bin(v->mv_data, v->mv_size, "subject", subject, HUB_STORE_HASH_SIZE) == HUB_OK;
    int rc = hub_store_del(self, HUB_STORE_DB_AUDIT, key, 8);
    if (!rc && indexed) {
        memcpy(subject + HUB_STORE_HASH_SIZE, key, 8);
        rc = hub_store_del(self, HUB_STORE_DB_SUBJECT, subject, sizeof subject);
        rc = rc == HUB_ENOTFOUND ? HUB_OK : rc;
    }
    return rc;
}

// Removes the oldest audit records whose time is before BEFORE; *BASE gets
// the first one kept (0 when none was removed).
static int
s_purge_audit(hub_store_t *self, uint64_t before, size_t *budget, hub_store_purged_t *out,
              uint64_t *base)
{
    uint8_t prev[HUB_STORE_HASH_SIZE], key[8];
    uint64_t seq, first, t;
    *base = 0;
    int rc = s_base_read(self, self->txn, &first, prev);
    for (seq = first; !rc; seq++) {
        MDB_val v;
        bool end;
        rc = s_timed(self, HUB_STORE_DB_AUDIT, seq, "time_ms", &v, &t, &end);
        if (rc || end || t >= before) {
            break;
        }
        if (*budget == 0) {
            out->more = true;
            break;
        }
        hub_store_be64(key, seq);
        rc = s_audit_drop(self, key, &v, prev);
        if (rc) {
            snprintf(self->err, sizeof self->err, "purge: audit %llu: %s", (unsigned long long) seq,
                     "cannot remove it (a damaged record?)");
            return hub_store_fail(self, rc);
        }
        out->audit++;
        (*budget)--;
    }
    *base = !rc && seq > first ? seq : 0;
    return *base ? s_base_put(self, seq, prev) : rc;
}

// Removes the subject index runs whose audit records have all gone.
static int
s_purge_runs(hub_store_t *self, size_t *budget, hub_store_purged_t *out)
{
    uint8_t prev[HUB_STORE_HASH_SIZE];
    uint64_t base;
    int rc = s_base_read(self, self->txn, &base, prev);
    return rc ? hub_store_fail(self, rc) : hub_store_runs_purge(self, base, budget, &out->more);
}

// The oplog record of a purge: what went, and the limits it used.
static int
s_purge_oplog(hub_store_t *self, uint64_t bodies_before, uint64_t audit_before, uint64_t now_ms,
              const hub_store_purged_t *out, uint64_t base)
{
    hub_buf_t d = HUB_BUF_INIT;
    hub_mpw_t w;
    hub_mpw_init(&w, &d);
    hub_mpw_map(&w, 6);
    hub_mpw_cstr(&w, "audit");
    hub_mpw_uint(&w, out->audit);
    hub_mpw_cstr(&w, "audit_base");
    if (base) {
        hub_mpw_uint(&w, base);
    } else {
        hub_mpw_nil(&w);
    }
    hub_mpw_cstr(&w, "audit_before_ms");
    hub_mpw_uint(&w, audit_before);
    hub_mpw_cstr(&w, "bodies");
    hub_mpw_uint(&w, out->bodies);
    hub_mpw_cstr(&w, "bodies_before_ms");
    hub_mpw_uint(&w, bodies_before);
    hub_mpw_cstr(&w, "deliveries");
    hub_mpw_uint(&w, out->deliveries);
    int rc = hub_mpw_error(&w);
    rc = rc ? hub_store_fail(self, rc)
            : hub_store_oplog_append(self, now_ms, "hubd", "purge", d.data, d.len, NULL);
    hub_buf_free(&d);
    return rc;
}

int
hub_store_purge(hub_store_t *self, uint64_t bodies_before_ms, uint64_t audit_before_ms, size_t max,
                uint64_t now_ms, hub_store_purged_t *out)
{
    if (!out || max == 0) {
        return HUB_EINVAL;
    }
    *out = (hub_store_purged_t){0, 0, 0, false};
    bool own;
    int rc = hub_store_write_begin(self, &own);
    if (rc) {
        return rc;
    }
    size_t budget = max;
    uint64_t base = 0;
    rc = s_purge_bodies(self, bodies_before_ms, now_ms, &budget, out);
    rc = rc ? rc : s_purge_queues(self, &budget, out);
    rc = rc ? rc : s_purge_audit(self, audit_before_ms, &budget, out, &base);
    rc = rc ? rc : s_purge_runs(self, &budget, out);
    if (!rc && (out->bodies || out->deliveries || out->audit)) {
        rc = s_purge_oplog(self, bodies_before_ms, audit_before_ms, now_ms, out, base);
    }
    if (rc) {
        *out = (hub_store_purged_t){0, 0, 0, false};
    }
    return hub_store_write_end(self, own, rc);
}
