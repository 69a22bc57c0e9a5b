// One rule from its YAML mapping (docs/RULES.md, "The rule format"): its
// id, sources, condition, recipients, derived type, fields and masking,
// each checked against the schemas and departments.yaml as it is read,
// then the rule against the law (hub_rules_check.c).
#include "hub_rules_int.h"

#include "hub_error.h"
#include "hub_validate.h"

#include <stdlib.h>
#include <string.h>

static const char *const s_rule_keys[] = {"id",    "description", "from", "types",   "when",
                                          "to",    "fields",      "mask", "purpose", "legal_basis",
                                          "share", "derive",      NULL};
static const char *const s_to_keys[] = {"department", "by", "level", "exact", NULL};
static const char *const s_derive_keys[] = {"type", "fields", NULL};
static const char *const s_dfield_keys[] = {"from", "value", NULL};

// A key whose value is one scalar or a list of scalars, as an array.
static int
s_words(hub_rules_t *self, const hub_yaml_t *doc, int node, const char ***out, size_t *n,
        hub_diag_t *diag)
{
    bool seq = hub_yaml_kind(doc, node) == HUB_YAML_SEQ;
    *n = seq ? hub_yaml_len(doc, node) : 1;
    *out = hub_rules_alloc(self, sizeof(char *) * (*n + 1));
    if (!*out) {
        return HUB_ENOMEM;
    }
    for (size_t i = 0; i < *n; i++) {
        int item = seq ? hub_yaml_item(doc, node, i) : node;
        const char *s = hub_yaml_str(doc, item, NULL);
        if (!s) {
            hub_yaml_error(doc, item, diag, "wrong_type", "expected a name or a list of names");
            return HUB_ECONFIG;
        }
        (*out)[i] = hub_rules_dup(self, s);
    }
    return HUB_OK;
}

static bool
s_valid_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.')) {
            return false;
        }
    }
    return true;
}

static int
s_parse_head(hub_rules_t *self, const hub_yaml_t *doc, int node, hub_rule_t *r, hub_diag_t *diag)
{
    const char *id = NULL, *share = "conditional";
    int rc = hub_yaml_get_str(doc, node, "id", true, &id, diag) ? HUB_ECONFIG : HUB_OK;
    if (rc == HUB_OK && !s_valid_id(id)) {
        hub_yaml_error(doc, hub_yaml_get(doc, node, "id"), diag, "bad_name",
                       "rule id '%s': 1-64 of a-z 0-9 - _ .", id);
        rc = HUB_ECONFIG;
    }
    for (size_t i = 0; rc == HUB_OK && i < self->nrules; i++) {
        if (strcmp(self->rules[i]->id, id) == 0) {
            hub_yaml_error(doc, hub_yaml_get(doc, node, "id"), diag, "duplicate_rule",
                           "rule id '%s' is used twice (first in %s:%d)", id, self->rules[i]->file,
                           self->rules[i]->line);
            rc = HUB_ECONFIG;
        }
    }
    const char *desc = NULL, *purpose = NULL, *basis = NULL;
    rc |= hub_yaml_get_str(doc, node, "description", false, &desc, diag) == HUB_ECONFIG;
    rc |= hub_yaml_get_str(doc, node, "purpose", false, &purpose, diag) == HUB_ECONFIG;
    rc |= hub_yaml_get_str(doc, node, "legal_basis", false, &basis, diag) == HUB_ECONFIG;
    rc |= hub_yaml_get_str(doc, node, "share", false, &share, diag) == HUB_ECONFIG;
    int sh = hub_share_parse(share);
    if (sh < 0) {
        hub_yaml_error(doc, hub_yaml_get(doc, node, "share"), diag, "bad_value",
                       "share is unconditional, conditional or none, not '%s'", share);
        rc = HUB_ECONFIG;
    }
    r->id = hub_rules_dup(self, id ? id : "?");
    r->description = hub_rules_dup(self, desc);
    r->purpose = purpose && *purpose ? hub_rules_dup(self, purpose) : NULL;
    r->legal_basis = basis && *basis ? hub_rules_dup(self, basis) : NULL;
    r->share = sh < 0 ? HUB_SHARE_CONDITIONAL : (hub_share_t) sh;
    return rc ? HUB_ECONFIG : HUB_OK;
}

