// The store's disclosure descriptors (hub_store_disc.c, format 3) on a
// real LMDB environment in a temporary directory: stored once and named by
// queue and audit records, expanded for readers, forgotten with a batch
// that does not commit, checked by the audit verification, and a store of
// format 2 taken as it is.
#include "hub_codec.h"
#include "hub_error.h"
#include "hub_mpr.h"
#include "hub_mpw.h"
#include "hub_route.h"
#include "hub_store.h"
#include "suites.h"
#include "testutil.h"

#include <CUnit/CUnit.h>
#include <lmdb.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static tu_store_fix_t s_f;

static const uint8_t s_key[32] = {7};
static const char s_cid[] = "51342920140302046X";

static int
s_init(void)
{
    if (tu_store_init(&s_f, "disc")) {
        return 1;
    }
    tu_dropout(s_f.msg);
    return 0;
}

static int
s_cleanup(void)
{
    return tu_store_cleanup(&s_f);
}

// Ingests dropout messages FIRST .. FIRST+N-1 into the open batch of ST.
static void
s_ingest(hub_store_t *st, uint64_t first, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char id[33];
        hub_store_result_t res;
        snprintf(id, sizeof id, "%032llx", (unsigned long long) (first + i));
        hub_msg_set_env_str(s_f.msg, HUB_ENV_ID, id);
        CU_ASSERT_EQUAL_FATAL(tu_store_ingest(&s_f, st, s_key, s_cid, "v1", 1000 + i, &res),
                              HUB_OK);
        CU_ASSERT_EQUAL(res.deliveries, 2);
    }
}

// LMDB's own view of DIR: entries of database NAME; with BYTE >= 0 the
// first entry's last byte is overwritten with it, with BYTE -1 the first
// entry is deleted.
static size_t
s_raw(const char *dir, const char *name, int byte)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_cursor *c;
    MDB_stat stat;
    MDB_val k, v;
    CU_ASSERT_FATAL(mdb_env_create(&env) == 0 && mdb_env_set_maxdbs(env, 16) == 0 &&
                    mdb_env_open(env, dir, 0, 0600) == 0);
    CU_ASSERT_FATAL(mdb_txn_begin(env, NULL, 0, &txn) == 0 &&
                    mdb_dbi_open(txn, name, 0, &dbi) == 0 && mdb_stat(txn, dbi, &stat) == 0);
    if (byte != -2 && stat.ms_entries > 0) {
        CU_ASSERT_FATAL(mdb_cursor_open(txn, dbi, &c) == 0 &&
                        mdb_cursor_get(c, &k, &v, MDB_FIRST) == 0);
        if (byte < 0) {
            CU_ASSERT(mdb_cursor_del(c, 0) == 0);
        } else {
            uint8_t *copy = malloc(v.mv_size);
            memcpy(copy, v.mv_data, v.mv_size);
            copy[v.mv_size - 1] = (uint8_t) byte;
            MDB_val nv = {v.mv_size, copy};
            CU_ASSERT(mdb_cursor_put(c, &k, &nv, MDB_CURRENT) == 0);
            free(copy);
        }
        mdb_cursor_close(c);
    }
    CU_ASSERT(mdb_txn_commit(txn) == 0);
    mdb_env_close(env);
    return stat.ms_entries;
}

static hub_store_t *
s_new_store(size_t messages)
{
    hub_store_t *st = NULL;
    CU_ASSERT_EQUAL_FATAL(hub_store_open(&st, tu_store_dir(&s_f), 0, 0, s_key, NULL), HUB_OK);
    CU_ASSERT_EQUAL_FATAL(hub_store_begin(st), HUB_OK);
    s_ingest(st, 1, messages);
    CU_ASSERT_EQUAL_FATAL(hub_store_commit(st), HUB_OK);
    return st;
}

