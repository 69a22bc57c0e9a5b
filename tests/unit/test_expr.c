// The condition language: what conditions mean on real messages, and what
// a rule author is told, and where, when a condition is wrong.
#include "hub_error.h"
#include "hub_expr.h"
#include "hub_validate.h"
#include "suites.h"
#include "testutil.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S "student.enrolment_change"
#define H "health.hospitalisation"
#define P "poverty.household_status"

// The schemas named in TYPES ("a,b"), into OUT; their number.
static size_t
s_schemas(const char *types, const hub_schema_t **out, size_t max)
{
    size_t n = 0;
    while (types && *types && n < max) {
        size_t len = strcspn(types, ",");
        out[n] = hub_schemas_find(tu_schemas(), types, len);
        CU_ASSERT_PTR_NOT_NULL_FATAL(out[n]);
        n++;
        types += len + (types[len] == ',');
    }
    return n;
}

static const hub_expr_origin_t s_origin = {"rules.yaml", 7, 13};

static int
s_compile(hub_expr_t **out, const char *types, const char *src, hub_diag_t *diag)
{
    const hub_schema_t *schemas[4];
    size_t n = s_schemas(types, schemas, 4);
    return hub_expr_compile(out, src, strlen(src), schemas, n, &s_origin, diag);
}

static void
s_hospitalisation(hub_msg_t *m)
{
    hub_msg_reset(m);
    hub_msg_set_env_str(m, HUB_ENV_ID, "a1b2c3d4e5f60718293a4b5c6d7e8f90");
    hub_msg_set_env_str(m, HUB_ENV_TYPE, H);
    hub_val_t one = hub_val_int(1);
    hub_msg_set_env(m, HUB_ENV_SCHEMA_VERSION, &one);
    hub_msg_set_env_str(m, HUB_ENV_SOURCE, "health");
    hub_msg_set_env_str(m, HUB_ENV_EVENT_DATE, "2026-08-10");
    hub_msg_set_subj_str(m, HUB_SUBJ_CITIZEN_ID, "513431201001050019");
    hub_msg_set_subj_str(m, HUB_SUBJ_BIRTH_DATE, "2010-01-05");
    hub_msg_body_set_str(m, "encounter_id", "ZY2026080001");
    hub_msg_body_set_str(m, "facility_name", "凉山州第一人民医院");
    hub_msg_body_set_str(m, "admit_date", "2026-08-01");
    hub_msg_body_set_str(m, "discharge_date", "2026-08-10");
    hub_msg_body_set_int(m, "total_cost", 6000050); // 60,000.50 yuan
    hub_msg_body_set_int(m, "pooled_fund", 3000000);
    hub_msg_body_set_int(m, "fully_self_paid", 12);
    hub_msg_body_set_str(m, "diagnosis_icd10", "J18.9");
}

static void
s_strings(hub_msg_t *m, const char *name, const char *const *items, size_t n)
{
    hub_val_t v[4];
    for (size_t i = 0; i < n; i++) {
        v[i] = hub_val_str(items[i], strlen(items[i]));
    }
    hub_val_t list = {HUB_VAL_LIST, (uint32_t) n, {.items = v}};
    hub_msg_body_set(m, name, strlen(name), &list);
}

static void
s_poverty(hub_msg_t *m)
{
    hub_msg_reset(m);
    hub_msg_set_env_str(m, HUB_ENV_ID, "0f1e2d3c4b5a69788796a5b4c3d2e1f0");
    hub_msg_set_env_str(m, HUB_ENV_TYPE, P);
    hub_val_t one = hub_val_int(1);
    hub_msg_set_env(m, HUB_ENV_SCHEMA_VERSION, &one);
    hub_msg_set_env_str(m, HUB_ENV_SOURCE, "poverty_alleviation");
    hub_msg_set_env_str(m, HUB_ENV_EVENT_DATE, "2026-03-15");
    hub_msg_set_subj_str(m, HUB_SUBJ_CITIZEN_ID, "513431201001050019");
    hub_msg_set_subj_str(m, HUB_SUBJ_NAME, "吉克·阿依");
    hub_msg_body_set_str(m, "household_type", "monitored");
    hub_msg_body_set_str(m, "monitoring_category", "sudden_hardship");
    hub_msg_body_set_int(m, "household_size", 4);
    static const char *const risks[] = {"illness", "housing"};
    s_strings(m, "risks", risks, 2);
    static const char *const measures[] = {"医疗救助", "产业帮扶"};
    s_strings(m, "measures", measures, 2);
    hub_msg_body_set_str(m, "identified_month", "2024-03");
    hub_msg_body_set_bool(m, "risk_eliminated", false);
    hub_msg_body_set_int(m, "per_capita_income", 650000);
}

