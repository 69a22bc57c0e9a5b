// hubctl rules history / rules diff: the rule-set versions hubd put in
// force (the store's `rulesets` records: at each start and reload) and
// what changed between two of them (the texts kept once per version in
// meta "ruleset:<version>"; docs/STORE.md). Read-only on the store.
#include "hubctl_ops.h"

#include "hub_error.h"
#include "hub_textdiff.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define S_SHORT 12 // hex digits of a version shown in a diff's labels

static const char *
s_s(const json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v ? v : "";
}

// Every `rulesets` record, oldest first, as a JSON array (NULL: unreadable).
static json_t *
s_history(const hubctl_ops_opts_t *opts, hub_config_t *cfg)
{
    if (!hubctl_ops_config(opts, cfg)) {
        return NULL;
    }
    hub_store_t *store = hubctl_ops_store(cfg);
    if (!store) {
        return NULL;
    }
    uint64_t last = 0;
    json_t *all = json_array();
    hub_store_last_seq(store, HUB_STORE_RULESETS, &last);
    for (uint64_t seq = 1; seq <= last; seq++) {
        bool found;
        json_t *r = hubctl_store_json(store, HUB_STORE_RULESETS, seq, &found);
        if (!r && found) {
            fprintf(stderr, "hubctl: rulesets record %llu is damaged (skipped)\n",
                    (unsigned long long) seq);
        }
        if (json_is_object(r)) {
            char t[64];
            json_int_t ms = json_integer_value(json_object_get(r, "time_ms"));
            hubctl_format_time((uint64_t) (ms > 0 ? ms : 0), t, sizeof t);
            json_object_set_new(r, "time", json_string(t));
            json_array_append(all, r);
        }
        json_decref(r);
    }
    hub_store_destroy(&store);
    return all;
}

static const char s_history_help[] =
    "usage: hubctl rules history [--config DIR] [--format json]\n"
    "\n"
    "The rule-set versions hubd put in force, oldest first: when, by which event\n"
    "(start, reload) and OS user, and the version (hubctl rules diff V1 V2 compares\n"
    "two; a unique prefix of a version will do). The last one is in force.\n";

int
hubctl_rules_history(int argc, char **argv)
{
    static const char *const allowed[] = {"config", "format", NULL};
    hubctl_ops_opts_t opts;
    if (hubctl_ops_help(argc, argv, s_history_help)) {
        return HUBCTL_OK;
    }
    if (!hubctl_ops_parse(argc, argv, allowed, &opts)) {
        return HUBCTL_USAGE;
    }
    if (opts.nargs) {
        return hubctl_usage_error("rules history takes no arguments ('%s')", opts.args[0]);
    }
    hub_config_t cfg = {0};
    json_t *all = s_history(&opts, &cfg), *r;
    size_t i;
    if (all && opts.json) {
        hubctl_print_json(json_incref(all));
    } else if (all && json_array_size(all) == 0) {
        printf("no rule-set history yet (hubd records one at each start and reload)\n");
    } else if (all) {
        printf("%-5s %-25s %-7s %-12s %s\n", "SEQ", "TIME", "EVENT", "USER", "VERSION");
        json_array_foreach(all, i, r)
        {
            printf("%-5lld %-25s %-7s %-12s %s%s\n",
                   (long long) json_integer_value(json_object_get(r, "seq")), s_s(r, "time"),
                   s_s(r, "event"), s_s(r, "user"), s_s(r, "version"),
                   i + 1 == json_array_size(all) ? "  (last)" : "");
        }
    }
    json_decref(all);
    hub_config_free(&cfg);
    return all ? HUBCTL_OK : HUBCTL_INVALID;
}

// ------------------------------------------------------------------ diff

// The version of HISTORY that PREFIX names uniquely, or NULL (and why).
static const char *
s_resolve(const json_t *history, const char *prefix)
{
    const char *found = NULL, *other = NULL;
    size_t plen = strlen(prefix), i;
    json_t *r;
    json_array_foreach(history, i, r)
    {
        const char *v = s_s(r, "version");
        if (plen && strncasecmp(v, prefix, plen) == 0 && (!found || strcmp(found, v) != 0)) {
            other = found ? v : other;
            found = found ? found : v;
        }
    }
    if (!found) {
        fprintf(stderr,
                "hubctl: no rule-set version '%s' in the history (hubctl rules "
                "history lists them)\n",
                prefix);
    } else if (other) {
        fprintf(stderr, "hubctl: '%s' is ambiguous: %s, %s ... (give more digits)\n", prefix, found,
                other);
    }
    return found && !other ? found : NULL;
}

// The files [{name, text}] kept for VERSION (NULL when missing).
static json_t *
s_files(hub_store_t *store, const char *version)
{
    const void *rec;
    size_t len;
    int rc = hub_store_ruleset_texts(store, version, &rec, &len);
    json_t *r = rc ? NULL : hubctl_mp_json(rec, len);
    json_t *files = json_incref(json_object_get(r, "files"));
    json_decref(r);
    if (!json_is_array(files)) {
        fprintf(stderr, "hubctl: the texts of rule set %s are %s\n", version,
                rc == HUB_ENOTFOUND ? "not in the store" : "unreadable");
        json_decref(files);
        return NULL;
    }
    return files;
}

