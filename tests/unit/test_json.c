#include "hub_codec.h"
#include "hub_error.h"
#include "hub_json.h"
#include "suites.h"
#include "testutil.h"

#include <CUnit/CUnit.h>
#include <string.h>

static void
test_generated_messages_survive_json_and_back(void)
{
    hub_msg_t *m = hub_msg_new(), *d = hub_msg_new();
    hub_buf_t text = HUB_BUF_INIT;
    for (uint64_t seed = 0; seed < 2000; seed++) {
        tu_random_msg(m, seed);
        text.len = 0;
        CU_ASSERT_EQUAL_FATAL(hub_json_from_msg(m, seed & 1 ? HUB_JSON_PRETTY : 0, &text), HUB_OK);
        int rc = hub_json_to_msg(d, (const char *) text.data, text.len, NULL, NULL);
        CU_ASSERT_EQUAL_FATAL(rc, HUB_OK);
        CU_ASSERT_TRUE_FATAL(hub_msg_equal(m, d));
    }
    hub_buf_free(&text);
    hub_msg_destroy(&m);
    hub_msg_destroy(&d);
}

static void
test_json_output_is_readable_utf8_in_the_documented_order(void)
{
    hub_msg_t *m = hub_msg_new();
    hub_buf_t text = HUB_BUF_INIT;
    tu_dropout(m);
    hub_json_from_msg(m, 0, &text);
    const char *s = hub_buf_cstr(&text);
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "\"name\":\"吉克·阿依\""));
    CU_ASSERT(strstr(s, "\"id\"") < strstr(s, "\"type\""));
    CU_ASSERT(strstr(s, "\"type\"") < strstr(s, "\"subject\""));
    CU_ASSERT(strstr(s, "\"subject\"") < strstr(s, "\"body\""));
    hub_buf_free(&text);
    hub_msg_destroy(&m);
}

typedef struct {
    const char *json;
    int rc;
    const char *reason;
    const char *where;
} s_bad_t;

static void
test_bad_json_is_rejected_with_place_and_reason(void)
{
    static const s_bad_t cases[] = {
        {"{\"id\": \"a\",}", HUB_EDECODE, "json_syntax", "in.json:1:"},
        {"{\"id\": \"a\"} x", HUB_EDECODE, "json_syntax", "in.json:1:"},
        {"{\n\"id\": \"a\",\n\"id\": \"b\"}", HUB_EDECODE, "duplicate_key", "in.json:3:"},
        {"[1]", HUB_EDECODE, "wrong_type", "in.json"},
        {"{\"nope\": 1}", HUB_EDECODE, "unknown_key", "nope"},
        {"{\"body\": {\"amount\": 12.5}}", HUB_EDECODE, "wrong_type", "body.amount"},
        {"{\"body\": {\"a\": null}}", HUB_EDECODE, "wrong_type", "body.a"},
        {"{\"body\": {\"a\": {\"b\": 1}}}", HUB_EDECODE, "wrong_type", "body.a"},
        {"{\"body\": {\"a\": [[1]]}}", HUB_EDECODE, "wrong_type", "body.a[0]"},
        {"{\"body\": {\"Bad\": 1}}", HUB_EDECODE, "bad_key", "body.Bad"},
        {"{\"subject\": {\"sex\": 1}}", HUB_EDECODE, "wrong_type", "subject.sex"},
        {"{\"subject\": {\"age\": \"1\"}}", HUB_EDECODE, "unknown_key", "subject.age"},
        {"{\"schema_version\": \"1\"}", HUB_EDECODE, "wrong_type", "schema_version"},
        {"{\"id\": \"\\u0000\"}", HUB_EDECODE, "json_syntax", "in.json"},
    };
    hub_msg_t *m = hub_msg_new();
    hub_diag_t *diag = hub_diag_new();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hub_diag_reset(diag);
        int rc = hub_json_to_msg(m, cases[i].json, strlen(cases[i].json), "in.json", diag);
        const hub_diag_entry_t *e = hub_diag_at(diag, 0);
        if (rc != cases[i].rc || !e || strcmp(e->reason, cases[i].reason) != 0 ||
            !strstr(e->where, cases[i].where)) {
            fprintf(stderr, "\n  case %s: rc %d, %s: %s [%s]\n", cases[i].json, rc,
                    e ? e->where : "-", e ? e->text : "-", e ? e->reason : "-");
            CU_FAIL("bad JSON was not rejected as expected");
        }
    }
    hub_diag_destroy(&diag);
    hub_msg_destroy(&m);
}

static void
test_json_and_msgpack_describe_the_same_message(void)
{
    const char *json = "{\"type\":\"t\",\"id\":\"x\",\"schema_version\":1,\"body\":{\"n\":200}}";
    hub_msg_t *m = hub_msg_new();
    hub_buf_t out = HUB_BUF_INIT;
    CU_ASSERT_EQUAL(hub_json_to_msg(m, json, strlen(json), NULL, NULL), HUB_OK);
    hub_codec_encode(m, &out);
    CU_ASSERT_EQUAL(out.len, 39); // the vector of test_codec
    CU_ASSERT_EQUAL(out.data[0], 0x84);
    hub_buf_free(&out);
    hub_msg_destroy(&m);
}

void
test_json_register(void)
{
    CU_pSuite s = CU_add_suite("json", NULL, NULL);
    CU_add_test(s, "2,000 generated messages survive JSON and back",
                test_generated_messages_survive_json_and_back);
    CU_add_test(s, "JSON output is readable UTF-8 in the documented order",
                test_json_output_is_readable_utf8_in_the_documented_order);
    CU_add_test(s, "bad JSON is rejected with place and reason",
                test_bad_json_is_rejected_with_place_and_reason);
    CU_add_test(s, "JSON and msgpack describe the same message",
                test_json_and_msgpack_describe_the_same_message);
}