// The example message of the type TYPE (the first one named).
static void
s_build(hub_msg_t *m, const char *type)
{
    if (strncmp(type, H, strlen(H)) == 0) {
        s_hospitalisation(m);
    } else if (strncmp(type, P, strlen(P)) == 0) {
        s_poverty(m);
    } else {
        tu_dropout(m);
    }
}

// Applies "path=value" to M: "#12" sets an integer, "?true" a bool, an
// empty value removes the key. Edits are separated by ';'.
static void
s_apply(hub_msg_t *m, const char *edit)
{
    char path[64], value[64];
    const char *eq = strchr(edit, '='), *end = eq + strcspn(eq, ";");
    snprintf(path, sizeof path, "%.*s", (int) (eq - edit), edit);
    snprintf(value, sizeof value, "%.*s", (int) (end - eq - 1), eq + 1);
    hub_val_t v = value[0] == '#'   ? hub_val_int(strtoll(value + 1, NULL, 10))
                  : value[0] == '?' ? hub_val_bool(strcmp(value + 1, "true") == 0)
                  : value[0]        ? hub_val_str(value, strlen(value))
                                    : (hub_val_t){HUB_VAL_NONE, 0, {0}};
    if (strncmp(path, "subject.", 8) == 0) {
        hub_msg_set_subj(m, (hub_subj_t) hub_subj_find(path + 8, strlen(path + 8)), &v);
    } else if (strncmp(path, "body.", 5) == 0) {
        hub_msg_body_set(m, path + 5, strlen(path + 5), &v);
    } else {
        hub_msg_set_env(m, (hub_env_t) hub_env_find(path, strlen(path)), &v);
    }
    if (*end == ';') {
        s_apply(m, end + 1);
    }
}

static void
test_the_example_messages_are_valid(void)
{
    static const char *const types[] = {S, H, P};
    hub_msg_t *m = hub_msg_new();
    hub_diag_t *diag = hub_diag_new();
    for (size_t i = 0; i < 3; i++) {
        s_build(m, types[i]);
        hub_diag_reset(diag);
        CU_ASSERT_EQUAL(hub_validate(tu_schemas(), m, 0, diag), HUB_OK);
        hub_diag_print(diag, stderr);
    }
    hub_diag_destroy(&diag);
    hub_msg_destroy(&m);
}

typedef struct {
    const char *types; // the schemas compiled against; the message is the first one's
    const char *cond;
    const char *edit; // applied to the example message first, or NULL
    bool want;
} s_eval_t;