static void
s_verify(hub_store_t *st, int want, const char *why)
{
    hub_diag_t *diag = hub_diag_new();
    uint64_t checked = 0, bad = 0;
    CU_ASSERT_EQUAL(hub_store_audit_verify(st, &checked, &bad, diag), want);
    const hub_diag_entry_t *e = hub_diag_count(diag) ? hub_diag_at(diag, 0) : NULL;
    CU_ASSERT(want == HUB_OK ? e == NULL : e && strstr(e->text, why) != NULL);
    if (want == HUB_OK ? e != NULL : !e || !strstr(e->text, why)) {
        hub_diag_print(diag, stderr);
    }
    hub_diag_destroy(&diag);
}

static void
test_a_descriptor_is_stored_once_and_named_by_its_hash(void)
{
    hub_store_t *st = s_new_store(40); // 80 deliveries, 80 audit records
    uint64_t audits = tu_store_last(st, HUB_STORE_AUDIT);
    CU_ASSERT_EQUAL(audits, 80);
    uint8_t keys[2][32];
    for (uint64_t seq = 1; seq <= 2; seq++) {
        const void *rec;
        size_t len;
        CU_ASSERT_EQUAL_FATAL(hub_store_record_raw(st, HUB_STORE_AUDIT, seq, &rec, &len), HUB_OK);
        CU_ASSERT_EQUAL_FATAL(hub_mpr_get_bin(rec, len, "disclosure", keys[seq - 1], 32), HUB_OK);
        // The key is the BLAKE2b-256 of the descriptor's bytes.
        uint8_t h[32];
        CU_ASSERT_EQUAL_FATAL(hub_store_disclosure(st, keys[seq - 1], &rec, &len), HUB_OK);
        crypto_generichash(h, sizeof h, rec, len, NULL, 0);
        CU_ASSERT_EQUAL(memcmp(h, keys[seq - 1], 32), 0);
        // Readers see the pairs in place of the name.
        CU_ASSERT_EQUAL_FATAL(hub_store_record(st, HUB_STORE_AUDIT, seq, &rec, &len), HUB_OK);
        hub_mpr_t r;
        hub_mpr_init(&r, rec, len);
        CU_ASSERT_EQUAL(hub_mpr_find(&r, "disclosure"), HUB_ENOTFOUND);
        hub_mpr_init(&r, rec, len);
        CU_ASSERT_EQUAL(hub_mpr_find(&r, "purposes"), HUB_OK);
    }
    // Two endpoints under two rules: two descriptors, whatever the count
    // of messages.
    CU_ASSERT(memcmp(keys[0], keys[1], 32) != 0);
    hub_store_destroy(&st);
    CU_ASSERT_EQUAL(s_raw(s_f.dir, "disclosure", -2), 2);
    st = NULL;
    CU_ASSERT_EQUAL_FATAL(hub_store_open(&st, s_f.dir, 0, HUB_STORE_RDONLY, NULL, NULL), HUB_OK);
    s_verify(st, HUB_OK, NULL);
    hub_store_destroy(&st);
}

static void
test_a_batch_that_does_not_commit_takes_its_descriptors_with_it(void)
{
    hub_store_t *st = NULL;
    CU_ASSERT_EQUAL_FATAL(hub_store_open(&st, tu_store_dir(&s_f), 0, 0, s_key, NULL), HUB_OK);
    CU_ASSERT_EQUAL_FATAL(hub_store_begin(st), HUB_OK);
    s_ingest(st, 1, 3);
    hub_store_abort(st);
    // The same deliveries again: their descriptors must be written again.
    CU_ASSERT_EQUAL_FATAL(hub_store_begin(st), HUB_OK);
    s_ingest(st, 1, 3);
    CU_ASSERT_EQUAL_FATAL(hub_store_commit(st), HUB_OK);
    const void *rec;
    size_t len;
    for (uint64_t seq = 1; seq <= 6; seq++) {
        CU_ASSERT_EQUAL(hub_store_record(st, HUB_STORE_AUDIT, seq, &rec, &len), HUB_OK);
    }
    hub_store_delivery_t out[8];
    size_t n = 0;
    const char *ep = hub_route_at(s_f.route, 0)->endpoint->id;
    CU_ASSERT_EQUAL(hub_store_pending(st, ep, 0, out, 8, &n), HUB_OK);
    CU_ASSERT_EQUAL(n, 3);
    s_verify(st, HUB_OK, NULL);
    hub_store_destroy(&st);
    CU_ASSERT_EQUAL(s_raw(s_f.dir, "disclosure", -2), 2);
}

