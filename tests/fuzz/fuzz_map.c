// fuzz_map: the mapping-file loader (hub_map) on arbitrary YAML, and the
// mapping of a record with a mapping that loaded.
//
// An input is the mapping's text, a zero byte, and the record: cells
// separated by '|' for a CSV mapping (column I of the mapping reads cell I;
// past the last cell the column is missing), a JSON line for a jsonl one.
// Each input:
//   1. loads against the repository's schemas and config/departments.yaml;
//      a failure must be reported (file:line:column);
//   2. maps the record twice: the same outcome both times; a mapped message
//      is valid and canonical with the id of hubc_map_id; a rejection has
//      a reason word and valid UTF-8 text.
#include "fuzz_util.h"
#include "hub_depts.h"
#include "hub_jsonl.h"
#include "hub_map.h"
#include "hub_utf8.h"

#include <stddef.h>
#include <stdint.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define S_MAX_CELLS 32

typedef struct {
    const char *cells[S_MAX_CELLS];
    size_t n;
    hubc_jsonl_t *json;
    const hubc_map_t *map;
} s_src_t;

static const hub_depts_t *
s_depts(void)
{
    static hub_depts_t *depts;
    static bool tried;
    const hub_schemas_t *schemas = fu_schemas();
    if (!tried && schemas) {
        tried = true;
        const char *path = getenv("HUB_DEPARTMENTS");
        if (hub_depts_load(&depts, path && *path ? path : "config/departments.yaml", schemas,
                           NULL) != HUB_OK) {
            fprintf(stderr, "fuzz: cannot load departments (set HUB_DEPARTMENTS); not checked\n");
        }
    }
    return depts;
}

static bool
s_cell(void *ctx, size_t col, const char **s, size_t *len)
{
    s_src_t *src = ctx;
    if (src->json) {
        if (!hubc_jsonl_get(src->json, hubc_map_column(src->map, col), s, len)) {
            *s = "";
            *len = 0;
        }
        return true;
    }
    if (col >= src->n) {
        return false;
    }
    *s = src->cells[col];
    *len = strlen(*s);
    return true;
}

static void
s_check_text(const char *what, const char *s, size_t size)
{
    if (!memchr(s, '\0', size) || !hub_utf8_valid(s, strlen(s), NULL)) {
        fu_fail("a rejection's %s is not a valid string", what);
    }
}

static void
s_check(const hubc_map_t *map, hub_msg_t *msg, const hubc_map_result_t *res, hub_diag_t *diag)
{
    if (res->status == HUBC_REJECTED) {
        if (!res->reason || !res->reason[0]) {
            fu_fail("a rejection without a reason");
        }
        s_check_text("column", res->column, sizeof res->column);
        s_check_text("value", res->value, sizeof res->value);
        s_check_text("text", res->text, sizeof res->text);
        return;
    }
    if (res->status != HUBC_MAPPED) {
        return;
    }
    if (strlen(res->id) != 32 || strspn(res->id, "0123456789abcdef") != 32 ||
        strcmp(hub_msg_env_str(msg, HUB_ENV_ID), res->id) != 0 ||
        strcmp(hub_msg_env_str(msg, HUB_ENV_SOURCE), hubc_map_department(map)) != 0) {
        fu_fail("a mapped message's id or source is wrong");
    }
    hub_diag_reset(diag);
    if (hub_validate(fu_schemas(), msg, 0, diag) != HUB_OK) {
        hub_diag_print(diag, stderr);
        fu_fail("a mapped message is not valid and canonical");
    }
}

// Splits the record text (a copy, modified) into SRC's cells.
static void
s_split(s_src_t *src, char *text)
{
    for (char *p = text, *bar; p && src->n < S_MAX_CELLS; p = bar ? bar + 1 : NULL) {
        bar = strchr(p, '|');
        if (bar) {
            *bar = '\0';
        }
        src->cells[src->n++] = p;
    }
}

static void
s_map(hubc_map_t *map, const char *rec, size_t len, hub_diag_t *diag)
{
    s_src_t src = {.map = map};
    char *text = fu_need(malloc(len + 1));
    memcpy(text, rec, len);
    text[len] = '\0';
    char detail[128];
    if (hubc_map_input(map)->format == HUBC_MAP_JSONL) {
        src.json = fu_need(hubc_jsonl_new());
        if (hubc_jsonl_parse(src.json, rec, len, detail, sizeof detail) != HUB_OK) {
            hubc_jsonl_destroy(&src.json);
            free(text);
            return;
        }
    } else if (!memchr(rec, '\0', len) && hub_utf8_valid(rec, len, NULL)) {
        s_split(&src, text); // cells come from hub_csv: UTF-8 without NUL
    }
    hubc_map_src_t s = {s_cell, &src};
    hub_msg_t *msg = fu_need(hub_msg_new());
    hubc_map_result_t res, again;
    hubc_map_set_recorded_at(map, "2024-03-01T10:00:00+08:00");
    if (hubc_map_record(map, &s, msg, &res) != HUB_OK) {
        fu_fail("hubc_map_record failed");
    }
    s_check(map, msg, &res, diag);
    if (hubc_map_record(map, &s, msg, &again) != HUB_OK || again.status != res.status ||
        strcmp(again.id, res.id) != 0 || (res.reason && strcmp(again.reason, res.reason) != 0)) {
        fu_fail("the same record mapped twice gives different outcomes");
    }
    hub_msg_destroy(&msg);
    hubc_jsonl_destroy(&src.json);
    free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const hub_schemas_t *schemas = fu_schemas();
    if (!schemas) {
        return 0;
    }
    const uint8_t *zero = memchr(data, 0, size);
    size_t ylen = zero ? (size_t) (zero - data) : size;
    hub_diag_t *diag = fu_need(hub_diag_new());
    hubc_map_t *map = NULL;
    int rc = hubc_map_load_buffer(&map, "fuzz.yaml", data, ylen, schemas, s_depts(), diag);
    fu_check_diag(diag);
    if (rc != HUB_OK) {
        if (map) {
            fu_fail("a failed load handed out a mapping");
        }
        fu_check_failure_reported(rc, diag, "hubc_map_load_buffer");
    } else {
        for (size_t i = 0; i < hubc_map_ncolumns(map); i++) {
            if (!hubc_map_column(map, i)) {
                fu_fail("column %zu has no name", i);
            }
        }
        s_map(map, zero ? (const char *) zero + 1 : "", zero ? size - ylen - 1 : 0, diag);
    }
    hubc_map_destroy(&map);
    hub_diag_destroy(&diag);
    return 0;
}
