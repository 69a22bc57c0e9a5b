// hub_rules: the data-sharing rules (config/rules.yaml and
// config/rules.d/*.yaml; the language is docs/RULES.md). Default deny: a
// message reaches an endpoint only when a rule says so, with only the
// fields that rule lists, masked as it says. The loader enforces the law
// (PIPL, DOMAIN.md) and refuses a rule set that breaks it, naming the rule,
// the field, the file, line and column:
//   - a sensitive or restricted field released without purpose and legal basis;
//   - a restricted type sent to anyone but its statutory recipients;
//   - a field of share category `none` released to anyone;
//   - an unknown department, endpoint, type, field, function or mask.
// Warnings (not errors): a rule that can never match, rules that overlap,
// endpoints no rule reaches.
//
// A loaded rule set is immutable and may be shared by any number of threads.
#ifndef HUB_RULES_H
#define HUB_RULES_H

#include "hub_depts.h"
#include "hub_diag.h"
#include "hub_expr.h"
#include "hub_mask.h"
#include "hub_schema.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    const char *path;             // in the delivered message: "subject.citizen_id"
    const hub_field_spec_t *spec; // its field in the delivered type
    hub_mask_t mask;
    hub_path_t at; // PATH parsed (routing reads no text per message)
} hub_rule_field_t;

typedef struct {
    const hub_endpoint_t *endpoint; // a named endpoint, or NULL
    const char *department;         // else: this department's endpoint ...
    const char *by;                 // ... for the division at this path
    hub_level_t level;              // ... at this level (or the nearest above)
    bool exact;                     // ... at exactly this level, no fallback
    hub_path_t by_at;               // BY parsed
} hub_recipient_t;

// One field of a derived message: copied from a path of the source message,
// or a literal string.
typedef struct {
    const char *target;   // path in the derived message
    const char *from;     // path in the source message, or NULL
    const char *literal;  // or a literal value
    hub_path_t target_at; // TARGET parsed
    hub_path_t from_at;   // FROM parsed (kind HUB_PATH_NONE without FROM)
} hub_derive_field_t;

typedef struct {
    const char *id;
    const char *description;
    const char *purpose;     // why (PIPL Art. 6, 17): may be NULL only when nothing sensitive
    const char *legal_basis; // the law that allows it
    hub_share_t share;       // 无条件 / 有条件 / 不予共享 (with legal basis)
    const char **from;       // source departments
    size_t nfrom;
    const hub_schema_t **types; // source message types
    size_t ntypes;
    hub_expr_t *when; // NULL: always
    hub_recipient_t *to;
    size_t nto;
    hub_rule_field_t *fields; // released fields, in the delivered type
    size_t nfields;
    const hub_schema_t *derive; // NULL: forward the message; else derive this type
    hub_derive_field_t *derive_fields;
    size_t nderive;
    const char *file;
    int line;
    size_t index; // position in the rule set (file order)
} hub_rule_t;

// A list (docs/RULES.md, "Lists"): a set of keys maintained by the logged
// messages of TYPES from the one department FROM (messages from any other
// source never change it). Each such message sets its KEY's membership to
// the value of MEMBER (true: in, false: out). Rules ask with listed().
typedef struct {
    const char *id;
    const char *description;
    const char *from;           // the one source department that maintains it
    const hub_schema_t **types; // the message types that change it
    size_t ntypes;
    const char *key;    // the key's field path, a string field in every type
    hub_path_t key_at;  // KEY parsed
    hub_expr_t *member; // membership after a message; NULL: always a member
    const char *file;
    int line;
    size_t index; // position in the set's lists (listed() refers to it)
} hub_list_t;

typedef struct hub_rules hub_rules_t;

// Loads CONFIG_DIR/rules.yaml (if present) and CONFIG_DIR/rules.d/*.yaml
// (sorted by name) against SCHEMAS and DEPTS, which must outlive the set.
// Each file is a mapping of 'rules' and 'lists'; every file's lists load
// before any rule, so a rule's listed() may name a list of any file.
// Errors and warnings go to DIAG. Errors: HUB_EIO, HUB_ECONFIG (any error;
// warnings alone do not fail), HUB_ENOMEM.
int
hub_rules_load(hub_rules_t **out, const char *config_dir, const hub_schemas_t *schemas,
               const hub_depts_t *depts, hub_diag_t *diag);

// Frees the set and sets *self_p to NULL. Safe on NULL.
void
hub_rules_destroy(hub_rules_t **self_p);

// The rule-set version: SHA-256 (hex, 64 chars) of the canonical content of
// departments.yaml and every rule file (keys sorted, comments, anchors and
// formatting ignored), so the same rules give the same version anywhere.
const char *
hub_rules_version(const hub_rules_t *self);

// The set's serial: a number no other set loaded in this process has or had
// (the first is 1), even one that reuses this one's memory after it is
// freed. For a given serial, what a pointer into the set (a rule, a field
// path) stands for never changes, so a cache keyed by such pointers and the
// serial cannot go stale. Thread-safe to read; loading takes it atomically.
uint64_t
hub_rules_serial(const hub_rules_t *self);

// Rules in file order.
size_t
hub_rules_count(const hub_rules_t *self);
const hub_rule_t *
hub_rules_at(const hub_rules_t *self, size_t i);

// The rules that apply to messages of TYPE from SOURCE, in file order (an
// index: routing runs only these). *N gets their number.
const hub_rule_t *const *
hub_rules_for(const hub_rules_t *self, const char *source, const char *type, size_t *n);

// Lists in declaration order (file order, then position in the file).
size_t
hub_rules_list_count(const hub_rules_t *self);
const hub_list_t *
hub_rules_list_at(const hub_rules_t *self, size_t i);

// The list with id ID, or NULL.
const hub_list_t *
hub_rules_list_find(const hub_rules_t *self, const char *id);

// Whether a message of TYPE from SOURCE changes list L (its source and one
// of its types).
bool
hub_list_applies(const hub_list_t *l, const char *source, const char *type);

// What MSG (valid, of a type and source L applies to) does to L: *KEY,
// *LEN get the key (borrowed from MSG) and *MEMBER the membership it sets.
// False when MSG has no key (a message without one changes nothing).
bool
hub_list_change(const hub_list_t *l, const hub_msg_t *msg, const char **key, size_t *len,
                bool *member);

// The files that make up the set (departments.yaml first), for tools.
size_t
hub_rules_file_count(const hub_rules_t *self);
const char *
hub_rules_file_at(const hub_rules_t *self, size_t i);

#endif
