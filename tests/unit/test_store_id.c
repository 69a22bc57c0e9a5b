// The store's identity (hub_store.h, "the store's identity"; docs/STORE.md,
// meta "store_id") on a real LMDB environment in a temporary directory:
// made once with the store, kept across opens, readable read-only,
// replaced by a reissue, and added to a store older than it at its first
// writable open.
#include "hub_error.h"
#include "hub_store.h"
#include "suites.h"
#include "testutil.h"

#include <CUnit/CUnit.h>
#include <lmdb.h>
#include <stdbool.h>
#include <string.h>

static tu_store_fix_t s_f;

static const uint8_t s_key[32] = {9};

static int
s_init(void)
{
    return tu_store_init(&s_f, "store_id");
}

static int
s_cleanup(void)
{
    return tu_store_cleanup(&s_f);
}

static hub_store_t *
s_open(const char *dir, bool rdonly)
{
    hub_store_t *st = NULL;
    CU_ASSERT_EQUAL(
        hub_store_open(&st, dir, 0, rdonly ? HUB_STORE_RDONLY : 0, rdonly ? NULL : s_key, NULL),
        HUB_OK);
    return st;
}

// True when ID is 32 lower-case hex digits.
static bool
s_is_id(const char *id)
{
    return strlen(id) == 32 && strspn(id, "0123456789abcdef") == 32;
}

// The stored bytes of meta "store_id" in DIR into VAL (up to 64); their
// length, or -1 when there is none.
static int
s_raw_id(const char *dir, uint8_t val[64], bool drop)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi meta;
    MDB_val k = {8, (void *) "store_id"}, v;
    int n = -1;
    CU_ASSERT_FATAL(mdb_env_create(&env) == 0 && mdb_env_set_maxdbs(env, 16) == 0 &&
                    mdb_env_open(env, dir, 0, 0600) == 0);
    CU_ASSERT_FATAL(mdb_txn_begin(env, NULL, 0, &txn) == 0 &&
                    mdb_dbi_open(txn, "meta", 0, &meta) == 0);
    if (mdb_get(txn, meta, &k, &v) == 0 && v.mv_size <= 64) {
        memcpy(val, v.mv_data, v.mv_size);
        n = (int) v.mv_size;
    }
    if (drop) {
        CU_ASSERT(mdb_del(txn, meta, &k, NULL) == 0);
    }
    CU_ASSERT(mdb_txn_commit(txn) == 0);
    mdb_env_close(env);
    return n;
}

static void
test_a_new_store_gets_an_id_once_and_keeps_it(void)
{
    hub_store_t *st = s_open(tu_store_dir(&s_f), false);
    char id[33], again[33];
    CU_ASSERT_EQUAL_FATAL(hub_store_id(st, id), HUB_OK);
    CU_ASSERT(s_is_id(id));
    hub_store_destroy(&st);
    st = s_open(s_f.dir, false);
    CU_ASSERT_EQUAL(hub_store_id(st, again), HUB_OK);
    CU_ASSERT_STRING_EQUAL(again, id);
    hub_store_destroy(&st);
    // Stored as a canonical msgpack str: str 8 (0xd9), 32 bytes.
    uint8_t raw[64];
    CU_ASSERT_EQUAL_FATAL(s_raw_id(s_f.dir, raw, false), 34);
    CU_ASSERT(raw[0] == 0xd9 && raw[1] == 32 && memcmp(raw + 2, id, 32) == 0);
    // Another store has another id.
    hub_store_t *other = s_open(tu_store_dir(&s_f), false);
    CU_ASSERT_EQUAL(hub_store_id(other, again), HUB_OK);
    CU_ASSERT(s_is_id(again) && strcmp(again, id) != 0);
    hub_store_destroy(&other);
}

static void
test_a_read_only_handle_reads_the_id(void)
{
    hub_store_t *st = s_open(tu_store_dir(&s_f), false);
    char id[33], ro_id[33];
    CU_ASSERT_EQUAL_FATAL(hub_store_id(st, id), HUB_OK);
    hub_store_destroy(&st);
    hub_store_t *ro = s_open(s_f.dir, true);
    CU_ASSERT_EQUAL(hub_store_id(ro, ro_id), HUB_OK);
    CU_ASSERT_STRING_EQUAL(ro_id, id);
    char old[33], fresh[33];
    CU_ASSERT_EQUAL(hub_store_reissue_id(ro, old, fresh), HUB_EINVAL);
    CU_ASSERT_STRING_EQUAL(fresh, "");
    hub_store_destroy(&ro);
}

static void
test_a_reissue_replaces_the_id_durably(void)
{
    hub_store_t *st = s_open(tu_store_dir(&s_f), false);
    char id[33], old[33], fresh[33], now[33];
    CU_ASSERT_EQUAL_FATAL(hub_store_id(st, id), HUB_OK);
    CU_ASSERT_EQUAL_FATAL(hub_store_reissue_id(st, old, fresh), HUB_OK);
    CU_ASSERT_STRING_EQUAL(old, id);
    CU_ASSERT(s_is_id(fresh) && strcmp(fresh, id) != 0);
    CU_ASSERT_EQUAL(hub_store_id(st, now), HUB_OK);
    CU_ASSERT_STRING_EQUAL(now, fresh);
    hub_store_destroy(&st);
    st = s_open(s_f.dir, true);
    CU_ASSERT_EQUAL(hub_store_id(st, now), HUB_OK);
    CU_ASSERT_STRING_EQUAL(now, fresh);
    hub_store_destroy(&st);
}

