// Benchmark of the routing decision, one core: a realistic rule set of 100
// rules (the shipped ones plus generated rules spread over the types and
// departments, with conditions), one message routed against it again and
// again, the projected and masked deliveries built each time. Run from the
// repository root.
#include "hub_config.h"
#include "hub_depts.h"
#include "hub_json.h"
#include "hub_route.h"
#include "hub_rules.h"
#include "hub_schema.h"
#include "hub_validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double
s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

typedef struct {
    const char *dept, *type, *when, *fields;
} s_gen_t;

// Rules like the shipped ones, for every publishing department and type.
static const s_gen_t s_gens[] = {
    {"education", "student.enrolment_change", "body.change_type == \"transfer_out\"",
     "[subject.name, subject.hukou_division, body.change_type, body.change_date]"},
    {"education", "student.enrolment_change", "age(subject.birth_date) >= 15",
     "[subject.citizen_id, subject.name, body.grade]"},
    {"health", "health.hospitalisation", "body.total_cost > 50000 yuan",
     "[subject.citizen_id, subject.hukou_division]"},
    {"public_security", "person.residence_permit", "body.basis == \"study\"",
     "[subject.citizen_id, body.residence_division]"},
    {"civil_affairs", "assistance.grant", "body.action in [\"suspend\", \"approve\"]",
     "[subject.citizen_id, body.programme, body.action]"},
    {"poverty_alleviation", "poverty.household_status", "body.risk_eliminated == false",
     "[subject.citizen_id, body.household_type]"},
    {"public_security", "household.hukou_change", "body.change_type != \"cancel\"",
     "[subject.citizen_id, body.change_type]"},
    {"civil_affairs", "grid.incident", "startswith(body.location_division, \"5134\")",
     "[body.incident_id, body.category]"},
};

static const char *const s_depts[] = {"civil_affairs", "poverty_alleviation", "education", "health",
                                      "public_security"};

static void
s_write_rules(const char *dir, int n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/rules.d/90-generated.yaml", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "rules:\n");
    for (int i = 0; i < n; i++) {
        const s_gen_t *g = &s_gens[i % 8];
        fprintf(f,
                "  - id: gen-%d\n    from: %s\n    types: %s\n    when: '%s'\n"
                "    to: [{department: %s, by: subject.hukou_division}]\n    fields: %s\n"
                "    purpose: generated\n    legal_basis: generated\n",
                i, g->dept, g->type, g->when, s_depts[i % 5], g->fields);
    }
    fclose(f);
}

// A copy of config/ with generated rules added to make 100 in all.
static char *
s_make_config(size_t shipped)
{
    static char dir[] = "/tmp/hub-bench-XXXXXX";
    if (!mkdtemp(dir)) {
        return NULL;
    }
    char cmd[600], abs[400];
    if (!getcwd(abs, sizeof abs)) {
        return NULL;
    }
    snprintf(cmd, sizeof cmd,
             "cp -r config/. %s/ && sed -i 's|^schemas:.*|schemas: %s/schemas|' %s/hub.yaml", dir,
             abs, dir);
    if (system(cmd) != 0) {
        return NULL;
    }
    s_write_rules(dir, 100 - (int) shipped);
    return dir;
}

static hub_msg_t *
s_message(const hub_schemas_t *schemas)
{
    FILE *f = fopen("tests/data/messages/student.enrolment_change.json", "rb");
    static char text[65536];
    size_t n = f ? fread(text, 1, sizeof text, f) : 0;
    if (f) {
        fclose(f);
    }
    hub_msg_t *m = hub_msg_new();
    if (hub_json_to_msg(m, text, n, NULL, NULL) != 0) {
        return NULL;
    }
    hub_msg_body_set_str(m, "change_type", "dropout");
    return hub_validate(schemas, m, 0, NULL) == 0 ? m : NULL;
}

int
main(void)
{
    hub_diag_t *diag = hub_diag_new();
    hub_config_t cfg = {0};
    hub_schemas_t *schemas = NULL;
    hub_depts_t *depts = NULL;
    hub_rules_t *rules = NULL;
    char *dir = s_make_config(20);
    if (!dir || hub_config_load(&cfg, dir, diag) ||
        hub_schemas_load(&schemas, cfg.schemas_dir, diag) ||
        hub_depts_load(&depts, cfg.departments, schemas, diag) ||
        hub_rules_load(&rules, dir, schemas, depts, diag)) {
        hub_diag_print(diag, stderr);
        return 1;
    }
    hub_msg_t *msg = s_message(schemas);
    hub_route_t *route = hub_route_new();
    uint8_t key[HUB_MASK_KEY_SIZE] = {1};
    size_t cands;
    hub_rules_for(rules, "education", "student.enrolment_change", &cands);
    double best = 0;
    for (int round = 0; msg && round < 7; round++) {
        size_t n = 0;
        double t0 = s_now(), t;
        do {
            for (int i = 0; i < 2000; i++, n++) {
                if (hub_route_run(route, rules, depts, schemas, msg, key, NULL) != 0) {
                    return 1;
                }
            }
        } while ((t = s_now() - t0) < 0.25);
        best = (double) n / t > best ? (double) n / t : best;
    }
    printf("bench rules: routing decision, %zu rules (%zu for this source+type), %zu deliveries "
           "built  %10.0f msg/s  (best of 7 rounds, 1 core)\n",
           hub_rules_count(rules), cands, hub_route_count(route), best);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    int ignored = system(cmd);
    (void) ignored;
    hub_route_destroy(&route);
    hub_msg_destroy(&msg);
    hub_rules_destroy(&rules);
    hub_depts_destroy(&depts);
    hub_schemas_destroy(&schemas);
    hub_config_free(&cfg);
    hub_diag_destroy(&diag);
    return best > 0 ? 0 : 1;
}
