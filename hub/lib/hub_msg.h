// hub_msg: the canonical message (docs/SCHEMAS.md). An envelope of fixed
// keys, a subject block of fixed keys and a body of named, typed values
// kept sorted by name. The message owns every byte it holds: setters copy
// into its arena, and values handed out are borrowed until the message is
// reset, changed at the same key, or destroyed.
//
// A message is meant to be reused: hub_msg_reset() keeps its memory, so a
// loop that decodes or builds messages allocates nothing after warm-up.
// Not thread-safe: one owner at a time.
#ifndef HUB_MSG_H
#define HUB_MSG_H

#include "hub_arena.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    HUB_VAL_NONE = 0, // absent
    HUB_VAL_BOOL,
    HUB_VAL_INT,
    HUB_VAL_STR,
    HUB_VAL_LIST, // items are BOOL, INT or STR, never LIST
} hub_val_kind_t;

typedef struct hub_val {
    hub_val_kind_t kind;
    uint32_t len; // STR: bytes (a NUL follows them); LIST: items
    union {
        bool b;
        int64_t i;
        const char *s;
        const struct hub_val *items;
    } u;
} hub_val_t;

typedef struct {
    const char *name; // NUL-terminated
    uint32_t name_len;
    hub_val_t val;
} hub_field_t;

// Envelope keys. schema_version is an INT, the others STR.
typedef enum {
    HUB_ENV_ID = 0,
    HUB_ENV_TYPE,
    HUB_ENV_SCHEMA_VERSION,
    HUB_ENV_SOURCE,
    HUB_ENV_SOURCE_REF,
    HUB_ENV_EVENT_DATE,
    HUB_ENV_RECORDED_AT,
    HUB_ENV_COUNT
} hub_env_t;

// Subject keys, all STR, in canonical (sorted) order.
typedef enum {
    HUB_SUBJ_BIRTH_DATE = 0,
    HUB_SUBJ_CITIZEN_ID,
    HUB_SUBJ_ETHNICITY,
    HUB_SUBJ_HOUSEHOLD_NO,
    HUB_SUBJ_HUKOU_DIVISION,
    HUB_SUBJ_NAME,
    HUB_SUBJ_SEX,
    HUB_SUBJ_COUNT
} hub_subj_t;

typedef struct hub_msg hub_msg_t;

// A new empty message; NULL when out of memory.
hub_msg_t *
hub_msg_new(void);

// Frees the message and sets *self_p to NULL. Safe on NULL.
void
hub_msg_destroy(hub_msg_t **self_p);

// Empties the message, keeping its memory for reuse.
void
hub_msg_reset(hub_msg_t *self);

// Makes DST an independent copy of SRC. Errors: HUB_ENOMEM.
int
hub_msg_copy(hub_msg_t *dst, const hub_msg_t *src);

// True when both hold the same keys with the same values.
bool
hub_msg_equal(const hub_msg_t *a, const hub_msg_t *b);

// The names of keys: "id", "schema_version", ...; "citizen_id", ...
const char *
hub_env_name(hub_env_t which);
const char *
hub_subj_name(hub_subj_t which);

// The key called NAME (LEN bytes), or -1.
int
hub_env_find(const char *name, size_t len);
int
hub_subj_find(const char *name, size_t len);

// The value at an envelope or subject key: never NULL; kind HUB_VAL_NONE
// when absent. Borrowed.
const hub_val_t *
hub_msg_env(const hub_msg_t *self, hub_env_t which);
const hub_val_t *
hub_msg_subj(const hub_msg_t *self, hub_subj_t which);

// The envelope's string at WHICH, or "" when absent (or not a string).
const char *
hub_msg_env_str(const hub_msg_t *self, hub_env_t which);

// Sets an envelope or subject value (copied). A value of kind NONE removes
// the key. Errors: HUB_ENOMEM; HUB_EINVAL when V is a LIST (or a list holds
// a list), or the envelope kind is wrong (schema_version must be INT, the
// others STR; subject values STR).
int
hub_msg_set_env(hub_msg_t *self, hub_env_t which, const hub_val_t *v);
int
hub_msg_set_subj(hub_msg_t *self, hub_subj_t which, const hub_val_t *v);

// Shorthands for string and integer values.
int
hub_msg_set_env_str(hub_msg_t *self, hub_env_t which, const char *s);
int
hub_msg_set_subj_str(hub_msg_t *self, hub_subj_t which, const char *s);

// Body fields, sorted by name (bytewise).
size_t
hub_msg_body_count(const hub_msg_t *self);
const hub_field_t *
hub_msg_body_at(const hub_msg_t *self, size_t i);

