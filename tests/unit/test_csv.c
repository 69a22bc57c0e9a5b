// Tests of hub_csv (with hub_enc): the CSV reader over exports as they
// really are. Every case of the table is read with read sizes from 1 byte
// up, so every record boundary, quote, CRLF and multi-byte character also
// falls across a read; each must give the same records.
#include "hub_csv.h"
#include "hub_enc.h"
#include "hub_error.h"
#include "suites.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    const char *name;
    const char *in;
    size_t len; // 0: strlen(in)
    hubc_enc_t enc;
    char delimiter;
    const char *header;
    bool lines;
    const char *want; // "LINE@OFFSET-END>NEXTLINE:cell|cell" per record, or ":!reason"
} s_case_t;

#define S_COUNT(a) (sizeof(a) / sizeof((a)[0]))

// GB18030 bytes of 吉克·阿依, 姓名, 𠀀 (4 bytes), ꆈ (a Yi syllable, 4 bytes)
// and 億 (its second byte is '|').
#define GB_JIKE "\xBC\xAA\xBF\xCB\xA1\xA4\xB0\xA2\xD2\xC0"
#define GB_XINGMING "\xD0\xD5\xC3\xFB"
#define GB_U20000 "\x95\x32\x82\x36"
#define GB_YI "\x82\x35\xBF\x35"
#define GB_YI_BAR "\x83\x7C"

static const s_case_t s_cases[] = {
    {"LF lines", "a,b\n1,2\n3,4\n", 0, HUBC_ENC_AUTO, 0, NULL, false,
     "2@4-8>3:1|2\n3@8-12>4:3|4\n"},
    {"CRLF lines and a UTF-8 BOM",
     "\xEF\xBB\xBF"
     "a,b\r\n1,2\r\n",
     0, HUBC_ENC_AUTO, 0, NULL, false, "2@8-13>3:1|2\n"},
    {"a last line without a line end", "a,b\n1,2", 0, HUBC_ENC_AUTO, 0, NULL, false,
     "2@4-7>2:1|2\n"},
    {"quoted cells with delimiters, doubled quotes and line breaks",
     "a,b\n\"x,y\",\"say \"\"hi\"\"\"\n\"two\r\nlines\",\"3\nlines\nhere\"\nz,w\n", 0,
     HUBC_ENC_AUTO, 0, NULL, false,
     "2@4-23>3:x,y|say \"hi\"\n3@23-51>7:two\r\nlines|3\nlines\nhere\n7@51-55>8:z|w\n"},
    {"an empty quoted cell and empty cells", "a,b,c\n\"\",,x\n", 0, HUBC_ENC_AUTO, 0, NULL, false,
     "2@6-12>3:||x\n"},
    {"title rows above the header", "Report 2024,,\nexported by: x,,\nid,name,n\n1,a,2\n", 0,
     HUBC_ENC_AUTO, 0, "name", false, "4@41-47>5:1|a|2\n"},
    {"blank lines and empty rows are skipped", "a,b\n\n,\n1,2\n\r\n \n", 0, HUBC_ENC_AUTO, 0, NULL,
     false, "4@7-11>5:1|2\n"},
    {"a ragged row is a defect; extra empty cells are not", "a,b\n1\n1,2,3\n1,2,,\n", 0,
     HUBC_ENC_AUTO, 0, NULL, false, "2@4-6>3:!bad_csv\n3@6-12>4:!bad_csv\n4@12-18>5:1|2\n"},
    {"text after a closing quote is a defect", "a,b\n\"x\"y,2\n3,4\n", 0, HUBC_ENC_AUTO, 0, NULL,
     false, "2@4-11>3:!bad_csv\n3@11-15>4:3|4\n"},
    {"a quote inside an unquoted cell is text", "a,b\nx\"y,2\n", 0, HUBC_ENC_AUTO, 0, NULL, false,
     "2@4-10>3:x\"y|2\n"},
    {"a quote never closed costs one line", "a,b\n\"open,1\n3,4\n", 0, HUBC_ENC_AUTO, 0, NULL,
     false, "2@4-12>3:!bad_csv\n3@12-16>4:3|4\n"},
    {"old Mac line ends (CR alone)", "a,b\r1,2\r3,4", 0, HUBC_ENC_AUTO, 0, NULL, false,
     "2@4-8>3:1|2\n3@8-11>3:3|4\n"},
    {"GB18030 found without a BOM, 2- and 4-byte characters",
     GB_XINGMING ",x\r\n" GB_JIKE "," GB_U20000 GB_YI "\r\n", 0, HUBC_ENC_AUTO, 0, NULL, false,
     "2@8-29>3:吉克·阿依|𠀀ꆈ\n"},
    {"GB18030 named and a title row", "t\xB1\xED\r\n" GB_XINGMING ",x\r\n" GB_JIKE ",1\r\n", 0,
     HUBC_ENC_GB18030, 0, "姓名", false, "3@13-27>4:吉克·阿依|1\n"},
    {"a GB18030 second byte equal to the delimiter does not split the cell",
     "a|b\n" GB_YI_BAR "|2\n", 0, HUBC_ENC_GB18030, '|', NULL, false, "2@4-9>3:億|2\n"},
    {"GBK is read as GB18030", "a,b\n" GB_JIKE "," GB_U20000 "\n", 0, HUBC_ENC_GBK, 0, NULL, false,
     "2@4-20>3:吉克·阿依|𠀀\n"},
    {"a byte that is no GB18030 character", "a,b\n\xB0\xA2,\xFF\n\xB0\xA2,ok\n", 0,
     HUBC_ENC_GB18030, 0, NULL, false, "2@4-9>3:!bad_encoding\n3@9-15>4:阿|ok\n"},
    {"a byte that is no UTF-8", "a,b\nok,\xC3\x28\n1,2\n", 0, HUBC_ENC_UTF8, 0, NULL, false,
     "2@4-10>3:!bad_encoding\n3@10-14>4:1|2\n"},
    {"a zero byte", "a,b\n1,\0\n1,2\n", 10, HUBC_ENC_AUTO, 0, NULL, false,
     "2@4-8>3:!bad_encoding\n3@8-10>3:1|\n"},
    {"semicolons", "a;b\n\"1;x\";2\n", 0, HUBC_ENC_AUTO, ';', NULL, false, "2@4-12>3:1;x|2\n"},
    {"no header row at all", "x,y\n1,2\n", 0, HUBC_ENC_AUTO, 0, "身份证号", false,
     "1@0-8>3:!missing_column\n"},
    {"JSON Lines: a record per non-empty line", "{\"a\":1}\n\n{\"b\":\"x,\\\"y\"}\r\n", 0,
     HUBC_ENC_AUTO, 0, NULL, true, "1@0-8>2:{\"a\":1}\n3@9-24>4:{\"b\":\"x,\\\"y\"}\n"},
    {"an empty file", "", 0, HUBC_ENC_AUTO, 0, NULL, false, ""},
};

