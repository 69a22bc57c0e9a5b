// hub_codes: one code table (schemas/codes/<name>.yaml): the national
// standards' codes (sex, ethnic group, relationship, divisions) and the
// hub's own enumerations. A table is loaded once and then read-only, so it
// may be read from any number of threads.
#ifndef HUB_CODES_H
#define HUB_CODES_H

#include "hub_diag.h"
#include "hub_yaml.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    const char *code;     // "07"
    const char *zh;       // 彝族
    const char *en;       // Yi
    const char **aliases; // other spellings adapters may map ("彝")
    size_t naliases;
    int retired;           // year retired, 0 when current
    const char *successor; // the code that replaced it, or NULL
} hub_code_t;

typedef struct hub_codes hub_codes_t;

// Loads the table in DOC (its root mapping: table, standard, title, codes).
// Every problem goes to DIAG with file:line:column. Errors: HUB_ECONFIG,
// HUB_ENOMEM.
int
hub_codes_load(hub_codes_t **out, const hub_yaml_t *doc, hub_diag_t *diag);

// Frees the table and sets *self_p to NULL. Safe on NULL.
void
hub_codes_destroy(hub_codes_t **self_p);

// The table's name ("sex"), standard ("GB/T 2261.1-2003") and file.
const char *
hub_codes_name(const hub_codes_t *self);
const char *
hub_codes_standard(const hub_codes_t *self);
const char *
hub_codes_file(const hub_codes_t *self);

// The entry whose code is the LEN bytes at CODE, or NULL. O(log n).
const hub_code_t *
hub_codes_find(const hub_codes_t *self, const char *code, size_t len);

// The entry that TEXT names by its code, its zh or en name, or an alias
// (exact match after trimming ASCII spaces), or NULL. For adapters.
const hub_code_t *
hub_codes_match(const hub_codes_t *self, const char *text, size_t len);

// True when TEXT (NUL-terminated) is entry C's code, zh or en name, or one
// of its aliases.
bool
hub_codes_match_entry(const hub_code_t *c, const char *text);

// Entries, in code order.
size_t
hub_codes_count(const hub_codes_t *self);
const hub_code_t *
hub_codes_at(const hub_codes_t *self, size_t i);

#endif
