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
        "person.birth",
        "person.death",
        "household.hukou_change",
        "person.residence_permit",
        "student.enrolment_change",
        "health.hospitalisation",
        "alert.poverty_risk",
        "assistance.grant",
        "disability.certificate",
        "poverty.household_status",
        "security.drug_control",
        "health.hiv_followup",
        "grid.incident",
    };
    const hub_schemas_t *set = tu_schemas();
    CU_ASSERT_EQUAL(hub_schemas_count(set), 13);
    for (size_t i = 0; i < 13; i++) {
        const hub_schema_t *s = hub_schemas_find(set, types[i], strlen(types[i]));
        CU_ASSERT_PTR_NOT_NULL(s);
        CU_ASSERT(s && s->version >= 1 && s->nfields > 0);
        // A death is one event whoever reports it, and so is a birth;
        // nothing else is so marked.
        bool one = strcmp(types[i], "person.death") == 0 || strcmp(types[i], "person.birth") == 0;
        CU_ASSERT(s && (s->event_field != NULL) == one);
    }
    const hub_schema_t *hiv = hub_schemas_find(set, "health.hiv_followup", 19);
    for (int i = 0; hiv && i < HUB_SUBJ_COUNT; i++) {
        CU_ASSERT_FALSE(hiv->has_subject[i]); // never a name or citizen ID
    }
}

