// hub_rules_lists: the 'lists' of the rule files (docs/RULES.md, "Lists").
// A list is maintained by one department's messages only (default deny:
// a list names exactly one source, so no other department can add a key to
// it), and its key must be a string field in every type that changes it.
#include "hub_rules_int.h"

#include "hub_error.h"

#include <stdlib.h>
#include <string.h>

#define S_MAX_LISTS 1024 // listed() keeps the list's index in 16 bits; far more than needed

static const char *const s_list_keys[] = {"id",  "description", "from", "types",
                                          "key", "member",      NULL};

static bool
s_valid_id(const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
            return false;
        }
    }
    return n > 0 && n <= 64;
}

// id (unique, [a-z0-9_]), description, from (one known department).
static int
s_parse_head(hub_rules_t *self, const hub_yaml_t *doc, int node, hub_list_t *l, hub_diag_t *diag)
{
    int rc = hub_yaml_get_str(doc, node, "id", true, &l->id, diag);
    rc |= hub_yaml_get_str(doc, node, "from", true, &l->from, diag);
    int d = hub_yaml_get_str(doc, node, "description", false, &l->description, diag);
    if (rc || (d && d != HUB_ENOTFOUND)) {
        return HUB_ECONFIG;
    }
    if (!s_valid_id(l->id)) {
        hub_yaml_error(doc, hub_yaml_get(doc, node, "id"), diag, "bad_name",
                       "list id '%s': use 1-64 of a-z, 0-9 and _", l->id);
        return HUB_ECONFIG;
    }
    if (hub_rules_list_find(self, l->id)) {
        const hub_list_t *first = hub_rules_list_find(self, l->id);
        hub_yaml_error(doc, hub_yaml_get(doc, node, "id"), diag, "duplicate_list",
                       "list '%s' is already declared at %s:%d", l->id, first->file, first->line);
        return HUB_ECONFIG;
    }
    if (!hub_depts_find(self->depts, l->from)) {
        hub_yaml_error(doc, hub_yaml_get(doc, node, "from"), diag, "unknown_department",
                       "list '%s': no department '%s' in departments.yaml (a list has one "
                       "source)",
                       l->id, l->from);
        return HUB_ECONFIG;
    }
    l->id = hub_rules_dup(self, l->id);
    l->description = hub_rules_dup(self, l->description);
    l->from = hub_rules_dup(self, l->from);
    return l->id && l->from ? HUB_OK : HUB_ENOMEM;
}

// types: one type or a list of types, each known.
static int
s_parse_types(hub_rules_t *self, const hub_yaml_t *doc, int node, hub_list_t *l, hub_diag_t *diag)
{
    int types = hub_yaml_get(doc, node, "types");
    if (!types) {
        hub_yaml_error(doc, node, diag, "missing_key", "list '%s' needs 'types'", l->id);
        return HUB_ECONFIG;
    }
    bool seq = hub_yaml_kind(doc, types) == HUB_YAML_SEQ;
    l->ntypes = seq ? hub_yaml_len(doc, types) : 1;
    if (l->ntypes == 0) {
        hub_yaml_error(doc, types, diag, "missing_key", "list '%s' needs at least one type", l->id);
        return HUB_ECONFIG;
    }
    l->types = hub_arena_alloc(self->arena, sizeof(void *) * (l->ntypes + 1));
    if (!l->types) {
        return HUB_ENOMEM;
    }
    for (size_t i = 0; i < l->ntypes; i++) {
        int item = seq ? hub_yaml_item(doc, types, i) : types;
        const char *name = hub_yaml_str(doc, item, NULL);
        l->types[i] = name ? hub_schemas_find(self->schemas, name, strlen(name)) : NULL;
        if (!l->types[i]) {
            hub_yaml_error(doc, item, diag, "unknown_type", "list '%s': no message type '%s'",
                           l->id, name ? name : "(not a name)");
            return HUB_ECONFIG;
        }
    }
    return HUB_OK;
}

static bool
s_string_like(hub_ftype_t t)
{
    return t != HUB_FT_INT && t != HUB_FT_BOOL && t != HUB_FT_MONEY && t != HUB_FT_LIST;
}

// key: a string field present in every type.
static int
s_parse_key(hub_rules_t *self, const hub_yaml_t *doc, int node, hub_list_t *l, hub_diag_t *diag)
{
    if (hub_yaml_get_str(doc, node, "key", true, &l->key, diag)) {
        return HUB_ECONFIG;
    }
    int at = hub_yaml_get(doc, node, "key");
    for (size_t i = 0; i < l->ntypes; i++) {
        const hub_field_spec_t *f = hub_schema_path(l->types[i], l->key);
        if (!f) {
            hub_yaml_error(doc, at, diag, "unknown_field", "list '%s': %s has no field '%s'", l->id,
                           l->types[i]->type, l->key);
            return HUB_ECONFIG;
        }
        if (!s_string_like(f->type)) {
            hub_yaml_error(doc, at, diag, "type_mismatch",
                           "list '%s': the key '%s' is %s; a key is a string field", l->id, l->key,
                           hub_ftype_name(f->type));
            return HUB_ECONFIG;
        }
    }
    l->key = hub_rules_dup(self, l->key);
    if (!l->key) {
        return HUB_ENOMEM;
    }
    l->key_at = hub_path_parse(l->key);
    return HUB_OK;
}

