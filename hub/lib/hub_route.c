#include "hub_route.h"

#include "hub_error.h"
#include "hub_validate.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_RULES 32   // rules merged into one delivery
#define S_MAX_DERIVED 16 // derived messages per routed message

typedef struct {
    hub_delivery_t pub;
    hub_msg_t *msg;        // owned, reused across runs
    const hub_msg_t *from; // the message its values come from
    const hub_rule_t *rules[S_MAX_RULES];
    hub_release_t fields[HUB_ROUTE_MAX_FIELDS];
    const hub_path_t *at[HUB_ROUTE_MAX_FIELDS]; // FIELDS[i]'s path, parsed by the rule set
    size_t hint[HUB_ROUTE_MAX_FIELDS];          // where FIELDS[i] was in the last message
} s_delivery_t;

struct hub_route {
    s_delivery_t del[HUB_ROUTE_MAX_DELIVERIES];
    size_t ndel;
    hub_msg_t *derived[S_MAX_DERIVED]; // owned, reused
    const hub_rule_t *derived_rule[S_MAX_DERIVED];
    size_t nderived;
    hub_route_trace_t *trace;
    size_t ntrace, trace_cap;
    bool explain;                 // format trace notes
    hub_expr_lookup_t lists;      // listed() membership (none: nothing listed)
    uint64_t rules_serial;        // the set of the last run
    const hub_codes_t *divisions; // this run's division table (looked up once)
};

hub_route_t *
hub_route_new(void)
{
    return calloc(1, sizeof(hub_route_t));
}

void
hub_route_set_explain(hub_route_t *self, bool explain)
{
    self->explain = explain;
}

void
hub_route_set_lists(hub_route_t *self, const hub_expr_lookup_t *lists)
{
    self->lists = lists ? *lists : (hub_expr_lookup_t){0};
}

void
hub_route_destroy(hub_route_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    hub_route_t *self = *self_p;
    for (size_t i = 0; i < HUB_ROUTE_MAX_DELIVERIES; i++) {
        hub_msg_destroy(&self->del[i].msg);
    }
    for (size_t i = 0; i < S_MAX_DERIVED; i++) {
        hub_msg_destroy(&self->derived[i]);
    }
    free(self->trace);
    free(self);
    *self_p = NULL;
}

uint64_t
hub_route_rules_serial(const hub_route_t *self)
{
    return self->rules_serial;
}

size_t
hub_route_count(const hub_route_t *self)
{
    return self->ndel;
}

const hub_delivery_t *
hub_route_at(const hub_route_t *self, size_t i)
{
    return i < self->ndel ? &self->del[i].pub : NULL;
}

size_t
hub_route_trace_count(const hub_route_t *self)
{
    return self->ntrace;
}

const hub_route_trace_t *
hub_route_trace_at(const hub_route_t *self, size_t i)
{
    return i < self->ntrace ? &self->trace[i] : NULL;
}

// Notes are for people (dry runs); the daemon routes without them.
#define S_NOTE(self, t, ...)                                                                       \
    do {                                                                                           \
        if ((self)->explain) {                                                                     \
            snprintf((t)->note, sizeof(t)->note, __VA_ARGS__);                                     \
        }                                                                                          \
    } while (0)

static hub_route_trace_t *
s_trace(hub_route_t *self, const hub_rule_t *r)
{
    if (self->ntrace == self->trace_cap) {
        size_t cap = self->trace_cap ? self->trace_cap * 2 : 16;
        hub_route_trace_t *t = realloc(self->trace, cap * sizeof *t);
        if (!t) {
            return NULL;
        }
        self->trace = t;
        self->trace_cap = cap;
    }
    hub_route_trace_t *t = &self->trace[self->ntrace++];
    t->rule = r;
    t->matched = false;
    t->note[0] = '\0';
    return t;
}

// A literal of a derive rule as a value of the target field's type.
static hub_val_t
s_literal(const char *lit, hub_ftype_t t)
{
    if (t == HUB_FT_INT || t == HUB_FT_MONEY) {
        return hub_val_int(strtoll(lit, NULL, 10));
    }
    if (t == HUB_FT_BOOL) {
        return hub_val_bool(strcmp(lit, "true") == 0);
    }
    return hub_val_str(lit, strlen(lit));
}

