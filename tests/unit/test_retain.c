// Retention and signed checkpoints (hub_store_retain.c) and the audit
// chain's verification from its base and against its checkpoints
// (hub_store_audit.c), on a real LMDB environment in a temporary
// directory. The attacks are made with LMDB itself, behind the store's
// back: a record altered, one removed, the chain rewritten with one
// record removed or inserted and every hash recomputed, the tail cut off
// with the head (and the endpoints' counters) rewritten to match.
#include "hub_codec.h"
#include "hub_config.h"
#include "hub_error.h"
#include "hub_mpr.h"
#include "hub_mpw.h"
#include "hub_route.h"
#include "hub_rules.h"
#include "hub_store.h"
#include "suites.h"
#include "testutil.h"

#include <CUnit/CUnit.h>
#include <lmdb.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct {
    tu_store_fix_t fx;        // the current test works on the store in fx.dir
    size_t per_msg;           // deliveries (audit records) per message
    uint8_t pk[32], sk[64];   // the hub's signing key
    uint8_t pk2[32], sk2[64]; // someone else's
} s_f;

static const uint8_t s_key[32] = {5, 4, 3};
static const char *const s_cid_a = "513431201001050019";
static const char *const s_cid_b = "34052419800101001X";

// ---------------------------------------------------------------- fixture

static int
s_init(void)
{
    if (tu_store_init(&s_f.fx, "retain") || sodium_init() < 0) {
        return 1;
    }
    crypto_sign_keypair(s_f.pk, s_f.sk);
    crypto_sign_keypair(s_f.pk2, s_f.sk2);
    tu_dropout(s_f.fx.msg);
    int rc = hub_route_run(s_f.fx.route, s_f.fx.rules, s_f.fx.depts, tu_schemas(), s_f.fx.msg,
                           s_key, NULL);
    s_f.per_msg = rc ? 0 : hub_route_count(s_f.fx.route);
    return s_f.per_msg < 2; // the tests need a message that reaches several endpoints
}

static int
s_cleanup(void)
{
    return tu_store_cleanup(&s_f.fx);
}

// A new store in a new directory (s_f.fx.dir).
static hub_store_t *
s_open_new(void)
{
    hub_store_t *st = NULL;
    CU_ASSERT_EQUAL(hub_store_open(&st, tu_store_dir(&s_f.fx), 0, 0, s_key, NULL), HUB_OK);
    return st;
}

static hub_store_t *
s_reopen(void)
{
    hub_store_t *st = NULL;
    CU_ASSERT_EQUAL(hub_store_open(&st, s_f.fx.dir, 0, 0, s_key, NULL), HUB_OK);
    return st;
}

// Routes and ingests the dropout message N about citizen CID, received at
// NOW, into the open batch.
static void
s_ingest_in(hub_store_t *st, uint64_t n, uint64_t now, const char *cid)
{
    char id[33];
    snprintf(id, sizeof id, "%032llx", (unsigned long long) n);
    hub_msg_set_env_str(s_f.fx.msg, HUB_ENV_ID, id);
    hub_msg_set_subj_str(s_f.fx.msg, HUB_SUBJ_CITIZEN_ID, cid);
    hub_store_result_t res;
    CU_ASSERT_EQUAL_FATAL(tu_store_ingest(&s_f.fx, st, s_key, cid, "v1", now, &res), HUB_OK);
    CU_ASSERT_EQUAL_FATAL(hub_route_count(s_f.fx.route), s_f.per_msg);
}

// Messages FIRST..LAST (message i received at i * 1000 ms; odd ones about
// A, even ones about B), each in a batch of its own.
static void
s_ingest(hub_store_t *st, uint64_t first, uint64_t last)
{
    for (uint64_t i = first; i <= last; i++) {
        CU_ASSERT_EQUAL_FATAL(hub_store_begin(st), HUB_OK);
        s_ingest_in(st, i, i * 1000, i % 2 ? s_cid_a : s_cid_b);
        CU_ASSERT_EQUAL_FATAL(hub_store_commit(st), HUB_OK);
    }
}

// The stored hash of audit record SEQ.
static void
s_audit_hash(hub_store_t *st, uint64_t seq, uint8_t hash[32])
{
    const void *rec;
    size_t len;
    memset(hash, 0, 32);
    CU_ASSERT_EQUAL_FATAL(hub_store_record_raw(st, HUB_STORE_AUDIT, seq, &rec, &len), HUB_OK);
    CU_ASSERT_EQUAL(hub_mpr_get_bin(rec, len, "hash", hash, 32), HUB_OK);
}

