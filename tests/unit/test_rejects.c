// hub-sink's report of rejected deliveries (hub_rejects) on a real
// directory: a line with the delivery's bytes, valid JSON whatever text
// the hub sent; nothing on disk before the commit; the seqs found again
// at open, only those of the current store id above the inbox's last; a
// torn last line cut and a foreign one passed over; the seqs kept as
// ranges, reached past and forgotten; a report taken away made again.
#include "hub_error.h"
#include "hub_rejects.h"
#include "suites.h"
#include "testutil.h"

#include <CUnit/CUnit.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define EP "education@513431"
#define ID_A "0123456789abcdef0123456789abcdef"
#define ID_B "fedcba9876543210fedcba9876543210"

static tu_tmp_t s_f;

static int
s_init(void)
{
    return tu_tmp_init(&s_f, "rejects");
}

static int
s_cleanup(void)
{
    return tu_tmp_cleanup(&s_f);
}

// A fresh directory for a report, made.
static const char *
s_newdir(void)
{
    const char *dir = tu_tmp_dir(&s_f, "inbox");
    CU_ASSERT_EQUAL(mkdir(dir, 0750), 0);
    return dir;
}

static hubc_rejects_t *
s_open(const char *store_id, uint64_t after, hub_diag_t *diag)
{
    hubc_rejects_t *r = NULL;
    CU_ASSERT_EQUAL(hubc_rejects_open(&r, s_f.dir, EP, store_id, after, diag), HUB_OK);
    return r;
}

// Rejects delivery SEQ (body "hub\0\377") into R.
static void
s_add(hubc_rejects_t *r, uint64_t seq)
{
    hubc_delivery_t d = {.seq = seq, .id = "m1", .type = "person.death"};
    d.body = "hub\0\377";
    d.body_len = 5;
    CU_ASSERT_EQUAL(hubc_rejects_add(r, &d, "2026-10-03T08:40:12Z", "why"), HUB_OK);
}

// The report's bytes (NULL when there is none); *LEN gets their count.
static char *
s_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = f ? calloc(1, 1 << 16) : NULL;
    *len = buf ? fread(buf, 1, (1 << 16) - 1, f) : 0;
    if (f) {
        fclose(f);
    }
    return buf;
}

static void
test_a_rejected_delivery_is_one_json_line_with_its_bytes(void)
{
    s_newdir();
    hubc_rejects_t *r = s_open(ID_A, 0, NULL);
    hubc_delivery_t d = {.seq = 7, .id = "bad\xff\"id", .type = "person.\xe4\xb8"};
    d.body = "hub\0\377";
    d.body_len = 5;
    CU_ASSERT_EQUAL(hubc_rejects_add(r, &d, "2026-10-03T08:40:12Z", "off 3 (x): no key\n[k]"),
                    HUB_OK);
    struct stat st;
    CU_ASSERT_NOT_EQUAL(stat(hubc_rejects_path(r), &st), 0); // nothing before the commit
    CU_ASSERT_EQUAL(hubc_rejects_commit(r, NULL), HUB_OK);
    CU_ASSERT_EQUAL(hubc_rejects_count(r), 1);
    size_t len;
    char *text = s_slurp(hubc_rejects_path(r), &len);
    CU_ASSERT_FATAL(text != NULL);
    CU_ASSERT_EQUAL(strchr(text, '\n'), text + len - 1); // one line
    static const char head[] = "{\"seq\":7,\"store_id\":\"" ID_A "\",";
    CU_ASSERT_EQUAL(strncmp(text, head, sizeof head - 1), 0);
    json_error_t err;
    json_t *j = json_loadb(text, len, 0, &err);
    CU_ASSERT_FATAL(j != NULL);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "endpoint")), EP);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "id")), "bad\xef\xbf\xbd\"id");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "type")),
                           "person.\xef\xbf\xbd\xef\xbf\xbd");
    CU_ASSERT(json_is_null(json_object_get(j, "origin_id")));
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "reason")),
                           "off 3 (x): no key\n[k]");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "body")), "aHViAP8=");
    json_decref(j);
    free(text);
    hubc_rejects_destroy(&r);
    CU_ASSERT_PTR_NULL(r);
}

