// The msgpack writer (hub_mpw) and reader (hub_mpr): the writer's forms
// agree byte for byte with msgpack-c's packer, the reader reads every form
// msgpack-c writes, and the reader stays inside its input whatever it is
// given (truncated, lying counts, random bytes).
#include "hub_error.h"
#include "hub_mpr.h"
#include "hub_mpw.h"
#include "suites.h"
#include "testutil.h"

#include <CUnit/CUnit.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

static const int64_t s_ints[] = {
    0,         1,  127, 128, 255,  256,  65535,  65536,  4294967295, 4294967296,
    INT64_MAX, -1, -32, -33, -128, -129, -32768, -32769, INT32_MIN,  (int64_t) INT32_MIN - 1,
    INT64_MIN};
static const size_t s_lens[] = {0, 1, 15, 16, 31, 32, 255, 256, 65535, 65536, 70000};

// True when the writer's bytes in B equal msgpack-c's in SB.
static bool
s_same(const hub_buf_t *b, const msgpack_sbuffer *sb)
{
    return b->len == sb->size && memcmp(b->data, sb->data, b->len) == 0;
}

static void
test_every_scalar_form_matches_msgpack_c(void)
{
    hub_buf_t b = HUB_BUF_INIT;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    hub_mpw_t w;
    hub_mpw_init(&w, &b);
    for (size_t i = 0; i < sizeof s_ints / sizeof s_ints[0]; i++) {
        hub_mpw_int(&w, s_ints[i]);
        msgpack_pack_int64(&pk, s_ints[i]);
        if (s_ints[i] >= 0) {
            hub_mpw_uint(&w, (uint64_t) s_ints[i]);
            msgpack_pack_uint64(&pk, (uint64_t) s_ints[i]);
        }
    }
    hub_mpw_uint(&w, UINT64_MAX);
    msgpack_pack_uint64(&pk, UINT64_MAX);
    hub_mpw_nil(&w);
    msgpack_pack_nil(&pk);
    hub_mpw_bool(&w, true);
    msgpack_pack_true(&pk);
    hub_mpw_bool(&w, false);
    msgpack_pack_false(&pk);
    hub_mpw_cstr(&w, NULL);
    msgpack_pack_nil(&pk);
    CU_ASSERT_EQUAL(hub_mpw_error(&w), HUB_OK);
    CU_ASSERT(s_same(&b, &sb));
    hub_buf_free(&b);
    msgpack_sbuffer_destroy(&sb);
}

static void
test_every_length_form_matches_msgpack_c(void)
{
    char *data = calloc(1, 70000);
    hub_buf_t b = HUB_BUF_INIT;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    hub_mpw_t w;
    hub_mpw_init(&w, &b);
    for (size_t i = 0; i < sizeof s_lens / sizeof s_lens[0]; i++) {
        size_t n = s_lens[i];
        hub_mpw_str(&w, data, n);
        msgpack_pack_str(&pk, n);
        msgpack_pack_str_body(&pk, data, n);
        hub_mpw_bin(&w, data, n);
        msgpack_pack_bin(&pk, n);
        msgpack_pack_bin_body(&pk, data, n);
        hub_mpw_map(&w, n);
        msgpack_pack_map(&pk, n);
        hub_mpw_array(&w, n);
        msgpack_pack_array(&pk, n);
    }
    CU_ASSERT_EQUAL(hub_mpw_error(&w), HUB_OK);
    CU_ASSERT(s_same(&b, &sb));
    hub_buf_free(&b);
    msgpack_sbuffer_destroy(&sb);
    free(data);
}

static void
test_a_length_msgpack_cannot_express_is_a_sticky_limit_error(void)
{
    if (SIZE_MAX <= UINT32_MAX) {
        return; // a 32-bit size_t cannot ask for it
    }
    hub_buf_t b = HUB_BUF_INIT;
    hub_mpw_t w;
    hub_mpw_init(&w, &b);
    hub_mpw_uint(&w, 7);
    hub_mpw_str(&w, "x", (size_t) UINT32_MAX + 1); // refused before any byte is read
    hub_mpw_uint(&w, 8);                           // ignored: the error sticks
    hub_mpw_map(&w, 1);
    CU_ASSERT_EQUAL(hub_mpw_error(&w), HUB_ELIMIT);
    CU_ASSERT_EQUAL(b.len, 1);
    hub_buf_free(&b);
}

