// hub_columns: a department's CSV columns file for hub-sink --format csv
// (docs/ADAPTERS.md, "hub-sink"): per message type, which value of the
// delivered message goes into which of the department's own columns.
//
//     "*":                          # every type: these columns first
//       delivery.seq: 序号           # the endpoint sequence (always column 1)
//       type: 消息类型
//       delivery.received_at: 接收时间
//     person.death:
//       subject.citizen_id: 身份证号
//       subject.name: 姓名
//       body.death_date: 死亡日期
//
// A path is an envelope key (id, type, event_date ...), subject.KEY,
// body.NAME, or delivery.KEY (seq, id, origin_id, rules, purposes,
// legal_bases, ruleset, received_at). The header is the union of every
// column name in order of first appearance: types that name the same
// column share it. The endpoint sequence is always the first column
// ("seq" unless "*" names it), because the inbox recovers by it.
//
// Loaded once, then read-only. Strings are borrowed until destroy.
#ifndef HUB_COLUMNS_H
#define HUB_COLUMNS_H

#include "hub_buf.h"
#include "hub_diag.h"
#include "hub_schema.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct hubc_columns hubc_columns_t;

// One value of a row: the path it is read from and the column it goes to.
typedef struct {
    const char *path; // "body.death_date", "delivery.rules"
    size_t column;    // index in the header (0: the sequence)
    bool yuan;        // a money field (integer fen), written as yuan: 1234 -> 12.34
} hubc_column_map_t;

// Loads the columns file PATH. With SCHEMAS (may be NULL) every type and
// path is checked against the canonical schemas ("unknown field
// 'death_dat' (did you mean 'death_date'?)") and money fields are written
// as yuan. Every problem goes to DIAG as FILE:LINE:COLUMN. Errors:
// HUB_EIO (unreadable), HUB_ECONFIG (any problem), HUB_ENOMEM.
int
hubc_columns_load(hubc_columns_t **out, const char *path, const hub_schemas_t *schemas,
                  hub_diag_t *diag);

// The same from the LEN bytes at DATA; NAME stands for the file.
int
hubc_columns_parse(hubc_columns_t **out, const char *name, const void *data, size_t len,
                   const hub_schemas_t *schemas, hub_diag_t *diag);

// Frees the columns and sets *self_p to NULL. Safe on NULL.
void
hubc_columns_destroy(hubc_columns_t **self_p);

// Columns in a row, and the name of column I.
size_t
hubc_columns_count(const hubc_columns_t *self);
const char *
hubc_columns_name(const hubc_columns_t *self, size_t i);

// The values of a row of TYPE: the "*" ones, then the type's own; *N gets
// their count and *KNOWN whether the file names TYPE (when not, only the
// "*" ones are returned). Borrowed.
const hubc_column_map_t *
hubc_columns_of(const hubc_columns_t *self, const char *type, size_t *n, bool *known);

// Appends the header: a UTF-8 byte order mark (so that Excel reads the
// file as UTF-8), the column names as CSV cells, CRLF. Errors: HUB_ENOMEM.
int
hubc_columns_header(const hubc_columns_t *self, hub_buf_t *out);

// Appends the LEN bytes at S as one CSV cell (RFC 4180): quoted when they
// hold a comma, a double quote, CR or LF, or begin or end with a space;
// double quotes doubled. Errors: HUB_ENOMEM.
int
hubc_columns_cell(hub_buf_t *out, const char *s, size_t len);

#endif
