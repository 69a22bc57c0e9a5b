// hub_schema: a type's one-event option (docs/SCHEMAS.md "One event,
// whoever reports it"). `one_event_per: PATH` names the field that
// identifies the event a message reports (a birth: its certificate
// number); the older `one_event_per_subject: true` is `one_event_per:
// subject.citizen_id` (a death). The store keys the event by that field's
// value (hub_store_event_key()).
#include "hub_error.h"
#include "hub_schema.h"
#include "hub_schema_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char s_cid_path[] = "subject.citizen_id";

// True when values of type T are strings: only a string can be an
// identifier (an int or money is an amount, a bool a flag, a list many).
static bool
s_is_string(hub_ftype_t t)
{
    return t != HUB_FT_INT && t != HUB_FT_MONEY && t != HUB_FT_BOOL && t != HUB_FT_LIST;
}

// Reports at NODE that S has no field PATH, with the nearest one it has.
static int
s_unknown(const hub_yaml_t *doc, int node, const hub_schema_t *s, const char *path,
          hub_diag_t *diag)
{
    const char **paths = malloc(sizeof *paths * (HUB_SUBJ_COUNT + s->nfields + 1));
    if (!paths) {
        return HUB_ENOMEM;
    }
    size_t n = 0;
    for (int i = 0; i < HUB_SUBJ_COUNT; i++) {
        if (s->has_subject[i]) {
            paths[n++] = s->subject[i].path;
        }
    }
    for (size_t i = 0; i < s->nfields; i++) {
        paths[n++] = s->fields[i].path;
    }
    paths[n] = NULL;
    const char *near = hub_yaml_suggest(path, paths);
    static const char *const sections[] = {"body.", "subject."};
    for (size_t i = 0; !near && !strchr(path, '.') && i < 2; i++) {
        char full[128]; // a field name without its section: certificate_no
        snprintf(full, sizeof full, "%s%s", sections[i], path);
        near = hub_yaml_suggest(full, paths);
    }
    if (near) {
        hub_yaml_error(doc, node, diag, "unknown_field",
                       "one_event_per: %s has no field '%s' (did you mean '%s'?)", s->type, path,
                       near);
    } else {
        hub_yaml_error(doc, node, diag, "unknown_field",
                       "one_event_per: %s has no field '%s' (name one it declares: "
                       "subject.<key> or body.<field>)",
                       s->type, path);
    }
    free(paths);
    return HUB_ECONFIG;
}

// Field PATH of S as its event field, as option KEY (its value at NODE)
// names it; or what is wrong with it, said at NODE.
static int
s_resolve(const hub_yaml_t *doc, int node, const char *key, const char *path, hub_schema_t *s,
          hub_diag_t *diag)
{
    const hub_field_spec_t *f = hub_schema_path(s, path);
    if (!f && path == s_cid_path) {
        hub_yaml_error(doc, node, diag, "bad_value",
                       "one_event_per_subject needs subject.citizen_id (the person the event is "
                       "about)");
        return HUB_ECONFIG;
    }
    if (!f) {
        return s_unknown(doc, node, s, path, diag);
    }
    if (!f->required) {
        hub_yaml_error(doc, node, diag, "bad_value",
                       "%s: '%s' (line %d) is optional; the field that identifies the event "
                       "must be required, or a message without it would be an event of its own",
                       key, path, f->line);
        return HUB_ECONFIG;
    }
    if (!s_is_string(f->type)) {
        hub_yaml_error(doc, node, diag, "bad_value",
                       "%s: '%s' (line %d) is of type %s; the field that identifies the event "
                       "must hold one string, such as a certificate number or a citizen ID",
                       key, path, f->line, hub_ftype_name(f->type));
        return HUB_ECONFIG;
    }
    s->event_field = f;
    return HUB_OK;
}

int
hub_schema_event_parse(const hub_yaml_t *doc, int root, bool fields_ok, hub_schema_t *s,
                       hub_diag_t *diag)
{
    int per = hub_yaml_get(doc, root, "one_event_per");
    int subj = hub_yaml_get(doc, root, "one_event_per_subject");
    const char *path = NULL;
    bool on = false;
    int rc = HUB_OK;
    if (per && subj) {
        hub_yaml_error(doc, per, diag, "bad_value",
                       "give one_event_per or one_event_per_subject, not both "
                       "(one_event_per_subject: true is one_event_per: subject.citizen_id)");
        return HUB_ECONFIG;
    }
    if (per) {
        rc = hub_yaml_get_str(doc, root, "one_event_per", true, &path, diag);
    } else if (subj) {
        rc = hub_yaml_get_bool(doc, root, "one_event_per_subject", true, &on, diag);
        path = on ? s_cid_path : NULL;
    }
    if (rc) {
        return HUB_ECONFIG;
    }
    if (!path || !fields_ok) {
        return HUB_OK;
    }
    return s_resolve(doc, per ? per : subj, per ? "one_event_per" : "one_event_per_subject", path,
                     s, diag);
}

const char *
hub_schemas_event(const hub_schemas_t *self, const hub_msg_t *msg, const char **field)
{
    const char *type = hub_msg_env_str(msg, HUB_ENV_TYPE);
    const hub_schema_t *s = hub_schemas_find(self, type, strlen(type));
    const hub_val_t *v = s && s->event_field ? hub_msg_get_path(msg, s->event_field->path) : NULL;
    bool ok = v && v->kind == HUB_VAL_STR && v->len > 0;
    if (field) {
        *field = ok ? s->event_field->path : NULL;
    }
    return ok ? v->u.s : NULL;
}
