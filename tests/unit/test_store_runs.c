// The subject index in sorted runs (hub_store_runs.c) on a real LMDB
// environment: whatever mix of runs, records not yet indexed and format
// 4's `audit_subject` holds a person's entries, a query by subject gives
// exactly the audit records about that person, ascending, a page at a
// time; the entries follow the batch (an aborted one leaves none), come
// back after a reopen, and go a whole run at a time with retention.
// The oracle is the audit records themselves, read one by one.
#include "hub_error.h"
#include "hub_mpr.h"
#include "hub_store.h"
#include "suites.h"
#include "testutil.h"

#include <CUnit/CUnit.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_PEOPLE 37
#define S_RUN 64 // entries per run in these tests: many runs from a few hundred records

static tu_store_fix_t s_f;
static size_t s_per; // audit records per message (a dropout reaches several endpoints)

static const uint8_t s_key[32] = {9, 9, 9};

static int
s_init(void)
{
    if (tu_store_init(&s_f, "runs")) {
        return 1;
    }
    tu_dropout(s_f.msg);
    int rc = hub_route_run(s_f.route, s_f.rules, s_f.depts, tu_schemas(), s_f.msg, s_key, NULL);
    s_per = rc ? 0 : hub_route_count(s_f.route);
    return s_per < 2;
}

static int
s_cleanup(void)
{
    return tu_store_cleanup(&s_f);
}

static hub_store_t *
s_open(const char *dir, unsigned flags)
{
    hub_store_t *st = NULL;
    hub_diag_t *diag = hub_diag_new();
    int rc = hub_store_open(&st, dir, 0, flags, s_key, diag);
    hub_diag_print(diag, stderr);
    hub_diag_destroy(&diag);
    CU_ASSERT_EQUAL_FATAL(rc, HUB_OK);
    if (!flags) {
        hub_store_set_run_size(st, S_RUN);
    }
    return st;
}

// The citizen ID of person P (the store only hashes it).
static void
s_cid(unsigned p, char out[24])
{
    snprintf(out, 24, "5134292014%08u", p);
}

// Message N, about person N * 7 % S_PEOPLE (so people come in no order),
// received at 1000 + N ms.
static void
s_ingest(hub_store_t *st, uint64_t n)
{
    char id[32], cid[24];
    snprintf(id, sizeof id, "runs-%llu", (unsigned long long) n);
    hub_msg_set_env_str(s_f.msg, HUB_ENV_ID, id);
    s_cid((unsigned) (n * 7 % S_PEOPLE), cid);
    hub_store_result_t res = {0};
    CU_ASSERT_EQUAL(
        tu_store_ingest(&s_f, st, s_key, cid, hub_rules_version(s_f.rules), 1000 + n, &res),
        HUB_OK);
}

// Messages FIRST.. FIRST+N-1, a batch of at most BATCH at a time.
static void
s_ingest_range(hub_store_t *st, uint64_t first, size_t n, size_t batch)
{
    for (size_t i = 0; i < n;) {
        CU_ASSERT_EQUAL_FATAL(hub_store_begin(st), HUB_OK);
        for (size_t j = 0; j < batch && i < n; j++, i++) {
            s_ingest(st, first + i);
        }
        int rc = hub_store_commit(st);
        if (rc) {
            fprintf(stderr, "commit: %s\n", hub_store_last_error(st));
        }
        CU_ASSERT_EQUAL_FATAL(rc, HUB_OK);
    }
}

