#include "hub_error.h"
#include "hub_schema.h"
#include "suites.h"
#include "testutil.h"

#include <CUnit/CUnit.h>
#include <string.h>

static void
test_the_shipped_schemas_describe_all_thirteen_types(void)
{
    static const char *const types[] = {
        "person.birth", "person.death", "household.hukou_change", "person.residence_permit",
        "student.enrolment_change", "health.hospitalisation", "alert.poverty_risk",
        "assistance.grant", "disability.certificate", "poverty.household_status",
        "security.drug_control", "health.hiv_followup", "grid.incident",
    };
    const hub_schemas_t *set = tu_schemas();
    CU_ASSERT_EQUAL(hub_schemas_count(set), 13);
    for (size_t i = 0; i < 13; i++) {
        const hub_schema_t *s = hub_schemas_find(set, types[i], strlen(types[i]));
        CU_ASSERT_PTR_NOT_NULL(s);
        CU_ASSERT(s && s->version >= 1 && s->nfields > 0);
        // A death is one event whoever reports it; nothing else is so marked.
        CU_ASSERT(s && s->one_event == (strcmp(types[i], "person.death") == 0));
    }
    const hub_schema_t *hiv = hub_schemas_find(set, "health.hiv_followup", 19);
    for (int i = 0; hiv && i < HUB_SUBJ_COUNT; i++) {
        CU_ASSERT_FALSE(hiv->has_subject[i]);  // never a name or citizen ID
    }
}

static void
test_national_code_tables_are_complete(void)
{
    const hub_schemas_t *set = tu_schemas();
    const hub_codes_t *eth = hub_schemas_codes(set, "ethnicity");
    CU_ASSERT_EQUAL(hub_codes_count(eth), 58);  // 56 groups + 97 + 98
    CU_ASSERT_STRING_EQUAL(hub_codes_find(eth, "07", 2)->zh, "彝族");
    CU_ASSERT_STRING_EQUAL(hub_codes_match(eth, "彝", strlen("彝"))->code, "07");
    CU_ASSERT_STRING_EQUAL(hub_codes_match(eth, "彝族", strlen("彝族"))->code, "07");
    CU_ASSERT_PTR_NOT_NULL(hub_codes_find(eth, "98", 2));
    const hub_codes_t *sex = hub_schemas_codes(set, "sex");
    CU_ASSERT_STRING_EQUAL(hub_codes_match(sex, "男", strlen("男"))->code, "1");
    const hub_codes_t *div = hub_schemas_codes(set, "division");
    const hub_code_t *huili = hub_codes_find(div, "513425", 6);
    CU_ASSERT_PTR_NOT_NULL_FATAL(huili);
    CU_ASSERT_EQUAL(huili->retired, 2021);
    CU_ASSERT_STRING_EQUAL(huili->successor, "513402");
    CU_ASSERT_PTR_NOT_NULL(hub_codes_find(div, "513431", 6));
    const hub_codes_t *rel = hub_schemas_codes(set, "relationship");
    CU_ASSERT_STRING_EQUAL(hub_codes_find(rel, "02", 2)->zh, "户主");
    CU_ASSERT_PTR_NOT_NULL(hub_codes_find(rel, "99", 2));
}

static void
test_fields_are_found_by_name_and_path(void)
{
    const hub_schema_t *s = hub_schemas_find(tu_schemas(), "health.hospitalisation", 22);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    const hub_field_spec_t *f = hub_schema_path(s, "body.diagnosis_icd10");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(f->type, HUB_FT_ICD10);
    CU_ASSERT_EQUAL(f->share, HUB_SHARE_NONE);
    CU_ASSERT_EQUAL(hub_schema_path(s, "body.total_cost")->type, HUB_FT_MONEY);
    CU_ASSERT_EQUAL(hub_schema_path(s, "subject.citizen_id")->type, HUB_FT_CITIZEN_ID);
    CU_ASSERT_PTR_NULL(hub_schema_path(s, "body.nope"));
    for (size_t i = 1; i < s->nfields; i++) {
        CU_ASSERT(strcmp(s->fields[i - 1].name, s->fields[i].name) < 0);
    }
}

typedef struct {
    const char *yaml;
    const char *reason;
    const char *where;  // prefix of the place
    const char *text;   // substring of the message
} s_bad_t;