static void
test_the_reader_reads_what_the_writer_wrote(void)
{
    hub_buf_t b = HUB_BUF_INIT;
    hub_mpw_t w;
    hub_mpw_init(&w, &b);
    hub_mpw_map(&w, 3);
    hub_mpw_cstr(&w, "a");
    hub_mpw_array(&w, 2);
    hub_mpw_int(&w, -200);
    hub_mpw_bin(&w, "\x01\x02", 2);
    hub_mpw_cstr(&w, "b");
    hub_mpw_map(&w, 1);
    hub_mpw_cstr(&w, "c");
    hub_mpw_nil(&w);
    hub_mpw_cstr(&w, "n");
    hub_mpw_uint(&w, 1u << 20);
    CU_ASSERT_EQUAL_FATAL(hub_mpw_error(&w), HUB_OK);

    hub_mpr_t r;
    hub_mp_obj_t o;
    hub_mpr_init(&r, b.data, b.len);
    CU_ASSERT(hub_mpr_next(&r, &o) == HUB_OK && o.kind == HUB_MP_MAP && o.len == 3);
    CU_ASSERT(hub_mpr_next(&r, &o) == HUB_OK && o.kind == HUB_MP_STR && o.len == 1 &&
              *o.data == 'a');
    CU_ASSERT(hub_mpr_next(&r, &o) == HUB_OK && o.kind == HUB_MP_ARRAY && o.len == 2);
    CU_ASSERT(hub_mpr_next(&r, &o) == HUB_OK && o.kind == HUB_MP_INT && o.v.i == -200);
    CU_ASSERT(hub_mpr_next(&r, &o) == HUB_OK && o.kind == HUB_MP_BIN && o.len == 2 &&
              o.data[1] == 2);
    CU_ASSERT(hub_mpr_next(&r, &o) == HUB_OK && o.kind == HUB_MP_STR);
    CU_ASSERT_EQUAL(hub_mpr_skip(&r), HUB_OK); // the whole map {"c": nil}
    const char *s;
    size_t n;
    uint64_t u;
    CU_ASSERT(hub_mpr_str(&r, &s, &n) == HUB_OK && n == 1 && *s == 'n');
    CU_ASSERT(hub_mpr_uint(&r, &u) == HUB_OK && u == 1u << 20);
    CU_ASSERT(hub_mpr_done(&r));
    CU_ASSERT_EQUAL(hub_mpr_offset(&r), b.len);

    hub_mpr_init(&r, b.data, b.len);
    CU_ASSERT_EQUAL(hub_mpr_skip(&r), HUB_OK);
    CU_ASSERT(hub_mpr_done(&r));
    hub_buf_free(&b);
}

