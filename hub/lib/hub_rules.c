// The rule set: departments.yaml and the rule files read in rule-set order
// and hashed into its version, every file's lists and then its rules
// (each parsed by hub_rules_parse.c), the index by source and type, and
// the accessors of hub_rules.h.
#include "hub_rules_int.h"

#include "hub_config.h"
#include "hub_error.h"

#include <dirent.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static atomic_uint_fast64_t s_serial; // the last serial given (hub_rules_serial)

static const char *const s_rules_keys[] = {"rules", "lists", NULL};

const char *
hub_rules_dup(hub_rules_t *self, const char *s)
{
    return s ? hub_arena_strndup(self->arena, s, strlen(s)) : NULL;
}

void *
hub_rules_alloc(hub_rules_t *self, size_t n)
{
    void *p = hub_arena_alloc(self->arena, n ? n : 1);
    if (p) {
        memset(p, 0, n ? n : 1);
    }
    return p;
}

hub_expr_origin_t
hub_rules_origin(const hub_yaml_t *doc, int node)
{
    char where[HUB_DIAG_WHERE_MAX];
    hub_yaml_where(doc, node, where, sizeof where);
    const char *col = strrchr(where, ':');
    hub_expr_origin_t origin = {hub_yaml_name(doc), hub_yaml_line(doc, node),
                                (int) strtol(col ? col + 1 : "1", NULL, 10)};
    origin.column += !hub_yaml_is_plain(doc, node); // past the opening quote
    return origin;
}

int
hub_rules_push(void ***arr, size_t *n, size_t *cap, void *item)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 32;
        void **p = realloc(*arr, c * sizeof *p);
        if (!p) {
            return HUB_ENOMEM;
        }
        *arr = p;
        *cap = c;
    }
    (*arr)[(*n)++] = item;
    return HUB_OK;
}

// The rules of DOC (its lists loaded before, with every file's).
static int
s_load_doc(hub_rules_t *self, const hub_yaml_t *doc, hub_diag_t *diag)
{
    int root = hub_yaml_root(doc);
    if (!root || hub_yaml_kind(doc, root) != HUB_YAML_MAP) {
        return HUB_OK; // empty, or reported by s_check_doc
    }
    int list = hub_yaml_get(doc, root, "rules");
    if (!list) {
        return HUB_OK;
    }
    if (!hub_yaml_expect(doc, list, HUB_YAML_SEQ, "a list of rules", diag)) {
        return HUB_ECONFIG;
    }
    int rc = HUB_OK;
    for (size_t i = 0; i < hub_yaml_len(doc, list); i++) {
        int r = hub_rules_parse_rule(self, doc, hub_yaml_item(doc, list, i), diag);
        rc = rc == HUB_ENOMEM ? rc : (r ? r : rc);
    }
    return rc;
}

// The top level of DOC: a mapping of 'rules' and 'lists'; then its lists.
static int
s_check_doc(hub_rules_t *self, const hub_yaml_t *doc, hub_diag_t *diag)
{
    int root = hub_yaml_root(doc);
    if (!root) {
        return HUB_OK; // an empty file holds no rules
    }
    if (!hub_yaml_expect(doc, root, HUB_YAML_MAP, "a mapping with a list 'rules'", diag) ||
        hub_yaml_check_keys(doc, root, s_rules_keys, diag)) {
        return HUB_ECONFIG;
    }
    return hub_rules_load_lists(self, doc, diag);
}

// Loads and hashes the file; its document waits in self->docs until every
// file's lists are known.
static int
s_load_file(hub_rules_t *self, const char *path, void *sha, hub_diag_t *diag)
{
    hub_yaml_t *doc = NULL;
    int rc = hub_yaml_load_file(&doc, path, diag);
    if (rc == HUB_OK) {
        hub_rules_hash_doc(sha, doc);
        rc = hub_rules_push((void ***) &self->docs, &self->ndocs, &self->docs_cap, doc);
        if (rc) {
            hub_yaml_destroy(&doc);
        }
    }
    const char *copy = hub_rules_dup(self, path);
    int pushed = copy ? hub_rules_push((void ***) &self->files, &self->nfiles, &self->files_cap,
                                       (void *) copy)
                      : HUB_ENOMEM;
    return pushed ? pushed : rc;
}

