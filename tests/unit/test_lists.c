// Lists (docs/RULES.md, "Lists"): the shipped list of monitored
// households and what its messages do to it, listed() in conditions, the
// loader's diagnostics for lists (file:line:column), the in-memory member
// set, and routing a dropout by membership.
#include "hub_config.h"
#include "hub_depts.h"
#include "hub_error.h"
#include "hub_listset.h"
#include "hub_route.h"
#include "hub_rules.h"
#include "suites.h"
#include "testutil.h"

#include <CUnit/CUnit.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

// The shipped configuration, loaded once by the suite's init.
static struct {
    char repo[PATH_MAX];
    hub_config_t cfg;
    hub_depts_t *depts;
    hub_rules_t *rules;
    tu_tmp_t tmp;
} s;

static int
s_init(void)
{
    hub_diag_t *diag = hub_diag_new();
    int rc = getcwd(s.repo, sizeof s.repo) ? HUB_OK : HUB_EIO;
    rc = rc ? rc : tu_tmp_init(&s.tmp, "lists");
    rc = rc ? rc : hub_config_load(&s.cfg, "config", diag);
    rc = rc ? rc : hub_depts_load(&s.depts, s.cfg.departments, tu_schemas(), diag);
    rc = rc ? rc : hub_rules_load(&s.rules, "config", tu_schemas(), s.depts, diag);
    if (rc) {
        hub_diag_print(diag, stderr);
    }
    hub_diag_destroy(&diag);
    return rc;
}

static int
s_clean(void)
{
    hub_rules_destroy(&s.rules);
    hub_depts_destroy(&s.depts);
    hub_config_free(&s.cfg);
    return tu_tmp_cleanup(&s.tmp);
}

static void
s_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(fwrite(text, 1, strlen(text), f), strlen(text));
    fclose(f);
}

// Loads a configuration of the shipped departments and RULES as
// rules.d/x.yaml; what hub_rules_load returned. *OUT gets the set (or NULL).
static int
s_load(const char *rules, hub_rules_t **out, hub_diag_t *diag)
{
    char dir[160], path[PATH_MAX + 200], text[2 * PATH_MAX + 128];
    snprintf(dir, sizeof dir, "%s", tu_tmp_dir(&s.tmp, "cfg"));
    CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0700), 0);
    snprintf(text, sizeof text, "schemas: %s/schemas\ndepartments: %s/config/departments.yaml\n",
             s.repo, s.repo);
    snprintf(path, sizeof path, "%s/hub.yaml", dir);
    s_write(path, text);
    snprintf(path, sizeof path, "%s/rules.d", dir);
    CU_ASSERT_EQUAL_FATAL(mkdir(path, 0700), 0);
    snprintf(path, sizeof path, "%s/rules.d/x.yaml", dir);
    s_write(path, rules);
    *out = NULL;
    int rc = hub_rules_load(out, dir, tu_schemas(), s.depts, diag);
    CU_ASSERT((rc == HUB_OK) == (*out != NULL));
    return rc;
}

// True when DIAG holds an error REASON at a place ending in ":LINE:" + col.
static bool
s_has_error(const hub_diag_t *diag, const char *reason, const char *line)
{
    for (size_t i = 0; i < hub_diag_count(diag); i++) {
        const hub_diag_entry_t *e = hub_diag_at(diag, i);
        if (e->sev == HUB_DIAG_ERROR && strcmp(e->reason, reason) == 0 &&
            strstr(e->where, "x.yaml") && strstr(e->where, line)) {
            return true;
        }
    }
    hub_diag_print(diag, stdout);
    return false;
}

#define S_LIST                                                                                     \
    "lists:\n"                                                                                     \
    "  - id: watched\n"                                                                            \
    "    from: poverty_alleviation\n"                                                              \
    "    types: poverty.household_status\n"                                                        \
    "    key: subject.household_no\n"                                                              \
    "    member: not body.risk_eliminated\n"

// ------------------------------------------------------------ the shipped list

static void
test_the_shipped_list_is_kept_by_poverty_alleviation_only(void)
{
    const hub_list_t *l = hub_rules_list_find(s.rules, "monitored_households");
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    CU_ASSERT_STRING_EQUAL(l->from, "poverty_alleviation");
    CU_ASSERT_STRING_EQUAL(l->key, "subject.household_no");
    CU_ASSERT_TRUE(hub_list_applies(l, "poverty_alleviation", "poverty.household_status"));
    CU_ASSERT_FALSE(hub_list_applies(l, "civil_affairs", "poverty.household_status"));
    CU_ASSERT_FALSE(hub_list_applies(l, "poverty_alleviation", "assistance.grant"));
    CU_ASSERT_PTR_EQUAL(hub_rules_list_at(s.rules, l->index), l);
}