// " (did you mean 'x'?)" for WORD among the departments, endpoints or
// types, written into BUF ("" when nothing is near).
static const char *
s_hint(const hub_rules_t *self, const char *word, int what, char *buf, size_t size)
{
    const char *names[256] = {NULL};
    size_t n = 0;
    for (size_t i = 0; what == 0 && i < hub_depts_count(self->depts) && n < 255; i++) {
        names[n++] = hub_depts_at(self->depts, i)->id;
    }
    for (size_t i = 0; what == 1 && i < hub_depts_endpoint_count(self->depts) && n < 255; i++) {
        names[n++] = hub_depts_endpoint_at(self->depts, i)->id;
    }
    for (size_t i = 0; what == 2 && i < hub_schemas_count(self->schemas) && n < 255; i++) {
        names[n++] = hub_schemas_at(self->schemas, i)->type;
    }
    const char *near = hub_yaml_suggest(word, names);
    snprintf(buf, size, "%s%s%s", near ? " (did you mean '" : "", near ? near : "",
             near ? "'?)" : "");
    return buf;
}

static int
s_parse_sources(hub_rules_t *self, const hub_yaml_t *doc, int node, hub_rule_t *r, hub_diag_t *diag)
{
    int from = hub_yaml_get(doc, node, "from"), types = hub_yaml_get(doc, node, "types");
    if (!from || !types) {
        hub_yaml_error(doc, node, diag, "missing_key", "rule '%s' needs '%s'", r->id,
                       from ? "types" : "from");
        return HUB_ECONFIG;
    }
    const char **names = NULL;
    int rc = s_words(self, doc, from, &r->from, &r->nfrom, diag);
    rc |= s_words(self, doc, types, &names, &r->ntypes, diag);
    if (rc) {
        return rc;
    }
    for (size_t i = 0; i < r->nfrom; i++) {
        char hint[96];
        if (!hub_depts_find(self->depts, r->from[i])) {
            hub_yaml_error(doc, from, diag, "unknown_department",
                           "rule '%s': no department '%s' in departments.yaml%s", r->id, r->from[i],
                           s_hint(self, r->from[i], 0, hint, sizeof hint));
            rc = HUB_ECONFIG;
        }
    }
    r->types = hub_rules_alloc(self, sizeof(void *) * (r->ntypes + 1));
    for (size_t i = 0; r->types && i < r->ntypes; i++) {
        r->types[i] = hub_schemas_find(self->schemas, names[i], strlen(names[i]));
        char hint[96];
        if (!r->types[i]) {
            hub_yaml_error(doc, types, diag, "unknown_type", "rule '%s': no message type '%s'%s",
                           r->id, names[i], s_hint(self, names[i], 2, hint, sizeof hint));
            rc = HUB_ECONFIG;
        }
    }
    return r->types ? rc : HUB_ENOMEM;
}

// The types a rule delivers: its derived type, or its source types.
static const hub_schema_t *const *
s_out_types(const hub_rule_t *r, size_t *n)
{
    *n = r->derive ? 1 : r->ntypes;
    return r->derive ? &r->derive : r->types;
}

// Reports PATH as unknown in schema S, with the nearest real path as a hint.
static void
s_unknown_path(const hub_yaml_t *doc, int node, const hub_rule_t *r, const hub_schema_t *s,
               const char *path, hub_diag_t *diag)
{
    char names[160][72];
    const char *list[161] = {NULL};
    size_t k = 0;
    for (int i = 0; i < HUB_SUBJ_COUNT && k < 160; i++) {
        if (s->has_subject[i]) {
            snprintf(names[k], sizeof names[k], "%s", s->subject[i].path);
            list[k] = names[k], k++;
        }
    }
    for (size_t i = 0; i < s->nfields && k < 160; i++) {
        snprintf(names[k], sizeof names[k], "%s", s->fields[i].path);
        list[k] = names[k], k++;
    }
    const char *hint = hub_yaml_suggest(path, list);
    hub_yaml_error(doc, node, diag, "unknown_field", "rule '%s': %s has no field '%s'%s%s%s", r->id,
                   s->type, path, hint ? " (did you mean '" : "", hint ? hint : "",
                   hint ? "'?)" : "");
}

