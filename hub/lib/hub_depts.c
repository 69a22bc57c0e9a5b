#include "hub_depts.h"

#include "hub_arena.h"
#include "hub_error.h"
#include "hub_ids.h"
#include "hub_yaml.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *type;
    const char **recipients; // endpoint ids
    size_t n;
} s_restricted_t;

struct hub_depts {
    hub_arena_t *arena;
    const hub_schemas_t *schemas; // for the division table while loading
    const char *file;
    hub_dept_t *depts;
    size_t ndepts;
    hub_endpoint_t *endpoints;
    size_t nendpoints, endpoints_cap;
    s_restricted_t *restricted;
    size_t nrestricted;
};

static const char *const s_top_keys[] = {"departments", "restricted", NULL};
static const char *const s_dept_keys[] = {"zh", "en", "publishes", "endpoints", NULL};
static const char *const s_ep_keys[] = {"division", "key", NULL};
static const char *const s_restr_keys[] = {"recipients", "law", NULL};
static const char *const s_level_names[] = {"prefecture", "county", "township", "village", NULL};

const char *
hub_level_name(hub_level_t level)
{
    return (unsigned) level < 4 ? s_level_names[level] : "?";
}

int
hub_level_parse(const char *s)
{
    for (int i = 0; s && s_level_names[i]; i++) {
        if (strcmp(s, s_level_names[i]) == 0) {
            return i;
        }
    }
    return -1;
}

static char *
s_dup(hub_depts_t *self, const char *s)
{
    return hub_arena_strndup(self->arena, s, strlen(s));
}

// The prefix of division codes an endpoint at DIV covers, and its level.
static const char *
s_covers(hub_depts_t *self, const char *div, hub_level_t *level)
{
    size_t n = strlen(div);
    *level = n == 12 ? HUB_LEVEL_VILLAGE : n == 9 ? HUB_LEVEL_TOWNSHIP : HUB_LEVEL_COUNTY;
    if (n == 6 && strcmp(div + 4, "00") == 0) {
        *level = HUB_LEVEL_PREFECTURE;
        n = strcmp(div + 2, "0000") == 0 ? 2 : 4;
    }
    return hub_arena_strndup(self->arena, div, n);
}

static int
s_add_endpoint(hub_depts_t *self, const hub_yaml_t *doc, int node, const char *dept,
               hub_diag_t *diag)
{
    const char *div = NULL, *key = NULL;
    if (hub_yaml_kind(doc, node) == HUB_YAML_MAP) {
        if (hub_yaml_check_keys(doc, node, s_ep_keys, diag) ||
            hub_yaml_get_str(doc, node, "division", true, &div, diag) ||
            hub_yaml_get_str(doc, node, "key", false, &key, diag) == HUB_ECONFIG) {
            return HUB_ECONFIG;
        }
    } else if (!(div = hub_yaml_str(doc, node, NULL))) {
        hub_yaml_error(doc, node, diag, "wrong_type",
                       "an endpoint is a division code or "
                       "{division, key}");
        return HUB_ECONFIG;
    }
    char detail[HUB_IDS_DETAIL_MAX];
    if (hub_division_check(div, strlen(div), detail, sizeof detail) != HUB_IDS_OK) {
        hub_yaml_error(doc, node, diag, "bad_value", "endpoint division '%s': %s", div, detail);
        return HUB_ECONFIG;
    }
    const hub_codes_t *table = hub_schemas_codes(self->schemas, "division");
    if (table && strncmp(div, "5134", 4) == 0 && !hub_codes_find(table, div, 6)) {
        hub_yaml_error(doc, node, diag, "unknown_code",
                       "endpoint division '%s': %.6s is not a Liangshan division (GB/T 2260)", div,
                       div);
        return HUB_ECONFIG;
    }
    char id[128];
    snprintf(id, sizeof id, "%s@%s", dept, div);
    if (hub_depts_endpoint(self, id)) {
        hub_yaml_error(doc, node, diag, "duplicate_key", "endpoint %s is listed twice", id);
        return HUB_ECONFIG;
    }
    if (self->nendpoints == self->endpoints_cap) {
        return HUB_ENOMEM; // sized by the loader from the YAML; cannot happen
    }
    hub_endpoint_t *e = &self->endpoints[self->nendpoints++];
    char keypath[160];
    snprintf(keypath, sizeof keypath, "keys/%s.pub", id);
    *e = (hub_endpoint_t){
        s_dup(self, id),         dept, s_dup(self, div), NULL, 0, s_dup(self, key ? key : keypath),
        hub_yaml_line(doc, node)};
    e->covers = s_covers(self, e->division, &e->level);
    return HUB_OK;
}