static const s_eval_t s_evals[] = {
    // == != on strings and enums
    {S, "body.change_type == \"dropout\"", NULL, true},
    {S, "body.change_type != \"dropout\"", NULL, false},
    {S, "body.change_type != \"enrol\"", NULL, true},
    {S, "body.grade == \"09\"", NULL, true},
    {S, "subject.sex == \"1\"", NULL, true},
    {S, "body.school_name == \"西昌市第一中学\"", NULL, true},
    {S, "body.reason == \"say \\\"hi\\\" \\\\ ok\"", "body.reason=say \"hi\" \\ ok", true},
    {S, "type == \"student.enrolment_change\" and source == \"education\"", NULL, true},
    {S, "recorded_at == \"2026-09-21T09:00:00+08:00\"", NULL, true},
    {S, "\"dropout\" == body.change_type", NULL, true},
    // every operator on integers
    {S, "schema_version == 1", NULL, true},
    {S, "schema_version != 1", NULL, false},
    {S, "schema_version < 2", NULL, true},
    {S, "schema_version <= 1", NULL, true},
    {S, "schema_version > 1", NULL, false},
    {S, "schema_version >= 2", NULL, false},
    {S, "schema_version > -1", NULL, true},
    {P, "body.household_size >= 4 and body.household_size < 5", NULL, true},
    // dates, compared as days
    {S, "body.change_date == 2026-09-20", NULL, true},
    {S, "body.change_date < 2026-09-21", NULL, true},
    {S, "body.change_date > 2026-09-20", NULL, false},
    {S, "body.change_date >= 2026-09-20", NULL, true},
    {S, "body.change_date <= 2026-09-19", NULL, false},
    {S, "body.change_date > 2025-12-31", NULL, true},
    {S, "event_date != 2026-09-20", NULL, false},
    {S, "body.change_date == event_date", NULL, true},
    {S, "body.change_date > subject.birth_date", NULL, true},
    {H, "body.discharge_date > body.admit_date", NULL, true},
    // precedence: "and" binds tighter than "or", "not" looser than ==
    {S, "body.change_type == \"dropout\" or body.grade == \"01\" and subject.sex == \"2\"", NULL,
     true},
    {S, "subject.sex == \"2\" and body.grade == \"01\" or body.change_type == \"dropout\"", NULL,
     true},
    {S, "(body.change_type == \"dropout\" or body.grade == \"01\") and subject.sex == \"2\"", NULL,
     false},
    {S, "not body.change_type == \"dropout\"", NULL, false},
    {S, "not (body.grade == \"01\" or subject.sex == \"2\")", NULL, true},
    {S, "not not exists(body.reason)", NULL, true},
    {S, "((((body.grade == \"09\"))))", NULL, true},
    {S, "true", NULL, true},
    {S, "false or not true", NULL, false},
    {S, "exists(body.school_uscc) == false", NULL, true},
    {S, "body.change_type == \"dropout\"\n  and subject.sex == \"1\"", NULL, true},
    // in and not in, with literal lists
    {S, "body.change_type in [\"dropout\", \"suspend\"]", NULL, true},
    {S, "body.change_type in [\"enrol\", \"graduate\",]", NULL, false},
    {S, "body.change_type not in [\"enrol\"]", NULL, true},
    {S, "body.change_type not in [\"dropout\"]", NULL, false},
    {S, "body.grade in []", NULL, false},
    {S, "body.grade not in []", NULL, true},
    {S, "subject.ethnicity in [\"01\", \"07\"]", NULL, true},
    {P, "body.household_size in [1, 2, 3]", NULL, false},
    {S, "body.change_date in [2026-09-19, 2026-09-20]", NULL, true},
    // membership of list fields
    {P, "\"illness\" in body.risks", NULL, true},
    {P, "\"disability\" in body.risks", NULL, false},
    {P, "\"disability\" not in body.risks", NULL, true},
    {P, "\"illness\" not in body.risks", NULL, false},
    {P, "\"医疗救助\" in body.measures", NULL, true},
    {P, "\"illness\" in body.risks", "body.risks=", false},
    {P, "\"illness\" not in body.risks", "body.risks=", false},
    {P, "not \"illness\" in body.risks", "body.risks=", true},
    // startswith and exists
    {S, "startswith(subject.hukou_division, \"5134\")", NULL, true},
    {S, "startswith(body.school_division, \"5135\")", NULL, false},
    {S, "startswith(body.student_no, \"G\")", NULL, true},
    {S, "startswith(body.school_uscc, \"9\")", NULL, false},
    {S, "startswith(body.change_date, \"2026-09\")", NULL, true},
    {S, "startswith(body.school_name, \"西昌\")", NULL, true},
    {S, "startswith(body.grade, \"\")", NULL, true},
    {S, "exists(body.reason)", NULL, true},
    {S, "exists(body.school_uscc)", NULL, false},
    {S, "exists(subject.household_no)", NULL, false},
    {S, "exists(recorded_at)", NULL, true},
    {P, "exists(body.risks)", NULL, true},
    // age at the event date (born 2010-01-05)
    {S, "age(subject.birth_date) == 16", NULL, true},
    {S, "16 == age(subject.birth_date)", NULL, true},
    {S, "age(subject.birth_date) >= 6 and age(subject.birth_date) < 17", NULL, true},
    {S, "age(subject.birth_date) == 15", "event_date=2026-01-04", true},
    {S, "age(subject.birth_date) == 16", "event_date=2026-01-05", true},
    {S, "age(subject.birth_date) == 17", "subject.birth_date=2008-02-29;event_date=2026-02-28",
     true},
    {S, "age(subject.birth_date) == 18", "subject.birth_date=2008-02-29;event_date=2026-03-01",
     true},
    {S, "age(subject.birth_date) == 16", "event_date=2026-02-28", true},
    {S, "age(subject.birth_date) < 100", "subject.birth_date=", false},
    {S, "age(subject.birth_date) >= 0", "subject.birth_date=", false},
    {S, "age(subject.birth_date) >= 0", "event_date=", false},
    {S, "age(subject.birth_date) >= 0", "event_date=2026/09/20", false},
    {H, "age(subject.birth_date) < 18", NULL, true},
    // money: yuan with decimals, fen
    {H, "body.total_cost > 5000 yuan", NULL, true},
    {H, "body.total_cost >= 60000.50 yuan", NULL, true},
    {H, "body.total_cost > 60000.50 yuan", NULL, false},
    {H, "body.total_cost <= 60000.5 yuan", NULL, true},
    {H, "body.total_cost < 60000.5 yuan", NULL, false},
    {H, "body.total_cost == 6000050 fen", NULL, true},
    {H, "body.fully_self_paid == 12 fen and body.fully_self_paid == 0.12 yuan", NULL, true},
    {H, "body.total_cost in [1 yuan, 60000.50 yuan]", NULL, true},
    {H, "body.total_cost > body.pooled_fund", NULL, true},
    {P, "body.per_capita_income < 6600 yuan", NULL, true},
    // booleans and months
    {P, "body.risk_eliminated", NULL, false},
    {P, "not body.risk_eliminated", NULL, true},
    {P, "body.risk_eliminated == false", NULL, true},
    {P, "body.risk_eliminated != true", NULL, true},
    {P, "body.risk_eliminated", "body.risk_eliminated=?true", true},
    {P, "body.identified_month >= \"2024-01\"", NULL, true},
    {P, "body.identified_month < 2024-03", NULL, false},
    {P, "body.identified_month == 2024-03", NULL, true},
    {P, "body.identified_month in [\"2024-02\", 2024-03]", NULL, true},
    // a comparison with an absent field is false, whatever the operator
    {S, "body.school_uscc == \"x\"", NULL, false},
    {S, "body.school_uscc != \"x\"", NULL, false},
    {S, "not body.school_uscc == \"x\"", NULL, true},
    {S, "body.school_uscc in [\"x\"]", NULL, false},
    {S, "body.school_uscc not in [\"x\"]", NULL, false},
    {H, "body.medical_assistance > 0 yuan", NULL, false},
    {H, "body.medical_assistance <= 0 yuan", NULL, false},
    {H, "body.discharge_date > body.admit_date", "body.admit_date=", false},
    {S, "body.change_date < 2030-01-01", "body.change_date=2026-02-30", false},
    // a value of the wrong kind (a message that broke its schema) is absent
    {S, "body.grade == \"09\"", "body.grade=#9", false},
    {H, "body.total_cost > 0 yuan", "body.total_cost=lots", false},
    // several types: paths common to all
    {S "," H, "subject.citizen_id == \"513431201001050019\" and age(subject.birth_date) < 18", NULL,
     true},
    {H "," S, "subject.citizen_id == \"513431201001050019\" and age(subject.birth_date) < 18", NULL,
     true},
};

