// hub-sink's modules: the inbox (hub_inbox) on a real directory — records
// made durable, files rotated by size and by a gap, torn and damaged part
// files repaired at open, a crash between the steps of a rotation, a second
// writer kept out — the scanner that finds the last complete record, fed
// in every split; the CSV columns file (hub_columns) with its diagnostics;
// and a DELIVER body written as a JSON line and a CSV row (hub_record).
#include "hub_codec.h"
#include "hub_columns.h"
#include "hub_error.h"
#include "hub_inbox.h"
#include "hub_mpw.h"
#include "hub_record.h"
#include "suites.h"
#include "testutil.h"

#include <CUnit/CUnit.h>
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define S(x) x, sizeof(x) - 1
#define EP "education@513431"

static tu_tmp_t s_f;

static int
s_init(void)
{
    return tu_tmp_init(&s_f, "sink");
}

static int
s_cleanup(void)
{
    return tu_tmp_cleanup(&s_f);
}

// A fresh inbox directory name for the test (not created).
static const char *
s_newdir(void)
{
    return tu_tmp_dir(&s_f, "inbox");
}

static hubc_inbox_opts_t
s_jsonl(uint64_t rotate_bytes)
{
    return (hubc_inbox_opts_t){false, NULL, 0, rotate_bytes, 0};
}

// The record of SEQ as the sink writes it (JSON lines).
static size_t
s_rec(char *buf, size_t size, uint64_t seq)
{
    return (size_t) snprintf(buf, size, "{\"seq\":%llu,\"x\":\"line %llu\"}\n",
                             (unsigned long long) seq, (unsigned long long) seq);
}

static int
s_add(hubc_inbox_t *box, uint64_t seq)
{
    char rec[64];
    size_t n = s_rec(rec, sizeof rec, seq);
    return hubc_inbox_add(box, seq, rec, n, NULL);
}

// Names in the inbox directory ending in SUFFIX, sorted, into NAMES (up to
// MAX of 256 bytes each); returns their count.
static int
s_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

static size_t
s_files(const char *suffix, char names[][256], size_t max)
{
    DIR *d = opendir(s_f.dir);
    size_t n = 0, sl = strlen(suffix);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] != '.' && len >= sl && strcmp(e->d_name + len - sl, suffix) == 0 &&
            n < max) {
            snprintf(names[n++], 256, "%s", e->d_name);
        }
    }
    if (d) {
        closedir(d);
    }
    qsort(names, n, 256, s_cmp);
    return n;
}

// The bytes of inbox file NAME into BUF (SIZE bytes at most); its length.
static size_t
s_slurp(const char *name, char *buf, size_t size)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", s_f.dir, name);
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, size - 1, f) : 0;
    buf[n] = '\0';
    if (f) {
        fclose(f);
    }
    return n;
}

static void
s_append(const char *name, const char *bytes, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", s_f.dir, name);
    FILE *f = fopen(path, "ab");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(fwrite(bytes, 1, n, f), n);
    fclose(f);
}

// Every record of every finished file and the part file, in name order:
// true when their seqs run 1..LAST once each.
static bool
s_all_once(uint64_t last)
{
    char names[64][256], buf[65536];
    size_t n = s_files(".jsonl", names, 32);
    n += s_files(".jsonl.part", names + n, 32);
    uint64_t next = 1;
    for (size_t i = 0; i < n; i++) {
        size_t len = s_slurp(names[i], buf, sizeof buf);
        hubc_inbox_scan_t scan;
        char ts[16];
        uint64_t first;
        bool csv, part;
        if (!hubc_inbox_parse_name(names[i], EP, ts, &first, &csv, &part) || first != next) {
            return false;
        }
        hubc_inbox_scan_init(&scan, false, first);
        hubc_inbox_scan_feed(&scan, buf, len);
        if (scan.good_len != len) {
            return false;
        }
        next = scan.last + 1;
    }
    return next == last + 1;
}

// ---------------------------------------------------------------- scanner

static void
s_scan_all(hubc_inbox_scan_t *scan, bool csv, uint64_t first, const char *data, size_t len,
           size_t piece)
{
    hubc_inbox_scan_init(scan, csv, first);
    for (size_t at = 0; at < len; at += piece) {
        hubc_inbox_scan_feed(scan, data + at, len - at < piece ? len - at : piece);
    }
}

static void
test_the_scanner_finds_the_last_complete_record_in_any_split(void)
{
    static const char data[] = "{\"seq\":7,\"a\":1}\n{\"seq\":8,\"a\":\"x\\ny\"}\n{\"seq\":9,\"a";
    for (size_t piece = 1; piece <= sizeof data; piece++) {
        hubc_inbox_scan_t scan;
        s_scan_all(&scan, false, 7, S(data), piece);
        CU_ASSERT_EQUAL(scan.records, 2);
        CU_ASSERT_EQUAL(scan.last, 8);
        CU_ASSERT_EQUAL(scan.good_len, strchr(strchr(data, '\n') + 1, '\n') + 1 - data);
        CU_ASSERT_EQUAL(scan.bad_line, 0);
    }
}

