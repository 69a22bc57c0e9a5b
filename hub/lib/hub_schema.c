#include "hub_schema.h"
#include "hub_schema_int.h"

#include "hub_arena.h"
#include "hub_error.h"

#include <dirent.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

struct hub_schemas {
    hub_arena_t *arena;  // schemas, fields, strings
    hub_codes_t **codes; // sorted by name after finish
    size_t ncodes, codes_cap;
    hub_schema_t **schemas; // sorted by type after finish
    size_t nschemas, schemas_cap;
    regex_t **regexes; // to regfree
    size_t nregex, regex_cap;
    bool sorted; // finished since the last addition: lookups may bisect
};

static const char *const s_ftype_names[HUB_FT_COUNT] = {
    "string",    "text",     "name",          "int",        "bool",     "money",      "date",
    "yearmonth", "datetime", "enum",          "citizen_id", "division", "student_no", "uscc",
    "phone",     "icd10",    "disability_no", "msg_id",     "list",
};
static const char *const s_sens_names[] = {"public", "personal", "sensitive", "restricted", NULL};
static const char *const s_share_names[] = {"unconditional", "conditional", "none", NULL};

static const char *const s_schema_keys[] = {
    "type",    "version", "title",         "sensitivity",
    "subject", "fields",  "one_event_per", "one_event_per_subject",
    NULL};
static const char *const s_field_keys[] = {"type", "required", "sensitivity", "share",      "zh",
                                           "en",   "codes",    "items",       "max_length", "min",
                                           "max",  "pattern",  NULL};
static const char *const s_subject_keys[] = {"required", "sensitivity", "share", "zh", "en", NULL};
static const char *const s_title_keys[] = {"zh", "en", NULL};

static int
s_parse_word(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; s && i < n && names[i]; i++) {
        if (strcmp(names[i], s) == 0) {
            return (int) i;
        }
    }
    return -1;
}

const char *
hub_ftype_name(hub_ftype_t t)
{
    return (unsigned) t < HUB_FT_COUNT ? s_ftype_names[t] : "?";
}

int
hub_ftype_parse(const char *s)
{
    return s_parse_word(s_ftype_names, HUB_FT_COUNT, s);
}

const char *
hub_sens_name(hub_sens_t s)
{
    return (unsigned) s < 4 ? s_sens_names[s] : "?";
}

int
hub_sens_parse(const char *s)
{
    return s_parse_word(s_sens_names, 4, s);
}

const char *
hub_share_name(hub_share_t s)
{
    return (unsigned) s < 3 ? s_share_names[s] : "?";
}

int
hub_share_parse(const char *s)
{
    return s_parse_word(s_share_names, 3, s);
}

hub_ftype_t
hub_subj_type(hub_subj_t which)
{
    switch (which) {
    case HUB_SUBJ_BIRTH_DATE:
        return HUB_FT_DATE;
    case HUB_SUBJ_CITIZEN_ID:
        return HUB_FT_CITIZEN_ID;
    case HUB_SUBJ_ETHNICITY:
    case HUB_SUBJ_SEX:
        return HUB_FT_ENUM;
    case HUB_SUBJ_HUKOU_DIVISION:
        return HUB_FT_DIVISION;
    case HUB_SUBJ_NAME:
        return HUB_FT_NAME;
    case HUB_SUBJ_HOUSEHOLD_NO:
    case HUB_SUBJ_COUNT:
        break;
    }
    return HUB_FT_STRING;
}

hub_schemas_t *
hub_schemas_new(void)
{
    hub_schemas_t *self = calloc(1, sizeof *self);
    if (self && !(self->arena = hub_arena_new(16384))) {
        free(self);
        self = NULL;
    }
    return self;
}

