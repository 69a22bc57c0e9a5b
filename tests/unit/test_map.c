// Tests of hub_map (with hub_xform and hub_jsonl): the value transforms by
// table, mapping files that are broken in every way a person breaks them
// (each named at file:line:column), and records mapped to canonical
// messages or rejected with the right reason and column.
#include "hub_error.h"
#include "hub_json.h"
#include "hub_jsonl.h"
#include "hub_map.h"
#include "hub_validate.h"
#include "hub_xform.h"
#include "suites.h"
#include "testutil.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_COUNT(a) (sizeof(a) / sizeof((a)[0]))

typedef struct {
    const char *in;
    const char *out; // the result, or NULL when refused
} s_xf_case_t;

static const s_xf_case_t s_dates[] = {
    {"2020-01-05", "2020-01-05"},
    {"2020-1-5", "2020-01-05"},
    {"2020.1.5", "2020-01-05"},
    {"2020/1/5", "2020-01-05"},
    {"20200105", "2020-01-05"},
    {"2020年1月5日", "2020-01-05"},
    {"2020年01月05号", "2020-01-05"},
    {"2020/1/5 0:00", "2020-01-05"},
    {"2020-01-05 08:30:00", "2020-01-05"},
    {"2020-01-05T08:30:00+08:00", "2020-01-05"},
    {"43835", "2020-01-05"},
    {"43835.75", "2020-01-05"},
    {"1", "1900-01-01"},
    {"59", "1900-02-28"},
    {"61", "1900-03-01"},
    {"2024-02-29", "2024-02-29"},
    {"60", NULL},
    {"2958465", NULL}, // 9999-12-31: beyond 2199
    {"0", NULL},
    {"2023-02-29", NULL},
    {"2020.13.1", NULL},
    {"2020-1", NULL},
    {"20-1-5", NULL},
    {"2020/1-5", NULL},
    {"abc", NULL},
    {"", NULL},
    {"18791231", NULL},
    {"2020-01-05 25:00", NULL},
};

static const s_xf_case_t s_months[] = {
    {"202001", "2020-01"},  {"2020-01", "2020-01"},   {"2020-1", "2020-01"}, {"2020.1", "2020-01"},
    {"2020/12", "2020-12"}, {"2020年1月", "2020-01"}, {"202013", NULL},      {"2020", NULL},
    {"2020-01-05", NULL},   {"2020年1", NULL},        {"187912", NULL},      {"", NULL},
};

static const s_xf_case_t s_datetimes[] = {
    {"2020-01-05 08:30", "2020-01-05T08:30:00+08:00"},
    {"2020/1/5 8:30:15", "2020-01-05T08:30:15+08:00"},
    {"2020-01-05T08:30:00Z", "2020-01-05T08:30:00Z"},
    {"2020-01-05T08:30:00.123+0800", "2020-01-05T08:30:00+08:00"},
    {"2020-01-05", "2020-01-05T00:00:00+08:00"},
    {"43835.5", "2020-01-05T12:00:00+08:00"},
    {"2020-01-05 08:60", NULL},
    {"2020-01-05T", NULL},
};

typedef struct {
    const char *in;
    const char *reason; // NULL: accepted with value V
    int64_t v;
} s_num_case_t;

static const s_num_case_t s_yuan[] = {
    {"12345.6", NULL, 1234560},
    {"12,345.60", NULL, 1234560},
    {"¥12345.6", NULL, 1234560},
    {"￥0.05", NULL, 5},
    {"12345.6元", NULL, 1234560},
    {"-3.5", NULL, -350},
    {"100", NULL, 10000},
    {"12.300", NULL, 1230},
    {"1,234,567", NULL, 123456700},
    {"12.345", "bad_money", 0},
    {"1,23", "bad_money", 0},
    {"12,3456", "bad_money", 0},
    {"1.2E+5", "bad_money", 0},
    {"", "bad_money", 0},
    {"12.", "bad_money", 0},
    {"abc", "bad_money", 0},
    {"92233720368547758.07", "bad_money", 0},
};

static const s_num_case_t s_ints[] = {
    {"5", NULL, 5},
    {"-12", NULL, -12},
    {"1,024", NULL, 1024},
    {"5.0", "bad_number", 0},
    {"五", "bad_number", 0},
    {"", "bad_number", 0},
    {"99999999999999999999", "bad_number", 0},
};