static void
test_an_empty_file_holds_nothing_after_its_first_seq_minus_one(void)
{
    hubc_inbox_scan_t scan;
    hubc_inbox_scan_init(&scan, false, 42);
    CU_ASSERT_EQUAL(scan.last, 41);
    CU_ASSERT_EQUAL(scan.records, 0);
    CU_ASSERT_EQUAL(scan.good_len, 0);
}

static void
test_a_record_out_of_sequence_ends_the_good_part(void)
{
    static const struct {
        const char *data;
        uint64_t records, bad_line;
    } cases[] = {
        {"{\"seq\":1}\n{\"seq\":3}\n{\"seq\":4}\n", 1, 2}, // a gap
        {"{\"seq\":1}\n{\"seq\":1}\n", 1, 2},              // a repeat
        {"{\"seq\":2}\n", 0, 1},                           // not the file's first
        {"{\"seq\":1}\n\0\0\0\0\n{\"seq\":2}\n", 1, 2},    // zeros after a power loss
        {"{\"id\":1,\"seq\":2}\n", 0, 1},                  // seq not first
        {"{\"seq\":1x}\n", 0, 1},
        {"{\"seq\":}\n", 0, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hubc_inbox_scan_t scan;
        size_t len = strlen(cases[i].data);
        len += i == 3 ? 16 : 0; // the embedded NULs
        s_scan_all(&scan, false, 1, cases[i].data, len, len);
        CU_ASSERT_EQUAL(scan.records, cases[i].records);
        CU_ASSERT_EQUAL(scan.bad_line, cases[i].bad_line);
    }
}

static void
test_csv_records_may_hold_line_breaks_in_quotes(void)
{
    static const char data[] = "\xEF\xBB\xBFseq,\"名称\"\r\n"
                               "5,\"a\r\nb\"\r\n"
                               "6,\"say \"\"hi\"\"\n,\"\r\n"
                               "7,\"torn\r\n";
    for (size_t piece = 1; piece <= sizeof data; piece += 3) {
        hubc_inbox_scan_t scan;
        s_scan_all(&scan, true, 5, S(data), piece);
        CU_ASSERT_EQUAL(scan.header_len, strlen("\xEF\xBB\xBFseq,\"名称\"\r\n"));
        CU_ASSERT_EQUAL(scan.records, 2);
        CU_ASSERT_EQUAL(scan.last, 6);
        CU_ASSERT_EQUAL(scan.good_len, strstr(data, "7,") - data);
    }
}

static void
test_inbox_file_names_are_parsed_strictly(void)
{
    char ts[16];
    uint64_t first = 0;
    bool csv = true, part = true;
    CU_ASSERT_TRUE(hubc_inbox_parse_name(EP "-20260101T010203-000000000012.jsonl", EP, ts, &first,
                                         &csv, &part));
    CU_ASSERT_STRING_EQUAL(ts, "20260101T010203");
    CU_ASSERT_EQUAL(first, 12);
    CU_ASSERT_FALSE(csv);
    CU_ASSERT_FALSE(part);
    CU_ASSERT_TRUE(
        hubc_inbox_parse_name(EP "-20260101T010203-7.csv.part", EP, ts, &first, &csv, &part));
    CU_ASSERT_TRUE(csv && part && first == 7);
    static const char *const bad[] = {
        EP "-20260101T010203-000000000012.json",
        EP "-20260101T010203-.jsonl",
        EP "-2026010T1010203-1.jsonl",
        EP "-20260101T010203-1.jsonl.part.x",
        "education@5134311-20260101T010203-1.jsonl",
        EP "-20260101X010203-1.csv",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CU_ASSERT_FALSE(hubc_inbox_parse_name(bad[i], EP, ts, &first, &csv, &part));
    }
}

// ---------------------------------------------------------------- inbox

static void
test_records_are_durable_after_commit_and_found_again(void)
{
    hubc_inbox_t *box = NULL;
    hubc_inbox_opts_t o = s_jsonl(0);
    CU_ASSERT_EQUAL_FATAL(hubc_inbox_open(&box, s_newdir(), EP, &o, NULL), HUB_OK);
    CU_ASSERT_EQUAL(hubc_inbox_last(box), 0);
    for (uint64_t s = 1; s <= 5; s++) {
        CU_ASSERT_EQUAL(s_add(box, s), HUB_OK);
    }
    CU_ASSERT_EQUAL(hubc_inbox_last(box), 5);
    CU_ASSERT_EQUAL(hubc_inbox_durable(box), 0);
    CU_ASSERT_EQUAL(s_add(box, 5), HUB_EINVAL); // not above the last one
    CU_ASSERT_EQUAL(hubc_inbox_commit(box, NULL), HUB_OK);
    CU_ASSERT_EQUAL(hubc_inbox_durable(box), 5);
    CU_ASSERT_EQUAL(hubc_inbox_written(box), 5);
    hubc_inbox_destroy(&box);
    CU_ASSERT_PTR_NULL(box);
    CU_ASSERT_EQUAL_FATAL(hubc_inbox_open(&box, s_f.dir, EP, &o, NULL), HUB_OK);
    CU_ASSERT_EQUAL(hubc_inbox_last(box), 5);
    hubc_inbox_destroy(&box);
    CU_ASSERT_TRUE(s_all_once(5));
}

static void
test_a_torn_last_record_is_cut_at_open(void)
{
    hubc_inbox_t *box = NULL;
    hubc_inbox_opts_t o = s_jsonl(0);
    hub_diag_t *diag = hub_diag_new();
    CU_ASSERT_EQUAL_FATAL(hubc_inbox_open(&box, s_newdir(), EP, &o, NULL), HUB_OK);
    s_add(box, 1);
    s_add(box, 2);
    hubc_inbox_commit(box, NULL);
    char part[256];
    snprintf(part, sizeof part, "%s", hubc_inbox_part(box));
    hubc_inbox_destroy(&box);
    s_append(part, S("{\"seq\":3,\"x\":\"li")); // the crash came mid-write
    CU_ASSERT_EQUAL_FATAL(hubc_inbox_open(&box, s_f.dir, EP, &o, diag), HUB_OK);
    CU_ASSERT_EQUAL(hubc_inbox_last(box), 2);
    CU_ASSERT_EQUAL(hub_diag_errors(diag), 0);
    CU_ASSERT_EQUAL_FATAL(hub_diag_count(diag), 1);
    CU_ASSERT_STRING_EQUAL(hub_diag_at(diag, 0)->reason, "inbox_torn");
    CU_ASSERT_PTR_NOT_NULL(strstr(hub_diag_at(diag, 0)->where, ":3"));
    s_add(box, 3);
    hubc_inbox_commit(box, NULL);
    hubc_inbox_destroy(&box);
    CU_ASSERT_TRUE(s_all_once(3));
    hub_diag_destroy(&diag);
}

static void
test_a_damaged_part_is_kept_aside_not_lost(void)
{
    hubc_inbox_t *box = NULL;
    hubc_inbox_opts_t o = s_jsonl(0);
    hub_diag_t *diag = hub_diag_new();
    CU_ASSERT_EQUAL_FATAL(hubc_inbox_open(&box, s_newdir(), EP, &o, NULL), HUB_OK);
    s_add(box, 1);
    hubc_inbox_commit(box, NULL);
    char part[256], names[4][256], buf[256];
    snprintf(part, sizeof part, "%s", hubc_inbox_part(box));
    hubc_inbox_destroy(&box);
    s_append(part, S("\0\0\0\0\n{\"seq\":2}\n"));
    CU_ASSERT_EQUAL_FATAL(hubc_inbox_open(&box, s_f.dir, EP, &o, diag), HUB_OK);
    CU_ASSERT_EQUAL(hubc_inbox_last(box), 1);
    CU_ASSERT_STRING_EQUAL(hub_diag_at(diag, 0)->reason, "inbox_damaged");
    CU_ASSERT_EQUAL_FATAL(s_files(".damaged", names, 4), 1);
    CU_ASSERT_EQUAL(s_slurp(names[0], buf, sizeof buf), 15);
    CU_ASSERT_EQUAL(memcmp(buf + 5, "{\"seq\":2}\n", 10), 0);
    hubc_inbox_destroy(&box);
    hub_diag_destroy(&diag);
}

static void
test_size_rotation_keeps_every_file_consecutive(void)
{
    hubc_inbox_t *box = NULL;
    hubc_inbox_opts_t o = s_jsonl(100); // about three records a file
    char names[32][256];
    CU_ASSERT_EQUAL_FATAL(hubc_inbox_open(&box, s_newdir(), EP, &o, NULL), HUB_OK);
    for (uint64_t s = 1; s <= 20; s++) {
        CU_ASSERT_EQUAL(s_add(box, s), HUB_OK);
        if (s % 7 == 0) {
            CU_ASSERT_EQUAL(hubc_inbox_commit(box, NULL), HUB_OK);
        }
    }
    CU_ASSERT_EQUAL(hubc_inbox_rotate(box, NULL), HUB_OK);
    size_t done = s_files(".jsonl", names, 32);
    CU_ASSERT_TRUE(done >= 5);
    CU_ASSERT_EQUAL(hubc_inbox_files(box), done);
    for (size_t i = 0; i < done; i++) {
        char buf[512];
        CU_ASSERT_TRUE(s_slurp(names[i], buf, sizeof buf) <= 100);
    }
    CU_ASSERT_EQUAL(s_files(".part", names, 32), 1); // the next one, empty
    CU_ASSERT_PTR_NOT_NULL(strstr(names[0], "-000000000021.jsonl.part"));
    hubc_inbox_destroy(&box);
    CU_ASSERT_TRUE(s_all_once(20));
    // The finished files taken away: the empty part file still says where
    // the inbox stands.
    done = s_files(".jsonl", names, 32);
    for (size_t i = 0; i < done; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", s_f.dir, names[i]);
        CU_ASSERT_EQUAL(unlink(path), 0);
    }
    CU_ASSERT_EQUAL_FATAL(hubc_inbox_open(&box, s_f.dir, EP, &o, NULL), HUB_OK);
    CU_ASSERT_EQUAL(hubc_inbox_last(box), 20);
    hubc_inbox_destroy(&box);
}

static void
test_a_crash_inside_a_rotation_is_finished_at_open(void)
{
    hubc_inbox_t *box = NULL;
    hubc_inbox_opts_t o = s_jsonl(0);
    char names[8][256], next[256];
    CU_ASSERT_EQUAL_FATAL(hubc_inbox_open(&box, s_newdir(), EP, &o, NULL), HUB_OK);
    s_add(box, 1);
    s_add(box, 2);
    hubc_inbox_commit(box, NULL);
    hubc_inbox_destroy(&box);
    // The next part file made, the old one not yet renamed: the crash.
    snprintf(next, sizeof next, "%s/%s-20260101T000000-000000000003.jsonl.part", s_f.dir, EP);
    int fd = open(next, O_WRONLY | O_CREAT | O_EXCL, 0640);
    CU_ASSERT_TRUE_FATAL(fd >= 0);
    close(fd);
    CU_ASSERT_EQUAL(s_files(".part", names, 8), 2);
    CU_ASSERT_EQUAL_FATAL(hubc_inbox_open(&box, s_f.dir, EP, &o, NULL), HUB_OK);
    CU_ASSERT_EQUAL(hubc_inbox_last(box), 2);
    CU_ASSERT_EQUAL(hubc_inbox_files(box), 1);
    CU_ASSERT_EQUAL(s_files(".part", names, 8), 1);
    CU_ASSERT_EQUAL(s_files(".jsonl", names, 8), 1);
    s_add(box, 3);
    hubc_inbox_destroy(&box);
    CU_ASSERT_TRUE(s_all_once(3));
}

static void
test_a_gap_in_the_seqs_starts_a_new_file(void)
{
    hubc_inbox_t *box = NULL;
    hubc_inbox_opts_t o = s_jsonl(0);
    char names[8][256];
    CU_ASSERT_EQUAL_FATAL(hubc_inbox_open(&box, s_newdir(), EP, &o, NULL), HUB_OK);
    CU_ASSERT_EQUAL(s_add(box, 4), HUB_OK); // the hub had 1..3 acknowledged already
    CU_ASSERT_EQUAL(s_add(box, 5), HUB_OK);
    CU_ASSERT_EQUAL(s_add(box, 9), HUB_OK);
    CU_ASSERT_EQUAL(hubc_inbox_commit(box, NULL), HUB_OK);
    CU_ASSERT_EQUAL(s_files(".jsonl", names, 8), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(names[0], "-000000000004.jsonl"));
    CU_ASSERT_EQUAL(s_files(".part", names, 8), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(names[0], "-000000000009.jsonl.part"));
    hubc_inbox_destroy(&box);
    CU_ASSERT_EQUAL_FATAL(hubc_inbox_open(&box, s_f.dir, EP, &o, NULL), HUB_OK);
    CU_ASSERT_EQUAL(hubc_inbox_last(box), 9);
    hubc_inbox_destroy(&box);
}

static void
test_a_second_writer_is_kept_out(void)
{
    hubc_inbox_t *box = NULL, *other = NULL;
    hubc_inbox_opts_t o = s_jsonl(0);
    hub_diag_t *diag = hub_diag_new();
    CU_ASSERT_EQUAL_FATAL(hubc_inbox_open(&box, s_newdir(), EP, &o, NULL), HUB_OK);
    pid_t pid = fork(); // fcntl locks are per process
    if (pid == 0) {
        _exit(hubc_inbox_open(&other, s_f.dir, EP, &o, diag) == HUB_EIO ? 0 : 1);
    }
    int status = -1;
    waitpid(pid, &status, 0);
    CU_ASSERT_EQUAL(status, 0);
    CU_ASSERT_EQUAL(hubc_inbox_open(&other, s_f.dir, "bad/name", &o, diag), HUB_EINVAL);
    CU_ASSERT_PTR_NULL(other);
    hubc_inbox_destroy(&box);
    hub_diag_destroy(&diag);
}

static void
test_a_csv_part_with_another_header_is_finished(void)
{
    hubc_inbox_t *box = NULL;
    hubc_inbox_opts_t o = {true, S("\xEF\xBB\xBFseq,a\r\n"), 0, 0};
    char names[8][256], buf[256];
    CU_ASSERT_EQUAL_FATAL(hubc_inbox_open(&box, s_newdir(), EP, &o, NULL), HUB_OK);
    CU_ASSERT_EQUAL(hubc_inbox_add(box, 1, S("1,\"x\r\ny\"\r\n"), NULL), HUB_OK);
    hubc_inbox_destroy(&box);
    o.header = "\xEF\xBB\xBFseq,b\r\n";
    CU_ASSERT_EQUAL_FATAL(hubc_inbox_open(&box, s_f.dir, EP, &o, NULL), HUB_OK);
    CU_ASSERT_EQUAL(hubc_inbox_last(box), 1);
    CU_ASSERT_EQUAL(s_files(".csv", names, 8), 1);
    CU_ASSERT_EQUAL(s_slurp(names[0], buf, sizeof buf), 20);
    CU_ASSERT_EQUAL(s_files(".csv.part", names, 8), 1);
    CU_ASSERT_EQUAL(s_slurp(names[0], buf, sizeof buf), o.header_len);
    CU_ASSERT_STRING_EQUAL(buf, o.header);
    hubc_inbox_destroy(&box);
}

// ---------------------------------------------------------------- columns

static const char s_columns[] = "\"*\":\n"
                                "  delivery.seq: 序号\n"
                                "  type: 类型\n"
                                "  subject.citizen_id: 身份证号\n"
                                "health.hospitalisation:\n"
                                "  subject.name: 姓名\n"
                                "  body.total_cost: 总费用\n"
                                "  delivery.rules: 规则\n"
                                "student.enrolment_change:\n"
                                "  subject.name: 姓名\n"
                                "  body.reason: \"原因, 说明\"\n";

static void
test_a_columns_file_gives_the_header_and_each_types_row(void)
{
    hubc_columns_t *cols = NULL;
    hub_diag_t *diag = hub_diag_new();
    CU_ASSERT_EQUAL_FATAL(hubc_columns_parse(&cols, "cols.yaml", S(s_columns), tu_schemas(), diag),
                          HUB_OK);
    CU_ASSERT_EQUAL(hubc_columns_count(cols), 7);
    CU_ASSERT_STRING_EQUAL(hubc_columns_name(cols, 0), "序号");
    CU_ASSERT_STRING_EQUAL(hubc_columns_name(cols, 3), "姓名");
    hub_buf_t b = HUB_BUF_INIT;
    hubc_columns_header(cols, &b);
    static const char want[] = "\xEF\xBB\xBF序号,类型,身份证号,姓名,总费用,规则,\"原因, 说明\"\r\n";
    CU_ASSERT_EQUAL(b.len, sizeof want - 1);
    CU_ASSERT_EQUAL(memcmp(b.data, want, b.len), 0);
    size_t n;
    bool known;
    const hubc_column_map_t *m = hubc_columns_of(cols, "health.hospitalisation", &n, &known);
    CU_ASSERT_TRUE(known);
    CU_ASSERT_EQUAL_FATAL(n, 5);
    CU_ASSERT_STRING_EQUAL(m[3].path, "body.total_cost");
    CU_ASSERT_TRUE(m[3].yuan);
    CU_ASSERT_EQUAL(m[3].column, 4);
    hubc_columns_of(cols, "person.death", &n, &known);
    CU_ASSERT_FALSE(known);
    CU_ASSERT_EQUAL(n, 2);
    hub_buf_free(&b);
    hubc_columns_destroy(&cols);
    hub_diag_destroy(&diag);
}

static void
test_columns_file_mistakes_are_named_with_their_place(void)
{
    static const struct {
        const char *yaml, *where, *reason, *text;
    } cases[] = {
        {"person.deaht:\n  type: t\n", "c.yaml:1:1", "unknown_type", "person.death"},
        {"person.death:\n  body.death_dat: d\n", "c.yaml:2:3", "unknown_field", "death_date"},
        {"\"*\":\n  body.x: x\n", "c.yaml:2:3", "bad_path", "under a type"},
        {"person.death:\n  subject.nmae: n\n", "c.yaml:2:3", "unknown_field", "name"},
        {"person.death:\n  delivery.rule: r\n", "c.yaml:2:3", "bad_path", "rules"},
        {"person.death:\n  type: a\n  id: a\n", "c.yaml:3:7", "duplicate_column", "already"},
        {"person.death:\n  delivery.seq: s\n", "c.yaml:2:3", "bad_path", "first column"},
        {"person.death:\n  type: \"\"\n", "c.yaml:2:9", "columns_file", "column name"},
        {"- a\n", "c.yaml:1:1", "wrong_type", "mapping"},
        {"person.death: [a]\n", "c.yaml:1:15", "wrong_type", "mapping"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hubc_columns_t *cols = NULL;
        hub_diag_t *diag = hub_diag_new();
        int rc = hubc_columns_parse(&cols, "c.yaml", cases[i].yaml, strlen(cases[i].yaml),
                                    tu_schemas(), diag);
        CU_ASSERT_EQUAL(rc, HUB_ECONFIG);
        CU_ASSERT_PTR_NULL(cols);
        const hub_diag_entry_t *e = hub_diag_at(diag, 0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(e);
        if (strcmp(e->where, cases[i].where) != 0 || strcmp(e->reason, cases[i].reason) != 0 ||
            !strstr(e->text, cases[i].text)) {
            fprintf(stderr, "\ncase %zu: %s: %s [%s]\n", i, e->where, e->text, e->reason);
            CU_FAIL("wrong diagnostic");
        }
        hub_diag_destroy(&diag);
    }
}

static void
test_csv_cells_are_quoted_only_when_they_must_be(void)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"plain", "plain"},
        {"彝族", "彝族"},
        {"a,b", "\"a,b\""},
        {"say \"hi\"", "\"say \"\"hi\"\"\""},
        {"two\nlines", "\"two\nlines\""},
        {" pad", "\" pad\""},
        {"\"", "\"\"\"\""},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hub_buf_t b = HUB_BUF_INIT;
        CU_ASSERT_EQUAL(hubc_columns_cell(&b, cases[i].in, strlen(cases[i].in)), HUB_OK);
        CU_ASSERT_STRING_EQUAL(hub_buf_cstr(&b), cases[i].out);
        hub_buf_free(&b);
    }
}

