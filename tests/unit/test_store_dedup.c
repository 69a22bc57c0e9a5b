// The dedup window (hub_store_dedup.c) on a real LMDB environment: a
// message's (source, id) remembered in `dedup_seq`, in arrival order, and
// in a table in memory that follows each batch (taken back when it aborts,
// purged when it commits), rebuilt when the store is reopened; a format-3
// store's entries moved on its first writable opening; damage reported.
#include "hub_error.h"
#include "hub_mpr.h"
#include "hub_mpw.h"
#include "hub_store.h"
#include "suites.h"
#include "testutil.h"

#include <CUnit/CUnit.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static tu_store_fix_t s_f;

static const uint8_t s_key[32] = {7, 7, 7};

static int
s_init(void)
{
    return tu_store_init(&s_f, "dedup");
}

static int
s_cleanup(void)
{
    return tu_store_cleanup(&s_f);
}

static hub_store_t *
s_open(const char *dir)
{
    hub_store_t *st = NULL;
    hub_diag_t *diag = hub_diag_new();
    int rc = hub_store_open(&st, dir, 0, 0, s_key, diag);
    hub_diag_print(diag, stderr);
    hub_diag_destroy(&diag);
    CU_ASSERT_EQUAL(rc, HUB_OK);
    return st;
}

// The id of message N: a hash-like string, so ids come in no key order.
static void
s_set_id(uint64_t n)
{
    uint64_t x = n * 0x9e3779b97f4a7c15ull;
    x ^= x >> 29;
    char id[40];
    snprintf(id, sizeof id, "%016llx-%llu", (unsigned long long) x, (unsigned long long) n);
    hub_msg_set_env_str(s_f.msg, HUB_ENV_ID, id);
}

// Ingests message N (a dropout) received at NOW into ST's open batch.
static hub_store_result_t
s_ingest(hub_store_t *st, uint64_t n, uint64_t now)
{
    hub_store_result_t res = {0};
    s_set_id(n);
    const hub_val_t *cid = hub_msg_subj(s_f.msg, HUB_SUBJ_CITIZEN_ID);
    CU_ASSERT_EQUAL(tu_store_ingest(&s_f, st, s_key, cid->kind == HUB_VAL_STR ? cid->u.s : NULL,
                                    hub_rules_version(s_f.rules), now, &res),
                    HUB_OK);
    return res;
}

// Ingests messages FIRST..FIRST+N-1 in one committed batch; returns how
// many were taken as duplicates.
static size_t
s_batch(hub_store_t *st, uint64_t first, size_t n, uint64_t now)
{
    size_t dups = 0;
    CU_ASSERT_EQUAL_FATAL(hub_store_begin(st), HUB_OK);
    for (size_t i = 0; i < n; i++) {
        dups += s_ingest(st, first + i, now + i).duplicate;
    }
    CU_ASSERT_EQUAL_FATAL(hub_store_commit(st), HUB_OK);
    return dups;
}

// Entries in database DB of the store in DIR, read with LMDB itself.
static size_t
s_entries(const char *dir, const char *db)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_stat stat = {0};
    CU_ASSERT_EQUAL_FATAL(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 16);
    CU_ASSERT_EQUAL_FATAL(mdb_env_open(env, dir, MDB_RDONLY, 0600), 0);
    CU_ASSERT_EQUAL_FATAL(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
    if (mdb_dbi_open(txn, db, 0, &dbi) == 0) {
        mdb_stat(txn, dbi, &stat);
    }
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return stat.ms_entries;
}

// Meta "format" of the store in DIR (a positive fixint), or -1.
static int
s_format(const char *dir)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_val k = {6, "format"}, v = {0, NULL};
    int format = -1;
    CU_ASSERT_EQUAL_FATAL(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 16);
    CU_ASSERT_EQUAL_FATAL(mdb_env_open(env, dir, MDB_RDONLY, 0600), 0);
    CU_ASSERT_EQUAL_FATAL(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
    if (mdb_dbi_open(txn, "meta", 0, &dbi) == 0 && mdb_get(txn, dbi, &k, &v) == 0 &&
        v.mv_size == 1) {
        format = *(const uint8_t *) v.mv_data;
    }
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return format;
}

