// Rule paths resolved once, when the set loads, so that routing reads no
// path text per message: every path is parsed (hub_path_parse()), and
// the released field paths are interned: two fields of the set with the
// same path text get the same pointer, so the route merges the fields of
// several rules into one delivery by comparing pointers, not strings.
#include "hub_error.h"
#include "hub_rules_int.h"

#include <stdlib.h>
#include <string.h>

// The distinct field paths seen so far.
typedef struct {
    const char **paths;
    size_t n, cap;
} s_interned_t;

// The interned pointer of PATH, added when new. NULL when out of memory.
static const char *
s_intern(s_interned_t *t, const char *path)
{
    for (size_t i = 0; i < t->n; i++) {
        if (strcmp(t->paths[i], path) == 0) {
            return t->paths[i];
        }
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        const char **p = realloc(t->paths, cap * sizeof *p);
        if (!p) {
            return NULL;
        }
        t->paths = p;
        t->cap = cap;
    }
    t->paths[t->n++] = path;
    return path;
}

static void
s_resolve_rule(hub_rule_t *r)
{
    for (size_t i = 0; i < r->nto; i++) {
        hub_recipient_t *to = &r->to[i];
        to->by_at = to->by ? hub_path_parse(to->by) : (hub_path_t){HUB_PATH_NONE, -1, NULL, 0};
    }
    for (size_t i = 0; i < r->nderive; i++) {
        hub_derive_field_t *f = &r->derive_fields[i];
        f->target_at = hub_path_parse(f->target);
        f->from_at = f->from ? hub_path_parse(f->from) : (hub_path_t){HUB_PATH_NONE, -1, NULL, 0};
    }
}

int
hub_rules_resolve_paths(hub_rules_t *self)
{
    s_interned_t t = {NULL, 0, 0};
    int rc = HUB_OK;
    for (size_t i = 0; i < self->nrules && !rc; i++) {
        hub_rule_t *r = self->rules[i];
        s_resolve_rule(r);
        for (size_t k = 0; k < r->nfields && !rc; k++) {
            hub_rule_field_t *f = &r->fields[k];
            if (!f->path) {
                continue; // not loaded (the set has errors)
            }
            const char *path = s_intern(&t, f->path);
            rc = path ? HUB_OK : HUB_ENOMEM;
            f->path = path ? path : f->path;
            f->at = hub_path_parse(f->path);
        }
    }
    free(t.paths);
    return rc;
}
