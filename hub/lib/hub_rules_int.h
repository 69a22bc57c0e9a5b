// Private to hub_rules*.c: the rule set's insides, shared between the
// loader (hub_rules.c), one rule's parser (hub_rules_parse.c), the law
// checks (hub_rules_check.c), the lists (hub_rules_lists.c), the paths
// (hub_rules_paths.c) and the canonical hash (hub_rules_hash.c).
#ifndef HUB_RULES_INT_H
#define HUB_RULES_INT_H

#include "hub_arena.h"
#include "hub_rules.h"
#include "hub_yaml.h"

struct hub_rules {
    hub_arena_t *arena;
    const hub_schemas_t *schemas;
    const hub_depts_t *depts;
    hub_rule_t **rules; // file order
    size_t nrules, rules_cap;
    const char **files; // departments.yaml, then rule files
    size_t nfiles, files_cap;
    // index[d * ntypes + t]: rules for department d (hub_depts_at order)
    // and type t (hub_schemas_at order)
    const hub_rule_t ***index;
    size_t *index_n;
    size_t ndepts, ntypes;
    hub_list_t **lists; // declaration order
    size_t nlists, lists_cap;
    const char **list_ids; // lists[i]->id, for hub_expr_compile_with()
    hub_yaml_t **docs;     // while loading: every file's document, in order
    size_t ndocs, docs_cap;
    char version[65];
    uint64_t serial; // hub_rules_serial()
};

// A copy of S in the rule set's arena (S NULL: NULL); NULL when it ran
// out. Freed with the rule set.
const char *
hub_rules_dup(hub_rules_t *self, const char *s);

// N zeroed bytes (at least one) in the rule set's arena; NULL when it ran
// out. Freed with the rule set.
void *
hub_rules_alloc(hub_rules_t *self, size_t n);

// Where the condition text at NODE of DOC starts, for its compile errors:
// file, line and column (past the opening quote of a quoted scalar).
// Borrows DOC's file name.
hub_expr_origin_t
hub_rules_origin(const hub_yaml_t *doc, int node);

// Parses the rule at NODE of DOC (docs/RULES.md, "The rule format"), checks
// it against the schemas, departments.yaml and the law
// (hub_rules_check_rule) and appends it to self->rules even when it is
// refused, so that a later rule reusing its id is still reported (a NODE
// that is not a mapping makes no rule). Call it after every file's lists
// loaded: a condition may name any of them. The rule lives in self's
// arena; hub_rules_destroy() frees its condition. Errors go to DIAG at
// file:line:column: HUB_ECONFIG, HUB_ENOMEM.
int
hub_rules_parse_rule(hub_rules_t *self, const hub_yaml_t *doc, int node, hub_diag_t *diag);

// Checks rule R against the law and the configuration; reports errors and
// returns HUB_ECONFIG when any. Called once per rule after it parsed.
int
hub_rules_check_rule(const hub_rules_t *self, const hub_rule_t *r, const hub_yaml_t *doc, int node,
                     hub_diag_t *diag);

// Warnings over the whole set: rules that never match or overlap,
// endpoints no rule reaches.
void
hub_rules_check_set(const hub_rules_t *self, hub_diag_t *diag);

// Parses every path of every rule (hub_rule_field_t.at, ...) and interns
// the released field paths: within the set, equal path text means equal
// pointers. Called once, after every rule loaded. Errors: HUB_ENOMEM.
int
hub_rules_resolve_paths(hub_rules_t *self);

// Loads the top-level 'lists' of DOC into SELF (every file's lists load
// before any rule, so a rule may name a list from any file). Errors go to
// DIAG at file:line:column: HUB_ECONFIG, HUB_ENOMEM.
int
hub_rules_load_lists(hub_rules_t *self, const hub_yaml_t *doc, hub_diag_t *diag);

// Appends ITEM to the growing array *ARR. Errors: HUB_ENOMEM.
int
hub_rules_push(void ***arr, size_t *n, size_t *cap, void *item);

// Feeds the canonical content of DOC into the SHA-256 state ST (a
// crypto_hash_sha256_state). Bounded in depth and size.
void
hub_rules_hash_doc(void *st, const hub_yaml_t *doc);

#endif
