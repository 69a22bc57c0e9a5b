#include "hub_error.h"
#include "hub_validate.h"
#include "suites.h"
#include "testutil.h"

#include <CUnit/CUnit.h>
#include <string.h>

static void
test_the_dropout_example_is_valid(void)
{
    hub_msg_t *m = hub_msg_new();
    hub_diag_t *diag = hub_diag_new();
    tu_dropout(m);
    int rc = hub_validate(tu_schemas(), m, 0, diag);
    hub_diag_print(diag, stderr);
    CU_ASSERT_EQUAL(rc, HUB_OK);
    CU_ASSERT_EQUAL(hub_diag_count(diag), 0);
    hub_diag_destroy(&diag);
    hub_msg_destroy(&m);
}

// One defect applied to the dropout example, and what must be reported.
typedef struct {
    const char *path;  // "subject.x" / "body.x" / envelope key
    const char *value; // string value to set; NULL removes the key
    const char *reason;
    const char *text; // substring of the message
} s_case_t;

static void
s_apply(hub_msg_t *m, const char *path, const char *value)
{
    hub_val_t v = value ? hub_val_str(value, strlen(value)) : (hub_val_t){HUB_VAL_NONE, 0, {0}};
    if (strncmp(path, "subject.", 8) == 0) {
        hub_msg_set_subj(m, (hub_subj_t) hub_subj_find(path + 8, strlen(path + 8)), &v);
    } else if (strncmp(path, "body.", 5) == 0) {
        hub_msg_body_set(m, path + 5, strlen(path + 5), &v);
    } else {
        hub_msg_set_env(m, (hub_env_t) hub_env_find(path, strlen(path)), &v);
    }
}

static void
test_each_defect_is_reported_at_its_path_with_its_reason(void)
{
    static const s_case_t cases[] = {
        {"subject.citizen_id", "513431201001050018", "check_char", "is 8, expected 9"},
        {"subject.citizen_id", "5.13431E+17", "bad_value", "scientific notation"},
        {"subject.citizen_id", "51343120100105001923", "bad_value", "disability"},
        {"subject.citizen_id", "513431201002300011", "bad_value", "not a real date"},
        {"subject.hukou_division", "513499", "unknown_code", "not a Liangshan division"},
        {"subject.hukou_division", "51343", "bad_value", ""},
        {"subject.sex", "3", "unknown_code", "table 'sex'"},
        {"subject.sex", "2", "inconsistent", "male (1)"},
        {"subject.birth_date", "2010-01-06", "inconsistent", "2010-01-05"},
        {"subject.name", "吉克2", "bad_value", "digits"},
        {"body.student_no", "G513431201001050018", "check_char", ""},
        {"body.student_no", "X513431201001050019", "bad_value", ""},
        {"body.change_date", "2026-02-30", "bad_value", "YYYY-MM-DD"},
        {"body.change_type", "quit", "unknown_code", "enrolment_change_type"},
        {"body.change_type", NULL, "required", "student.enrolment_change"},
        {"body.guardian_phone", "12345", "bad_value", ""},
        {"body.school_uscc", "91510100MA6CXXXXX0", "", ""},
        {"body.grade_level", "09", "unknown_field", "did you mean 'grade'"},
        {"type", "student.enrolment", "unknown_type", "did you mean"},
        {"id", "bad id!", "bad_value", "message id"},
        {"id", NULL, "required", "missing"},
        {"source", "police", "unknown_code", "not a department"},
        {"event_date", "2026/09/20", "bad_value", "YYYY-MM-DD"},
        {"recorded_at", "2026-09-21 09:00", "bad_value", "datetime"},
    };
    hub_msg_t *m = hub_msg_new();
    hub_diag_t *diag = hub_diag_new();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tu_dropout(m);
        s_apply(m, cases[i].path, cases[i].value);
        hub_diag_reset(diag);
        int rc = hub_validate(tu_schemas(), m, 0, diag);
        const hub_diag_entry_t *e = hub_diag_at(diag, 0);
        bool ok = rc == HUB_EINVALID && e && strcmp(e->where, cases[i].path) == 0 &&
                  strstr(e->reason, cases[i].reason) && strstr(e->text, cases[i].text);
        if (!ok || hub_diag_errors(diag) != 1) {
            fprintf(stderr, "\n  case %s=%s: rc %d, %zu errors\n", cases[i].path,
                    cases[i].value ? cases[i].value : "(removed)", rc, hub_diag_errors(diag));
            hub_diag_print(diag, stderr);
            CU_FAIL("a defect was not reported as expected");
        }
    }
    hub_diag_destroy(&diag);
    hub_msg_destroy(&m);
}

static void
test_every_problem_is_reported_not_just_the_first(void)
{
    hub_msg_t *m = hub_msg_new();
    hub_diag_t *diag = hub_diag_new();
    tu_dropout(m);
    s_apply(m, "subject.citizen_id", "513431201001050018");
    s_apply(m, "body.change_type", "quit");
    s_apply(m, "body.extra", "x");
    CU_ASSERT_EQUAL(hub_validate(tu_schemas(), m, 0, diag), HUB_EINVALID);
    CU_ASSERT_EQUAL(hub_diag_errors(diag), 3);
    hub_diag_destroy(&diag);
    hub_msg_destroy(&m);
}

typedef struct {
    const char *path;
    const char *raw;
    const char *canonical;
} s_norm_t;

