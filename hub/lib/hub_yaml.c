#include "hub_yaml.h"

#include "hub_error.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

struct hub_yaml {
    char *name;           // the file name, for messages
    yaml_document_t doc;  // libyaml's tree
    bool loaded;          // DOC needs deleting
    unsigned char *state; // per node, merge-key expansion: 0 new, 1 busy, 2 done
};

static yaml_node_t *
s_node(const hub_yaml_t *self, int id)
{
    if (!self || id <= 0) {
        return NULL;
    }
    return yaml_document_get_node((yaml_document_t *) &self->doc, id);
}

static size_t
s_node_count(const hub_yaml_t *self)
{
    return (size_t) (self->doc.nodes.top - self->doc.nodes.start);
}

// The byte offset of LINE and COLUMN (0-based, COLUMN in characters):
// libyaml's marks count characters, and the text may be UTF-8.
static size_t
s_byte_at(const char *data, size_t len, size_t line, size_t column)
{
    size_t i = 0;
    for (size_t l = 0; l < line && i < len; i++) {
        l += data[i] == '\n';
    }
    for (size_t c = 0; c < column && i < len; c++) {
        i++;
        while (i < len && ((unsigned char) data[i] & 0xC0) == 0x80) {
            i++;
        }
    }
    return i;
}

// A hint for libyaml's terse PROBLEM; the byte at the problem's mark helps.
static const char *
s_hint(const char *problem, const char *data, size_t len, const yaml_mark_t *m)
{
    if (strstr(problem, "cannot start any token")) {
        size_t at = s_byte_at(data, len, m->line, m->column);
        bool tab = at < len && data[at] == '\t';
        return tab ? " (YAML does not allow tabs for indentation)"
                   : " (quote values that begin with @, ` or %)";
    }
    if (strstr(problem, "mapping values are not allowed") ||
        strstr(problem, "did not find expected key") || strstr(problem, "expected <block end>") ||
        strstr(problem, "did not find expected '-' indicator") || strstr(problem, "expected ':'")) {
        return " (check the indentation of this line and the one above)";
    }
    if (strstr(problem, "expected ',' or ']'") || strstr(problem, "expected ',' or '}'")) {
        return " (a '[' or '{' above is not closed)";
    }
    if (strstr(problem, "found unexpected end of stream")) {
        return " (a quote is not closed)";
    }
    return "";
}

static void
s_parse_error(const char *name, const yaml_parser_t *p, const char *data, size_t len,
              hub_diag_t *diag)
{
    char where[HUB_DIAG_WHERE_MAX];
    const yaml_mark_t *m = p->problem ? &p->problem_mark : &p->context_mark;
    hub_diag_place(where, sizeof where, name, (long) m->line + 1, (long) m->column + 1);
    const char *problem = p->problem ? p->problem : "syntax error";
    const char *hint = s_hint(problem, data, len, m);
    if (p->context) {
        hub_diag_add(diag, HUB_DIAG_ERROR, "yaml_syntax", where, "%s, %s at line %zu%s", problem,
                     p->context, p->context_mark.line + 1, hint);
    } else {
        hub_diag_add(diag, HUB_DIAG_ERROR, "yaml_syntax", where, "%s%s", problem, hint);
    }
}

static int
s_expand_merges(hub_yaml_t *self, int id, unsigned depth, hub_diag_t *diag);

static bool
s_is_merge_key(const hub_yaml_t *self, int key)
{
    yaml_node_t *k = s_node(self, key);
    return k && k->type == YAML_SCALAR_NODE && k->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
           strcmp((const char *) k->data.scalar.value, "<<") == 0;
}

static bool
s_has_key(const hub_yaml_t *self, const yaml_node_pair_t *pairs, size_t n, int key)
{
    const char *k = hub_yaml_str(self, key, NULL);
    for (size_t i = 0; k && i < n; i++) {
        const char *other = hub_yaml_str(self, pairs[i].key, NULL);
        if (other && strcmp(other, k) == 0) {
            return true;
        }
    }
    return false;
}