// Verifies the store in s_f.fx.dir with PK (NULL: the chain alone); expects
// WANT_RC and, when broken, the first bad record WANT_BAD and a diag
// holding WHY.
static hub_store_verify_t
s_verify(const uint8_t *pk, int want_rc, uint64_t want_bad, const char *why)
{
    hub_store_t *st = NULL;
    hub_store_verify_t v;
    memset(&v, 0, sizeof v);
    CU_ASSERT_EQUAL_FATAL(hub_store_open(&st, s_f.fx.dir, 0, HUB_STORE_RDONLY, NULL, NULL), HUB_OK);
    hub_diag_t *diag = hub_diag_new();
    int rc = hub_store_audit_verify_signed(st, pk, &v, diag);
    CU_ASSERT_EQUAL(rc, want_rc);
    CU_ASSERT_EQUAL(v.bad, want_bad);
    const hub_diag_entry_t *e = hub_diag_at(diag, 0);
    bool said = why ? e && strstr(e->text, why) : !e;
    CU_ASSERT(said);
    if (!said || rc != want_rc || v.bad != want_bad) {
        fprintf(stderr, "\nverify: rc %d bad %llu\n", rc, (unsigned long long) v.bad);
        hub_diag_print(diag, stderr);
    }
    hub_diag_destroy(&diag);
    hub_store_destroy(&st);
    return v;
}

// True when the LEN bytes at P hold the string S.
static bool
s_has(const void *p, size_t len, const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i + n <= len; i++) {
        if (memcmp((const char *) p + i, s, n) == 0) {
            return true;
        }
    }
    return false;
}

// ---------------------------------------------------------------- raw LMDB

typedef struct {
    MDB_env *env;
    MDB_txn *txn;
} s_raw_t;

static MDB_dbi
s_raw_open(s_raw_t *r, const char *db)
{
    MDB_dbi dbi = 0;
    CU_ASSERT_FATAL(mdb_env_create(&r->env) == 0 && mdb_env_set_maxdbs(r->env, 16) == 0 &&
                    mdb_env_open(r->env, s_f.fx.dir, 0, 0600) == 0);
    CU_ASSERT_FATAL(mdb_txn_begin(r->env, NULL, 0, &r->txn) == 0 &&
                    mdb_dbi_open(r->txn, db, 0, &dbi) == 0);
    return dbi;
}

static void
s_raw_close(s_raw_t *r)
{
    CU_ASSERT(mdb_txn_commit(r->txn) == 0);
    mdb_env_close(r->env);
}

static MDB_dbi
s_raw_dbi(s_raw_t *r, const char *db)
{
    MDB_dbi dbi = 0;
    CU_ASSERT_FATAL(mdb_dbi_open(r->txn, db, 0, &dbi) == 0);
    return dbi;
}

static void
s_be64(uint8_t key[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8) {
        key[i] = (uint8_t) v;
    }
}

// Alters one byte of audit record SEQ (the last one, in "type").
static void
s_alter(uint64_t seq)
{
    s_raw_t r;
    MDB_dbi dbi = s_raw_open(&r, "audit");
    uint8_t key[8], copy[4096];
    s_be64(key, seq);
    MDB_val k = {8, key}, v;
    CU_ASSERT_FATAL(mdb_get(r.txn, dbi, &k, &v) == 0 && v.mv_size <= sizeof copy);
    memcpy(copy, v.mv_data, v.mv_size);
    copy[v.mv_size - 1] ^= 0x01;
    v.mv_data = copy;
    CU_ASSERT(mdb_put(r.txn, dbi, &k, &v, 0) == 0);
    s_raw_close(&r);
}

// Deletes the records FIRST..LAST of DB.
static void
s_delete(const char *db, uint64_t first, uint64_t last)
{
    s_raw_t r;
    MDB_dbi dbi = s_raw_open(&r, db);
    for (uint64_t seq = first; seq <= last; seq++) {
        uint8_t key[8];
        s_be64(key, seq);
        MDB_val k = {8, key};
        CU_ASSERT(mdb_del(r.txn, dbi, &k, NULL) == 0);
    }
    s_raw_close(&r);
}

// Writes meta "audit_head" {hash, seq}.
static void
s_put_head(s_raw_t *r, uint64_t seq, const uint8_t hash[32])
{
    hub_buf_t b = HUB_BUF_INIT;
    hub_mpw_t w;
    hub_mpw_init(&w, &b);
    hub_mpw_map(&w, 2);
    hub_mpw_cstr(&w, "hash");
    hub_mpw_bin(&w, hash, 32);
    hub_mpw_cstr(&w, "seq");
    hub_mpw_uint(&w, seq);
    MDB_val k = {10, "audit_head"}, v = {b.len, b.data};
    CU_ASSERT(mdb_put(r->txn, s_raw_dbi(r, "meta"), &k, &v, 0) == 0);
    hub_buf_free(&b);
}