static void
test_an_altered_or_missing_descriptor_is_found(void)
{
    hub_store_t *st = s_new_store(2);
    char altered[128];
    snprintf(altered, sizeof altered, "%s", s_f.dir);
    hub_store_destroy(&st);
    s_raw(altered, "disclosure", 'X');
    CU_ASSERT_EQUAL_FATAL(hub_store_open(&st, altered, 0, HUB_STORE_RDONLY, NULL, NULL), HUB_OK);
    s_verify(st, HUB_EINVALID, "does not match its hash");
    hub_store_destroy(&st);

    st = s_new_store(2);
    hub_store_destroy(&st);
    s_raw(s_f.dir, "disclosure", -1);
    CU_ASSERT_EQUAL_FATAL(hub_store_open(&st, s_f.dir, 0, HUB_STORE_RDONLY, NULL, NULL), HUB_OK);
    s_verify(st, HUB_EINVALID, "descriptor is missing");
    // A reader is told which record cannot be read whole, and why.
    const void *rec;
    size_t len;
    int bad = 0;
    for (uint64_t seq = 1; seq <= 4; seq++) {
        if (hub_store_record(st, HUB_STORE_AUDIT, seq, &rec, &len) == HUB_EIO) {
            bad++;
            CU_ASSERT(strstr(hub_store_last_error(st), "missing") != NULL);
        }
    }
    CU_ASSERT_EQUAL(bad, 2);
    hub_store_destroy(&st);
}

// A damaged descriptor that lands in the same slot of a reader's cache as a
// sound one must not disturb it (the slot was once half overwritten).
static void
test_a_damaged_descriptor_leaves_the_readers_cache_sound(void)
{
    hub_store_t *st = s_new_store(1);
    const void *rec;
    size_t len;
    uint8_t kb[32], ka[32];
    CU_ASSERT_EQUAL_FATAL(hub_store_record_raw(st, HUB_STORE_AUDIT, 1, &rec, &len), HUB_OK);
    uint8_t *raw = malloc(len);
    memcpy(raw, rec, len);
    size_t raw_len = len;
    CU_ASSERT_EQUAL_FATAL(hub_mpr_get_bin(raw, raw_len, "disclosure", kb, 32), HUB_OK);
    hub_store_destroy(&st);
    // KA: the same first byte (the same slot), a descriptor with long values
    // and a stray byte after it; record 3 names it.
    memcpy(ka, kb, 32);
    ka[31] ^= 1;
    hub_buf_t bad = HUB_BUF_INIT;
    hub_mpw_t w;
    hub_mpw_init(&w, &bad);
    hub_mpw_map(&w, 5);
    static const char *const keys[] = {"fields", "legal_bases", "purposes", "rules", "ruleset"};
    char *big = calloc(1, 3001);
    memset(big, 'x', 3000);
    for (int i = 0; i < 5; i++) {
        hub_mpw_cstr(&w, keys[i]);
        hub_mpw_cstr(&w, big);
    }
    hub_mpw_raw(&w, "\xc0", 1);
    free(big);
    uint8_t *at = NULL;
    for (size_t i = 0; !at && i + 32 <= raw_len; i++) {
        at = memcmp(raw + i, kb, 32) == 0 ? raw + i : NULL;
    }
    CU_ASSERT_FATAL(at != NULL);
    memcpy(at, ka, 32);
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi disc, audit;
    uint8_t seq3[8] = {0, 0, 0, 0, 0, 0, 0, 3};
    MDB_val k1 = {32, ka}, v1 = {bad.len, bad.data}, k2 = {8, seq3}, v2 = {raw_len, raw};
    CU_ASSERT_FATAL(mdb_env_create(&env) == 0 && mdb_env_set_maxdbs(env, 16) == 0 &&
                    mdb_env_open(env, s_f.dir, 0, 0600) == 0);
    CU_ASSERT_FATAL(mdb_txn_begin(env, NULL, 0, &txn) == 0 &&
                    mdb_dbi_open(txn, "disclosure", 0, &disc) == 0 &&
                    mdb_dbi_open(txn, "audit", 0, &audit) == 0);
    CU_ASSERT(mdb_put(txn, disc, &k1, &v1, 0) == 0 && mdb_put(txn, audit, &k2, &v2, 0) == 0);
    CU_ASSERT(mdb_txn_commit(txn) == 0);
    mdb_env_close(env);
    hub_buf_free(&bad);
    free(raw);

    CU_ASSERT_EQUAL_FATAL(hub_store_open(&st, s_f.dir, 0, HUB_STORE_RDONLY, NULL, NULL), HUB_OK);
    CU_ASSERT_EQUAL_FATAL(hub_store_record(st, HUB_STORE_AUDIT, 1, &rec, &len), HUB_OK);
    uint8_t *first = malloc(len);
    memcpy(first, rec, len);
    size_t first_len = len;
    CU_ASSERT_EQUAL(hub_store_record(st, HUB_STORE_AUDIT, 3, &rec, &len), HUB_EIO);
    CU_ASSERT_EQUAL_FATAL(hub_store_record(st, HUB_STORE_AUDIT, 1, &rec, &len), HUB_OK);
    CU_ASSERT(len == first_len && memcmp(rec, first, len) == 0);
    free(first);
    hub_store_destroy(&st);
}

