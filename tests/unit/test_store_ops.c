// The store's operations part (hub_store_ops.c) on a real LMDB environment
// in a temporary directory: the operations log, rule-set versions with
// their texts, dead letters dropped without reusing a sequence, cursors
// rewound and the time-to-sequence search behind "replay from a time".
#include "hub_config.h"
#include "hub_error.h"
#include "hub_json.h"
#include "hub_mpr.h"
#include "hub_mpw.h"
#include "hub_codec.h"
#include "hub_route.h"
#include "hub_rules.h"
#include "hub_store.h"
#include "suites.h"
#include "testutil.h"

#include <CUnit/CUnit.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct {
    char root[64];
    int ndirs;
    hub_config_t cfg;
    hub_depts_t *depts;
    hub_rules_t *rules;
    hub_route_t *route;
    hub_msg_t *msg;
    hub_buf_t enc;
} s_f;

static const uint8_t s_key[32] = {7};

static int
s_init(void)
{
    hub_diag_t *diag = hub_diag_new();
    snprintf(s_f.root, sizeof s_f.root, "/tmp/hub-test-ops-XXXXXX");
    int rc = mkdtemp(s_f.root) ? HUB_OK : HUB_EIO;
    rc = rc ? rc : hub_config_load(&s_f.cfg, "config", diag);
    rc = rc ? rc : hub_depts_load(&s_f.depts, s_f.cfg.departments, tu_schemas(), diag);
    rc = rc ? rc : hub_rules_load(&s_f.rules, "config", tu_schemas(), s_f.depts, diag);
    s_f.route = hub_route_new();
    s_f.msg = hub_msg_new();
    if (rc) {
        hub_diag_print(diag, stderr);
    }
    hub_diag_destroy(&diag);
    if (!rc && s_f.msg) {
        tu_dropout(s_f.msg);
    }
    return rc || !s_f.route || !s_f.msg;
}

static int
s_cleanup(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_f.root);
    int rc = system(cmd);
    hub_buf_free(&s_f.enc);
    hub_msg_destroy(&s_f.msg);
    hub_route_destroy(&s_f.route);
    hub_rules_destroy(&s_f.rules);
    hub_depts_destroy(&s_f.depts);
    hub_config_free(&s_f.cfg);
    return rc;
}

static hub_store_t *
s_open(unsigned flags)
{
    static char path[128];
    if (!(flags & HUB_STORE_RDONLY)) {
        snprintf(path, sizeof path, "%s/store%d", s_f.root, ++s_f.ndirs);
    }
    hub_store_t *st = NULL;
    CU_ASSERT_EQUAL(hub_store_open(&st, path, 0, flags, flags ? NULL : s_key, NULL), HUB_OK);
    return st;
}

// Ingests dropout message N (received at time NOW) in a batch of its own.
static void
s_ingest(hub_store_t *st, uint64_t n, uint64_t now)
{
    char id[33];
    snprintf(id, sizeof id, "%032llx", (unsigned long long) n);
    hub_msg_set_env_str(s_f.msg, HUB_ENV_ID, id);
    CU_ASSERT_EQUAL_FATAL(hub_route_run(s_f.route, s_f.rules, s_f.depts, tu_schemas(), s_f.msg,
                                        s_key, NULL),
                          HUB_OK);
    s_f.enc.len = 0;
    CU_ASSERT_EQUAL_FATAL(hub_codec_encode(s_f.msg, &s_f.enc), HUB_OK);
    hub_store_ingest_t in = {"education", id, "student.enrolment_change", s_f.enc.data,
                             s_f.enc.len, NULL, "v1", now, s_f.route};
    hub_store_result_t res;
    CU_ASSERT_EQUAL(hub_store_begin(st), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_ingest(st, &in, &res), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_commit(st), HUB_OK);
}

// The first endpoint the dropout reaches.
static const char *
s_endpoint(void)
{
    const hub_delivery_t *d = hub_route_at(s_f.route, 0);
    return d ? d->endpoint->id : "";
}