// Appends to OUT the pairs of (expanded) mapping SRC whose keys OUT lacks.
static int
s_merge_from(hub_yaml_t *self, int src, yaml_node_pair_t *out, size_t *n)
{
    yaml_node_t *m = s_node(self, src);
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        if (!s_has_key(self, out, *n, p->key)) {
            out[(*n)++] = *p;
        }
    }
    return HUB_OK;
}

static size_t
s_merge_capacity(const hub_yaml_t *self, yaml_node_t *m)
{
    size_t cap = (size_t) (m->data.mapping.pairs.top - m->data.mapping.pairs.start);
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        if (!s_is_merge_key(self, p->key)) {
            continue;
        }
        yaml_node_t *v = s_node(self, p->value);
        if (v->type == YAML_MAPPING_NODE) {
            cap += (size_t) (v->data.mapping.pairs.top - v->data.mapping.pairs.start);
        } else if (v->type == YAML_SEQUENCE_NODE) {
            for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top;
                 i++) {
                yaml_node_t *x = s_node(self, *i);
                if (x->type == YAML_MAPPING_NODE) {
                    cap += (size_t) (x->data.mapping.pairs.top - x->data.mapping.pairs.start);
                }
            }
        }
    }
    return cap;
}

// Expands the mappings that mapping ID merges in, so their sizes are final.
static int
s_expand_sources(hub_yaml_t *self, int id, unsigned depth, hub_diag_t *diag)
{
    int rc = HUB_OK;
    for (size_t i = 0; !rc && i < hub_yaml_len(self, id); i++) {
        if (!s_is_merge_key(self, hub_yaml_key(self, id, i))) {
            continue;
        }
        int v = hub_yaml_value(self, id, i);
        bool seq = hub_yaml_kind(self, v) == HUB_YAML_SEQ;
        size_t n = seq ? hub_yaml_len(self, v) : 1;
        for (size_t j = 0; !rc && j < n; j++) {
            int src = seq ? hub_yaml_item(self, v, j) : v;
            if (hub_yaml_kind(self, src) != HUB_YAML_MAP) {
                hub_yaml_error(self, src, diag, "yaml_merge",
                               "'<<' must name a mapping (or a list of them)");
                rc = HUB_ECONFIG;
            } else {
                rc = s_expand_merges(self, src, depth + 1, diag);
            }
        }
    }
    return rc;
}

// Rewrites mapping ID so that its "<<" keys are replaced by the pairs they
// merge in. Merged mappings are expanded first; a cycle is an error.
static int
s_expand_merges(hub_yaml_t *self, int id, unsigned depth, hub_diag_t *diag)
{
    yaml_node_t *m = s_node(self, id);
    if (self->state[id] == 2) {
        return HUB_OK;
    }
    if (self->state[id] == 1 || depth > 64) {
        hub_yaml_error(self, id, diag, "yaml_merge", "merge keys ('<<') form a cycle");
        return HUB_ECONFIG;
    }
    self->state[id] = 1;
    size_t total = (size_t) (m->data.mapping.pairs.top - m->data.mapping.pairs.start);
    bool any = false;
    for (size_t i = 0; i < total; i++) {
        any |= s_is_merge_key(self, m->data.mapping.pairs.start[i].key);
    }
    int rc = any ? s_expand_sources(self, id, depth, diag) : HUB_OK;
    if (any && !rc) {
        m = s_node(self, id);
        yaml_node_pair_t *out = malloc(sizeof *out * s_merge_capacity(self, m));
        size_t n = 0;
        if (!out) {
            return HUB_ENOMEM;
        }
        for (size_t i = 0; i < total; i++) {
            yaml_node_pair_t p = m->data.mapping.pairs.start[i];
            if (!s_is_merge_key(self, p.key)) {
                out[n++] = p;
            }
        }
        for (size_t i = 0; !rc && i < total; i++) {
            yaml_node_pair_t p = m->data.mapping.pairs.start[i];
            if (!s_is_merge_key(self, p.key)) {
                continue;
            }
            if (hub_yaml_kind(self, p.value) == HUB_YAML_SEQ) {
                for (size_t j = 0; !rc && j < hub_yaml_len(self, p.value); j++) {
                    rc = s_merge_from(self, hub_yaml_item(self, p.value, j), out, &n);
                }
            } else {
                rc = s_merge_from(self, p.value, out, &n);
            }
        }
        m = s_node(self, id);
        free(m->data.mapping.pairs.start); // libyaml's yaml_free is free()
        m->data.mapping.pairs.start = out;
        m->data.mapping.pairs.top = out + n;
        m->data.mapping.pairs.end = out + n;
    }
    self->state[id] = 2;
    return rc;
}