// The body value called NAME, or NULL when absent. Borrowed.
const hub_val_t *
hub_msg_body_get(const hub_msg_t *self, const char *name, size_t len);

// Sets body field NAME to a copy of V, replacing any value it had; kind NONE
// removes it. Errors: HUB_ENOMEM; HUB_EINVAL (a list in a list).
int
hub_msg_body_set(hub_msg_t *self, const char *name, size_t len, const hub_val_t *v);
int
hub_msg_body_set_str(hub_msg_t *self, const char *name, const char *s);
int
hub_msg_body_set_int(hub_msg_t *self, const char *name, int64_t i);
int
hub_msg_body_set_bool(hub_msg_t *self, const char *name, bool b);

// For decoders: adds body field NAME whose name and value memory already
// lives in this message's arena (no copy). Errors: HUB_EEXIST when the
// name is present (a duplicate key), HUB_ENOMEM.
int
hub_msg_body_add_owned(hub_msg_t *self, const char *name, size_t len, const hub_val_t *v);

// The arena that holds this message's memory, for decoders using
// hub_msg_body_add_owned() and hub_msg_set_*_owned(). Borrowed.
hub_arena_t *
hub_msg_arena(hub_msg_t *self);

// For decoders: sets an envelope or subject slot to a value whose memory is
// already in this message's arena (no copy, no kind check).
void
hub_msg_set_env_owned(hub_msg_t *self, hub_env_t which, const hub_val_t *v);
void
hub_msg_set_subj_owned(hub_msg_t *self, hub_subj_t which, const hub_val_t *v);

// The value at a field path: an envelope key ("type", "event_date"),
// "subject.<key>" or "body.<name>". NULL when the path names no possible
// key; a value of kind NONE when the key is possible but absent.
const hub_val_t *
hub_msg_get_path(const hub_msg_t *self, const char *path);

// A field path parsed once, for code that reads or writes the same path of
// every message (a rule set parses its paths when it loads): the section
// and key are found here, not per message.
typedef enum {
    HUB_PATH_NONE = 0, // names no possible key
    HUB_PATH_ENV,
    HUB_PATH_SUBJ,
    HUB_PATH_BODY,
} hub_path_kind_t;

typedef struct {
    hub_path_kind_t kind;
    int slot;         // ENV: a hub_env_t; SUBJ: a hub_subj_t
    const char *name; // BODY: the field name, inside the parsed path
    size_t len;       // BODY: its length
} hub_path_t;

// PATH parsed as hub_msg_get_path() reads it. The result points into PATH,
// which must outlive it.
hub_path_t
hub_path_parse(const char *path);

// The value at parsed path P: exactly hub_msg_get_path() of the text P was
// parsed from. Borrowed.
const hub_val_t *
hub_msg_get_at(const hub_msg_t *self, const hub_path_t *p);

// As hub_msg_get_at(), for a loop that reads the same path of message
// after similar message: *HINT (any value; start with 0) remembers where
// the body field was, and when it is there again the lookup is one
// comparison instead of a search.
const hub_val_t *
hub_msg_get_at_hint(const hub_msg_t *self, const hub_path_t *p, size_t *hint);

// Sets the value at parsed path P to a copy of V, as hub_msg_set_env(),
// hub_msg_set_subj() or hub_msg_body_set() would. Errors: theirs;
// HUB_EINVAL when P names no possible key.
int
hub_msg_set_at(hub_msg_t *self, const hub_path_t *p, const hub_val_t *v);

// The length of hub_env_name(WHICH) and hub_subj_name(WHICH) (1 for "?").
size_t
hub_env_name_len(hub_env_t which);
size_t
hub_subj_name_len(hub_subj_t which);

// Compares the ALEN bytes at A with the BLEN bytes at B: bytewise, the
// shorter first on a common prefix (the order of body fields and of every
// sorted name table). Embedded NULs compare like any byte.
int
hub_bytes_cmp(const char *a, size_t alen, const char *b, size_t blen);

// True when NAME (LEN bytes) may name a body field: 1-64 bytes of
// a-z 0-9 _, starting with a letter.
bool
hub_msg_field_name_valid(const char *name, size_t len);

// Value helpers.
bool
hub_val_equal(const hub_val_t *a, const hub_val_t *b);
hub_val_t
hub_val_str(const char *s, size_t len);
hub_val_t
hub_val_int(int64_t i);
hub_val_t
hub_val_bool(bool b);

// The name of a value kind: "none", "bool", "int", "string", "list".
const char *
hub_val_kind_name(hub_val_kind_t kind);

#endif
