// fuzz_record: hub-sink's reading of a DELIVER body (hub_record) on
// arbitrary bytes, and the inbox line and CSV row it writes from what it
// read (a hub that is not the hub, or a damaged frame, must not crash the
// sink nor make it write a line it cannot read back).
//
// Input: the DELIVER body (msgpack). Each input:
//   1. is read; a refusal is HUB_EDECODE, HUB_ELIMIT or HUB_ENOMEM and is
//      reported in the diag;
//   2. a body that was read: its JSON line is one line ending in "\n" that
//      jansson reads as an object whose seq, type, id and received_at are
//      those read; its CSV row (with the columns file below) is one RFC 4180
//      record of as many cells as the header, the first the sequence,
//      ending in CRLF;
//   3. the same record object reads the body again and writes the same
//      line (a reused record keeps nothing of the last delivery).
#include "fuzz_util.h"
#include "hub_buf.h"
#include "hub_columns.h"
#include "hub_record.h"

#include <inttypes.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define S_RECEIVED_AT "2026-01-02T03:04:05Z"

static const char s_columns_yaml[] = "\"*\":\n"
                                     "  delivery.seq: 序号\n"
                                     "  type: 类型\n"
                                     "  subject.citizen_id: 身份证号\n"
                                     "  delivery.id: 编号\n"
                                     "  delivery.origin_id: 原编号\n"
                                     "  delivery.purposes: 用途\n"
                                     "  delivery.legal_bases: 依据\n"
                                     "  delivery.ruleset: 规则集\n"
                                     "  delivery.received_at: 接收时间\n"
                                     "health.hospitalisation:\n"
                                     "  subject.name: 姓名\n"
                                     "  body.total_cost: 总费用\n"
                                     "  body.pooled_fund: 统筹\n"
                                     "  delivery.rules: 规则\n"
                                     "poverty.household_status:\n"
                                     "  body.risks: 风险\n"
                                     "  body.measures: 措施\n"
                                     "student.enrolment_change:\n"
                                     "  subject.name: 姓名\n"
                                     "  body.reason: \"原因, 说明\"\n"
                                     "person.death:\n"
                                     "  subject.name: 姓名\n"
                                     "  body.death_date: 死亡日期\n"
                                     "  source: 来源\n"
                                     "  event_date: 日期\n";

static const hubc_columns_t *
s_columns(void)
{
    static hubc_columns_t *cols;
    static bool tried;
    if (!tried) {
        tried = true;
        hub_diag_t *diag = fu_need(hub_diag_new());
        if (hubc_columns_parse(&cols, "cols.yaml", s_columns_yaml, sizeof s_columns_yaml - 1,
                               fu_schemas(), diag) != HUB_OK) {
            hub_diag_print(diag, stderr);
            fu_fail("the harness's columns file does not load");
        }
        hub_diag_destroy(&diag);
    }
    return cols;
}

// Counts the cells of the RFC 4180 record of N bytes at P, which must end
// in CRLF exactly at its end; the first cell goes to FIRST (SIZE bytes).
static size_t
s_row_cells(const uint8_t *p, size_t n, char *first, size_t size)
{
    size_t cells = 0, i = 0;
    first[0] = '\0';
    for (;;) {
        size_t from = i;
        if (i < n && p[i] == '"') {
            for (i++; i < n && !(p[i] == '"' && (i + 1 >= n || p[i + 1] != '"')); i++) {
                i += p[i] == '"'; // a doubled quote
            }
            if (i >= n) {
                fu_fail("row: a quoted cell is not closed");
            }
            i++;
        } else {
            while (i < n && p[i] != ',' && p[i] != '\r' && p[i] != '\n' && p[i] != '"') {
                i++;
            }
        }
        if (cells++ == 0) {
            snprintf(first, size, "%.*s", (int) (i - from), (const char *) p + from);
        }
        if (i < n && p[i] == ',') {
            i++;
            continue;
        }
        break;
    }
    if (i + 2 != n || p[i] != '\r' || p[i + 1] != '\n') {
        fu_fail("row: does not end in exactly one CRLF (at %zu of %zu)", i, n);
    }
    return cells;
}

static void
s_check_json(hubc_record_t *rec, const hub_buf_t *line)
{
    if (line->len == 0 || line->data[line->len - 1] != '\n' ||
        memchr(line->data, '\n', line->len - 1)) {
        fu_fail("the JSON line is not one line");
    }
    json_error_t err;
    json_t *j = json_loadb((const char *) line->data, line->len, JSON_REJECT_DUPLICATES, &err);
    if (!json_is_object(j)) {
        fu_fail("the JSON line does not read back: %s (column %d)", err.text, err.column);
    }
    const char *type = json_string_value(json_object_get(j, "type"));
    const char *at = json_string_value(json_object_get(j, "received_at"));
    json_t *seq = json_object_get(j, "seq");
    uint64_t want = hubc_record_seq(rec);
    if (!type || strcmp(type, hubc_record_type(rec)) != 0 || !at ||
        strcmp(at, S_RECEIVED_AT) != 0 || !json_is_string(json_object_get(j, "id")) ||
        !json_is_object(json_object_get(j, "message")) ||
        (want <= INT64_MAX && (uint64_t) json_integer_value(seq) != want)) {
        fu_fail("the JSON line does not hold what was read");
    }
    json_decref(j);
}

static void
s_check_csv(hubc_record_t *rec)
{
    const hubc_columns_t *cols = s_columns();
    hub_buf_t row = HUB_BUF_INIT;
    bool known = false;
    if (hubc_record_csv(rec, cols, &row, &known) != HUB_OK) {
        fu_fail("hubc_record_csv failed");
    }
    char first[32], want[32];
    size_t cells = s_row_cells(row.data, row.len, first, sizeof first);
    snprintf(want, sizeof want, "%" PRIu64, hubc_record_seq(rec));
    if (cells != hubc_columns_count(cols) || strcmp(first, want) != 0) {
        fu_fail("the CSV row has %zu cells (header %zu), first '%s'", cells,
                hubc_columns_count(cols), first);
    }
    hub_buf_free(&row);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *body = fu_need(malloc(size ? size : 1)); // exact size: ASan sees overreads
    memcpy(body, data, size);
    hubc_record_t *rec = fu_need(hubc_record_new());
    hub_diag_t *diag = fu_need(hub_diag_new());
    int rc = hubc_record_read(rec, body, size, S_RECEIVED_AT, diag);
    if (rc != HUB_OK) {
        if (rc != HUB_EDECODE && rc != HUB_ELIMIT && rc != HUB_ENOMEM) {
            fu_fail("hubc_record_read refused with %s", hub_error_name(rc));
        }
        fu_check_failure_reported(rc, diag, "hubc_record_read");
    } else {
        fu_check_diag(diag);
        hub_buf_t line = HUB_BUF_INIT, again = HUB_BUF_INIT;
        if (hubc_record_json(rec, &line) != HUB_OK) {
            fu_fail("hubc_record_json failed");
        }
        s_check_json(rec, &line);
        s_check_csv(rec);
        hub_diag_reset(diag);
        if (hubc_record_read(rec, body, size, S_RECEIVED_AT, diag) != HUB_OK ||
            hubc_record_json(rec, &again) != HUB_OK || again.len != line.len ||
            memcmp(again.data, line.data, line.len) != 0) {
            fu_fail("the same body read again writes another line");
        }
        hub_buf_free(&line);
        hub_buf_free(&again);
    }
    hub_diag_destroy(&diag);
    hubc_record_destroy(&rec);
    free(body);
    return 0;
}