static int
s_load_publishes(hub_depts_t *self, const hub_yaml_t *doc, int list, hub_dept_t *d,
                 const hub_schemas_t *schemas, hub_diag_t *diag)
{
    if (!list) {
        return HUB_OK;
    }
    if (!hub_yaml_expect(doc, list, HUB_YAML_SEQ, "a list of message types", diag)) {
        return HUB_ECONFIG;
    }
    d->npublishes = hub_yaml_len(doc, list);
    d->publishes = hub_arena_alloc(self->arena, sizeof(char *) * (d->npublishes + 1));
    int rc = d->publishes ? HUB_OK : HUB_ENOMEM;
    for (size_t i = 0; !rc && i < d->npublishes; i++) {
        int item = hub_yaml_item(doc, list, i);
        const char *t = hub_yaml_str(doc, item, NULL);
        if (!t || !hub_schemas_find(schemas, t, strlen(t))) {
            hub_yaml_error(doc, item, diag, "unknown_type", "no schema for type '%s'", t ? t : "?");
            rc = HUB_ECONFIG;
        } else {
            d->publishes[i] = s_dup(self, t);
        }
    }
    return rc;
}

static int
s_load_endpoints(hub_depts_t *self, const hub_yaml_t *doc, int list, hub_dept_t *d,
                 hub_diag_t *diag)
{
    if (!list) {
        return HUB_OK;
    }
    if (!hub_yaml_expect(doc, list, HUB_YAML_SEQ, "a list of endpoint divisions", diag)) {
        return HUB_ECONFIG;
    }
    size_t first = self->nendpoints;
    int rc = HUB_OK;
    for (size_t i = 0; i < hub_yaml_len(doc, list); i++) {
        rc |= s_add_endpoint(self, doc, hub_yaml_item(doc, list, i), d->id, diag);
    }
    d->nendpoints = self->nendpoints - first;
    d->endpoints = hub_arena_alloc(self->arena, sizeof(void *) * (d->nendpoints + 1));
    if (!d->endpoints) {
        return HUB_ENOMEM;
    }
    for (size_t i = 0; i < d->nendpoints; i++) {
        d->endpoints[i] = &self->endpoints[first + i];
    }
    return rc ? HUB_ECONFIG : HUB_OK;
}

static int
s_load_dept(hub_depts_t *self, const hub_yaml_t *doc, int key, int map, hub_dept_t *d,
            const hub_schemas_t *schemas, hub_diag_t *diag)
{
    const char *id = hub_yaml_str(doc, key, NULL);
    const hub_codes_t *known = hub_schemas_codes(schemas, "department");
    if (!id || (known && !hub_codes_find(known, id, strlen(id)))) {
        hub_yaml_error(doc, key, diag, "unknown_code",
                       "'%s' is not a department of schemas/codes/department.yaml", id ? id : "?");
        return HUB_ECONFIG;
    }
    if (!hub_yaml_expect(doc, map, HUB_YAML_MAP, "a department {zh, en, publishes, endpoints}",
                         diag)) {
        return HUB_ECONFIG;
    }
    const char *zh = id, *en = id;
    int rc = hub_yaml_check_keys(doc, map, s_dept_keys, diag) ? HUB_ECONFIG : HUB_OK;
    hub_yaml_get_str(doc, map, "zh", false, &zh, diag);
    hub_yaml_get_str(doc, map, "en", false, &en, diag);
    d->id = s_dup(self, id);
    d->zh = s_dup(self, zh);
    d->en = s_dup(self, en);
    d->line = hub_yaml_line(doc, key);
    rc |= s_load_publishes(self, doc, hub_yaml_get(doc, map, "publishes"), d, schemas, diag);
    rc |= s_load_endpoints(self, doc, hub_yaml_get(doc, map, "endpoints"), d, diag);
    return rc ? HUB_ECONFIG : HUB_OK;
}