static void
test_oplog_records_are_numbered_and_readable(void)
{
    hub_store_t *st = s_open(0);
    uint8_t detail[64];
    hub_buf_t b = {0};
    hub_mpw_t w;
    hub_mpw_init(&w, &b);
    hub_mpw_map(&w, 1);
    hub_mpw_cstr(&w, "endpoint");
    hub_mpw_cstr(&w, "education@513431");
    CU_ASSERT_FATAL(b.len < sizeof detail);
    memcpy(detail, b.data, b.len);
    uint64_t seq = 0;
    CU_ASSERT_EQUAL(hub_store_oplog_append(st, 1000, "alice", "cursor.rewind", detail, b.len,
                                           &seq),
                    HUB_OK);
    CU_ASSERT_EQUAL(seq, 1);
    CU_ASSERT_EQUAL(hub_store_oplog_append(st, 2000, "bob", "audit.query", NULL, 0, &seq), HUB_OK);
    CU_ASSERT_EQUAL(seq, 2);
    const void *rec;
    size_t len;
    uint64_t v = 0, last = 0;
    CU_ASSERT_EQUAL(hub_store_record(st, HUB_STORE_OPLOG, 1, &rec, &len), HUB_OK);
    CU_ASSERT_EQUAL(hub_mpr_get_uint(rec, len, "time_ms", &v), HUB_OK);
    CU_ASSERT_EQUAL(v, 1000);
    CU_ASSERT_EQUAL(hub_store_last_seq(st, HUB_STORE_OPLOG, &last), HUB_OK);
    CU_ASSERT_EQUAL(last, 2);
    // Inside an open batch it rides in the batch: gone with an abort.
    CU_ASSERT_EQUAL(hub_store_begin(st), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_oplog_append(st, 3000, "carol", "reload", NULL, 0, NULL), HUB_OK);
    hub_store_abort(st);
    CU_ASSERT_EQUAL(hub_store_last_seq(st, HUB_STORE_OPLOG, &last), HUB_OK);
    CU_ASSERT_EQUAL(last, 2);
    CU_ASSERT_EQUAL(hub_store_oplog_append(st, 1, NULL, "x", NULL, 0, NULL), HUB_EINVAL);
    hub_buf_free(&b);
    hub_store_destroy(&st);
}

static void
s_files(hub_buf_t *b, const char *text)
{
    hub_mpw_t w;
    b->len = 0;
    hub_mpw_init(&w, b);
    hub_mpw_array(&w, 1);
    hub_mpw_map(&w, 2);
    hub_mpw_cstr(&w, "name");
    hub_mpw_cstr(&w, "rules.d/10.yaml");
    hub_mpw_cstr(&w, "text");
    hub_mpw_cstr(&w, text);
}

static void
test_ruleset_versions_keep_history_and_first_texts(void)
{
    hub_store_t *st = s_open(0);
    hub_buf_t b = {0};
    s_files(&b, "rules: []\n");
    CU_ASSERT_EQUAL(hub_store_ruleset_record(st, "aaaa", 10, "start", "hubd", b.data, b.len),
                    HUB_OK);
    s_files(&b, "rules: [x]\n");
    CU_ASSERT_EQUAL(hub_store_ruleset_record(st, "bbbb", 20, "reload", "alice", b.data, b.len),
                    HUB_OK);
    s_files(&b, "something else\n");
    CU_ASSERT_EQUAL(hub_store_ruleset_record(st, "aaaa", 30, "reload", "bob", b.data, b.len),
                    HUB_OK);
    uint64_t last = 0, first = 0;
    CU_ASSERT_EQUAL(hub_store_last_seq(st, HUB_STORE_RULESETS, &last), HUB_OK);
    CU_ASSERT_EQUAL(last, 3);
    const void *rec;
    size_t len;
    CU_ASSERT_EQUAL(hub_store_ruleset_texts(st, "aaaa", &rec, &len), HUB_OK);
    CU_ASSERT_EQUAL(hub_mpr_get_uint(rec, len, "first_ms", &first), HUB_OK);
    CU_ASSERT_EQUAL(first, 10); // the first texts stay
    bool found = false;
    for (size_t i = 0; i + 9 <= len && !found; i++) {
        found = memcmp((const char *) rec + i, "rules: []", 9) == 0;
    }
    CU_ASSERT(found);
    CU_ASSERT_EQUAL(hub_store_ruleset_texts(st, "cccc", &rec, &len), HUB_ENOTFOUND);
    hub_buf_free(&b);
    hub_store_destroy(&st);
}