static void
test_a_monitored_report_sets_and_an_eliminated_risk_clears(void)
{
    const hub_list_t *l = hub_rules_list_find(s.rules, "monitored_households");
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    hub_msg_t *m = hub_msg_new();
    tu_load_msg(m, "poverty.household_status.json"); // risk eliminated in 2026-09
    const char *key;
    size_t len;
    bool member = true;
    CU_ASSERT_TRUE(hub_list_change(l, m, &key, &len, &member));
    CU_ASSERT_EQUAL(len, 12);
    CU_ASSERT_EQUAL(memcmp(key, "513430000152", 12), 0);
    CU_ASSERT_FALSE(member);
    hub_msg_body_set_bool(m, "risk_eliminated", false);
    CU_ASSERT_TRUE(hub_list_change(l, m, &key, &len, &member));
    CU_ASSERT_TRUE(member);
    // a lifted household under monitoring (a category) is in; without one, out
    hub_msg_body_set_str(m, "household_type", "lifted");
    CU_ASSERT_TRUE(hub_list_change(l, m, &key, &len, &member));
    CU_ASSERT_TRUE(member);
    hub_msg_body_set_str(m, "household_type", "general");
    hub_msg_body_set_str(m, "monitoring_category", "");
    hub_msg_destroy(&m);
}

// ------------------------------------------------------------ listed()

static void
test_listed_asks_the_lookup_and_fails_closed_without_one(void)
{
    const hub_schema_t *st = hub_schemas_find(tu_schemas(), "student.enrolment_change", 24);
    const char *const ids[] = {"a", "monitored_households"};
    hub_expr_origin_t origin = {"rules.yaml", 3, 11};
    const char *src = "listed(\"monitored_households\", subject.household_no)";
    hub_expr_t *e = NULL;
    CU_ASSERT_EQUAL_FATAL(
        hub_expr_compile_with(&e, src, strlen(src), &st, 1, &origin, ids, 2, NULL), HUB_OK);
    hub_msg_t *m = hub_msg_new();
    tu_dropout(m);
    hub_msg_set_subj_str(m, HUB_SUBJ_HOUSEHOLD_NO, "513431000362");
    hub_listset_t *set = hub_listset_new();
    hub_expr_lookup_t lk = hub_listset_lookup(set);
    CU_ASSERT_FALSE(hub_expr_eval(e, m));
    CU_ASSERT_FALSE(hub_expr_eval_with(e, m, &lk));
    CU_ASSERT_EQUAL(hub_listset_set(set, 0, "513431000362", 12, true), HUB_OK);
    CU_ASSERT_FALSE(hub_expr_eval_with(e, m, &lk)); // list 0 is "a"
    CU_ASSERT_EQUAL(hub_listset_set(set, 1, "513431000362", 12, true), HUB_OK);
    CU_ASSERT_TRUE(hub_expr_eval_with(e, m, &lk));
    CU_ASSERT_FALSE(hub_expr_eval(e, m));
    hub_msg_set_subj_str(m, HUB_SUBJ_HOUSEHOLD_NO, "513431000363");
    CU_ASSERT_FALSE(hub_expr_eval_with(e, m, &lk));
    hub_listset_destroy(&set);
    hub_msg_destroy(&m);
    hub_expr_destroy(&e);
}

