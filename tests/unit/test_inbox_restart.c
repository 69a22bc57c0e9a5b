// The inbox across a restore of the hub's store (hub_inbox.h, "the hub's
// store id"), on a real directory: the store id remembered durably and
// read back, a damaged id file named, and a new generation after a
// restore that keeps every file written before, never takes an old file's
// name (within the same second too), and is found again after a restart
// of the sink.
#include "hub_error.h"
#include "hub_inbox.h"
#include "suites.h"
#include "testutil.h"

#include <CUnit/CUnit.h>
#include <dirent.h>
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
    return tu_tmp_init(&s_f, "inbox");
}

static int
s_cleanup(void)
{
    return tu_tmp_cleanup(&s_f);
}

static const char *
s_newdir(void)
{
    return tu_tmp_dir(&s_f, "inbox");
}

static hubc_inbox_t *
s_open(hub_diag_t *diag)
{
    hubc_inbox_opts_t o = {false, NULL, 0, 0, 0};
    hubc_inbox_t *box = NULL;
    CU_ASSERT_EQUAL(hubc_inbox_open(&box, s_f.dir, EP, &o, diag), HUB_OK);
    return box;
}

// Adds and commits the records of FROM..TO.
static void
s_write(hubc_inbox_t *box, uint64_t from, uint64_t to)
{
    for (uint64_t seq = from; seq <= to; seq++) {
        char rec[64];
        int n = snprintf(rec, sizeof rec, "{\"seq\":%llu,\"x\":1}\n", (unsigned long long) seq);
        CU_ASSERT_EQUAL(hubc_inbox_add(box, seq, rec, (size_t) n, NULL), HUB_OK);
    }
    CU_ASSERT_EQUAL(hubc_inbox_commit(box, NULL), HUB_OK);
}

// How many inbox files (finished and part) there are, and how many
// records they hold in all (lines).
static size_t
s_count(size_t *records)
{
    DIR *d = opendir(s_f.dir);
    size_t n = 0;
    struct dirent *e;
    *records = 0;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || !strstr(e->d_name, ".jsonl")) {
            continue;
        }
        char path[512];
        snprintf(path, sizeof path, "%s/%s", s_f.dir, e->d_name);
        FILE *f = fopen(path, "r");
        for (int c; f && (c = fgetc(f)) != EOF;) {
            *records += c == '\n';
        }
        if (f) {
            fclose(f);
        }
        n++;
    }
    if (d) {
        closedir(d);
    }
    return n;
}

static void
test_the_store_id_is_remembered_durably(void)
{
    s_newdir();
    hubc_inbox_t *box = s_open(NULL);
    CU_ASSERT_STRING_EQUAL(hubc_inbox_store_id(box), "");
    CU_ASSERT_EQUAL(hubc_inbox_set_store_id(box, "not an id", NULL), HUB_EINVAL);
    CU_ASSERT_EQUAL(hubc_inbox_set_store_id(box, "0123456789ABCDEF0123456789ABCDEF", NULL),
                    HUB_EINVAL);
    CU_ASSERT_EQUAL(hubc_inbox_set_store_id(box, ID_A, NULL), HUB_OK);
    CU_ASSERT_STRING_EQUAL(hubc_inbox_store_id(box), ID_A);
    hubc_inbox_destroy(&box);
    box = s_open(NULL);
    CU_ASSERT_STRING_EQUAL(hubc_inbox_store_id(box), ID_A);
    CU_ASSERT_EQUAL(hubc_inbox_set_store_id(box, ID_B, NULL), HUB_OK);
    hubc_inbox_destroy(&box);
    box = s_open(NULL);
    CU_ASSERT_STRING_EQUAL(hubc_inbox_store_id(box), ID_B);
    hubc_inbox_destroy(&box);
    char path[256];
    struct stat st;
    snprintf(path, sizeof path, "%s/." EP ".store_id.tmp", s_f.dir);
    CU_ASSERT(stat(path, &st) != 0); // renamed, nothing left behind
}

static void
test_a_damaged_store_id_file_is_named_at_open(void)
{
    s_newdir();
    hubc_inbox_t *box = s_open(NULL);
    hubc_inbox_destroy(&box);
    char path[256];
    snprintf(path, sizeof path, "%s/." EP ".store_id", s_f.dir);
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("0123\n", f);
    fclose(f);
    hub_diag_t *diag = hub_diag_new();
    hubc_inbox_opts_t o = {false, NULL, 0, 0, 0};
    CU_ASSERT_EQUAL(hubc_inbox_open(&box, s_f.dir, EP, &o, diag), HUB_EIO);
    CU_ASSERT_PTR_NULL(box);
    CU_ASSERT_EQUAL_FATAL(hub_diag_count(diag), 1);
    CU_ASSERT_STRING_EQUAL(hub_diag_at(diag, 0)->reason, "inbox_store_id");
    CU_ASSERT_PTR_NOT_NULL(strstr(hub_diag_at(diag, 0)->text, ".store_id"));
    hub_diag_destroy(&diag);
}