static void
test_find_moves_to_a_value_or_not_at_all(void)
{
    hub_buf_t b = HUB_BUF_INIT;
    hub_mpw_t w;
    hub_mpw_init(&w, &b);
    hub_mpw_map(&w, 3);
    hub_mpw_uint(&w, 5); // a key that is not a string: passed over
    hub_mpw_cstr(&w, "skipped");
    hub_mpw_cstr(&w, "list");
    hub_mpw_array(&w, 2);
    hub_mpw_cstr(&w, "x");
    hub_mpw_map(&w, 0);
    hub_mpw_cstr(&w, "hash");
    hub_mpw_bin(&w, "0123456789abcdef0123456789abcdef", 32);
    hub_mpr_t r;
    hub_mpr_init(&r, b.data, b.len);
    CU_ASSERT_EQUAL(hub_mpr_find(&r, "missing"), HUB_ENOTFOUND);
    CU_ASSERT_EQUAL(hub_mpr_offset(&r), 0);
    CU_ASSERT_EQUAL(hub_mpr_find(&r, "hash"), HUB_OK);
    const void *p;
    size_t n;
    CU_ASSERT(hub_mpr_bin(&r, &p, &n) == HUB_OK && n == 32);
    CU_ASSERT(hub_mpr_done(&r));
    uint8_t h[32];
    uint64_t u;
    CU_ASSERT_EQUAL(hub_mpr_get_bin(b.data, b.len, "hash", h, 32), HUB_OK);
    CU_ASSERT_EQUAL(memcmp(h, "0123", 4), 0);
    CU_ASSERT_EQUAL(hub_mpr_get_bin(b.data, b.len, "hash", h, 16), HUB_EDECODE);
    CU_ASSERT_EQUAL(hub_mpr_get_uint(b.data, b.len, "list", &u), HUB_EDECODE);
    CU_ASSERT_EQUAL(hub_mpr_get_uint(b.data, b.len, "nope", &u), HUB_ENOTFOUND);
    CU_ASSERT_EQUAL(hub_mpr_get_uint(b.data + 1, b.len - 1, "x", &u), HUB_EDECODE); // not a map
    static const uint8_t compound[] = {0x81, 0x91, 0x01, 0x02};                     // {[1]: 2}
    CU_ASSERT_EQUAL(hub_mpr_get_uint(compound, sizeof compound, "x", &u), HUB_EDECODE);
    hub_buf_free(&b);
}

// pick finds what find finds, in one pass, and says which keys it found.
static void
test_pick_finds_what_find_finds_in_one_pass(void)
{
    hub_buf_t b = HUB_BUF_INIT;
    hub_mpw_t w;
    hub_mpw_init(&w, &b);
    hub_mpw_map(&w, 5);
    hub_mpw_uint(&w, 5); // a key that is not a string: passed over
    hub_mpw_cstr(&w, "skipped");
    hub_mpw_cstr(&w, "fields");
    hub_mpw_array(&w, 1);
    hub_mpw_map(&w, 1);
    hub_mpw_cstr(&w, "seq"); // inside a value: not the map's own key
    hub_mpw_uint(&w, 99);
    hub_mpw_cstr(&w, "seq");
    hub_mpw_uint(&w, 7);
    hub_mpw_cstr(&w, "id");
    hub_mpw_cstr(&w, "m-1");
    hub_mpw_cstr(&w, "seq"); // repeated: the first pair counts
    hub_mpw_uint(&w, 8);
    static const char *const keys[] = {"id", "missing", "seq"};
    hub_mpr_t r, v[3];
    hub_mpr_init(&r, b.data, b.len);
    int64_t got = hub_mpr_pick(&r, keys, 3, v);
    CU_ASSERT_EQUAL(got, 1 | 4);
    CU_ASSERT(hub_mpr_done(&r)); // past the whole map
    uint64_t u = 0;
    const char *str;
    size_t n;
    CU_ASSERT(hub_mpr_uint(&v[2], &u) == HUB_OK && u == 7);
    CU_ASSERT(hub_mpr_str(&v[0], &str, &n) == HUB_OK && n == 3 && memcmp(str, "m-1", 3) == 0);
    hub_mpr_init(&r, b.data + 1, b.len - 1); // not a map
    CU_ASSERT_EQUAL(hub_mpr_pick(&r, keys, 3, v), -1);
    CU_ASSERT_EQUAL(hub_mpr_offset(&r), 0);
    hub_mpr_init(&r, b.data, b.len - 1); // cut short
    CU_ASSERT_EQUAL(hub_mpr_pick(&r, keys, 3, v), -1);
    CU_ASSERT_EQUAL(hub_mpr_offset(&r), 0);
    static const uint8_t compound[] = {0x81, 0x91, 0x01, 0x02}; // {[1]: 2}
    hub_mpr_init(&r, compound, sizeof compound);
    CU_ASSERT_EQUAL(hub_mpr_pick(&r, keys, 3, v), -1);
    hub_buf_free(&b);
}