// The derived message's id: a hash of the rule and the source message id,
// so deriving again (a redelivery, a replay) gives the same id.
static void
s_derived_id(const hub_rule_t *r, const hub_msg_t *msg, char out[33])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_state st;
    const char *id = hub_msg_env_str(msg, HUB_ENV_ID);
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const unsigned char *) r->id, strlen(r->id) + 1);
    crypto_hash_sha256_update(&st, (const unsigned char *) id, strlen(id));
    crypto_hash_sha256_final(&st, h);
    sodium_bin2hex(out, 33, h, 16);
}

static int
s_derive_envelope(const hub_rule_t *r, const hub_msg_t *msg, hub_msg_t *out)
{
    char id[33];
    s_derived_id(r, msg, id);
    hub_val_t ver = hub_val_int(r->derive->version);
    int rc = hub_msg_set_env_str(out, HUB_ENV_ID, id);
    rc |= hub_msg_set_env_str(out, HUB_ENV_TYPE, r->derive->type);
    rc |= hub_msg_set_env(out, HUB_ENV_SCHEMA_VERSION, &ver);
    rc |= hub_msg_set_env(out, HUB_ENV_SOURCE, hub_msg_env(msg, HUB_ENV_SOURCE));
    rc |= hub_msg_set_env(out, HUB_ENV_SOURCE_REF, hub_msg_env(msg, HUB_ENV_ID));
    rc |= hub_msg_set_env(out, HUB_ENV_EVENT_DATE, hub_msg_env(msg, HUB_ENV_EVENT_DATE));
    rc |= hub_msg_set_env(out, HUB_ENV_RECORDED_AT, hub_msg_env(msg, HUB_ENV_RECORDED_AT));
    return rc ? HUB_ENOMEM : HUB_OK;
}

// Builds (once per run) the message rule R derives from MSG.
static const hub_msg_t *
s_derive(hub_route_t *self, const hub_rule_t *r, const hub_msg_t *msg, const hub_schemas_t *schemas,
         hub_diag_t *diag, int *rc)
{
    for (size_t i = 0; i < self->nderived; i++) {
        if (self->derived_rule[i] == r) {
            return self->derived[i];
        }
    }
    if (self->nderived == S_MAX_DERIVED) {
        *rc = HUB_ELIMIT;
        return NULL;
    }
    hub_msg_t **slot = &self->derived[self->nderived];
    if (!*slot && !(*slot = hub_msg_new())) {
        *rc = HUB_ENOMEM;
        return NULL;
    }
    hub_msg_t *out = *slot;
    hub_msg_reset(out);
    *rc = s_derive_envelope(r, msg, out);
    for (size_t i = 0; !*rc && i < r->nderive; i++) {
        const hub_derive_field_t *f = &r->derive_fields[i];
        hub_val_t lit;
        const hub_val_t *v = f->from ? hub_msg_get_at(msg, &f->from_at) : NULL;
        if (!f->from) {
            lit = s_literal(f->literal, hub_schema_path(r->derive, f->target)->type);
            v = &lit;
        }
        *rc = v && v->kind != HUB_VAL_NONE ? hub_msg_set_at(out, &f->target_at, v) : HUB_OK;
    }
    if (!*rc && hub_validate(schemas, out, 0, diag) != HUB_OK) {
        *rc = HUB_EINVALID;
    }
    self->derived_rule[self->nderived++] = r;
    return *rc ? NULL : out;
}

// The division to route by: retired county codes (会理县 513425) route as
// their successor (会理市 513402), since the code in an ID never changes.
static const char *
s_route_division(const hub_codes_t *div, const hub_val_t *v, char buf[16])
{
    const hub_code_t *c = div && v->len >= 6 ? hub_codes_find(div, v->u.s, 6) : NULL;
    if (c && c->successor && v->len < 16) {
        memcpy(buf, v->u.s, v->len + 1);
        memcpy(buf, c->successor, 6);
        return buf;
    }
    return v->u.s;
}