static int
s_expand_all(hub_yaml_t *self, hub_diag_t *diag)
{
    size_t n = s_node_count(self);
    self->state = calloc(n + 1, 1);
    if (!self->state) {
        return HUB_ENOMEM;
    }
    int rc = HUB_OK;
    for (size_t id = 1; !rc && id <= n; id++) {
        if (s_node(self, (int) id)->type == YAML_MAPPING_NODE) {
            rc = s_expand_merges(self, (int) id, 0, diag);
        }
    }
    return rc;
}

static int
s_load(hub_yaml_t *self, const void *data, size_t len, hub_diag_t *diag)
{
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        return HUB_ENOMEM;
    }
    yaml_parser_set_input_string(&parser, data, len);
    int rc = HUB_OK;
    if (!yaml_parser_load(&parser, &self->doc)) {
        s_parse_error(self->name, &parser, data, len, diag);
        rc = parser.error == YAML_MEMORY_ERROR ? HUB_ENOMEM : HUB_ECONFIG;
    } else {
        self->loaded = true;
        yaml_document_t extra;
        if (!yaml_parser_load(&parser, &extra)) {
            s_parse_error(self->name, &parser, data, len, diag);
            rc = HUB_ECONFIG;
        } else {
            if (yaml_document_get_root_node(&extra)) {
                hub_diag_add(diag, HUB_DIAG_ERROR, "yaml_syntax", self->name,
                             "more than one YAML document ('---') in one file");
                rc = HUB_ECONFIG;
            }
            yaml_document_delete(&extra);
        }
    }
    yaml_parser_delete(&parser);
    return rc ? rc : s_expand_all(self, diag);
}

int
hub_yaml_load_buffer(hub_yaml_t **out, const char *name, const void *data, size_t len,
                     hub_diag_t *diag)
{
    *out = NULL;
    if (len > HUB_YAML_MAX_SIZE) {
        hub_diag_add(diag, HUB_DIAG_ERROR, "too_large", name, "file larger than %u bytes",
                     HUB_YAML_MAX_SIZE);
        return HUB_ECONFIG;
    }
    hub_yaml_t *self = calloc(1, sizeof *self);
    if (!self || !(self->name = strdup(name))) {
        free(self);
        return HUB_ENOMEM;
    }
    int rc = s_load(self, data, len, diag);
    if (rc) {
        hub_yaml_destroy(&self);
        return rc;
    }
    *out = self;
    return HUB_OK;
}

int
hub_yaml_load_file(hub_yaml_t **out, const char *path, hub_diag_t *diag)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        hub_diag_add(diag, HUB_DIAG_ERROR, "io", path, "cannot open: %s", strerror(errno));
        return HUB_EIO;
    }
    char *data = malloc(HUB_YAML_MAX_SIZE + 1);
    size_t len = data ? fread(data, 1, HUB_YAML_MAX_SIZE + 1, f) : 0;
    int failed = ferror(f);
    fclose(f);
    if (!data) {
        return HUB_ENOMEM;
    }
    int rc;
    if (failed) {
        hub_diag_add(diag, HUB_DIAG_ERROR, "io", path, "cannot read");
        rc = HUB_EIO;
    } else {
        rc = hub_yaml_load_buffer(out, path, data, len, diag);
    }
    free(data);
    return rc;
}