static int
s_load_restricted_one(hub_depts_t *self, const hub_yaml_t *doc, int key, int map, s_restricted_t *r,
                      const hub_schemas_t *schemas, hub_diag_t *diag)
{
    const char *type = hub_yaml_str(doc, key, NULL);
    const hub_schema_t *s = type ? hub_schemas_find(schemas, type, strlen(type)) : NULL;
    if (!s || s->sensitivity != HUB_SENS_RESTRICTED) {
        hub_yaml_error(doc, key, diag, "unknown_type", "'%s' is not a restricted message type",
                       type ? type : "?");
        return HUB_ECONFIG;
    }
    int list = hub_yaml_get(doc, map, "recipients");
    if (!hub_yaml_expect(doc, map, HUB_YAML_MAP, "{recipients: [...], law: ...}", diag) ||
        hub_yaml_check_keys(doc, map, s_restr_keys, diag) ||
        !hub_yaml_expect(doc, list ? list : map, HUB_YAML_SEQ, "a list of recipient endpoints",
                         diag)) {
        return HUB_ECONFIG;
    }
    r->type = s->type;
    r->n = hub_yaml_len(doc, list);
    r->recipients = hub_arena_alloc(self->arena, sizeof(char *) * (r->n + 1));
    int rc = r->recipients ? HUB_OK : HUB_ENOMEM;
    for (size_t i = 0; !rc && i < r->n; i++) {
        int item = hub_yaml_item(doc, list, i);
        const char *ep = hub_yaml_str(doc, item, NULL);
        if (!ep || !hub_depts_endpoint(self, ep)) {
            hub_yaml_error(doc, item, diag, "unknown_endpoint", "no endpoint '%s' in departments",
                           ep ? ep : "?");
            rc = HUB_ECONFIG;
        } else {
            r->recipients[i] = hub_depts_endpoint(self, ep)->id;
        }
    }
    return rc;
}

static int
s_load_restricted(hub_depts_t *self, const hub_yaml_t *doc, int map, const hub_schemas_t *schemas,
                  hub_diag_t *diag)
{
    if (!map) {
        return HUB_OK;
    }
    if (!hub_yaml_expect(doc, map, HUB_YAML_MAP, "a mapping of restricted types", diag)) {
        return HUB_ECONFIG;
    }
    self->nrestricted = hub_yaml_len(doc, map);
    self->restricted =
        hub_arena_alloc(self->arena, sizeof(s_restricted_t) * (self->nrestricted + 1));
    if (!self->restricted) {
        return HUB_ENOMEM;
    }
    memset(self->restricted, 0, sizeof(s_restricted_t) * (self->nrestricted + 1));
    int rc = hub_yaml_check_keys(doc, map, NULL, diag) ? HUB_ECONFIG : HUB_OK;
    for (size_t i = 0; i < self->nrestricted; i++) {
        rc |=
            s_load_restricted_one(self, doc, hub_yaml_key(doc, map, i), hub_yaml_value(doc, map, i),
                                  &self->restricted[i], schemas, diag);
    }
    return rc ? HUB_ECONFIG : HUB_OK;
}

// Room for every endpoint the file lists, so endpoint pointers never move.
static size_t
s_count_endpoints(const hub_yaml_t *doc, int depts)
{
    size_t n = 0;
    for (size_t i = 0; i < hub_yaml_len(doc, depts); i++) {
        n += hub_yaml_len(doc, hub_yaml_get(doc, hub_yaml_value(doc, depts, i), "endpoints"));
    }
    return n;
}

static int
s_load_doc(hub_depts_t *self, const hub_yaml_t *doc, const hub_schemas_t *schemas, hub_diag_t *diag)
{
    int root = hub_yaml_root(doc);
    if (!hub_yaml_expect(doc, root, HUB_YAML_MAP, "{departments, restricted}", diag)) {
        return HUB_ECONFIG;
    }
    int rc = hub_yaml_check_keys(doc, root, s_top_keys, diag) ? HUB_ECONFIG : HUB_OK;
    int depts = hub_yaml_get(doc, root, "departments");
    if (!hub_yaml_expect(doc, depts ? depts : root, HUB_YAML_MAP,
                         "a mapping 'departments' of department ids", diag) ||
        hub_yaml_check_keys(doc, depts, NULL, diag)) {
        return HUB_ECONFIG;
    }
    self->ndepts = hub_yaml_len(doc, depts);
    self->endpoints_cap = s_count_endpoints(doc, depts);
    self->depts = hub_arena_alloc(self->arena, sizeof(hub_dept_t) * (self->ndepts + 1));
    self->endpoints =
        hub_arena_alloc(self->arena, sizeof(hub_endpoint_t) * (self->endpoints_cap + 1));
    if (!self->depts || !self->endpoints) {
        return HUB_ENOMEM;
    }
    memset(self->depts, 0, sizeof(hub_dept_t) * (self->ndepts + 1));
    for (size_t i = 0; i < self->ndepts; i++) {
        rc |= s_load_dept(self, doc, hub_yaml_key(doc, depts, i), hub_yaml_value(doc, depts, i),
                          &self->depts[i], schemas, diag);
    }
    rc |= s_load_restricted(self, doc, hub_yaml_get(doc, root, "restricted"), schemas, diag);
    return rc ? HUB_ECONFIG : HUB_OK;
}