// Appends every record of R (read with FINAL) to OUT as the table writes them.
static void
s_dump(hubc_csv_t *r, bool final, char *out, size_t size)
{
    hubc_csv_rec_t rec;
    size_t used = strlen(out);
    int rc;
    while ((rc = hubc_csv_next(r, &rec, final)) == HUB_OK) {
        used += (size_t) snprintf(out + used, size - used,
                                  "%llu@%llu-%llu>%llu:", (unsigned long long) rec.line,
                                  (unsigned long long) rec.offset, (unsigned long long) rec.end,
                                  (unsigned long long) rec.end_line);
        if (rec.reason) {
            used += (size_t) snprintf(out + used, size - used, "!%s", rec.reason);
            CU_ASSERT(strlen(rec.detail) > 0);
        }
        for (size_t i = 0; i < rec.ncells; i++) {
            CU_ASSERT_EQUAL(strlen(rec.cells[i]), rec.lens[i]);
            used += (size_t) snprintf(out + used, size - used, "%s%s", i ? "|" : "", rec.cells[i]);
        }
        used += (size_t) snprintf(out + used, size - used, "\n");
    }
    CU_ASSERT_EQUAL(rc, HUB_ENOTFOUND);
}

static void
test_every_case_reads_the_same_in_any_read_size(void)
{
    static const size_t chunks[] = {0, 1, 2, 3, 5, 7, 64};
    for (size_t i = 0; i < S_COUNT(s_cases); i++) {
        const s_case_t *c = &s_cases[i];
        size_t len = c->len ? c->len : strlen(c->in);
        char *copy = malloc(len ? len : 1); // exactly LEN bytes: ASan sees any overread
        memcpy(copy, c->in, len);
        for (size_t k = 0; k < S_COUNT(chunks); k++) {
            hubc_csv_opts_t o = {.encoding = c->enc,
                                 .delimiter = c->delimiter,
                                 .header = c->header,
                                 .lines = c->lines,
                                 .chunk = chunks[k]};
            hubc_csv_t *r = NULL;
            CU_ASSERT_EQUAL_FATAL(hubc_csv_open_mem(&r, c->name, copy, len, &o), HUB_OK);
            char got[1024] = "";
            s_dump(r, true, got, sizeof got);
            if (strcmp(got, c->want) != 0) {
                fprintf(stderr, "\n  %s (read size %zu):\n  got:\n%s  want:\n%s", c->name,
                        chunks[k], got, c->want);
            }
            CU_ASSERT_STRING_EQUAL(got, c->want);
            hubc_csv_destroy(&r);
        }
        free(copy);
    }
}