static void
s_run_xf(const char *what, const s_xf_case_t *cases, size_t n,
         const char *(*fn)(const char *, size_t, char *, char *, size_t), size_t outsize)
{
    for (size_t i = 0; i < n; i++) {
        char out[40], detail[HUBC_XF_DETAIL_MAX];
        size_t len = strlen(cases[i].in);
        char *copy = malloc(len + 1); // no NUL read past LEN: the converters take lengths
        memcpy(copy, cases[i].in, len);
        const char *why = fn(copy, len, out, detail, sizeof detail);
        bool ok = cases[i].out ? why == NULL && strcmp(out, cases[i].out) == 0 : why != NULL;
        if (!ok) {
            fprintf(stderr, "\n  %s('%s'): got %s '%s' (%s), want '%s'\n", what, cases[i].in,
                    why ? why : "ok", why ? "" : out, detail,
                    cases[i].out ? cases[i].out : "a refusal");
        }
        CU_ASSERT(ok);
        CU_ASSERT(why == NULL || strlen(detail) > 0);
        CU_ASSERT(strlen(out) < outsize);
        free(copy);
    }
}

static const char *
s_date(const char *s, size_t len, char *out, char *detail, size_t size)
{
    return hubc_xf_date(s, len, out, detail, size);
}

static const char *
s_month(const char *s, size_t len, char *out, char *detail, size_t size)
{
    return hubc_xf_yearmonth(s, len, out, detail, size);
}

static const char *
s_datetime(const char *s, size_t len, char *out, char *detail, size_t size)
{
    return hubc_xf_datetime(s, len, out, detail, size);
}

static void
test_every_date_form_and_excel_serials(void)
{
    s_run_xf("date", s_dates, S_COUNT(s_dates), s_date, 11);
    s_run_xf("yearmonth", s_months, S_COUNT(s_months), s_month, 8);
    s_run_xf("datetime", s_datetimes, S_COUNT(s_datetimes), s_datetime, 32);
}

static void
s_run_num(const char *what, const s_num_case_t *cases, size_t n, bool yuan)
{
    for (size_t i = 0; i < n; i++) {
        int64_t v = -1;
        char detail[HUBC_XF_DETAIL_MAX];
        const char *in = cases[i].in;
        const char *why = yuan ? hubc_xf_yuan(in, strlen(in), &v, detail, sizeof detail)
                               : hubc_xf_int(in, strlen(in), &v, detail, sizeof detail);
        bool ok =
            cases[i].reason ? why && strcmp(why, cases[i].reason) == 0 : !why && v == cases[i].v;
        if (!ok) {
            fprintf(stderr, "\n  %s('%s'): got %s %lld (%s)\n", what, in, why ? why : "ok",
                    (long long) v, detail);
        }
        CU_ASSERT(ok);
    }
}

static void
test_yuan_become_fen_and_integers_are_whole(void)
{
    s_run_num("yuan", s_yuan, S_COUNT(s_yuan), true);
    s_run_num("int", s_ints, S_COUNT(s_ints), false);
    bool b = false;
    CU_ASSERT_PTR_NULL(hubc_xf_bool("是", 3, &b, NULL, 0));
    CU_ASSERT_TRUE(b);
    CU_ASSERT_PTR_NULL(hubc_xf_bool("FALSE", 5, &b, NULL, 0));
    CU_ASSERT_FALSE(b);
    CU_ASSERT_STRING_EQUAL(hubc_xf_bool("也许", 6, &b, NULL, 0), "bad_value");
}

static void
test_trimming_and_full_width_to_half_width(void)
{
    char s[] = "\xE3\x80\x80 \xEF\xBC\x91\xEF\xBC\x92\xEF\xBC\xA1\xEF\xBD\x98\xE3\x80\x80"
               "彝族 ";
    const char *p = s;
    size_t len = strlen(s);
    hubc_trim(&p, &len);
    CU_ASSERT_EQUAL(len, strlen("１２Ａｘ　彝族"));
    char buf[64];
    memcpy(buf, p, len);
    len = hubc_halfwidth(buf, len);
    buf[len] = '\0';
    CU_ASSERT_STRING_EQUAL(buf, "12Ax 彝族");
    char ok[] = "吉克·阿依（女）";
    CU_ASSERT_EQUAL(hubc_halfwidth(ok, strlen(ok)), strlen("吉克·阿依(女)"));
}

// ------------------------------------------------------------------ loading