int
hub_depts_load(hub_depts_t **out, const char *path, const hub_schemas_t *schemas, hub_diag_t *diag)
{
    *out = NULL;
    hub_yaml_t *doc = NULL;
    int rc = hub_yaml_load_file(&doc, path, diag);
    if (rc) {
        return rc;
    }
    hub_depts_t *self = calloc(1, sizeof *self);
    if (!self || !(self->arena = hub_arena_new(0))) {
        free(self);
        hub_yaml_destroy(&doc);
        return HUB_ENOMEM;
    }
    self->file = s_dup(self, path);
    self->schemas = schemas;
    rc = s_load_doc(self, doc, schemas, diag);
    hub_yaml_destroy(&doc);
    if (rc) {
        hub_depts_destroy(&self);
        return rc;
    }
    *out = self;
    return HUB_OK;
}

void
hub_depts_destroy(hub_depts_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    hub_arena_destroy(&(*self_p)->arena);
    free(*self_p);
    *self_p = NULL;
}

const hub_dept_t *
hub_depts_find(const hub_depts_t *self, const char *id)
{
    for (size_t i = 0; id && i < self->ndepts; i++) {
        if (self->depts[i].id && strcmp(self->depts[i].id, id) == 0) {
            return &self->depts[i];
        }
    }
    return NULL;
}

const hub_endpoint_t *
hub_depts_endpoint(const hub_depts_t *self, const char *id)
{
    for (size_t i = 0; id && i < self->nendpoints; i++) {
        if (strcmp(self->endpoints[i].id, id) == 0) {
            return &self->endpoints[i];
        }
    }
    return NULL;
}

size_t
hub_depts_count(const hub_depts_t *self)
{
    return self->ndepts;
}

const hub_dept_t *
hub_depts_at(const hub_depts_t *self, size_t i)
{
    return i < self->ndepts ? &self->depts[i] : NULL;
}

size_t
hub_depts_endpoint_count(const hub_depts_t *self)
{
    return self->nendpoints;
}

const hub_endpoint_t *
hub_depts_endpoint_at(const hub_depts_t *self, size_t i)
{
    return i < self->nendpoints ? &self->endpoints[i] : NULL;
}

bool
hub_depts_may_publish(const hub_depts_t *self, const char *dept, const char *type)
{
    const hub_dept_t *d = hub_depts_find(self, dept);
    for (size_t i = 0; d && i < d->npublishes; i++) {
        if (strcmp(d->publishes[i], type) == 0) {
            return true;
        }
    }
    return false;
}

const char *const *
hub_depts_statutory(const hub_depts_t *self, const char *type, size_t *n)
{
    for (size_t i = 0; i < self->nrestricted; i++) {
        if (self->restricted[i].type && strcmp(self->restricted[i].type, type) == 0) {
            *n = self->restricted[i].n;
            return self->restricted[i].recipients;
        }
    }
    *n = 0;
    return NULL;
}

const hub_endpoint_t *
hub_depts_resolve(const hub_depts_t *self, const char *dept, const char *div, size_t len,
                  hub_level_t level)
{
    const hub_dept_t *d = hub_depts_find(self, dept);
    const hub_endpoint_t *best = NULL;
    for (size_t i = 0; d && i < d->nendpoints; i++) {
        const hub_endpoint_t *e = d->endpoints[i];
        size_t n = strlen(e->covers);
        bool covers = n <= len && memcmp(e->covers, div, n) == 0;
        if (covers && e->level <= level && (!best || e->level > best->level)) {
            best = e;
        }
    }
    return best;
}

const char *
hub_depts_file(const hub_depts_t *self)
{
    return self->file;
}