static void
test_broken_schemas_are_reported_at_file_line_and_column(void)
{
    static const s_bad_t cases[] = {
        {"type: x.y\nversion: 1\ntitle: {zh: 甲, en: A}\nsensitivty: personal\nfields: {}\n",
         "unknown_key", "x.y.yaml:4:1", "did you mean 'sensitivity'"},
        {"type: x.y\nversion: 1\ntitle: {zh: 甲, en: A}\nsensitivity: personal\nfields:\n"
         "  a: {type: strng, sensitivity: public, share: none, zh: 甲, en: A}\n",
         "unknown_type", "x.y.yaml:6:", "did you mean 'string'"},
        {"type: x.y\nversion: 1\ntitle: {zh: 甲, en: A}\nsensitivity: personal\nfields:\n"
         "  a: {type: enum, codes: sexx, sensitivity: public, share: none, zh: 甲, en: A}\n",
         "unknown_codes", "x.y.yaml:6:", "did you mean 'sex'"},
        {"type: x.y\nversion: 1\ntitle: {zh: 甲, en: A}\nsensitivity: personal\nfields:\n"
         "  a: {type: string, pattern: '[', sensitivity: public, share: none, zh: 甲, en: A}\n",
         "bad_pattern", "x.y.yaml:6:", "does not compile"},
        {"type: x.y\nversion: 1\ntitle: {zh: 甲, en: A}\nsensitivity: personal\nfields:\n"
         "  a: {type: date, max_length: 3, sensitivity: public, share: none, zh: 甲, en: A}\n",
         "misplaced_key", "x.y.yaml:6:", "applies only to"},
        {"type: x.y\nversion: 1\ntitle: {zh: 甲, en: A}\nsensitivity: personal\nfields:\n"
         "  a: {type: int, sensitivity: secret, share: none, zh: 甲, en: A}\n",
         "bad_value", "x.y.yaml:6:", "not a valid sensitivity"},
        {"type: x.y\nversion: 1\ntitle: {zh: 甲, en: A}\nsensitivity: personal\nfields:\n"
         "  a: {type: int, sensitivity: public, share: none, zh: 甲}\n",
         "missing_key", "x.y.yaml:6:", "'en'"},
        {"type: x.y\nversion: 1\ntitle: {zh: 甲, en: A}\nsensitivity: personal\nsubject:\n"
         "  citizen: {sensitivity: personal, share: none, zh: 甲, en: A}\nfields: {}\n",
         "unknown_key", "x.y.yaml:6:", "did you mean 'citizen_id'"},
        {"type: x.y\nversion: zero\ntitle: {zh: 甲, en: A}\nsensitivity: personal\nfields: {}\n",
         "wrong_type", "x.y.yaml:2:", "must be an integer"},
        {"type: x.y\nversion: 1\ntitle: {zh: 甲, en: A}\nsensitivity: personal\n"
         "one_event_per_subject: true\nfields: {}\n",
         "bad_value", "x.y.yaml:5:", "needs subject.citizen_id"},
        {"type: x.y\nversion: 1\ntitle: {zh: 甲, en: A}\nsensitivity: personal\n"
         "one_event_per_subject: sometimes\nfields: {}\n",
         "wrong_type", "x.y.yaml:5:", "true or false"},
    };
    hub_diag_t *diag = hub_diag_new();
    hub_yaml_t *codes_doc = NULL;
    hub_yaml_load_file(&codes_doc, "schemas/codes/sex.yaml", NULL);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hub_schemas_t *set = hub_schemas_new();
        hub_schemas_add_codes(set, codes_doc, NULL);
        hub_yaml_t *doc = NULL;
        hub_diag_reset(diag);
        int rc = hub_yaml_load_buffer(&doc, "x.y.yaml", cases[i].yaml, strlen(cases[i].yaml),
                                      diag);
        if (rc == HUB_OK) {
            rc = hub_schemas_add_schema(set, doc, diag);
        }
        const hub_diag_entry_t *e = hub_diag_at(diag, 0);
        if (rc != HUB_ECONFIG || !e || strcmp(e->reason, cases[i].reason) != 0 ||
            strncmp(e->where, cases[i].where, strlen(cases[i].where)) != 0 ||
            !strstr(e->text, cases[i].text)) {
            fprintf(stderr, "\n  case %zu: rc %d, %s: %s [%s]\n", i, rc, e ? e->where : "-",
                    e ? e->text : "-", e ? e->reason : "-");
            CU_FAIL("a broken schema was not reported as expected");
        }
        hub_yaml_destroy(&doc);
        hub_schemas_destroy(&set);
    }
    hub_yaml_destroy(&codes_doc);
    hub_diag_destroy(&diag);
}

static void
test_an_unquoted_code_with_a_leading_zero_is_refused(void)
{
    const char *text = "table: t\nstandard: hub\ntitle: {zh: 甲, en: A}\ncodes:\n"
                       "  - {code: 07, zh: 彝族, en: Yi}\n";
    hub_diag_t *diag = hub_diag_new();
    hub_yaml_t *doc = NULL;
    hub_yaml_load_buffer(&doc, "t.yaml", text, strlen(text), diag);
    hub_schemas_t *set = hub_schemas_new();
    CU_ASSERT_EQUAL(hub_schemas_add_codes(set, doc, diag), HUB_ECONFIG);
    CU_ASSERT_STRING_EQUAL(hub_diag_at(diag, 0)->reason, "unquoted_code");
    hub_schemas_destroy(&set);
    hub_yaml_destroy(&doc);
    hub_diag_destroy(&diag);
}

static void
test_a_missing_directory_is_an_io_error(void)
{
    hub_schemas_t *set = NULL;
    hub_diag_t *diag = hub_diag_new();
    CU_ASSERT_EQUAL(hub_schemas_load(&set, "/nonexistent/schemas", diag), HUB_EIO);
    CU_ASSERT_PTR_NULL(set);
    hub_diag_destroy(&diag);
}

void
test_schema_register(void)
{
    CU_pSuite s = CU_add_suite("schema", NULL, NULL);
    CU_add_test(s, "the shipped schemas describe all thirteen types",
                test_the_shipped_schemas_describe_all_thirteen_types);
    CU_add_test(s, "national code tables are complete", test_national_code_tables_are_complete);
    CU_add_test(s, "fields are found by name and path", test_fields_are_found_by_name_and_path);
    CU_add_test(s, "broken schemas are reported at file, line and column",
                test_broken_schemas_are_reported_at_file_line_and_column);
    CU_add_test(s, "an unquoted code with a leading zero is refused",
                test_an_unquoted_code_with_a_leading_zero_is_refused);
    CU_add_test(s, "a missing directory is an I/O error", test_a_missing_directory_is_an_io_error);
}