// Reads the first record of TEXT (read as ENC) and returns its detail.
static void
s_first_defect(const char *text, size_t len, hubc_enc_t enc, char *out, size_t size)
{
    hubc_csv_opts_t o = {.encoding = enc};
    hubc_csv_t *r = NULL;
    hubc_csv_rec_t rec;
    CU_ASSERT_EQUAL_FATAL(hubc_csv_open_mem(&r, "t", text, len, &o), HUB_OK);
    CU_ASSERT_EQUAL(hubc_csv_next(r, &rec, true), HUB_OK);
    snprintf(out, size, "%s %zu %s", rec.reason ? rec.reason : "-", rec.bad_cell, rec.detail);
    hubc_csv_destroy(&r);
}

static void
test_defects_name_their_line_byte_and_cell(void)
{
    char d[320];
    s_first_defect("a,b\n\"x\",\"two\nlines\xFF\"\n", 21, HUBC_ENC_UTF8, d, sizeof d);
    CU_ASSERT_STRING_EQUAL(d, "bad_encoding 1 line 3, byte 18: 0xFF is not valid UTF-8 (is the "
                              "file GB18030? say encoding: gb18030)");
    s_first_defect("a,b\n1,\xB0\x30\n", 10, HUBC_ENC_GB18030, d, sizeof d);
    CU_ASSERT_STRING_EQUAL(d, "bad_encoding 1 line 2, byte 6: 0xB0 is not valid GB18030");
    s_first_defect("a,b\n1,\"x\" y\n", 12, HUBC_ENC_AUTO, d, sizeof d);
    CU_ASSERT_STRING_EQUAL(d, "bad_csv 1 line 2, byte 9: text after the closing quote of cell 2 "
                              "(a quote inside a quoted cell is written \"\")");
    s_first_defect("a,b\n1,2,3\n", 10, HUBC_ENC_AUTO, d, sizeof d);
    CU_ASSERT(strstr(d, "line 2: 3 cells, but the header (line 1) has 2") != NULL);
}

static void
test_a_header_in_another_encoding_is_named_as_the_cause(void)
{
    static const char text[] = GB_XINGMING ",x\r\n" GB_JIKE ",1\r\n";
    hubc_csv_opts_t o = {.encoding = HUBC_ENC_UTF8, .header = "姓名"};
    hubc_csv_t *r = NULL;
    hubc_csv_rec_t rec;
    CU_ASSERT_EQUAL_FATAL(hubc_csv_open_mem(&r, "t", text, sizeof text - 1, &o), HUB_OK);
    CU_ASSERT_EQUAL(hubc_csv_next(r, &rec, true), HUB_OK);
    CU_ASSERT_STRING_EQUAL(rec.reason, "missing_column");
    CU_ASSERT_PTR_NOT_NULL(strstr(rec.detail, "is the file GB18030? say encoding: gb18030"));
    CU_ASSERT_EQUAL(hubc_csv_next(r, &rec, true), HUB_ENOTFOUND);
    hubc_csv_destroy(&r);
}