static void
test_normalising_rewrites_values_into_canonical_form(void)
{
    static const s_norm_t cases[] = {
        {"subject.citizen_id", "513431201001050019 ", "513431201001050019"},
        {"subject.citizen_id", "５１３４３１２０１００１０５００１９", "513431201001050019"},
        {"subject.name", "吉克•阿依", "吉克·阿依"},
        {"subject.ethnicity", "彝族", "07"},
        {"subject.sex", "男", "1"},
        {"body.guardian_phone", "+86 138 0013 8000", "13800138000"},
        {"body.change_type", "辍学", "dropout"},
    };
    hub_msg_t *m = hub_msg_new();
    hub_diag_t *diag = hub_diag_new();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tu_dropout(m);
        s_apply(m, cases[i].path, cases[i].raw);
        hub_diag_reset(diag);
        CU_ASSERT_EQUAL(hub_validate(tu_schemas(), m, 0, NULL), HUB_EINVALID);
        int rc = hub_validate(tu_schemas(), m, HUB_VALIDATE_NORMALIZE, diag);
        const hub_val_t *v = hub_msg_get_path(m, cases[i].path);
        if (rc != HUB_OK || v->kind != HUB_VAL_STR || strcmp(v->u.s, cases[i].canonical) != 0 ||
            hub_diag_count(diag) != 1 || hub_diag_at(diag, 0)->sev != HUB_DIAG_NOTE) {
            fprintf(stderr, "\n  case %s=%s\n", cases[i].path, cases[i].raw);
            hub_diag_print(diag, stderr);
            CU_FAIL("a value was not normalised");
        }
    }
    hub_diag_destroy(&diag);
    hub_msg_destroy(&m);
}

static void
test_a_legacy_fifteen_digit_id_becomes_eighteen_digits(void)
{
    hub_msg_t *m = hub_msg_new();
    tu_dropout(m);
    s_apply(m, "subject.citizen_id", "513425850312001");
    s_apply(m, "subject.birth_date", "1985-03-12");
    s_apply(m, "subject.hukou_division", "513425"); // retired code, still valid
    s_apply(m, "body.student_no", "J513425198503120011");
    CU_ASSERT_EQUAL(hub_validate(tu_schemas(), m, HUB_VALIDATE_NORMALIZE, NULL), HUB_OK);
    CU_ASSERT_STRING_EQUAL(hub_msg_subj(m, HUB_SUBJ_CITIZEN_ID)->u.s, "513425198503120011");
    hub_msg_destroy(&m);
}

static void
test_ids_from_outside_liangshan_are_valid(void)
{
    hub_msg_t *m = hub_msg_new();
    tu_dropout(m);
    s_apply(m, "subject.citizen_id", "34052419800101001X");
    s_apply(m, "subject.birth_date", "1980-01-01");
    s_apply(m, "body.student_no", "G34052419800101001X");
    CU_ASSERT_EQUAL(hub_validate(tu_schemas(), m, 0, NULL), HUB_OK);
    hub_msg_destroy(&m);
}

static void
test_a_newer_schema_version_is_refused(void)
{
    hub_msg_t *m = hub_msg_new();
    hub_diag_t *diag = hub_diag_new();
    tu_dropout(m);
    hub_val_t v = hub_val_int(99);
    hub_msg_set_env(m, HUB_ENV_SCHEMA_VERSION, &v);
    CU_ASSERT_EQUAL(hub_validate(tu_schemas(), m, 0, diag), HUB_EINVALID);
    CU_ASSERT_STRING_EQUAL(hub_diag_at(diag, 0)->reason, "version_newer");
    hub_diag_destroy(&diag);
    hub_msg_destroy(&m);
}

static void
test_wrong_value_kinds_are_reported(void)
{
    hub_msg_t *m = hub_msg_new();
    hub_diag_t *diag = hub_diag_new();
    tu_dropout(m);
    hub_msg_body_set_int(m, "grade", 9);
    CU_ASSERT_EQUAL(hub_validate(tu_schemas(), m, 0, diag), HUB_EINVALID);
    CU_ASSERT_STRING_EQUAL(hub_diag_at(diag, 0)->reason, "wrong_type");
    CU_ASSERT_STRING_EQUAL(hub_diag_at(diag, 0)->where, "body.grade");
    hub_diag_destroy(&diag);
    hub_msg_destroy(&m);
}

void
test_validate_register(void)
{
    CU_pSuite s = CU_add_suite("validate", NULL, NULL);
    CU_add_test(s, "the dropout example is valid", test_the_dropout_example_is_valid);
    CU_add_test(s, "each defect is reported at its path with its reason",
                test_each_defect_is_reported_at_its_path_with_its_reason);
    CU_add_test(s, "every problem is reported, not just the first",
                test_every_problem_is_reported_not_just_the_first);
    CU_add_test(s, "normalising rewrites values into canonical form",
                test_normalising_rewrites_values_into_canonical_form);
    CU_add_test(s, "a legacy 15-digit ID becomes 18 digits",
                test_a_legacy_fifteen_digit_id_becomes_eighteen_digits);
    CU_add_test(s, "IDs from outside Liangshan are valid",
                test_ids_from_outside_liangshan_are_valid);
    CU_add_test(s, "a newer schema version is refused", test_a_newer_schema_version_is_refused);
    CU_add_test(s, "wrong value kinds are reported", test_wrong_value_kinds_are_reported);
}