// member: a condition over the list's types (no listed(): a list does not
// depend on another list's state).
static int
s_parse_member(const hub_yaml_t *doc, int node, hub_list_t *l, hub_diag_t *diag)
{
    int m = hub_yaml_get(doc, node, "member");
    if (!m) {
        return HUB_OK;
    }
    size_t len;
    const char *src = hub_yaml_str(doc, m, &len);
    if (!src) {
        hub_yaml_error(doc, m, diag, "wrong_type", "'member' is a condition written as text");
        return HUB_ECONFIG;
    }
    hub_expr_origin_t origin = hub_rules_origin(doc, m);
    return hub_expr_compile(&l->member, src, len, l->types, l->ntypes, &origin, diag);
}

static int
s_add(hub_rules_t *self, hub_list_t *l)
{
    l->index = self->nlists;
    size_t cap = self->lists_cap;
    int rc = hub_rules_push((void ***) &self->lists, &self->nlists, &self->lists_cap, l);
    if (rc == HUB_OK && cap != self->lists_cap) {
        const char **ids = realloc(self->list_ids, self->lists_cap * sizeof *ids);
        if (!ids) {
            self->nlists--;
            return HUB_ENOMEM;
        }
        self->list_ids = ids;
    }
    if (rc == HUB_OK) {
        self->list_ids[l->index] = l->id;
    }
    return rc;
}

static int
s_parse_list(hub_rules_t *self, const hub_yaml_t *doc, int node, hub_diag_t *diag)
{
    if (!hub_yaml_expect(doc, node, HUB_YAML_MAP, "a list {id, from, types, key, member}", diag)) {
        return HUB_ECONFIG;
    }
    if (self->nlists >= S_MAX_LISTS) {
        hub_yaml_error(doc, node, diag, "limit", "more than %d lists", S_MAX_LISTS);
        return HUB_ECONFIG;
    }
    hub_list_t *l = hub_arena_alloc(self->arena, sizeof *l);
    if (!l) {
        return HUB_ENOMEM;
    }
    memset(l, 0, sizeof *l);
    l->file = hub_rules_dup(self, hub_yaml_name(doc));
    l->line = hub_yaml_line(doc, node);
    int rc = hub_yaml_check_keys(doc, node, s_list_keys, diag) ? HUB_ECONFIG : HUB_OK;
    rc = rc ? rc : s_parse_head(self, doc, node, l, diag);
    rc = rc ? rc : s_parse_types(self, doc, node, l, diag);
    rc = rc ? rc : s_parse_key(self, doc, node, l, diag);
    rc = rc ? rc : s_parse_member(doc, node, l, diag);
    rc = rc ? rc : s_add(self, l);
    if (rc) {
        hub_expr_destroy(&l->member);
    }
    return rc;
}

int
hub_rules_load_lists(hub_rules_t *self, const hub_yaml_t *doc, hub_diag_t *diag)
{
    int seq = hub_yaml_get(doc, hub_yaml_root(doc), "lists");
    if (!seq) {
        return HUB_OK;
    }
    if (!hub_yaml_expect(doc, seq, HUB_YAML_SEQ, "a list of lists", diag)) {
        return HUB_ECONFIG;
    }
    int rc = HUB_OK;
    for (size_t i = 0; i < hub_yaml_len(doc, seq) && rc != HUB_ENOMEM; i++) {
        int r = s_parse_list(self, doc, hub_yaml_item(doc, seq, i), diag);
        rc = rc ? rc : r;
    }
    return rc;
}

size_t
hub_rules_list_count(const hub_rules_t *self)
{
    return self->nlists;
}

const hub_list_t *
hub_rules_list_at(const hub_rules_t *self, size_t i)
{
    return i < self->nlists ? self->lists[i] : NULL;
}

const hub_list_t *
hub_rules_list_find(const hub_rules_t *self, const char *id)
{
    for (size_t i = 0; i < self->nlists; i++) {
        if (strcmp(self->lists[i]->id, id) == 0) {
            return self->lists[i];
        }
    }
    return NULL;
}

bool
hub_list_applies(const hub_list_t *l, const char *source, const char *type)
{
    if (!source || !type || strcmp(l->from, source) != 0) {
        return false;
    }
    for (size_t i = 0; i < l->ntypes; i++) {
        if (strcmp(l->types[i]->type, type) == 0) {
            return true;
        }
    }
    return false;
}

bool
hub_list_change(const hub_list_t *l, const hub_msg_t *msg, const char **key, size_t *len,
                bool *member)
{
    const hub_val_t *v = hub_msg_get_at(msg, &l->key_at);
    if (!v || v->kind != HUB_VAL_STR || v->len == 0) {
        return false;
    }
    *key = v->u.s;
    *len = v->len;
    *member = !l->member || hub_expr_eval(l->member, msg);
    return true;
}