// Sets every endpoint's counters to what the audit records that are left
// say: what a careful attacker who cut the tail would do too.
static void
s_fix_endpoints(s_raw_t *r)
{
    MDB_dbi audit = s_raw_dbi(r, "audit"), ep = s_raw_dbi(r, "endpoint");
    MDB_cursor *c;
    MDB_val k, v;
    CU_ASSERT_FATAL(mdb_cursor_open(r->txn, audit, &c) == 0);
    for (int mrc = mdb_cursor_get(c, &k, &v, MDB_FIRST); mrc == 0;
         mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        hub_mpr_t p;
        const char *name;
        size_t n;
        uint64_t eseq;
        hub_mpr_init(&p, v.mv_data, v.mv_size);
        CU_ASSERT_FATAL(hub_mpr_find(&p, "endpoint") == HUB_OK && hub_mpr_str(&p, &name, &n) == 0);
        CU_ASSERT_FATAL(hub_mpr_get_uint(v.mv_data, v.mv_size, "eseq", &eseq) == HUB_OK);
        hub_buf_t b = HUB_BUF_INIT;
        hub_mpw_t w;
        hub_mpw_init(&w, &b);
        hub_mpw_map(&w, 2);
        hub_mpw_cstr(&w, "acked_eseq");
        hub_mpw_uint(&w, 0);
        hub_mpw_cstr(&w, "next_eseq");
        hub_mpw_uint(&w, eseq + 1);
        MDB_val ek = {n, (void *) name}, ev = {b.len, b.data};
        CU_ASSERT(mdb_put(r->txn, ep, &ek, &ev, 0) == 0);
        hub_buf_free(&b);
    }
    mdb_cursor_close(c);
}

// Cuts the chain after record KEEP: the records after it removed, the
// head rewritten to name it, and (with FIX) the endpoints' counters too.
static void
s_cut(uint64_t keep, uint64_t last, bool fix)
{
    uint8_t hash[32];
    hub_store_t *st = s_reopen();
    s_audit_hash(st, keep, hash);
    hub_store_destroy(&st);
    s_delete("audit", keep + 1, last);
    s_raw_t r;
    s_raw_open(&r, "meta");
    s_put_head(&r, keep, hash);
    if (fix) {
        s_fix_endpoints(&r);
    }
    s_raw_close(&r);
}

// Record REC re-encoded as record SEQ after PREV, hashed as the store does,
// into OUT; HASH gets its hash.
static void
s_rehash(const MDB_val *rec, uint64_t seq, const uint8_t prev[32], hub_buf_t *out, uint8_t hash[32])
{
    for (int pass = 0; pass < 2; pass++) {
        hub_mpr_t r;
        hub_mp_obj_t m;
        hub_mpw_t w;
        hub_mpr_init(&r, rec->mv_data, rec->mv_size);
        CU_ASSERT_FATAL(hub_mpr_next(&r, &m) == HUB_OK && m.len == 12);
        out->len = 0;
        hub_mpw_init(&w, out);
        hub_mpw_map(&w, pass ? 12 : 11); // pass 0: what is hashed; pass 1: the record
        for (uint32_t i = 0; i < m.len; i++) {
            const uint8_t *start = r.p;
            const char *k;
            size_t n;
            CU_ASSERT_FATAL(hub_mpr_str(&r, &k, &n) == HUB_OK && hub_mpr_skip(&r) == HUB_OK);
            if (n == 4 && !memcmp(k, "hash", 4)) {
                if (pass) {
                    hub_mpw_cstr(&w, "hash");
                    hub_mpw_bin(&w, hash, 32);
                }
            } else if (n == 9 && !memcmp(k, "prev_hash", 9)) {
                hub_mpw_cstr(&w, "prev_hash");
                hub_mpw_bin(&w, prev, 32);
            } else if (n == 3 && !memcmp(k, "seq", 3)) {
                hub_mpw_cstr(&w, "seq");
                hub_mpw_uint(&w, seq);
            } else {
                hub_mpw_raw(&w, start, (size_t) (r.p - start));
            }
        }
        if (!pass) {
            crypto_generichash_state hs;
            crypto_generichash_init(&hs, NULL, 0, 32);
            crypto_generichash_update(&hs, prev, 32);
            crypto_generichash_update(&hs, out->data, out->len);
            crypto_generichash_final(&hs, hash, 32);
        }
    }
}