// ---------------------------------------------------------------- record

// A DELIVER body for seq 7 carrying MSG, released by two rules (the second
// without purpose or legal basis), the citizen ID masked.
static void
s_deliver(const hub_msg_t *msg, hub_buf_t *out)
{
    hub_buf_t enc = HUB_BUF_INIT;
    hub_codec_encode(msg, &enc);
    hub_mpw_t w;
    hub_mpw_init(&w, out);
    hub_mpw_map(&w, 11);
    hub_mpw_cstr(&w, "endpoint");
    hub_mpw_cstr(&w, EP);
    hub_mpw_cstr(&w, "seq");
    hub_mpw_uint(&w, 7);
    hub_mpw_cstr(&w, "id");
    hub_mpw_cstr(&w, hub_msg_env_str(msg, HUB_ENV_ID));
    hub_mpw_cstr(&w, "origin_id");
    hub_mpw_cstr(&w, hub_msg_env_str(msg, HUB_ENV_ID));
    hub_mpw_cstr(&w, "type");
    hub_mpw_cstr(&w, hub_msg_env_str(msg, HUB_ENV_TYPE));
    hub_mpw_cstr(&w, "rules");
    hub_mpw_array(&w, 2);
    hub_mpw_cstr(&w, "dropout-hukou-education");
    hub_mpw_cstr(&w, "other");
    hub_mpw_cstr(&w, "purposes");
    hub_mpw_array(&w, 2);
    hub_mpw_cstr(&w, "控辍保学：核实\"辍学\"学生");
    hub_mpw_nil(&w);
    hub_mpw_cstr(&w, "legal_bases");
    hub_mpw_array(&w, 2);
    hub_mpw_cstr(&w, "《义务教育法》第十四条");
    hub_mpw_nil(&w);
    hub_mpw_cstr(&w, "ruleset");
    hub_mpw_cstr(&w, "356bc688");
    hub_mpw_cstr(&w, "fields");
    hub_mpw_array(&w, 3);
    static const char *const f[3][2] = {
        {"subject.citizen_id", "partial"}, {"subject.name", "none"}, {"subject.name", "partial"}};
    for (int i = 0; i < 3; i++) {
        hub_mpw_map(&w, 3);
        hub_mpw_cstr(&w, "mask");
        hub_mpw_cstr(&w, f[i][1]);
        hub_mpw_cstr(&w, "path");
        hub_mpw_cstr(&w, f[i][0]);
        hub_mpw_cstr(&w, "rule");
        hub_mpw_cstr(&w, "dropout-hukou-education");
    }
    hub_mpw_cstr(&w, "message");
    hub_mpw_bin(&w, enc.data, enc.len);
    hub_buf_free(&enc);
}