// The spec of PATH in every type of TYPES (the same field type in each), or
// NULL after reporting.
static const hub_field_spec_t *
s_path_spec(const hub_yaml_t *doc, int node, const hub_rule_t *r, const hub_schema_t *const *types,
            size_t ntypes, const char *path, hub_diag_t *diag)
{
    const hub_field_spec_t *first = NULL;
    for (size_t i = 0; i < ntypes; i++) {
        const hub_field_spec_t *f = hub_schema_path(types[i], path);
        if (!f) {
            s_unknown_path(doc, node, r, types[i], path, diag);
            return NULL;
        }
        if (first && f->type != first->type) {
            hub_yaml_error(doc, node, diag, "type_mismatch",
                           "rule '%s': '%s' is %s in %s but %s in %s", r->id, path,
                           hub_ftype_name(first->type), types[0]->type, hub_ftype_name(f->type),
                           types[i]->type);
            return NULL;
        }
        first = first ? first : f;
    }
    return first;
}

static int
s_parse_when(hub_rules_t *self, const hub_yaml_t *doc, int node, hub_rule_t *r, hub_diag_t *diag)
{
    int when = hub_yaml_get(doc, node, "when");
    if (!when) {
        return HUB_OK;
    }
    size_t len;
    const char *src = hub_yaml_str(doc, when, &len);
    if (!src) {
        hub_yaml_error(doc, when, diag, "wrong_type", "'when' is a condition written as text");
        return HUB_ECONFIG;
    }
    hub_expr_origin_t origin = hub_rules_origin(doc, when);
    return hub_expr_compile_with(&r->when, src, len, r->types, r->ntypes, &origin, self->list_ids,
                                 self->nlists, diag);
}

static int
s_parse_recipient(hub_rules_t *self, const hub_yaml_t *doc, int item, hub_rule_t *r,
                  hub_recipient_t *to, hub_diag_t *diag)
{
    const char *id = hub_yaml_str(doc, item, NULL);
    if (id) {
        to->endpoint = hub_depts_endpoint(self->depts, id);
        char hint[96];
        if (!to->endpoint) {
            hub_yaml_error(doc, item, diag, "unknown_endpoint",
                           "rule '%s': no endpoint '%s' in departments.yaml%s", r->id, id,
                           s_hint(self, id, 1, hint, sizeof hint));
            return HUB_ECONFIG;
        }
        return HUB_OK;
    }
    const char *dept = NULL, *by = "subject.hukou_division", *level = "county";
    bool exact = false;
    if (!hub_yaml_expect(doc, item, HUB_YAML_MAP,
                         "an endpoint id or {department, by, level, exact}", diag) ||
        hub_yaml_get_bool(doc, item, "exact", false, &exact, diag) == HUB_ECONFIG ||
        hub_yaml_check_keys(doc, item, s_to_keys, diag) ||
        hub_yaml_get_str(doc, item, "department", true, &dept, diag) ||
        hub_yaml_get_str(doc, item, "by", false, &by, diag) == HUB_ECONFIG ||
        hub_yaml_get_str(doc, item, "level", false, &level, diag) == HUB_ECONFIG) {
        return HUB_ECONFIG;
    }
    int lv = hub_level_parse(level);
    if (!hub_depts_find(self->depts, dept) || lv < 0) {
        char hint[96];
        if (lv < 0) {
            hub_yaml_error(doc, item, diag, "bad_value",
                           "rule '%s': level is prefecture, county, township or village", r->id);
        } else {
            hub_yaml_error(doc, item, diag, "unknown_department",
                           "rule '%s': no department '%s' in departments.yaml%s", r->id, dept,
                           s_hint(self, dept, 0, hint, sizeof hint));
        }
        return HUB_ECONFIG;
    }
    const hub_field_spec_t *f = s_path_spec(doc, item, r, r->types, r->ntypes, by, diag);
    if (f && f->type != HUB_FT_DIVISION) {
        hub_yaml_error(doc, item, diag, "type_mismatch",
                       "rule '%s': 'by' must name a division field, and %s is %s", r->id, by,
                       hub_ftype_name(f->type));
        f = NULL;
    }
    *to = (hub_recipient_t){.department = hub_rules_dup(self, dept),
                            .by = hub_rules_dup(self, by),
                            .level = (hub_level_t) lv,
                            .exact = exact};
    return f ? HUB_OK : HUB_ECONFIG;
}

