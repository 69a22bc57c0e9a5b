// fuzz_columns: hub-sink's CSV columns file (hub_columns) on arbitrary YAML,
// loaded with the repository's schemas and without any.
//
// Each input:
//   1. loads twice (with and without schemas); a failure must be reported
//      (file:line:column) and hand out nothing; a file that loads with
//      schemas also loads without them (the schemas only add checks);
//   2. a file that loaded: column 0 is the sequence, every column has a
//      non-empty name, names are unique; each type's row (and the "*" row)
//      names columns that exist, never column 0 and never one twice; a
//      type the file does not name gets the "*" row;
//   3. the header is a UTF-8 BOM, then exactly one CSV record (RFC 4180)
//      holding the column names in order, ending in CRLF.
#include "fuzz_util.h"
#include "hub_buf.h"
#include "hub_columns.h"

#include <stddef.h>
#include <stdint.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

// Reads one RFC 4180 record at P (N bytes) that must end in CRLF exactly at
// the end; cell I is compared with WANT[I] (NWANT of them).
static void
s_check_row(const uint8_t *p, size_t n, const char *const *want, size_t nwant)
{
    size_t cell = 0, i = 0;
    hub_buf_t text = HUB_BUF_INIT;
    for (;;) {
        text.len = 0;
        if (i < n && p[i] == '"') {
            for (i++; i < n; i++) {
                if (p[i] == '"' && i + 1 < n && p[i + 1] == '"') {
                    hub_buf_append(&text, "\"", 1);
                    i++;
                } else if (p[i] == '"') {
                    break;
                } else {
                    hub_buf_append(&text, p + i, 1);
                }
            }
            if (i >= n) {
                fu_fail("row: a quoted cell is not closed");
            }
            i++;
        } else {
            for (; i < n && p[i] != ',' && p[i] != '\r' && p[i] != '\n' && p[i] != '"'; i++) {
                hub_buf_append(&text, p + i, 1);
            }
        }
        if (cell >= nwant || text.len != strlen(want[cell]) ||
            (text.len && memcmp(text.data, want[cell], text.len) != 0)) {
            fu_fail("row: cell %zu is not what was written", cell);
        }
        cell++;
        if (i < n && p[i] == ',') {
            i++;
            continue;
        }
        break;
    }
    if (cell != nwant || i + 2 != n || p[i] != '\r' || p[i + 1] != '\n') {
        fu_fail("row: %zu cells of %zu, or it does not end in exactly one CRLF", cell, nwant);
    }
    hub_buf_free(&text);
}

static void
s_check_maps(const hubc_columns_t *cols, const hubc_column_map_t *m, size_t n)
{
    size_t count = hubc_columns_count(cols);
    for (size_t i = 0; i < n; i++) {
        if (!m[i].path || m[i].column == 0 || m[i].column >= count) {
            fu_fail("a row names column %zu of %zu", m[i].column, count);
        }
        for (size_t j = 0; j < i; j++) {
            if (m[j].column == m[i].column) {
                fu_fail("a row fills column %zu twice", m[i].column);
            }
        }
    }
}

static void
s_check_columns(const hubc_columns_t *cols, const uint8_t *data, size_t size)
{
    size_t count = hubc_columns_count(cols);
    if (count == 0 || hubc_columns_name(cols, count) != NULL) {
        fu_fail("no sequence column, or a name past the end");
    }
    for (size_t i = 0; i < count; i++) {
        const char *name = hubc_columns_name(cols, i);
        if (!name || !name[0]) {
            fu_fail("column %zu has no name", i);
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(hubc_columns_name(cols, j), name) == 0) {
                fu_fail("column name '%s' given twice", name);
            }
        }
    }
    size_t n, ncommon;
    bool known;
    // Not a name a loaded file can give: upper case and a space.
    const hubc_column_map_t *common = hubc_columns_of(cols, "No Such Type", &ncommon, &known);
    if (known) {
        fu_fail("a type the file does not name is known");
    }
    s_check_maps(cols, common, ncommon);
    // Every top-level key of the file that looks like a type, by name.
    for (size_t at = 0; at < size && at < 4096;) {
        const uint8_t *eol = memchr(data + at, '\n', size - at);
        size_t len = eol ? (size_t) (eol - data - at) : size - at;
        const uint8_t *colon = memchr(data + at, ':', len);
        if (colon && colon > data + at && data[at] != ' ' && colon - (data + at) < 64) {
            char type[64];
            memcpy(type, data + at, (size_t) (colon - data - at));
            type[colon - data - at] = '\0';
            const hubc_column_map_t *m = hubc_columns_of(cols, type, &n, &known);
            s_check_maps(cols, m, n);
            if (n < ncommon || (ncommon && memcmp(m, common, ncommon * sizeof *m) != 0)) {
                fu_fail("the row of '%s' does not begin with the \"*\" row", type);
            }
        }
        at += len + 1;
    }
    hub_buf_t header = HUB_BUF_INIT;
    if (hubc_columns_header(cols, &header) != HUB_OK) {
        fu_fail("no header");
    }
    if (header.len < 3 || memcmp(header.data, "\xEF\xBB\xBF", 3) != 0) {
        fu_fail("the header has no BOM");
    }
    const char **names = fu_need(calloc(count, sizeof *names));
    for (size_t i = 0; i < count; i++) {
        names[i] = hubc_columns_name(cols, i);
    }
    s_check_row(header.data + 3, header.len - 3, names, count);
    free(names);
    hub_buf_free(&header);
}

static int
s_load(const uint8_t *data, size_t size, const hub_schemas_t *schemas)
{
    hub_diag_t *diag = fu_need(hub_diag_new());
    hubc_columns_t *cols = NULL;
    int rc = hubc_columns_parse(&cols, "cols.yaml", data, size, schemas, diag);
    fu_check_diag(diag);
    if (rc != HUB_OK) {
        if (cols) {
            fu_fail("a failed load handed out columns");
        }
        fu_check_failure_reported(rc, diag, "hubc_columns_parse");
    } else {
        s_check_columns(cols, data, size);
    }
    hubc_columns_destroy(&cols);
    hub_diag_destroy(&diag);
    return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const hub_schemas_t *schemas = fu_schemas();
    int with = schemas ? s_load(data, size, schemas) : HUB_ECONFIG;
    int without = s_load(data, size, NULL);
    if (with == HUB_OK && without != HUB_OK) {
        fu_fail("loads with schemas but not without (%s)", hub_error_name(without));
    }
    return 0;
}