// Every person's audit seqs as the records have them, compared with what
// the index answers in pages of PAGE. Returns how many records were found.
static size_t
s_check(hub_store_t *st, size_t page)
{
    uint64_t first = 1, last = tu_store_last(st, HUB_STORE_AUDIT);
    uint8_t prev[32];
    CU_ASSERT_EQUAL_FATAL(hub_store_audit_base(st, &first, prev), HUB_OK);
    size_t total = 0;
    for (unsigned p = 0; p < S_PEOPLE; p++) {
        char cid[24];
        uint8_t subj[32], rs[32];
        s_cid(p, cid);
        CU_ASSERT_EQUAL_FATAL(hub_store_subject_key(st, cid, subj), HUB_OK);
        // What the index says, a page at a time.
        uint64_t got[4096], after = 0;
        size_t ngot = 0, n;
        do {
            CU_ASSERT_EQUAL_FATAL(hub_store_audit_by_subject(st, subj, after, got + ngot, page, &n),
                                  HUB_OK);
            ngot += n;
            after = n ? got[ngot - 1] : after;
        } while (n == page && ngot + page <= 4096);
        // What the records say.
        size_t k = 0;
        bool same = true;
        for (uint64_t seq = first; seq <= last; seq++) {
            const void *rec;
            size_t len;
            CU_ASSERT_EQUAL_FATAL(hub_store_record_raw(st, HUB_STORE_AUDIT, seq, &rec, &len),
                                  HUB_OK);
            if (hub_mpr_get_bin(rec, len, "subject", rs, 32) == HUB_OK &&
                memcmp(rs, subj, 32) == 0) {
                same &= k < ngot && got[k] == seq;
                k++;
            }
        }
        CU_ASSERT(same && k == ngot);
        if (!same || k != ngot) {
            fprintf(stderr, "person %u: %zu records, the index gave %zu\n", p, k, ngot);
        }
        total += k;
    }
    return total;
}

// Entries in database DB of the store in DIR, read with LMDB itself; *LOW
// gets the first key's leading u64 (the first run's start).
static size_t
s_entries(const char *dir, const char *db, uint64_t *low)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_cursor *c;
    MDB_stat stat = {0};
    MDB_val k, v;
    CU_ASSERT_EQUAL_FATAL(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 32);
    CU_ASSERT_EQUAL_FATAL(mdb_env_open(env, dir, MDB_RDONLY, 0600), 0);
    CU_ASSERT_EQUAL_FATAL(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
    if (low) {
        *low = 0;
    }
    if (mdb_dbi_open(txn, db, 0, &dbi) == 0) {
        mdb_stat(txn, dbi, &stat);
        if (low && mdb_cursor_open(txn, dbi, &c) == 0) {
            if (mdb_cursor_get(c, &k, &v, MDB_FIRST) == 0 && k.mv_size >= 8) {
                for (int i = 0; i < 8; i++) {
                    *low = *low << 8 | ((const uint8_t *) k.mv_data)[i];
                }
            }
            mdb_cursor_close(c);
        }
    }
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return stat.ms_entries;
}

// ---------------------------------------------------------------- tests

// Runs, the records after the last run, and pages that end inside a run
// or between them: each person gets exactly their records, ascending;
// after a reopen (the entries not yet in a run read back from the
// records) and from a read-only handle alike.
static void
test_queries_find_each_record_in_runs_and_after_them(void)
{
    tu_dropout(s_f.msg);
    const char *dir = tu_store_dir(&s_f);
    hub_store_t *st = s_open(dir, 0);
    s_ingest_range(st, 0, 500, 23);
    size_t all = s_check(st, 5);
    CU_ASSERT_EQUAL(all, 500 * s_per);
    CU_ASSERT_EQUAL(s_check(st, 256), all);
    size_t indexed = s_entries(dir, "audit_runs", NULL);
    CU_ASSERT(indexed > 0 && hub_store_subject_pending(st) < S_RUN + 2 * 23 * s_per);
    CU_ASSERT_EQUAL(indexed + hub_store_subject_pending(st), all);
    // audit_tail holds every entry not in a whole run; whole runs' entries
    // leave it at the pace of the batches.
    size_t tail = s_entries(dir, "audit_tail", NULL);
    CU_ASSERT(tail >= hub_store_subject_pending(st) && tail < all);
    hub_store_destroy(&st);

    hub_store_t *ro = s_open(dir, HUB_STORE_RDONLY);
    CU_ASSERT_EQUAL(s_check(ro, 3), all);
    hub_store_destroy(&ro);

    st = s_open(dir, 0);
    s_ingest_range(st, 500, 300, 41);
    CU_ASSERT_EQUAL(s_check(st, 7), 800 * s_per);
    CU_ASSERT(s_entries(dir, "audit_runs", NULL) > indexed);
    // Nothing goes to format 4's index any more.
    CU_ASSERT_EQUAL(s_entries(dir, "audit_subject", NULL), 0);
    hub_store_destroy(&st);
}