// The sink wrote 1..40 (in two files); the hub's store comes back from a
// backup with 25 acknowledged: 26.. come again, new, into new files, in
// the same second as the old ones (the worst case for names).
static void
test_a_restart_goes_on_after_the_cursor_keeping_every_file(void)
{
    s_newdir();
    hubc_inbox_t *box = s_open(NULL);
    size_t records;
    s_write(box, 1, 20);
    CU_ASSERT_EQUAL(hubc_inbox_rotate(box, NULL), HUB_OK);
    s_write(box, 21, 40);
    CU_ASSERT_EQUAL(hubc_inbox_set_store_id(box, ID_A, NULL), HUB_OK);
    CU_ASSERT_EQUAL(hubc_inbox_restart(box, 25, NULL), HUB_OK);
    CU_ASSERT_EQUAL(hubc_inbox_last(box), 25);
    CU_ASSERT_EQUAL(hubc_inbox_durable(box), 25);
    CU_ASSERT_EQUAL(hubc_inbox_set_store_id(box, ID_B, NULL), HUB_OK);
    s_write(box, 26, 30);
    CU_ASSERT_EQUAL(hubc_inbox_rotate(box, NULL), HUB_OK); // 26..30 finished
    s_write(box, 31, 33);
    CU_ASSERT_EQUAL(s_count(&records), 4); // 1-20, 21-40, 26-30, and the part 31..
    CU_ASSERT_EQUAL(records, 40 + 8);
    CU_ASSERT_PTR_NOT_NULL(strstr(hubc_inbox_part(box), "-000000000031.jsonl.part"));
    hubc_inbox_destroy(&box);
    // The sink starts again: it goes on in the new generation.
    box = s_open(NULL);
    CU_ASSERT_EQUAL(hubc_inbox_last(box), 33);
    CU_ASSERT_STRING_EQUAL(hubc_inbox_store_id(box), ID_B);
    CU_ASSERT_EQUAL(s_count(&records), 4);
    CU_ASSERT_EQUAL(records, 48);
    hubc_inbox_destroy(&box);
}

// A crash after the restart but before the new id was kept: the inbox
// opens after the cursor, the old id still kept, so the sink does it again
// (the same cursor: nothing changes but the id).
static void
test_a_restart_without_its_id_is_done_again_harmlessly(void)
{
    s_newdir();
    hubc_inbox_t *box = s_open(NULL);
    size_t records;
    s_write(box, 1, 10);
    CU_ASSERT_EQUAL(hubc_inbox_set_store_id(box, ID_A, NULL), HUB_OK);
    CU_ASSERT_EQUAL(hubc_inbox_restart(box, 4, NULL), HUB_OK);
    hubc_inbox_destroy(&box); // the "crash": the id is not kept
    box = s_open(NULL);
    CU_ASSERT_EQUAL(hubc_inbox_last(box), 4);
    CU_ASSERT_STRING_EQUAL(hubc_inbox_store_id(box), ID_A);
    CU_ASSERT_EQUAL(hubc_inbox_restart(box, 4, NULL), HUB_OK);
    CU_ASSERT_EQUAL(hubc_inbox_set_store_id(box, ID_B, NULL), HUB_OK);
    s_write(box, 5, 6);
    CU_ASSERT_EQUAL(s_count(&records), 2);
    CU_ASSERT_EQUAL(records, 12);
    hubc_inbox_destroy(&box);
}

void
test_inbox_restart_register(void)
{
    CU_pSuite s = CU_add_suite("inbox_restart", s_init, s_cleanup);
    CU_add_test(s, "the store id is remembered durably", test_the_store_id_is_remembered_durably);
    CU_add_test(s, "a damaged store id file is named at open",
                test_a_damaged_store_id_file_is_named_at_open);
    CU_add_test(s, "a restart goes on after the cursor, keeping every file",
                test_a_restart_goes_on_after_the_cursor_keeping_every_file);
    CU_add_test(s, "a restart without its id is done again harmlessly",
                test_a_restart_without_its_id_is_done_again_harmlessly);
}
