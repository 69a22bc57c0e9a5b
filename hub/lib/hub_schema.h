// hub_schema: the schemas of the canonical message types (schemas/*.yaml)
// and their code tables (schemas/codes/*.yaml), loaded as one set. The
// format is docs/SCHEMAS.md. A set is built once, then read-only: it may be
// shared by any number of threads. The description structs below are
// owned by the set and valid until it is destroyed.
#ifndef HUB_SCHEMA_H
#define HUB_SCHEMA_H

#include "hub_codes.h"
#include "hub_diag.h"
#include "hub_msg.h"
#include "hub_yaml.h"

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    HUB_FT_STRING = 0,
    HUB_FT_TEXT,
    HUB_FT_NAME,
    HUB_FT_INT,
    HUB_FT_BOOL,
    HUB_FT_MONEY,
    HUB_FT_DATE,
    HUB_FT_YEARMONTH,
    HUB_FT_DATETIME,
    HUB_FT_ENUM,
    HUB_FT_CITIZEN_ID,
    HUB_FT_DIVISION,
    HUB_FT_STUDENT_NO,
    HUB_FT_USCC,
    HUB_FT_PHONE,
    HUB_FT_ICD10,
    HUB_FT_DISABILITY_NO,
    HUB_FT_MSG_ID,
    HUB_FT_LIST,
    HUB_FT_COUNT
} hub_ftype_t;

typedef enum {
    HUB_SENS_PUBLIC = 0,
    HUB_SENS_PERSONAL,
    HUB_SENS_SENSITIVE,
    HUB_SENS_RESTRICTED,
} hub_sens_t;

typedef enum {
    HUB_SHARE_UNCONDITIONAL = 0,
    HUB_SHARE_CONDITIONAL,
    HUB_SHARE_NONE,
} hub_share_t;

typedef struct {
    const char *name; // "citizen_id", "death_date"
    const char *path; // "subject.citizen_id", "body.death_date"
    hub_ftype_t type;
    hub_ftype_t item_type; // for HUB_FT_LIST: the items' type
    bool required;
    hub_sens_t sensitivity;
    hub_share_t share;
    const char *zh;           // description in Chinese
    const char *en;           // description in English
    const hub_codes_t *codes; // for enums (and lists of enums), else NULL
    bool has_min, has_max;
    int64_t min, max;        // for int and money
    size_t max_length;       // code points, for string/text/name
    const char *pattern_src; // the pattern as written, or NULL
    const regex_t *pattern;  // compiled, or NULL
    int line;                // where it is declared in its schema file
} hub_field_spec_t;

typedef struct {
    const char *type; // "person.death"
    int64_t version;
    const char *title_zh;
    const char *title_en;
    hub_sens_t sensitivity;
    const char *file; // the schema file
    // Subject fields the type carries: SUBJECT[i] is meaningful only when
    // HAS_SUBJECT[i]; i is a hub_subj_t.
    bool has_subject[HUB_SUBJ_COUNT];
    hub_field_spec_t subject[HUB_SUBJ_COUNT];
    const hub_field_spec_t *fields; // the body, sorted by name
    size_t nfields;
    // The field that identifies the event a message of this type reports
    // (`one_event_per`; `one_event_per_subject: true` is subject.citizen_id),
    // or NULL: every message is an event of its own. A required field whose
    // value is a string. A later message of the type with the same value
    // there, from any source, is the same event: logged, delivered to nobody.
    const hub_field_spec_t *event_field;
} hub_schema_t;

typedef struct hub_schemas hub_schemas_t;

// Loads every code table in DIR/codes/*.yaml, then every schema in
// DIR/*.yaml. Reports every problem it finds (it does not stop at the
// first) into DIAG, with file:line:column. Errors: HUB_EIO (DIR unreadable),
// HUB_ECONFIG (any problem), HUB_ENOMEM. On error *OUT stays NULL.
int
hub_schemas_load(hub_schemas_t **out, const char *dir, hub_diag_t *diag);

// The steps of hub_schemas_load(), for tools and tests that hold YAML in
// memory: an empty set; add code tables; add schemas (their code tables
// must be added first); finish (sorts; then the set is read-only). Each
// add reports into DIAG and returns HUB_ECONFIG when the document is
// broken, leaving the set as it was.
hub_schemas_t *
hub_schemas_new(void);
int
hub_schemas_add_codes(hub_schemas_t *self, const hub_yaml_t *doc, hub_diag_t *diag);
int
hub_schemas_add_schema(hub_schemas_t *self, const hub_yaml_t *doc, hub_diag_t *diag);
void
hub_schemas_finish(hub_schemas_t *self);

// Frees the set and sets *self_p to NULL. Safe on NULL.
void
hub_schemas_destroy(hub_schemas_t **self_p);

// The schema of TYPE (LEN bytes), or NULL.
const hub_schema_t *
hub_schemas_find(const hub_schemas_t *self, const char *type, size_t len);

// The code table NAME, or NULL.
const hub_codes_t *
hub_schemas_codes(const hub_schemas_t *self, const char *name);

// Schemas in type order; code tables in name order.
size_t
hub_schemas_count(const hub_schemas_t *self);
const hub_schema_t *
hub_schemas_at(const hub_schemas_t *self, size_t i);
size_t
hub_schemas_codes_count(const hub_schemas_t *self);
const hub_codes_t *
hub_schemas_codes_at(const hub_schemas_t *self, size_t i);

// The body field NAME of SCHEMA, or NULL. O(log n).
const hub_field_spec_t *
hub_schema_field(const hub_schema_t *schema, const char *name, size_t len);

// The field at PATH ("subject.name", "body.death_date"), or NULL.
const hub_field_spec_t *
hub_schema_path(const hub_schema_t *schema, const char *path);

// The event MSG reports, when its type (its envelope's) is a one-event
// type of this set (hub_schema_t event_field): the value MSG holds at that
// field (a string borrowed from MSG), and *FIELD (may be NULL) the field's
// path ("body.certificate_no", borrowed from the set). NULL, and *FIELD
// NULL, when the type is unknown or not a one-event type, or MSG lacks the
// field or holds no string or an empty one there: the message is then no
// event's report and is routed as any other (validation refuses a missing
// field, it being required, but an empty string only where the field's
// pattern does, as person.birth's certificate number's). For
// hub_store_ingest_t's event_field and event_value.
const char *
hub_schemas_event(const hub_schemas_t *self, const hub_msg_t *msg, const char **field);

// Names: "citizen_id", "sensitive", "conditional". Parsers return -1 when
// the word is not one of them.
const char *
hub_ftype_name(hub_ftype_t t);
int
hub_ftype_parse(const char *s);
const char *
hub_sens_name(hub_sens_t s);
int
hub_sens_parse(const char *s);
const char *
hub_share_name(hub_share_t s);
int
hub_share_parse(const char *s);

// The fixed type of subject field WHICH.
hub_ftype_t
hub_subj_type(hub_subj_t which);

#endif