static void
test_the_header_names_are_trimmed_and_kept(void)
{
    static const char text[] = "标题,,\n\xEF\xBB\xBF 公民身份号码 ,\xE3\x80\x80姓名,x,,\n1,2,3\n";
    hubc_csv_opts_t o = {.header = "公民身份号码"};
    hubc_csv_t *r = NULL;
    hubc_csv_rec_t rec;
    CU_ASSERT_EQUAL_FATAL(hubc_csv_open_mem(&r, "t", text, sizeof text - 1, &o), HUB_OK);
    CU_ASSERT_EQUAL(hubc_csv_next(r, &rec, true), HUB_OK);
    size_t n = 0;
    uint64_t line = 0;
    const char *const *names = hubc_csv_header(r, &n, &line);
    CU_ASSERT_EQUAL_FATAL(n, 3);
    CU_ASSERT_EQUAL(line, 2);
    CU_ASSERT_STRING_EQUAL(names[0], "公民身份号码");
    CU_ASSERT_STRING_EQUAL(names[1], "姓名");
    CU_ASSERT_EQUAL(rec.ncells, 3);
    CU_ASSERT_EQUAL(hubc_csv_encoding(r), HUBC_ENC_UTF8);
    hubc_csv_destroy(&r);
}

// Writes TEXT to a new temporary file; returns its path (static buffer).
static const char *
s_temp(const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/hub-test-csv-XXXXXX");
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT(write(fd, text, strlen(text)) == (ssize_t) strlen(text));
    close(fd);
    return path;
}

static void
s_append(const char *path, const char *text)
{
    FILE *f = fopen(path, "ab");
    CU_ASSERT_FATAL(f != NULL);
    fputs(text, f);
    fclose(f);
}

static void
test_a_half_written_last_line_waits_for_its_line_end(void)
{
    const char *path = s_temp("a,b\n1,2\n3,\"x");
    hubc_csv_t *r = NULL;
    CU_ASSERT_EQUAL_FATAL(hubc_csv_open(&r, path, NULL, NULL), HUB_OK);
    char got[512] = "";
    s_dump(r, false, got, sizeof got);
    CU_ASSERT_STRING_EQUAL(got, "2@4-8>3:1|2\n");
    s_append(path, "\r\ny\"");
    s_dump(r, false, got, sizeof got);
    CU_ASSERT_STRING_EQUAL(got, "2@4-8>3:1|2\n"); // the quoted cell is still open
    s_append(path, "\r");
    s_dump(r, false, got, sizeof got); // CR: is LF next? wait and see
    CU_ASSERT_STRING_EQUAL(got, "2@4-8>3:1|2\n");
    s_append(path, "\n5,6");
    s_dump(r, false, got, sizeof got);
    CU_ASSERT_STRING_EQUAL(got, "2@4-8>3:1|2\n3@8-18>5:3|x\r\ny\n");
    s_dump(r, true, got, sizeof got); // the end of the data: the last line counts
    CU_ASSERT_STRING_EQUAL(got, "2@4-8>3:1|2\n3@8-18>5:3|x\r\ny\n5@18-21>5:5|6\n");
    hubc_csv_destroy(&r);
    unlink(path);
}

static void
test_a_cursor_resumes_at_a_record_boundary(void)
{
    static const char text[] = "title\nid,v\n1,\"a\nb\"\n2,x\n3,y\n";
    hubc_csv_opts_t o = {.header = "id"};
    hubc_csv_t *r = NULL;
    hubc_csv_rec_t rec;
    CU_ASSERT_EQUAL_FATAL(hubc_csv_open_mem(&r, "t", text, sizeof text - 1, &o), HUB_OK);
    CU_ASSERT_EQUAL(hubc_csv_next(r, &rec, true), HUB_OK);
    uint64_t off = rec.end, line = rec.end_line;
    CU_ASSERT_EQUAL(line, 5);
    hubc_csv_destroy(&r);
    for (size_t chunk = 1; chunk < 9; chunk++) {
        o.chunk = chunk;
        CU_ASSERT_EQUAL_FATAL(hubc_csv_open_mem(&r, "t", text, sizeof text - 1, &o), HUB_OK);
        hubc_csv_resume(r, off, line, HUBC_ENC_AUTO);
        char got[256] = "";
        s_dump(r, true, got, sizeof got);
        CU_ASSERT_STRING_EQUAL(got, "5@19-23>6:2|x\n6@23-27>7:3|y\n");
        hubc_csv_destroy(&r);
    }
    // A cursor inside the title rows or header is no reason to skip records.
    CU_ASSERT_EQUAL_FATAL(hubc_csv_open_mem(&r, "t", text, sizeof text - 1, NULL), HUB_OK);
    o.chunk = 0;
    hubc_csv_destroy(&r);
    CU_ASSERT_EQUAL_FATAL(hubc_csv_open_mem(&r, "t", text, sizeof text - 1, &o), HUB_OK);
    hubc_csv_resume(r, 3, 1, HUBC_ENC_AUTO);
    CU_ASSERT_EQUAL(hubc_csv_next(r, &rec, true), HUB_OK);
    CU_ASSERT_EQUAL(rec.line, 3);
    hubc_csv_destroy(&r);
}