void
hub_schemas_destroy(hub_schemas_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    hub_schemas_t *self = *self_p;
    for (size_t i = 0; i < self->ncodes; i++) {
        hub_codes_destroy(&self->codes[i]);
    }
    for (size_t i = 0; i < self->nregex; i++) {
        regfree(self->regexes[i]);
        free(self->regexes[i]);
    }
    free(self->codes);
    free(self->schemas);
    free(self->regexes);
    hub_arena_destroy(&self->arena);
    free(self);
    *self_p = NULL;
}

// Appends ITEM to a growable pointer array.
static int
s_push(void ***arr, size_t *n, size_t *cap, void *item)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
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

int
hub_schemas_add_codes(hub_schemas_t *self, const hub_yaml_t *doc, hub_diag_t *diag)
{
    hub_codes_t *codes;
    int rc = hub_codes_load(&codes, doc, diag);
    if (rc) {
        return rc;
    }
    if (hub_schemas_codes(self, hub_codes_name(codes))) {
        hub_yaml_error(doc, hub_yaml_root(doc), diag, "duplicate_table",
                       "code table '%s' is defined twice", hub_codes_name(codes));
        hub_codes_destroy(&codes);
        return HUB_ECONFIG;
    }
    self->sorted = false;
    rc = s_push((void ***) &self->codes, &self->ncodes, &self->codes_cap, codes);
    if (rc) {
        hub_codes_destroy(&codes);
    }
    return rc;
}

static const char *
s_dup(hub_schemas_t *self, const char *s)
{
    return s ? hub_arena_strndup(self->arena, s, strlen(s)) : NULL;
}

static const char *
s_path(hub_schemas_t *self, const char *prefix, const char *name)
{
    size_t a = strlen(prefix), b = strlen(name);
    char *p = hub_arena_alloc(self->arena, a + b + 1);
    if (p) {
        memcpy(p, prefix, a);
        memcpy(p + a, name, b + 1);
    }
    return p;
}

// Reads an enum-like word (sensitivity, share) at KEY; -1 and a report when
// it is missing or not one of NAMES.
static int
s_get_word(const hub_yaml_t *doc, int map, const char *key, const char *const *names,
           hub_diag_t *diag)
{
    const char *s = NULL;
    if (hub_yaml_get_str(doc, map, key, true, &s, diag)) {
        return -1;
    }
    int v = s_parse_word(names, 8, s);
    if (v < 0) {
        const char *hint = hub_yaml_suggest(s, names);
        hub_yaml_error(doc, hub_yaml_get(doc, map, key), diag, "bad_value",
                       "'%s' is not a valid %s%s%s%s", s, key, hint ? " (did you mean '" : "",
                       hint ? hint : "", hint ? "'?)" : "");
    }
    return v;
}

