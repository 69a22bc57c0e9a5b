#include "hub_error.h"
#include "hub_yaml.h"
#include "suites.h"

#include <CUnit/CUnit.h>
#include <string.h>

static hub_yaml_t *
s_load(const char *text, hub_diag_t *diag, int *rc)
{
    hub_yaml_t *doc = NULL;
    *rc = hub_yaml_load_buffer(&doc, "t.yaml", text, strlen(text), diag);
    return doc;
}

static void
test_syntax_errors_name_file_line_and_column(void)
{
    hub_diag_t *diag = hub_diag_new();
    int rc;
    hub_yaml_t *doc = s_load("a: 1\nb:\n  c: 2\n d: 3\n", diag, &rc);
    CU_ASSERT_PTR_NULL(doc);
    CU_ASSERT_EQUAL(rc, HUB_ECONFIG);
    const hub_diag_entry_t *e = hub_diag_at(diag, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_STRING_EQUAL(e->reason, "yaml_syntax");
    CU_ASSERT_EQUAL(strncmp(e->where, "t.yaml:4:", 9), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(e->text, "indentation"));
    hub_diag_reset(diag);
    doc = s_load("a:\n\tb: 1\n", diag, &rc);
    CU_ASSERT_PTR_NULL(doc);
    CU_ASSERT_PTR_NOT_NULL(strstr(hub_diag_at(diag, 0)->text, "tabs"));
    hub_diag_destroy(&diag);
}

static void
test_anchors_aliases_and_merge_keys_load_as_written(void)
{
    const char *text = "base: &b {sensitivity: personal, share: conditional}\n"
                       "more: &m {zh: 名, en: Name}\n"
                       "field:\n"
                       "  <<: [*b, *m]\n"
                       "  share: none   # explicit wins\n"
                       "list: [*b, *b]\n";
    hub_diag_t *diag = hub_diag_new();
    int rc;
    hub_yaml_t *doc = s_load(text, diag, &rc);
    CU_ASSERT_EQUAL_FATAL(rc, HUB_OK);
    int root = hub_yaml_root(doc);
    int field = hub_yaml_get(doc, root, "field");
    CU_ASSERT_EQUAL(hub_yaml_len(doc, field), 4);
    CU_ASSERT_STRING_EQUAL(hub_yaml_str(doc, hub_yaml_get(doc, field, "share"), NULL), "none");
    CU_ASSERT_STRING_EQUAL(hub_yaml_str(doc, hub_yaml_get(doc, field, "sensitivity"), NULL),
                           "personal");
    CU_ASSERT_STRING_EQUAL(hub_yaml_str(doc, hub_yaml_get(doc, field, "zh"), NULL), "名");
    CU_ASSERT_EQUAL(hub_yaml_check_keys(doc, field, NULL, diag), 0);
    int list = hub_yaml_get(doc, root, "list");
    CU_ASSERT_EQUAL(hub_yaml_item(doc, list, 0), hub_yaml_item(doc, list, 1));
    hub_yaml_destroy(&doc);
    hub_diag_destroy(&diag);
}

static void
test_merge_key_cycles_and_bad_merges_are_errors(void)
{
    hub_diag_t *diag = hub_diag_new();
    int rc;
    hub_yaml_t *doc = s_load("a: &a {<<: *a}\n", diag, &rc);
    CU_ASSERT_PTR_NULL(doc);
    CU_ASSERT_EQUAL(rc, HUB_ECONFIG);
    doc = s_load("a: {<<: 3}\n", diag, &rc);
    CU_ASSERT_EQUAL(rc, HUB_ECONFIG);
    hub_yaml_destroy(&doc);
    // A self-referential alias outside merge keys loads; walkers must cope.
    doc = s_load("a: &a [*a]\n", diag, &rc);
    CU_ASSERT_EQUAL(rc, HUB_OK);
    hub_yaml_destroy(&doc);
    hub_diag_destroy(&diag);
}

static void
test_unknown_and_duplicate_keys_are_reported_with_a_hint(void)
{
    static const char *const allowed[] = {"to", "from", "fields", NULL};
    hub_diag_t *diag = hub_diag_new();
    int rc;
    hub_yaml_t *doc = s_load("fields: 1\nfeilds: 2\nfields: 3\nxyzzy: 4\n", diag, &rc);
    CU_ASSERT_EQUAL_FATAL(hub_yaml_check_keys(doc, hub_yaml_root(doc), allowed, diag), 3);
    const hub_diag_entry_t *e0 = hub_diag_at(diag, 0), *e1 = hub_diag_at(diag, 1),
                           *e2 = hub_diag_at(diag, 2);
    CU_ASSERT_FATAL(e0 && e1 && e2);
    CU_ASSERT_PTR_NOT_NULL(strstr(e0->text, "did you mean 'fields'"));
    CU_ASSERT_STRING_EQUAL(e0->where, "t.yaml:2:1");
    CU_ASSERT_STRING_EQUAL(e1->reason, "duplicate_key");
    CU_ASSERT_PTR_NOT_NULL(strstr(e2->text, "expected one of: to, from"));
    hub_yaml_destroy(&doc);
    hub_diag_destroy(&diag);
}

static void
test_typed_readers_check_what_they_read(void)
{
    hub_diag_t *diag = hub_diag_new();
    int rc;
    hub_yaml_t *doc = s_load("n: 42\nb: yes\ns: \"07\"\nbad: x1\nl: [1]\n", diag, &rc);
    int root = hub_yaml_root(doc);
    int64_t n = 0;
    bool b = false;
    const char *s = NULL;
    CU_ASSERT_EQUAL(hub_yaml_get_int(doc, root, "n", true, &n, diag), HUB_OK);
    CU_ASSERT_EQUAL(n, 42);
    CU_ASSERT_EQUAL(hub_yaml_get_bool(doc, root, "b", true, &b, diag), HUB_OK);
    CU_ASSERT_TRUE(b);
    CU_ASSERT_EQUAL(hub_yaml_get_str(doc, root, "s", true, &s, diag), HUB_OK);
    CU_ASSERT_STRING_EQUAL(s, "07");
    CU_ASSERT_FALSE(hub_yaml_is_plain(doc, hub_yaml_get(doc, root, "s")));
    CU_ASSERT_EQUAL(hub_yaml_get_int(doc, root, "bad", true, &n, diag), HUB_ECONFIG);
    CU_ASSERT_EQUAL(hub_yaml_get_str(doc, root, "l", true, &s, diag), HUB_ECONFIG);
    CU_ASSERT_EQUAL(hub_yaml_get_str(doc, root, "missing", false, &s, diag), HUB_ENOTFOUND);
    size_t before = hub_diag_errors(diag);
    CU_ASSERT_EQUAL(hub_yaml_get_str(doc, root, "missing", true, &s, diag), HUB_ENOTFOUND);
    CU_ASSERT_EQUAL(hub_diag_errors(diag), before + 1);
    hub_yaml_destroy(&doc);
    hub_diag_destroy(&diag);
}

static void
test_more_than_one_document_is_refused(void)
{
    hub_diag_t *diag = hub_diag_new();
    int rc;
    hub_yaml_t *doc = s_load("a: 1\n---\nb: 2\n", diag, &rc);
    CU_ASSERT_PTR_NULL(doc);
    CU_ASSERT_EQUAL(rc, HUB_ECONFIG);
    doc = s_load("", diag, &rc);
    CU_ASSERT_EQUAL(rc, HUB_OK);
    CU_ASSERT_EQUAL(hub_yaml_root(doc), 0);
    hub_yaml_destroy(&doc);
    hub_diag_destroy(&diag);
}

static void
test_suggestions_find_near_words_only(void)
{
    static const char *const words[] = {"sensitivity", "share", "required", NULL};
    CU_ASSERT_STRING_EQUAL(hub_yaml_suggest("sensitivty", words), "sensitivity");
    CU_ASSERT_STRING_EQUAL(hub_yaml_suggest("requried", words), "required");
    CU_ASSERT_PTR_NULL(hub_yaml_suggest("colour", words));
}

void
test_yaml_register(void)
{
    CU_pSuite s = CU_add_suite("yaml", NULL, NULL);
    CU_add_test(s, "syntax errors name file, line and column",
                test_syntax_errors_name_file_line_and_column);
    CU_add_test(s, "anchors, aliases and merge keys load as written",
                test_anchors_aliases_and_merge_keys_load_as_written);
    CU_add_test(s, "merge-key cycles and bad merges are errors",
                test_merge_key_cycles_and_bad_merges_are_errors);
    CU_add_test(s, "unknown and duplicate keys are reported with a hint",
                test_unknown_and_duplicate_keys_are_reported_with_a_hint);
    CU_add_test(s, "typed readers check what they read", test_typed_readers_check_what_they_read);
    CU_add_test(s, "more than one document is refused", test_more_than_one_document_is_refused);
    CU_add_test(s, "suggestions find near words only", test_suggestions_find_near_words_only);
}
