// Private to hub_map*.c: a loaded mapping's insides, shared between the
// loader (hub_map.c) and the record mapper (hub_map_record.c).
#ifndef HUB_MAP_INT_H
#define HUB_MAP_INT_H

#include "hub_arena.h"
#include "hub_buf.h"
#include "hub_map.h"
#include "hub_yaml.h"

// The most key columns a mapping may name.
#define HUBC_MAP_MAX_KEYS 16

// The `as` kinds of a field.
typedef enum {
    HUBC_AS_STRING = 0,
    HUBC_AS_CODE,
    HUBC_AS_DATE,
    HUBC_AS_YEARMONTH,
    HUBC_AS_DATETIME,
    HUBC_AS_CITIZEN_ID,
    HUBC_AS_YUAN,
    HUBC_AS_INT,
    HUBC_AS_BOOL,
    HUBC_AS_COUNT
} hubc_as_t;

// One `map` entry or `type_from.values` entry: FROM (trimmed, half-width)
// -> TO. Kept sorted by FROM.
typedef struct {
    const char *from;
    size_t from_len;
    const char *to;
} hubc_pair_t;

// How one target field gets its value.
typedef struct {
    const char *path;             // "event_date", "subject.name", "body.reason"
    int subj;                     // hub_subj_t, or -1
    const char *body;             // the body field's name, or NULL
    const hub_field_spec_t *spec; // the schema's spec; NULL for event_date
    hub_ftype_t type;             // the target's type (its items' for a list)
    bool list;
    const size_t *cols; // source columns (indexes of the map's columns)
    size_t ncols;
    const char *join;  // between COLS' values
    const char *konst; // a constant instead of columns, or NULL
    hubc_as_t as;
    const hubc_pair_t *map;
    size_t nmap;
    const char *dflt;  // for an empty value, or NULL
    const char *split; // a list separator, or NULL
} hubc_fieldmap_t;

// The fields of one message type.
typedef struct {
    const char *type;
    const hub_schema_t *schema;
    hubc_fieldmap_t *fields; // in file order
    size_t nfields;
} hubc_msgmap_t;

struct hubc_map {
    hub_yaml_t *doc;    // kept: names below point into it
    hub_arena_t *arena; // everything else the mapping holds
    const hub_schemas_t *schemas;
    char *name;
    const char *department, *endpoint;
    hubc_map_input_t input;
    const char **columns; // source columns, each once
    size_t ncolumns, columns_cap;
    size_t *key;   // key columns
    bool *key_cid; // normalise that key as a citizen ID
    size_t nkey;
    const char **kv;              // one record's key values (NKEY)
    size_t *kl;                   // and their lengths
    const hubc_msgmap_t *fixed;   // `type`, or NULL with type_from
    size_t tf_col;                // type_from.column
    const hubc_pair_t *tf_values; // value -> type
    size_t ntf_values;
    const hubc_pair_t *tf_skip; // values skipped (TO unused)
    size_t ntf_skip;
    hubc_msgmap_t *msgs;
    size_t nmsgs;
    char recorded_at[40];
    hub_diag_t *vdiag; // the validator's findings for one record
    hub_buf_t scratch; // one value being built
    hub_buf_t keys;    // the key values of one record
    hub_buf_t conv;    // converted values of one field, NUL-terminated
    hub_buf_t items;   // a list's items being built
};

// Orders pairs by FROM (bytewise), for qsort and bsearch.
int
hubc_pair_cmp(const void *a, const void *b);

// The pair whose FROM is the LEN bytes at S, or NULL.
const hubc_pair_t *
hubc_pair_find(const hubc_pair_t *pairs, size_t n, const char *s, size_t len);

// Trims and half-widths the LEN bytes at S into OUT (replacing it).
int
hubc_clean(const char *s, size_t len, hub_buf_t *out);

#endif
