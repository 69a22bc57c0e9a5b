// hubctl check: loads and checks the whole configuration.
#include "hubctl.h"

#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>

static void
s_print_json(const hub_schemas_t *set, const char *dir, const hub_diag_t *diag)
{
    json_t *o = json_pack("{s:b, s:s, s:i, s:i}", "ok", set != NULL, "schemas_dir",
                          dir ? dir : "", "types", (json_int_t) (set ? hub_schemas_count(set) : 0),
                          "code_tables",
                          (json_int_t) (set ? hub_schemas_codes_count(set) : 0));
    json_object_set_new(o, "problems", hubctl_diag_json(diag));
    hubctl_print_json(o);
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
    char *dir = NULL;
    hub_schemas_t *set = hubctl_load_schemas(&opts, diag, &dir);
    if (opts.json) {
        s_print_json(set, dir, diag);
    } else {
        hubctl_print_diag(&opts, diag);
        if (set) {
            printf("schemas: %zu types, %zu code tables (%s)\n", hub_schemas_count(set),
                   hub_schemas_codes_count(set), dir);
            printf("ok\n");
        } else {
            fprintf(stderr, "hubctl check: configuration refused (%zu problem%s)\n",
                    hub_diag_errors(diag), hub_diag_errors(diag) == 1 ? "" : "s");
        }
    }
    int status = set ? HUBCTL_OK : HUBCTL_INVALID;
    hub_schemas_destroy(&set);
    hub_diag_destroy(&diag);
    free(dir);
    return status;
}