// ---------------------------------------------------------------- tests

// Ids in no order, thousands of them (many leaves of dedup_seq): each is
// taken once; a resend is caught in the same batch, in a later one, and
// after the store is reopened (the table rebuilt from dedup_seq).
static void
test_resends_are_caught_in_the_batch_later_and_after_reopening(void)
{
    tu_dropout(s_f.msg);
    const char *dir = tu_store_dir(&s_f);
    hub_store_t *st = s_open(dir);
    CU_ASSERT_EQUAL(s_batch(st, 0, 3000, 1700000000000), 0);
    CU_ASSERT_EQUAL(hub_store_dedup_size(st), 3000);
    CU_ASSERT_EQUAL_FATAL(hub_store_begin(st), HUB_OK);
    hub_store_result_t a = s_ingest(st, 5000, 1700000005000);
    hub_store_result_t b = s_ingest(st, 5000, 1700000005001); // the same batch
    hub_store_result_t c = s_ingest(st, 1234, 1700000005002); // an earlier batch
    CU_ASSERT_EQUAL_FATAL(hub_store_commit(st), HUB_OK);
    CU_ASSERT(!a.duplicate && b.duplicate && c.duplicate);
    CU_ASSERT_EQUAL(b.log_seq, a.log_seq);
    CU_ASSERT_EQUAL(c.log_seq, 1235); // the log seq it was first logged at
    hub_store_destroy(&st);
    st = s_open(dir);
    CU_ASSERT_EQUAL(hub_store_dedup_size(st), 0); // loaded when first needed
    CU_ASSERT_EQUAL(s_batch(st, 0, 3000, 1700000010000), 3000);
    CU_ASSERT_EQUAL(hub_store_dedup_size(st), 3001);
    CU_ASSERT_EQUAL(s_batch(st, 3000, 10, 1700000010000), 0);
    CU_ASSERT_EQUAL(s_entries(dir, "dedup_seq"), 3011);
    CU_ASSERT_EQUAL(s_entries(dir, "dedup"), 0); // only event entries go there
    hub_store_destroy(&st);
}

// A batch that does not commit takes its claims back: its ids are new
// again, while the committed ones stay duplicates.
static void
test_an_aborted_batch_takes_its_claims_back(void)
{
    tu_dropout(s_f.msg);
    hub_store_t *st = s_open(tu_store_dir(&s_f));
    CU_ASSERT_EQUAL(s_batch(st, 0, 100, 1700000000000), 0);
    CU_ASSERT_EQUAL_FATAL(hub_store_begin(st), HUB_OK);
    for (uint64_t i = 100; i < 600; i++) {
        CU_ASSERT_FALSE(s_ingest(st, i, 1700000001000).duplicate);
    }
    CU_ASSERT_EQUAL(hub_store_dedup_size(st), 600);
    hub_store_abort(st);
    CU_ASSERT_EQUAL(hub_store_dedup_size(st), 100);
    CU_ASSERT_EQUAL(s_batch(st, 100, 500, 1700000002000), 0);
    CU_ASSERT_EQUAL(s_batch(st, 0, 600, 1700000003000), 600);
    hub_store_destroy(&st);
}