static int
s_parse_to(hub_rules_t *self, const hub_yaml_t *doc, int node, hub_rule_t *r, hub_diag_t *diag)
{
    int to = hub_yaml_get(doc, node, "to");
    if (!to || !hub_yaml_expect(doc, to, HUB_YAML_SEQ, "a list of recipients", diag)) {
        if (!to) {
            hub_yaml_error(doc, node, diag, "missing_key", "rule '%s' needs 'to'", r->id);
        }
        return HUB_ECONFIG;
    }
    r->nto = hub_yaml_len(doc, to);
    r->to = hub_rules_alloc(self, sizeof(hub_recipient_t) * (r->nto + 1));
    int rc = r->to ? HUB_OK : HUB_ENOMEM;
    for (size_t i = 0; r->to && i < r->nto; i++) {
        rc |= s_parse_recipient(self, doc, hub_yaml_item(doc, to, i), r, &r->to[i], diag);
    }
    return rc;
}

// A derive literal must be a valid value of its target field, checked now
// so that a rule that loads never makes an invalid message at run time.
static bool
s_literal_ok(hub_rules_t *self, const hub_field_spec_t *ts, const char *literal,
             const hub_yaml_t *doc, int node, const hub_rule_t *r, hub_diag_t *diag)
{
    hub_val_t v;
    int64_t i;
    if (ts->type == HUB_FT_INT || ts->type == HUB_FT_MONEY) {
        if (!hub_yaml_parse_int(literal, &i)) {
            hub_yaml_error(doc, node, diag, "bad_value", "rule '%s': %s wants an integer", r->id,
                           ts->path);
            return false;
        }
        v = hub_val_int(i);
    } else if (ts->type == HUB_FT_BOOL) {
        v = hub_val_bool(strcmp(literal, "true") == 0);
    } else {
        v = hub_val_str(literal, strlen(literal));
    }
    hub_diag_t *tmp = hub_diag_new();
    bool ok = tmp && hub_validate_value(self->schemas, ts, &v, ts->path, tmp) == HUB_OK;
    if (!ok && tmp && hub_diag_at(tmp, 0)) {
        hub_yaml_error(doc, node, diag, hub_diag_at(tmp, 0)->reason, "rule '%s': %s: %s", r->id,
                       ts->path, hub_diag_at(tmp, 0)->text);
    }
    hub_diag_destroy(&tmp);
    return ok;
}

static int
s_parse_derive_field(hub_rules_t *self, const hub_yaml_t *doc, int key, int val, hub_rule_t *r,
                     hub_derive_field_t *f, hub_diag_t *diag)
{
    const char *target = hub_yaml_str(doc, key, NULL), *from = NULL, *literal = NULL;
    const hub_schema_t *out = r->derive;
    const hub_field_spec_t *ts = target ? hub_schema_path(out, target) : NULL;
    if (!ts) {
        s_unknown_path(doc, key, r, out, target ? target : "?", diag);
        return HUB_ECONFIG;
    }
    if (hub_yaml_kind(doc, val) == HUB_YAML_MAP) {
        if (hub_yaml_check_keys(doc, val, s_dfield_keys, diag)) {
            return HUB_ECONFIG;
        }
        hub_yaml_get_str(doc, val, "from", false, &from, diag);
        hub_yaml_get_str(doc, val, "value", false, &literal, diag);
    } else {
        from = hub_yaml_str(doc, val, NULL);
    }
    if (!from == !literal) {
        hub_yaml_error(doc, val, diag, "bad_value",
                       "rule '%s': %s takes a source path, or {value: ...}", r->id, target);
        return HUB_ECONFIG;
    }
    // Envelope keys (id, type, event_date ...) are strings and may feed any
    // string-like field; subject and body paths must match in type.
    if (from && hub_env_find(from, strlen(from)) < 0) {
        const hub_field_spec_t *fs = s_path_spec(doc, val, r, r->types, r->ntypes, from, diag);
        if (!fs) {
            return HUB_ECONFIG;
        }
        bool same =
            fs->type == ts->type || (ts->type == HUB_FT_STRING || ts->type == HUB_FT_MSG_ID);
        if (!same) {
            hub_yaml_error(doc, val, diag, "type_mismatch", "rule '%s': %s is %s but %s is %s",
                           r->id, from, hub_ftype_name(fs->type), target, hub_ftype_name(ts->type));
            return HUB_ECONFIG;
        }
    }
    if (literal && !s_literal_ok(self, ts, literal, doc, val, r, diag)) {
        return HUB_ECONFIG;
    }
    *f = (hub_derive_field_t){.target = hub_rules_dup(self, target),
                              .from = hub_rules_dup(self, from),
                              .literal = hub_rules_dup(self, literal)};
    return HUB_OK;
}