static void
test_a_dropped_dead_letter_number_is_never_given_again(void)
{
    hub_store_t *st = s_open(0);
    CU_ASSERT_EQUAL(hub_store_begin(st), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_dead(st, "health", "ab", 2, "invalid", "bad", 1), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_dead(st, "health", "cd", 2, "invalid", "bad", 2), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_commit(st), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_dead_drop(st, 2), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_dead_drop(st, 2), HUB_ENOTFOUND);
    CU_ASSERT_EQUAL(hub_store_begin(st), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_dead(st, "health", "ef", 2, "invalid", "bad", 3), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_commit(st), HUB_OK);
    const void *rec;
    size_t len;
    CU_ASSERT_EQUAL(hub_store_record(st, HUB_STORE_DEAD, 2, &rec, &len), HUB_ENOTFOUND);
    CU_ASSERT_EQUAL(hub_store_record(st, HUB_STORE_DEAD, 3, &rec, &len), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_record(st, HUB_STORE_DEAD, 1, &rec, &len), HUB_OK);
    hub_store_destroy(&st);
}

static void
test_a_cursor_rewinds_and_a_time_finds_its_sequence(void)
{
    hub_store_t *st = s_open(0);
    for (uint64_t i = 1; i <= 9; i++) {
        s_ingest(st, i, i * 1000);
    }
    const char *ep = s_endpoint();
    uint64_t acked, last, e;
    CU_ASSERT_EQUAL(hub_store_ack(st, ep, 9), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_cursor_set(st, ep, 3), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_endpoint_state(st, ep, &acked, &last), HUB_OK);
    CU_ASSERT_EQUAL(acked, 3);
    CU_ASSERT_EQUAL(last, 9);
    CU_ASSERT_EQUAL(hub_store_cursor_set(st, ep, 10), HUB_EINVAL);
    CU_ASSERT_EQUAL(hub_store_cursor_set(st, "nobody@513400", 0), HUB_EINVAL);
    CU_ASSERT_EQUAL(hub_store_cursor_set(st, ep, 0), HUB_OK);
    struct {
        uint64_t time, want;
    } cases[] = {{0, 0}, {1000, 0}, {1001, 1}, {5000, 4}, {5500, 5}, {9000, 8}, {99999, 9}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CU_ASSERT_EQUAL(hub_store_eseq_before(st, ep, cases[i].time, &e), HUB_OK);
        CU_ASSERT_EQUAL(e, cases[i].want);
    }
    CU_ASSERT_EQUAL(hub_store_eseq_before(st, "nobody@513400", 5000, &e), HUB_OK);
    CU_ASSERT_EQUAL(e, 0);
    hub_store_destroy(&st);
}

void
test_store_ops_register(void)
{
    CU_pSuite s = CU_add_suite("store_ops", s_init, s_cleanup);
    CU_add_test(s, "the operations log numbers its records and rides in an open batch",
                test_oplog_records_are_numbered_and_readable);
    CU_add_test(s, "rule-set versions keep their history and their first texts",
                test_ruleset_versions_keep_history_and_first_texts);
    CU_add_test(s, "a dropped dead letter's number is never given again",
                test_a_dropped_dead_letter_number_is_never_given_again);
    CU_add_test(s, "a cursor rewinds, and a time finds the sequence to replay from",
                test_a_cursor_rewinds_and_a_time_finds_its_sequence);
}