void
hub_yaml_destroy(hub_yaml_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    hub_yaml_t *self = *self_p;
    if (self->loaded) {
        yaml_document_delete(&self->doc);
    }
    free(self->state);
    free(self->name);
    free(self);
    *self_p = NULL;
}

const char *
hub_yaml_name(const hub_yaml_t *self)
{
    return self->name;
}

int
hub_yaml_root(const hub_yaml_t *self)
{
    return yaml_document_get_root_node((yaml_document_t *) &self->doc) ? 1 : 0;
}

hub_yaml_kind_t
hub_yaml_kind(const hub_yaml_t *self, int node)
{
    yaml_node_t *n = s_node(self, node);
    if (!n) {
        return HUB_YAML_NONE;
    }
    switch (n->type) {
    case YAML_SCALAR_NODE:
        return HUB_YAML_SCALAR;
    case YAML_SEQUENCE_NODE:
        return HUB_YAML_SEQ;
    case YAML_MAPPING_NODE:
        return HUB_YAML_MAP;
    case YAML_NO_NODE:
        break;
    }
    return HUB_YAML_NONE;
}

const char *
hub_yaml_str(const hub_yaml_t *self, int node, size_t *len)
{
    yaml_node_t *n = s_node(self, node);
    if (!n || n->type != YAML_SCALAR_NODE) {
        return NULL;
    }
    if (len) {
        *len = n->data.scalar.length;
    }
    return (const char *) n->data.scalar.value;
}