// Every form msgpack-c writes, including ones the writer never uses.
static void
test_the_reader_reads_every_form(void)
{
    static const uint8_t in[] = {
        0xd0, 0x05,                                           // int8 5: a non-negative signed form
        0xd1, 0xff, 0x00,                                     // int16 -256
        0xd3, 0x80, 0,    0,    0,    0,    0,    0,    0,    // int64 min
        0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // uint64 max
        0xca, 0x3f, 0xc0, 0x00, 0x00,                         // float32 1.5
        0xcb, 0x40, 0x04, 0,    0,    0,    0,    0,    0,    // float64 2.5
        0xd4, 0x07, 0xaa,                                     // fixext1 type 7
        0xc7, 0x02, 0xfe, 0x01, 0x02,                         // ext8 len 2 type -2
        0xda, 0x00, 0x01, 'z',                                // str16 "z"
        0xc6, 0,    0,    0,    1,    0x09,                   // bin32 one byte
        0xdd, 0,    0,    0,    1,    0xc0,                   // array32 [nil]
        0xdf, 0,    0,    0,    1,    0xc2, 0xc3,             // map32 {false: true}
    };
    hub_mpr_t r;
    hub_mp_obj_t o;
    hub_mpr_init(&r, in, sizeof in);
    CU_ASSERT(hub_mpr_next(&r, &o) == 0 && o.kind == HUB_MP_UINT && o.v.u == 5);
    CU_ASSERT(hub_mpr_next(&r, &o) == 0 && o.kind == HUB_MP_INT && o.v.i == -256);
    CU_ASSERT(hub_mpr_next(&r, &o) == 0 && o.kind == HUB_MP_INT && o.v.i == INT64_MIN);
    CU_ASSERT(hub_mpr_next(&r, &o) == 0 && o.kind == HUB_MP_UINT && o.v.u == UINT64_MAX);
    CU_ASSERT(hub_mpr_next(&r, &o) == 0 && o.kind == HUB_MP_FLOAT && o.v.f == 1.5);
    CU_ASSERT(hub_mpr_next(&r, &o) == 0 && o.kind == HUB_MP_FLOAT && o.v.f == 2.5);
    CU_ASSERT(hub_mpr_next(&r, &o) == 0 && o.kind == HUB_MP_EXT && o.ext_type == 7 && o.len == 1 &&
              o.data[0] == 0xaa);
    CU_ASSERT(hub_mpr_next(&r, &o) == 0 && o.kind == HUB_MP_EXT && o.ext_type == -2 && o.len == 2);
    CU_ASSERT(hub_mpr_next(&r, &o) == 0 && o.kind == HUB_MP_STR && o.len == 1 && o.data[0] == 'z');
    CU_ASSERT(hub_mpr_next(&r, &o) == 0 && o.kind == HUB_MP_BIN && o.len == 1 && o.data[0] == 9);
    CU_ASSERT(hub_mpr_skip(&r) == 0);
    CU_ASSERT(hub_mpr_next(&r, &o) == 0 && o.kind == HUB_MP_MAP && o.len == 1);
    CU_ASSERT(hub_mpr_next(&r, &o) == 0 && o.kind == HUB_MP_BOOL && !o.v.b);
    CU_ASSERT(hub_mpr_next(&r, &o) == 0 && o.kind == HUB_MP_BOOL && o.v.b);
    CU_ASSERT(hub_mpr_done(&r));
    CU_ASSERT_EQUAL(hub_mpr_next(&r, &o), HUB_EDECODE); // nothing left
}

// Reads every prefix of IN from an exact-size copy, so ASan sees any read
// past the end: all but the whole input must fail without moving.
static void
s_prefixes(const uint8_t *in, size_t len)
{
    for (size_t n = 0; n < len; n++) {
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, in, n);
        hub_mpr_t r;
        hub_mpr_init(&r, copy, n);
        CU_ASSERT_EQUAL(hub_mpr_skip(&r), HUB_EDECODE);
        CU_ASSERT_EQUAL(hub_mpr_offset(&r), 0);
        free(copy);
    }
}