static void
test_a_delivery_becomes_one_json_line_with_its_reasons(void)
{
    hub_msg_t *msg = hub_msg_new();
    hubc_record_t *rec = hubc_record_new();
    hub_buf_t body = HUB_BUF_INIT, line = HUB_BUF_INIT;
    tu_dropout(msg);
    hub_msg_body_set_str(msg, "reason", "line\none\ttab \x01");
    s_deliver(msg, &body);
    CU_ASSERT_EQUAL_FATAL(hubc_record_read(rec, body.data, body.len, "2026-01-02T03:04:05Z", NULL),
                          HUB_OK);
    CU_ASSERT_EQUAL(hubc_record_seq(rec), 7);
    CU_ASSERT_STRING_EQUAL(hubc_record_type(rec), "student.enrolment_change");
    CU_ASSERT_EQUAL(hubc_record_json(rec, &line), HUB_OK);
    CU_ASSERT_EQUAL(memcmp(line.data, "{\"seq\":7,", 9), 0);
    CU_ASSERT_EQUAL(line.data[line.len - 1], '\n');
    CU_ASSERT_PTR_NULL(memchr(line.data, '\n', line.len - 1)); // one line
    json_error_t err;
    json_t *j = json_loadb((const char *) line.data, line.len, 0, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "seq")), 7);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(json_object_get(j, "purposes"), 0)),
                           "控辍保学：核实\"辍学\"学生");
    CU_ASSERT_TRUE(json_is_null(json_array_get(json_object_get(j, "legal_bases"), 1)));
    json_t *masked = json_object_get(j, "masked");
    CU_ASSERT_EQUAL(json_object_size(masked), 1); // the name came unmasked by one rule
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(masked, "subject.citizen_id")),
                           "partial");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "received_at")),
                           "2026-01-02T03:04:05Z");
    json_t *m = json_object_get(j, "message");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_object_get(m, "body"), "reason")),
                           "line\none\ttab \x01");
    json_decref(j);
    hub_buf_free(&body);
    hub_buf_free(&line);
    hubc_record_destroy(&rec);
    hub_msg_destroy(&msg);
}