bool
hub_yaml_is_plain(const hub_yaml_t *self, int node)
{
    yaml_node_t *n = s_node(self, node);
    return n && n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

size_t
hub_yaml_len(const hub_yaml_t *self, int node)
{
    yaml_node_t *n = s_node(self, node);
    if (!n) {
        return 0;
    }
    if (n->type == YAML_SEQUENCE_NODE) {
        return (size_t) (n->data.sequence.items.top - n->data.sequence.items.start);
    }
    if (n->type == YAML_MAPPING_NODE) {
        return (size_t) (n->data.mapping.pairs.top - n->data.mapping.pairs.start);
    }
    return 0;
}

int
hub_yaml_item(const hub_yaml_t *self, int node, size_t i)
{
    yaml_node_t *n = s_node(self, node);
    if (!n || n->type != YAML_SEQUENCE_NODE || i >= hub_yaml_len(self, node)) {
        return 0;
    }
    return n->data.sequence.items.start[i];
}

int
hub_yaml_key(const hub_yaml_t *self, int node, size_t i)
{
    yaml_node_t *n = s_node(self, node);
    if (!n || n->type != YAML_MAPPING_NODE || i >= hub_yaml_len(self, node)) {
        return 0;
    }
    return n->data.mapping.pairs.start[i].key;
}

int
hub_yaml_value(const hub_yaml_t *self, int node, size_t i)
{
    yaml_node_t *n = s_node(self, node);
    if (!n || n->type != YAML_MAPPING_NODE || i >= hub_yaml_len(self, node)) {
        return 0;
    }
    return n->data.mapping.pairs.start[i].value;
}

int
hub_yaml_get(const hub_yaml_t *self, int map, const char *key)
{
    size_t n = hub_yaml_kind(self, map) == HUB_YAML_MAP ? hub_yaml_len(self, map) : 0;
    for (size_t i = 0; i < n; i++) {
        const char *k = hub_yaml_str(self, hub_yaml_key(self, map, i), NULL);
        if (k && strcmp(k, key) == 0) {
            return hub_yaml_value(self, map, i);
        }
    }
    return 0;
}

int
hub_yaml_line(const hub_yaml_t *self, int node)
{
    yaml_node_t *n = s_node(self, node);
    return n ? (int) n->start_mark.line + 1 : 0;
}

void
hub_yaml_where(const hub_yaml_t *self, int node, char *buf, size_t size)
{
    yaml_node_t *n = s_node(self, node);
    if (!n) {
        snprintf(buf, size, "%s", self ? self->name : "?");
        return;
    }
    hub_diag_place(buf, size, self->name, (long) n->start_mark.line + 1,
                   (long) n->start_mark.column + 1);
}

void
hub_yaml_error(const hub_yaml_t *self, int node, hub_diag_t *diag, const char *reason,
               const char *fmt, ...)
{
    if (!diag) {
        return;
    }
    char where[HUB_DIAG_WHERE_MAX], text[HUB_DIAG_TEXT_MAX];
    hub_yaml_where(self, node, where, sizeof where);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    hub_diag_add(diag, HUB_DIAG_ERROR, reason, where, "%s", text);
}

static const char *
s_kind_name(hub_yaml_kind_t k)
{
    switch (k) {
    case HUB_YAML_SCALAR:
        return "a single value";
    case HUB_YAML_SEQ:
        return "a list";
    case HUB_YAML_MAP:
        return "a mapping";
    case HUB_YAML_NONE:
        break;
    }
    return "nothing";
}

bool
hub_yaml_expect(const hub_yaml_t *self, int node, hub_yaml_kind_t kind, const char *what,
                hub_diag_t *diag)
{
    hub_yaml_kind_t k = hub_yaml_kind(self, node);
    if (k == kind) {
        return true;
    }
    hub_yaml_error(self, node, diag, "wrong_type", "expected %s, found %s", what, s_kind_name(k));
    return false;
}

static size_t
s_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63) {
        return SIZE_MAX;
    }
    size_t row[64];
    for (size_t j = 0; j <= lb; j++) {
        row[j] = j;
    }
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            best = up + 1 < best ? up + 1 : best;
            best = row[j - 1] + 1 < best ? row[j - 1] + 1 : best;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *
hub_yaml_suggest(const char *word, const char *const *allowed)
{
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    size_t limit = strlen(word) / 3 > 2 ? strlen(word) / 3 : 2;
    for (size_t i = 0; allowed && allowed[i]; i++) {
        size_t d = s_distance(word, allowed[i]);
        // One word inside the other ("citizen" / "citizen_id", "grade_level" /
        // "grade") is as good a hint as a typo.
        size_t wl = strlen(word), al = strlen(allowed[i]);
        size_t shorter = wl < al ? wl : al;
        if (shorter >= 4 && strncmp(word, allowed[i], shorter) == 0) {
            d = d < limit ? d : limit;
        }
        if (d <= limit && d < best_d) {
            best = allowed[i];
            best_d = d;
        }
    }
    return best;
}

static void
s_report_unknown(const hub_yaml_t *self, int key, const char *k, const char *const *allowed,
                 hub_diag_t *diag)
{
    const char *hint = hub_yaml_suggest(k, allowed);
    if (hint) {
        hub_yaml_error(self, key, diag, "unknown_key", "unknown key '%s' (did you mean '%s'?)", k,
                       hint);
    } else {
        char list[200] = "";
        size_t used = 0;
        for (size_t i = 0; allowed[i] && used < sizeof list - 1; i++) {
            int w = snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", allowed[i]);
            used += w > 0 ? (size_t) w : 0;
        }
        hub_yaml_error(self, key, diag, "unknown_key", "unknown key '%s' (expected one of: %s)", k,
                       list);
    }
}

