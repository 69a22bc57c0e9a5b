#include "hub_json.h"

#include "hub_codec.h"
#include "hub_error.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

// ---------------------------------------------------------------- parsing

typedef struct {
    hub_msg_t *msg;
    hub_diag_t *diag;
    hub_codec_limits_t lim;
} s_parser_t;

static int
s_fail(s_parser_t *p, int rc, const char *reason, const char *path, const char *text)
{
    hub_diag_add(p->diag, HUB_DIAG_ERROR, reason, path, "%s", text);
    return rc;
}

static const char *
s_json_kind(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a fraction (money is an integer number of fen)";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null (leave the key out instead)";
    }
    return "?";
}

static int
s_wrong(s_parser_t *p, const char *path, const char *want, const json_t *j)
{
    char text[160];
    snprintf(text, sizeof text, "expected %s, found %s", want, s_json_kind(j));
    return s_fail(p, HUB_EDECODE, "wrong_type", path, text);
}

// Converts a scalar J into V, copying strings into the message's arena.
static int
s_scalar(s_parser_t *p, const json_t *j, hub_val_t *v, const char *path)
{
    if (json_is_integer(j)) {
        *v = hub_val_int((int64_t) json_integer_value(j));
    } else if (json_is_boolean(j)) {
        *v = hub_val_bool(json_is_true(j));
    } else if (json_is_string(j)) {
        size_t len = json_string_length(j);
        if (len > p->lim.max_str) {
            return s_fail(p, HUB_ELIMIT, "limit", path, "string longer than the limit");
        }
        char *s = hub_arena_strndup(hub_msg_arena(p->msg), json_string_value(j), len);
        if (!s) {
            return HUB_ENOMEM;
        }
        *v = hub_val_str(s, len);
    } else {
        return s_wrong(p, path, "a boolean, integer or string", j);
    }
    return HUB_OK;
}

static int
s_list(s_parser_t *p, const json_t *j, hub_val_t *v, const char *path)
{
    size_t n = json_array_size(j);
    if (n > p->lim.max_list) {
        return s_fail(p, HUB_ELIMIT, "limit", path, "list longer than the limit");
    }
    hub_val_t *items = hub_arena_alloc(hub_msg_arena(p->msg), sizeof *items * (n ? n : 1));
    if (!items) {
        return HUB_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        char ipath[HUB_DIAG_WHERE_MAX];
        snprintf(ipath, sizeof ipath, "%.160s[%zu]", path, i);
        int rc = s_scalar(p, json_array_get(j, i), &items[i], ipath);
        if (rc) {
            return rc;
        }
    }
    *v = (hub_val_t){HUB_VAL_LIST, (uint32_t) n, {.items = items}};
    return HUB_OK;
}

static int
s_body(s_parser_t *p, const json_t *obj)
{
    if (!json_is_object(obj)) {
        return s_wrong(p, "body", "an object", obj);
    }
    if (json_object_size(obj) > p->lim.max_fields) {
        return s_fail(p, HUB_ELIMIT, "limit", "body", "the body has more fields than the limit");
    }
    const char *key;
    json_t *val;
    json_object_foreach((json_t *) obj, key, val)
    {
        char path[HUB_DIAG_WHERE_MAX];
        snprintf(path, sizeof path, "body.%.64s", key);
        size_t klen = strlen(key);
        if (!hub_msg_field_name_valid(key, klen)) {
            return s_fail(p, HUB_EDECODE, "bad_key", path,
                          "field names are 1-64 of a-z 0-9 _, starting with a letter");
        }
        hub_val_t v;
        int rc = json_is_array(val) ? s_list(p, val, &v, path) : s_scalar(p, val, &v, path);
        char *name = rc ? NULL : hub_arena_strndup(hub_msg_arena(p->msg), key, klen);
        if (rc || !name) {
            return rc ? rc : HUB_ENOMEM;
        }
        if ((rc = hub_msg_body_add_owned(p->msg, name, klen, &v)) != 0) {
            return rc;
        }
    }
    return HUB_OK;
}

static int
s_subject(s_parser_t *p, const json_t *obj)
{
    if (!json_is_object(obj)) {
        return s_wrong(p, "subject", "an object", obj);
    }
    const char *key;
    json_t *val;
    json_object_foreach((json_t *) obj, key, val)
    {
        char path[HUB_DIAG_WHERE_MAX];
        snprintf(path, sizeof path, "subject.%.64s", key);
        int which = hub_subj_find(key, strlen(key));
        if (which < 0) {
            return s_fail(p, HUB_EDECODE, "unknown_key", path, "no such subject field");
        }
        if (!json_is_string(val)) {
            return s_wrong(p, path, "a string", val);
        }
        hub_val_t v;
        int rc = s_scalar(p, val, &v, path);
        if (rc) {
            return rc;
        }
        hub_msg_set_subj_owned(p->msg, (hub_subj_t) which, &v);
    }
    return HUB_OK;
}