static void
test_a_delivery_becomes_one_csv_row_of_the_departments_columns(void)
{
    hub_msg_t *msg = hub_msg_new();
    hubc_record_t *rec = hubc_record_new();
    hubc_columns_t *cols = NULL;
    hub_buf_t body = HUB_BUF_INIT, row = HUB_BUF_INIT;
    tu_dropout(msg);
    hub_msg_body_set_str(msg, "reason", "长期未到校, \"外出务工\"");
    s_deliver(msg, &body);
    CU_ASSERT_EQUAL_FATAL(hubc_columns_parse(&cols, "c", S(s_columns), tu_schemas(), NULL), 0);
    CU_ASSERT_EQUAL_FATAL(hubc_record_read(rec, body.data, body.len, "t", NULL), HUB_OK);
    bool known = false;
    CU_ASSERT_EQUAL(hubc_record_csv(rec, cols, &row, &known), HUB_OK);
    CU_ASSERT_TRUE(known);
    static const char want[] = "7,student.enrolment_change,513431201001050019,吉克·阿依,,,"
                               "\"长期未到校, \"\"外出务工\"\"\"\r\n";
    CU_ASSERT_STRING_EQUAL(hub_buf_cstr(&row), want);
    hub_buf_free(&body);
    hub_buf_free(&row);
    hubc_columns_destroy(&cols);
    hubc_record_destroy(&rec);
    hub_msg_destroy(&msg);
}