static void
test_reopened_it_knows_the_seqs_of_its_store_above_the_inbox(void)
{
    s_newdir();
    hubc_rejects_t *r = s_open(ID_A, 0, NULL);
    s_add(r, 7);
    s_add(r, 9);
    s_add(r, 10);
    CU_ASSERT_EQUAL(hubc_rejects_commit(r, NULL), HUB_OK);
    s_add(r, 12); // never committed: it comes again
    hubc_rejects_destroy(&r);

    r = s_open(ID_A, 8, NULL);
    CU_ASSERT_FALSE(hubc_rejects_has(r, 7)); // at or below the inbox's last
    CU_ASSERT_FALSE(hubc_rejects_has(r, 8));
    CU_ASSERT_TRUE(hubc_rejects_has(r, 9));
    CU_ASSERT_TRUE(hubc_rejects_has(r, 10));
    CU_ASSERT_FALSE(hubc_rejects_has(r, 12));
    CU_ASSERT_EQUAL(hubc_rejects_reach(r, 8), 10);
    CU_ASSERT_EQUAL(hubc_rejects_reach(r, 6), 6);
    CU_ASSERT_EQUAL(hubc_rejects_count(r), 0);
    hubc_rejects_destroy(&r);

    r = s_open(ID_B, 0, NULL); // another store's seqs
    CU_ASSERT_FALSE(hubc_rejects_has(r, 9));
    hubc_rejects_destroy(&r);
}

static void
test_a_torn_last_line_is_cut_and_a_foreign_one_passed_over(void)
{
    s_newdir();
    char path[256];
    snprintf(path, sizeof path, "%s/" EP ".rejected", s_f.dir);
    static const char good[] = "{\"seq\":3,\"store_id\":\"\",\"x\":1}\n"
                               "an operator's note\n";
    FILE *f = fopen(path, "wb");
    CU_ASSERT_FATAL(f != NULL);
    fputs(good, f);
    fputs("{\"seq\":5,\"store_id\":\"\",\"endpoint\":\"", f); // torn by a crash
    fclose(f);
    hub_diag_t *diag = hub_diag_new();
    hubc_rejects_t *r = s_open("", 0, diag);
    CU_ASSERT_EQUAL(hub_diag_count(diag), 2);
    CU_ASSERT_STRING_EQUAL(hub_diag_at(diag, 0)->reason, "inbox_torn");
    CU_ASSERT_PTR_NOT_NULL(strstr(hub_diag_at(diag, 0)->where, ".rejected:3"));
    CU_ASSERT_STRING_EQUAL(hub_diag_at(diag, 1)->reason, "rejects_line");
    CU_ASSERT_PTR_NOT_NULL(strstr(hub_diag_at(diag, 1)->where, ".rejected:2"));
    CU_ASSERT_TRUE(hubc_rejects_has(r, 3));
    CU_ASSERT_FALSE(hubc_rejects_has(r, 5));
    struct stat st;
    CU_ASSERT_EQUAL(stat(path, &st), 0);
    CU_ASSERT_EQUAL((size_t) st.st_size, sizeof good - 1);
    // The next line begins on a line of its own.
    s_add(r, 5);
    CU_ASSERT_EQUAL(hubc_rejects_commit(r, NULL), HUB_OK);
    size_t len;
    char *text = s_slurp(path, &len);
    CU_ASSERT_EQUAL(strncmp(text + sizeof good - 1, "{\"seq\":5,", 9), 0);
    free(text);
    hubc_rejects_destroy(&r);
    hub_diag_destroy(&diag);
}

static void
test_seqs_merge_into_ranges_and_are_forgotten_below_the_inbox(void)
{
    s_newdir();
    hubc_rejects_t *r = s_open(ID_A, 0, NULL);
    hubc_rejects_forget(r, 3); // nothing to forget yet
    CU_ASSERT_EQUAL(hubc_rejects_reach(r, 3), 3);
    static const uint64_t order[] = {5, 3, 8, 4, 20, 7, 6};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        s_add(r, order[i]);
    }
    CU_ASSERT_FALSE(hubc_rejects_has(r, 2));
    for (uint64_t seq = 3; seq <= 8; seq++) {
        CU_ASSERT_TRUE(hubc_rejects_has(r, seq));
    }
    CU_ASSERT_FALSE(hubc_rejects_has(r, 9));
    CU_ASSERT_TRUE(hubc_rejects_has(r, 20));
    CU_ASSERT_EQUAL(hubc_rejects_reach(r, 2), 8);
    CU_ASSERT_EQUAL(hubc_rejects_reach(r, 5), 8);
    CU_ASSERT_EQUAL(hubc_rejects_reach(r, 9), 9);
    CU_ASSERT_EQUAL(hubc_rejects_reach(r, 19), 20);
    hubc_rejects_forget(r, 4);
    CU_ASSERT_FALSE(hubc_rejects_has(r, 4));
    CU_ASSERT_TRUE(hubc_rejects_has(r, 5));
    CU_ASSERT_EQUAL(hubc_rejects_reach(r, 4), 8);
    hubc_rejects_forget(r, 10);
    CU_ASSERT_FALSE(hubc_rejects_has(r, 8));
    CU_ASSERT_TRUE(hubc_rejects_has(r, 20));
    hubc_rejects_set_store_id(r, ID_B, false); // the first id the hub gave: nothing forgotten
    CU_ASSERT_TRUE(hubc_rejects_has(r, 20));
    hubc_rejects_set_store_id(r, ID_A, true); // a restored store issues the seqs again
    CU_ASSERT_FALSE(hubc_rejects_has(r, 20));
    hubc_rejects_destroy(&r);
}