static void
test_listed_with_an_unknown_list_or_a_number_key_is_refused(void)
{
    const hub_schema_t *st = hub_schemas_find(tu_schemas(), "poverty.household_status", 24);
    const char *const ids[] = {"monitored_households"};
    hub_expr_origin_t origin = {"rules.yaml", 3, 11};
    static const struct {
        const char *src, *reason, *where;
    } cases[] = {
        {"listed(\"monitored\", subject.household_no)", "unknown_list", "rules.yaml:3:18"},
        {"listed(\"monitored_households\", body.household_size)", "type_mismatch",
         "rules.yaml:3:42"},
        {"listed(subject.household_no)", "expr_syntax", "rules.yaml:3:18"},
        {"listed(\"monitored_households\")", "expr_syntax", "rules.yaml:3:40"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hub_diag_t *diag = hub_diag_new();
        hub_expr_t *e = NULL;
        int rc = hub_expr_compile_with(&e, cases[i].src, strlen(cases[i].src), &st, 1, &origin, ids,
                                       1, diag);
        CU_ASSERT_EQUAL(rc, HUB_ECONFIG);
        CU_ASSERT_PTR_NULL(e);
        CU_ASSERT_EQUAL_FATAL(hub_diag_count(diag), 1);
        CU_ASSERT_STRING_EQUAL(hub_diag_at(diag, 0)->reason, cases[i].reason);
        CU_ASSERT_STRING_EQUAL(hub_diag_at(diag, 0)->where, cases[i].where);
        if (strcmp(hub_diag_at(diag, 0)->where, cases[i].where) != 0) {
            hub_diag_print(diag, stdout);
        }
        hub_diag_destroy(&diag);
    }
}

// ------------------------------------------------------------ the loader

static void
test_a_rule_may_name_a_list_declared_in_a_later_place(void)
{
    hub_diag_t *diag = hub_diag_new();
    hub_rules_t *r = NULL;
    const char *text = "rules:\n"
                       "  - id: r\n"
                       "    from: education\n"
                       "    types: student.enrolment_change\n"
                       "    when: listed(\"watched\", subject.household_no)\n"
                       "    to: [{department: poverty_alleviation, by: subject.hukou_division}]\n"
                       "    fields: [body.change_type]\n"
                       "    purpose: p\n"
                       "    legal_basis: l\n" S_LIST;
    int rc = s_load(text, &r, diag);
    if (rc) {
        hub_diag_print(diag, stdout);
    }
    CU_ASSERT_EQUAL_FATAL(rc, HUB_OK);
    CU_ASSERT_EQUAL(hub_rules_list_count(r), 1);
    CU_ASSERT_PTR_NULL(hub_rules_list_find(r, "monitored_households"));
    hub_rules_destroy(&r);
    hub_diag_destroy(&diag);
}

static void
test_list_mistakes_are_reported_at_their_place(void)
{
    static const struct {
        const char *text, *reason, *line;
    } cases[] = {
        {S_LIST "  - id: watched\n    from: poverty_alleviation\n"
                "    types: poverty.household_status\n    key: subject.household_no\n",
         "duplicate_list", "x.yaml:7:"},
        {"lists:\n  - id: w\n    from: poverty_alleviation\n"
         "    types: poverty.household_status\n    key: subject.houshold_no\n",
         "unknown_field", "x.yaml:5:"},
        {"lists:\n  - id: w\n    from: poverty_alleviation\n"
         "    types: poverty.household_status\n    key: body.household_size\n",
         "type_mismatch", "x.yaml:5:"},
        {"lists:\n  - id: w\n    from: nobody\n"
         "    types: poverty.household_status\n    key: subject.household_no\n",
         "unknown_department", "x.yaml:3:"},
        {"lists:\n  - id: w\n    from: poverty_alleviation\n"
         "    types: poverty.household_status\n    key: subject.household_no\n"
         "    member: body.risk_eliminated == \"yes\"\n",
         "type_mismatch", "x.yaml:6:"},
        {"lists:\n  - id: w\n    from: poverty_alleviation\n"
         "    types: poverty.household_status\n    key: subject.household_no\n"
         "    membr: true\n",
         "unknown_key", "x.yaml:6:"},
        {"rules:\n  - id: r\n    from: education\n    types: student.enrolment_change\n"
         "    when: listed(\"nope\", subject.household_no)\n"
         "    to: [{department: education, by: subject.hukou_division}]\n"
         "    fields: [body.change_type]\n",
         "unknown_list", "x.yaml:5:"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hub_diag_t *diag = hub_diag_new();
        hub_rules_t *r = NULL;
        CU_ASSERT_EQUAL(s_load(cases[i].text, &r, diag), HUB_ECONFIG);
        CU_ASSERT_TRUE(s_has_error(diag, cases[i].reason, cases[i].line));
        hub_diag_destroy(&diag);
    }
}

// ------------------------------------------------------------ the member set

static void
test_the_set_adds_removes_and_keeps_the_others_findable(void)
{
    hub_listset_t *set = hub_listset_new();
    char key[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof key, "5134310%05d", i);
        CU_ASSERT_EQUAL(hub_listset_set(set, (size_t) (i % 3), key, strlen(key), true), HUB_OK);
    }
    CU_ASSERT_EQUAL(hub_listset_count(set), 5000);
    for (int i = 0; i < 5000; i += 2) { // take every other one out
        snprintf(key, sizeof key, "5134310%05d", i);
        CU_ASSERT_EQUAL(hub_listset_set(set, (size_t) (i % 3), key, strlen(key), false), HUB_OK);
    }
    CU_ASSERT_EQUAL(hub_listset_count(set), 2500);
    size_t wrong = 0;
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof key, "5134310%05d", i);
        wrong += hub_listset_has(set, (size_t) (i % 3), key, strlen(key)) != (i % 2 == 1);
        wrong += hub_listset_has(set, (size_t) (i % 3) + 1, key, strlen(key));
    }
    CU_ASSERT_EQUAL(wrong, 0);
    CU_ASSERT_EQUAL(hub_listset_set(set, 0, key, strlen(key), true), HUB_OK); // again: no-op
    CU_ASSERT_EQUAL(hub_listset_count(set), 2500 + (4999 % 3 != 0));
    char big[HUB_LISTSET_KEY_MAX + 1];
    memset(big, 'x', sizeof big);
    CU_ASSERT_EQUAL(hub_listset_set(set, 0, big, sizeof big, true), HUB_EINVAL);
    CU_ASSERT_FALSE(hub_listset_has(set, 0, big, sizeof big));
    hub_listset_clear(set);
    CU_ASSERT_EQUAL(hub_listset_count(set), 0);
    hub_listset_destroy(&set);
    CU_ASSERT_PTR_NULL(set);
    hub_listset_destroy(&set);
}

