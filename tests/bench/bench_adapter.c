// Benchmark of hub-adapter's record path, one core: CSV parse (hub_csv),
// map (hub_map: transforms, id, envelope) and validate with normalisation,
// over 200,000 generated household-register rows in UTF-8 and in GB18030,
// mapped by tests/data/adapters/hukou_test.yaml. Prints one line per
// measurement. Run from the repository root (reads schemas/, config/).
#include "bench_util.h"
#include "hub_csv.h"
#include "hub_error.h"
#include "hub_map.h"

#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_ROWS 200000

static const char s_header[] =
    "公民身份号码,姓名,性别,民族,变动类型,变动日期,迁出地区划,现住地区划,迁移原因,备注\r\n";

// A valid citizen ID for row I, a different one for every row (born
// 1950..2009 in one of four counties).
static void
s_cid(size_t i, char out[19])
{
    static const char *const areas[] = {"513401", "513429", "513431", "513425"};
    static const int w[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    snprintf(out, 19, "%s%04zu%02zu%02zu%03zu", areas[i % 4], 1950 + i / 1000 % 60,
             1 + i / 60000 % 12, 1 + i % 28, i % 1000);
    int s = 0;
    for (int k = 0; k < 17; k++) {
        s += (out[k] - '0') * w[k];
    }
    out[17] = "10X98765432"[s % 11];
    out[18] = '\0';
}

// The export: title rows, the header, S_ROWS rows of moves and deaths in
// the date styles departments use, a few quoted cells with commas.
static char *
s_export(size_t *len)
{
    static const char *const names[] = {"吉克·阿依", "阿苏•拉且", "张三", "曲比·阿呷", "王五"};
    static const char *const kinds[] = {"迁入", "迁出", "迁入", "死亡注销"};
    size_t cap = (size_t) S_ROWS * 160 + 4096, n = 0;
    char *buf = malloc(cap);
    n +=
        (size_t) snprintf(buf + n, cap - n, "凉山州公安局 户籍变动登记表,,,,,,,,,\r\n%s", s_header);
    for (size_t i = 0; i < S_ROWS; i++) {
        char cid[19], date[16];
        s_cid(i, cid);
        if (i % 3 == 0) {
            snprintf(date, sizeof date, "2024.%zu.%zu", 1 + i % 12, 1 + i % 28);
        } else if (i % 3 == 1) {
            snprintf(date, sizeof date, "2024/%zu/%zu", 1 + i % 12, 1 + i % 28);
        } else {
            snprintf(date, sizeof date, "%zu", 45292 + i % 300); // an Excel serial
        }
        n += (size_t) snprintf(buf + n, cap - n, "%s,%s,%s,彝族,%s,%s,513429,513401,%s,\r\n", cid,
                               names[i % 5], i % 1000 % 2 ? "男" : "女", kinds[i % 4], date,
                               i % 7 ? "务工" : "\"投亲, 靠友\"");
    }
    *len = n;
    return buf;
}

static char *
s_to_gb18030(const char *in, size_t len, size_t *out_len)
{
    iconv_t cd = iconv_open("GB18030", "UTF-8");
    size_t cap = len * 2 + 16, left = cap;
    char *out = malloc(cap), *op = out, *ip = (char *) in;
    size_t il = len;
    if (cd == (iconv_t) -1 || iconv(cd, &ip, &il, &op, &left) == (size_t) -1) {
        fprintf(stderr, "bench adapter: iconv to GB18030 failed\n");
        exit(1);
    }
    iconv_close(cd);
    *out_len = cap - left;
    return out;
}

// The current record, cells found by header name.
typedef struct {
    hubc_csv_t *csv;
    hubc_csv_rec_t rec;
    size_t bind[32];
} s_src_t;

static bool
s_cell(void *ctx, size_t col, const char **s, size_t *len)
{
    s_src_t *src = ctx;
    size_t i = src->bind[col];
    if (i >= src->rec.ncells) {
        return false;
    }
    *s = src->rec.cells[i];
    *len = src->rec.lens[i];
    return true;
}

static void
s_bind(s_src_t *src, const hubc_map_t *map)
{
    size_t n = 0;
    const char *const *names = hubc_csv_header(src->csv, &n, NULL);
    for (size_t c = 0; c < hubc_map_ncolumns(map) && c < 32; c++) {
        src->bind[c] = SIZE_MAX;
        for (size_t i = 0; i < n; i++) {
            if (strcmp(names[i], hubc_map_column(map, c)) == 0) {
                src->bind[c] = i;
                break;
            }
        }
    }
}

// Reads, maps and validates the whole export once; returns the records.
static size_t
s_pass(hubc_map_t *map, const char *data, size_t len, hubc_enc_t enc, hub_msg_t *msg,
       size_t *mapped)
{
    hubc_csv_opts_t o = {.encoding = enc, .header = "公民身份号码"};
    s_src_t src = {0};
    hubc_csv_open_mem(&src.csv, "bench.csv", data, len, &o);
    hubc_map_src_t ms = {s_cell, &src};
    size_t n = 0;
    bool bound = false;
    *mapped = 0;
    while (hubc_csv_next(src.csv, &src.rec, true) == HUB_OK) {
        n++;
        if (src.rec.reason) {
            continue;
        }
        if (!bound) {
            s_bind(&src, map);
            bound = true;
        }
        hubc_map_result_t res;
        if (hubc_map_record(map, &ms, msg, &res) != HUB_OK) {
            fprintf(stderr, "bench adapter: out of memory\n");
            exit(1);
        }
        *mapped += res.status == HUBC_MAPPED;
    }
    hubc_csv_destroy(&src.csv);
    return n;
}

static void
s_measure(hubc_map_t *map, const char *what, const char *data, size_t len, hubc_enc_t enc)
{
    hub_msg_t *msg = hub_msg_new();
    double best = 0;
    size_t n = 0, mapped = 0;
    for (int round = 0; round < 3; round++) {
        double t0 = bench_now();
        n = s_pass(map, data, len, enc, msg, &mapped);
        double rate = (double) n / (bench_now() - t0);
        best = rate > best ? rate : best;
    }
    if (mapped * 10 < n * 9) {
        fprintf(stderr, "bench adapter: only %zu of %zu rows mapped\n", mapped, n);
        exit(1);
    }
    char label[96];
    snprintf(label, sizeof label, "csv parse+map+validate, %s, %zu rows", what, n);
    printf("bench adapter: %-44s %10.0f records/s  (%.1f MB/s, best of 3 rounds, 1 core)\n", label,
           best, best * (double) len / (double) n / 1e6);
    hub_msg_destroy(&msg);
}

int
main(void)
{
    hub_diag_t *diag = hub_diag_new();
    hub_schemas_t *schemas = NULL;
    hub_depts_t *depts = NULL;
    hubc_map_t *map = NULL;
    if (hub_schemas_load(&schemas, "schemas", diag) != HUB_OK ||
        hub_depts_load(&depts, "config/departments.yaml", schemas, diag) != HUB_OK ||
        hubc_map_load(&map, "tests/data/adapters/hukou_test.yaml", schemas, depts, diag) !=
            HUB_OK) {
        hub_diag_print(diag, stderr);
        fprintf(stderr, "bench adapter: run from the repository root\n");
        return 1;
    }
    size_t len, gb_len;
    char *utf8 = s_export(&len);
    char *gb = s_to_gb18030(utf8, len, &gb_len);
    s_measure(map, "UTF-8", utf8, len, HUBC_ENC_AUTO);
    s_measure(map, "GB18030", gb, gb_len, HUBC_ENC_AUTO);
    free(utf8);
    free(gb);
    hubc_map_destroy(&map);
    hub_depts_destroy(&depts);
    hub_schemas_destroy(&schemas);
    hub_diag_destroy(&diag);
    return 0;
}
