#include "hub_error.h"
#include "hub_msg.h"
#include "suites.h"
#include "testutil.h"

#include <CUnit/CUnit.h>
#include <string.h>

static void
test_body_fields_stay_sorted_whatever_the_insertion_order(void)
{
    hub_msg_t *m = hub_msg_new();
    const char *names[] = {"zeta", "alpha", "mid", "beta", "a"};
    for (size_t i = 0; i < 5; i++) {
        CU_ASSERT_EQUAL(hub_msg_body_set_int(m, names[i], (int64_t) i), HUB_OK);
    }
    CU_ASSERT_EQUAL(hub_msg_body_count(m), 5);
    for (size_t i = 1; i < hub_msg_body_count(m); i++) {
        CU_ASSERT(strcmp(hub_msg_body_at(m, i - 1)->name, hub_msg_body_at(m, i)->name) < 0);
    }
    CU_ASSERT_EQUAL(hub_msg_body_get(m, "mid", 3)->u.i, 2);
    hub_msg_destroy(&m);
    CU_ASSERT_PTR_NULL(m);
}

static void
test_setting_a_body_field_twice_replaces_it(void)
{
    hub_msg_t *m = hub_msg_new();
    hub_msg_body_set_str(m, "x", "one");
    hub_msg_body_set_str(m, "x", "two");
    CU_ASSERT_EQUAL(hub_msg_body_count(m), 1);
    CU_ASSERT_STRING_EQUAL(hub_msg_body_get(m, "x", 1)->u.s, "two");
    hub_val_t none = {HUB_VAL_NONE, 0, {0}};
    hub_msg_body_set(m, "x", 1, &none);
    CU_ASSERT_EQUAL(hub_msg_body_count(m), 0);
    hub_msg_destroy(&m);
}

static void
test_adding_an_owned_duplicate_is_refused(void)
{
    hub_msg_t *m = hub_msg_new();
    hub_val_t v = hub_val_int(1);
    CU_ASSERT_EQUAL(hub_msg_body_add_owned(m, "k", 1, &v), HUB_OK);
    CU_ASSERT_EQUAL(hub_msg_body_add_owned(m, "k", 1, &v), HUB_EEXIST);
    hub_msg_destroy(&m);
}

static void
test_envelope_kinds_are_enforced(void)
{
    hub_msg_t *m = hub_msg_new();
    hub_val_t s = hub_val_str("1", 1), i = hub_val_int(1);
    CU_ASSERT_EQUAL(hub_msg_set_env(m, HUB_ENV_SCHEMA_VERSION, &s), HUB_EINVAL);
    CU_ASSERT_EQUAL(hub_msg_set_env(m, HUB_ENV_SCHEMA_VERSION, &i), HUB_OK);
    CU_ASSERT_EQUAL(hub_msg_set_env(m, HUB_ENV_ID, &i), HUB_EINVAL);
    CU_ASSERT_EQUAL(hub_msg_set_subj(m, HUB_SUBJ_NAME, &i), HUB_EINVAL);
    hub_msg_destroy(&m);
}

static void
test_paths_reach_envelope_subject_and_body(void)
{
    hub_msg_t *m = hub_msg_new();
    tu_dropout(m);
    CU_ASSERT_STRING_EQUAL(hub_msg_get_path(m, "type")->u.s, "student.enrolment_change");
    CU_ASSERT_STRING_EQUAL(hub_msg_get_path(m, "subject.hukou_division")->u.s, "513431");
    CU_ASSERT_STRING_EQUAL(hub_msg_get_path(m, "body.change_type")->u.s, "dropout");
    CU_ASSERT_EQUAL(hub_msg_get_path(m, "body.absent")->kind, HUB_VAL_NONE);
    CU_ASSERT_EQUAL(hub_msg_get_path(m, "subject.household_no")->kind, HUB_VAL_NONE);
    CU_ASSERT_PTR_NULL(hub_msg_get_path(m, "subject.nonsense"));
    CU_ASSERT_PTR_NULL(hub_msg_get_path(m, "nonsense"));
    hub_msg_destroy(&m);
}

static void
test_a_copy_is_equal_and_independent(void)
{
    hub_msg_t *a = hub_msg_new(), *b = hub_msg_new();
    for (uint64_t seed = 0; seed < 200; seed++) {
        tu_random_msg(a, seed);
        CU_ASSERT_EQUAL_FATAL(hub_msg_copy(b, a), HUB_OK);
        CU_ASSERT_TRUE(hub_msg_equal(a, b));
    }
    tu_dropout(a);
    hub_msg_copy(b, a);
    hub_msg_reset(a);
    CU_ASSERT_FALSE(hub_msg_equal(a, b));
    CU_ASSERT_STRING_EQUAL(hub_msg_body_get(b, "grade", 5)->u.s, "09");
    hub_msg_destroy(&a);
    hub_msg_destroy(&b);
}

static void
test_messages_differing_in_one_value_are_not_equal(void)
{
    hub_msg_t *a = hub_msg_new(), *b = hub_msg_new();
    tu_dropout(a);
    tu_dropout(b);
    CU_ASSERT_TRUE(hub_msg_equal(a, b));
    hub_msg_body_set_str(b, "grade", "08");
    CU_ASSERT_FALSE(hub_msg_equal(a, b));
    tu_dropout(b);
    hub_msg_set_subj_str(b, HUB_SUBJ_SEX, "2");
    CU_ASSERT_FALSE(hub_msg_equal(a, b));
    hub_msg_destroy(&a);
    hub_msg_destroy(&b);
}

static void
test_destroy_is_safe_on_null(void)
{
    hub_msg_t *m = NULL;
    hub_msg_destroy(&m);
    hub_msg_destroy(NULL);
    CU_PASS("no crash");
}

void
test_msg_register(void)
{
    CU_pSuite s = CU_add_suite("msg", NULL, NULL);
    CU_add_test(s, "body fields stay sorted whatever the insertion order",
                test_body_fields_stay_sorted_whatever_the_insertion_order);
    CU_add_test(s, "setting a body field twice replaces it",
                test_setting_a_body_field_twice_replaces_it);
    CU_add_test(s, "adding an owned duplicate is refused",
                test_adding_an_owned_duplicate_is_refused);
    CU_add_test(s, "envelope kinds are enforced", test_envelope_kinds_are_enforced);
    CU_add_test(s, "paths reach envelope, subject and body",
                test_paths_reach_envelope_subject_and_body);
    CU_add_test(s, "a copy is equal and independent", test_a_copy_is_equal_and_independent);
    CU_add_test(s, "messages differing in one value are not equal",
                test_messages_differing_in_one_value_are_not_equal);
    CU_add_test(s, "destroy is safe on NULL", test_destroy_is_safe_on_null);
}
