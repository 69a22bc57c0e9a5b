// hubctl rules test --suite DIR: the operators' regression tests for the
// rules (format: docs/RULES.md, "Testing rules"). Each case names a message
// file, changes some of its fields, routes it and compares what each
// endpoint would receive with what the case expects. A failure prints as a
// diff: what was expected, what came out.
#include "hub_codec.h"
#include "hub_config.h"
#include "hub_error.h"
#include "hub_json.h"
#include "hub_listset.h"
#include "hub_route.h"
#include "hub_validate.h"
#include "hub_yaml.h"
#include "hubctl.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const s_file_keys[] = {"cases", NULL};
static const char *const s_case_keys[] = {
    "name",         "message", "set",     "expect", "not_reached",
    "reached_only", "nowhere", "invalid", "lists",  NULL};
static const char *const s_expect_keys[] = {"endpoint", "rules",   "fields", "only",
                                            "absent",   "derived", NULL};

typedef struct {
    const hubctl_conf_t *conf;
    const hub_yaml_t *doc;
    hub_msg_t *msg;
    hub_route_t *route;
    hub_listset_t *lists; // the case's list members (its 'lists' key)
    const uint8_t *key;
    size_t failures; // of the current case
    char name[160];
} s_case_t;

static void
s_fail(s_case_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
s_fail(s_case_t *c, const char *fmt, ...)
{
    va_list ap;
    if (c->failures++ == 0) {
        printf("FAIL %s\n", c->name);
    }
    printf("     ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

// A value for PATH of the message from a YAML scalar: typed by the
// schema's field type; "null" removes the field.
static int
s_set_one(s_case_t *c, const char *path, int node, hub_arena_t *arena)
{
    const hub_schema_t *s =
        hub_schemas_find(c->conf->schemas, hub_msg_env_str(c->msg, HUB_ENV_TYPE),
                         strlen(hub_msg_env_str(c->msg, HUB_ENV_TYPE)));
    const hub_field_spec_t *f = s ? hub_schema_path(s, path) : NULL;
    const char *text = hub_yaml_str(c->doc, node, NULL);
    hub_val_t v = {HUB_VAL_NONE, 0, {0}};
    int64_t i;
    if (text && hub_yaml_is_plain(c->doc, node) && (!strcmp(text, "null") || !strcmp(text, "~"))) {
        v.kind = HUB_VAL_NONE;
    } else if (text && f && (f->type == HUB_FT_INT || f->type == HUB_FT_MONEY) &&
               hub_yaml_parse_int(text, &i)) {
        v = hub_val_int(i);
    } else if (text && f && f->type == HUB_FT_BOOL) {
        v = hub_val_bool(strcmp(text, "true") == 0);
    } else if (text) {
        v = hub_val_str(text, strlen(text));
    } else {
        size_t n = hub_yaml_len(c->doc, node);
        hub_val_t *items = hub_arena_alloc(arena, sizeof *items * (n + 1));
        for (size_t k = 0; items && k < n; k++) {
            const char *t = hub_yaml_str(c->doc, hub_yaml_item(c->doc, node, k), NULL);
            items[k] = hub_val_str(t ? t : "", t ? strlen(t) : 0);
        }
        v = (hub_val_t){HUB_VAL_LIST, (uint32_t) n, {.items = items}};
    }
    if (strncmp(path, "subject.", 8) == 0) {
        int w = hub_subj_find(path + 8, strlen(path + 8));
        return w < 0 ? HUB_EINVAL : hub_msg_set_subj(c->msg, (hub_subj_t) w, &v);
    }
    if (strncmp(path, "body.", 5) == 0) {
        return hub_msg_body_set(c->msg, path + 5, strlen(path + 5), &v);
    }
    int w = hub_env_find(path, strlen(path));
    return w < 0 ? HUB_EINVAL : hub_msg_set_env(c->msg, (hub_env_t) w, &v);
}

static bool
s_apply_set(s_case_t *c, int set)
{
    hub_arena_t *arena = hub_arena_new(0);
    bool ok = arena != NULL;
    for (size_t i = 0; ok && i < hub_yaml_len(c->doc, set); i++) {
        const char *path = hub_yaml_str(c->doc, hub_yaml_key(c->doc, set, i), NULL);
        if (!path || s_set_one(c, path, hub_yaml_value(c->doc, set, i), arena) != HUB_OK) {
            s_fail(c, "set: cannot set '%s' (a path: type, subject.x or body.x)",
                   path ? path : "?");
            ok = false;
        }
    }
    hub_arena_destroy(&arena);
    return ok;
}

static const hub_delivery_t *
s_find(s_case_t *c, const char *endpoint, const char *derived)
{
    for (size_t i = 0; i < hub_route_count(c->route); i++) {
        const hub_delivery_t *d = hub_route_at(c->route, i);
        bool same_type = derived ? d->derived && strcmp(d->derived->type, derived) == 0
                                 : d->derived == NULL || !derived;
        if (strcmp(d->endpoint->id, endpoint) == 0 && same_type) {
            return d;
        }
    }
    return NULL;
}

// The value at PATH of a delivered message as text ("" when absent).
static void
s_value_text(const hub_msg_t *m, const char *path, char *out, size_t size)
{
    const hub_val_t *v = hub_msg_get_path(m, path);
    out[0] = '\0';
    if (!v || v->kind == HUB_VAL_NONE) {
        return;
    }
    if (v->kind == HUB_VAL_STR) {
        snprintf(out, size, "%s", v->u.s);
    } else if (v->kind == HUB_VAL_INT) {
        snprintf(out, size, "%lld", (long long) v->u.i);
    } else if (v->kind == HUB_VAL_BOOL) {
        snprintf(out, size, "%s", v->u.b ? "true" : "false");
    } else {
        snprintf(out, size, "[list of %u]", v->len);
    }
}

static void
s_check_rules(s_case_t *c, const hub_delivery_t *d, int list)
{
    size_t n = hub_yaml_len(c->doc, list);
    bool same = n == d->nrules;
    for (size_t i = 0; same && i < n; i++) {
        const char *want = hub_yaml_str(c->doc, hub_yaml_item(c->doc, list, i), NULL);
        bool found = false;
        for (size_t k = 0; want && k < d->nrules; k++) {
            found |= strcmp(d->rules[k]->id, want) == 0;
        }
        same = found;
    }
    if (!same) {
        char got[512] = "";
        for (size_t k = 0; k < d->nrules; k++) {
            strncat(got, k ? ", " : "", sizeof got - strlen(got) - 1);
            strncat(got, d->rules[k]->id, sizeof got - strlen(got) - 1);
        }
        s_fail(c, "%s: expected rules as listed at line %d, got [%s]", d->endpoint->id,
               hub_yaml_line(c->doc, list), got);
    }
}

static void
s_check_fields(s_case_t *c, const hub_delivery_t *d, int map)
{
    for (size_t i = 0; i < hub_yaml_len(c->doc, map); i++) {
        const char *path = hub_yaml_str(c->doc, hub_yaml_key(c->doc, map, i), NULL);
        const char *want = hub_yaml_str(c->doc, hub_yaml_value(c->doc, map, i), NULL);
        char got[256];
        s_value_text(d->msg, path ? path : "", got, sizeof got);
        if (!want || (strcmp(want, "*") == 0 ? !got[0] : strcmp(want, got) != 0)) {
            s_fail(c, "%s: %s: expected %s, got %s%s%s", d->endpoint->id, path ? path : "?",
                   want ? want : "?", got[0] ? "\"" : "", got[0] ? got : "nothing",
                   got[0] ? "\"" : "");
        }
    }
}

static void
s_check_absent(s_case_t *c, const hub_delivery_t *d, int list)
{
    for (size_t i = 0; i < hub_yaml_len(c->doc, list); i++) {
        const char *path = hub_yaml_str(c->doc, hub_yaml_item(c->doc, list, i), NULL);
        char got[256];
        s_value_text(d->msg, path ? path : "", got, sizeof got);
        if (got[0]) {
            s_fail(c, "%s: %s: expected absent, got \"%s\"", d->endpoint->id, path, got);
        }
    }
}

static bool
s_listed(const hub_yaml_t *doc, int list, const char *path)
{
    for (size_t i = 0; i < hub_yaml_len(doc, list); i++) {
        const char *p = hub_yaml_str(doc, hub_yaml_item(doc, list, i), NULL);
        if (p && strcmp(p, path) == 0) {
            return true;
        }
    }
    return false;
}

// ONLY: the delivered subject and body hold exactly these paths.
static void
s_check_only(s_case_t *c, const hub_delivery_t *d, int list)
{
    for (int i = 0; i < HUB_SUBJ_COUNT; i++) {
        char path[64];
        snprintf(path, sizeof path, "subject.%s", hub_subj_name((hub_subj_t) i));
        if (hub_msg_subj(d->msg, (hub_subj_t) i)->kind != HUB_VAL_NONE &&
            !s_listed(c->doc, list, path)) {
            s_fail(c, "%s: %s is delivered but not in 'only'", d->endpoint->id, path);
        }
    }
    for (size_t i = 0; i < hub_msg_body_count(d->msg); i++) {
        char path[96];
        snprintf(path, sizeof path, "body.%s", hub_msg_body_at(d->msg, i)->name);
        if (!s_listed(c->doc, list, path)) {
            s_fail(c, "%s: %s is delivered but not in 'only'", d->endpoint->id, path);
        }
    }
}

static void
s_check_expect(s_case_t *c, int e)
{
    const char *endpoint = NULL, *derived = NULL;
    if (hub_yaml_check_keys(c->doc, e, s_expect_keys, NULL) ||
        hub_yaml_get_str(c->doc, e, "endpoint", true, &endpoint, NULL)) {
        s_fail(c, "line %d: an expectation needs 'endpoint' and only the keys of docs/RULES.md",
               hub_yaml_line(c->doc, e));
        return;
    }
    hub_yaml_get_str(c->doc, e, "derived", false, &derived, NULL);
    const hub_delivery_t *d = s_find(c, endpoint, derived);
    if (!d) {
        s_fail(c, "%s: expected a delivery%s%s, got none", endpoint, derived ? " of " : "",
               derived ? derived : "");
        return;
    }
    int n;
    if ((n = hub_yaml_get(c->doc, e, "rules")) != 0) {
        s_check_rules(c, d, n);
    }
    if ((n = hub_yaml_get(c->doc, e, "fields")) != 0) {
        s_check_fields(c, d, n);
    }
    if ((n = hub_yaml_get(c->doc, e, "absent")) != 0) {
        s_check_absent(c, d, n);
    }
    if ((n = hub_yaml_get(c->doc, e, "only")) != 0) {
        s_check_only(c, d, n);
    }
}

static void
s_check_not_reached(s_case_t *c, int list)
{
    for (size_t i = 0; i < hub_yaml_len(c->doc, list); i++) {
        const char *ep = hub_yaml_str(c->doc, hub_yaml_item(c->doc, list, i), NULL);
        for (size_t k = 0; ep && k < hub_route_count(c->route); k++) {
            const hub_delivery_t *d = hub_route_at(c->route, k);
            if (strcmp(d->endpoint->id, ep) == 0) {
                s_fail(c, "%s: expected no delivery, got one (rule %s)", ep, d->rules[0]->id);
            }
        }
    }
}

// NOWHERE: no delivery carries any of these paths.
static void
s_check_nowhere(s_case_t *c, int list)
{
    for (size_t k = 0; k < hub_route_count(c->route); k++) {
        s_check_absent(c, hub_route_at(c->route, k), list);
    }
}

static void
s_check_reached_only(s_case_t *c, int expect)
{
    for (size_t k = 0; k < hub_route_count(c->route); k++) {
        const hub_delivery_t *d = hub_route_at(c->route, k);
        bool listed = false;
        for (size_t i = 0; i < hub_yaml_len(c->doc, expect); i++) {
            const char *ep = NULL;
            hub_yaml_get_str(c->doc, hub_yaml_item(c->doc, expect, i), "endpoint", false, &ep,
                             NULL);
            listed |= ep && strcmp(ep, d->endpoint->id) == 0;
        }
        if (!listed) {
            s_fail(c, "%s: got a delivery (rule %s) that 'expect' does not list", d->endpoint->id,
                   d->rules[0]->id);
        }
    }
}

// Loads the case's message (relative to the suite file), applies 'set',
// validates. False (with the failure printed) when the case ends there.
static bool
s_prepare(s_case_t *c, int node, const char *dir, hub_diag_t *diag)
{
    const char *file = NULL, *invalid = NULL;
    if (hub_yaml_get_str(c->doc, node, "message", true, &file, NULL)) {
        s_fail(c, "the case needs 'message: FILE' (a JSON or msgpack message)");
        return false;
    }
    char *path = hub_config_path(dir, file);
    bool io_failed = true;
    bool ok = path && hubctl_decode_file(path, c->msg, diag, &io_failed) == HUB_OK;
    free(path);
    int set = hub_yaml_get(c->doc, node, "set");
    if (!ok || (set && !s_apply_set(c, set))) {
        hub_diag_print(diag, stdout);
        s_fail(c, "cannot build the message from %s", file);
        return false;
    }
    hub_yaml_get_str(c->doc, node, "invalid", false, &invalid, NULL);
    int rc = hub_validate(c->conf->schemas, c->msg, HUB_VALIDATE_NORMALIZE, diag);
    if (invalid) {
        bool seen = false;
        for (size_t i = 0; i < hub_diag_count(diag); i++) {
            seen |= strcmp(hub_diag_at(diag, i)->reason, invalid) == 0;
        }
        if (rc == HUB_OK || !seen) {
            s_fail(c, "expected the message to be refused (%s), but it was %s", invalid,
                   rc == HUB_OK ? "valid" : "refused for another reason");
        }
        return false;
    }
    if (rc != HUB_OK) {
        hub_diag_print(diag, stdout);
        s_fail(c, "the message is not valid");
        return false;
    }
    return true;
}

// The case's 'lists': {LIST: [KEY, ...]}: the members listed() sees while
// the case routes (a list not named has none).
static bool
s_case_lists(s_case_t *c, int node)
{
    hub_listset_clear(c->lists);
    int map = hub_yaml_get(c->doc, node, "lists");
    if (!map) {
        return true;
    }
    if (hub_yaml_kind(c->doc, map) != HUB_YAML_MAP) {
        s_fail(c, "lists: a mapping {list id: [keys]}");
        return false;
    }
    for (size_t i = 0; i < hub_yaml_len(c->doc, map); i++) {
        const char *id = hub_yaml_str(c->doc, hub_yaml_key(c->doc, map, i), NULL);
        const hub_list_t *l = id ? hub_rules_list_find(c->conf->rules, id) : NULL;
        int keys = hub_yaml_value(c->doc, map, i);
        if (!l || hub_yaml_kind(c->doc, keys) != HUB_YAML_SEQ) {
            s_fail(c, "lists: '%s' is %s", id ? id : "?",
                   l ? "not followed by a list of keys" : "no list of the rule set");
            return false;
        }
        for (size_t k = 0; k < hub_yaml_len(c->doc, keys); k++) {
            size_t len;
            const char *key = hub_yaml_str(c->doc, hub_yaml_item(c->doc, keys, k), &len);
            if (!key || hub_listset_set(c->lists, l->index, key, len, true) != HUB_OK) {
                s_fail(c, "lists: %s: a key is a string of at most %d bytes", id,
                       HUB_LISTSET_KEY_MAX);
                return false;
            }
        }
    }
    return true;
}

static void
s_run_case(s_case_t *c, int node, const char *dir, hub_diag_t *diag)
{
    const char *name = "?";
    hub_yaml_get_str(c->doc, node, "name", false, &name, NULL);
    snprintf(c->name, sizeof c->name, "%s:%d %s", hub_yaml_name(c->doc),
             hub_yaml_line(c->doc, node), name);
    c->failures = 0;
    hub_diag_reset(diag);
    if (hub_yaml_check_keys(c->doc, node, s_case_keys, diag)) {
        hub_diag_print(diag, stdout);
        s_fail(c, "unknown keys in the case");
        return;
    }
    if (!s_prepare(c, node, dir, diag) || !s_case_lists(c, node)) {
        return;
    }
    if (hub_route_run(c->route, c->conf->rules, c->conf->depts, c->conf->schemas, c->msg, c->key,
                      diag) != HUB_OK) {
        hub_diag_print(diag, stdout);
        s_fail(c, "routing failed");
        return;
    }
    int expect = hub_yaml_get(c->doc, node, "expect"), n;
    for (size_t i = 0; i < hub_yaml_len(c->doc, expect); i++) {
        s_check_expect(c, hub_yaml_item(c->doc, expect, i));
    }
    if ((n = hub_yaml_get(c->doc, node, "not_reached")) != 0) {
        s_check_not_reached(c, n);
    }
    if ((n = hub_yaml_get(c->doc, node, "nowhere")) != 0) {
        s_check_nowhere(c, n);
    }
    bool only = false;
    hub_yaml_get_bool(c->doc, node, "reached_only", false, &only, NULL);
    if (only) {
        s_check_reached_only(c, expect);
    }
}

// Runs every case of FILE; adds to *PASSED and *FAILED.
static void
s_run_file(s_case_t *c, const char *file, size_t *passed, size_t *failed)
{
    hub_diag_t *diag = hub_diag_new();
    hub_yaml_t *doc = NULL;
    if (hub_yaml_load_file(&doc, file, diag) != HUB_OK ||
        !hub_yaml_expect(doc, hub_yaml_root(doc), HUB_YAML_MAP, "{cases: [...]}", diag) ||
        hub_yaml_check_keys(doc, hub_yaml_root(doc), s_file_keys, diag)) {
        hub_diag_print(diag, stdout);
        printf("FAIL %s: not a test file\n", file);
        (*failed)++;
    } else {
        char dir[1024];
        snprintf(dir, sizeof dir, "%s", file);
        char *slash = strrchr(dir, '/');
        snprintf(slash ? slash : dir, sizeof dir - (size_t) (slash ? slash - dir : 0), "%s",
                 slash ? "" : ".");
        c->doc = doc;
        int cases = hub_yaml_get(doc, hub_yaml_root(doc), "cases");
        for (size_t i = 0; i < hub_yaml_len(doc, cases); i++) {
            s_run_case(c, hub_yaml_item(doc, cases, i), dir, diag);
            if (c->failures) {
                (*failed)++;
            } else {
                printf("ok   %s\n", c->name);
                (*passed)++;
            }
        }
    }
    hub_yaml_destroy(&doc);
    hub_diag_destroy(&diag);
}

static int
s_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

static size_t
s_list(const char *dir, char **names, size_t max)
{
    DIR *d = opendir(dir);
    size_t n = 0;
    struct dirent *e;
    while (d && n < max && (e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] != '.' && len > 5 && strcmp(e->d_name + len - 5, ".yaml") == 0) {
            names[n++] = hub_config_path(dir, e->d_name);
        }
    }
    if (d) {
        closedir(d);
    }
    qsort(names, n, sizeof *names, s_cmp);
    return n;
}

int
hubctl_suite(const hubctl_opts_t *opts)
{
    hub_diag_t *diag = hub_diag_new();
    hubctl_conf_t conf;
    uint8_t key[HUB_MASK_KEY_SIZE];
    if (!hubctl_load_conf(opts, &conf, diag)) {
        hub_diag_print(diag, stderr);
        fprintf(stderr, "hubctl: the configuration does not load (run hubctl check)\n");
        hubctl_free_conf(&conf);
        hub_diag_destroy(&diag);
        return HUBCTL_INVALID;
    }
    hubctl_hash_key(&conf, key, true);
    s_case_t c = {&conf, NULL, hub_msg_new(), hub_route_new(), hub_listset_new(), key, 0, ""};
    char *names[256];
    size_t n = 0, passed = 0, failed = 0;
    if (c.msg && c.route && c.lists) {
        hub_expr_lookup_t lookup = hub_listset_lookup(c.lists);
        hub_route_set_lists(c.route, &lookup);
        n = s_list(opts->suite, names, 256);
    } else {
        fprintf(stderr, "hubctl: out of memory\n");
        failed = 1;
    }
    for (size_t i = 0; i < n; i++) {
        s_run_file(&c, names[i], &passed, &failed);
        free(names[i]);
    }
    printf("rules test: %zu passed, %zu failed\n", passed, failed);
    if (passed + failed == 0) {
        fprintf(stderr, "hubctl: no test cases in %s\n", opts->suite);
    }
    hub_msg_destroy(&c.msg);
    hub_route_destroy(&c.route);
    hub_listset_destroy(&c.lists);
    hubctl_free_conf(&conf);
    hub_diag_destroy(&diag);
    return failed || passed == 0 ? HUBCTL_INVALID : HUBCTL_OK;
}
