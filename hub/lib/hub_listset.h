// hub_listset: the members of the rule set's lists, in memory
// (docs/RULES.md, "Lists"): a set of (list number, key) pairs that
// listed() asks through hub_listset_lookup(). The list number is the
// list's hub_list_t.index in the rule set the routing uses.
//
// One owning thread: the one that routes. Lookups never allocate.
#ifndef HUB_LISTSET_H
#define HUB_LISTSET_H

#include "hub_expr.h"

#include <stdbool.h>
#include <stddef.h>

#define HUB_LISTSET_KEY_MAX 256 // bytes of a key; a longer key is never a member

typedef struct hub_listset hub_listset_t;

// An empty set; NULL when out of memory.
hub_listset_t *
hub_listset_new(void);

// Frees the set and sets *self_p to NULL. Safe on NULL.
void
hub_listset_destroy(hub_listset_t **self_p);

// Makes the LEN bytes at KEY a member of list LIST (MEMBER) or not. A key
// longer than HUB_LISTSET_KEY_MAX is refused (HUB_EINVAL) and never a
// member. Errors: HUB_EINVAL, HUB_ENOMEM (the set is unchanged).
int
hub_listset_set(hub_listset_t *self, size_t list, const char *key, size_t len, bool member);

// Whether the LEN bytes at KEY are a member of list LIST.
bool
hub_listset_has(const hub_listset_t *self, size_t list, const char *key, size_t len);

// The number of (list, key) members.
size_t
hub_listset_count(const hub_listset_t *self);

// Empties the set.
void
hub_listset_clear(hub_listset_t *self);

// A lookup for hub_route_set_lists() / hub_expr_eval_with() that asks
// SELF, which must outlive its use.
hub_expr_lookup_t
hub_listset_lookup(const hub_listset_t *self);

#endif