// ------------------------------------------------------------ routing

// Whether routing M under the shipped rules reaches ENDPOINT.
static bool
s_reaches(hub_route_t *rt, const hub_msg_t *m, const char *endpoint)
{
    static const uint8_t key[HUB_MASK_KEY_SIZE] = {7};
    CU_ASSERT_EQUAL_FATAL(hub_route_run(rt, s.rules, s.depts, tu_schemas(), m, key, NULL), HUB_OK);
    for (size_t i = 0; i < hub_route_count(rt); i++) {
        if (strcmp(hub_route_at(rt, i)->endpoint->id, endpoint) == 0) {
            return true;
        }
    }
    return false;
}

static void
test_a_dropout_or_suspension_reaches_poverty_alleviation_only_when_listed(void)
{
    const hub_list_t *l = hub_rules_list_find(s.rules, "monitored_households");
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    hub_route_t *rt = hub_route_new();
    hub_listset_t *set = hub_listset_new();
    hub_expr_lookup_t lk = hub_listset_lookup(set);
    hub_route_set_lists(rt, &lk);
    hub_msg_t *m = hub_msg_new();
    tu_dropout(m);
    hub_msg_set_subj_str(m, HUB_SUBJ_HOUSEHOLD_NO, "513431000362");
    CU_ASSERT_FALSE(s_reaches(rt, m, "poverty_alleviation@513431"));
    CU_ASSERT_EQUAL(hub_listset_set(set, l->index, "513431000362", 12, true), HUB_OK);
    CU_ASSERT_TRUE(s_reaches(rt, m, "poverty_alleviation@513431"));
    const hub_delivery_t *d = NULL;
    for (size_t i = 0; i < hub_route_count(rt); i++) {
        d = strcmp(hub_route_at(rt, i)->endpoint->id, "poverty_alleviation@513431") == 0
                ? hub_route_at(rt, i)
                : d;
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_PTR_NULL(hub_msg_body_get(d->msg, "guardian_phone", 14));
    CU_ASSERT_PTR_NOT_NULL(hub_msg_body_get(d->msg, "school_name", 11));
    // a suspension (休学) is a poverty-return risk as a dropout is
    hub_msg_body_set_str(m, "change_type", "suspend");
    CU_ASSERT_TRUE(s_reaches(rt, m, "poverty_alleviation@513431"));
    hub_msg_set_subj_str(m, HUB_SUBJ_HOUSEHOLD_NO, "513431000123");
    CU_ASSERT_FALSE(s_reaches(rt, m, "poverty_alleviation@513431"));
    hub_msg_set_subj_str(m, HUB_SUBJ_HOUSEHOLD_NO, "513431000362");
    hub_route_set_lists(rt, NULL);
    hub_msg_body_set_str(m, "change_type", "dropout");
    CU_ASSERT_FALSE(s_reaches(rt, m, "poverty_alleviation@513431"));
    hub_msg_destroy(&m);
    hub_listset_destroy(&set);
    hub_route_destroy(&rt);
}

void
test_lists_register(void)
{
    CU_pSuite suite = CU_add_suite("lists", s_init, s_clean);
    CU_add_test(suite, "the shipped list is kept by poverty_alleviation only",
                test_the_shipped_list_is_kept_by_poverty_alleviation_only);
    CU_add_test(suite, "a monitored report sets and an eliminated risk clears",
                test_a_monitored_report_sets_and_an_eliminated_risk_clears);
    CU_add_test(suite, "listed() asks the lookup and fails closed without one",
                test_listed_asks_the_lookup_and_fails_closed_without_one);
    CU_add_test(suite, "listed() with an unknown list or a number key is refused",
                test_listed_with_an_unknown_list_or_a_number_key_is_refused);
    CU_add_test(suite, "a rule may name a list declared later",
                test_a_rule_may_name_a_list_declared_in_a_later_place);
    CU_add_test(suite, "list mistakes are reported at their place",
                test_list_mistakes_are_reported_at_their_place);
    CU_add_test(suite, "the set adds, removes and keeps the others findable",
                test_the_set_adds_removes_and_keeps_the_others_findable);
    CU_add_test(suite, "a dropout or suspension reaches poverty_alleviation only when listed",
                test_a_dropout_or_suspension_reaches_poverty_alleviation_only_when_listed);
}