static s_delivery_t *
s_delivery_for(hub_route_t *self, const hub_endpoint_t *e, const hub_rule_t *r,
               const hub_msg_t *from, int *rc)
{
    const hub_schema_t *derived = r->derive;
    // One delivery per endpoint and message: the forwarded message, or each
    // derived one (two rules deriving the same type make two messages).
    for (size_t i = 0; i < self->ndel; i++) {
        if (self->del[i].pub.endpoint == e && self->del[i].from == from) {
            return &self->del[i];
        }
    }
    if (self->ndel == HUB_ROUTE_MAX_DELIVERIES) {
        *rc = HUB_ELIMIT;
        return NULL;
    }
    s_delivery_t *d = &self->del[self->ndel];
    if (!d->msg && !(d->msg = hub_msg_new())) {
        *rc = HUB_ENOMEM;
        return NULL;
    }
    self->ndel++;
    d->pub = (hub_delivery_t){e, d->msg, d->rules, 0, d->fields, 0, derived};
    d->from = from;
    return d;
}

// Adds rule R's fields to delivery D: a field already released stays with
// the rule that masks it least (the first such rule in rule-set order).
static int
s_add_rule(s_delivery_t *d, const hub_rule_t *r)
{
    if (d->pub.nrules == S_MAX_RULES) {
        return HUB_ELIMIT;
    }
    d->rules[d->pub.nrules++] = r;
    for (size_t i = 0; i < r->nfields; i++) {
        const hub_rule_field_t *f = &r->fields[i];
        hub_release_t *have = NULL;
        // The set interns its field paths: equal text, equal pointers.
        for (size_t k = 0; k < d->pub.nfields && !have; k++) {
            have = d->fields[k].path == f->path ? &d->fields[k] : NULL;
        }
        if (have) {
            if (f->mask != HUB_MASK_DROP &&
                (have->mask == HUB_MASK_DROP ||
                 (f->mask == HUB_MASK_NONE && have->mask != HUB_MASK_NONE))) {
                *have = (hub_release_t){f->path, r, f->mask, false};
            }
        } else if (d->pub.nfields == HUB_ROUTE_MAX_FIELDS) {
            return HUB_ELIMIT;
        } else {
            d->at[d->pub.nfields] = &f->at;
            d->fields[d->pub.nfields++] = (hub_release_t){f->path, r, f->mask, false};
        }
    }
    return HUB_OK;
}

// The endpoint recipient TO of rule R names for MSG, or NULL (noted in T).
static const hub_endpoint_t *
s_resolve(const hub_route_t *self, const hub_recipient_t *to, const hub_msg_t *msg,
          const hub_depts_t *depts, hub_route_trace_t *t)
{
    if (to->endpoint) {
        return to->endpoint;
    }
    const hub_val_t *v = hub_msg_get_at(msg, &to->by_at);
    if (!v || v->kind != HUB_VAL_STR) {
        S_NOTE(self, t, "%s is absent: no %s endpoint by jurisdiction", to->by, to->department);
        return NULL;
    }
    char buf[16];
    const char *div = s_route_division(self->divisions, v, buf);
    const hub_endpoint_t *e = hub_depts_resolve(depts, to->department, div, strlen(div), to->level);
    if (e && to->exact && e->level != to->level) {
        S_NOTE(self, t, "no %s endpoint at %s level serves division %s", to->department,
               hub_level_name(to->level), v->u.s);
        return NULL;
    }
    if (!e) {
        S_NOTE(self, t, "no %s endpoint serves division %s", to->department, v->u.s);
    }
    return e;
}

static int
s_apply_rule(hub_route_t *self, const hub_rule_t *r, const hub_msg_t *msg, const hub_depts_t *depts,
             const hub_schemas_t *schemas, hub_route_trace_t *t, hub_diag_t *diag)
{
    int rc = HUB_OK;
    const hub_msg_t *from = r->derive ? s_derive(self, r, msg, schemas, diag, &rc) : msg;
    if (!from) {
        // A derived message that comes out invalid (a source field it needs
        // is absent) is skipped with the reason in DIAG; the rest of the
        // routing goes on.
        S_NOTE(self, t, "the derived %s is not valid", r->derive->type);
        return rc == HUB_EINVALID ? HUB_OK : rc;
    }
    for (size_t i = 0; i < r->nto && !rc; i++) {
        const hub_endpoint_t *e = s_resolve(self, &r->to[i], msg, depts, t);
        s_delivery_t *d = e ? s_delivery_for(self, e, r, from, &rc) : NULL;
        bool again = false; // two recipients resolving to one endpoint
        for (size_t k = 0; d && k < d->pub.nrules; k++) {
            again |= d->rules[k] == r;
        }
        if (d && !again) {
            rc = s_add_rule(d, r);
        }
    }
    return rc;
}