// A store written by format 2 (no disclosure database; records that hold
// their disclosures themselves) is read as it is and upgraded when opened
// to write.
static void
test_a_format_2_store_is_read_and_upgraded(void)
{
    hub_store_t *st = s_new_store(0);
    hub_store_destroy(&st);
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi meta, disc;
    uint8_t two = 2;
    MDB_val k = {6, (void *) "format"}, v = {1, &two};
    CU_ASSERT_FATAL(mdb_env_create(&env) == 0 && mdb_env_set_maxdbs(env, 16) == 0 &&
                    mdb_env_open(env, s_f.dir, 0, 0600) == 0);
    CU_ASSERT_FATAL(mdb_txn_begin(env, NULL, 0, &txn) == 0 &&
                    mdb_dbi_open(txn, "meta", 0, &meta) == 0 &&
                    mdb_dbi_open(txn, "disclosure", 0, &disc) == 0);
    CU_ASSERT(mdb_put(txn, meta, &k, &v, 0) == 0 && mdb_drop(txn, disc, 1) == 0);
    CU_ASSERT(mdb_txn_commit(txn) == 0);
    mdb_env_close(env);
    CU_ASSERT_EQUAL_FATAL(hub_store_open(&st, s_f.dir, 0, HUB_STORE_RDONLY, NULL, NULL), HUB_OK);
    s_verify(st, HUB_OK, NULL);
    hub_store_destroy(&st);
    CU_ASSERT_EQUAL_FATAL(hub_store_open(&st, s_f.dir, 0, 0, s_key, NULL), HUB_OK);
    CU_ASSERT_EQUAL_FATAL(hub_store_begin(st), HUB_OK);
    s_ingest(st, 1, 2);
    CU_ASSERT_EQUAL_FATAL(hub_store_commit(st), HUB_OK);
    s_verify(st, HUB_OK, NULL);
    hub_store_destroy(&st);
    CU_ASSERT_EQUAL(s_raw(s_f.dir, "disclosure", -2), 2);
}

