// The law, enforced when the rules load (hub_rules.h), and the warnings
// over the whole rule set.
#include "hub_error.h"
#include "hub_rules_int.h"

#include <string.h>

static bool
s_is_statutory(const char *const *list, size_t n, const char *endpoint)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i], endpoint) == 0) {
            return true;
        }
    }
    return false;
}

// Restricted types go to their statutory recipients only, named one by one.
static int
s_check_restricted_type(const hub_rules_t *self, const hub_rule_t *r, const hub_schema_t *type,
                        const hub_yaml_t *doc, int node, hub_diag_t *diag)
{
    size_t n;
    const char *const *ok = hub_depts_statutory(self->depts, type->type, &n);
    int to = hub_yaml_get(doc, node, "to"), rc = HUB_OK;
    for (size_t i = 0; i < r->nto; i++) {
        const char *name = r->to[i].endpoint ? r->to[i].endpoint->id : r->to[i].department;
        if (!r->to[i].endpoint || !s_is_statutory(ok, n, name)) {
            hub_yaml_error(doc, hub_yaml_item(doc, to, i), diag, "restricted",
                           "rule '%s': %s is restricted by law and may go only to its statutory "
                           "recipients (%s%s), not %s",
                           r->id, type->type, n ? ok[0] : "none listed", n > 1 ? ", ..." : "",
                           name);
            rc = HUB_ECONFIG;
        }
    }
    return rc;
}

static int
s_check_restricted(const hub_rules_t *self, const hub_rule_t *r, const hub_yaml_t *doc, int node,
                   hub_diag_t *diag)
{
    int rc = HUB_OK;
    for (size_t i = 0; i < r->ntypes; i++) {
        if (r->types[i]->sensitivity == HUB_SENS_RESTRICTED) {
            rc |= s_check_restricted_type(self, r, r->types[i], doc, node, diag);
        }
    }
    if (r->derive && r->derive->sensitivity == HUB_SENS_RESTRICTED) {
        rc |= s_check_restricted_type(self, r, r->derive, doc, node, diag);
    }
    return rc ? HUB_ECONFIG : HUB_OK;
}

static bool
s_sensitive(const hub_field_spec_t *f)
{
    return f->sensitivity >= HUB_SENS_SENSITIVE;
}

// The source fields a derived field of R copies, in every source type.
static const hub_field_spec_t *
s_derive_source(const hub_rule_t *r, const char *target, size_t type_i)
{
    for (size_t i = 0; i < r->nderive; i++) {
        if (strcmp(r->derive_fields[i].target, target) == 0 && r->derive_fields[i].from) {
            return hub_schema_path(r->types[type_i], r->derive_fields[i].from);
        }
    }
    return NULL;
}

static int
s_check_field(const hub_rule_t *r, const hub_field_spec_t *f, const char *via,
              const hub_yaml_t *doc, int item, hub_diag_t *diag)
{
    if (f->share == HUB_SHARE_NONE) {
        hub_yaml_error(doc, item, diag, "share_none",
                       "rule '%s' releases %s%s%s, whose share category is none (不予共享): no "
                       "rule may release it",
                       r->id, f->path, via ? " via " : "", via ? via : "");
        return HUB_ECONFIG;
    }
    if (s_sensitive(f) && (!r->purpose || !r->legal_basis)) {
        hub_yaml_error(doc, item, diag, "no_legal_basis",
                       "rule '%s' releases %s%s%s (%s) without %s: add 'purpose:' and "
                       "'legal_basis:' to the rule (PIPL Art. 28)",
                       r->id, f->path, via ? " via " : "", via ? via : "",
                       hub_sens_name(f->sensitivity),
                       !r->purpose && !r->legal_basis ? "a purpose and a legal basis"
                       : !r->purpose                  ? "a purpose"
                                                      : "a legal basis");
        return HUB_ECONFIG;
    }
    if (r->share == HUB_SHARE_UNCONDITIONAL && f->share != HUB_SHARE_UNCONDITIONAL) {
        hub_yaml_error(doc, item, diag, "share_category",
                       "rule '%s' is unconditional (无条件共享) but %s is %s: make the rule "
                       "conditional, with a purpose",
                       r->id, f->path, hub_share_name(f->share));
        return HUB_ECONFIG;
    }
    return HUB_OK;
}

static int
s_check_fields(const hub_rule_t *r, const hub_yaml_t *doc, int node, hub_diag_t *diag)
{
    int list = hub_yaml_get(doc, node, "fields"), rc = HUB_OK;
    size_t nout = r->derive ? 1 : r->ntypes;
    for (size_t i = 0; i < r->nfields; i++) {
        int item = hub_yaml_item(doc, list, i);
        // Every delivered type's own spec: a field may be sensitive in one
        // type (a minor's birth) and not in another.
        for (size_t t = 0; t < nout; t++) {
            const hub_schema_t *out = r->derive ? r->derive : r->types[t];
            const hub_field_spec_t *f = hub_schema_path(out, r->fields[i].path);
            rc |= f ? s_check_field(r, f, NULL, doc, item, diag) : HUB_OK;
        }
        for (size_t t = 0; r->derive && t < r->ntypes; t++) {
            const hub_field_spec_t *src = s_derive_source(r, r->fields[i].path, t);
            rc |= src ? s_check_field(r, src, r->fields[i].path, doc, item, diag) : HUB_OK;
        }
    }
    // Every delivery is recorded with its purpose and legal basis (PIPL
    // Arts. 6, 13, 55): a rule without them releases nothing.
    if (rc == HUB_OK && (!r->purpose || !r->legal_basis)) {
        hub_yaml_error(doc, node, diag, "no_legal_basis",
                       "rule '%s' needs %s: every delivery is recorded with both", r->id,
                       !r->purpose && !r->legal_basis ? "a purpose and a legal_basis"
                       : !r->purpose                  ? "a purpose"
                                                      : "a legal_basis");
        rc = HUB_ECONFIG;
    }
    if (r->share == HUB_SHARE_NONE && !r->legal_basis) {
        hub_yaml_error(doc, node, diag, "no_legal_basis",
                       "rule '%s' shares in category none (不予共享) and needs a legal_basis",
                       r->id);
        rc = HUB_ECONFIG;
    }
    return rc ? HUB_ECONFIG : HUB_OK;
}

