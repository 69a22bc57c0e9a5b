#include "hub_columns.h"

#include "hub_error.h"
#include "hub_yaml.h"

#include <stdlib.h>
#include <string.h>

// The delivery's own facts a column may hold (delivery.KEY).
static const char *const s_delivery_keys[] = {
    "seq", "id", "origin_id", "rules", "purposes", "legal_bases", "ruleset", "received_at", NULL};

typedef struct {
    const char *type;
    hubc_column_map_t *maps; // the "*" ones first
    size_t n;
} s_type_t;

struct hubc_columns {
    hub_yaml_t *doc;    // owns every string handed out
    const char **names; // column names; [0] is the sequence's
    size_t ncols;
    hubc_column_map_t *common; // the "*" values (without delivery.seq)
    size_t ncommon;
    s_type_t *types;
    size_t ntypes;
};

// What one mapping of the file is being read for.
typedef struct {
    hubc_columns_t *self;
    const hub_schema_t *schema; // the type's, or NULL ("*", or no schemas)
    bool common;                // the "*" mapping
    hub_diag_t *diag;
    size_t errors;
} s_ctx_t;

// The index of column NAME, added when new; SIZE_MAX when out of memory.
static size_t
s_column(hubc_columns_t *self, const char *name)
{
    for (size_t i = 0; i < self->ncols; i++) {
        if (strcmp(self->names[i], name) == 0) {
            return i;
        }
    }
    const char **grown = realloc(self->names, (self->ncols + 1) * sizeof *grown);
    if (!grown) {
        return SIZE_MAX;
    }
    self->names = grown;
    grown[self->ncols] = name;
    return self->ncols++;
}

static bool
s_in(const char *word, const char *const *list)
{
    for (size_t i = 0; list[i]; i++) {
        if (strcmp(word, list[i]) == 0) {
            return true;
        }
    }
    return false;
}