// A batch that does not commit leaves no entry behind, even when it would
// have written a run; the batches after it index as before.
static void
test_an_aborted_batch_leaves_no_entry(void)
{
    tu_dropout(s_f.msg);
    const char *dir = tu_store_dir(&s_f);
    hub_store_t *st = s_open(dir, 0);
    s_ingest_range(st, 0, 20, 20);
    CU_ASSERT_EQUAL_FATAL(hub_store_begin(st), HUB_OK);
    for (uint64_t n = 1000; n < 1100; n++) {
        s_ingest(st, n);
    }
    hub_store_abort(st);
    s_ingest_range(st, 20, 90, 30);
    CU_ASSERT_EQUAL(s_check(st, 4), 110 * s_per);
    hub_store_destroy(&st);
    st = s_open(dir, 0);
    CU_ASSERT_EQUAL(s_check(st, 4), 110 * s_per);
    hub_store_destroy(&st);
}

// A run written a slice per batch (twice what each batch notes: one
// message, two entries, here): while it is unfinished, queries (of this
// handle and of a read-only one) still find everything, through the scan;
// a handle that stops in the middle (a crash: nothing in memory survives)
// leaves a partial run that the next handle to note an entry removes, and
// the run is written again from `audit_tail`.
static void
test_a_run_goes_a_slice_per_batch_and_an_unfinished_one_is_redone(void)
{
    const char *dir = tu_store_dir(&s_f);
    hub_store_t *st = s_open(dir, 0);
    s_ingest_range(st, 0, 40, 40); // 80 entries: a run, written at the next commits
    CU_ASSERT_EQUAL(s_entries(dir, "audit_runs", NULL), 0);
    s_ingest_range(st, 40, 10, 1); // 10 batches: 4 entries of the run each
    size_t partial = s_entries(dir, "audit_runs", NULL);
    CU_ASSERT_EQUAL(partial, 40);
    CU_ASSERT_EQUAL(s_check(st, 5), 50 * s_per);
    hub_store_t *ro = s_open(dir, HUB_STORE_RDONLY);
    CU_ASSERT_EQUAL(s_check(ro, 5), 50 * s_per);
    hub_store_destroy(&ro);
    hub_store_destroy(&st); // as a kill -9 would: the run is not finished

    // Opening to write leaves it (hubctl opens so while hubd writes); the
    // handle that notes the next entry removes it and writes it again.
    st = s_open(dir, 0);
    CU_ASSERT_EQUAL(s_entries(dir, "audit_runs", NULL), partial);
    CU_ASSERT_EQUAL(s_check(st, 5), 50 * s_per);
    CU_ASSERT_EQUAL_FATAL(hub_store_begin(st), HUB_OK);
    s_ingest(st, 50);
    hub_store_abort(st); // its removal is taken back, and the state read again
    CU_ASSERT_EQUAL(s_entries(dir, "audit_runs", NULL), partial);
    s_ingest_range(st, 50, 30, 1);
    CU_ASSERT(s_entries(dir, "audit_runs", NULL) >= 100);
    CU_ASSERT_EQUAL(s_check(st, 5), 80 * s_per);
    hub_store_destroy(&st);
}