int
hub_rules_check_rule(const hub_rules_t *self, const hub_rule_t *r, const hub_yaml_t *doc, int node,
                     hub_diag_t *diag)
{
    int rc = s_check_restricted(self, r, doc, node, diag);
    rc |= s_check_fields(r, doc, node, diag);
    bool can_match = false;
    for (size_t f = 0; f < r->nfrom; f++) {
        for (size_t t = 0; t < r->ntypes; t++) {
            can_match |= hub_depts_may_publish(self->depts, r->from[f], r->types[t]->type);
        }
    }
    if (!can_match) {
        char where[HUB_DIAG_WHERE_MAX];
        hub_yaml_where(doc, node, where, sizeof where);
        hub_diag_add(diag, HUB_DIAG_WARNING, "never_matches", where,
                     "rule '%s' can never match: departments.yaml lets none of its 'from' "
                     "departments publish its types",
                     r->id);
    }
    return rc ? HUB_ECONFIG : HUB_OK;
}

// Whether rule R can ever deliver to E: by name, or by jurisdiction at a
// level E can serve (a county-level recipient falls back to the prefecture
// but never reaches down to a township).
static bool
s_reaches(const hub_rule_t *r, const hub_endpoint_t *e)
{
    for (size_t i = 0; i < r->nto; i++) {
        const hub_recipient_t *to = &r->to[i];
        bool level_ok = to->exact ? e->level == to->level : e->level <= to->level;
        if (to->endpoint == e ||
            (!to->endpoint && strcmp(to->department, e->department) == 0 && level_ok)) {
            return true;
        }
    }
    return false;
}

static bool
s_same_text(const hub_rule_t *a, const hub_rule_t *b)
{
    const char *x = a->when ? hub_expr_source(a->when) : "";
    const char *y = b->when ? hub_expr_source(b->when) : "";
    return strcmp(x, y) == 0;
}

static bool
s_share_source(const hub_rule_t *a, const hub_rule_t *b)
{
    for (size_t i = 0; i < a->nfrom; i++) {
        for (size_t j = 0; j < b->nfrom; j++) {
            for (size_t t = 0; strcmp(a->from[i], b->from[j]) == 0 && t < a->ntypes; t++) {
                for (size_t u = 0; u < b->ntypes; u++) {
                    if (a->types[t] == b->types[u]) {
                        return true;
                    }
                }
            }
        }
    }
    return false;
}

// Two rules with the same source, type and condition reaching the same
// endpoint overlap: they are merged into one delivery, which is allowed
// but usually means one of them is redundant.
static void
s_warn_overlaps(const hub_rules_t *self, hub_diag_t *diag)
{
    for (size_t i = 0; i < self->nrules; i++) {
        const hub_rule_t *a = self->rules[i];
        for (size_t j = i + 1; j < self->nrules; j++) {
            const hub_rule_t *b = self->rules[j];
            if (a->derive != b->derive || !s_share_source(a, b) || !s_same_text(a, b)) {
                continue;
            }
            for (size_t k = 0; k < hub_depts_endpoint_count(self->depts); k++) {
                const hub_endpoint_t *e = hub_depts_endpoint_at(self->depts, k);
                if (s_reaches(a, e) && s_reaches(b, e)) {
                    char where[HUB_DIAG_WHERE_MAX];
                    snprintf(where, sizeof where, "%s:%d", b->file, b->line);
                    hub_diag_add(diag, HUB_DIAG_WARNING, "overlap", where,
                                 "rules '%s' and '%s' release the same messages to %s; they "
                                 "merge into one delivery",
                                 a->id, b->id, e->id);
                    break;
                }
            }
        }
    }
}

static void
s_warn_unreached(const hub_rules_t *self, hub_diag_t *diag)
{
    for (size_t k = 0; k < hub_depts_endpoint_count(self->depts); k++) {
        const hub_endpoint_t *e = hub_depts_endpoint_at(self->depts, k);
        bool reached = false;
        for (size_t i = 0; !reached && i < self->nrules; i++) {
            reached = s_reaches(self->rules[i], e);
        }
        if (!reached) {
            char where[HUB_DIAG_WHERE_MAX];
            snprintf(where, sizeof where, "%s:%d", hub_depts_file(self->depts), e->line);
            hub_diag_add(diag, HUB_DIAG_WARNING, "unreached", where, "no rule reaches endpoint %s",
                         e->id);
        }
    }
}

void
hub_rules_check_set(const hub_rules_t *self, hub_diag_t *diag)
{
    s_warn_overlaps(self, diag);
    s_warn_unreached(self, diag);
}