static void
test_truncated_input_is_refused_without_reading_past_it(void)
{
    hub_buf_t b = HUB_BUF_INIT;
    hub_mpw_t w;
    hub_mpw_init(&w, &b);
    hub_mpw_map(&w, 2);
    hub_mpw_cstr(&w, "k");
    hub_mpw_array(&w, 3);
    hub_mpw_int(&w, INT64_MIN);
    hub_mpw_str(&w, "a string longer than thirty-one bytes", 37);
    hub_mpw_bin(&w, "bb", 2);
    hub_mpw_uint(&w, 70000);
    hub_mpw_bool(&w, true);
    s_prefixes(b.data, b.len);
    hub_buf_free(&b);
}

static void
test_counts_that_lie_are_refused_at_once(void)
{
    static const uint8_t arr[] = {0xdd, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02};
    static const uint8_t map[] = {0xdf, 0x00, 0x00, 0x00, 0x02, 0x01, 0x02, 0x03};
    static const uint8_t str[] = {0xdb, 0xff, 0xff, 0xff, 0xff, 'a'};
    static const uint8_t reserved[] = {0xc1};
    hub_mpr_t r;
    hub_mp_obj_t o;
    hub_mpr_init(&r, arr, sizeof arr);
    CU_ASSERT_EQUAL(hub_mpr_next(&r, &o), HUB_EDECODE);
    hub_mpr_init(&r, map, sizeof map);
    CU_ASSERT_EQUAL(hub_mpr_next(&r, &o), HUB_EDECODE);
    hub_mpr_init(&r, str, sizeof str);
    CU_ASSERT_EQUAL(hub_mpr_next(&r, &o), HUB_EDECODE);
    hub_mpr_init(&r, reserved, sizeof reserved);
    CU_ASSERT_EQUAL(hub_mpr_next(&r, &o), HUB_EDECODE);
    CU_ASSERT_EQUAL(hub_mpr_offset(&r), 0);
}

static void
test_random_bytes_never_lead_the_reader_astray(void)
{
    uint64_t st = 42;
    for (int round = 0; round < 20000; round++) {
        size_t n = tu_rand(&st) % 40;
        uint8_t *buf = malloc(n ? n : 1);
        for (size_t i = 0; i < n; i++) {
            buf[i] = (uint8_t) tu_rand(&st);
        }
        hub_mpr_t r;
        hub_mpr_init(&r, buf, n);
        while (hub_mpr_skip(&r) == HUB_OK) {
            CU_ASSERT_FATAL(hub_mpr_offset(&r) <= n);
        }
        hub_mpr_init(&r, buf, n);
        hub_mpr_find(&r, "k");
        CU_ASSERT(hub_mpr_offset(&r) <= n);
        static const char *const keys[] = {"k", "seq"};
        hub_mpr_t v[2];
        hub_mpr_init(&r, buf, n);
        hub_mpr_pick(&r, keys, 2, v);
        CU_ASSERT(hub_mpr_offset(&r) <= n);
        free(buf);
    }
}

void
test_mpw_register(void)
{
    CU_pSuite s = CU_add_suite("mpw", NULL, NULL);
    CU_add_test(s, "every scalar form matches msgpack-c", test_every_scalar_form_matches_msgpack_c);
    CU_add_test(s, "every length form matches msgpack-c", test_every_length_form_matches_msgpack_c);
    CU_add_test(s, "a length msgpack cannot express is a sticky limit error",
                test_a_length_msgpack_cannot_express_is_a_sticky_limit_error);
    CU_add_test(s, "the reader reads what the writer wrote",
                test_the_reader_reads_what_the_writer_wrote);
    CU_add_test(s, "find moves to a value or not at all", test_find_moves_to_a_value_or_not_at_all);
    CU_add_test(s, "pick finds what find finds in one pass",
                test_pick_finds_what_find_finds_in_one_pass);
    CU_add_test(s, "the reader reads every form", test_the_reader_reads_every_form);
    CU_add_test(s, "truncated input is refused without reading past it",
                test_truncated_input_is_refused_without_reading_past_it);
    CU_add_test(s, "counts that lie are refused at once", test_counts_that_lie_are_refused_at_once);
    CU_add_test(s, "random bytes never lead the reader astray",
                test_random_bytes_never_lead_the_reader_astray);
}