static void
test_conditions_evaluate_as_written(void)
{
    hub_msg_t *m = hub_msg_new();
    hub_diag_t *diag = hub_diag_new();
    for (size_t i = 0; i < sizeof s_evals / sizeof s_evals[0]; i++) {
        const s_eval_t *c = &s_evals[i];
        hub_expr_t *e = NULL;
        hub_diag_reset(diag);
        int rc = s_compile(&e, c->types, c->cond, diag);
        s_build(m, c->types);
        if (c->edit) {
            s_apply(m, c->edit);
        }
        bool got = rc == HUB_OK && hub_expr_eval(e, m);
        if (rc != HUB_OK || got != c->want) {
            fprintf(stderr, "\n  case %zu: %s (edit %s): rc %d, got %d\n", i, c->cond,
                    c->edit ? c->edit : "-", rc, got);
            hub_diag_print(diag, stderr);
            CU_FAIL("a condition evaluated wrongly");
        }
        hub_expr_destroy(&e);
    }
    hub_diag_destroy(&diag);
    hub_msg_destroy(&m);
}

typedef struct {
    const char *types;
    const char *cond;
    const char *reason;
    const char *where; // with the origin rules.yaml:7:13
    const char *text;  // a substring of the message
} s_err_t;

static const s_err_t s_errs[] = {
    {S, "body.schol == \"x\"", "unknown_field", "rules.yaml:7:13",
     "unknown field 'body.schol' in student.enrolment_change (did you mean 'body.school_name'?)"},
    {S, "body.grade == \"09\" and body.chnage_type == \"dropout\"", "unknown_field",
     "rules.yaml:7:36", "did you mean 'body.change_type'"},
    {S, "event_dat > 2026-01-01", "unknown_field", "rules.yaml:7:13", "'event_date'"},
    {S, "school_name == \"x\"", "unknown_field", "rules.yaml:7:13", "'body.school_name'"},
    {S, "sex == \"1\"", "unknown_field", "rules.yaml:7:13", "did you mean 'subject.sex'"},
    {S, "subjet.sex == \"1\"", "unknown_field", "rules.yaml:7:13", "did you mean 'subject.sex'"},
    {S, "body.nothing_like_it == 1", "unknown_field", "rules.yaml:7:13",
     "student.enrolment_change"},
    {S, "subject.colour == \"x\"", "unknown_field", "rules.yaml:7:13", "subject.colour"},
    {S "," H, "body.total_cost > 1 yuan", "unknown_field", "rules.yaml:7:13",
     "in student.enrolment_change"},
    {S ",health.hiv_followup", "subject.name == \"x\"", "unknown_field", "rules.yaml:7:13",
     "in health.hiv_followup"},
    {S ",household.hukou_change", "body.change_type == \"dropout\"", "type_mismatch",
     "rules.yaml:7:13", "household.hukou_change"},
    {H, "body.total_cost > \"x\"", "type_mismatch", "rules.yaml:7:31",
     "cannot compare money with a string: write 5000 yuan"},
    {H, "body.total_cost > 5000", "type_mismatch", "rules.yaml:7:31", "write 5000 yuan"},
    {P, "body.household_size > 4 yuan", "type_mismatch", "rules.yaml:7:35", "without yuan"},
    {S, "body.change_type == \"辍学\"", "type_mismatch", "rules.yaml:7:33",
     "'辍学' is not a code of enrolment_change_type: write \"dropout\""},
    {S, "body.change_type in [\"dropout\", \"失学\"]", "type_mismatch", "rules.yaml:7:45",
     "write \"dropout\""},
    {S, "body.change_type == \"dropot\"", "type_mismatch", "rules.yaml:7:33",
     "did you mean \"dropout\""},
    {S, "subject.sex == \"男\"", "type_mismatch", "rules.yaml:7:28", "write \"1\""},
    {S, "subject.sex == 1", "type_mismatch", "rules.yaml:7:28", "write \"1\" in double quotes"},
    {P, "\"因病\" in body.risks", "type_mismatch", "rules.yaml:7:13", "write \"illness\""},
    {S, "body.change_date == \"2026-09-20\"", "type_mismatch", "rules.yaml:7:33",
     "write 2026-09-20 without quotes"},
    {S, "body.school_name > \"a\"", "type_mismatch", "rules.yaml:7:30", "== and !="},
    {S, "body.change_date == body.reason", "type_mismatch", "rules.yaml:7:30",
     "cannot compare 'body.change_date' (a date) with 'body.reason' (a string)"},
    {S, "body.reason", "type_mismatch", "rules.yaml:7:13", "not a condition"},
    {S, "age(body.reason) > 3", "type_mismatch", "rules.yaml:7:17", "age() needs a date"},
    {S, "age(subject.birth_date) > 3 yuan", "type_mismatch", "rules.yaml:7:39", "without yuan"},
    {H, "startswith(body.total_cost, \"1\")", "type_mismatch", "rules.yaml:7:24", "string"},
    {P, "\"illness\" in body.household_size", "type_mismatch", "rules.yaml:7:26",
     "not a list field"},
    {P, "body.risks == \"illness\"", "type_mismatch", "rules.yaml:7:13", "in body.risks"},
    {P, "body.identified_month > \"2024-13\"", "type_mismatch", "rules.yaml:7:37", "not a month"},
    {P, "1 in body.risks", "type_mismatch", "rules.yaml:7:13", "compare a string with an integer"},
    {S, "exist(body.reason)", "unknown_function", "rules.yaml:7:13", "did you mean 'exists'"},
    {S, "len(body.reason) > 3", "unknown_function", "rules.yaml:7:13", "exists, startswith, age"},
    {S, "(body.grade == \"09\"", "expr_syntax", "rules.yaml:7:13", "never closed"},
    {S, "body.grade == \"09\")", "expr_syntax", "rules.yaml:7:31", "')' without '('"},
    {S, "(body.grade == \"09\" body.reason)", "expr_syntax", "rules.yaml:7:33", "expected ')'"},
    {S, "exists(body.reason", "expr_syntax", "rules.yaml:7:31", "')' to close exists("},
    {S, "", "expr_syntax", "rules.yaml:7:13", "empty condition"},
    {S, "  \n ", "expr_syntax", "rules.yaml:7:13", "empty condition"},
    {S, "body.grade == \"09\" and", "expr_syntax", "rules.yaml:7:35", "the end of the condition"},
    {S, "body.grade == \"09\" body.reason", "expr_syntax", "rules.yaml:7:32", "'and', 'or'"},
    {S, "schema_version == 1 == 1", "expr_syntax", "rules.yaml:7:33", "do not chain"},
    {S, "body.grade = \"09\"", "expr_syntax", "rules.yaml:7:24", "write '=='"},
    {S, "body.grade == \"09\" && true", "expr_syntax", "rules.yaml:7:32", "write 'and'"},
    {S, "body.grade == '09'", "expr_syntax", "rules.yaml:7:27", "double quotes"},
    {S, "body.grade == \"09", "expr_syntax", "rules.yaml:7:27", "not closed"},
    {S, "body.reason == \"a\\nb\"", "expr_syntax", "rules.yaml:7:30", "unknown escape"},
    {S, "body.grade in [\"09\", body.reason]", "expr_syntax", "rules.yaml:7:34", "values only"},
    {S, "body.grade in [\"09\"", "expr_syntax", "rules.yaml:7:27", "never closed"},
    {S, "body.change_date > 2026-02-30", "expr_syntax", "rules.yaml:7:32", "not a real date"},
    {S, "body.change_date > 2026-9-1", "expr_syntax", "rules.yaml:7:32", "YYYY-MM-DD"},
    {H, "body.total_cost > 50.123 yuan", "expr_syntax", "rules.yaml:7:31", "at most 2 decimals"},
    {H, "body.total_cost > 50.5", "expr_syntax", "rules.yaml:7:31", "write 50.5 yuan"},
    {H, "body.total_cost > 12.5 fen", "expr_syntax", "rules.yaml:7:36", "no decimals"},
    {H, "body.total_cost > 99999999999999999999 yuan", "expr_syntax", "rules.yaml:7:31",
     "too large"},
    {H, "body.total_cost > 999999999999999999 yuan", "expr_syntax", "rules.yaml:7:31", "too large"},
    {S, "exists(\"x\")", "expr_syntax", "rules.yaml:7:20", "a field path"},
    {S, "startswith(body.reason)", "expr_syntax", "rules.yaml:7:35", "','"},
    {S, "startswith(body.reason, 5)", "expr_syntax", "rules.yaml:7:37", "double quotes"},
    {S, "body.grade == \"09\" and not in [\"x\"]", "expr_syntax", "rules.yaml:7:40", "found 'in'"},
    {S, "body.grade not [\"x\"]", "expr_syntax", "rules.yaml:7:28", "'in' after 'not'"},
    {S, "body.grade == \"09\" # comment", "expr_syntax", "rules.yaml:7:32", "'#'"},
    // positions count characters, and a newline starts column 1 of the next line
    {S, "body.school_name == \"西昌\" and body.x == 1", "unknown_field", "rules.yaml:7:42",
     "body.x"},
    {S, "body.grade == \"09\"\n  and body.chnage_type == \"dropout\"", "unknown_field",
     "rules.yaml:8:7", "did you mean 'body.change_type'"},
    {S, "body.grade == \"09\"\n\n\tor (\n   body.reason == 1)", "type_mismatch", "rules.yaml:10:19",
     "write \"1\""},
};