static void
test_money_is_written_as_yuan_and_lists_are_joined(void)
{
    hub_msg_t *msg = hub_msg_new();
    hubc_record_t *rec = hubc_record_new();
    hubc_columns_t *cols = NULL;
    hub_buf_t body = HUB_BUF_INIT, row = HUB_BUF_INIT;
    tu_dropout(msg);
    hub_msg_set_env_str(msg, HUB_ENV_TYPE, "health.hospitalisation");
    hub_msg_body_set_int(msg, "total_cost", -1234505);
    s_deliver(msg, &body);
    CU_ASSERT_EQUAL_FATAL(hubc_columns_parse(&cols, "c", S(s_columns), tu_schemas(), NULL), 0);
    CU_ASSERT_EQUAL_FATAL(hubc_record_read(rec, body.data, body.len, "t", NULL), HUB_OK);
    bool known = false;
    CU_ASSERT_EQUAL(hubc_record_csv(rec, cols, &row, &known), HUB_OK);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(hub_buf_cstr(&row), ",-12345.05,dropout-hukou-education; other,"));
    hub_buf_free(&body);
    hub_buf_free(&row);
    hubc_columns_destroy(&cols);
    hubc_record_destroy(&rec);
    hub_msg_destroy(&msg);
}

static void
test_a_deliver_body_without_what_it_needs_is_refused(void)
{
    hubc_record_t *rec = hubc_record_new();
    hub_buf_t b = HUB_BUF_INIT;
    hub_mpw_t w;
    hub_mpw_init(&w, &b);
    hub_mpw_map(&w, 2);
    hub_mpw_cstr(&w, "seq");
    hub_mpw_uint(&w, 1);
    hub_mpw_cstr(&w, "message");
    hub_mpw_bin(&w, "\x81", 1); // a map that ends too soon
    hub_diag_t *diag = hub_diag_new();
    CU_ASSERT_EQUAL(hubc_record_read(rec, b.data, b.len, "t", diag), HUB_EDECODE);
    CU_ASSERT_TRUE(hub_diag_errors(diag) > 0);
    hub_diag_reset(diag);
    b.len = 0;
    hub_mpw_init(&w, &b);
    hub_mpw_map(&w, 1);
    hub_mpw_cstr(&w, "seq");
    hub_mpw_cstr(&w, "seven");
    CU_ASSERT_EQUAL(hubc_record_read(rec, b.data, b.len, "t", diag), HUB_EDECODE);
    CU_ASSERT_PTR_NOT_NULL(strstr(hub_diag_at(diag, 0)->text, "'seq'"));
    hub_diag_reset(diag);
    b.len = 0;
    hub_mpw_init(&w, &b);
    hub_mpw_map(&w, 1);
    hub_mpw_cstr(&w, "purposes");
    hub_mpw_array(&w, 1);
    hub_mpw_str(&w, "\xE5\x87", 2); // not UTF-8: it could not go into JSON as it is
    CU_ASSERT_EQUAL(hubc_record_read(rec, b.data, b.len, "t", diag), HUB_EDECODE);
    CU_ASSERT_PTR_NOT_NULL(strstr(hub_diag_at(diag, 0)->text, "'purposes'"));
    hub_diag_reset(diag);
    CU_ASSERT_EQUAL(hubc_record_read(rec, "\x91\x01", 2, "t", diag), HUB_EDECODE);
    hub_diag_destroy(&diag);
    hub_buf_free(&b);
    hubc_record_destroy(&rec);
}

