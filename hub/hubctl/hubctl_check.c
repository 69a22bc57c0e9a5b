// hubctl check: loads and checks the whole configuration.
#include "hubctl.h"

#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>

static void
s_print_json(const hubctl_conf_t *c, bool ok, const hub_diag_t *diag)
{
    json_t *o =
        json_pack("{s:b, s:s, s:i, s:i, s:i, s:i, s:i, s:s?}", "ok", ok, "config",
                  c->config.dir ? c->config.dir : "", "types",
                  (json_int_t) (c->schemas ? hub_schemas_count(c->schemas) : 0), "code_tables",
                  (json_int_t) (c->schemas ? hub_schemas_codes_count(c->schemas) : 0), "endpoints",
                  (json_int_t) (c->depts ? hub_depts_endpoint_count(c->depts) : 0), "rules",
                  (json_int_t) (c->rules ? hub_rules_count(c->rules) : 0), "lists",
                  (json_int_t) (c->rules ? hub_rules_list_count(c->rules) : 0), "ruleset_version",
                  c->rules ? hub_rules_version(c->rules) : NULL);
    json_object_set_new(o, "problems", hubctl_diag_json(diag));
    hubctl_print_json(o);
}

static void
s_print_text(const hubctl_conf_t *c, bool ok, const hub_diag_t *diag)
{
    hub_diag_print(diag, stderr);
    if (!ok) {
        fprintf(stderr, "hubctl check: configuration refused (%zu error%s)\n",
                hub_diag_errors(diag), hub_diag_errors(diag) == 1 ? "" : "s");
        return;
    }
    printf("schemas: %zu types, %zu code tables (%s)\n", hub_schemas_count(c->schemas),
           hub_schemas_codes_count(c->schemas), c->config.schemas_dir);
    if (!c->rules) { // --schemas alone
        printf("ok\n");
        return;
    }
    printf("departments: %zu, endpoints: %zu (%s)\n", hub_depts_count(c->depts),
           hub_depts_endpoint_count(c->depts), hub_depts_file(c->depts));
    printf("rules: %zu in %zu files\n", hub_rules_count(c->rules),
           hub_rules_file_count(c->rules) - 1);
    printf("lists: %zu\n", hub_rules_list_count(c->rules));
    printf("rule-set version: %s\n", hub_rules_version(c->rules));
    size_t warnings = hub_diag_total(diag) - hub_diag_errors(diag);
    printf("ok%s\n", warnings ? " (with warnings above)" : "");
}

int
hubctl_check(int argc, char **argv)
{
    static const char *const allowed[] = {"config", "schemas", "format", NULL};
    hubctl_opts_t opts;
    if (!hubctl_parse(argc, argv, allowed, &opts)) {
        return HUBCTL_USAGE;
    }
    if (opts.nargs) {
        return hubctl_usage_error("check takes no arguments ('%s')", opts.args[0]);
    }
    hub_diag_t *diag = hub_diag_new();
    hubctl_conf_t conf;
    bool ok = hubctl_load_conf(&opts, &conf, diag);
    if (opts.json) {
        s_print_json(&conf, ok, diag);
    } else {
        s_print_text(&conf, ok, diag);
    }
    hubctl_free_conf(&conf);
    hub_diag_destroy(&diag);
    return ok ? HUBCTL_OK : HUBCTL_INVALID;
}