// Ingest counts endpoint sequences in memory for the batch (hub_store_epc):
// an ack in the same batch sees them, later deliveries go on from them, and
// a batch that does not commit leaves the cursors as they were.
static void
test_endpoint_sequences_counted_in_a_batch_are_seen_and_kept_only_by_a_commit(void)
{
    hub_store_t *st = NULL;
    uint64_t acked = 0, last = 0;
    CU_ASSERT_EQUAL_FATAL(hub_store_open(&st, tu_store_dir(&s_f), 0, 0, s_key, NULL), HUB_OK);
    CU_ASSERT_EQUAL_FATAL(hub_store_begin(st), HUB_OK);
    s_ingest(st, 1, 3);
    CU_ASSERT_EQUAL_FATAL(hub_route_count(s_f.route), 2);
    const char *ep = hub_route_at(s_f.route, 0)->endpoint->id;
    const char *other = hub_route_at(s_f.route, 1)->endpoint->id;
    CU_ASSERT_EQUAL(hub_store_ack(st, ep, 2), HUB_OK); // 3 exists, though not yet put
    CU_ASSERT_EQUAL(hub_store_ack(st, ep, 4), HUB_EINVAL);
    CU_ASSERT_EQUAL_FATAL(hub_store_begin(st), HUB_EINVAL); // still the same batch
    s_ingest(st, 4, 2);
    CU_ASSERT_EQUAL_FATAL(hub_store_commit(st), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_endpoint_state(st, ep, &acked, &last), HUB_OK);
    CU_ASSERT_EQUAL(acked, 2);
    CU_ASSERT_EQUAL(last, 5);
    CU_ASSERT_EQUAL(hub_store_endpoint_state(st, other, &acked, &last), HUB_OK);
    CU_ASSERT_EQUAL(acked, 0);
    CU_ASSERT_EQUAL(last, 5);
    hub_store_delivery_t ds[8];
    size_t n = 0;
    CU_ASSERT_EQUAL(hub_store_pending(st, ep, 0, ds, 8, &n), HUB_OK);
    CU_ASSERT_EQUAL(n, 5);
    for (size_t i = 0; i < n; i++) {
        CU_ASSERT_EQUAL(ds[i].eseq, i + 1);
    }
    CU_ASSERT_EQUAL_FATAL(hub_store_begin(st), HUB_OK);
    s_ingest(st, 6, 2);
    hub_store_abort(st);
    CU_ASSERT_EQUAL_FATAL(hub_store_begin(st), HUB_OK);
    s_ingest(st, 8, 1);
    CU_ASSERT_EQUAL_FATAL(hub_store_commit(st), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_endpoint_state(st, ep, &acked, &last), HUB_OK);
    CU_ASSERT_EQUAL(last, 6); // the aborted batch's 6 and 7 were never given
    CU_ASSERT_EQUAL(hub_store_pending(st, ep, 5, ds, 8, &n), HUB_OK);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_EQUAL(n ? ds[0].eseq : 0, 6);
    s_verify(st, HUB_OK, NULL);
    hub_store_destroy(&st);
}