// Reports an unknown WORD at NODE, with the nearest of ALLOWED.
static void
s_unknown(s_ctx_t *c, int node, const char *reason, const char *what, const char *word,
          const char *const *allowed)
{
    const char *near = allowed ? hub_yaml_suggest(word, allowed) : NULL;
    hub_yaml_error(c->self->doc, node, c->diag, reason, "unknown %s '%s'%s%s%s", what, word,
                   near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
    c->errors++;
}

// Checks body field NAME against the type's schema; *YUAN for money.
static void
s_check_body(s_ctx_t *c, int node, const char *name, bool *yuan)
{
    if (!c->schema) {
        if (!hub_msg_field_name_valid(name, strlen(name))) {
            hub_yaml_error(c->self->doc, node, c->diag, "bad_path",
                           "'%s' cannot be a body field name (a-z, 0-9 and _)", name);
            c->errors++;
        }
        return;
    }
    const hub_field_spec_t *f = hub_schema_field(c->schema, name, strlen(name));
    if (f) {
        *yuan = f->type == HUB_FT_MONEY;
        return;
    }
    const char **names = calloc(c->schema->nfields + 1, sizeof *names);
    for (size_t i = 0; names && i < c->schema->nfields; i++) {
        names[i] = c->schema->fields[i].name;
    }
    char what[96];
    snprintf(what, sizeof what, "body field of %s", c->schema->type);
    s_unknown(c, node, "unknown_field", what, name, names);
    free(names);
}

static void
s_check_subject(s_ctx_t *c, int node, const char *key)
{
    static const char *const keys[] = {"birth_date",     "citizen_id", "ethnicity", "household_no",
                                       "hukou_division", "name",       "sex",       NULL};
    int i = hub_subj_find(key, strlen(key));
    if (i < 0) {
        s_unknown(c, node, "unknown_field", "subject key", key, keys);
    } else if (c->schema && !c->schema->has_subject[i]) {
        hub_yaml_error(c->self->doc, node, c->diag, "unknown_field", "%s has no subject.%s",
                       c->schema->type, key);
        c->errors++;
    }
}

// Checks PATH (at NODE); *YUAN for a money field.
static void
s_check_path(s_ctx_t *c, int node, const char *path, bool *yuan)
{
    static const char *const env[] = {"id",         "type",       "schema_version", "source",
                                      "source_ref", "event_date", "recorded_at",    NULL};
    *yuan = false;
    if (strncmp(path, "delivery.", 9) == 0) {
        if (!s_in(path + 9, s_delivery_keys)) {
            s_unknown(c, node, "bad_path", "delivery key", path + 9, s_delivery_keys);
        }
    } else if (strncmp(path, "subject.", 8) == 0) {
        s_check_subject(c, node, path + 8);
    } else if (strncmp(path, "body.", 5) == 0 && c->common) {
        hub_yaml_error(c->self->doc, node, c->diag, "bad_path",
                       "body fields differ by type: name '%s' under a type, not under \"*\"", path);
        c->errors++;
    } else if (strncmp(path, "body.", 5) == 0) {
        s_check_body(c, node, path + 5, yuan);
    } else if (hub_env_find(path, strlen(path)) < 0) {
        char what[] = "path (an envelope key, subject.KEY, body.NAME or delivery.KEY)";
        s_unknown(c, node, "bad_path", what, path, env);
    }
}

// Reads pair I of mapping MAP into *M, checking that its column is not
// one the row (ROW, N values so far) fills already. False when the pair
// adds no value: delivery.seq (always column 0), or a problem (reported).
static bool
s_pair(s_ctx_t *c, int map, size_t i, const hubc_column_map_t *row, size_t n, hubc_column_map_t *m)
{
    hub_yaml_t *doc = c->self->doc;
    int k = hub_yaml_key(doc, map, i), v = hub_yaml_value(doc, map, i);
    const char *path = hub_yaml_str(doc, k, NULL), *name = hub_yaml_str(doc, v, NULL);
    if (!path || !name || !name[0]) {
        hub_yaml_error(doc, path ? v : k, c->diag, "columns_file",
                       "each entry maps a path to a column name: 'body.death_date: 死亡日期'");
        c->errors++;
        return false;
    }
    if (strcmp(path, "delivery.seq") == 0) {
        if (!c->common) {
            hub_yaml_error(doc, k, c->diag, "bad_path",
                           "delivery.seq is always the first column: name it under \"*\"");
            c->errors++;
        }
        return false;
    }
    s_check_path(c, k, path, &m->yuan);
    m->path = path;
    m->column = s_column(c->self, name);
    bool taken = m->column == 0;
    for (size_t j = 0; j < n && !taken; j++) {
        taken = row[j].column == m->column || strcmp(row[j].path, path) == 0;
    }
    if (m->column == SIZE_MAX || taken) {
        hub_yaml_error(doc, m->column == SIZE_MAX ? k : v, c->diag, "duplicate_column", "%s",
                       m->column == SIZE_MAX ? "out of memory"
                                             : "this column or path is already in the row");
        c->errors++;
        return false;
    }
    return true;
}

// Appends the values of mapping MAP to the row *ROW (*N values).
static int
s_mapping(s_ctx_t *c, int map, hubc_column_map_t **row, size_t *n)
{
    size_t pairs = hub_yaml_len(c->self->doc, map);
    hubc_column_map_t *grown = realloc(*row, (*n + pairs + 1) * sizeof *grown);
    if (!grown) {
        return HUB_ENOMEM;
    }
    *row = grown;
    for (size_t i = 0; i < pairs; i++) {
        *n += s_pair(c, map, i, grown, *n, &grown[*n]);
    }
    return HUB_OK;
}

// Names column 0 (the sequence): "*"'s delivery.seq, else "seq".
static int
s_seq_column(hubc_columns_t *self, int root)
{
    int common = hub_yaml_get(self->doc, root, "*");
    int v = common && hub_yaml_kind(self->doc, common) == HUB_YAML_MAP
                ? hub_yaml_get(self->doc, common, "delivery.seq")
                : 0;
    const char *name = v ? hub_yaml_str(self->doc, v, NULL) : NULL;
    return s_column(self, name && name[0] ? name : "seq") == 0 ? HUB_OK : HUB_ENOMEM;
}

// The schema of the type named at key node K, or NULL (reported when
// SCHEMAS do not know it, or the name cannot be a type).
static const hub_schema_t *
s_type_schema(s_ctx_t *c, const hub_schemas_t *schemas, int k, const char *type)
{
    const hub_schema_t *schema = schemas ? hub_schemas_find(schemas, type, strlen(type)) : NULL;
    if (schemas && !schema) {
        size_t n = hub_schemas_count(schemas);
        const char **types = calloc(n + 1, sizeof *types);
        for (size_t i = 0; types && i < n; i++) {
            types[i] = hub_schemas_at(schemas, i)->type;
        }
        s_unknown(c, k, "unknown_type", "message type", type, types);
        free(types);
    } else if (!schemas && (strspn(type, "abcdefghijklmnopqrstuvwxyz_.") != strlen(type) ||
                            !strchr(type, '.'))) {
        hub_yaml_error(c->self->doc, k, c->diag, "unknown_type",
                       "'%s' is not a message type (e.g. person.death) or \"*\"", type);
        c->errors++;
    }
    return schema;
}

// Reads type I of the root mapping into a new row.
static int
s_type(s_ctx_t *c, const hub_schemas_t *schemas, int root, size_t i)
{
    hubc_columns_t *self = c->self;
    int k = hub_yaml_key(self->doc, root, i), v = hub_yaml_value(self->doc, root, i);
    const char *type = hub_yaml_str(self->doc, k, NULL);
    if (!type || strcmp(type, "*") == 0) {
        return HUB_OK;
    }
    c->schema = s_type_schema(c, schemas, k, type);
    for (size_t j = 0; j < self->ntypes; j++) {
        if (strcmp(self->types[j].type, type) == 0) {
            hub_yaml_error(self->doc, k, c->diag, "columns_file", "%s is given twice", type);
            c->errors++;
        }
    }
    if (!hub_yaml_expect(self->doc, v, HUB_YAML_MAP, "a mapping of paths to column names",
                         c->diag)) {
        c->errors++;
        return HUB_OK;
    }
    s_type_t *grown = realloc(self->types, (self->ntypes + 1) * sizeof *grown);
    hubc_column_map_t *row = malloc((self->ncommon + 1) * sizeof *row);
    if (grown) {
        self->types = grown;
    }
    if (!grown || !row) {
        free(row);
        return HUB_ENOMEM;
    }
    if (self->ncommon > 0) {
        memcpy(row, self->common, self->ncommon * sizeof *row);
    }
    s_type_t *t = &self->types[self->ntypes++];
    *t = (s_type_t){type, row, self->ncommon};
    return s_mapping(c, v, &t->maps, &t->n);
}

static int
s_build(hubc_columns_t *self, const hub_schemas_t *schemas, hub_diag_t *diag)
{
    s_ctx_t c = {self, NULL, true, diag, 0};
    int root = hub_yaml_root(self->doc);
    if (!hub_yaml_expect(self->doc, root, HUB_YAML_MAP,
                         "a mapping of message types (and \"*\") to their columns", diag)) {
        return HUB_ECONFIG;
    }
    int rc = s_seq_column(self, root);
    int common = hub_yaml_get(self->doc, root, "*");
    if (rc == HUB_OK && common) {
        if (hub_yaml_expect(self->doc, common, HUB_YAML_MAP, "a mapping of paths to column names",
                            diag)) {
            rc = s_mapping(&c, common, &self->common, &self->ncommon);
        } else {
            c.errors++;
        }
    }
    c.common = false;
    for (size_t i = 0; rc == HUB_OK && i < hub_yaml_len(self->doc, root); i++) {
        rc = s_type(&c, schemas, root, i);
    }
    return rc ? rc : c.errors ? HUB_ECONFIG : HUB_OK;
}

static int
s_finish(hubc_columns_t **out, hub_yaml_t *doc, int rc, const hub_schemas_t *schemas,
         hub_diag_t *diag)
{
    *out = NULL;
    if (rc) {
        return rc;
    }
    hubc_columns_t *self = calloc(1, sizeof *self);
    if (!self) {
        hub_yaml_destroy(&doc);
        return HUB_ENOMEM;
    }
    self->doc = doc;
    rc = s_build(self, schemas, diag);
    if (rc) {
        hubc_columns_destroy(&self);
        return rc;
    }
    *out = self;
    return HUB_OK;
}

int
hubc_columns_load(hubc_columns_t **out, const char *path, const hub_schemas_t *schemas,
                  hub_diag_t *diag)
{
    hub_yaml_t *doc = NULL;
    int rc = hub_yaml_load_file(&doc, path, diag);
    return s_finish(out, doc, rc, schemas, diag);
}

int
hubc_columns_parse(hubc_columns_t **out, const char *name, const void *data, size_t len,
                   const hub_schemas_t *schemas, hub_diag_t *diag)
{
    hub_yaml_t *doc = NULL;
    int rc = hub_yaml_load_buffer(&doc, name, data, len, diag);
    return s_finish(out, doc, rc, schemas, diag);
}

void
hubc_columns_destroy(hubc_columns_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    hubc_columns_t *self = *self_p;
    for (size_t i = 0; i < self->ntypes; i++) {
        free(self->types[i].maps);
    }
    free(self->types);
    free(self->common);
    free(self->names);
    hub_yaml_destroy(&self->doc);
    free(self);
    *self_p = NULL;
}

size_t
hubc_columns_count(const hubc_columns_t *self)
{
    return self->ncols;
}

const char *
hubc_columns_name(const hubc_columns_t *self, size_t i)
{
    return i < self->ncols ? self->names[i] : NULL;
}

const hubc_column_map_t *
hubc_columns_of(const hubc_columns_t *self, const char *type, size_t *n, bool *known)
{
    for (size_t i = 0; i < self->ntypes; i++) {
        if (strcmp(self->types[i].type, type) == 0) {
            *n = self->types[i].n;
            *known = true;
            return self->types[i].maps;
        }
    }
    *n = self->ncommon;
    *known = false;
    return self->common;
}

int
hubc_columns_cell(hub_buf_t *out, const char *s, size_t len)
{
    bool quote = len > 0 && (s[0] == ' ' || s[len - 1] == ' ');
    for (size_t i = 0; i < len && !quote; i++) {
        quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
    }
    if (!quote) {
        return hub_buf_append(out, s, len);
    }
    int rc = hub_buf_append(out, "\"", 1);
    for (size_t i = 0, from = 0; rc == HUB_OK && i <= len; i++) {
        if (i == len || s[i] == '"') {
            rc = hub_buf_append(out, s + from, i - from + (i < len));
            from = i; // the quote is written again: doubled
        }
    }
    return rc ? rc : hub_buf_append(out, "\"", 1);
}

int
hubc_columns_header(const hubc_columns_t *self, hub_buf_t *out)
{
    int rc = hub_buf_append(out, "\xEF\xBB\xBF", 3);
    for (size_t i = 0; rc == HUB_OK && i < self->ncols; i++) {
        rc = i ? hub_buf_append(out, ",", 1) : HUB_OK;
        rc = rc ? rc : hubc_columns_cell(out, self->names[i], strlen(self->names[i]));
    }
    return rc ? rc : hub_buf_append(out, "\r\n", 2);
}
