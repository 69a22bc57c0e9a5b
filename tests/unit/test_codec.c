#include "hub_codec.h"
#include "hub_error.h"
#include "suites.h"
#include "testutil.h"

#include <CUnit/CUnit.h>
#include <msgpack.h>
#include <string.h>

static void
test_generated_messages_round_trip_and_encode_canonically(void)
{
    hub_msg_t *m = hub_msg_new(), *d = hub_msg_new();
    hub_buf_t a = HUB_BUF_INIT, b = HUB_BUF_INIT;
    for (uint64_t seed = 0; seed < 5000; seed++) {
        tu_random_msg(m, seed);
        a.len = b.len = 0;
        CU_ASSERT_EQUAL_FATAL(hub_codec_encode(m, &a), HUB_OK);
        CU_ASSERT_EQUAL_FATAL(hub_codec_decode(d, a.data, a.len, NULL, NULL), HUB_OK);
        CU_ASSERT_TRUE_FATAL(hub_msg_equal(m, d));
        CU_ASSERT_EQUAL_FATAL(hub_codec_encode(d, &b), HUB_OK);
        CU_ASSERT_EQUAL_FATAL(a.len, b.len);
        CU_ASSERT_EQUAL_FATAL(memcmp(a.data, b.data, a.len), 0);
    }
    hub_buf_free(&a);
    hub_buf_free(&b);
    hub_msg_destroy(&m);
    hub_msg_destroy(&d);
}

static void
test_insertion_order_does_not_change_the_bytes(void)
{
    hub_msg_t *x = hub_msg_new(), *y = hub_msg_new();
    hub_buf_t a = HUB_BUF_INIT, b = HUB_BUF_INIT;
    hub_msg_body_set_str(x, "b", "2");
    hub_msg_body_set_str(x, "a", "1");
    hub_msg_set_env_str(x, HUB_ENV_TYPE, "t");
    hub_msg_set_env_str(x, HUB_ENV_ID, "i");
    hub_msg_set_env_str(y, HUB_ENV_ID, "i");
    hub_msg_body_set_str(y, "a", "1");
    hub_msg_set_env_str(y, HUB_ENV_TYPE, "t");
    hub_msg_body_set_str(y, "b", "2");
    hub_codec_encode(x, &a);
    hub_codec_encode(y, &b);
    CU_ASSERT_EQUAL(a.len, b.len);
    CU_ASSERT_EQUAL(memcmp(a.data, b.data, a.len), 0);
    hub_buf_free(&a);
    hub_buf_free(&b);
    hub_msg_destroy(&x);
    hub_msg_destroy(&y);
}

// The exact bytes of a small message: a vector for clients in other languages
// (docs/PROTOCOL.md quotes it).
static void
test_a_small_message_has_these_exact_bytes(void)
{
    static const uint8_t want[] = {
        0x84,                              // map of 4 keys, sorted
        0xa4, 'b', 'o',  'd',  'y',  0x81, // "body": {
        0xa1, 'n', 0xcc, 200,              //   "n": 200 (uint8)
        0xa2, 'i', 'd',  0xa1, 'x',        // "id": "x"
        0xae, 's', 'c',  'h',  'e',  'm',  'a', '_', 'v', 'e',  'r', 's',
        'i',  'o', 'n',  0x01, 0xa4, 't',  'y', 'p', 'e', 0xa1, 't', // "type": "t"
    };
    hub_msg_t *m = hub_msg_new();
    hub_buf_t out = HUB_BUF_INIT;
    hub_msg_set_env_str(m, HUB_ENV_TYPE, "t");
    hub_msg_set_env_str(m, HUB_ENV_ID, "x");
    hub_val_t one = hub_val_int(1);
    hub_msg_set_env(m, HUB_ENV_SCHEMA_VERSION, &one);
    hub_msg_body_set_int(m, "n", 200);
    hub_codec_encode(m, &out);
    CU_ASSERT_EQUAL(out.len, sizeof want);
    CU_ASSERT_EQUAL(memcmp(out.data, want, sizeof want), 0);
    hub_buf_free(&out);
    hub_msg_destroy(&m);
}

// Builds msgpack with msgpack-c's packer, for hand-made inputs.
typedef struct {
    msgpack_sbuffer sb;
    msgpack_packer pk;
} s_pack_t;

static void
s_pack_init(s_pack_t *p)
{
    msgpack_sbuffer_init(&p->sb);
    msgpack_packer_init(&p->pk, &p->sb, msgpack_sbuffer_write);
}