// The purge goes from the oldest entry while it is older than the window,
// MAX at a time (more than a page of entries per slice); a purge whose
// batch aborts forgets nothing.
static void
test_the_purge_forgets_from_the_oldest_and_only_when_it_commits(void)
{
    tu_dropout(s_f.msg);
    hub_store_t *st = s_open(tu_store_dir(&s_f));
    CU_ASSERT_EQUAL(s_batch(st, 0, 2000, 1700000000000), 0); // received at +i ms
    size_t purged = 0;
    bool more = false;
    CU_ASSERT_EQUAL_FATAL(hub_store_begin(st), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_dedup_purge(st, 1700000001500, 5000, &purged, &more), HUB_OK);
    CU_ASSERT_EQUAL(purged, 1500);
    hub_store_abort(st);
    CU_ASSERT_EQUAL(hub_store_dedup_size(st), 2000);
    CU_ASSERT_EQUAL(s_batch(st, 0, 2000, 1700000002000), 2000); // all still known
    size_t total = 0, slices = 0;
    for (more = true; more && slices < 10; slices++) {
        CU_ASSERT_EQUAL_FATAL(hub_store_begin(st), HUB_OK);
        CU_ASSERT_EQUAL(hub_store_dedup_purge(st, 1700000001500, 600, &purged, &more), HUB_OK);
        CU_ASSERT_EQUAL_FATAL(hub_store_commit(st), HUB_OK);
        total += purged;
    }
    CU_ASSERT_EQUAL(total, 1500);
    CU_ASSERT_EQUAL(slices, 3); // 600, 600, 300
    CU_ASSERT_EQUAL(hub_store_dedup_size(st), 500);
    CU_ASSERT_EQUAL(s_batch(st, 1490, 20, 1700000003000), 10); // 1500.. are still known
    hub_store_destroy(&st);
}