// The writer knows a descriptor by pointers into the rule set that routed
// the message and the set's serial: the same rules loaded again (new
// pointers, new serial) still name the same descriptors.
static void
test_the_same_rules_loaded_again_name_the_same_descriptors(void)
{
    hub_rules_t *again = NULL, *first = s_f.rules;
    hub_diag_t *diag = hub_diag_new();
    CU_ASSERT_EQUAL_FATAL(hub_rules_load(&again, "config", tu_schemas(), s_f.depts, diag), HUB_OK);
    CU_ASSERT(hub_rules_serial(first) != 0 && hub_rules_serial(again) != 0);
    CU_ASSERT(hub_rules_serial(first) != hub_rules_serial(again));
    hub_store_t *st = NULL;
    CU_ASSERT_EQUAL_FATAL(hub_store_open(&st, tu_store_dir(&s_f), 0, 0, s_key, NULL), HUB_OK);
    CU_ASSERT_EQUAL_FATAL(hub_store_begin(st), HUB_OK);
    s_ingest(st, 1, 2);
    CU_ASSERT_EQUAL(hub_route_rules_serial(s_f.route), hub_rules_serial(first));
    s_f.rules = again;
    s_ingest(st, 3, 2);
    CU_ASSERT_EQUAL(hub_route_rules_serial(s_f.route), hub_rules_serial(again));
    s_f.rules = first;
    CU_ASSERT_EQUAL_FATAL(hub_store_commit(st), HUB_OK);
    uint8_t k1[32], k3[32];
    const void *rec;
    size_t len;
    CU_ASSERT_EQUAL_FATAL(hub_store_record_raw(st, HUB_STORE_AUDIT, 1, &rec, &len), HUB_OK);
    CU_ASSERT_EQUAL_FATAL(hub_mpr_get_bin(rec, len, "disclosure", k1, 32), HUB_OK);
    CU_ASSERT_EQUAL_FATAL(hub_store_record_raw(st, HUB_STORE_AUDIT, 5, &rec, &len), HUB_OK);
    CU_ASSERT_EQUAL_FATAL(hub_mpr_get_bin(rec, len, "disclosure", k3, 32), HUB_OK);
    CU_ASSERT_EQUAL(memcmp(k1, k3, 32), 0);
    s_verify(st, HUB_OK, NULL);
    hub_store_destroy(&st);
    CU_ASSERT_EQUAL(s_raw(s_f.dir, "disclosure", -2), 2);
    hub_rules_destroy(&again);
    hub_diag_destroy(&diag);
}

// Preparing apart from applying (two threads in hubd): prepared bytes hold
// all they need, so the route and message may be reused before they are
// applied; bytes that are not a prepared message are refused.
static void
test_a_prepared_message_stands_alone_and_bad_bytes_are_refused(void)
{
    hub_store_t *st = NULL, *ref = NULL;
    hub_store_prep_t *prep = NULL;
    hub_buf_t one = {0}, two = {0};
    hub_store_result_t res;
    CU_ASSERT_EQUAL_FATAL(hub_store_open(&st, tu_store_dir(&s_f), 0, 0, s_key, NULL), HUB_OK);
    CU_ASSERT_EQUAL_FATAL(hub_store_prep_new(&prep, st), HUB_OK);
    for (int i = 1; i <= 2; i++) {
        char id[33];
        snprintf(id, sizeof id, "%032x", i);
        hub_msg_set_env_str(s_f.msg, HUB_ENV_ID, id);
        CU_ASSERT_EQUAL_FATAL(
            hub_route_run(s_f.route, s_f.rules, s_f.depts, tu_schemas(), s_f.msg, s_key, NULL),
            HUB_OK);
        s_f.enc.len = 0;
        CU_ASSERT_EQUAL_FATAL(hub_codec_encode(s_f.msg, &s_f.enc), HUB_OK);
        hub_store_ingest_t in = {hub_msg_env_str(s_f.msg, HUB_ENV_SOURCE),
                                 id,
                                 hub_msg_env_str(s_f.msg, HUB_ENV_TYPE),
                                 s_f.enc.data,
                                 s_f.enc.len,
                                 s_cid,
                                 "v1",
                                 999 + (uint64_t) i,
                                 s_f.route,
                                 NULL,
                                 NULL};
        CU_ASSERT_EQUAL_FATAL(hub_store_prepare(prep, &in, i == 1 ? &one : &two), HUB_OK);
    }
    CU_ASSERT_EQUAL_FATAL(hub_store_begin(st), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_apply(st, one.data, 3, &res), HUB_EINVAL); // a cut header
    CU_ASSERT_EQUAL(hub_store_apply(st, one.data, one.len, &res), HUB_OK);
    CU_ASSERT_EQUAL(res.deliveries, 2);
    CU_ASSERT_EQUAL(hub_store_apply(st, two.data, two.len, &res), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_apply(st, two.data, two.len, &res), HUB_OK);
    CU_ASSERT(res.duplicate);
    // A key flag it does not know (after the message: which keys follow)
    // is refused before anything is written; the batch goes on.
    size_t at = strlen((char *) one.data) + 1;            // source
    at += strlen((char *) one.data + at) + 1;             // id
    at += strlen((char *) one.data + at) + 1;             // type
    at += 1 + strlen((char *) one.data + at + 1) + 1 + 8; // the rule-set version, now_ms
    uint32_t mlen;
    memcpy(&mlen, one.data + at, sizeof mlen);
    at += sizeof mlen + mlen;
    CU_ASSERT_EQUAL_FATAL(one.data[at], 1); // a subject key, no event key
    one.data[at] = 1 | 4;
    CU_ASSERT_EQUAL(hub_store_apply(st, one.data, one.len, &res), HUB_EINVAL);
    one.data[at] = 1;
    CU_ASSERT_EQUAL_FATAL(hub_store_commit(st), HUB_OK);
    // The same two messages ingested the ordinary way give the same records.
    CU_ASSERT_EQUAL_FATAL(hub_store_open(&ref, tu_store_dir(&s_f), 0, 0, s_key, NULL), HUB_OK);
    CU_ASSERT_EQUAL_FATAL(hub_store_begin(ref), HUB_OK);
    s_ingest(ref, 1, 2);
    CU_ASSERT_EQUAL_FATAL(hub_store_commit(ref), HUB_OK);
    for (uint64_t seq = 1; seq <= 4; seq++) {
        const void *a, *b;
        size_t alen, blen;
        CU_ASSERT_EQUAL_FATAL(hub_store_record_raw(st, HUB_STORE_AUDIT, seq, &a, &alen), HUB_OK);
        uint8_t *copy = malloc(alen);
        memcpy(copy, a, alen);
        CU_ASSERT_EQUAL_FATAL(hub_store_record_raw(ref, HUB_STORE_AUDIT, seq, &b, &blen), HUB_OK);
        CU_ASSERT(alen == blen && memcmp(copy, b, alen) == 0);
        free(copy);
    }
    s_verify(st, HUB_OK, NULL);
    // A prepared message cut inside its deliveries breaks the batch.
    hub_store_destroy(&st);
    CU_ASSERT_EQUAL_FATAL(hub_store_open(&st, tu_store_dir(&s_f), 0, 0, s_key, NULL), HUB_OK);
    CU_ASSERT_EQUAL_FATAL(hub_store_begin(st), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_apply(st, one.data, one.len - 1, &res), HUB_EINVAL);
    CU_ASSERT_EQUAL(hub_store_commit(st), HUB_EINVAL);
    CU_ASSERT_EQUAL(tu_store_last(st, HUB_STORE_AUDIT), 0);
    hub_buf_free(&one);
    hub_buf_free(&two);
    hub_store_prep_destroy(&prep);
    hub_store_destroy(&ref);
    hub_store_destroy(&st);
}