static int
s_parse_derive(hub_rules_t *self, const hub_yaml_t *doc, int node, hub_rule_t *r, hub_diag_t *diag)
{
    int d = hub_yaml_get(doc, node, "derive");
    if (!d) {
        return HUB_OK;
    }
    const char *type = NULL;
    if (!hub_yaml_expect(doc, d, HUB_YAML_MAP, "{type, fields}", diag) ||
        hub_yaml_check_keys(doc, d, s_derive_keys, diag) ||
        hub_yaml_get_str(doc, d, "type", true, &type, diag)) {
        return HUB_ECONFIG;
    }
    r->derive = hub_schemas_find(self->schemas, type, strlen(type));
    int fields = hub_yaml_get(doc, d, "fields");
    if (!r->derive) {
        hub_yaml_error(doc, hub_yaml_get(doc, d, "type"), diag, "unknown_type",
                       "rule '%s': no message type '%s' to derive", r->id, type);
        return HUB_ECONFIG;
    }
    if (!fields || !hub_yaml_expect(doc, fields, HUB_YAML_MAP, "a mapping target: source", diag)) {
        hub_yaml_error(doc, d, diag, "missing_key", "rule '%s': derive needs 'fields'", r->id);
        return HUB_ECONFIG;
    }
    r->nderive = hub_yaml_len(doc, fields);
    r->derive_fields = hub_rules_alloc(self, sizeof(hub_derive_field_t) * (r->nderive + 1));
    int rc = r->derive_fields ? HUB_OK : HUB_ENOMEM;
    for (size_t i = 0; r->derive_fields && i < r->nderive; i++) {
        rc |= s_parse_derive_field(self, doc, hub_yaml_key(doc, fields, i),
                                   hub_yaml_value(doc, fields, i), r, &r->derive_fields[i], diag);
    }
    return rc;
}

static int
s_parse_fields(hub_rules_t *self, const hub_yaml_t *doc, int node, hub_rule_t *r, hub_diag_t *diag)
{
    int list = hub_yaml_get(doc, node, "fields");
    if (!list || !hub_yaml_expect(doc, list, HUB_YAML_SEQ, "a list of field paths", diag)) {
        if (!list) {
            hub_yaml_error(doc, node, diag, "missing_key",
                           "rule '%s' needs 'fields' (default deny: nothing is released "
                           "unless listed)",
                           r->id);
        }
        return HUB_ECONFIG;
    }
    size_t ntypes;
    const hub_schema_t *const *types = s_out_types(r, &ntypes);
    r->nfields = hub_yaml_len(doc, list);
    r->fields = hub_rules_alloc(self, sizeof(hub_rule_field_t) * (r->nfields + 1));
    int rc = r->fields ? HUB_OK : HUB_ENOMEM;
    for (size_t i = 0; r->fields && i < r->nfields; i++) {
        int item = hub_yaml_item(doc, list, i);
        const char *path = hub_yaml_str(doc, item, NULL);
        if (!path) {
            hub_yaml_error(doc, item, diag, "wrong_type",
                           "rule '%s': each field is a path such as body.death_date", r->id);
        }
        const hub_field_spec_t *f =
            path ? s_path_spec(doc, item, r, types, ntypes, path, diag) : NULL;
        if (!f) {
            rc = HUB_ECONFIG;
            continue;
        }
        r->fields[i] = (hub_rule_field_t){.path = f->path, .spec = f, .mask = HUB_MASK_NONE};
    }
    return rc;
}

