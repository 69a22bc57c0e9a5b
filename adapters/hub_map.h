// hub_map: a department's mapping file (config/adapters/<name>.yaml; the
// format is docs/ADAPTERS.md, "The mapping file"): which export it reads,
// how each record becomes a canonical message, and the record's key, from
// which the message id is derived. Loading checks the file against the
// schemas and departments.yaml and reports every problem at its
// file:line:column, unknown keys with a "did you mean". Mapping a record
// applies the transforms (hub_xform), derives the id, and validates the
// message with HUB_VALIDATE_NORMALIZE, so what comes out is canonical or
// rejected with a reason; nothing is ever published half-right.
//
// The loaded mapping is read-only except for its scratch space: one thread
// maps records at a time. It borrows the schema set and departments, which
// must outlive it.
#ifndef HUB_MAP_H
#define HUB_MAP_H

#include "hub_depts.h"
#include "hub_diag.h"
#include "hub_enc.h"
#include "hub_msg.h"
#include "hub_schema.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct hubc_map hubc_map_t;

typedef enum {
    HUBC_MAP_CSV = 0,
    HUBC_MAP_JSONL,
} hubc_map_format_t;

// The mapping's `input` section, with its defaults filled in.
typedef struct {
    hubc_map_format_t format; // csv (default) | jsonl
    hubc_enc_t encoding;      // auto (default)
    char delimiter;           // ',' (default)
    const char *header;       // the header row's marker cell, or NULL (the first row)
    const char *pattern;      // file names --watch picks up ("*.csv" / "*.jsonl")
} hubc_map_input_t;

// Loads and checks the mapping file at PATH. DEPTS may be NULL (then the
// department, endpoint and publish permissions are not checked). Every
// problem goes to DIAG. Errors: HUB_EIO (unreadable), HUB_ECONFIG (any
// problem), HUB_ENOMEM. On error *OUT stays NULL.
int
hubc_map_load(hubc_map_t **out, const char *path, const hub_schemas_t *schemas,
              const hub_depts_t *depts, hub_diag_t *diag);

// The same from LEN bytes at DATA; NAME stands for the file in messages.
int
hubc_map_load_buffer(hubc_map_t **out, const char *name, const void *data, size_t len,
                     const hub_schemas_t *schemas, const hub_depts_t *depts, hub_diag_t *diag);

// Frees the mapping and sets *self_p to NULL. Safe on NULL.
void
hubc_map_destroy(hubc_map_t **self_p);

// The mapping's name (its file name without directory and .yaml), the
// publishing department, the endpoint whose keys publish, the input.
const char *
hubc_map_name(const hubc_map_t *self);
const char *
hubc_map_department(const hubc_map_t *self);
const char *
hubc_map_endpoint(const hubc_map_t *self);
const hubc_map_input_t *
hubc_map_input(const hubc_map_t *self);

// The source columns the mapping reads (CSV header names, or JSON member
// paths), each once, in order of first use. A record source answers for
// them by index.
size_t
hubc_map_ncolumns(const hubc_map_t *self);
const char *
hubc_map_column(const hubc_map_t *self, size_t i);

// One source record. CELL gives the text of column COL (an index of
// hubc_map_column) in *S / *LEN (UTF-8; borrowed until the record is done)
// and returns true, or returns false when the source has no such column
// (a CSV whose header lacks it; for JSON Lines, an absent member is an
// empty cell instead).
typedef struct {
    bool (*cell)(void *ctx, size_t col, const char **s, size_t *len);
    void *ctx;
} hubc_map_src_t;

typedef enum {
    HUBC_MAPPED = 0, // MSG holds a valid, canonical message
    HUBC_SKIPPED,    // type_from said skip
    HUBC_REJECTED,   // not publishable: see reason, column, value, text
} hubc_map_status_t;

// What mapping one record gave. Strings are NUL-terminated valid UTF-8.
typedef struct {
    hubc_map_status_t status;
    const char *reason; // REJECTED: the reason word (static)
    char column[192];   // REJECTED: the source column at fault, or the field path
    char value[192];    // REJECTED: the value at fault (may be empty)
    char text[384];     // REJECTED: a sentence naming the field and the problem
    char id[33];        // MAPPED: the message id
} hubc_map_result_t;

// Sets the recorded_at stamped on the messages mapped from now on (RFC
// 3339), or, when RFC3339 is NULL, the time now with the local offset; at
// load it is the load time.
void
hubc_map_set_recorded_at(hubc_map_t *self, const char *rfc3339);

// Maps the record SRC into MSG (reset first) and validates it. *RES says
// what came of it; MSG is meaningful only when RES->status is
// HUBC_MAPPED. Errors: HUB_ENOMEM.
int
hubc_map_record(hubc_map_t *self, const hubc_map_src_t *src, hub_msg_t *msg,
                hubc_map_result_t *res);

// The message id of a record: the first 32 lower-case hex digits of
// SHA-256 over DEPT \0 TYPE \0 KEY[0] \0 KEY[1] ... into OUT.
void
hubc_map_id(const char *dept, const char *type, const char *const *keys, const size_t *lens,
            size_t nkeys, char out[33]);

#endif