// reach() at both ends of the seqs: a range from seq 0 (found by
// fuzz_rejects: LO - 1 wrapped, so reach(0) stayed at 0 with 1 and 2
// rejected) and one up to UINT64_MAX.
static void
test_reach_moves_past_seqs_from_0_and_up_to_the_top(void)
{
    s_newdir();
    hubc_rejects_t *r = s_open(ID_A, 0, NULL);
    s_add(r, 0);
    s_add(r, 1);
    s_add(r, 2);
    CU_ASSERT_TRUE(hubc_rejects_has(r, 0));
    CU_ASSERT_EQUAL(hubc_rejects_reach(r, 0), 2);
    CU_ASSERT_EQUAL(hubc_rejects_reach(r, 1), 2);
    CU_ASSERT_EQUAL(hubc_rejects_reach(r, 2), 2);
    CU_ASSERT_EQUAL(hubc_rejects_reach(r, 3), 3);
    s_add(r, UINT64_MAX - 1);
    s_add(r, UINT64_MAX);
    CU_ASSERT_EQUAL(hubc_rejects_reach(r, UINT64_MAX - 2), UINT64_MAX);
    CU_ASSERT_EQUAL(hubc_rejects_reach(r, UINT64_MAX - 1), UINT64_MAX);
    CU_ASSERT_EQUAL(hubc_rejects_reach(r, UINT64_MAX), UINT64_MAX);
    CU_ASSERT_EQUAL(hubc_rejects_reach(r, 0), 2);
    hubc_rejects_destroy(&r);
}

static void
test_a_report_taken_away_is_made_again(void)
{
    s_newdir();
    hubc_rejects_t *r = s_open(ID_A, 0, NULL);
    s_add(r, 1);
    CU_ASSERT_EQUAL(hubc_rejects_commit(r, NULL), HUB_OK);
    char away[256];
    snprintf(away, sizeof away, "%s/taken", s_f.dir);
    CU_ASSERT_EQUAL(rename(hubc_rejects_path(r), away), 0);
    s_add(r, 2);
    CU_ASSERT_EQUAL(hubc_rejects_commit(r, NULL), HUB_OK);
    size_t len;
    char *text = s_slurp(hubc_rejects_path(r), &len);
    CU_ASSERT_FATAL(text != NULL);
    CU_ASSERT_EQUAL(strncmp(text, "{\"seq\":2,", 9), 0);
    CU_ASSERT_EQUAL(strchr(text, '\n'), text + len - 1);
    free(text);
    CU_ASSERT_TRUE(hubc_rejects_has(r, 1)); // still known in this run
    hubc_rejects_destroy(&r);
}

void
test_rejects_register(void)
{
    CU_pSuite s = CU_add_suite("rejects", s_init, s_cleanup);
    CU_add_test(s, "a rejected delivery is one JSON line with its bytes",
                test_a_rejected_delivery_is_one_json_line_with_its_bytes);
    CU_add_test(s, "reopened, it knows the seqs of its store above the inbox",
                test_reopened_it_knows_the_seqs_of_its_store_above_the_inbox);
    CU_add_test(s, "a torn last line is cut and a foreign one passed over",
                test_a_torn_last_line_is_cut_and_a_foreign_one_passed_over);
    CU_add_test(s, "seqs merge into ranges and are forgotten below the inbox",
                test_seqs_merge_into_ranges_and_are_forgotten_below_the_inbox);
    CU_add_test(s, "reach moves past seqs from 0 and up to the top",
                test_reach_moves_past_seqs_from_0_and_up_to_the_top);
    CU_add_test(s, "a report taken away is made again", test_a_report_taken_away_is_made_again);
}