void
test_store_disc_register(void)
{
    CU_pSuite s = CU_add_suite("store_disc", s_init, s_cleanup);
    CU_add_test(s, "a descriptor is stored once and named by its hash",
                test_a_descriptor_is_stored_once_and_named_by_its_hash);
    CU_add_test(s, "a batch that does not commit takes its descriptors with it",
                test_a_batch_that_does_not_commit_takes_its_descriptors_with_it);
    CU_add_test(s, "an altered or missing descriptor is found",
                test_an_altered_or_missing_descriptor_is_found);
    CU_add_test(s, "a damaged descriptor leaves the reader's cache sound",
                test_a_damaged_descriptor_leaves_the_readers_cache_sound);
    CU_add_test(s, "a format 2 store is read and upgraded",
                test_a_format_2_store_is_read_and_upgraded);
    CU_add_test(s, "endpoint sequences counted in a batch are seen, and kept only by a commit",
                test_endpoint_sequences_counted_in_a_batch_are_seen_and_kept_only_by_a_commit);
    CU_add_test(s, "the same rules loaded again name the same descriptors",
                test_the_same_rules_loaded_again_name_the_same_descriptors);
    CU_add_test(s, "a prepared message stands alone, and bad bytes are refused",
                test_a_prepared_message_stands_alone_and_bad_bytes_are_refused);
}