static int
s_get_codes(hub_schemas_t *self, const hub_yaml_t *doc, int map, hub_field_spec_t *f,
            hub_diag_t *diag)
{
    const char *name = NULL;
    if (hub_yaml_get_str(doc, map, "codes", true, &name, diag)) {
        return HUB_ECONFIG;
    }
    f->codes = hub_schemas_codes(self, name);
    if (!f->codes) {
        const char *names[64] = {NULL};
        for (size_t i = 0; i < self->ncodes && i < 63; i++) {
            names[i] = hub_codes_name(self->codes[i]);
        }
        const char *hint = hub_yaml_suggest(name, names);
        hub_yaml_error(doc, hub_yaml_get(doc, map, "codes"), diag, "unknown_codes",
                       "no code table '%s' in schemas/codes/%s%s%s", name,
                       hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
        return HUB_ECONFIG;
    }
    return HUB_OK;
}

static int
s_get_type(const hub_yaml_t *doc, int map, const char *key, hub_ftype_t *out, hub_diag_t *diag)
{
    const char *s = NULL;
    if (hub_yaml_get_str(doc, map, key, true, &s, diag)) {
        return HUB_ECONFIG;
    }
    int t = hub_ftype_parse(s);
    if (t < 0) {
        const char *names[HUB_FT_COUNT + 1];
        memcpy(names, s_ftype_names, sizeof s_ftype_names);
        names[HUB_FT_COUNT] = NULL;
        const char *hint = hub_yaml_suggest(s, names);
        hub_yaml_error(doc, hub_yaml_get(doc, map, key), diag, "unknown_type",
                       "unknown field type '%s'%s%s%s (see docs/SCHEMAS.md)", s,
                       hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
        return HUB_ECONFIG;
    }
    *out = (hub_ftype_t) t;
    return HUB_OK;
}

// A constraint key given on a type it does not apply to.
static int
s_misplaced(const hub_yaml_t *doc, int map, const char *key, const char *applies, hub_diag_t *diag)
{
    int node = hub_yaml_get(doc, map, key);
    if (!node) {
        return HUB_OK;
    }
    hub_yaml_error(doc, node, diag, "misplaced_key", "'%s' applies only to %s fields", key,
                   applies);
    return HUB_ECONFIG;
}

static int
s_compile_pattern(hub_schemas_t *self, const hub_yaml_t *doc, int map, hub_field_spec_t *f,
                  hub_diag_t *diag)
{
    const char *src = NULL;
    if (hub_yaml_get_str(doc, map, "pattern", false, &src, diag)) {
        return hub_yaml_get(doc, map, "pattern") ? HUB_ECONFIG : HUB_OK;
    }
    regex_t *re = malloc(sizeof *re);
    if (!re) {
        return HUB_ENOMEM;
    }
    int err = regcomp(re, src, REG_EXTENDED | REG_NOSUB);
    if (err) {
        char msg[128];
        regerror(err, re, msg, sizeof msg);
        free(re);
        hub_yaml_error(doc, hub_yaml_get(doc, map, "pattern"), diag, "bad_pattern",
                       "pattern does not compile: %s", msg);
        return HUB_ECONFIG;
    }
    if (s_push((void ***) &self->regexes, &self->nregex, &self->regex_cap, re)) {
        regfree(re);
        free(re);
        return HUB_ENOMEM;
    }
    f->pattern = re;
    f->pattern_src = s_dup(self, src);
    return HUB_OK;
}

static bool
s_is_textual(hub_ftype_t t)
{
    return t == HUB_FT_STRING || t == HUB_FT_TEXT || t == HUB_FT_NAME;
}

// Limits and options by type: codes, items, min/max, max_length, pattern.
static int
s_field_options(hub_schemas_t *self, const hub_yaml_t *doc, int map, hub_field_spec_t *f,
                hub_diag_t *diag)
{
    int rc = HUB_OK;
    hub_ftype_t base = f->type == HUB_FT_LIST ? f->item_type : f->type;
    if (base == HUB_FT_ENUM) {
        rc |= s_get_codes(self, doc, map, f, diag);
    } else {
        rc |= s_misplaced(doc, map, "codes", "enum", diag);
    }
    if (f->type != HUB_FT_LIST) {
        rc |= s_misplaced(doc, map, "items", "list", diag);
    }
    bool numeric = base == HUB_FT_INT || base == HUB_FT_MONEY;
    if (numeric) {
        f->has_min = hub_yaml_get_int(doc, map, "min", false, &f->min, diag) == HUB_OK;
        f->has_max = hub_yaml_get_int(doc, map, "max", false, &f->max, diag) == HUB_OK;
        if (base == HUB_FT_MONEY && !f->has_min) {
            f->has_min = true, f->min = 0;
        }
    } else {
        rc |= s_misplaced(doc, map, "min", "int and money", diag);
        rc |= s_misplaced(doc, map, "max", "int and money", diag);
    }
    if (s_is_textual(base)) {
        int64_t n = base == HUB_FT_TEXT ? 4000 : base == HUB_FT_NAME ? 64 : 256;
        int r = hub_yaml_get_int(doc, map, "max_length", false, &n, diag);
        rc |= r == HUB_ENOTFOUND ? HUB_OK : r;
        f->max_length = n > 0 ? (size_t) n : 1;
    } else {
        rc |= s_misplaced(doc, map, "max_length", "string, text and name", diag);
    }
    if (base == HUB_FT_STRING) {
        rc |= s_compile_pattern(self, doc, map, f, diag);
    } else {
        rc |= s_misplaced(doc, map, "pattern", "string", diag);
    }
    return rc ? HUB_ECONFIG : HUB_OK;
}

// The parts every field has: required, sensitivity, share, zh, en.
static int
s_field_common(hub_schemas_t *self, const hub_yaml_t *doc, int map, hub_field_spec_t *f,
               hub_diag_t *diag)
{
    int rc = HUB_OK;
    int r = hub_yaml_get_bool(doc, map, "required", false, &f->required, diag);
    rc |= r == HUB_ENOTFOUND ? HUB_OK : r;
    int sens = s_get_word(doc, map, "sensitivity", s_sens_names, diag);
    int share = s_get_word(doc, map, "share", s_share_names, diag);
    const char *zh = NULL, *en = NULL;
    rc |= hub_yaml_get_str(doc, map, "zh", true, &zh, diag);
    rc |= hub_yaml_get_str(doc, map, "en", true, &en, diag);
    if (rc || sens < 0 || share < 0) {
        return HUB_ECONFIG;
    }
    f->sensitivity = (hub_sens_t) sens;
    f->share = (hub_share_t) share;
    f->zh = s_dup(self, zh);
    f->en = s_dup(self, en);
    return HUB_OK;
}

static int
s_body_field(hub_schemas_t *self, const hub_yaml_t *doc, int key, int map, hub_field_spec_t *f,
             hub_diag_t *diag)
{
    const char *name = hub_yaml_str(doc, key, NULL);
    if (!name || !hub_msg_field_name_valid(name, strlen(name))) {
        hub_yaml_error(doc, key, diag, "bad_name",
                       "field names are 1-64 of a-z 0-9 _, starting with a letter");
        return HUB_ECONFIG;
    }
    if (!hub_yaml_expect(doc, map, HUB_YAML_MAP, "a field {type, sensitivity, share, zh, en}",
                         diag)) {
        return HUB_ECONFIG;
    }
    memset(f, 0, sizeof *f);
    f->name = s_dup(self, name);
    f->path = s_path(self, "body.", name);
    f->line = hub_yaml_line(doc, key);
    int rc = hub_yaml_check_keys(doc, map, s_field_keys, diag) ? HUB_ECONFIG : HUB_OK;
    rc |= s_get_type(doc, map, "type", &f->type, diag);
    if (rc == HUB_OK && f->type == HUB_FT_LIST) {
        rc |= s_get_type(doc, map, "items", &f->item_type, diag);
        if (rc == HUB_OK && f->item_type == HUB_FT_LIST) {
            hub_yaml_error(doc, hub_yaml_get(doc, map, "items"), diag, "bad_value",
                           "a list cannot hold lists");
            rc = HUB_ECONFIG;
        }
    }
    rc |= s_field_common(self, doc, map, f, diag);
    if (rc == HUB_OK) {
        rc = s_field_options(self, doc, map, f, diag);
    }
    return rc ? HUB_ECONFIG : HUB_OK;
}

static int
s_subject_field(hub_schemas_t *self, const hub_yaml_t *doc, int key, int map, hub_schema_t *s,
                hub_diag_t *diag)
{
    const char *name = hub_yaml_str(doc, key, NULL);
    int which = name ? hub_subj_find(name, strlen(name)) : -1;
    if (which < 0) {
        const char *names[HUB_SUBJ_COUNT + 1] = {NULL};
        for (int i = 0; i < HUB_SUBJ_COUNT; i++) {
            names[i] = hub_subj_name((hub_subj_t) i);
        }
        const char *hint = name ? hub_yaml_suggest(name, names) : NULL;
        hub_yaml_error(doc, key, diag, "unknown_key", "'%s' is not a subject field%s%s%s",
                       name ? name : "?", hint ? " (did you mean '" : "", hint ? hint : "",
                       hint ? "'?)" : "");
        return HUB_ECONFIG;
    }
    if (!hub_yaml_expect(doc, map, HUB_YAML_MAP, "a subject field {sensitivity, share, zh, en}",
                         diag)) {
        return HUB_ECONFIG;
    }
    if (hub_yaml_get(doc, map, "type")) {
        hub_yaml_error(doc, hub_yaml_get(doc, map, "type"), diag, "misplaced_key",
                       "subject fields have fixed types; remove 'type'");
        return HUB_ECONFIG;
    }
    hub_field_spec_t *f = &s->subject[which];
    memset(f, 0, sizeof *f);
    f->name = hub_subj_name((hub_subj_t) which);
    f->path = s_path(self, "subject.", f->name);
    f->type = hub_subj_type((hub_subj_t) which);
    f->line = hub_yaml_line(doc, key);
    f->max_length = f->type == HUB_FT_NAME ? 64 : 32;
    if (f->type == HUB_FT_ENUM) {
        const char *table = which == HUB_SUBJ_SEX ? "sex" : "ethnicity";
        if (!(f->codes = hub_schemas_codes(self, table))) {
            hub_yaml_error(doc, key, diag, "unknown_codes",
                           "subject field '%s' needs the code table schemas/codes/%s.yaml", f->name,
                           table);
            return HUB_ECONFIG;
        }
    }
    int rc = hub_yaml_check_keys(doc, map, s_subject_keys, diag) ? HUB_ECONFIG : HUB_OK;
    rc |= s_field_common(self, doc, map, f, diag);
    s->has_subject[which] = rc == HUB_OK;
    return rc ? HUB_ECONFIG : HUB_OK;
}

static int
s_field_cmp(const void *a, const void *b)
{
    return strcmp(((const hub_field_spec_t *) a)->name, ((const hub_field_spec_t *) b)->name);
}

static int
s_body_fields(hub_schemas_t *self, const hub_yaml_t *doc, int map, hub_schema_t *s,
              hub_diag_t *diag)
{
    if (!hub_yaml_expect(doc, map, HUB_YAML_MAP, "a mapping of field names to fields", diag)) {
        return HUB_ECONFIG;
    }
    size_t n = hub_yaml_len(doc, map);
    int rc = hub_yaml_check_keys(doc, map, NULL, diag) ? HUB_ECONFIG : HUB_OK;
    hub_field_spec_t *fields = hub_arena_alloc(self->arena, sizeof *fields * (n + 1));
    if (!fields) {
        return HUB_ENOMEM;
    }
    memset(fields, 0, sizeof *fields * (n + 1));
    for (size_t i = 0; i < n; i++) {
        rc |= s_body_field(self, doc, hub_yaml_key(doc, map, i), hub_yaml_value(doc, map, i),
                           &fields[i], diag);
    }
    if (rc) {
        return HUB_ECONFIG;
    }
    qsort(fields, n, sizeof *fields, s_field_cmp);
    s->fields = fields;
    s->nfields = n;
    return rc ? HUB_ECONFIG : HUB_OK;
}

static int
s_subject_fields(hub_schemas_t *self, const hub_yaml_t *doc, int map, hub_schema_t *s,
                 hub_diag_t *diag)
{
    if (!map) {
        return HUB_OK;
    }
    if (!hub_yaml_expect(doc, map, HUB_YAML_MAP, "a mapping of subject fields", diag)) {
        return HUB_ECONFIG;
    }
    int rc = hub_yaml_check_keys(doc, map, NULL, diag) ? HUB_ECONFIG : HUB_OK;
    for (size_t i = 0; i < hub_yaml_len(doc, map); i++) {
        rc |= s_subject_field(self, doc, hub_yaml_key(doc, map, i), hub_yaml_value(doc, map, i), s,
                              diag);
    }
    return rc ? HUB_ECONFIG : HUB_OK;
}

// True when FILE's base name is TYPE.yaml (or .yml), so a type is found
// where its name says. Documents loaded from memory ("<...>") are exempt.
static bool
s_named_for(const char *file, const char *type)
{
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    size_t n = strlen(type);
    if (file[0] == '<' || strncmp(base, type, n) != 0) {
        return file[0] == '<';
    }
    return strcmp(base + n, ".yaml") == 0 || strcmp(base + n, ".yml") == 0;
}

static int
s_schema_head(hub_schemas_t *self, const hub_yaml_t *doc, int root, hub_schema_t *s,
              hub_diag_t *diag)
{
    const char *type = NULL, *zh = NULL, *en = NULL;
    int rc = hub_yaml_check_keys(doc, root, s_schema_keys, diag) ? HUB_ECONFIG : HUB_OK;
    rc |= hub_yaml_get_str(doc, root, "type", true, &type, diag);
    rc |= hub_yaml_get_int(doc, root, "version", true, &s->version, diag);
    int title = hub_yaml_get(doc, root, "title");
    if (!title) {
        hub_yaml_error(doc, root, diag, "missing_key", "missing required key 'title'");
        rc = HUB_ECONFIG;
    } else if (!hub_yaml_expect(doc, title, HUB_YAML_MAP, "a title {zh, en}", diag) ||
               hub_yaml_check_keys(doc, title, s_title_keys, diag) ||
               hub_yaml_get_str(doc, title, "zh", true, &zh, diag) ||
               hub_yaml_get_str(doc, title, "en", true, &en, diag)) {
        rc = HUB_ECONFIG;
    }
    int sens = s_get_word(doc, root, "sensitivity", s_sens_names, diag);
    if (rc == HUB_OK && s->version < 1) {
        hub_yaml_error(doc, hub_yaml_get(doc, root, "version"), diag, "bad_value",
                       "version must be 1 or more");
        rc = HUB_ECONFIG;
    }
    if (rc == HUB_OK && hub_schemas_find(self, type, strlen(type))) {
        hub_yaml_error(doc, root, diag, "duplicate_type", "type '%s' is defined twice", type);
        rc = HUB_ECONFIG;
    }
    if (rc == HUB_OK && !s_named_for(hub_yaml_name(doc), type)) {
        hub_yaml_error(doc, hub_yaml_get(doc, root, "type"), diag, "bad_name",
                       "type '%s' must live in a file named %s.yaml", type, type);
        rc = HUB_ECONFIG;
    }
    if (rc || sens < 0) {
        return HUB_ECONFIG;
    }
    s->type = s_dup(self, type);
    s->title_zh = s_dup(self, zh);
    s->title_en = s_dup(self, en);
    s->sensitivity = (hub_sens_t) sens;
    s->file = s_dup(self, hub_yaml_name(doc));
    return HUB_OK;
}

int
hub_schemas_add_schema(hub_schemas_t *self, const hub_yaml_t *doc, hub_diag_t *diag)
{
    int root = hub_yaml_root(doc);
    if (!hub_yaml_expect(doc, root ? root : 0, HUB_YAML_MAP,
                         "a schema {type, version, title, sensitivity, subject, fields}", diag)) {
        return HUB_ECONFIG;
    }
    hub_schema_t *s = hub_arena_alloc(self->arena, sizeof *s);
    if (!s) {
        return HUB_ENOMEM;
    }
    memset(s, 0, sizeof *s);
    int rc = s_schema_head(self, doc, root, s, diag);
    rc |= s_subject_fields(self, doc, hub_yaml_get(doc, root, "subject"), s, diag);
    int fields = hub_yaml_get(doc, root, "fields");
    if (!fields) {
        hub_yaml_error(doc, root, diag, "missing_key", "missing required key 'fields'");
        rc = HUB_ECONFIG;
    } else {
        rc |= s_body_fields(self, doc, fields, s, diag);
    }
    // After the fields: the option names one of them.
    rc |= hub_schema_event_parse(doc, root, rc == HUB_OK, s, diag);
    if (rc) {
        return rc == HUB_ENOMEM ? rc : HUB_ECONFIG;
    }
    self->sorted = false;
    return s_push((void ***) &self->schemas, &self->nschemas, &self->schemas_cap, s);
}

static int
s_schema_ptr_cmp(const void *a, const void *b)
{
    return strcmp((*(hub_schema_t *const *) a)->type, (*(hub_schema_t *const *) b)->type);
}

static int
s_codes_ptr_cmp(const void *a, const void *b)
{
    return strcmp(hub_codes_name(*(hub_codes_t *const *) a),
                  hub_codes_name(*(hub_codes_t *const *) b));
}

void
hub_schemas_finish(hub_schemas_t *self)
{
    if (self->nschemas) {
        qsort(self->schemas, self->nschemas, sizeof *self->schemas, s_schema_ptr_cmp);
    }
    if (self->ncodes) {
        qsort(self->codes, self->ncodes, sizeof *self->codes, s_codes_ptr_cmp);
    }
    self->sorted = true;
}

static int
s_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

static bool
s_is_yaml_name(const char *n)
{
    size_t len = strlen(n);
    return n[0] != '.' && ((len > 5 && strcmp(n + len - 5, ".yaml") == 0) ||
                           (len > 4 && strcmp(n + len - 4, ".yml") == 0));
}

// The *.yaml files of DIR, sorted, as a NULL-terminated malloc'd array of
// malloc'd paths; NULL with *RC set on failure.
static char **
s_list_yaml(const char *dir, int *rc, hub_diag_t *diag)
{
    DIR *d = opendir(dir);
    if (!d) {
        hub_diag_add(diag, HUB_DIAG_ERROR, "io", dir, "cannot open the directory");
        *rc = HUB_EIO;
        return NULL;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    *rc = HUB_OK;
    while (!*rc && (e = readdir(d)) != NULL) {
        if (!s_is_yaml_name(e->d_name)) {
            continue;
        }
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        char *path = malloc(len);
        if (!path) {
            *rc = HUB_ENOMEM;
            break;
        }
        snprintf(path, len, "%s/%s", dir, e->d_name);
        *rc = s_push((void ***) &names, &n, &cap, path);
    }
    closedir(d);
    if (!*rc) {
        *rc = s_push((void ***) &names, &n, &cap, NULL);
    }
    if (*rc) {
        for (size_t i = 0; i < n; i++) {
            free(names[i]);
        }
        free(names);
        return NULL;
    }
    qsort(names, n - 1, sizeof *names, s_name_cmp);
    return names;
}

typedef int (*s_add_fn)(hub_schemas_t *, const hub_yaml_t *, hub_diag_t *);

// Loads every YAML file of DIR with ADD; goes on past broken files so every
// problem is reported. MISSING_OK: a missing DIR is no error.
static int
s_load_dir(hub_schemas_t *self, const char *dir, s_add_fn add, hub_diag_t *diag)
{
    int rc;
    char **names = s_list_yaml(dir, &rc, diag);
    if (!names) {
        return rc;
    }
    int result = HUB_OK;
    for (size_t i = 0; names[i]; i++) {
        hub_yaml_t *doc;
        rc = hub_yaml_load_file(&doc, names[i], diag);
        if (rc == HUB_OK) {
            rc = add(self, doc, diag);
            hub_yaml_destroy(&doc);
        }
        result = result ? result : rc;
        free(names[i]);
    }
    free(names);
    return result == HUB_ENOMEM || result == HUB_EIO || result == HUB_OK ? result : HUB_ECONFIG;
}

int
hub_schemas_load(hub_schemas_t **out, const char *dir, hub_diag_t *diag)
{
    *out = NULL;
    hub_schemas_t *self = hub_schemas_new();
    if (!self) {
        return HUB_ENOMEM;
    }
    size_t len = strlen(dir) + sizeof "/codes";
    char *codes = malloc(len);
    if (!codes) {
        hub_schemas_destroy(&self);
        return HUB_ENOMEM;
    }
    snprintf(codes, len, "%s/codes", dir);
    int rc = s_load_dir(self, codes, hub_schemas_add_codes, diag);
    free(codes);
    hub_schemas_finish(self);
    int rc2 = s_load_dir(self, dir, hub_schemas_add_schema, diag);
    rc = rc ? rc : rc2;
    if (rc == HUB_OK && self->nschemas == 0) {
        hub_diag_add(diag, HUB_DIAG_ERROR, "no_schemas", dir, "no schema files (*.yaml) here");
        rc = HUB_ECONFIG;
    }
    if (rc) {
        hub_schemas_destroy(&self);
        return rc;
    }
    hub_schemas_finish(self);
    *out = self;
    return HUB_OK;
}

// Bisects the N sorted names NAME(i) for KEY (LEN bytes); -1 when absent.
static ptrdiff_t
s_bisect(const void *const *items, size_t n, const char *(*name)(const void *), const char *key,
         size_t len)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *m = name(items[mid]);
        int c = hub_bytes_cmp(m, strlen(m), key, len);
        if (c == 0) {
            return (ptrdiff_t) mid;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return -1;
}

static const char *
s_schema_name(const void *s)
{
    return ((const hub_schema_t *) s)->type;
}

static const char *
s_codes_name(const void *c)
{
    return hub_codes_name(c);
}

// Once finished (sorted), by bisection: both run for every message.
const hub_schema_t *
hub_schemas_find(const hub_schemas_t *self, const char *type, size_t len)
{
    if (self->sorted) {
        ptrdiff_t i =
            s_bisect((const void *const *) self->schemas, self->nschemas, s_schema_name, type, len);
        return i < 0 ? NULL : self->schemas[i];
    }
    for (size_t i = 0; i < self->nschemas; i++) {
        const char *t = self->schemas[i]->type;
        if (hub_bytes_cmp(t, strlen(t), type, len) == 0) {
            return self->schemas[i];
        }
    }
    return NULL;
}

const hub_codes_t *
hub_schemas_codes(const hub_schemas_t *self, const char *name)
{
    if (name && self->sorted) {
        ptrdiff_t i = s_bisect((const void *const *) self->codes, self->ncodes, s_codes_name, name,
                               strlen(name));
        return i < 0 ? NULL : self->codes[i];
    }
    for (size_t i = 0; name && i < self->ncodes; i++) {
        if (strcmp(hub_codes_name(self->codes[i]), name) == 0) {
            return self->codes[i];
        }
    }
    return NULL;
}

size_t
hub_schemas_count(const hub_schemas_t *self)
{
    return self->nschemas;
}

const hub_schema_t *
hub_schemas_at(const hub_schemas_t *self, size_t i)
{
    return i < self->nschemas ? self->schemas[i] : NULL;
}

size_t
hub_schemas_codes_count(const hub_schemas_t *self)
{
    return self->ncodes;
}

const hub_codes_t *
hub_schemas_codes_at(const hub_schemas_t *self, size_t i)
{
    return i < self->ncodes ? self->codes[i] : NULL;
}

const hub_field_spec_t *
hub_schema_field(const hub_schema_t *schema, const char *name, size_t len)
{
    size_t lo = 0, hi = schema->nfields;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *n = schema->fields[mid].name;
        int c = hub_bytes_cmp(n, strlen(n), name, len);
        if (c == 0) {
            return &schema->fields[mid];
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return NULL;
}

const hub_field_spec_t *
hub_schema_path(const hub_schema_t *schema, const char *path)
{
    if (strncmp(path, "subject.", 8) == 0) {
        int i = hub_subj_find(path + 8, strlen(path + 8));
        return i >= 0 && schema->has_subject[i] ? &schema->subject[i] : NULL;
    }
    if (strncmp(path, "body.", 5) == 0) {
        return hub_schema_field(schema, path + 5, strlen(path + 5));
    }
    return NULL;
}