// Rewrites the whole chain of LAST records as a forger who knows the hash
// (it has no key) would: record DROP left out, or record DUP given twice,
// every later record renumbered and every hash recomputed, the head too.
static void
s_rechain(uint64_t last, uint64_t drop, uint64_t dup)
{
    s_raw_t r;
    MDB_dbi dbi = s_raw_open(&r, "audit");
    hub_buf_t *recs = calloc(last + 1, sizeof *recs);
    for (uint64_t seq = 1; seq <= last; seq++) {
        uint8_t key[8];
        s_be64(key, seq);
        MDB_val k = {8, key}, v;
        CU_ASSERT_FATAL(mdb_get(r.txn, dbi, &k, &v) == 0);
        hub_buf_append(&recs[seq], v.mv_data, v.mv_size);
    }
    CU_ASSERT_FATAL(mdb_drop(r.txn, dbi, 0) == 0);
    uint8_t prev[32] = {0}, hash[32];
    uint64_t out = 0;
    hub_buf_t b = HUB_BUF_INIT;
    for (uint64_t seq = 1; seq <= last; seq++) {
        for (int copy = 0; copy < (seq == drop ? 0 : seq == dup ? 2 : 1); copy++) {
            MDB_val v = {recs[seq].len, recs[seq].data};
            uint8_t key[8];
            s_rehash(&v, ++out, prev, &b, hash);
            s_be64(key, out);
            MDB_val k = {8, key}, nv = {b.len, b.data};
            CU_ASSERT(mdb_put(r.txn, dbi, &k, &nv, 0) == 0);
            memcpy(prev, hash, 32);
        }
        hub_buf_free(&recs[seq]);
    }
    s_put_head(&r, out, prev);
    s_raw_close(&r);
    hub_buf_free(&b);
    free(recs);
}

// ---------------------------------------------------------------- tests

static void
test_a_checkpoint_signs_the_head_and_only_when_it_moved(void)
{
    hub_store_t *st = s_open_new();
    CU_ASSERT_EQUAL(hub_store_checkpoint(st, s_f.sk, 500), HUB_OK); // no audit yet: nothing
    CU_ASSERT_EQUAL(tu_store_last(st, HUB_STORE_CHECKPOINT), 0);
    s_ingest(st, 1, 3);
    CU_ASSERT_EQUAL(hub_store_checkpoint(st, s_f.sk, 4000), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_checkpoint(st, s_f.sk, 5000), HUB_OK); // the head did not move
    CU_ASSERT_EQUAL(tu_store_last(st, HUB_STORE_CHECKPOINT), 1);
    const void *rec;
    size_t len;
    hub_store_checkpoint_t cp;
    const char *why = NULL;
    uint8_t head[32];
    s_audit_hash(st, 3 * s_f.per_msg, head);
    CU_ASSERT_EQUAL_FATAL(hub_store_record(st, HUB_STORE_CHECKPOINT, 1, &rec, &len), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_checkpoint_check(rec, len, s_f.pk, &cp, &why), HUB_OK);
    CU_ASSERT(cp.seq == 1 && cp.audit_seq == 3 * s_f.per_msg && cp.time_ms == 4000);
    CU_ASSERT_EQUAL(memcmp(cp.hash, head, 32), 0);
    // Another key, or one changed byte, and the signature fails.
    CU_ASSERT_EQUAL(hub_store_checkpoint_check(rec, len, s_f.pk2, &cp, &why), HUB_EINVALID);
    CU_ASSERT(why && strstr(why, "signature"));
    uint8_t copy[256];
    CU_ASSERT_FATAL(len <= sizeof copy);
    memcpy(copy, rec, len);
    copy[len - 1] ^= 1; // the last byte of time_ms
    CU_ASSERT_EQUAL(hub_store_checkpoint_check(copy, len, s_f.pk, &cp, NULL), HUB_EINVALID);
    CU_ASSERT_EQUAL(hub_store_checkpoint_check("\x80", 1, s_f.pk, &cp, &why), HUB_EINVALID);
    // Inside a batch it names the batch's own last record and commits with it.
    CU_ASSERT_EQUAL(hub_store_begin(st), HUB_OK);
    s_ingest_in(st, 4, 4000, s_cid_b);
    CU_ASSERT_EQUAL(hub_store_checkpoint(st, s_f.sk, 6000), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_commit(st), HUB_OK);
    CU_ASSERT_EQUAL_FATAL(hub_store_record(st, HUB_STORE_CHECKPOINT, 2, &rec, &len), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_checkpoint_check(rec, len, s_f.pk, &cp, NULL), HUB_OK);
    CU_ASSERT_EQUAL(cp.audit_seq, 4 * s_f.per_msg);
    CU_ASSERT_EQUAL(hub_store_checkpoint(st, NULL, 1), HUB_EINVAL);
    hub_store_destroy(&st);
    hub_store_verify_t v = s_verify(s_f.pk, HUB_OK, 0, NULL);
    CU_ASSERT(v.checked == 4 * s_f.per_msg && v.checkpoints == 2 &&
              v.last_cp_audit_seq == 4 * s_f.per_msg && v.last_cp_time_ms == 6000 &&
              v.head_seq == 4 * s_f.per_msg && v.first == 1);
    CU_ASSERT_EQUAL(hub_store_open(&st, s_f.fx.dir, 0, HUB_STORE_RDONLY, NULL, NULL), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_checkpoint(st, s_f.sk, 7000), HUB_EINVAL); // read-only
    hub_store_destroy(&st);
}