static void
test_an_overlong_record_is_reported_and_skipped(void)
{
    char text[700];
    snprintf(text, sizeof text, "a,b\n\"%0300d,1\n1,2\n%0300d\n3,4\n", 7, 8);
    for (size_t chunk = 0; chunk < 40; chunk += 13) {
        hubc_csv_opts_t o = {.max_record = 128, .chunk = chunk};
        hubc_csv_t *r = NULL;
        CU_ASSERT_EQUAL_FATAL(hubc_csv_open_mem(&r, "t", text, strlen(text), &o), HUB_OK);
        char got[512] = "";
        s_dump(r, true, got, sizeof got);
        CU_ASSERT_STRING_EQUAL(got, "2@4-308>3:!bad_csv\n3@308-312>4:1|2\n4@312-613>5:!bad_csv\n"
                                    "5@613-617>6:3|4\n");
        hubc_csv_destroy(&r);
    }
}

static void
test_encodings_have_names(void)
{
    CU_ASSERT_EQUAL(hubc_enc_parse("UTF-8"), HUBC_ENC_UTF8);
    CU_ASSERT_EQUAL(hubc_enc_parse("gb18030"), HUBC_ENC_GB18030);
    CU_ASSERT_EQUAL(hubc_enc_parse("GBK"), HUBC_ENC_GBK);
    CU_ASSERT_EQUAL(hubc_enc_parse("auto"), HUBC_ENC_AUTO);
    CU_ASSERT_EQUAL(hubc_enc_parse("latin1"), -1);
    CU_ASSERT_STRING_EQUAL(hubc_enc_name(HUBC_ENC_GB18030), "gb18030");
    size_t bad = 0;
    CU_ASSERT_TRUE(hubc_gb_valid((const uint8_t *) GB_JIKE GB_U20000 "ok", 16, NULL));
    CU_ASSERT_FALSE(hubc_gb_valid((const uint8_t *) "ok\x80", 3, &bad));
    CU_ASSERT_EQUAL(bad, 2);
    CU_ASSERT_EQUAL(hubc_gb_char_len((const uint8_t *) "\x95\x32", 2), -1);
    CU_ASSERT_EQUAL(hubc_enc_sniff((const uint8_t *) "\xE5\x90", 2, false), HUBC_ENC_UTF8);
    CU_ASSERT_EQUAL(hubc_enc_sniff((const uint8_t *) "\xE5\x90", 2, true), HUBC_ENC_GB18030);
    CU_ASSERT_EQUAL(hubc_enc_sniff((const uint8_t *) GB_JIKE, 10, false), HUBC_ENC_GB18030);
}

void
test_csv_register(void)
{
    CU_pSuite s = CU_add_suite("csv", NULL, NULL);
    CU_add_test(s, "every case reads the same in any read size",
                test_every_case_reads_the_same_in_any_read_size);
    CU_add_test(s, "defects name their line, byte and cell",
                test_defects_name_their_line_byte_and_cell);
    CU_add_test(s, "a header in another encoding is named as the cause",
                test_a_header_in_another_encoding_is_named_as_the_cause);
    CU_add_test(s, "the header names are trimmed and kept",
                test_the_header_names_are_trimmed_and_kept);
    CU_add_test(s, "a half-written last line waits for its line end",
                test_a_half_written_last_line_waits_for_its_line_end);
    CU_add_test(s, "a cursor resumes at a record boundary",
                test_a_cursor_resumes_at_a_record_boundary);
    CU_add_test(s, "an over-long record is reported and skipped",
                test_an_overlong_record_is_reported_and_skipped);
    CU_add_test(s, "encodings have names", test_encodings_have_names);
}