static void
test_national_code_tables_are_complete(void)
{
    const hub_schemas_t *set = tu_schemas();
    const hub_codes_t *eth = hub_schemas_codes(set, "ethnicity");
    CU_ASSERT_EQUAL(hub_codes_count(eth), 58); // 56 groups + 97 + 98
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

// A type with a required string, an optional string, a required int and a
// required list, for the one_event_per cases (the option on line 5).
#define S_EVENT_HEAD "type: x.y\nversion: 1\ntitle: {zh: 甲, en: A}\nsensitivity: personal\n"
#define S_EVENT_FIELDS                                                                             \
    "fields:\n"                                                                                    \
    "  certificate_no: {type: string, required: true, sensitivity: public, share: none, zh: 甲, " \
    "en: A}\n"                                                                                     \
    "  note: {type: string, sensitivity: public, share: none, zh: 甲, en: A}\n"                   \
    "  weight_g: {type: int, required: true, sensitivity: public, share: none, zh: 甲, en: A}\n"  \
    "  twins: {type: list, items: string, required: true, sensitivity: public, share: none, "      \
    "zh: 甲, en: A}\n"

typedef struct {
    const char *yaml;
    const char *reason;
    const char *where; // prefix of the place
    const char *text;  // substring of the message
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
        // one_event_per: the field must be one the type declares, required,
        // and a string; and only one of the two options.
        {S_EVENT_HEAD "one_event_per: body.certifcate_no\n" S_EVENT_FIELDS, "unknown_field",
         "x.y.yaml:5:16", "did you mean 'body.certificate_no'"},
        {S_EVENT_HEAD "one_event_per: certificate_no\n" S_EVENT_FIELDS, "unknown_field",
         "x.y.yaml:5:", "did you mean 'body.certificate_no'"},
        {S_EVENT_HEAD "one_event_per: envelope.id\n" S_EVENT_FIELDS, "unknown_field",
         "x.y.yaml:5:", "has no field 'envelope.id' (name one it declares"},
        {S_EVENT_HEAD "one_event_per: subject.citizen_id\n" S_EVENT_FIELDS, "unknown_field",
         "x.y.yaml:5:", "has no field 'subject.citizen_id'"},
        {S_EVENT_HEAD "one_event_per: body.note\n" S_EVENT_FIELDS, "bad_value",
         "x.y.yaml:5:", "'body.note' (line 8) is optional"},
        {S_EVENT_HEAD "one_event_per: body.weight_g\n" S_EVENT_FIELDS, "bad_value",
         "x.y.yaml:5:", "is of type int; the field that identifies the event must hold one string"},
        {S_EVENT_HEAD "one_event_per: body.twins\n" S_EVENT_FIELDS, "bad_value",
         "x.y.yaml:5:", "is of type list"},
        {S_EVENT_HEAD "one_event_per: [body.certificate_no]\n" S_EVENT_FIELDS, "wrong_type",
         "x.y.yaml:5:", ""},
        {S_EVENT_HEAD
         "one_event_per: body.certificate_no\none_event_per_subject: true\n" S_EVENT_FIELDS,
         "bad_value", "x.y.yaml:5:", "not both"},
        {S_EVENT_HEAD
         "one_event_per_subject: true\nsubject:\n"
         "  citizen_id: {sensitivity: personal, share: none, zh: 甲, en: A}\n" S_EVENT_FIELDS,
         "bad_value",
         "x.y.yaml:5:", "one_event_per_subject: 'subject.citizen_id' (line 7) is optional"},
        // A broken field is reported once, not again as the option's.
        {S_EVENT_HEAD
         "one_event_per: body.certificate_no\nfields:\n"
         "  certificate_no: {type: strng, required: true, sensitivity: public, share: none, "
         "zh: 甲, en: A}\n",
         "unknown_type", "x.y.yaml:7:", "did you mean 'string'"},
    };
    hub_diag_t *diag = hub_diag_new();
    hub_yaml_t *codes_doc = NULL;
    hub_yaml_load_file(&codes_doc, "schemas/codes/sex.yaml", NULL);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hub_schemas_t *set = hub_schemas_new();
        hub_schemas_add_codes(set, codes_doc, NULL);
        hub_yaml_t *doc = NULL;
        hub_diag_reset(diag);
        int rc = hub_yaml_load_buffer(&doc, "x.y.yaml", cases[i].yaml, strlen(cases[i].yaml), diag);
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

// The schema of x.y loaded from TEXT into a new set *SET (the caller
// destroys it), or NULL with the diagnostics printed.
static const hub_schema_t *
s_load_one(hub_schemas_t **set, const char *text)
{
    hub_diag_t *diag = hub_diag_new();
    hub_yaml_t *doc = NULL;
    *set = hub_schemas_new();
    int rc = hub_yaml_load_buffer(&doc, "x.y.yaml", text, strlen(text), diag);
    rc = rc ? rc : hub_schemas_add_schema(*set, doc, diag);
    if (rc) {
        hub_diag_print(diag, stderr);
    }
    hub_schemas_finish(*set);
    hub_yaml_destroy(&doc);
    hub_diag_destroy(&diag);
    return rc ? NULL : hub_schemas_find(*set, "x.y", 3);
}

// A birth is one event per certificate number, a death one per person
// (one_event_per_subject: true is one_event_per: subject.citizen_id); a
// message's event is the value it holds there.
static void
test_one_event_per_names_the_field_that_identifies_the_event(void)
{
    const hub_schemas_t *set = tu_schemas();
    const hub_schema_t *birth = hub_schemas_find(set, "person.birth", 12);
    const hub_schema_t *death = hub_schemas_find(set, "person.death", 12);
    CU_ASSERT_PTR_NOT_NULL_FATAL(birth && birth->event_field ? birth : NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(death && death->event_field ? death : NULL);
    CU_ASSERT_STRING_EQUAL(birth->event_field->path, "body.certificate_no");
    CU_ASSERT_STRING_EQUAL(death->event_field->path, "subject.citizen_id");
    hub_msg_t *msg = hub_msg_new();
    const char *field = "x";
    tu_load_msg(msg, "person.birth.json");
    CU_ASSERT_STRING_EQUAL(hub_schemas_event(set, msg, &field), "R513108124");
    CU_ASSERT_STRING_EQUAL(field, "body.certificate_no");
    hub_val_t none = {0};
    hub_msg_set_subj(msg, HUB_SUBJ_CITIZEN_ID, &none); // health's certificate: no child ID
    CU_ASSERT_STRING_EQUAL(hub_schemas_event(set, msg, NULL), "R513108124");
    hub_msg_body_set_str(msg, "certificate_no", ""); // invalid, but never an event of ""
    CU_ASSERT_PTR_NULL(hub_schemas_event(set, msg, &field));
    CU_ASSERT_PTR_NULL(field);
    hub_msg_body_set(msg, "certificate_no", 14, &none);
    CU_ASSERT_PTR_NULL(hub_schemas_event(set, msg, NULL));
    tu_load_msg(msg, "person.death.json");
    CU_ASSERT_STRING_EQUAL(hub_schemas_event(set, msg, &field),
                           hub_msg_subj(msg, HUB_SUBJ_CITIZEN_ID)->u.s);
    CU_ASSERT_STRING_EQUAL(field, "subject.citizen_id");
    tu_dropout(msg); // not a one-event type
    CU_ASSERT_PTR_NULL(hub_schemas_event(set, msg, &field));
    CU_ASSERT_PTR_NULL(field);
    hub_msg_destroy(&msg);
    // Either spelling of "one event per person" means the same.
    static const char *const texts[] = {
        S_EVENT_HEAD "one_event_per_subject: true\nsubject:\n"
                     "  citizen_id: {required: true, sensitivity: personal, share: none, zh: 甲, "
                     "en: A}\nfields: {}\n",
        S_EVENT_HEAD "one_event_per: subject.citizen_id\nsubject:\n"
                     "  citizen_id: {required: true, sensitivity: personal, share: none, zh: 甲, "
                     "en: A}\nfields: {}\n",
        S_EVENT_HEAD "one_event_per_subject: false\n" S_EVENT_FIELDS,
        S_EVENT_HEAD "one_event_per: body.certificate_no\n" S_EVENT_FIELDS,
    };
    static const char *const want[] = {"subject.citizen_id", "subject.citizen_id", NULL,
                                       "body.certificate_no"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        hub_schemas_t *one = NULL;
        const hub_schema_t *s = s_load_one(&one, texts[i]);
        CU_ASSERT_PTR_NOT_NULL(s);
        if (s && want[i]) {
            CU_ASSERT_PTR_NOT_NULL(s->event_field);
            CU_ASSERT_STRING_EQUAL(s->event_field ? s->event_field->path : "", want[i]);
        } else if (s) {
            CU_ASSERT_PTR_NULL(s->event_field);
        }
        hub_schemas_destroy(&one);
    }
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
    CU_add_test(s, "one_event_per names the field that identifies the event",
                test_one_event_per_names_the_field_that_identifies_the_event);
    CU_add_test(s, "an unquoted code with a leading zero is refused",
                test_an_unquoted_code_with_a_leading_zero_is_refused);
    CU_add_test(s, "a missing directory is an I/O error", test_a_missing_directory_is_an_io_error);
}