static void
s_str(s_pack_t *p, const char *s)
{
    msgpack_pack_str(&p->pk, strlen(s));
    msgpack_pack_str_body(&p->pk, s, strlen(s));
}

// msgpack-c's packer, as an independent reference for the canonical forms.
static void
s_ref_val(msgpack_packer *pk, const hub_val_t *v)
{
    switch (v->kind) {
    case HUB_VAL_BOOL:
        v->u.b ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
        break;
    case HUB_VAL_INT:
        msgpack_pack_int64(pk, v->u.i);
        break;
    case HUB_VAL_STR:
        msgpack_pack_str(pk, v->len);
        msgpack_pack_str_body(pk, v->u.s, v->len);
        break;
    case HUB_VAL_LIST:
        msgpack_pack_array(pk, v->len);
        for (uint32_t i = 0; i < v->len; i++) {
            s_ref_val(pk, &v->u.items[i]);
        }
        break;
    case HUB_VAL_NONE:
        break;
    }
}

static void
s_ref_key(msgpack_packer *pk, const char *k)
{
    msgpack_pack_str(pk, strlen(k));
    msgpack_pack_str_body(pk, k, strlen(k));
}

static void
s_ref_encode(const hub_msg_t *m, msgpack_sbuffer *sb)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    static const char *const top[] = {"body",        "event_date",     "id",
                                      "recorded_at", "schema_version", "source",
                                      "source_ref",  "subject",        "type"};
    size_t nsubj = 0, ntop = 1;
    for (int i = 0; i < HUB_SUBJ_COUNT; i++) {
        nsubj += hub_msg_subj(m, (hub_subj_t) i)->kind != HUB_VAL_NONE;
    }
    for (int i = 0; i < HUB_ENV_COUNT; i++) {
        ntop += hub_msg_env(m, (hub_env_t) i)->kind != HUB_VAL_NONE;
    }
    msgpack_pack_map(&pk, ntop + (nsubj > 0));
    for (size_t t = 0; t < 9; t++) {
        if (strcmp(top[t], "body") == 0) {
            s_ref_key(&pk, "body");
            msgpack_pack_map(&pk, hub_msg_body_count(m));
            for (size_t i = 0; i < hub_msg_body_count(m); i++) {
                s_ref_key(&pk, hub_msg_body_at(m, i)->name);
                s_ref_val(&pk, &hub_msg_body_at(m, i)->val);
            }
        } else if (strcmp(top[t], "subject") == 0) {
            if (nsubj) {
                s_ref_key(&pk, "subject");
                msgpack_pack_map(&pk, nsubj);
                for (int i = 0; i < HUB_SUBJ_COUNT; i++) {
                    const hub_val_t *v = hub_msg_subj(m, (hub_subj_t) i);
                    if (v->kind != HUB_VAL_NONE) {
                        s_ref_key(&pk, hub_subj_name((hub_subj_t) i));
                        s_ref_val(&pk, v);
                    }
                }
            }
        } else {
            const hub_val_t *v = hub_msg_env(m, (hub_env_t) hub_env_find(top[t], strlen(top[t])));
            if (v->kind != HUB_VAL_NONE) {
                s_ref_key(&pk, top[t]);
                s_ref_val(&pk, v);
            }
        }
    }
}

static void
test_the_encoder_agrees_with_msgpack_c_byte_for_byte(void)
{
    hub_msg_t *m = hub_msg_new();
    hub_buf_t out = HUB_BUF_INIT;
    for (uint64_t seed = 0; seed < 3000; seed++) {
        tu_random_msg(m, seed);
        out.len = 0;
        hub_codec_encode(m, &out);
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        s_ref_encode(m, &sb);
        CU_ASSERT_EQUAL_FATAL(out.len, sb.size);
        CU_ASSERT_EQUAL_FATAL(memcmp(out.data, sb.data, sb.size), 0);
        msgpack_sbuffer_destroy(&sb);
    }
    hub_buf_free(&out);
    hub_msg_destroy(&m);
}

