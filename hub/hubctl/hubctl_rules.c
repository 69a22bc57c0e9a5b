// hubctl rules test: dry runs of the rules, the operators' check before a
// change goes live. --message FILE shows, for one message, every endpoint
// it reaches, the rules that released it and exactly what that endpoint
// receives (and, with --explain, why every other endpoint is not reached);
// --suite DIR runs the YAML test cases in DIR (hubctl_suite.c).
#include "hub_codec.h"
#include "hub_error.h"
#include "hub_json.h"
#include "hub_listset.h"
#include "hub_route.h"
#include "hub_validate.h"
#include "hubctl.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

bool
hubctl_hash_key(const hubctl_conf_t *conf, uint8_t key[HUB_MASK_KEY_SIZE], bool quiet)
{
    hub_diag_t *diag = hub_diag_new();
    bool ok = hub_config_read_key(conf->config.hash_key, key, diag) == HUB_OK;
    if (!ok) {
        // A dry run may go on without the secret: pseudonyms then differ
        // from the live ones, which the warning says.
        memset(key, 0, HUB_MASK_KEY_SIZE);
        if (!quiet) {
            hub_diag_print(diag, stderr);
            fprintf(stderr,
                    "hubctl: warning: no hash key; `hash` masking uses a dry-run key "
                    "(create one: hubctl keygen --hash-key %s)\n",
                    conf->config.hash_key);
        }
    }
    hub_diag_destroy(&diag);
    return ok;
}

bool
hubctl_load_message(const char *path, const hubctl_conf_t *conf, hub_msg_t *msg, hub_diag_t *diag)
{
    bool io_failed;
    return hubctl_decode_file(path, msg, diag, &io_failed) == HUB_OK &&
           hub_validate(conf->schemas, msg, HUB_VALIDATE_NORMALIZE, diag) == HUB_OK;
}

static json_t *
s_delivery_json(const hub_delivery_t *d)
{
    json_t *rules = json_array(), *fields = json_array();
    for (size_t i = 0; i < d->nrules; i++) {
        json_array_append_new(rules, json_string(d->rules[i]->id));
    }
    for (size_t i = 0; i < d->nfields; i++) {
        const hub_release_t *f = &d->fields[i];
        json_array_append_new(fields, json_pack("{s:s, s:s, s:s}", "path", f->path, "rule",
                                                f->rule->id, "mask", hub_mask_name(f->mask)));
    }
    return json_pack("{s:s, s:s?, s:o, s:o, s:o}", "endpoint", d->endpoint->id, "derived",
                     d->derived ? d->derived->type : NULL, "rules", rules, "fields", fields,
                     "message", hubctl_msg_json(d->msg));
}

static bool
s_reached(const hub_route_t *route, const hub_endpoint_t *e)
{
    for (size_t i = 0; i < hub_route_count(route); i++) {
        if (hub_route_at(route, i)->endpoint == e) {
            return true;
        }
    }
    return false;
}

static bool
s_rule_names(const hub_rule_t *r, const hub_endpoint_t *e)
{
    for (size_t i = 0; i < r->nto; i++) {
        if (r->to[i].endpoint == e ||
            (!r->to[i].endpoint && strcmp(r->to[i].department, e->department) == 0)) {
            return true;
        }
    }
    return false;
}

// Why endpoint E was not reached, as a JSON array of sentences.
static json_t *
s_why_not(const hub_route_t *route, const hub_endpoint_t *e)
{
    json_t *why = json_array();
    for (size_t i = 0; i < hub_route_trace_count(route); i++) {
        const hub_route_trace_t *t = hub_route_trace_at(route, i);
        if (!s_rule_names(t->rule, e)) {
            continue;
        }
        char line[320];
        if (!t->matched) {
            snprintf(line, sizeof line, "rule %s: %s", t->rule->id, t->note);
        } else if (t->note[0]) {
            snprintf(line, sizeof line, "rule %s: %s", t->rule->id, t->note);
        } else {
            const char *went = "?";
            for (size_t k = 0; k < hub_route_count(route); k++) {
                const hub_delivery_t *d = hub_route_at(route, k);
                for (size_t r = 0; r < d->nrules; r++) {
                    bool same = d->rules[r] == t->rule &&
                                strcmp(d->endpoint->department, e->department) == 0;
                    went = same ? d->endpoint->id : went;
                }
            }
            snprintf(line, sizeof line, "rule %s: jurisdiction resolves to %s", t->rule->id, went);
        }
        json_array_append_new(why, json_string(line));
    }
    if (json_array_size(why) == 0) {
        json_array_append_new(why, json_string("no rule for this message's source and type "
                                               "names this endpoint (default deny)"));
    }
    return why;
}

json_t *
hubctl_route_json(const hubctl_conf_t *conf, const hub_route_t *route, const hub_msg_t *msg,
                  bool explain)
{
    json_t *dels = json_array(), *missed = json_array();
    for (size_t i = 0; i < hub_route_count(route); i++) {
        json_array_append_new(dels, s_delivery_json(hub_route_at(route, i)));
    }
    for (size_t i = 0; explain && i < hub_depts_endpoint_count(conf->depts); i++) {
        const hub_endpoint_t *e = hub_depts_endpoint_at(conf->depts, i);
        if (!s_reached(route, e)) {
            json_array_append_new(
                missed, json_pack("{s:s, s:o}", "endpoint", e->id, "why", s_why_not(route, e)));
        }
    }
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:o}", "id", hub_msg_env_str(msg, HUB_ENV_ID),
                          "type", hub_msg_env_str(msg, HUB_ENV_TYPE), "source",
                          hub_msg_env_str(msg, HUB_ENV_SOURCE), "ruleset_version",
                          hub_rules_version(conf->rules), "deliveries", dels);
    if (explain) {
        json_object_set_new(o, "not_reached", missed);
    } else {
        json_decref(missed);
    }
    return o;
}

