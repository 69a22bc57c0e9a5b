// The store's `lists` database: a membership is written in the batch of
// the message that changed it, goes with that batch when it aborts, and is
// there again after the store is reopened.
#include "hub_error.h"
#include "hub_store.h"
#include "suites.h"
#include "testutil.h"

#include <CUnit/CUnit.h>
#include <string.h>

static tu_store_fix_t s_fix;
static const uint8_t s_key[32] = {9, 8, 7};

static int
s_init(void)
{
    return tu_store_init(&s_fix, "store_lists");
}

static int
s_clean(void)
{
    return tu_store_cleanup(&s_fix);
}

typedef struct {
    size_t n;
    char last[64];
    uint64_t log_seq, since_ms;
} s_seen_t;

static int
s_count(void *ctx, const hub_store_list_entry_t *e)
{
    s_seen_t *seen = ctx;
    seen->n++;
    snprintf(seen->last, sizeof seen->last, "%s/%.*s", e->list, (int) e->len, e->key);
    seen->log_seq = e->log_seq;
    seen->since_ms = e->since_ms;
    return HUB_OK;
}

static s_seen_t
s_members(hub_store_t *st)
{
    s_seen_t seen = {0};
    CU_ASSERT_EQUAL(hub_store_lists_each(st, s_count, &seen), HUB_OK);
    return seen;
}

// Ingests the sample household report into ST's open batch: its log seq.
static uint64_t
s_ingest(hub_store_t *st, const char *id, uint64_t now)
{
    tu_load_msg(s_fix.msg, "poverty.household_status.json");
    hub_msg_set_env_str(s_fix.msg, HUB_ENV_ID, id);
    hub_store_result_t res;
    CU_ASSERT_EQUAL_FATAL(tu_store_ingest(&s_fix, st, s_key, NULL, "v1", now, &res), HUB_OK);
    CU_ASSERT_FALSE(res.duplicate);
    return res.log_seq;
}

static void
test_a_membership_commits_with_its_message_and_survives_a_reopen(void)
{
    const char *dir = tu_store_dir(&s_fix);
    hub_store_t *st = NULL;
    CU_ASSERT_EQUAL_FATAL(hub_store_open(&st, dir, 0, 0, s_key, NULL), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_list_set(st, "l", "k", 1, true, 1, 1), HUB_EINVAL); // no batch
    CU_ASSERT_EQUAL_FATAL(hub_store_begin(st), HUB_OK);
    uint64_t seq = s_ingest(st, "00000000000000000000000000000001", 1000);
    CU_ASSERT_EQUAL(
        hub_store_list_set(st, "monitored_households", "513430000152", 12, true, seq, 1000),
        HUB_OK);
    CU_ASSERT_EQUAL(hub_store_commit(st), HUB_OK);
    s_seen_t seen = s_members(st);
    CU_ASSERT_EQUAL(seen.n, 1);
    CU_ASSERT_STRING_EQUAL(seen.last, "monitored_households/513430000152");
    CU_ASSERT_EQUAL(seen.log_seq, seq);
    CU_ASSERT_EQUAL(seen.since_ms, 1000);
    // a later report that keeps it in leaves "since" as it was
    CU_ASSERT_EQUAL_FATAL(hub_store_begin(st), HUB_OK);
    uint64_t seq2 = s_ingest(st, "00000000000000000000000000000002", 2000);
    CU_ASSERT_EQUAL(
        hub_store_list_set(st, "monitored_households", "513430000152", 12, true, seq2, 2000),
        HUB_OK);
    CU_ASSERT_EQUAL(hub_store_commit(st), HUB_OK);
    hub_store_destroy(&st);
    CU_ASSERT_EQUAL_FATAL(hub_store_open(&st, dir, 0, HUB_STORE_RDONLY, NULL, NULL), HUB_OK);
    seen = s_members(st);
    CU_ASSERT_EQUAL(seen.n, 1);
    CU_ASSERT_EQUAL(seen.log_seq, seq);
    CU_ASSERT_EQUAL(seen.since_ms, 1000);
    hub_store_destroy(&st);
}

static void
test_an_aborted_batch_takes_its_membership_with_it(void)
{
    const char *dir = tu_store_dir(&s_fix);
    hub_store_t *st = NULL;
    CU_ASSERT_EQUAL_FATAL(hub_store_open(&st, dir, 0, 0, s_key, NULL), HUB_OK);
    CU_ASSERT_EQUAL_FATAL(hub_store_begin(st), HUB_OK);
    uint64_t seq = s_ingest(st, "00000000000000000000000000000003", 1000);
    CU_ASSERT_EQUAL(hub_store_list_set(st, "w", "513430000152", 12, true, seq, 1000), HUB_OK);
    hub_store_abort(st);
    CU_ASSERT_EQUAL(s_members(st).n, 0);
    CU_ASSERT_EQUAL(tu_store_last(st, HUB_STORE_LOG), 0);
    // set, then cleared in a later batch: gone
    CU_ASSERT_EQUAL_FATAL(hub_store_begin(st), HUB_OK);
    seq = s_ingest(st, "00000000000000000000000000000004", 1000);
    CU_ASSERT_EQUAL(hub_store_list_set(st, "w", "513430000152", 12, true, seq, 1000), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_list_set(st, "w", "513430000153", 12, true, seq, 1000), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_commit(st), HUB_OK);
    CU_ASSERT_EQUAL(s_members(st).n, 2);
    CU_ASSERT_EQUAL_FATAL(hub_store_begin(st), HUB_OK);
    seq = s_ingest(st, "00000000000000000000000000000005", 3000);
    CU_ASSERT_EQUAL(hub_store_list_set(st, "w", "513430000152", 12, false, seq, 3000), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_list_set(st, "w", "513430009999", 12, false, seq, 3000), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_commit(st), HUB_OK);
    s_seen_t seen = s_members(st);
    CU_ASSERT_EQUAL(seen.n, 1);
    CU_ASSERT_STRING_EQUAL(seen.last, "w/513430000153");
    hub_store_destroy(&st);
}

void
test_store_lists_register(void)
{
    CU_pSuite suite = CU_add_suite("store_lists", s_init, s_clean);
    CU_add_test(suite, "a membership commits with its message and survives a reopen",
                test_a_membership_commits_with_its_message_and_survives_a_reopen);
    CU_add_test(suite, "an aborted batch takes its membership with it",
                test_an_aborted_batch_takes_its_membership_with_it);
}