// Writes format-3 dedup entries (source "\0" id -> {log_seq, received_ms})
// for ids 0..N-1 (log seqs 1000..) straight into the store in DIR, with
// meta format 3, and a log record (an empty map) at the last of those log
// seqs: a dedup entry always names a logged message.
static void
s_write_format3(const char *dir, size_t n)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dedup, meta, log;
    CU_ASSERT_EQUAL_FATAL(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 16);
    CU_ASSERT_EQUAL_FATAL(mdb_env_open(env, dir, 0, 0600), 0);
    CU_ASSERT_EQUAL_FATAL(mdb_txn_begin(env, NULL, 0, &txn), 0);
    CU_ASSERT_EQUAL_FATAL(mdb_dbi_open(txn, "dedup", 0, &dedup), 0);
    CU_ASSERT_EQUAL_FATAL(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    CU_ASSERT_EQUAL_FATAL(mdb_dbi_open(txn, "log", 0, &log), 0);
    uint8_t lk[8] = {0}, empty = 0x80;
    uint64_t last = 1000 + n - 1;
    for (int i = 0; i < 8; i++) {
        lk[7 - i] = (uint8_t) (last >> (8 * i));
    }
    MDB_val lkey = {8, lk}, lval = {1, &empty};
    CU_ASSERT_EQUAL(mdb_put(txn, log, &lkey, &lval, 0), 0);
    for (size_t i = 0; i < n; i++) {
        uint8_t kb[128], vb[64];
        hub_buf_t v = {vb, 0, sizeof vb};
        hub_mpw_t w;
        hub_mpw_init(&w, &v);
        hub_mpw_map(&w, 2);
        hub_mpw_cstr(&w, "log_seq");
        hub_mpw_uint(&w, 1000 + i);
        hub_mpw_cstr(&w, "received_ms");
        hub_mpw_uint(&w, 1600000000000 + i);
        s_set_id(i);
        const char *id = hub_msg_env_str(s_f.msg, HUB_ENV_ID);
        int klen = snprintf((char *) kb, sizeof kb, "education%c%s", 0, id);
        MDB_val k = {(size_t) klen, kb}, val = {v.len, vb};
        CU_ASSERT_EQUAL(mdb_put(txn, dedup, &k, &val, 0), 0);
    }
    uint8_t three = 3;
    MDB_val fk = {6, "format"}, fv = {1, &three};
    CU_ASSERT_EQUAL(mdb_put(txn, meta, &fk, &fv, 0), 0);
    CU_ASSERT_EQUAL_FATAL(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

// A format-3 store's entries move to dedup_seq at its first writable
// opening (over several transactions when there are many) and still catch
// resends; the event entries stay where they were.
static void
test_a_format3_stores_entries_move_and_still_catch_resends(void)
{
    tu_dropout(s_f.msg);
    const char *dir = tu_store_dir(&s_f);
    hub_store_t *st = s_open(dir); // a new store, then made to look older
    hub_store_destroy(&st);
    s_write_format3(dir, 70000);
    CU_ASSERT_EQUAL(s_entries(dir, "dedup"), 70000);
    st = s_open(dir);
    CU_ASSERT_EQUAL(s_entries(dir, "dedup"), 0);
    CU_ASSERT_EQUAL(s_entries(dir, "dedup_seq"), 70000);
    CU_ASSERT_EQUAL(s_format(dir), 6);
    CU_ASSERT_EQUAL_FATAL(hub_store_begin(st), HUB_OK);
    hub_store_result_t old = s_ingest(st, 69999, 1700000000000);
    hub_store_result_t fresh = s_ingest(st, 70000, 1700000000001);
    CU_ASSERT_EQUAL_FATAL(hub_store_commit(st), HUB_OK);
    CU_ASSERT(old.duplicate && old.log_seq == 1000 + 69999);
    CU_ASSERT(!fresh.duplicate && fresh.log_seq == 1000 + 70000);
    hub_store_destroy(&st);
}

// A damaged dedup_seq record is an error that names it, not a crash or a
// message taken twice.
static void
test_a_damaged_entry_is_an_error_naming_it(void)
{
    tu_dropout(s_f.msg);
    const char *dir = tu_store_dir(&s_f);
    hub_store_t *st = s_open(dir);
    CU_ASSERT_EQUAL(s_batch(st, 0, 3, 1700000000000), 0);
    hub_store_destroy(&st);
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    CU_ASSERT_EQUAL_FATAL(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 16);
    CU_ASSERT_EQUAL_FATAL(mdb_env_open(env, dir, 0, 0600), 0);
    CU_ASSERT_EQUAL_FATAL(mdb_txn_begin(env, NULL, 0, &txn), 0);
    CU_ASSERT_EQUAL_FATAL(mdb_dbi_open(txn, "dedup_seq", 0, &dbi), 0);
    uint8_t key[8] = {0, 0, 0, 0, 0, 0, 0, 2};
    MDB_val k = {8, key}, v = {3, "\x81\xa1x"};
    CU_ASSERT_EQUAL(mdb_put(txn, dbi, &k, &v, 0), 0);
    CU_ASSERT_EQUAL_FATAL(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    st = s_open(dir);
    CU_ASSERT_EQUAL_FATAL(hub_store_begin(st), HUB_OK);
    hub_store_result_t res;
    s_set_id(7);
    const hub_val_t *cid = hub_msg_subj(s_f.msg, HUB_SUBJ_CITIZEN_ID);
    CU_ASSERT_EQUAL(tu_store_ingest(&s_f, st, s_key, cid->u.s, hub_rules_version(s_f.rules),
                                    1700000000100, &res),
                    HUB_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(hub_store_last_error(st), "dedup_seq 2: a damaged record"));
    hub_store_abort(st);
    hub_store_destroy(&st);
}

void
test_store_dedup_register(void)
{
    CU_pSuite s = CU_add_suite("store_dedup", s_init, s_cleanup);
    CU_add_test(s, "resends are caught in the batch, later, and after reopening",
                test_resends_are_caught_in_the_batch_later_and_after_reopening);
    CU_add_test(s, "an aborted batch takes its claims back",
                test_an_aborted_batch_takes_its_claims_back);
    CU_add_test(s, "the purge forgets from the oldest, and only when it commits",
                test_the_purge_forgets_from_the_oldest_and_only_when_it_commits);
    CU_add_test(s, "a format-3 store's entries move and still catch resends",
                test_a_format3_stores_entries_move_and_still_catch_resends);
    CU_add_test(s, "a damaged entry is an error naming it",
                test_a_damaged_entry_is_an_error_naming_it);
}