static void
test_a_forged_or_missing_checkpoint_fails_verification(void)
{
    hub_store_t *st = s_open_new();
    s_ingest(st, 1, 2);
    CU_ASSERT_EQUAL(hub_store_checkpoint(st, s_f.sk, 3000), HUB_OK);
    s_ingest(st, 3, 3);
    CU_ASSERT_EQUAL(hub_store_checkpoint(st, s_f.sk, 4000), HUB_OK);
    hub_store_destroy(&st);
    hub_store_verify_t v = s_verify(s_f.pk2, HUB_EINVALID, 0, "signature does not verify");
    CU_ASSERT_EQUAL(v.bad_checkpoint, 1);
    s_verify(NULL, HUB_OK, 0, NULL); // the chain itself is intact
    s_delete("checkpoint", 1, 1);
    v = s_verify(s_f.pk, HUB_EINVALID, 0, "checkpoint 1 is missing");
    CU_ASSERT_EQUAL(v.bad_checkpoint, 1);
}

static void
test_purge_empties_old_bodies_and_drops_their_acknowledged_deliveries(void)
{
    hub_store_t *st = s_open_new();
    s_ingest(st, 1, 6);
    const char *ep = hub_route_at(s_f.fx.route, 0)->endpoint->id;
    const char *other = hub_route_at(s_f.fx.route, 1)->endpoint->id;
    CU_ASSERT_EQUAL(hub_store_ack(st, ep, 2), HUB_OK);
    hub_store_purged_t p;
    CU_ASSERT_EQUAL(hub_store_purge(st, 3500, 0, 1000, 99000, &p), HUB_OK);
    CU_ASSERT(p.bodies == 3 && p.deliveries == 2 && p.audit == 0 && !p.more);
    const void *rec;
    size_t len;
    uint64_t u = 0;
    hub_mpr_t r;
    hub_mp_obj_t o;
    CU_ASSERT_EQUAL_FATAL(hub_store_record(st, HUB_STORE_LOG, 1, &rec, &len), HUB_OK);
    CU_ASSERT(hub_mpr_get_uint(rec, len, "purged_ms", &u) == HUB_OK && u == 99000);
    hub_mpr_init(&r, rec, len);
    CU_ASSERT(hub_mpr_find(&r, "msg") == HUB_OK && hub_mpr_next(&r, &o) == HUB_OK &&
              o.kind == HUB_MP_NIL);
    CU_ASSERT(hub_mpr_get_uint(rec, len, "received_ms", &u) == HUB_OK && u == 1000);
    CU_ASSERT_EQUAL_FATAL(hub_store_record(st, HUB_STORE_LOG, 4, &rec, &len), HUB_OK);
    CU_ASSERT_EQUAL(hub_mpr_get_uint(rec, len, "purged_ms", &u), HUB_ENOTFOUND);
    // The acknowledged deliveries of purged messages went; the others stay.
    hub_store_delivery_t d[8];
    size_t n;
    CU_ASSERT(hub_store_pending(st, ep, 0, d, 8, &n) == HUB_OK && n == 4 && d[0].eseq == 3);
    CU_ASSERT(hub_store_pending(st, other, 0, d, 8, &n) == HUB_OK && n == 6 && d[0].eseq == 1);
    // The purge was recorded; a purge with nothing to do records nothing.
    CU_ASSERT_EQUAL(tu_store_last(st, HUB_STORE_OPLOG), 1);
    CU_ASSERT_EQUAL_FATAL(hub_store_record(st, HUB_STORE_OPLOG, 1, &rec, &len), HUB_OK);
    CU_ASSERT(s_has(rec, len,
                    "\xa6"
                    "action\xa5purge") &&
              s_has(rec, len, "\xa4hubd"));
    CU_ASSERT_EQUAL(hub_store_purge(st, 3500, 0, 1000, 99500, &p), HUB_OK);
    CU_ASSERT(p.bodies == 0 && p.deliveries == 0 && tu_store_last(st, HUB_STORE_OPLOG) == 1);
    // Acknowledged later, a delivery of a purged message goes then.
    CU_ASSERT_EQUAL(hub_store_ack(st, ep, 5), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_purge(st, 3500, 0, 1000, 99600, &p), HUB_OK);
    CU_ASSERT(p.bodies == 0 && p.deliveries == 1);
    CU_ASSERT(hub_store_pending(st, ep, 0, d, 8, &n) == HUB_OK && n == 3 && d[0].eseq == 4);
    // A small MAX works a slice at a time.
    CU_ASSERT_EQUAL(hub_store_purge(st, 6500, 0, 2, 99700, &p), HUB_OK);
    CU_ASSERT(p.bodies == 2 && p.more);
    CU_ASSERT_EQUAL(hub_store_purge(st, 6500, 0, 3, 99800, &p), HUB_OK);
    CU_ASSERT(p.bodies == 1 && p.deliveries == 2 && !p.more);
    CU_ASSERT_EQUAL(hub_store_purge(st, 1, 1, 0, 1, &p), HUB_EINVAL);
    hub_store_destroy(&st);
    s_verify(NULL, HUB_OK, 0, NULL);
}