void
test_sink_register(void)
{
    CU_pSuite s = CU_add_suite("sink", s_init, s_cleanup);
    CU_add_test(s, "the scanner finds the last complete record in any split",
                test_the_scanner_finds_the_last_complete_record_in_any_split);
    CU_add_test(s, "an empty file holds nothing after its first seq minus one",
                test_an_empty_file_holds_nothing_after_its_first_seq_minus_one);
    CU_add_test(s, "a record out of sequence ends the good part",
                test_a_record_out_of_sequence_ends_the_good_part);
    CU_add_test(s, "csv records may hold line breaks in quotes",
                test_csv_records_may_hold_line_breaks_in_quotes);
    CU_add_test(s, "inbox file names are parsed strictly",
                test_inbox_file_names_are_parsed_strictly);
    CU_add_test(s, "records are durable after commit and found again",
                test_records_are_durable_after_commit_and_found_again);
    CU_add_test(s, "a torn last record is cut at open", test_a_torn_last_record_is_cut_at_open);
    CU_add_test(s, "a damaged part is kept aside, not lost",
                test_a_damaged_part_is_kept_aside_not_lost);
    CU_add_test(s, "size rotation keeps every file consecutive",
                test_size_rotation_keeps_every_file_consecutive);
    CU_add_test(s, "a crash inside a rotation is finished at open",
                test_a_crash_inside_a_rotation_is_finished_at_open);
    CU_add_test(s, "a gap in the seqs starts a new file", test_a_gap_in_the_seqs_starts_a_new_file);
    CU_add_test(s, "a second writer is kept out", test_a_second_writer_is_kept_out);
    CU_add_test(s, "a csv part with another header is finished",
                test_a_csv_part_with_another_header_is_finished);
    CU_add_test(s, "a columns file gives the header and each type's row",
                test_a_columns_file_gives_the_header_and_each_types_row);
    CU_add_test(s, "columns file mistakes are named with their place",
                test_columns_file_mistakes_are_named_with_their_place);
    CU_add_test(s, "csv cells are quoted only when they must be",
                test_csv_cells_are_quoted_only_when_they_must_be);
    CU_add_test(s, "a delivery becomes one json line with its reasons",
                test_a_delivery_becomes_one_json_line_with_its_reasons);
    CU_add_test(s, "a delivery becomes one csv row of the department's columns",
                test_a_delivery_becomes_one_csv_row_of_the_departments_columns);
    CU_add_test(s, "money is written as yuan and lists are joined",
                test_money_is_written_as_yuan_and_lists_are_joined);
    CU_add_test(s, "a deliver body without what it needs is refused",
                test_a_deliver_body_without_what_it_needs_is_refused);
}
