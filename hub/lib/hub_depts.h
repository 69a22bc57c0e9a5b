// hub_depts: the departments, their receiving endpoints and what each may
// publish (config/departments.yaml; format in docs/RULES.md). Loaded once,
// then read-only: any number of threads may read it.
//
// An endpoint is a department at one level of the administrative map,
// named "<department>@<division>": education@513400 is the prefecture's
// education bureau, education@513431 昭觉县教育局, education@513431101 a
// township's office. It covers every division code that starts with its own
// code stripped of trailing "00" pairs (513400 covers 5134xx...).
#ifndef HUB_DEPTS_H
#define HUB_DEPTS_H

#include "hub_diag.h"
#include "hub_schema.h"

#include <stdbool.h>
#include <stddef.h>

typedef enum {
    HUB_LEVEL_PREFECTURE = 0, // 6-digit code ending in 00
    HUB_LEVEL_COUNTY,         // other 6-digit codes
    HUB_LEVEL_TOWNSHIP,       // 9-digit codes
    HUB_LEVEL_VILLAGE,        // 12-digit codes
} hub_level_t;

typedef struct {
    const char *id;         // "education@513431"
    const char *department; // "education"
    const char *division;   // "513431"
    const char *covers;     // "513431" ("5134" for 513400)
    hub_level_t level;
    const char *key_file; // CURVE public key, relative to the config dir
    int line;             // where it is declared
} hub_endpoint_t;

typedef struct {
    const char *id;         // "education"
    const char *zh, *en;    // names
    const char **publishes; // message types it may publish
    size_t npublishes;
    const hub_endpoint_t **endpoints; // its endpoints, most general first
    size_t nendpoints;
    int line;
} hub_dept_t;

typedef struct hub_depts hub_depts_t;

// Loads PATH against the schema set SCHEMAS (types must exist). Every
// problem goes to DIAG with file:line:column. Errors: HUB_EIO, HUB_ECONFIG,
// HUB_ENOMEM.
int
hub_depts_load(hub_depts_t **out, const char *path, const hub_schemas_t *schemas, hub_diag_t *diag);

// Frees the set and sets *self_p to NULL. Safe on NULL.
void
hub_depts_destroy(hub_depts_t **self_p);

// The department or endpoint called ID, or NULL.
const hub_dept_t *
hub_depts_find(const hub_depts_t *self, const char *id);
const hub_endpoint_t *
hub_depts_endpoint(const hub_depts_t *self, const char *id);

// All departments and endpoints, in file order.
size_t
hub_depts_count(const hub_depts_t *self);
const hub_dept_t *
hub_depts_at(const hub_depts_t *self, size_t i);
size_t
hub_depts_endpoint_count(const hub_depts_t *self);
const hub_endpoint_t *
hub_depts_endpoint_at(const hub_depts_t *self, size_t i);

// True when department DEPT may publish messages of TYPE.
bool
hub_depts_may_publish(const hub_depts_t *self, const char *dept, const char *type);

// For a restricted type, its statutory recipients (endpoint ids) and their
// number; NULL / 0 when TYPE is not restricted.
const char *const *
hub_depts_statutory(const hub_depts_t *self, const char *type, size_t *n);

// The endpoint of DEPT that serves division DIV (LEN bytes) at LEVEL: the
// most specific endpoint no more specific than LEVEL whose coverage is a
// prefix of DIV, falling back towards the prefecture. NULL when none.
const hub_endpoint_t *
hub_depts_resolve(const hub_depts_t *self, const char *dept, const char *div, size_t len,
                  hub_level_t level);

// Path of the file loaded, and its canonical content hash input (for the
// rule-set version): see hub_rules.
const char *
hub_depts_file(const hub_depts_t *self);

// "prefecture", "county", "township", "village"; parse returns -1 when unknown.
const char *
hub_level_name(hub_level_t level);
int
hub_level_parse(const char *s);

#endif