size_t
hub_yaml_check_keys(const hub_yaml_t *self, int map, const char *const *allowed, hub_diag_t *diag)
{
    size_t problems = 0, n = hub_yaml_len(self, map);
    for (size_t i = 0; i < n; i++) {
        int key = hub_yaml_key(self, map, i);
        const char *k = hub_yaml_str(self, key, NULL);
        if (!k) {
            hub_yaml_error(self, key, diag, "wrong_type", "a key must be a single value");
            problems++;
            continue;
        }
        // "x-..." keys hold anchors for the rest of the file (as in
        // docker-compose): never an error.
        bool known = strncmp(k, "x-", 2) == 0;
        for (size_t a = 0; allowed && allowed[a] && !known; a++) {
            known = strcmp(allowed[a], k) == 0;
        }
        if (allowed && !known) {
            s_report_unknown(self, key, k, allowed, diag);
            problems++;
        }
        for (size_t j = 0; j < i; j++) {
            const char *other = hub_yaml_str(self, hub_yaml_key(self, map, j), NULL);
            if (other && strcmp(other, k) == 0) {
                char first[HUB_DIAG_WHERE_MAX];
                hub_yaml_where(self, hub_yaml_key(self, map, j), first, sizeof first);
                hub_yaml_error(self, key, diag, "duplicate_key",
                               "key '%s' given twice (first at %s)", k, first);
                problems++;
                break;
            }
        }
    }
    return problems;
}

static int
s_get_scalar(const hub_yaml_t *self, int map, const char *key, bool required, int *node,
             hub_diag_t *diag)
{
    *node = hub_yaml_get(self, map, key);
    if (!*node) {
        if (required) {
            hub_yaml_error(self, map, diag, "missing_key", "missing required key '%s'", key);
        }
        return HUB_ENOTFOUND;
    }
    if (hub_yaml_kind(self, *node) != HUB_YAML_SCALAR) {
        hub_yaml_error(self, *node, diag, "wrong_type", "'%s' must be a single value, not %s", key,
                       s_kind_name(hub_yaml_kind(self, *node)));
        return HUB_ECONFIG;
    }
    return HUB_OK;
}

int
hub_yaml_get_str(const hub_yaml_t *self, int map, const char *key, bool required, const char **out,
                 hub_diag_t *diag)
{
    int node;
    int rc = s_get_scalar(self, map, key, required, &node, diag);
    if (rc == HUB_OK) {
        *out = hub_yaml_str(self, node, NULL);
    }
    return rc;
}

bool
hub_yaml_parse_int(const char *s, int64_t *out)
{
    if (!s || !*s || strchr(" \t\n", s[0])) {
        return false;
    }
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end != '\0') {
        return false;
    }
    *out = (int64_t) v;
    return true;
}

int
hub_yaml_get_int(const hub_yaml_t *self, int map, const char *key, bool required, int64_t *out,
                 hub_diag_t *diag)
{
    int node;
    int rc = s_get_scalar(self, map, key, required, &node, diag);
    if (rc == HUB_OK && !hub_yaml_parse_int(hub_yaml_str(self, node, NULL), out)) {
        hub_yaml_error(self, node, diag, "wrong_type", "'%s' must be an integer", key);
        rc = HUB_ECONFIG;
    }
    return rc;
}

int
hub_yaml_get_bool(const hub_yaml_t *self, int map, const char *key, bool required, bool *out,
                  hub_diag_t *diag)
{
    int node;
    int rc = s_get_scalar(self, map, key, required, &node, diag);
    if (rc) {
        return rc;
    }
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes", "on", NULL};
    static const char *const no[] = {"false", "False", "FALSE", "no", "No", "off", NULL};
    const char *s = hub_yaml_str(self, node, NULL);
    for (size_t i = 0; yes[i]; i++) {
        if (strcmp(s, yes[i]) == 0 || strcmp(s, no[i]) == 0) {
            *out = strcmp(s, yes[i]) == 0;
            return HUB_OK;
        }
    }
    hub_yaml_error(self, node, diag, "wrong_type", "'%s' must be true or false, not '%s'", key, s);
    return HUB_ECONFIG;
}