static const hub_depts_t *
s_depts(void)
{
    static hub_depts_t *depts;
    if (!depts) {
        hub_diag_t *diag = hub_diag_new();
        CU_ASSERT_EQUAL_FATAL(hub_depts_load(&depts, "config/departments.yaml", tu_schemas(), diag),
                              HUB_OK);
        hub_diag_destroy(&diag);
    }
    return depts;
}

static char *
s_read(const char *path)
{
    FILE *f = fopen(path, "rb");
    CU_ASSERT_FATAL(f != NULL);
    char *buf = calloc(1, 65536);
    size_t n = fread(buf, 1, 65535, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

typedef struct {
    const char *find;    // text of hukou_test.yaml to replace ...
    const char *replace; // ... by this
    const char *where;   // the problem's place, "m.yaml:LINE:COL"
    const char *text;    // a part of its sentence
} s_broken_t;

static const s_broken_t s_broken[] = {
    {"subject.name: 姓名", "subject.name: {colum: 姓名}", "m.yaml:21:20",
     "unknown key 'colum' (did you mean 'column'?)"},
    {"subject.sex: {column: 性别}", "subject.sx: {column: 性别}", "m.yaml:22:5",
     "has no field 'subject.sx' (did you mean 'subject.sex'?)"},
    {"body.change_date: {column: 变动日期, as: date}",
     "body.change_date: {column: 变动日期, as: dat}",
     "m.yaml:26:", "unknown 'as: dat' (did you mean 'date'?)"},
    {"body.change_date: {column: 变动日期, as: date}",
     "body.change_date: {column: 变动日期, as: yuan}",
     "m.yaml:26:", "body.change_date is a string (date), but 'as: yuan' makes an integer"},
    {"body.reason: {columns: [迁移原因, 备注], join: \"；\"}",
     "body.reason: {column: 备注, split: \"、\"}",
     "m.yaml:29:", "split makes a list, but body.reason is not one"},
    {"    body.change_date: {column: 变动日期, as: date}\n", "", "m.yaml:18:3",
     "body.change_date is required by the schema but not mapped"},
    {"死亡注销: person.death}", "死亡注销: person.deth}", "m.yaml:15:",
     "type 'person.deth' has no "
     "entry under 'messages'"},
    {"department: public_security", "department: public_securty", "m.yaml:5:13",
     "no department 'public_securty' in departments.yaml (did you mean 'public_security'?)"},
    {"endpoint: public_security@513400", "endpoint: health@513400", "m.yaml:6:11",
     "endpoint 'health@513400' belongs to health"},
    {"adapter: 1", "adapter: 2", "m.yaml:4:10", "this hub-adapter reads format 1"},
    {"  encoding: auto", "  encoding: big5", "m.yaml:9:13", "encoding 'big5' is not auto"},
    {"  format: csv", "  format: xls", "m.yaml:8:11", "format 'xls' is not csv or jsonl"},
    {"  header: 公民身份号码", "  header: 公民身份号码\n  delimiter: \"\\\"\"", "m.yaml:11:14",
     "delimiter must be one ASCII character"},
    {"key: [公民身份号码, 变动日期, 变动类型]\n", "", "m.yaml:4:1", "'key' is missing"},
    {"type_from:", "type: household.hukou_change\ntype_from:", "m.yaml:4:1",
     "give exactly one of 'type'"},
    {"  household.hukou_change:\n",
     "  assistance.grant:\n    event_date: {column: x}\n  household.hukou_change:\n", "m.yaml:18:3",
     "public_security may not publish assistance.grant"},
    {"body.to_division: {const: \"513401\"}", "body.to_division: {const: \"513401\", column: x}",
     "m.yaml:28:", "give exactly one of column, columns or const"},
    {"subject.sex: 性别", "subject.sex: {column: 性别, as: int}",
     "m.yaml:34:", "subject.sex is a string (enum), but 'as: int' makes an integer"},
    {"    event_date: {column: 变动日期, as: date}\n    subject.citizen_id: {column: 公民身份号码, "
     "as: citizen_id}\n    subject.name: 姓名\n    subject.sex: 性别",
     "    event_date: {column: 变动日期, as: date}\n    subject.citizen_id: {column: 公民身份号码, "
     "as: citizen_id}\n    subject.name: 姓名\n    id: x",
     "m.yaml:34:5", "'id' is set by hub-adapter"},
    {"input:", "inputs:", "m.yaml:7:1", "unknown key 'inputs' (did you mean 'input'?)"},
};

static char *
s_replace(const char *text, const char *find, const char *replace)
{
    const char *at = strstr(text, find);
    CU_ASSERT_PTR_NOT_NULL_FATAL(at);
    size_t n = strlen(text) - strlen(find) + strlen(replace) + 1;
    char *out = malloc(n);
    snprintf(out, n, "%.*s%s%s", (int) (at - text), text, replace, at + strlen(find));
    return out;
}

static void
test_broken_mappings_are_named_at_file_line_column(void)
{
    char *base = s_read("tests/data/adapters/hukou_test.yaml");
    hub_diag_t *diag = hub_diag_new();
    hubc_map_t *map = NULL;
    CU_ASSERT_EQUAL(
        hubc_map_load_buffer(&map, "m.yaml", base, strlen(base), tu_schemas(), s_depts(), diag),
        HUB_OK);
    hubc_map_destroy(&map);
    for (size_t i = 0; i < S_COUNT(s_broken); i++) {
        const s_broken_t *b = &s_broken[i];
        char *text = s_replace(base, b->find, b->replace);
        hub_diag_reset(diag);
        int rc =
            hubc_map_load_buffer(&map, "m.yaml", text, strlen(text), tu_schemas(), s_depts(), diag);
        bool found = false;
        for (size_t k = 0; k < hub_diag_count(diag); k++) {
            const hub_diag_entry_t *e = hub_diag_at(diag, k);
            found |= strncmp(e->where, b->where, strlen(b->where)) == 0 && strstr(e->text, b->text);
        }
        if (rc != HUB_ECONFIG || !found) {
            fprintf(stderr, "\n  case %zu: rc %d, want %s: ...%s; got:\n", i, rc, b->where,
                    b->text);
            hub_diag_print(diag, stderr);
        }
        CU_ASSERT_EQUAL(rc, HUB_ECONFIG);
        CU_ASSERT_PTR_NULL(map);
        CU_ASSERT_TRUE(found);
        free(text);
    }
    hub_diag_destroy(&diag);
    free(base);
}

// ------------------------------------------------------------------ records

// One CSV-like row: NAMES are the header, CELLS the values.
typedef struct {
    const hubc_map_t *map;
    const char *names[12];
    const char *cells[12];
    size_t n;
} s_row_t;

static bool
s_row_cell(void *ctx, size_t col, const char **s, size_t *len)
{
    s_row_t *r = ctx;
    const char *want = hubc_map_column(r->map, col);
    for (size_t i = 0; i < r->n; i++) {
        if (strcmp(r->names[i], want) == 0) {
            *s = r->cells[i];
            *len = strlen(*s);
            return true;
        }
    }
    return false;
}

static const char s_hukou_header[] =
    "公民身份号码|姓名|性别|民族|变动类型|变动日期|迁出地区划|现住地区划|迁移原因|备注";

typedef struct {
    const char *row;     // cells separated by '|'
    const char *want;    // "mapped" / "skipped" / "REASON COLUMN VALUE"
    const char *json[3]; // parts of the message's JSON (mapped)
} s_rec_case_t;

static const s_rec_case_t s_records[] = {
    {"513431201001050019|吉克·阿依|男|彝族|迁入|2024.1.5|513429||务工|",
     "mapped",
     {"\"ethnicity\":\"07\",\"hukou_division\":\"513401\"", "\"change_type\":\"move_in\"",
      "\"reason\":\"务工\""}},
    {"513425850312001|张三|男|汉|迁出|2024/1/6|513401|513402|投亲|靠友",
     "mapped",
     {"\"citizen_id\":\"513425198503120011\"", "\"reason\":\"投亲；靠友\"",
      "\"source_ref\":\"513425198503120011/2024/1/6/迁出\""}},
    {"513431201001050019|阿苏•拉且|1|07|迁入|20240105|513429|513401||",
     "mapped",
     {"\"name\":\"阿苏·拉且\"", "\"sex\":\"1\"", "\"event_date\":\"2024-01-05\""}},
    {"513431201001050019|阿苏・拉且|1|07|迁入|2024年1月5日|513429|513401||第一行\r\n第二行",
     "mapped",
     {"\"name\":\"阿苏·拉且\"", "\"reason\":\"第一行 第二行\"", NULL}},
    {"３４０５２４１９８００１０１００１ｘ|王五|1|01|死亡注销|45300|||",
     "mapped",
     {"\"type\":\"person.death\"", "\"citizen_id\":\"34052419800101001X\"",
      "\"death_date\":\"2024-01-09\""}},
    {"5.13431E+17|李四|女|彝|迁入|2024-01-07|513429|513401||",
     "scientific_notation 公民身份号码 5.13431E+17",
     {NULL}},
    {"34052419800101001X|王五|1|01|更正|45301|||", "skipped", {NULL}},
    {"513431201001050019|吉克|男|彝族|结婚|2024-01-05|||",
     "unknown_type_value 变动类型 结婚",
     {NULL}},
    {"513431201001050019|吉克|男|彝族|迁入|2024.2.30|||", "bad_date 变动日期 2024.2.30", {NULL}},
    {"513431201001050018|吉克|男|彝族|迁入|2024-02-01|||",
     "check_char 公民身份号码 513431201001050018",
     {NULL}},
    {"513431201001050019||男|彝族|迁入|2024-02-01|||", "required 姓名 ", {NULL}},
    {"513431201001050019|吉克|女|彝族|迁入|2024-02-01|||", "inconsistent 性别 女", {NULL}},
    {"513431201001050019|吉克|男|火星族|迁入|2024-02-01|||", "unknown_code 民族 火星族", {NULL}},
    {"513431201001050019|吉克|男|彝族|迁入|2024-02-01|5134|||",
     "bad_value 迁出地区划 5134",
     {NULL}},
};

// Splits ROW at '|' into R's cells (ROW is modified).
static void
s_split(s_row_t *r, char *row, bool names)
{
    size_t n = 0;
    for (char *p = row, *bar; p && n < 12; p = bar ? bar + 1 : NULL) {
        bar = strchr(p, '|');
        if (bar) {
            *bar = '\0';
        }
        (names ? r->names : r->cells)[n++] = p;
    }
    if (names) {
        r->n = n;
    }
    while (!names && n < r->n) {
        r->cells[n++] = ""; // a short row: the rest is empty
    }
}

static hubc_map_t *
s_load(const char *path)
{
    hubc_map_t *map = NULL;
    hub_diag_t *diag = hub_diag_new();
    int rc = hubc_map_load(&map, path, tu_schemas(), s_depts(), diag);
    if (rc) {
        hub_diag_print(diag, stderr);
    }
    CU_ASSERT_EQUAL_FATAL(rc, HUB_OK);
    hub_diag_destroy(&diag);
    return map;
}

// Maps R; describes the outcome in OUT as the table does; JSON gets the message.
static void
s_map_row(hubc_map_t *map, s_row_t *r, hub_msg_t *msg, char *out, size_t size, hub_buf_t *json,
          hubc_map_result_t *res)
{
    hubc_map_src_t src = {s_row_cell, r};
    CU_ASSERT_EQUAL_FATAL(hubc_map_record(map, &src, msg, res), HUB_OK);
    json->len = 0;
    if (res->status == HUBC_MAPPED) {
        snprintf(out, size, "mapped");
        hub_json_from_msg(msg, 0, json);
        hub_buf_cstr(json);
        CU_ASSERT_EQUAL(hub_validate(tu_schemas(), msg, 0, NULL), HUB_OK); // canonical
    } else if (res->status == HUBC_SKIPPED) {
        snprintf(out, size, "skipped");
    } else {
        snprintf(out, size, "%s %s %s", res->reason, res->column, res->value);
        CU_ASSERT(strlen(res->text) > 0);
    }
}

static void
test_records_are_mapped_or_rejected_with_reason_and_column(void)
{
    hubc_map_t *map = s_load("tests/data/adapters/hukou_test.yaml");
    hubc_map_set_recorded_at(map, "2024-03-01T10:00:00+08:00");
    hub_msg_t *msg = hub_msg_new();
    hub_buf_t json = HUB_BUF_INIT;
    char header[sizeof s_hukou_header];
    for (size_t i = 0; i < S_COUNT(s_records); i++) {
        s_row_t r = {.map = map};
        char row[512], got[512];
        snprintf(header, sizeof header, "%s", s_hukou_header);
        s_split(&r, header, true);
        snprintf(row, sizeof row, "%s", s_records[i].row);
        s_split(&r, row, false);
        hubc_map_result_t res;
        s_map_row(map, &r, msg, got, sizeof got, &json, &res);
        bool ok = strcmp(got, s_records[i].want) == 0;
        for (int k = 0; ok && k < 3 && s_records[i].json[k]; k++) {
            ok = strstr((const char *) json.data, s_records[i].json[k]) != NULL;
        }
        if (!ok) {
            fprintf(stderr, "\n  row %zu: got '%s' (%s) %s\n", i, got, res.text,
                    json.len ? (const char *) json.data : "");
        }
        CU_ASSERT(ok);
    }
    hub_buf_free(&json);
    hub_msg_destroy(&msg);
    hubc_map_destroy(&map);
}

// The id of ROW mapped by MAP into OUT.
static void
s_id_of(hubc_map_t *map, const char *cells, char out[33])
{
    s_row_t r = {.map = map};
    char header[sizeof s_hukou_header], row[256], got[256];
    snprintf(header, sizeof header, "%s", s_hukou_header);
    snprintf(row, sizeof row, "%s", cells);
    s_split(&r, header, true);
    s_split(&r, row, false);
    hub_msg_t *msg = hub_msg_new();
    hub_buf_t json = HUB_BUF_INIT;
    hubc_map_result_t res;
    s_map_row(map, &r, msg, got, sizeof got, &json, &res);
    CU_ASSERT_STRING_EQUAL(got, "mapped");
    CU_ASSERT_STRING_EQUAL(hub_msg_env_str(msg, HUB_ENV_ID), res.id);
    snprintf(out, 33, "%s", res.id);
    hub_buf_free(&json);
    hub_msg_destroy(&msg);
}

static void
test_ids_are_deterministic_and_equal_for_15_and_18_digit_ids(void)
{
    hubc_map_t *map = s_load("tests/data/adapters/hukou_test.yaml");
    char a[33], b[33], c[33], d[33];
    s_id_of(map, "513425850312001|张三|男|汉|迁出|2024/1/6|513401|||", a);
    s_id_of(map, " 513425198503120011 |张三|1|汉族|迁出|2024/1/6|513401|||其他", b);
    s_id_of(map, "513425198503120011|张三|男|汉|迁出|2024/1/7|513401|||", c);
    // SHA-256("public_security\0household.hukou_change\0513425198503120011\02024/1/6\0迁出")
    CU_ASSERT_STRING_EQUAL(a, "414f957ac8cefa1e09aff6bf4e8f9cde");
    CU_ASSERT_STRING_EQUAL(a, b);
    CU_ASSERT_STRING_NOT_EQUAL(a, c);
    const char *keys[] = {"513425198503120011", "2024-01-06", "迁出"};
    size_t lens[] = {18, 10, 6};
    hubc_map_id("public_security", "household.hukou_change", keys, lens, 3, d);
    CU_ASSERT_STRING_EQUAL(d, "145bcc1635aabd9df261d88dc614a137");
    hubc_map_destroy(&map);
}

static void
test_a_missing_column_rejects_the_record(void)
{
    hubc_map_t *map = s_load("tests/data/adapters/hukou_test.yaml");
    s_row_t r = {.map = map};
    char header[] = "公民身份号码|姓名|性别|民族|变动类型|变动日期|迁出地区划|迁移原因|备注";
    char row[] = "513431201001050019|吉克|男|彝族|迁入|2024-02-01|513429||";
    s_split(&r, header, true);
    s_split(&r, row, false);
    hub_msg_t *msg = hub_msg_new();
    hub_buf_t json = HUB_BUF_INIT;
    hubc_map_result_t res;
    char got[256];
    s_map_row(map, &r, msg, got, sizeof got, &json, &res);
    CU_ASSERT_STRING_EQUAL(got, "missing_column 现住地区划 ");
    CU_ASSERT_STRING_EQUAL(res.text, "the input has no column '现住地区划'");
    hub_buf_free(&json);
    hub_msg_destroy(&msg);
    hubc_map_destroy(&map);
}

// ------------------------------------------------------------------ JSON Lines

typedef struct {
    const hubc_map_t *map;
    hubc_jsonl_t *json;
} s_jrow_t;

static bool
s_json_cell(void *ctx, size_t col, const char **s, size_t *len)
{
    s_jrow_t *r = ctx;
    if (!hubc_jsonl_get(r->json, hubc_map_column(r->map, col), s, len)) {
        *s = "";
        *len = 0;
    }
    return true;
}

static const char s_household[] =
    "{\"户主\":{\"身份证号\":\"513431201001050019\",\"姓名\":\"吉克·阿依\"},\"区划\":\"513431\","
    "\"农户类型\":\"脱贫户\",\"监测类别\":\"边缘户\",\"人口数\":5,\"风险\":\"因病、 因学\","
    "\"年月\":\"202301\",\"是否消除\":\"否\",\"人均纯收入\":%s,\"措施\":[\"产业帮扶\",\"务工\"],"
    "\"更新日期\":\"2024/3/1\"}";

static void
s_map_json(hubc_map_t *map, const char *income, char *out, size_t size, hub_buf_t *json)
{
    char line[1024], detail[128];
    snprintf(line, sizeof line, s_household, income);
    s_jrow_t r = {map, hubc_jsonl_new()};
    CU_ASSERT_EQUAL_FATAL(hubc_jsonl_parse(r.json, line, strlen(line), detail, sizeof detail),
                          HUB_OK);
    hubc_map_src_t src = {s_json_cell, &r};
    hub_msg_t *msg = hub_msg_new();
    hubc_map_result_t res;
    CU_ASSERT_EQUAL(hubc_map_record(map, &src, msg, &res), HUB_OK);
    json->len = 0;
    if (res.status == HUBC_MAPPED) {
        hub_json_from_msg(msg, 0, json);
        snprintf(out, size, "%s", hub_buf_cstr(json));
    } else {
        snprintf(out, size, "%s %s %s", res.reason, res.column, res.value);
    }
    hub_msg_destroy(&msg);
    hubc_jsonl_destroy(&r.json);
}

static void
test_json_lines_with_nested_members_lists_months_and_money(void)
{
    hubc_map_t *map = s_load("tests/data/adapters/poverty_test.yaml");
    CU_ASSERT_EQUAL(hubc_map_input(map)->format, HUBC_MAP_JSONL);
    CU_ASSERT_STRING_EQUAL(hubc_map_input(map)->pattern, "*.jsonl");
    char got[2048];
    hub_buf_t json = HUB_BUF_INIT;
    static const char *const want[] = {"\"id\":\"3dc5d8491e1a9deb5075229d5aee8a20\"",
                                       "\"household_type\":\"lifted\"",
                                       "\"monitoring_category\":\"marginal\"",
                                       "\"household_size\":5",
                                       "\"risks\":[\"illness\",\"education\"]",
                                       "\"identified_month\":\"2023-01\"",
                                       "\"risk_eliminated\":false",
                                       "\"per_capita_income\":654321",
                                       "\"measures\":[\"产业帮扶\",\"务工\"]",
                                       "\"event_date\":\"2024-03-01\""};
    s_map_json(map, "\"6,543.21\"", got, sizeof got, &json);
    for (size_t i = 0; i < S_COUNT(want); i++) {
        if (!strstr(got, want[i])) {
            fprintf(stderr, "\n  lacks %s: %s\n", want[i], got);
        }
        CU_ASSERT_PTR_NOT_NULL(strstr(got, want[i]));
    }
    s_map_json(map, "6543.21", got, sizeof got, &json); // a JSON number
    CU_ASSERT_PTR_NOT_NULL(strstr(got, "\"per_capita_income\":654321"));
    s_map_json(map, "6543.215", got, sizeof got, &json);
    CU_ASSERT_STRING_EQUAL(got, "bad_money 人均纯收入 6543.215");
    hub_buf_free(&json);
    hubc_map_destroy(&map);
}

static void
test_json_values_come_out_as_text(void)
{
    hubc_jsonl_t *j = hubc_jsonl_new();
    char detail[128];
    const char *s;
    size_t len;
    static const char line[] = "{\"a\":{\"b\":[1,2.5,\"x\"]},\"n\":null,\"id\":5.13431e17,"
                               "\"big\":513431201001050019,\"t\":true,\"m\":1740.00,"
                               "\"f\":2875.40}";
    CU_ASSERT_EQUAL_FATAL(hubc_jsonl_parse(j, line, strlen(line), detail, sizeof detail), HUB_OK);
    CU_ASSERT_TRUE(hubc_jsonl_get(j, "a.b", &s, &len));
    CU_ASSERT_STRING_EQUAL(s, "1\x1f"
                              "2.5\x1fx");
    CU_ASSERT_TRUE(hubc_jsonl_get(j, "a.b.2", &s, &len));
    CU_ASSERT_STRING_EQUAL(s, "x");
    CU_ASSERT_TRUE(hubc_jsonl_get(j, "id", &s, &len));
    CU_ASSERT_STRING_EQUAL(s, "5.13431e+17");
    CU_ASSERT_TRUE(hubc_jsonl_get(j, "big", &s, &len));
    CU_ASSERT_STRING_EQUAL(s, "513431201001050019");
    CU_ASSERT_TRUE(hubc_jsonl_get(j, "m", &s, &len)); // an amount: never 1.74e+03
    CU_ASSERT_STRING_EQUAL(s, "1740");
    CU_ASSERT_TRUE(hubc_jsonl_get(j, "f", &s, &len));
    CU_ASSERT_STRING_EQUAL(s, "2875.4");
    CU_ASSERT_TRUE(hubc_jsonl_get(j, "t", &s, &len));
    CU_ASSERT_STRING_EQUAL(s, "true");
    CU_ASSERT_FALSE(hubc_jsonl_get(j, "n", &s, &len));
    CU_ASSERT_FALSE(hubc_jsonl_get(j, "a", &s, &len));
    CU_ASSERT_FALSE(hubc_jsonl_get(j, "a.c", &s, &len));
    CU_ASSERT_EQUAL(hubc_jsonl_parse(j, "{\"a\":1,\"a\":2}", 13, detail, sizeof detail),
                    HUB_EDECODE);
    CU_ASSERT_EQUAL(hubc_jsonl_parse(j, "[1]", 3, detail, sizeof detail), HUB_EDECODE);
    CU_ASSERT_STRING_EQUAL(detail, "column 1: a line must hold a JSON object {...}");
    CU_ASSERT_EQUAL(hubc_jsonl_parse(j, "{\"a\":", 5, detail, sizeof detail), HUB_EDECODE);
    CU_ASSERT_PTR_NOT_NULL(strstr(detail, "column"));
    hubc_jsonl_destroy(&j);
}

// Found by fuzz_jsonl: a real too small for 17 plain decimals was written
// "0.00000000000000000", so 1e-20 became an amount of zero.
static void
test_json_reals_too_small_for_decimals_keep_their_value(void)
{
    hubc_jsonl_t *j = hubc_jsonl_new();
    char detail[128];
    const char *s;
    size_t len;
    static const char line[] = "{\"tiny\":1e-20,\"neg\":-2.5e-30,\"small\":1.5e-10,\"z\":-0.0}";
    CU_ASSERT_EQUAL_FATAL(hubc_jsonl_parse(j, line, strlen(line), detail, sizeof detail), HUB_OK);
    CU_ASSERT_TRUE(hubc_jsonl_get(j, "tiny", &s, &len));
    CU_ASSERT_STRING_EQUAL(s, "1e-20");
    CU_ASSERT_TRUE(hubc_jsonl_get(j, "neg", &s, &len));
    CU_ASSERT_STRING_EQUAL(s, "-2.5e-30");
    CU_ASSERT_TRUE(hubc_jsonl_get(j, "small", &s, &len)); // still plain when it can be
    CU_ASSERT_STRING_EQUAL(s, "0.00000000015");
    CU_ASSERT_TRUE(hubc_jsonl_get(j, "z", &s, &len));
    CU_ASSERT_STRING_EQUAL(s, "-0");
    hubc_jsonl_destroy(&j);
}

void
test_map_register(void)
{
    CU_pSuite s = CU_add_suite("map", NULL, NULL);
    CU_add_test(s, "every date form and Excel serials", test_every_date_form_and_excel_serials);
    CU_add_test(s, "yuan become fen and integers are whole",
                test_yuan_become_fen_and_integers_are_whole);
    CU_add_test(s, "trimming and full-width to half-width",
                test_trimming_and_full_width_to_half_width);
    CU_add_test(s, "broken mappings are named at file:line:column",
                test_broken_mappings_are_named_at_file_line_column);
    CU_add_test(s, "records are mapped or rejected with reason and column",
                test_records_are_mapped_or_rejected_with_reason_and_column);
    CU_add_test(s, "ids are deterministic and equal for 15- and 18-digit IDs",
                test_ids_are_deterministic_and_equal_for_15_and_18_digit_ids);
    CU_add_test(s, "a missing column rejects the record", test_a_missing_column_rejects_the_record);
    CU_add_test(s, "JSON Lines with nested members, lists, months and money",
                test_json_lines_with_nested_members_lists_months_and_money);
    CU_add_test(s, "JSON values come out as text", test_json_values_come_out_as_text);
    CU_add_test(s, "JSON reals too small for decimals keep their value",
                test_json_reals_too_small_for_decimals_keep_their_value);
}