static int
s_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

// Loads rules.d/*.yaml in name order. A missing rules.d is no error.
static int
s_load_dir(hub_rules_t *self, const char *dir, void *sha, hub_diag_t *diag)
{
    DIR *d = opendir(dir);
    if (!d) {
        return HUB_OK;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    int rc = HUB_OK;
    while (!rc && (e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        bool yaml = (len > 5 && strcmp(e->d_name + len - 5, ".yaml") == 0) ||
                    (len > 4 && strcmp(e->d_name + len - 4, ".yml") == 0);
        if (e->d_name[0] != '.' && yaml) {
            char *p = hub_config_path(dir, e->d_name);
            rc = p ? hub_rules_push((void ***) &names, &n, &cap, p) : HUB_ENOMEM;
        }
    }
    closedir(d);
    if (n) {
        qsort(names, n, sizeof *names, s_name_cmp);
    }
    for (size_t i = 0; i < n; i++) {
        int r = rc == HUB_ENOMEM ? rc : s_load_file(self, names[i], sha, diag);
        rc = rc ? rc : r;
        free(names[i]);
    }
    free(names);
    return rc;
}

static size_t
s_dept_index(const hub_rules_t *self, const char *dept)
{
    for (size_t i = 0; i < self->ndepts; i++) {
        if (strcmp(hub_depts_at(self->depts, i)->id, dept) == 0) {
            return i;
        }
    }
    return SIZE_MAX;
}

static size_t
s_type_index(const hub_rules_t *self, const char *type)
{
    for (size_t i = 0; i < self->ntypes; i++) {
        if (strcmp(hub_schemas_at(self->schemas, i)->type, type) == 0) {
            return i;
        }
    }
    return SIZE_MAX;
}

// index[d][t] lists the rules for source department d and type t, so that
// routing a message runs only the rules that can apply to it.
static int
s_build_index(hub_rules_t *self)
{
    self->ndepts = hub_depts_count(self->depts);
    self->ntypes = hub_schemas_count(self->schemas);
    size_t cells = self->ndepts * self->ntypes;
    self->index = hub_rules_alloc(self, sizeof(void *) * (cells + 1));
    self->index_n = hub_rules_alloc(self, sizeof(size_t) * (cells + 1));
    if (!self->index || !self->index_n) {
        return HUB_ENOMEM;
    }
    for (size_t c = 0; c < cells; c++) {
        self->index[c] = hub_rules_alloc(self, sizeof(void *) * (self->nrules + 1));
        if (!self->index[c]) {
            return HUB_ENOMEM;
        }
    }
    for (size_t i = 0; i < self->nrules; i++) {
        const hub_rule_t *r = self->rules[i];
        for (size_t f = 0; f < r->nfrom; f++) {
            for (size_t t = 0; t < r->ntypes; t++) {
                size_t d = s_dept_index(self, r->from[f]),
                       ti = s_type_index(self, r->types[t]->type);
                if (d != SIZE_MAX && ti != SIZE_MAX) {
                    size_t c = d * self->ntypes + ti;
                    self->index[c][self->index_n[c]++] = r;
                }
            }
        }
    }
    return HUB_OK;
}

// Every file's lists, then every file's rules; frees the documents.
static int
s_load_docs(hub_rules_t *self, int rc, hub_diag_t *diag)
{
    for (size_t i = 0; i < self->ndocs; i++) {
        int r = rc == HUB_ENOMEM ? rc : s_check_doc(self, self->docs[i], diag);
        rc = rc ? rc : r;
    }
    for (size_t i = 0; i < self->ndocs; i++) {
        int r = rc == HUB_ENOMEM ? rc : s_load_doc(self, self->docs[i], diag);
        rc = rc ? rc : r;
        hub_yaml_destroy(&self->docs[i]);
    }
    free(self->docs);
    self->docs = NULL;
    self->ndocs = self->docs_cap = 0;
    return rc;
}

static void
s_finish_version(hub_rules_t *self, crypto_hash_sha256_state *sha)
{
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(sha, digest);
    sodium_bin2hex(self->version, sizeof self->version, digest, sizeof digest);
}

static int
s_load_all(hub_rules_t *self, const char *config_dir, hub_diag_t *diag)
{
    crypto_hash_sha256_state sha;
    crypto_hash_sha256_init(&sha);
    hub_yaml_t *doc = NULL;
    const char *dfile = hub_depts_file(self->depts);
    if (hub_yaml_load_file(&doc, dfile, NULL) == HUB_OK) {
        hub_rules_hash_doc(&sha, doc);
        hub_yaml_destroy(&doc);
    }
    const char *copy = hub_rules_dup(self, dfile);
    int rc = copy ? hub_rules_push((void ***) &self->files, &self->nfiles, &self->files_cap,
                                   (void *) copy)
                  : HUB_ENOMEM;
    char *one = hub_config_path(config_dir, "rules.yaml");
    char *dir = hub_config_path(config_dir, "rules.d");
    if (!rc && one && dir) {
        FILE *f = fopen(one, "r");
        if (f) {
            fclose(f);
            rc = s_load_file(self, one, &sha, diag);
        }
        int r = s_load_dir(self, dir, &sha, diag);
        rc = rc ? rc : r;
    }
    free(one);
    free(dir);
    rc = s_load_docs(self, rc, diag);
    s_finish_version(self, &sha);
    if (rc == HUB_OK) {
        rc = hub_rules_resolve_paths(self);
    }
    if (rc == HUB_OK) {
        rc = s_build_index(self);
    }
    if (rc == HUB_OK) {
        hub_rules_check_set(self, diag);
    }
    return rc;
}

int
hub_rules_load(hub_rules_t **out, const char *config_dir, const hub_schemas_t *schemas,
               const hub_depts_t *depts, hub_diag_t *diag)
{
    *out = NULL;
    if (sodium_init() < 0) {
        return HUB_ENOMEM;
    }
    hub_rules_t *self = calloc(1, sizeof *self);
    if (!self || !(self->arena = hub_arena_new(65536))) {
        free(self);
        return HUB_ENOMEM;
    }
    self->schemas = schemas;
    self->depts = depts;
    self->serial = atomic_fetch_add(&s_serial, 1) + 1;
    int rc = s_load_all(self, config_dir, diag);
    if (rc) {
        hub_rules_destroy(&self);
        return rc;
    }
    *out = self;
    return HUB_OK;
}

void
hub_rules_destroy(hub_rules_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    hub_rules_t *self = *self_p;
    for (size_t i = 0; i < self->nrules; i++) {
        hub_expr_destroy(&self->rules[i]->when);
    }
    for (size_t i = 0; i < self->nlists; i++) {
        hub_expr_destroy(&self->lists[i]->member);
    }
    for (size_t i = 0; i < self->ndocs; i++) {
        hub_yaml_destroy(&self->docs[i]);
    }
    free(self->docs);
    free(self->lists);
    free(self->list_ids);
    free(self->rules);
    free(self->files);
    hub_arena_destroy(&self->arena);
    free(self);
    *self_p = NULL;
}

uint64_t
hub_rules_serial(const hub_rules_t *self)
{
    return self->serial;
}

const char *
hub_rules_version(const hub_rules_t *self)
{
    return self->version;
}

size_t
hub_rules_count(const hub_rules_t *self)
{
    return self->nrules;
}

const hub_rule_t *
hub_rules_at(const hub_rules_t *self, size_t i)
{
    return i < self->nrules ? self->rules[i] : NULL;
}

const hub_rule_t *const *
hub_rules_for(const hub_rules_t *self, const char *source, const char *type, size_t *n)
{
    size_t d = s_dept_index(self, source), t = s_type_index(self, type);
    if (d == SIZE_MAX || t == SIZE_MAX) {
        *n = 0;
        return NULL;
    }
    *n = self->index_n[d * self->ntypes + t];
    return self->index[d * self->ntypes + t];
}

size_t
hub_rules_file_count(const hub_rules_t *self)
{
    return self->nfiles;
}

const char *
hub_rules_file_at(const hub_rules_t *self, size_t i)
{
    return i < self->nfiles ? self->files[i] : NULL;
}
