#include "hub_map_int.h"

#include "hub_error.h"
#include "hub_xform.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const s_top_keys[] = {"adapter", "department", "endpoint", "input", "key",
                                         "type",    "type_from",  "messages", NULL};
static const char *const s_input_keys[] = {"format", "encoding", "delimiter",
                                           "header", "pattern",  NULL};
static const char *const s_tf_keys[] = {"column", "values", "skip", NULL};
static const char *const s_spec_keys[] = {"column", "columns", "join",  "const", "as",
                                          "map",    "default", "split", NULL};
static const char *const s_as_names[] = {"string",     "code", "date", "yearmonth", "datetime",
                                         "citizen_id", "yuan", "int",  "bool",      NULL};
static const char *const s_formats[] = {"csv", "jsonl", NULL};

// The loader's state: the mapping being built and where problems go.
typedef struct {
    hubc_map_t *self;
    const hub_yaml_t *doc;
    const hub_depts_t *depts;
    hub_diag_t *diag;
    size_t errors;
} s_load_t;

static void
s_err(s_load_t *ld, int node, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
s_err(s_load_t *ld, int node, const char *reason, const char *fmt, ...)
{
    char text[HUB_DIAG_TEXT_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    hub_yaml_error(ld->doc, node, ld->diag, reason, "%s", text);
    ld->errors++;
}

static void *
s_alloc(s_load_t *ld, size_t n)
{
    void *p = hub_arena_alloc(ld->self->arena, n ? n : 1);
    if (p) {
        memset(p, 0, n ? n : 1);
    } else {
        ld->errors++;
    }
    return p;
}

// NODE's text, or NULL (reported) when it is not a single value.
static const char *
s_scalar(s_load_t *ld, int node, const char *what)
{
    const char *s = hub_yaml_str(ld->doc, node, NULL);
    if (!s) {
        s_err(ld, node, "wrong_type", "%s must be a single value", what);
    }
    return s;
}

// " (did you mean 'x'?)" for WORD among ALLOWED, or "".
static void
s_hint(char *buf, size_t size, const char *word, const char *const *allowed)
{
    const char *h = hub_yaml_suggest(word, allowed);
    snprintf(buf, size, h ? " (did you mean '%s'?)" : "%s", h ? h : "");
}

// The index of source column NAME, added when new.
static size_t
s_column(s_load_t *ld, const char *name)
{
    hubc_map_t *self = ld->self;
    for (size_t i = 0; i < self->ncolumns; i++) {
        if (strcmp(self->columns[i], name) == 0) {
            return i;
        }
    }
    if (self->ncolumns == self->columns_cap) {
        size_t cap = self->columns_cap ? self->columns_cap * 2 : 16;
        const char **more = realloc(self->columns, cap * sizeof *more);
        if (!more) {
            ld->errors++;
            return 0;
        }
        self->columns = more;
        self->columns_cap = cap;
    }
    self->columns[self->ncolumns] = name;
    return self->ncolumns++;
}

// S trimmed and half-width, copied into the arena.
static const char *
s_cleaned(s_load_t *ld, const char *s, size_t *len)
{
    hub_buf_t *b = &ld->self->scratch;
    if (hubc_clean(s, strlen(s), b) != HUB_OK) {
        ld->errors++;
        return "";
    }
    char *copy = hub_arena_strndup(ld->self->arena, (const char *) b->data, b->len);
    ld->errors += copy == NULL;
    *len = copy ? b->len : 0;
    return copy ? copy : "";
}

// A mapping of values to values (a `map`, `type_from.values`), keys
// cleaned as record values are, sorted.
static hubc_pair_t *
s_pairs(s_load_t *ld, int node, const char *what, size_t *n)
{
    *n = 0;
    if (!hub_yaml_expect(ld->doc, node, HUB_YAML_MAP, what, ld->diag)) {
        ld->errors++;
        return NULL;
    }
    ld->errors += hub_yaml_check_keys(ld->doc, node, NULL, ld->diag);
    size_t len = hub_yaml_len(ld->doc, node);
    hubc_pair_t *pairs = s_alloc(ld, len * sizeof *pairs);
    for (size_t i = 0; pairs && i < len; i++) {
        const char *k = s_scalar(ld, hub_yaml_key(ld->doc, node, i), "a key");
        const char *v = s_scalar(ld, hub_yaml_value(ld->doc, node, i), "a value");
        if (k && v) {
            pairs[*n].from = s_cleaned(ld, k, &pairs[*n].from_len);
            pairs[(*n)++].to = v;
        }
    }
    if (*n > 1) {
        qsort(pairs, *n, sizeof *pairs, hubc_pair_cmp);
    }
    return pairs;
}

// A list of single values (a scalar counts as a list of one) into *N
// source-column indexes.
static size_t *
s_columns(s_load_t *ld, int node, const char *what, size_t *n)
{
    *n = 0;
    bool seq = hub_yaml_kind(ld->doc, node) == HUB_YAML_SEQ;
    size_t len = seq ? hub_yaml_len(ld->doc, node) : 1;
    size_t *cols = s_alloc(ld, len * sizeof *cols);
    for (size_t i = 0; cols && i < len; i++) {
        int item = seq ? hub_yaml_item(ld->doc, node, i) : node;
        const char *name = s_scalar(ld, item, what);
        if (name && !name[0]) {
            s_err(ld, item, "bad_value", "%s cannot be empty", what);
        } else if (name) {
            cols[(*n)++] = s_column(ld, name);
        }
    }
    if (*n == 0 && cols) {
        s_err(ld, node, "bad_value", "%s: give at least one column", what);
    }
    return cols;
}

// ------------------------------------------------------------------ input

static void
s_input_format(s_load_t *ld, int input)
{
    hubc_map_input_t *in = &ld->self->input;
    const char *s = NULL;
    int node = hub_yaml_get(ld->doc, input, "format");
    if (node && (s = s_scalar(ld, node, "format"))) {
        char hint[80];
        s_hint(hint, sizeof hint, s, s_formats);
        if (strcmp(s, "csv") != 0 && strcmp(s, "jsonl") != 0) {
            s_err(ld, node, "bad_value", "format '%s' is not csv or jsonl%s", s, hint);
        }
        in->format = strcmp(s, "jsonl") == 0 ? HUBC_MAP_JSONL : HUBC_MAP_CSV;
    }
    node = hub_yaml_get(ld->doc, input, "encoding");
    if (node && (s = s_scalar(ld, node, "encoding"))) {
        int enc = hubc_enc_parse(s);
        if (enc < 0) {
            s_err(ld, node, "bad_value", "encoding '%s' is not auto, utf-8, gb18030 or gbk", s);
        }
        in->encoding = enc < 0 ? HUBC_ENC_AUTO : (hubc_enc_t) enc;
    }
}

static void
s_input(s_load_t *ld, int input)
{
    hubc_map_input_t *in = &ld->self->input;
    in->delimiter = ',';
    if (input &&
        hub_yaml_expect(ld->doc, input, HUB_YAML_MAP, "a mapping (format, ...)", ld->diag)) {
        ld->errors += hub_yaml_check_keys(ld->doc, input, s_input_keys, ld->diag);
        s_input_format(ld, input);
        int node = hub_yaml_get(ld->doc, input, "delimiter");
        const char *d = node ? s_scalar(ld, node, "delimiter") : NULL;
        if (d && strcmp(d, "tab") == 0) {
            d = "\t";
        }
        if (d && (strlen(d) != 1 || (unsigned char) d[0] >= 0x80 || strchr("\"\r\n", d[0]))) {
            s_err(ld, node, "bad_value",
                  "delimiter must be one ASCII character other than a quote or a line end "
                  "(',', ';', '|', tab)");
        } else if (d) {
            in->delimiter = d[0];
        }
        node = hub_yaml_get(ld->doc, input, "header");
        in->header = node ? s_scalar(ld, node, "header") : NULL;
        node = hub_yaml_get(ld->doc, input, "pattern");
        in->pattern = node ? s_scalar(ld, node, "pattern") : NULL;
    } else if (input) {
        ld->errors++;
    }
    if (!in->pattern || !in->pattern[0]) {
        in->pattern = in->format == HUBC_MAP_JSONL ? "*.jsonl" : "*.csv";
    }
}

// ------------------------------------------------------------------ fields

// 0: a string value, 1: an integer, 2: a boolean.
static int
s_kind(hub_ftype_t t)
{
    return t == HUB_FT_INT || t == HUB_FT_MONEY ? 1 : t == HUB_FT_BOOL ? 2 : 0;
}

static int
s_as_kind(hubc_as_t as)
{
    return as == HUBC_AS_YUAN || as == HUBC_AS_INT ? 1 : as == HUBC_AS_BOOL ? 2 : 0;
}

// Resolves target PATH of SCHEMA into FM; false (reported) when the schema
// has no such field.
static bool
s_target(s_load_t *ld, int node, const hub_schema_t *schema, const char *path, hubc_fieldmap_t *fm)
{
    fm->path = path;
    fm->subj = -1;
    if (strcmp(path, "event_date") == 0) {
        fm->type = HUB_FT_DATE;
        return true;
    }
    if (strncmp(path, "subject.", 8) == 0) {
        int i = hub_subj_find(path + 8, strlen(path + 8));
        fm->spec = i >= 0 && schema->has_subject[i] ? &schema->subject[i] : NULL;
        fm->subj = fm->spec ? i : -1;
    } else if (strncmp(path, "body.", 5) == 0) {
        fm->spec = hub_schema_field(schema, path + 5, strlen(path + 5));
        fm->body = fm->spec ? fm->spec->name : NULL;
    }
    if (fm->spec) {
        fm->list = fm->spec->type == HUB_FT_LIST;
        fm->type = fm->list ? fm->spec->item_type : fm->spec->type;
        return true;
    }
    const char *names[HUB_SUBJ_COUNT + 256 + 2] = {"event_date"};
    size_t n = 1;
    for (int i = 0; i < HUB_SUBJ_COUNT; i++) {
        names[n] = schema->has_subject[i] ? schema->subject[i].path : NULL;
        n += names[n] != NULL;
    }
    for (size_t i = 0; i < schema->nfields && n < sizeof names / sizeof *names - 1; i++) {
        names[n++] = schema->fields[i].path;
    }
    names[n] = NULL;
    char hint[96];
    s_hint(hint, sizeof hint, path, names);
    if (hub_env_find(path, strlen(path)) >= 0) {
        s_err(ld, node, "unknown_field", "'%s' is set by hub-adapter, not by the mapping", path);
    } else {
        s_err(ld, node, "unknown_field",
              "%s has no field '%s'%s (targets are event_date, subject.<field>, body.<field>)",
              schema->type, path, hint);
    }
    return false;
}

// The `as` of FM: as written, else what the target's type implies.
static void
s_as(s_load_t *ld, int spec, hubc_fieldmap_t *fm)
{
    int node = hub_yaml_kind(ld->doc, spec) == HUB_YAML_MAP ? hub_yaml_get(ld->doc, spec, "as") : 0;
    const char *s = node ? s_scalar(ld, node, "as") : NULL;
    if (!s) {
        fm->as = fm->type == HUB_FT_INT    ? HUBC_AS_INT
                 : fm->type == HUB_FT_BOOL ? HUBC_AS_BOOL
                                           : HUBC_AS_STRING;
        if (fm->type == HUB_FT_MONEY) {
            s_err(ld, spec, "bad_value",
                  "%s is money in fen: say 'as: yuan' (decimal yuan) or 'as: int' (fen)", fm->path);
        }
        return;
    }
    for (int i = 0; s_as_names[i]; i++) {
        if (strcmp(s, s_as_names[i]) == 0) {
            fm->as = (hubc_as_t) i;
            return;
        }
    }
    char hint[80];
    s_hint(hint, sizeof hint, s, s_as_names);
    s_err(ld, node, "bad_value",
          "unknown 'as: %s'%s (one of: string, code, date, yearmonth, "
          "datetime, citizen_id, yuan, int, bool)",
          s, hint);
}

// Where FM's value comes from: column, columns (+ join) or const.
static void
s_source(s_load_t *ld, int spec, hubc_fieldmap_t *fm)
{
    if (hub_yaml_kind(ld->doc, spec) == HUB_YAML_SCALAR) {
        fm->cols = s_columns(ld, spec, "a column", &fm->ncols); // the short form
        return;
    }
    int col = hub_yaml_get(ld->doc, spec, "column"), cols = hub_yaml_get(ld->doc, spec, "columns");
    int konst = hub_yaml_get(ld->doc, spec, "const"), join = hub_yaml_get(ld->doc, spec, "join");
    if ((col != 0) + (cols != 0) + (konst != 0) != 1) {
        s_err(ld, spec, "bad_value", "%s: give exactly one of column, columns or const", fm->path);
        return;
    }
    if (col) {
        if (hub_yaml_kind(ld->doc, col) != HUB_YAML_SCALAR) {
            s_err(ld, col, "wrong_type", "column must be one name (several: use columns + join)");
        } else {
            fm->cols = s_columns(ld, col, "column", &fm->ncols);
        }
    } else if (cols) {
        fm->cols = s_columns(ld, cols, "columns", &fm->ncols);
    } else {
        fm->konst = s_scalar(ld, konst, "const");
    }
    fm->join = join ? s_scalar(ld, join, "join") : "";
    if (join && !cols) {
        s_err(ld, join, "bad_value", "join goes with columns");
    }
}

// Checks that FM's `as` makes the kind of value its target holds.
static void
s_check_kinds(s_load_t *ld, int spec, hubc_fieldmap_t *fm)
{
    static const char *const kinds[] = {"a string", "an integer", "yes or no"};
    int want = s_kind(fm->type), got = s_as_kind(fm->as);
    if (want != got) {
        s_err(ld, spec, "wrong_type", "%s is %s (%s), but 'as: %s' makes %s", fm->path, kinds[want],
              hub_ftype_name(fm->type), s_as_names[fm->as], kinds[got]);
    }
    if (fm->split && !fm->list) {
        s_err(ld, spec, "bad_value", "split makes a list, but %s is not one", fm->path);
    }
    if (fm->subj >= 0 && got != 0) {
        s_err(ld, spec, "wrong_type", "subject fields are strings; %s cannot be 'as: %s'", fm->path,
              s_as_names[fm->as]);
    }
}

// One target field: PATH at key node KEY, its spec at SPEC.
static void
s_field(s_load_t *ld, const hub_schema_t *schema, int key, int spec, hubc_fieldmap_t *fm)
{
    const char *path = s_scalar(ld, key, "a field path");
    if (!path || !s_target(ld, key, schema, path, fm)) {
        return;
    }
    hub_yaml_kind_t kind = hub_yaml_kind(ld->doc, spec);
    if (kind != HUB_YAML_SCALAR && kind != HUB_YAML_MAP) {
        s_err(ld, spec, "wrong_type", "%s: expected {column: ...} or a column name", path);
        return;
    }
    if (kind == HUB_YAML_MAP) {
        ld->errors += hub_yaml_check_keys(ld->doc, spec, s_spec_keys, ld->diag);
        int node = hub_yaml_get(ld->doc, spec, "map");
        fm->map = node ? s_pairs(ld, node, "a mapping of values (map)", &fm->nmap) : NULL;
        node = hub_yaml_get(ld->doc, spec, "default");
        fm->dflt = node ? s_scalar(ld, node, "default") : NULL;
        node = hub_yaml_get(ld->doc, spec, "split");
        fm->split = node ? s_scalar(ld, node, "split") : NULL;
        if (fm->split && !fm->split[0]) {
            s_err(ld, node, "bad_value", "split needs a separator");
        }
    }
    s_source(ld, spec, fm);
    s_as(ld, spec, fm);
    s_check_kinds(ld, spec, fm);
}

// ------------------------------------------------------------------ messages

static bool
s_mapped(const hubc_msgmap_t *mm, const char *path)
{
    for (size_t i = 0; i < mm->nfields; i++) {
        if (mm->fields[i].path && strcmp(mm->fields[i].path, path) == 0) {
            return true;
        }
    }
    return false;
}

// Every field the schema requires must be mapped, or every record would
// be rejected.
static void
s_required(s_load_t *ld, int node, const hubc_msgmap_t *mm)
{
    const hub_schema_t *s = mm->schema;
    if (!s_mapped(mm, "event_date")) {
        s_err(ld, node, "required", "%s: event_date is not mapped (every message has one)",
              s->type);
    }
    for (int i = 0; i < HUB_SUBJ_COUNT; i++) {
        if (s->has_subject[i] && s->subject[i].required && !s_mapped(mm, s->subject[i].path)) {
            s_err(ld, node, "required", "%s: %s is required by the schema but not mapped", s->type,
                  s->subject[i].path);
        }
    }
    for (size_t i = 0; i < s->nfields; i++) {
        if (s->fields[i].required && !s_mapped(mm, s->fields[i].path)) {
            s_err(ld, node, "required", "%s: %s is required by the schema but not mapped", s->type,
                  s->fields[i].path);
        }
    }
}

static void
s_msgmap(s_load_t *ld, int key, int value, hubc_msgmap_t *mm)
{
    const hub_schemas_t *set = ld->self->schemas;
    mm->type = s_scalar(ld, key, "a message type");
    mm->schema = mm->type ? hub_schemas_find(set, mm->type, strlen(mm->type)) : NULL;
    if (mm->type && !mm->schema) {
        const char *names[64] = {NULL};
        for (size_t i = 0; i < hub_schemas_count(set) && i < 63; i++) {
            names[i] = hub_schemas_at(set, i)->type;
        }
        char hint[96];
        s_hint(hint, sizeof hint, mm->type, names);
        s_err(ld, key, "unknown_type", "no schema for type '%s'%s", mm->type, hint);
    }
    if (mm->schema && ld->depts && ld->self->department &&
        !hub_depts_may_publish(ld->depts, ld->self->department, mm->type)) {
        s_err(ld, key, "not_allowed", "%s may not publish %s (departments.yaml)",
              ld->self->department, mm->type);
    }
    if (!mm->schema || !hub_yaml_expect(ld->doc, value, HUB_YAML_MAP,
                                        "a mapping of field paths to sources", ld->diag)) {
        ld->errors += mm->schema != NULL;
        return;
    }
    ld->errors += hub_yaml_check_keys(ld->doc, value, NULL, ld->diag);
    size_t n = hub_yaml_len(ld->doc, value);
    mm->fields = s_alloc(ld, n * sizeof *mm->fields);
    for (size_t i = 0; mm->fields && i < n; i++) {
        s_field(ld, mm->schema, hub_yaml_key(ld->doc, value, i), hub_yaml_value(ld->doc, value, i),
                &mm->fields[mm->nfields++]);
    }
    s_required(ld, key, mm);
}

static void
s_messages(s_load_t *ld, int node)
{
    if (!node || !hub_yaml_expect(ld->doc, node, HUB_YAML_MAP,
                                  "a mapping of message types to their fields", ld->diag)) {
        if (!node) {
            s_err(ld, hub_yaml_root(ld->doc), "required",
                  "'messages' is missing: how each type's fields come from a record");
        } else {
            ld->errors++;
        }
        return;
    }
    ld->errors += hub_yaml_check_keys(ld->doc, node, NULL, ld->diag);
    size_t n = hub_yaml_len(ld->doc, node);
    ld->self->msgs = s_alloc(ld, n * sizeof *ld->self->msgs);
    for (size_t i = 0; ld->self->msgs && i < n; i++) {
        s_msgmap(ld, hub_yaml_key(ld->doc, node, i), hub_yaml_value(ld->doc, node, i),
                 &ld->self->msgs[ld->self->nmsgs++]);
    }
}

// The messages entry for TYPE, or NULL (reported at NODE).
static const hubc_msgmap_t *
s_find_msgmap(s_load_t *ld, int node, const char *type)
{
    const char *names[64] = {NULL};
    for (size_t i = 0; i < ld->self->nmsgs; i++) {
        const hubc_msgmap_t *mm = &ld->self->msgs[i];
        if (mm->type && strcmp(mm->type, type) == 0) {
            return mm->schema ? mm : NULL;
        }
        if (i < 63) {
            names[i] = mm->type;
        }
    }
    char hint[96];
    s_hint(hint, sizeof hint, type, names);
    s_err(ld, node, "unknown_type", "type '%s' has no entry under 'messages'%s", type, hint);
    return NULL;
}

static void
s_type_from(s_load_t *ld, int node)
{
    hubc_map_t *self = ld->self;
    if (!hub_yaml_expect(ld->doc, node, HUB_YAML_MAP, "a mapping (column, values, skip)",
                         ld->diag)) {
        ld->errors++;
        return;
    }
    ld->errors += hub_yaml_check_keys(ld->doc, node, s_tf_keys, ld->diag);
    int col = hub_yaml_get(ld->doc, node, "column"), values = hub_yaml_get(ld->doc, node, "values");
    int skip = hub_yaml_get(ld->doc, node, "skip");
    if (!col || !values) {
        s_err(ld, node, "required", "type_from needs 'column' and 'values'");
        return;
    }
    size_t n = 0;
    const size_t *cols = s_columns(ld, col, "type_from.column", &n);
    self->tf_col = cols && n ? cols[0] : 0;
    self->tf_values = s_pairs(ld, values, "a mapping of values to types", &self->ntf_values);
    for (size_t i = 0; self->tf_values && i < hub_yaml_len(ld->doc, values); i++) {
        int v = hub_yaml_value(ld->doc, values, i);
        const char *type = hub_yaml_str(ld->doc, v, NULL);
        if (type) {
            s_find_msgmap(ld, v, type);
        }
    }
    if (skip) {
        bool seq = hub_yaml_kind(ld->doc, skip) == HUB_YAML_SEQ;
        size_t len = seq ? hub_yaml_len(ld->doc, skip) : 1;
        hubc_pair_t *sk = s_alloc(ld, len * sizeof *sk);
        for (size_t i = 0; sk && i < len; i++) {
            const char *v = s_scalar(ld, seq ? hub_yaml_item(ld->doc, skip, i) : skip, "a value");
            if (v) {
                sk[self->ntf_skip].from = s_cleaned(ld, v, &sk[self->ntf_skip].from_len);
                sk[self->ntf_skip++].to = "";
            }
        }
        if (self->ntf_skip > 1) {
            qsort(sk, self->ntf_skip, sizeof *sk, hubc_pair_cmp);
        }
        self->tf_skip = sk;
    }
}

// The key columns; a key column mapped somewhere as citizen_id is
// normalised as one, so 15- and 18-digit IDs give the same id.
static void
s_key(s_load_t *ld, int node)
{
    hubc_map_t *self = ld->self;
    if (!node) {
        s_err(ld, hub_yaml_root(ld->doc), "required",
              "'key' is missing: the columns that identify a record (the message id comes from "
              "them)");
        return;
    }
    self->key = s_columns(ld, node, "key", &self->nkey);
    if (self->nkey > HUBC_MAP_MAX_KEYS) {
        s_err(ld, node, "limit", "at most %d key columns", HUBC_MAP_MAX_KEYS);
    }
    self->key_cid = s_alloc(ld, (self->nkey ? self->nkey : 1) * sizeof *self->key_cid);
    self->kv = s_alloc(ld, (self->nkey ? self->nkey : 1) * sizeof *self->kv);
    self->kl = s_alloc(ld, (self->nkey ? self->nkey : 1) * sizeof *self->kl);
    for (size_t k = 0; self->key && self->key_cid && k < self->nkey; k++) {
        for (size_t m = 0; m < self->nmsgs; m++) {
            const hubc_msgmap_t *mm = &self->msgs[m];
            for (size_t f = 0; f < mm->nfields; f++) {
                const hubc_fieldmap_t *fm = &mm->fields[f];
                self->key_cid[k] |=
                    fm->as == HUBC_AS_CITIZEN_ID && fm->ncols == 1 && fm->cols[0] == self->key[k];
            }
        }
    }
}

// ------------------------------------------------------------------ the file

// The department and endpoint, checked against departments.yaml.
static void
s_identity(s_load_t *ld, int root)
{
    hubc_map_t *self = ld->self;
    int64_t version = 0;
    int node = hub_yaml_get(ld->doc, root, "adapter");
    if (hub_yaml_get_int(ld->doc, root, "adapter", true, &version, ld->diag) != HUB_OK) {
        ld->errors++;
    } else if (version != 1) {
        s_err(ld, node, "version_newer", "mapping format %lld; this hub-adapter reads format 1",
              (long long) version);
    }
    ld->errors +=
        hub_yaml_get_str(ld->doc, root, "department", true, &self->department, ld->diag) != HUB_OK;
    ld->errors +=
        hub_yaml_get_str(ld->doc, root, "endpoint", true, &self->endpoint, ld->diag) != HUB_OK;
    if (!ld->depts) {
        return;
    }
    if (self->department && !hub_depts_find(ld->depts, self->department)) {
        const char *names[32] = {NULL};
        for (size_t i = 0; i < hub_depts_count(ld->depts) && i < 31; i++) {
            names[i] = hub_depts_at(ld->depts, i)->id;
        }
        char hint[96];
        s_hint(hint, sizeof hint, self->department, names);
        s_err(ld, hub_yaml_get(ld->doc, root, "department"), "unknown_code",
              "no department '%s' in departments.yaml%s", self->department, hint);
        self->department = NULL;
    }
    const hub_endpoint_t *ep =
        self->endpoint ? hub_depts_endpoint(ld->depts, self->endpoint) : NULL;
    if (self->endpoint && (!ep || !self->department || strcmp(ep->department, self->department))) {
        s_err(ld, hub_yaml_get(ld->doc, root, "endpoint"), "unknown_code",
              ep ? "endpoint '%s' belongs to %s, not to this department"
                 : "no endpoint '%s' in departments.yaml%s",
              self->endpoint, ep ? ep->department : "");
    }
}

static void
s_load(s_load_t *ld)
{
    hubc_map_t *self = ld->self;
    int root = hub_yaml_root(ld->doc);
    if (!root || !hub_yaml_expect(ld->doc, root, HUB_YAML_MAP,
                                  "a mapping (adapter, department, ...)", ld->diag)) {
        s_err(ld, root, "wrong_type", "a mapping file is a YAML mapping (adapter: 1, ...)");
        return;
    }
    ld->errors += hub_yaml_check_keys(ld->doc, root, s_top_keys, ld->diag);
    s_identity(ld, root);
    s_input(ld, hub_yaml_get(ld->doc, root, "input"));
    s_messages(ld, hub_yaml_get(ld->doc, root, "messages"));
    int type = hub_yaml_get(ld->doc, root, "type"), from = hub_yaml_get(ld->doc, root, "type_from");
    if ((type != 0) == (from != 0)) {
        s_err(ld, root, "bad_value",
              "give exactly one of 'type' (one type for every record) or "
              "'type_from' (the type by a column's value)");
    } else if (type) {
        const char *t = s_scalar(ld, type, "type");
        self->fixed = t ? s_find_msgmap(ld, type, t) : NULL;
    } else {
        s_type_from(ld, from);
    }
    s_key(ld, hub_yaml_get(ld->doc, root, "key"));
}

// The mapping's name: PATH without its directory and .yaml / .yml.
static char *
s_name(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (n > 5 && strcmp(base + n - 5, ".yaml") == 0) {
        n -= 5;
    } else if (n > 4 && strcmp(base + n - 4, ".yml") == 0) {
        n -= 4;
    }
    return strndup(base, n);
}

// Loads the document DOC (taken over) into *OUT.
static int
s_build(hubc_map_t **out, hub_yaml_t *doc, const hub_schemas_t *schemas, const hub_depts_t *depts,
        hub_diag_t *diag)
{
    hubc_map_t *self = calloc(1, sizeof *self);
    if (!self) {
        hub_yaml_destroy(&doc);
        return HUB_ENOMEM;
    }
    self->doc = doc;
    self->schemas = schemas;
    self->arena = hub_arena_new(16384);
    self->name = s_name(hub_yaml_name(doc));
    self->vdiag = hub_diag_new();
    if (!self->arena || !self->name || !self->vdiag) {
        hubc_map_destroy(&self);
        return HUB_ENOMEM;
    }
    hubc_map_set_recorded_at(self, NULL);
    if (sodium_init() < 0) {
        hubc_map_destroy(&self);
        return HUB_ENOMEM;
    }
    s_load_t ld = {self, doc, depts, diag, 0};
    s_load(&ld);
    if (ld.errors) {
        hubc_map_destroy(&self);
        return HUB_ECONFIG;
    }
    *out = self;
    return HUB_OK;
}

int
hubc_map_load(hubc_map_t **out, const char *path, const hub_schemas_t *schemas,
              const hub_depts_t *depts, hub_diag_t *diag)
{
    *out = NULL;
    hub_yaml_t *doc = NULL;
    int rc = hub_yaml_load_file(&doc, path, diag);
    return rc ? rc : s_build(out, doc, schemas, depts, diag);
}

int
hubc_map_load_buffer(hubc_map_t **out, const char *name, const void *data, size_t len,
                     const hub_schemas_t *schemas, const hub_depts_t *depts, hub_diag_t *diag)
{
    *out = NULL;
    hub_yaml_t *doc = NULL;
    int rc = hub_yaml_load_buffer(&doc, name, data, len, diag);
    return rc ? rc : s_build(out, doc, schemas, depts, diag);
}

void
hubc_map_destroy(hubc_map_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    hubc_map_t *self = *self_p;
    hub_yaml_destroy(&self->doc);
    hub_arena_destroy(&self->arena);
    hub_diag_destroy(&self->vdiag);
    hub_buf_free(&self->scratch);
    hub_buf_free(&self->keys);
    hub_buf_free(&self->conv);
    hub_buf_free(&self->items);
    free(self->columns);
    free(self->name);
    free(self);
    *self_p = NULL;
}