static void
test_a_reissue_in_a_batch_commits_with_it_or_not_at_all(void)
{
    hub_store_t *st = s_open(tu_store_dir(&s_f), false);
    char id[33], old[33], fresh[33], now[33];
    CU_ASSERT_EQUAL_FATAL(hub_store_id(st, id), HUB_OK);
    // Abandoned with its batch (hubctl's, when the record of it fails).
    CU_ASSERT_EQUAL_FATAL(hub_store_begin(st), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_reissue_id(st, old, fresh), HUB_OK);
    CU_ASSERT_STRING_EQUAL(old, id);
    CU_ASSERT(s_is_id(fresh) && strcmp(fresh, id) != 0);
    CU_ASSERT_EQUAL(hub_store_id(st, now), HUB_OK); // what is committed
    CU_ASSERT_STRING_EQUAL(now, id);
    hub_store_abort(st);
    CU_ASSERT_EQUAL(hub_store_id(st, now), HUB_OK);
    CU_ASSERT_STRING_EQUAL(now, id);
    // Committed with its record.
    CU_ASSERT_EQUAL_FATAL(hub_store_begin(st), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_reissue_id(st, old, fresh), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_oplog_append(st, 1000, "alice", "store.reissue_id", NULL, 0, NULL),
                    HUB_OK);
    CU_ASSERT_EQUAL_FATAL(hub_store_commit(st), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_id(st, now), HUB_OK);
    CU_ASSERT_STRING_EQUAL(now, fresh);
    CU_ASSERT_EQUAL(tu_store_last(st, HUB_STORE_OPLOG), 1);
    hub_store_destroy(&st);
}

static void
test_an_older_store_gets_an_id_at_its_first_writable_open(void)
{
    hub_store_t *st = s_open(tu_store_dir(&s_f), false);
    char id[33];
    hub_store_destroy(&st);
    uint8_t raw[64];
    CU_ASSERT_EQUAL_FATAL(s_raw_id(s_f.dir, raw, true), 34); // as a store of before the id
    CU_ASSERT_EQUAL(s_raw_id(s_f.dir, raw, false), -1);
    st = s_open(s_f.dir, true);
    CU_ASSERT_EQUAL(hub_store_id(st, id), HUB_ENOTFOUND);
    CU_ASSERT_STRING_EQUAL(id, "");
    hub_store_destroy(&st);
    st = s_open(s_f.dir, false);
    CU_ASSERT_EQUAL(hub_store_id(st, id), HUB_OK);
    CU_ASSERT(s_is_id(id));
    hub_store_destroy(&st);
}

// A damaged id (not 32 hex digits) is an error to a reader and replaced at
// the next writable open.
static void
test_a_damaged_id_is_refused_by_readers_and_replaced_by_a_writer(void)
{
    hub_store_t *st = s_open(tu_store_dir(&s_f), false);
    char id[33], now[33];
    CU_ASSERT_EQUAL_FATAL(hub_store_id(st, id), HUB_OK);
    hub_store_destroy(&st);
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi meta;
    MDB_val k = {8, (void *) "store_id"}, v = {4, (void *) "\xa3xyz"};
    CU_ASSERT_FATAL(mdb_env_create(&env) == 0 && mdb_env_set_maxdbs(env, 16) == 0 &&
                    mdb_env_open(env, s_f.dir, 0, 0600) == 0);
    CU_ASSERT_FATAL(mdb_txn_begin(env, NULL, 0, &txn) == 0 &&
                    mdb_dbi_open(txn, "meta", 0, &meta) == 0);
    CU_ASSERT(mdb_put(txn, meta, &k, &v, 0) == 0 && mdb_txn_commit(txn) == 0);
    mdb_env_close(env);
    st = s_open(s_f.dir, true);
    CU_ASSERT_EQUAL(hub_store_id(st, now), HUB_EIO);
    CU_ASSERT(strstr(hub_store_last_error(st), "store_id") != NULL);
    hub_store_destroy(&st);
    st = s_open(s_f.dir, false);
    CU_ASSERT_EQUAL(hub_store_id(st, now), HUB_OK);
    CU_ASSERT(s_is_id(now) && strcmp(now, id) != 0);
    hub_store_destroy(&st);
}

void
test_store_id_register(void)
{
    CU_pSuite s = CU_add_suite("store_id", s_init, s_cleanup);
    CU_add_test(s, "a new store gets an id once and keeps it",
                test_a_new_store_gets_an_id_once_and_keeps_it);
    CU_add_test(s, "a read-only handle reads the id (and cannot reissue it)",
                test_a_read_only_handle_reads_the_id);
    CU_add_test(s, "a reissue replaces the id durably", test_a_reissue_replaces_the_id_durably);
    CU_add_test(s, "a reissue in a batch commits with it, or not at all",
                test_a_reissue_in_a_batch_commits_with_it_or_not_at_all);
    CU_add_test(s, "an older store gets an id at its first writable open",
                test_an_older_store_gets_an_id_at_its_first_writable_open);
    CU_add_test(s, "a damaged id is refused by readers and replaced by a writer",
                test_a_damaged_id_is_refused_by_readers_and_replaced_by_a_writer);
}