static int
s_parse_mask(const hub_yaml_t *doc, int node, hub_rule_t *r, hub_diag_t *diag)
{
    int map = hub_yaml_get(doc, node, "mask");
    if (!map) {
        return HUB_OK;
    }
    if (!hub_yaml_expect(doc, map, HUB_YAML_MAP, "a mapping field: method", diag) ||
        hub_yaml_check_keys(doc, map, NULL, diag)) {
        return HUB_ECONFIG;
    }
    int rc = HUB_OK;
    for (size_t i = 0; i < hub_yaml_len(doc, map); i++) {
        const char *path = hub_yaml_str(doc, hub_yaml_key(doc, map, i), NULL);
        const char *how = hub_yaml_str(doc, hub_yaml_value(doc, map, i), NULL);
        hub_rule_field_t *f = NULL;
        for (size_t k = 0; path && k < r->nfields; k++) {
            f = r->fields[k].path && strcmp(r->fields[k].path, path) == 0 ? &r->fields[k] : f;
        }
        int m = hub_mask_parse(how);
        if (!f) {
            hub_yaml_error(doc, hub_yaml_key(doc, map, i), diag, "unknown_field",
                           "rule '%s': masks '%s', which its 'fields' do not release", r->id,
                           path ? path : "?");
            rc = HUB_ECONFIG;
        } else if (m < 0 || !hub_mask_applies((hub_mask_t) m, f->spec->type)) {
            hub_yaml_error(doc, hub_yaml_value(doc, map, i), diag, "bad_mask",
                           "rule '%s': '%s' is not a masking for %s (a %s field); use partial, "
                           "hash, year, age_band or drop as docs/RULES.md says",
                           r->id, how ? how : "?", path, hub_ftype_name(f->spec->type));
            rc = HUB_ECONFIG;
        } else {
            f->mask = (hub_mask_t) m;
        }
    }
    return rc;
}

int
hub_rules_parse_rule(hub_rules_t *self, const hub_yaml_t *doc, int node, hub_diag_t *diag)
{
    if (!hub_yaml_expect(doc, node, HUB_YAML_MAP, "a rule {id, from, types, to, fields, ...}",
                         diag)) {
        return HUB_ECONFIG;
    }
    hub_rule_t *r = hub_rules_alloc(self, sizeof *r);
    if (!r) {
        return HUB_ENOMEM;
    }
    r->file = hub_rules_dup(self, hub_yaml_name(doc));
    r->line = hub_yaml_line(doc, node);
    int rc = hub_yaml_check_keys(doc, node, s_rule_keys, diag) ? HUB_ECONFIG : HUB_OK;
    rc |= s_parse_head(self, doc, node, r, diag);
    rc |= s_parse_sources(self, doc, node, r, diag);
    if (rc == HUB_OK) {
        rc |= s_parse_when(self, doc, node, r, diag);
        rc |= s_parse_to(self, doc, node, r, diag);
        rc |= s_parse_derive(self, doc, node, r, diag);
    }
    if (rc == HUB_OK) {
        rc |= s_parse_fields(self, doc, node, r, diag);
        rc |= rc ? HUB_OK : s_parse_mask(doc, node, r, diag);
    }
    if (rc == HUB_OK) {
        rc = hub_rules_check_rule(self, r, doc, node, diag);
    }
    r->index = self->nrules;
    int pushed = hub_rules_push((void ***) &self->rules, &self->nrules, &self->rules_cap, r);
    if (pushed) {
        hub_expr_destroy(&r->when);
        return pushed;
    }
    return rc ? HUB_ECONFIG : HUB_OK;
}