static void
test_keys_in_any_order_and_wide_integers_are_accepted(void)
{
    s_pack_t p;
    s_pack_init(&p);
    msgpack_pack_map(&p.pk, 3);
    s_str(&p, "type");
    s_str(&p, "t");
    s_str(&p, "schema_version");
    // int64 form for a small value: valid msgpack, not canonical.
    uint8_t wide[] = {0xd3, 0, 0, 0, 0, 0, 0, 0, 2};
    msgpack_sbuffer_write(&p.sb, (const char *) wide, sizeof wide);
    s_str(&p, "body");
    msgpack_pack_map(&p.pk, 2);
    s_str(&p, "z");
    msgpack_pack_int8(&p.pk, -5);
    s_str(&p, "a");
    msgpack_pack_true(&p.pk);
    hub_msg_t *m = hub_msg_new();
    CU_ASSERT_EQUAL(hub_codec_decode(m, p.sb.data, p.sb.size, NULL, NULL), HUB_OK);
    CU_ASSERT_EQUAL(hub_msg_env(m, HUB_ENV_SCHEMA_VERSION)->u.i, 2);
    CU_ASSERT_EQUAL(hub_msg_body_get(m, "z", 1)->u.i, -5);
    CU_ASSERT_STRING_EQUAL(hub_msg_body_at(m, 0)->name, "a");
    hub_buf_t out = HUB_BUF_INIT;
    hub_codec_encode(m, &out);
    CU_ASSERT(out.len < p.sb.size); // re-encoded in the shortest forms
    hub_buf_free(&out);
    hub_msg_destroy(&m);
    msgpack_sbuffer_destroy(&p.sb);
}

typedef struct {
    const char *name;
    const uint8_t *bytes;
    size_t len;
    int rc;
    const char *reason;
    const char *where; // substring of the reported place
} s_bad_t;

#define B(...) (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__})

static void
test_malformed_input_is_rejected_with_place_and_reason(void)
{
    const s_bad_t cases[] = {
        {"empty", (const uint8_t *) "", 0, HUB_EDECODE, "truncated", "offset 0"},
        {"not a map", B(0x93, 1, 2, 3), HUB_EDECODE, "wrong_type", "offset 0"},
        {"trailing", B(0x81, 0xa4, 'b', 'o', 'd', 'y', 0x80, 0xc0), HUB_EDECODE, "trailing_bytes",
         "offset 7"},
        {"dup top", B(0x82, 0xa2, 'i', 'd', 0xa1, 'x', 0xa2, 'i', 'd', 0xa1, 'y'), HUB_EDECODE,
         "duplicate_key", "(id)"},
        {"dup body", B(0x81, 0xa4, 'b', 'o', 'd', 'y', 0x82, 0xa1, 'a', 1, 0xa1, 'a', 2),
         HUB_EDECODE, "duplicate_key", "body.a"},
        {"unknown key", B(0x81, 0xa3, 'f', 'o', 'o', 0x01), HUB_EDECODE, "unknown_key", "(foo)"},
        {"nil value", B(0x81, 0xa4, 'b', 'o', 'd', 'y', 0x81, 0xa1, 'a', 0xc0), HUB_EDECODE,
         "wrong_type", "body.a"},
        {"float", B(0x81, 0xa4, 'b', 'o', 'd', 'y', 0x81, 0xa1, 'a', 0xca, 0, 0, 0, 0), HUB_EDECODE,
         "wrong_type", "body.a"},
        {"bin", B(0x81, 0xa4, 'b', 'o', 'd', 'y', 0x81, 0xa1, 'a', 0xc4, 1, 'x'), HUB_EDECODE,
         "wrong_type", "body.a"},
        {"nested map", B(0x81, 0xa4, 'b', 'o', 'd', 'y', 0x81, 0xa1, 'a', 0x80), HUB_EDECODE,
         "wrong_type", "body.a"},
        {"list in list", B(0x81, 0xa4, 'b', 'o', 'd', 'y', 0x81, 0xa1, 'a', 0x91, 0x90),
         HUB_EDECODE, "wrong_type", "body.a[0]"},
        {"bad utf8", B(0x81, 0xa2, 'i', 'd', 0xa2, 0xc0, 0xaf), HUB_EDECODE, "invalid_utf8",
         "(id)"},
        {"truncated str", B(0x81, 0xa2, 'i', 'd', 0xa5, 'x'), HUB_EDECODE, "truncated", "(id)"},
        {"huge map count", B(0xdf, 0xff, 0xff, 0xff, 0xff), HUB_EDECODE, "truncated", "offset 5"},
        {"huge str", B(0x81, 0xa2, 'i', 'd', 0xdb, 0x7f, 0xff, 0xff, 0xff), HUB_ELIMIT, "limit",
         "(id)"},
        {"huge list",
         B(0x81, 0xa4, 'b', 'o', 'd', 'y', 0x81, 0xa1, 'a', 0xdd, 0xff, 0xff, 0xff, 0xff),
         HUB_ELIMIT, "limit", "body.a"},
        {"uint64 too big",
         B(0x81, 0xa4, 'b', 'o', 'd', 'y', 0x81, 0xa1, 'a', 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff,
           0xff, 0xff, 0xff),
         HUB_EDECODE, "wrong_type", "body.a"},
        {"bad field name", B(0x81, 0xa4, 'b', 'o', 'd', 'y', 0x81, 0xa1, 'A', 1), HUB_EDECODE,
         "bad_key", "body.A"},
        {"version not int",
         B(0x81, 0xae, 's', 'c', 'h', 'e', 'm', 'a', '_', 'v', 'e', 'r', 's', 'i', 'o', 'n', 0xa1,
           '1'),
         HUB_EDECODE, "wrong_type", "schema_version"},
        {"subject int",
         B(0x81, 0xa7, 's', 'u', 'b', 'j', 'e', 'c', 't', 0x81, 0xa3, 's', 'e', 'x', 1),
         HUB_EDECODE, "wrong_type", "subject.sex"},
    };
    hub_msg_t *m = hub_msg_new();
    hub_diag_t *diag = hub_diag_new();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hub_diag_reset(diag);
        int rc = hub_codec_decode(m, cases[i].bytes, cases[i].len, NULL, diag);
        const hub_diag_entry_t *e = hub_diag_at(diag, 0);
        if (rc != cases[i].rc || !e || strcmp(e->reason, cases[i].reason) != 0 ||
            !strstr(e->where, cases[i].where)) {
            fprintf(stderr, "\n  case '%s': rc %d, %s: %s [%s]\n", cases[i].name, rc,
                    e ? e->where : "-", e ? e->text : "-", e ? e->reason : "-");
            CU_FAIL("a malformed input was not rejected as expected");
        }
    }
    hub_diag_destroy(&diag);
    hub_msg_destroy(&m);
}