static int
s_top_key(s_parser_t *p, const char *key, const json_t *val)
{
    if (strcmp(key, "body") == 0) {
        return s_body(p, val);
    }
    if (strcmp(key, "subject") == 0) {
        return s_subject(p, val);
    }
    int which = hub_env_find(key, strlen(key));
    char path[HUB_DIAG_WHERE_MAX];
    snprintf(path, sizeof path, "%.64s", key);
    if (which < 0) {
        return s_fail(p, HUB_EDECODE, "unknown_key", path, "no such message key");
    }
    bool want_int = which == HUB_ENV_SCHEMA_VERSION;
    if (want_int ? !json_is_integer(val) : !json_is_string(val)) {
        return s_wrong(p, path, want_int ? "an integer" : "a string", val);
    }
    hub_val_t v;
    int rc = s_scalar(p, val, &v, path);
    if (rc == HUB_OK) {
        hub_msg_set_env_owned(p->msg, (hub_env_t) which, &v);
    }
    return rc;
}

int
hub_json_to_msg(hub_msg_t *msg, const char *text, size_t len, const char *name, hub_diag_t *diag)
{
    s_parser_t p = {msg, diag, hub_codec_limits_default()};
    hub_msg_reset(msg);
    if (len > p.lim.max_size) {
        return s_fail(&p, HUB_ELIMIT, "limit", name, "message larger than the size limit");
    }
    json_error_t err;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    if (!root) {
        char where[HUB_DIAG_WHERE_MAX];
        hub_diag_place(where, sizeof where, name ? name : "<json>", err.line, err.column);
        bool dup = strstr(err.text, "duplicate") != NULL;
        return s_fail(&p, HUB_EDECODE, dup ? "duplicate_key" : "json_syntax", where, err.text);
    }
    int rc = HUB_OK;
    if (!json_is_object(root)) {
        rc = s_wrong(&p, name ? name : "<json>", "an object (a message)", root);
    }
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val)
    {
        if (rc == HUB_OK) {
            rc = s_top_key(&p, key, val);
        }
    }
    json_decref(root);
    return rc;
}

// ---------------------------------------------------------------- output

static json_t *
s_to_json(const hub_val_t *v)
{
    switch (v->kind) {
    case HUB_VAL_BOOL:
        return json_boolean(v->u.b);
    case HUB_VAL_INT:
        return json_integer((json_int_t) v->u.i);
    case HUB_VAL_STR:
        return json_stringn_nocheck(v->u.s, v->len);
    case HUB_VAL_LIST: {
        json_t *a = json_array();
        for (uint32_t i = 0; a && i < v->len; i++) {
            if (json_array_append_new(a, s_to_json(&v->u.items[i]))) {
                json_decref(a);
                return NULL;
            }
        }
        return a;
    }
    case HUB_VAL_NONE:
        break;
    }
    return json_null();
}

// Sets KEY of OBJ to V (when present); non-zero when out of memory.
static int
s_set(json_t *obj, const char *key, const hub_val_t *v)
{
    if (v->kind == HUB_VAL_NONE) {
        return 0;
    }
    json_t *j = s_to_json(v);
    return !j || json_object_set_new(obj, key, j);
}

static json_t *
s_msg_json(const hub_msg_t *msg)
{
    json_t *root = json_object(), *subj = json_object(), *body = json_object();
    int bad = !root || !subj || !body;
    for (int i = 0; !bad && i < HUB_ENV_COUNT; i++) {
        bad |= s_set(root, hub_env_name((hub_env_t) i), hub_msg_env(msg, (hub_env_t) i));
    }
    // Subject keys in a reading order: who first, then where.
    static const hub_subj_t order[] = {
        HUB_SUBJ_CITIZEN_ID, HUB_SUBJ_NAME,           HUB_SUBJ_SEX,         HUB_SUBJ_ETHNICITY,
        HUB_SUBJ_BIRTH_DATE, HUB_SUBJ_HUKOU_DIVISION, HUB_SUBJ_HOUSEHOLD_NO};
    for (size_t i = 0; !bad && i < HUB_SUBJ_COUNT; i++) {
        bad |= s_set(subj, hub_subj_name(order[i]), hub_msg_subj(msg, order[i]));
    }
    for (size_t i = 0; !bad && i < hub_msg_body_count(msg); i++) {
        const hub_field_t *f = hub_msg_body_at(msg, i);
        bad |= s_set(body, f->name, &f->val);
    }
    if (!bad && json_object_size(subj) > 0) {
        bad |= json_object_set(root, "subject", subj);
    }
    bad |= bad || json_object_set(root, "body", body);
    json_decref(subj);
    json_decref(body);
    if (bad) {
        json_decref(root);
        return NULL;
    }
    return root;
}

static int
s_dump(json_t *j, unsigned flags, hub_buf_t *out)
{
    if (!j) {
        return HUB_ENOMEM;
    }
    size_t jflags = (flags & HUB_JSON_PRETTY) ? JSON_INDENT(2) : JSON_COMPACT;
    char *text = json_dumps(j, jflags);
    json_decref(j);
    if (!text) {
        return HUB_ENOMEM;
    }
    int rc = hub_buf_puts(out, text);
    free(text);
    return rc;
}

int
hub_json_from_msg(const hub_msg_t *msg, unsigned flags, hub_buf_t *out)
{
    return s_dump(s_msg_json(msg), flags, out);
}