static void
s_check_error(const s_err_t *c, size_t i)
{
    hub_diag_t *diag = hub_diag_new();
    hub_expr_t *e = (hub_expr_t *) &e; // must come back NULL
    int rc = s_compile(&e, c->types, c->cond, diag);
    const hub_diag_entry_t *d = hub_diag_at(diag, 0);
    bool ok = rc == HUB_ECONFIG && e == NULL && hub_diag_errors(diag) == 1 && d &&
              strcmp(d->reason, c->reason) == 0 && strcmp(d->where, c->where) == 0 &&
              strstr(d->text, c->text);
    if (!ok) {
        fprintf(stderr, "\n  case %zu: %s: rc %d, want %s at %s: '%s'\n", i, c->cond, rc, c->reason,
                c->where, c->text);
        hub_diag_print(diag, stderr);
        CU_FAIL("a bad condition was not reported as expected");
    }
    if (rc == HUB_OK) {
        hub_expr_destroy(&e);
    }
    hub_diag_destroy(&diag);
}

static void
test_bad_conditions_are_reported_at_the_offending_token(void)
{
    for (size_t i = 0; i < sizeof s_errs / sizeof s_errs[0]; i++) {
        s_check_error(&s_errs[i], i);
    }
}

// REPEAT copies of UNIT, then TAIL, in a malloc'd string.
static char *
s_repeat(const char *unit, size_t repeat, const char *tail)
{
    size_t ul = strlen(unit), tl = strlen(tail);
    char *s = malloc(ul * repeat + tl + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    for (size_t i = 0; i < repeat; i++) {
        memcpy(s + i * ul, unit, ul);
    }
    memcpy(s + ul * repeat, tail, tl + 1);
    return s;
}

static void
test_limits_are_enforced_at_compile(void)
{
    // 64 comparisons joined by "or" take 255 nodes; the 65th's literal is one too many.
    char *many = s_repeat("body.grade == \"09\" or ", 90, "true");
    char *deep = s_repeat("(", 40, "true");
    char *nots = s_repeat("not ", 40, "true");
    char *longer = s_repeat(" ", HUB_EXPR_MAX_LEN, "true");
    char *fits = s_repeat("body.grade == \"09\" or ", 63, "true");
    char where[64];
    snprintf(where, sizeof where, "rules.yaml:7:%d", 13 + 64 * 22 + 14);
    const s_err_t cases[] = {
        {S, many, "limit", where, "more than 256"},
        {S, deep, "limit", "rules.yaml:7:45", "nested too deep"},
        {S, nots, "limit", "rules.yaml:7:141", "nested too deep"},
        {S, longer, "limit", "rules.yaml:7:13", "at most 4096"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        s_check_error(&cases[i], i);
    }
    hub_expr_t *e = NULL;
    CU_ASSERT_EQUAL(s_compile(&e, S, fits, NULL), HUB_OK);
    hub_expr_destroy(&e);
    free(many);
    free(deep);
    free(nots);
    free(longer);
    free(fits);
}

static void
test_invalid_utf8_is_refused_where_it_is(void)
{
    static const char bad[] = "body.reason == \"a\xC3(\"";
    hub_diag_t *diag = hub_diag_new();
    const hub_schema_t *schema = hub_schemas_find(tu_schemas(), S, strlen(S));
    hub_expr_t *e = NULL;
    int rc = hub_expr_compile(&e, bad, sizeof bad - 1, &schema, 1, &s_origin, diag);
    CU_ASSERT_EQUAL(rc, HUB_ECONFIG);
    CU_ASSERT_PTR_NULL(e);
    const hub_diag_entry_t *d = hub_diag_at(diag, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_STRING_EQUAL(d->reason, "expr_syntax");
    CU_ASSERT_STRING_EQUAL(d->where, "rules.yaml:7:30");
    static const char nul[] = "true\0";
    hub_diag_reset(diag);
    rc = hub_expr_compile(&e, nul, sizeof nul - 1, &schema, 1, &s_origin, diag);
    CU_ASSERT_EQUAL(rc, HUB_ECONFIG);
    CU_ASSERT_STRING_EQUAL(hub_diag_at(diag, 0)->where, "rules.yaml:7:17");
    hub_diag_destroy(&diag);
}

static void
test_the_source_is_kept_and_destroy_is_safe(void)
{
    hub_expr_t *e = NULL;
    const char *src = "body.change_type == \"dropout\"  ";
    CU_ASSERT_EQUAL(s_compile(&e, S, src, NULL), HUB_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_STRING_EQUAL(hub_expr_source(e), src);
    hub_expr_destroy(&e);
    CU_ASSERT_PTR_NULL(e);
    hub_expr_destroy(&e);
    hub_expr_destroy(NULL);
    // Only the LEN bytes given are the condition.
    CU_ASSERT_EQUAL(hub_expr_compile(&e, "true or garbage(", 4, NULL, 0, NULL, NULL), HUB_OK);
    CU_ASSERT_STRING_EQUAL(hub_expr_source(e), "true");
    hub_expr_destroy(&e);
}

static void
test_without_an_origin_errors_say_condition(void)
{
    hub_diag_t *diag = hub_diag_new();
    hub_expr_t *e = NULL;
    CU_ASSERT_EQUAL(hub_expr_compile(&e, "body.x", 6, NULL, 0, NULL, diag), HUB_ECONFIG);
    const hub_diag_entry_t *d = hub_diag_at(diag, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_STRING_EQUAL(d->where, "<condition>:1:1");
    CU_ASSERT_STRING_EQUAL(d->reason, "unknown_field");
    hub_diag_destroy(&diag);
}

// One compiled condition over many messages: the result follows each
// message, and nothing is kept from one evaluation to the next.
static void
test_one_condition_serves_many_messages(void)
{
    hub_expr_t *e = NULL;
    CU_ASSERT_EQUAL_FATAL(
        s_compile(&e, S,
                  "body.change_type in [\"dropout\", \"suspend\"] and age(subject.birth_date) < 16",
                  NULL),
        HUB_OK);
    hub_msg_t *m = hub_msg_new();
    size_t yes = 0;
    for (int i = 0; i < 1000; i++) {
        tu_dropout(m);
        char date[16];
        snprintf(date, sizeof date, "%04d-01-05", 2016 + i % 20);
        hub_msg_set_env_str(m, HUB_ENV_EVENT_DATE, date);
        hub_msg_body_set_str(m, "change_type", i % 3 ? "dropout" : "enrol");
        yes += hub_expr_eval(e, m);
    }
    // Ages 6..25, under 16 for 10 of every 20; "enrol" every third message.
    size_t want = 0;
    for (int i = 0; i < 1000; i++) {
        want += (i % 3 != 0) && (i % 20 < 10);
    }
    CU_ASSERT_EQUAL(yes, want);
    hub_msg_destroy(&m);
    hub_expr_destroy(&e);
}

void
test_expr_register(void)
{
    CU_pSuite s = CU_add_suite("expr", NULL, NULL);
    CU_add_test(s, "the example messages are valid", test_the_example_messages_are_valid);
    CU_add_test(s, "conditions evaluate as written", test_conditions_evaluate_as_written);
    CU_add_test(s, "bad conditions are reported at the offending token",
                test_bad_conditions_are_reported_at_the_offending_token);
    CU_add_test(s, "limits are enforced at compile", test_limits_are_enforced_at_compile);
    CU_add_test(s, "invalid UTF-8 is refused where it is",
                test_invalid_utf8_is_refused_where_it_is);
    CU_add_test(s, "the source is kept and destroy is safe",
                test_the_source_is_kept_and_destroy_is_safe);
    CU_add_test(s, "without an origin errors say <condition>",
                test_without_an_origin_errors_say_condition);
    CU_add_test(s, "one condition serves many messages", test_one_condition_serves_many_messages);
}