static void
s_print_value(const char *path, json_t *msg)
{
    const char *dot = strchr(path, '.');
    json_t *v =
        dot ? json_object_get(json_object_get(msg, dot == path + 7 ? "subject" : "body"), dot + 1)
            : json_object_get(msg, path);
    char *text = v ? json_dumps(v, JSON_ENCODE_ANY) : NULL;
    printf("%s", text ? text : "(absent in this message)");
    free(text);
}

static void
s_print_text(json_t *o)
{
    printf("message %s %s from %s\nrule set %.12s\n", json_string_value(json_object_get(o, "id")),
           json_string_value(json_object_get(o, "type")),
           json_string_value(json_object_get(o, "source")),
           json_string_value(json_object_get(o, "ruleset_version")));
    size_t i, k;
    json_t *d, *f;
    json_array_foreach(json_object_get(o, "deliveries"), i, d)
    {
        json_t *derived = json_object_get(d, "derived");
        bool der = json_is_string(derived);
        printf("\n-> %s%s%s\n", json_string_value(json_object_get(d, "endpoint")),
               der ? "  derived: " : "", der ? json_string_value(derived) : "");
        json_array_foreach(json_object_get(d, "fields"), k, f)
        {
            const char *path = json_string_value(json_object_get(f, "path"));
            const char *mask = json_string_value(json_object_get(f, "mask"));
            printf("     %-28s ", path);
            if (strcmp(mask, "drop") != 0) {
                s_print_value(path, json_object_get(d, "message"));
            }
            printf("   [%s%s%s]\n", json_string_value(json_object_get(f, "rule")),
                   strcmp(mask, "none") ? ", " : "", strcmp(mask, "none") ? mask : "");
        }
    }
    json_t *missed = json_object_get(o, "not_reached"), *why;
    if (!missed) {
        return;
    }
    printf("\nnot reached:\n");
    json_array_foreach(missed, i, d)
    {
        printf("   %s\n", json_string_value(json_object_get(d, "endpoint")));
        json_array_foreach(json_object_get(d, "why"), k, why)
        {
            printf("       %s\n", json_string_value(why));
        }
    }
}

// --listed LIST=KEY: the members the message is routed with. False after
// saying which list the rule set does not declare.
static bool
s_listed(const hubctl_opts_t *opts, const hubctl_conf_t *conf, hub_listset_t *set)
{
    for (size_t i = 0; i < opts->nlisted; i++) {
        const char *eq = strchr(opts->listed[i], '=');
        char id[72];
        snprintf(id, sizeof id, "%.*s", (int) (eq - opts->listed[i]), opts->listed[i]);
        const hub_list_t *l = hub_rules_list_find(conf->rules, id);
        if (!l || hub_listset_set(set, l->index, eq + 1, strlen(eq + 1), true) != HUB_OK) {
            fprintf(stderr, "hubctl: --listed %s: %s\n", opts->listed[i],
                    l ? "the key is too long" : "the rule set declares no such list");
            return false;
        }
    }
    return true;
}

static int
s_test_message(const hubctl_opts_t *opts)
{
    hub_diag_t *diag = hub_diag_new();
    hubctl_conf_t conf;
    hub_msg_t *msg = hub_msg_new();
    hub_route_t *route = hub_route_new();
    hub_route_set_explain(route, true);
    hub_listset_t *set = hub_listset_new();
    hub_expr_lookup_t lookup = hub_listset_lookup(set);
    hub_route_set_lists(route, &lookup);
    int status = HUBCTL_INVALID;
    uint8_t key[HUB_MASK_KEY_SIZE];
    if (!hubctl_load_conf(opts, &conf, diag)) {
        hub_diag_print(diag, stderr);
        fprintf(stderr, "hubctl: the configuration does not load (run hubctl check)\n");
    } else if (!set || !s_listed(opts, &conf, set)) {
        status = set ? HUBCTL_USAGE : HUBCTL_INVALID;
    } else if (!hubctl_load_message(opts->message, &conf, msg, diag)) {
        hub_diag_print(diag, stderr);
        fprintf(stderr,
                "hubctl: %s is not a valid message: the hub would refuse it (nack, "
                "dead-letter store)\n",
                opts->message);
    } else if (hubctl_hash_key(&conf, key, opts->json),
               hub_route_run(route, conf.rules, conf.depts, conf.schemas, msg, key, diag)) {
        hub_diag_print(diag, stderr);
        fprintf(stderr, "hubctl: routing failed\n");
    } else {
        json_t *o = hubctl_route_json(&conf, route, msg, opts->explain);
        if (opts->json) {
            hubctl_print_json(o);
        } else {
            s_print_text(o);
            json_decref(o);
        }
        status = HUBCTL_OK;
    }
    hub_route_destroy(&route);
    hub_listset_destroy(&set);
    hub_msg_destroy(&msg);
    hubctl_free_conf(&conf);
    hub_diag_destroy(&diag);
    return status;
}

int
hubctl_rules(int argc, char **argv)
{
    static const char *const allowed[] = {"config", "schemas", "format", "message",
                                          "suite",  "explain", "listed", NULL};
    if (argc < 1 || strcmp(argv[0], "test") != 0) {
        return hubctl_usage_error("rules needs a subcommand: test, history or diff");
    }
    hubctl_opts_t opts;
    if (!hubctl_parse(argc - 1, argv + 1, allowed, &opts)) {
        return HUBCTL_USAGE;
    }
    if (!opts.message == !opts.suite) {
        return hubctl_usage_error("rules test needs --message FILE or --suite DIR");
    }
    return opts.message ? s_test_message(&opts) : hubctl_suite(&opts);
}