// Puts (JAM) or removes a last key in the oplog that is no sequence
// number: the store can then write no operations-log record, and nothing
// else fails.
static void
s_oplog_jam(bool jam)
{
    s_raw_t r;
    MDB_dbi dbi = s_raw_open(&r, "oplog");
    MDB_val k = {9, "\xff\xff\xff\xff\xff\xff\xff\xff\xff"}, v = {1, "\xc0"};
    CU_ASSERT(jam ? mdb_put(r.txn, dbi, &k, &v, 0) == 0 : mdb_del(r.txn, dbi, &k, NULL) == 0);
    s_raw_close(&r);
}

static void
test_a_purge_whose_record_cannot_be_written_purges_nothing(void)
{
    hub_store_t *st = s_open_new();
    const size_t D = s_f.per_msg;
    s_ingest(st, 1, 3);
    const char *ep = hub_route_at(s_f.fx.route, 0)->endpoint->id;
    CU_ASSERT_EQUAL(hub_store_ack(st, ep, 2), HUB_OK);
    hub_store_destroy(&st);
    s_oplog_jam(true);
    st = s_reopen();
    // Bodies of 1 and 2, their two acknowledged deliveries, message 1's
    // audit records: all written in the purge's transaction, then its
    // record fails, and the transaction with it.
    hub_store_purged_t p;
    CU_ASSERT_EQUAL(hub_store_purge(st, 2500, 1500, 1000, 99000, &p), HUB_EIO);
    CU_ASSERT(strstr(hub_store_last_error(st), "oplog") != NULL);
    CU_ASSERT(p.bodies == 0 && p.deliveries == 0 && p.audit == 0 && !p.more);
    const void *rec;
    size_t len;
    uint64_t u, base;
    uint8_t prev[32];
    CU_ASSERT_EQUAL_FATAL(hub_store_record(st, HUB_STORE_LOG, 1, &rec, &len), HUB_OK);
    CU_ASSERT_EQUAL(hub_mpr_get_uint(rec, len, "purged_ms", &u), HUB_ENOTFOUND);
    hub_store_delivery_t d[8];
    size_t n;
    CU_ASSERT(hub_store_pending(st, ep, 0, d, 8, &n) == HUB_OK && n == 3 && d[0].eseq == 1);
    CU_ASSERT_EQUAL(hub_store_record(st, HUB_STORE_AUDIT, 1, &rec, &len), HUB_OK);
    CU_ASSERT(hub_store_audit_base(st, &base, prev) == HUB_OK && base == 1);
    hub_store_destroy(&st);
    // Once the record can be written, the same purge goes, recorded.
    s_oplog_jam(false);
    st = s_reopen();
    CU_ASSERT_EQUAL(hub_store_purge(st, 2500, 1500, 1000, 99000, &p), HUB_OK);
    CU_ASSERT(p.bodies == 2 && p.deliveries == 2 && p.audit == D);
    CU_ASSERT_EQUAL(tu_store_last(st, HUB_STORE_OPLOG), 1);
    CU_ASSERT(hub_store_audit_base(st, &base, prev) == HUB_OK && base == D + 1);
    hub_store_destroy(&st);
    s_verify(NULL, HUB_OK, 0, NULL);
}