static void
test_limits_are_configurable(void)
{
    hub_msg_t *m = hub_msg_new();
    hub_buf_t out = HUB_BUF_INIT;
    tu_dropout(m);
    hub_codec_encode(m, &out);
    hub_codec_limits_t lim = hub_codec_limits_default();
    CU_ASSERT_EQUAL(hub_codec_decode(m, out.data, out.len, &lim, NULL), HUB_OK);
    lim.max_fields = 3;
    CU_ASSERT_EQUAL(hub_codec_decode(m, out.data, out.len, &lim, NULL), HUB_ELIMIT);
    lim = hub_codec_limits_default();
    lim.max_size = out.len - 1;
    CU_ASSERT_EQUAL(hub_codec_decode(m, out.data, out.len, &lim, NULL), HUB_ELIMIT);
    lim = hub_codec_limits_default();
    lim.max_str = 10;
    CU_ASSERT_EQUAL(hub_codec_decode(m, out.data, out.len, &lim, NULL), HUB_ELIMIT);
    hub_buf_free(&out);
    hub_msg_destroy(&m);
}

static void
test_every_truncation_of_a_valid_message_is_rejected(void)
{
    hub_msg_t *m = hub_msg_new();
    hub_buf_t out = HUB_BUF_INIT;
    tu_dropout(m);
    hub_codec_encode(m, &out);
    for (size_t n = 0; n < out.len; n++) {
        CU_ASSERT_NOT_EQUAL(hub_codec_decode(m, out.data, n, NULL, NULL), HUB_OK);
    }
    hub_buf_free(&out);
    hub_msg_destroy(&m);
}

void
test_codec_register(void)
{
    CU_pSuite s = CU_add_suite("codec", NULL, NULL);
    CU_add_test(s, "5,000 generated messages round-trip and encode canonically",
                test_generated_messages_round_trip_and_encode_canonically);
    CU_add_test(s, "the encoder agrees with msgpack-c byte for byte",
                test_the_encoder_agrees_with_msgpack_c_byte_for_byte);
    CU_add_test(s, "insertion order does not change the bytes",
                test_insertion_order_does_not_change_the_bytes);
    CU_add_test(s, "a small message has these exact bytes",
                test_a_small_message_has_these_exact_bytes);
    CU_add_test(s, "keys in any order and wide integers are accepted",
                test_keys_in_any_order_and_wide_integers_are_accepted);
    CU_add_test(s, "malformed input is rejected with place and reason",
                test_malformed_input_is_rejected_with_place_and_reason);
    CU_add_test(s, "limits are configurable", test_limits_are_configurable);
    CU_add_test(s, "every truncation of a valid message is rejected",
                test_every_truncation_of_a_valid_message_is_rejected);
}