// The envelope every delivery carries (source_ref stays in the hub: it can
// be a register number of the source system).
static const hub_env_t s_env_delivered[] = {
    HUB_ENV_ID,     HUB_ENV_TYPE,       HUB_ENV_SCHEMA_VERSION,
    HUB_ENV_SOURCE, HUB_ENV_EVENT_DATE, HUB_ENV_RECORDED_AT};

// The type of the message FROM, for masking: looked up only when a field
// is masked (most deliveries mask nothing).
static const hub_schema_t *
s_from_schema(const hub_schemas_t *schemas, const hub_msg_t *from)
{
    const char *type = hub_msg_env_str(from, HUB_ENV_TYPE);
    return hub_schemas_find(schemas, type, strlen(type));
}

static int
s_build(s_delivery_t *d, const hub_schemas_t *schemas, const uint8_t *key)
{
    hub_msg_t *out = d->msg;
    const hub_msg_t *from = d->from;
    hub_msg_reset(out);
    int rc = HUB_OK;
    for (size_t i = 0; i < sizeof s_env_delivered / sizeof s_env_delivered[0]; i++) {
        rc |= hub_msg_set_env(out, s_env_delivered[i], hub_msg_env(from, s_env_delivered[i]));
    }
    const char *event = hub_msg_env_str(from, HUB_ENV_EVENT_DATE);
    const hub_schema_t *s = NULL;
    bool have_s = false;
    for (size_t i = 0; !rc && i < d->pub.nfields; i++) {
        hub_release_t *f = &d->fields[i];
        const hub_val_t *v = hub_msg_get_at_hint(from, d->at[i], &d->hint[i]);
        f->present = false;
        if (!v || v->kind == HUB_VAL_NONE || f->mask == HUB_MASK_DROP) {
            continue;
        }
        hub_val_t masked = *v;
        char buf[HUB_MASK_OUT_MAX];
        if (f->mask != HUB_MASK_NONE && !have_s) {
            s = s_from_schema(schemas, from);
            have_s = true;
        }
        if (f->mask != HUB_MASK_NONE && v->kind == HUB_VAL_STR && s) {
            hub_ftype_t t = hub_schema_path(s, f->path)->type;
            size_t n = hub_mask_apply(f->mask, t, v->u.s, v->len, key, event, buf);
            masked = hub_val_str(buf, n);
        }
        rc = hub_msg_set_at(out, d->at[i], &masked);
        f->present = rc == HUB_OK;
    }
    return rc;
}

int
hub_route_run(hub_route_t *self, const hub_rules_t *rules, const hub_depts_t *depts,
              const hub_schemas_t *schemas, const hub_msg_t *msg,
              const uint8_t key[HUB_MASK_KEY_SIZE], hub_diag_t *diag)
{
    self->ndel = self->nderived = self->ntrace = 0;
    self->rules_serial = hub_rules_serial(rules);
    self->divisions = hub_schemas_codes(schemas, "division");
    size_t n;
    const hub_rule_t *const *cands = hub_rules_for(rules, hub_msg_env_str(msg, HUB_ENV_SOURCE),
                                                   hub_msg_env_str(msg, HUB_ENV_TYPE), &n);
    int rc = HUB_OK;
    for (size_t i = 0; i < n && !rc; i++) {
        const hub_rule_t *r = cands[i];
        hub_route_trace_t *t = s_trace(self, r);
        if (!t) {
            return HUB_ENOMEM;
        }
        if (r->when && !hub_expr_eval_with(r->when, msg, &self->lists)) {
            S_NOTE(self, t, "condition is false: %s", hub_expr_source(r->when));
            continue;
        }
        t->matched = true;
        rc = s_apply_rule(self, r, msg, depts, schemas, t, diag);
    }
    for (size_t i = 0; i < self->ndel && !rc; i++) {
        rc = s_build(&self->del[i], schemas, key);
    }
    return rc;
}