static void
test_purge_removes_old_audit_records_and_verify_starts_at_the_base(void)
{
    hub_store_t *st = s_open_new();
    const size_t D = s_f.per_msg;
    s_ingest(st, 1, 2);
    CU_ASSERT_EQUAL(hub_store_checkpoint(st, s_f.sk, 2500), HUB_OK); // before the base
    s_ingest(st, 3, 3);
    CU_ASSERT_EQUAL(hub_store_checkpoint(st, s_f.sk, 3500), HUB_OK); // just before it
    s_ingest(st, 4, 6);
    CU_ASSERT_EQUAL(hub_store_checkpoint(st, s_f.sk, 6500), HUB_OK);
    uint8_t before_base[32], prev[32];
    uint64_t base;
    s_audit_hash(st, 3 * D, before_base);
    hub_store_purged_t p;
    size_t total = 0;
    do { // two records a call
        CU_ASSERT_EQUAL_FATAL(hub_store_purge(st, 0, 3500, 2, 90000, &p), HUB_OK);
        CU_ASSERT(p.audit <= 2 && p.bodies == 0); // bodies before 0: none (hubd_retain)
        total += p.audit;
    } while (p.more);
    CU_ASSERT_EQUAL(total, 3 * D);
    CU_ASSERT_EQUAL(hub_store_audit_base(st, &base, prev), HUB_OK);
    CU_ASSERT_EQUAL(base, 3 * D + 1);
    CU_ASSERT_EQUAL(memcmp(prev, before_base, 32), 0);
    const void *rec;
    size_t len;
    CU_ASSERT_EQUAL(hub_store_record(st, HUB_STORE_AUDIT, 3 * D, &rec, &len), HUB_ENOTFOUND);
    // The index forgets the removed records: A has message 5 left, B 4 and 6.
    uint8_t subj[32];
    uint64_t seqs[32];
    size_t n;
    CU_ASSERT_EQUAL(hub_store_subject_key(st, s_cid_a, subj), HUB_OK);
    CU_ASSERT(hub_store_audit_by_subject(st, subj, 0, seqs, 32, &n) == HUB_OK && n == D &&
              seqs[0] == 4 * D + 1);
    CU_ASSERT_EQUAL(hub_store_subject_key(st, s_cid_b, subj), HUB_OK);
    CU_ASSERT(hub_store_audit_by_subject(st, subj, 0, seqs, 32, &n) == HUB_OK && n == 2 * D &&
              seqs[0] == 3 * D + 1);
    CU_ASSERT(tu_store_last(st, HUB_STORE_OPLOG) == (3 * D + 1) / 2); // one record per slice
    hub_store_destroy(&st);
    hub_store_verify_t v = s_verify(s_f.pk, HUB_OK, 0, NULL);
    CU_ASSERT(v.first == 3 * D + 1 && v.checked == 3 * D && v.checkpoints == 3);
    // A base that does not match the record after it shows.
    s_alter(3 * D + 1);
    s_verify(s_f.pk, HUB_EINVALID, 3 * D + 1, "hash does not match");
}

static void
test_a_chain_purged_to_its_head_goes_on_from_there(void)
{
    hub_store_t *st = s_open_new();
    const size_t D = s_f.per_msg;
    s_ingest(st, 1, 2);
    CU_ASSERT_EQUAL(hub_store_checkpoint(st, s_f.sk, 2500), HUB_OK);
    hub_store_purged_t p;
    CU_ASSERT_EQUAL(hub_store_purge(st, 10000, 10000, 1000, 20000, &p), HUB_OK);
    CU_ASSERT(p.audit == 2 * D && p.bodies == 2 && !p.more);
    hub_store_destroy(&st);
    hub_store_verify_t v = s_verify(s_f.pk, HUB_OK, 0, NULL);
    CU_ASSERT(v.checked == 0 && v.first == 2 * D + 1 && v.head_seq == 2 * D);
    st = s_reopen();
    s_ingest(st, 3, 3);
    CU_ASSERT_EQUAL(hub_store_checkpoint(st, s_f.sk, 3500), HUB_OK);
    hub_store_destroy(&st);
    v = s_verify(s_f.pk, HUB_OK, 0, NULL);
    CU_ASSERT(v.checked == D && v.checkpoints == 2);
}

static void
test_an_altered_record_is_located(void)
{
    hub_store_t *st = s_open_new();
    s_ingest(st, 1, 4);
    CU_ASSERT_EQUAL(hub_store_checkpoint(st, s_f.sk, 5000), HUB_OK);
    hub_store_destroy(&st);
    s_alter(5);
    s_verify(NULL, HUB_EINVALID, 5, "audit record 5 is broken: its hash does not match");
    s_verify(s_f.pk, HUB_EINVALID, 5, "audit record 5 is broken");
    // The pure check says the same of the bytes alone.
    st = s_reopen();
    const void *rec;
    size_t len;
    uint8_t hash[32];
    const char *why = NULL;
    CU_ASSERT_EQUAL_FATAL(hub_store_record_raw(st, HUB_STORE_AUDIT, 5, &rec, &len), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_audit_check(rec, len, 5, NULL, hash, &why), HUB_EINVALID);
    CU_ASSERT(why && strstr(why, "hash does not match"));
    CU_ASSERT_EQUAL_FATAL(hub_store_record_raw(st, HUB_STORE_AUDIT, 6, &rec, &len), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_audit_check(rec, len, 6, NULL, hash, &why), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_audit_check(rec, len, 7, NULL, hash, &why), HUB_EINVALID);
    CU_ASSERT(why && strstr(why, "seq"));
    hub_store_destroy(&st);
}