// Retention removes the oldest audit records; a run goes when all of its
// records have gone, and a query never names a removed record.
static void
test_retention_drops_whole_runs(void)
{
    tu_dropout(s_f.msg);
    const char *dir = tu_store_dir(&s_f);
    hub_store_t *st = s_open(dir, 0);
    s_ingest_range(st, 0, 400, 25);
    uint64_t low0, low1;
    size_t before = s_entries(dir, "audit_runs", &low0);
    CU_ASSERT_EQUAL(low0, 1);
    // The records of messages 0..149 go (received before 1150 ms).
    hub_store_purged_t p;
    CU_ASSERT_EQUAL(hub_store_purge(st, 0, 1150, 100000, 99000, &p), HUB_OK);
    CU_ASSERT_EQUAL(p.audit, 150 * s_per);
    uint64_t base;
    uint8_t prev[32];
    CU_ASSERT_EQUAL(hub_store_audit_base(st, &base, prev), HUB_OK);
    CU_ASSERT_EQUAL(base, 150 * s_per + 1);
    size_t after = s_entries(dir, "audit_runs", &low1);
    // Whole runs went: those entirely below the base, not the one it is in
    // (a run holds a run's worth or a little more: what the batches brought).
    CU_ASSERT(after < before && before - after <= (base - 1));
    CU_ASSERT(low1 > low0 && low1 <= base && base - low1 < S_RUN + 25 * s_per);
    CU_ASSERT_EQUAL(s_check(st, 6), 250 * s_per);
    // A purge with a small budget goes on where it stopped.
    CU_ASSERT_EQUAL(hub_store_purge(st, 0, 1380, 5, 99000, &p), HUB_OK);
    CU_ASSERT(p.more);
    while (p.more) {
        CU_ASSERT_EQUAL_FATAL(hub_store_purge(st, 0, 1380, 30, 99000, &p), HUB_OK);
    }
    s_entries(dir, "audit_runs", &low1);
    CU_ASSERT_EQUAL(hub_store_audit_base(st, &base, prev), HUB_OK);
    CU_ASSERT(low1 <= base && base - low1 < S_RUN + 25 * s_per);
    CU_ASSERT_EQUAL(s_check(st, 6), 20 * s_per);
    hub_store_destroy(&st);
}