static const json_t *
s_file(const json_t *files, const char *name)
{
    size_t i;
    json_t *f;
    json_array_foreach(files, i, f)
    {
        if (strcmp(s_s(f, "name"), name) == 0) {
            return f;
        }
    }
    return NULL;
}

// One file's diff (A or B NULL: added or removed) appended to OUT.
static int
s_file_diff(const char *va, const char *vb, const json_t *a, const json_t *b, json_t *out)
{
    const char *name = s_s(a ? a : b, "name");
    char from[512] = "/dev/null", to[512] = "/dev/null";
    if (a) {
        snprintf(from, sizeof from, "%.*s/%s", S_SHORT, va, name);
    }
    if (b) {
        snprintf(to, sizeof to, "%.*s/%s", S_SHORT, vb, name);
    }
    const json_t *ta = json_object_get(a, "text"), *tb = json_object_get(b, "text");
    hub_buf_t d = HUB_BUF_INIT;
    bool changed;
    int rc = hub_textdiff(json_string_value(ta), json_string_length(ta), json_string_value(tb),
                          json_string_length(tb), 3, from, to, &d, &changed);
    if (!rc && changed) {
        const char *how = !a ? "added" : !b ? "removed" : "modified";
        json_array_append_new(out, json_pack("{s:s, s:s, s:s%}", "name", name, "change", how,
                                             "diff", (const char *) d.data, d.len));
    }
    hub_buf_free(&d);
    return rc;
}

static json_t *
s_diff(const char *va, const char *vb, const json_t *fa, const json_t *fb)
{
    json_t *out = json_array(), *f;
    size_t i;
    int rc = HUB_OK;
    json_array_foreach(fa, i, f)
    {
        rc = rc ? rc : s_file_diff(va, vb, f, s_file(fb, s_s(f, "name")), out);
    }
    json_array_foreach(fb, i, f)
    {
        if (!s_file(fa, s_s(f, "name"))) {
            rc = rc ? rc : s_file_diff(va, vb, NULL, f, out);
        }
    }
    if (rc) {
        fprintf(stderr, "hubctl: out of memory\n");
        json_decref(out);
        return NULL;
    }
    return out;
}

static void
s_print_diff(const char *va, const char *vb, const json_t *changes)
{
    size_t i;
    json_t *c;
    size_t n = json_array_size(changes);
    printf("rule set %.*s -> %.*s: %s%zu file%s changed\n", S_SHORT, va, S_SHORT, vb,
           n ? "" : "no differences, ", n, n == 1 ? "" : "s");
    json_array_foreach(changes, i, c)
    {
        printf("%s %s\n%s", s_s(c, "change"), s_s(c, "name"), s_s(c, "diff"));
    }
}

static const char s_diff_help[] =
    "usage: hubctl rules diff V1 V2 [--config DIR] [--format json]\n"
    "\n"
    "What changed from rule-set version V1 to V2 (each a unique prefix of a version in\n"
    "hubctl rules history): a unified diff per file that differs (departments.yaml and\n"
    "the rule files), files added and removed. Read from the texts the store keeps\n"
    "for every version that was in force.\n";

int
hubctl_rules_diff(int argc, char **argv)
{
    static const char *const allowed[] = {"config", "format", NULL};
    hubctl_ops_opts_t opts;
    if (hubctl_ops_help(argc, argv, s_diff_help)) {
        return HUBCTL_OK;
    }
    if (!hubctl_ops_parse(argc, argv, allowed, &opts)) {
        return HUBCTL_USAGE;
    }
    if (opts.nargs != 2) {
        return hubctl_usage_error("rules diff needs two versions: V1 V2 (hubctl rules history)");
    }
    hub_config_t cfg = {0};
    json_t *history = s_history(&opts, &cfg), *fa = NULL, *fb = NULL, *changes = NULL;
    const char *va = history ? s_resolve(history, opts.args[0]) : NULL;
    const char *vb = va ? s_resolve(history, opts.args[1]) : NULL;
    hub_store_t *store = vb ? hubctl_ops_store(&cfg) : NULL;
    fa = store ? s_files(store, va) : NULL;
    fb = fa ? s_files(store, vb) : NULL;
    changes = fb ? s_diff(va, vb, fa, fb) : NULL;
    if (changes && opts.json) {
        hubctl_print_json(json_pack("{s:s, s:s, s:O}", "from", va, "to", vb, "files", changes));
    } else if (changes) {
        s_print_diff(va, vb, changes);
    }
    int status = changes ? HUBCTL_OK : HUBCTL_INVALID;
    json_decref(changes);
    json_decref(fa);
    json_decref(fb);
    hub_store_destroy(&store);
    json_decref(history);
    hub_config_free(&cfg);
    return status;
}