static void
test_a_removed_record_is_located(void)
{
    hub_store_t *st = s_open_new();
    s_ingest(st, 1, 4);
    hub_store_destroy(&st);
    s_delete("audit", 4, 4);
    s_verify(NULL, HUB_EINVALID, 4, "audit record 4 is broken: a gap");
    s_verify(s_f.pk, HUB_EINVALID, 4, "gap");
}

static void
test_a_rewritten_chain_is_located_by_delivery_numbers_and_checkpoints(void)
{
    const size_t D = s_f.per_msg;
    hub_store_t *st = s_open_new();
    s_ingest(st, 1, 4);
    CU_ASSERT_EQUAL(hub_store_checkpoint(st, s_f.sk, 4500), HUB_OK);
    hub_store_destroy(&st);
    // Record D+2 removed, the rest renumbered and rehashed: every hash
    // holds, but the endpoint of D+2 now skips a delivery, D records later.
    s_rechain(4 * D, D + 2, 0);
    s_verify(NULL, HUB_EINVALID, 2 * D + 1, "records before it were removed");
    // Record D+2 given twice: the copy repeats its endpoint's number.
    st = s_open_new();
    s_ingest(st, 1, 4);
    CU_ASSERT_EQUAL(hub_store_checkpoint(st, s_f.sk, 4500), HUB_OK);
    hub_store_destroy(&st);
    s_rechain(4 * D, 0, D + 2);
    s_verify(s_f.pk, HUB_EINVALID, D + 3, "inserted");
}

static void
test_a_cut_off_tail_is_found_through_a_checkpoint(void)
{
    const size_t D = s_f.per_msg;
    hub_store_t *st = s_open_new();
    s_ingest(st, 1, 4);
    CU_ASSERT_EQUAL(hub_store_checkpoint(st, s_f.sk, 4500), HUB_OK);
    s_ingest(st, 5, 6);
    CU_ASSERT_EQUAL(hub_store_checkpoint(st, s_f.sk, 6500), HUB_OK);
    hub_store_destroy(&st);
    // The tail cut back to message 3 and the head rewritten: the endpoints'
    // counters still show it, and so do the signed checkpoints.
    s_cut(3 * D, 6 * D, false);
    s_verify(NULL, HUB_EINVALID, 3 * D + 1, "were removed");
    hub_store_verify_t v = s_verify(s_f.pk, HUB_EINVALID, 3 * D + 1, "names audit record");
    CU_ASSERT_EQUAL(v.bad_checkpoint, 1);
    // The counters rewritten too: the chain alone looks whole, the
    // checkpoints do not.
    st = s_open_new();
    s_ingest(st, 1, 4);
    CU_ASSERT_EQUAL(hub_store_checkpoint(st, s_f.sk, 4500), HUB_OK);
    hub_store_destroy(&st);
    s_cut(3 * D, 4 * D, true);
    s_verify(NULL, HUB_OK, 0, NULL);
    s_verify(s_f.pk, HUB_EINVALID, 3 * D + 1, "the tail was cut off");
}

void
test_retain_register(void)
{
    CU_pSuite s = CU_add_suite("retain", s_init, s_cleanup);
    CU_add_test(s, "a checkpoint signs the head, and only when it moved",
                test_a_checkpoint_signs_the_head_and_only_when_it_moved);
    CU_add_test(s, "a forged or missing checkpoint fails verification",
                test_a_forged_or_missing_checkpoint_fails_verification);
    CU_add_test(s, "purge empties old bodies and drops their acknowledged deliveries",
                test_purge_empties_old_bodies_and_drops_their_acknowledged_deliveries);
    CU_add_test(s, "a purge whose record cannot be written purges nothing",
                test_a_purge_whose_record_cannot_be_written_purges_nothing);
    CU_add_test(s, "purge removes old audit records, and verify starts at the base",
                test_purge_removes_old_audit_records_and_verify_starts_at_the_base);
    CU_add_test(s, "a chain purged to its head goes on from there",
                test_a_chain_purged_to_its_head_goes_on_from_there);
    CU_add_test(s, "an altered record is located", test_an_altered_record_is_located);
    CU_add_test(s, "a removed record is located", test_a_removed_record_is_located);
    CU_add_test(s, "a rewritten chain is located by delivery numbers and checkpoints",
                test_a_rewritten_chain_is_located_by_delivery_numbers_and_checkpoints);
    CU_add_test(s, "a cut-off tail is found through a checkpoint",
                test_a_cut_off_tail_is_found_through_a_checkpoint);
}