// Turns the store in DIR back into a format-4 store as that code left it:
// every audit record's entry in `audit_subject`, no runs, no tail, no
// "subject_indexed".
static void
s_make_format4(const char *dir)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi audit, subj, runs, tail, meta;
    MDB_cursor *c;
    MDB_val k, v;
    CU_ASSERT_EQUAL_FATAL(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 32);
    CU_ASSERT_EQUAL_FATAL(mdb_env_open(env, dir, 0, 0600), 0);
    CU_ASSERT_EQUAL_FATAL(mdb_txn_begin(env, NULL, 0, &txn), 0);
    CU_ASSERT_EQUAL_FATAL(mdb_dbi_open(txn, "audit", 0, &audit), 0);
    CU_ASSERT_EQUAL_FATAL(mdb_dbi_open(txn, "audit_subject", 0, &subj), 0);
    CU_ASSERT_EQUAL_FATAL(mdb_dbi_open(txn, "audit_runs", 0, &runs), 0);
    CU_ASSERT_EQUAL_FATAL(mdb_dbi_open(txn, "audit_tail", 0, &tail), 0);
    CU_ASSERT_EQUAL_FATAL(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    CU_ASSERT_EQUAL_FATAL(mdb_cursor_open(txn, audit, &c), 0);
    while (mdb_cursor_get(c, &k, &v, MDB_NEXT) == 0) {
        uint8_t key[40];
        if (hub_mpr_get_bin(v.mv_data, v.mv_size, "subject", key, 32) == HUB_OK) {
            memcpy(key + 32, k.mv_data, 8);
            MDB_val sk = {sizeof key, key}, sv = {0, ""};
            CU_ASSERT_EQUAL(mdb_put(txn, subj, &sk, &sv, 0), 0);
        }
    }
    mdb_cursor_close(c);
    CU_ASSERT_EQUAL(mdb_drop(txn, runs, 1), 0);
    CU_ASSERT_EQUAL(mdb_drop(txn, tail, 1), 0);
    k = (MDB_val){15, "subject_indexed"};
    CU_ASSERT_EQUAL(mdb_del(txn, meta, &k, NULL), 0);
    uint8_t four = 4;
    k = (MDB_val){6, "format"};
    v = (MDB_val){1, &four};
    CU_ASSERT_EQUAL(mdb_put(txn, meta, &k, &v, 0), 0);
    CU_ASSERT_EQUAL_FATAL(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

// A format-4 store: read as it is (its index covers every record), then
// opened to write: its index stays for the records it has, the runs
// index those that follow, and a query reads both.
static void
test_a_format4_store_keeps_its_index_and_runs_follow(void)
{
    tu_dropout(s_f.msg);
    const char *dir = tu_store_dir(&s_f);
    hub_store_t *st = s_open(dir, 0);
    hub_store_set_run_size(st, 1000000); // no run: every entry is written below
    s_ingest_range(st, 0, 150, 50);
    hub_store_destroy(&st);
    s_make_format4(dir);

    hub_store_t *ro = s_open(dir, HUB_STORE_RDONLY);
    CU_ASSERT_EQUAL(s_check(ro, 5), 150 * s_per);
    hub_store_destroy(&ro);

    st = s_open(dir, 0);
    s_ingest_range(st, 150, 200, 33);
    CU_ASSERT_EQUAL(s_check(st, 5), 350 * s_per);
    CU_ASSERT_EQUAL(s_entries(dir, "audit_subject", NULL), 150 * s_per);
    uint64_t low;
    CU_ASSERT(s_entries(dir, "audit_runs", &low) >= S_RUN);
    CU_ASSERT_EQUAL(low, 150 * s_per + 1);
    // Retention removes the old index's entries one by one.
    hub_store_purged_t p;
    CU_ASSERT_EQUAL(hub_store_purge(st, 0, 1100, 100000, 99000, &p), HUB_OK);
    CU_ASSERT_EQUAL(s_entries(dir, "audit_subject", NULL), 50 * s_per);
    CU_ASSERT_EQUAL(s_check(st, 9), 250 * s_per);
    hub_store_destroy(&st);
}

// ---------------------------------------------------------------- merged runs

#define S_FANIN 4 // runs merged into one of the next level, in these tests

// Meta NAME of the store in DIR as a uint (0: none).
static uint64_t
s_meta(const char *dir, const char *name)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi meta;
    MDB_val k = {strlen(name), (void *) name}, v;
    uint64_t out = 0;
    CU_ASSERT_EQUAL_FATAL(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 32);
    CU_ASSERT_EQUAL_FATAL(mdb_env_open(env, dir, MDB_RDONLY, 0600), 0);
    CU_ASSERT_EQUAL_FATAL(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
    if (mdb_dbi_open(txn, "meta", 0, &meta) == 0 && mdb_get(txn, meta, &k, &v) == 0) {
        hub_mpr_t r;
        hub_mpr_init(&r, v.mv_data, v.mv_size);
        CU_ASSERT_EQUAL(hub_mpr_uint(&r, &out), HUB_OK);
    }
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return out;
}

static hub_store_t *
s_open_merging(const char *dir)
{
    hub_store_t *st = s_open(dir, 0);
    hub_store_set_run_fanin(st, S_FANIN);
    return st;
}

// Entries in every level together.
static size_t
s_indexed_entries(const char *dir)
{
    return s_entries(dir, "audit_runs", NULL) + s_entries(dir, "audit_runs1", NULL) +
           s_entries(dir, "audit_runs2", NULL) + s_entries(dir, "audit_runs3", NULL);
}

// Every one of TOTAL entries is in exactly one level (or in memory), no
// level below the top holds FANIN runs, the top holds what they merged,
// and the writing handle and a read-only one count the same runs.
static void
s_assert_all_merged(hub_store_t *st, const char *dir, uint64_t total)
{
    CU_ASSERT_EQUAL(s_indexed_entries(dir) + hub_store_subject_pending(st), total);
    size_t runs[HUB_STORE_INDEX_LEVELS], ro_runs[HUB_STORE_INDEX_LEVELS];
    CU_ASSERT_EQUAL(hub_store_subject_runs(st, runs), HUB_OK);
    CU_ASSERT(runs[0] < S_FANIN && runs[1] < S_FANIN && runs[2] < S_FANIN && runs[3] >= 1);
    hub_store_t *ro = s_open(dir, HUB_STORE_RDONLY);
    CU_ASSERT_EQUAL(hub_store_subject_runs(ro, ro_runs), HUB_OK);
    CU_ASSERT_EQUAL(memcmp(runs, ro_runs, sizeof runs), 0);
    hub_store_destroy(&ro);
}

// Runs of 64 entries merged four at a time into levels 1 (256 entries),
// 2 (1,024) and 3 (4,096): at every step, whatever mix of levels, merges
// under way, merged runs not yet removed, runs and tail holds them, each
// person gets exactly their records, ascending, a page at a time; from
// the writing handle and from a read-only one.
static void
test_merged_runs_answer_every_query(void)
{
    tu_dropout(s_f.msg);
    const char *dir = tu_store_dir(&s_f);
    hub_store_t *st = s_open_merging(dir);
    uint64_t next = 0;
    for (int step = 0; step < 12; step++) {
        s_ingest_range(st, next, 300, 7 + step % 5);
        next += 300;
        CU_ASSERT_EQUAL(s_check(st, step % 2 ? 5 : 64), next * s_per);
    }
    hub_store_t *ro = s_open(dir, HUB_STORE_RDONLY);
    CU_ASSERT_EQUAL(s_check(ro, 3), next * s_per);
    hub_store_destroy(&ro);
    // Every level was reached; merged runs leave the level below.
    uint64_t m1 = s_meta(dir, "subject_merged1"), m2 = s_meta(dir, "subject_merged2"),
             m3 = s_meta(dir, "subject_merged3"), ix = s_meta(dir, "subject_indexed");
    CU_ASSERT(m3 > 1 && m2 >= m3 && m1 >= m2 && ix >= m1);
    CU_ASSERT(s_entries(dir, "audit_runs3", NULL) >= 4096);
    uint64_t low = 0;
    s_entries(dir, "audit_runs", &low);
    CU_ASSERT(low >= m1 || s_entries(dir, "audit_runs", NULL) > 0);
    // Batches that note nothing finish the merges and the removals, a few
    // entries each: every entry is then in exactly one level.
    for (int i = 0;
         i < 20000 && s_indexed_entries(dir) + hub_store_subject_pending(st) != next * s_per; i++) {
        CU_ASSERT_EQUAL_FATAL(hub_store_begin(st), HUB_OK);
        CU_ASSERT_EQUAL_FATAL(hub_store_commit(st), HUB_OK);
    }
    CU_ASSERT_EQUAL(s_check(st, 17), next * s_per);
    s_assert_all_merged(st, dir, next * s_per);
    hub_store_destroy(&st);
}

// What an idle hubd does (hubd_index_idle): batches of nothing but the
// index's work, each boosted to 8,192 entries, until hub_store_index_due()
// says none is left: a few commits where batches that note nothing take
// thousands; then every entry is in exactly one level, no level below the
// top holds FANIN runs, and queries are answered as before.
static void
test_an_idle_writer_finishes_the_index_work(void)
{
    tu_dropout(s_f.msg);
    const char *dir = tu_store_dir(&s_f);
    hub_store_t *st = s_open_merging(dir);
    uint64_t next = 0;
    for (int step = 0; step < 12; step++) {
        s_ingest_range(st, next, 300, 7 + step % 5);
        next += 300;
    }
    CU_ASSERT_FATAL(hub_store_index_due(st));
    int commits = 0;
    while (hub_store_index_due(st) && commits < 5000) {
        CU_ASSERT_EQUAL_FATAL(hub_store_begin(st), HUB_OK);
        hub_store_index_boost(st, 8192);
        CU_ASSERT_EQUAL_FATAL(hub_store_commit(st), HUB_OK);
        commits++;
    }
    CU_ASSERT(commits < 20);
    CU_ASSERT_FALSE(hub_store_index_due(st));
    s_assert_all_merged(st, dir, next * s_per);
    CU_ASSERT_EQUAL(s_check(st, 11), next * s_per);
    // Nothing left: a further boosted batch changes nothing.
    size_t before = s_indexed_entries(dir);
    CU_ASSERT_EQUAL_FATAL(hub_store_begin(st), HUB_OK);
    hub_store_index_boost(st, 8192);
    CU_ASSERT_EQUAL_FATAL(hub_store_commit(st), HUB_OK);
    CU_ASSERT_EQUAL(s_indexed_entries(dir), before);
    CU_ASSERT_FALSE(hub_store_index_due(st));
    hub_store_destroy(&st);
}

// A handle that stops in the middle of a merge (a crash: nothing in memory
// survives) leaves a partial merged run past the level's marker: queries
// ignore it, and the next handle to note an entry removes it and merges
// again. (A batch aborted before its commit never writes a slice; one that
// breaks in its commit: the full-map test below.)
static void
test_an_unfinished_merge_is_redone(void)
{
    tu_dropout(s_f.msg);
    const char *dir = tu_store_dir(&s_f);
    hub_store_t *st = s_open_merging(dir);
    uint64_t next = 0;
    // Up to the first merge under way: level 1 has entries, no marker yet.
    while (s_meta(dir, "subject_merged1") == 0 && s_entries(dir, "audit_runs1", NULL) == 0) {
        s_ingest_range(st, next++, 1, 1);
        CU_ASSERT_FATAL(next < 2000);
    }
    size_t partial = s_entries(dir, "audit_runs1", NULL);
    CU_ASSERT(partial > 0 && s_meta(dir, "subject_merged1") == 0);
    CU_ASSERT_EQUAL(s_check(st, 5), next * s_per);
    // An aborted batch writes nothing of it.
    CU_ASSERT_EQUAL_FATAL(hub_store_begin(st), HUB_OK);
    s_ingest(st, 5000);
    hub_store_abort(st);
    CU_ASSERT_EQUAL(s_entries(dir, "audit_runs1", NULL), partial);
    hub_store_destroy(&st); // as a kill -9 would

    st = s_open_merging(dir);
    CU_ASSERT_EQUAL(s_check(st, 5), next * s_per);
    s_ingest_range(st, next++, 1, 1); // removes the partial run, merges again
    CU_ASSERT(s_entries(dir, "audit_runs1", NULL) < partial + 4);
    while (s_meta(dir, "subject_merged1") == 0) {
        s_ingest_range(st, next++, 1, 1);
        CU_ASSERT_FATAL(next < 4000);
    }
    CU_ASSERT_EQUAL(s_check(st, 5), next * s_per);
    hub_store_destroy(&st);
    st = s_open_merging(dir);
    s_ingest_range(st, next, 200, 3);
    next += 200;
    CU_ASSERT_EQUAL(s_check(st, 9), next * s_per);
    hub_store_destroy(&st);
}

// Retention with merged runs: a merged run goes whole once all of its
// records have gone, at every level, and queries never name a removed
// record.
static void
test_retention_drops_merged_runs(void)
{
    tu_dropout(s_f.msg);
    const char *dir = tu_store_dir(&s_f);
    hub_store_t *st = s_open_merging(dir);
    s_ingest_range(st, 0, 2400, 9);
    CU_ASSERT(s_meta(dir, "subject_merged2") > 0);
    size_t before = s_indexed_entries(dir);
    hub_store_purged_t p;
    // The records of messages 0..1499 go (received before 2500 ms).
    CU_ASSERT_EQUAL(hub_store_purge(st, 0, 2500, 100000, 99000, &p), HUB_OK);
    while (p.more) {
        CU_ASSERT_EQUAL_FATAL(hub_store_purge(st, 0, 2500, 100000, 99000, &p), HUB_OK);
    }
    CU_ASSERT(s_indexed_entries(dir) < before);
    CU_ASSERT_EQUAL(s_check(st, 6), 900 * s_per);
    s_ingest_range(st, 2400, 600, 11);
    CU_ASSERT_EQUAL(s_check(st, 6), 1500 * s_per);
    hub_store_destroy(&st);
}

// Batches that break on a full map, wherever runs and merges stand (the
// failures land in notes, in a run's or a merge's slice, in the commit):
// each takes back what it wrote and what it noted, and the same handle,
// its map grown, goes on to index exactly the records committed.
static void
test_batches_broken_by_a_full_map_take_back_their_slices(void)
{
    tu_dropout(s_f.msg);
    const char *dir = tu_store_dir(&s_f);
    hub_store_t *st = NULL;
    hub_diag_t *diag = hub_diag_new();
    size_t map = HUB_STORE_MAP_MIN;
    CU_ASSERT_EQUAL_FATAL(hub_store_open(&st, dir, map, 0, s_key, diag), HUB_OK);
    hub_diag_destroy(&diag);
    hub_store_set_run_size(st, S_RUN);
    hub_store_set_run_fanin(st, S_FANIN);
    uint64_t next = 0, committed = 0;
    int full = 0;
    for (int batch = 0; batch < 20000 && full < 12; batch++) {
        char id[32], cid[24];
        CU_ASSERT_EQUAL_FATAL(hub_store_begin(st), HUB_OK);
        int rc = HUB_OK;
        size_t n = 0;
        for (; n < 1 + (size_t) batch % 5 && !rc; n++) {
            snprintf(id, sizeof id, "runs-%llu", (unsigned long long) (next + n));
            hub_msg_set_env_str(s_f.msg, HUB_ENV_ID, id);
            s_cid((unsigned) ((next + n) * 7 % S_PEOPLE), cid);
            hub_store_result_t res = {0};
            rc = tu_store_ingest(&s_f, st, s_key, cid, hub_rules_version(s_f.rules),
                                 1000 + next + n, &res);
        }
        int crc = hub_store_commit(st);
        rc = rc ? rc : crc;
        next += n; // ids of a broken batch are not used again
        if (rc == HUB_OK) {
            committed += n;
            continue;
        }
        CU_ASSERT_EQUAL_FATAL(rc, HUB_EFULL);
        full++;
        map += HUB_STORE_MAP_MIN;
        CU_ASSERT_EQUAL_FATAL(hub_store_set_map_size(st, map), HUB_OK);
        CU_ASSERT_EQUAL(s_check(st, 11), committed * s_per);
    }
    CU_ASSERT_EQUAL(full, 12);
    CU_ASSERT(s_meta(dir, "subject_merged1") > 0);
    CU_ASSERT_EQUAL(s_check(st, 11), committed * s_per);
    hub_store_destroy(&st);
    st = s_open_merging(dir);
    CU_ASSERT_EQUAL(s_check(st, 11), committed * s_per);
    hub_store_destroy(&st);
}

void
test_store_runs_register(void)
{
    CU_pSuite s = CU_add_suite("store_runs", s_init, s_cleanup);
    CU_add_test(s, "Queries find each record, in runs and after them, in pages",
                test_queries_find_each_record_in_runs_and_after_them);
    CU_add_test(s, "A run goes a slice per batch; an unfinished one is written again",
                test_a_run_goes_a_slice_per_batch_and_an_unfinished_one_is_redone);
    CU_add_test(s, "A batch that does not commit leaves no entry",
                test_an_aborted_batch_leaves_no_entry);
    CU_add_test(s, "Retention drops whole runs; queries never name a removed record",
                test_retention_drops_whole_runs);
    CU_add_test(s, "A format-4 store keeps its index and runs follow it",
                test_a_format4_store_keeps_its_index_and_runs_follow);
    CU_add_test(s, "Merged runs answer every query, at every level",
                test_merged_runs_answer_every_query);
    CU_add_test(s, "An unfinished merge is written again", test_an_unfinished_merge_is_redone);
    CU_add_test(s, "An idle writer finishes the index's work in a few boosted batches",
                test_an_idle_writer_finishes_the_index_work);
    CU_add_test(s, "Retention drops merged runs whole", test_retention_drops_merged_runs);
    CU_add_test(s, "Batches broken by a full map take back their slices",
                test_batches_broken_by_a_full_map_take_back_their_slices);
}
