#include "hub_utf8.h"
#include "suites.h"

#include <CUnit/CUnit.h>
#include <string.h>

typedef struct {
    const char *s;
    size_t len;
    int valid;
} s_case_t;

#define S(x) x, sizeof(x) - 1

static void
test_strict_utf8_accepts_good_and_rejects_bad_sequences(void)
{
    static const s_case_t cases[] = {
        {S("plain ascii"), 1},
        {S("凉山彝族自治州"), 1},
        {S("ꆈꌠ"), 1},             // Yi syllables
        {S("\xF0\xA0\x80\x80"), 1}, // U+20000, outside GBK
        {S("\xC0\xAF"), 0},         // overlong '/'
        {S("\xE0\x80\xAF"), 0},     // overlong
        {S("\xED\xA0\x80"), 0},     // surrogate
        {S("\xF4\x90\x80\x80"), 0}, // above U+10FFFF
        {S("\xE5\x87"), 0},         // truncated
        {S("\x80"), 0},             // lone continuation
        {S("abcdefgh\xFF"), 0},     // bad byte after the fast path
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CU_ASSERT_EQUAL(hub_utf8_valid(cases[i].s, cases[i].len, NULL), cases[i].valid);
    }
}

static void
test_text_checks_also_refuse_nul_wherever_it_is(void)
{
    size_t bad = 99;
    CU_ASSERT_TRUE(hub_utf8_valid(S("abc\0def"), NULL));       // NUL is valid UTF-8 ...
    CU_ASSERT_FALSE(hub_utf8_valid_text(S("abc\0def"), &bad)); // ... but not text
    CU_ASSERT_EQUAL(bad, 3);
    CU_ASSERT_FALSE(hub_utf8_valid_text(S("abcdefghij\0"), &bad)); // past the fast path
    CU_ASSERT_EQUAL(bad, 10);
    CU_ASSERT_FALSE(hub_utf8_valid_text(S("凉山\0"), &bad));
    CU_ASSERT_EQUAL(bad, 6);
    CU_ASSERT_TRUE(hub_utf8_valid_text(S("凉山彝族自治州 Liangshan 0123456789"), NULL));
    CU_ASSERT_FALSE(hub_utf8_valid_text(S("abcdefgh\xC0\xAF"), &bad));
    CU_ASSERT_EQUAL(bad, 8);
}

static void
test_the_first_bad_byte_is_located(void)
{
    size_t bad = 99;
    CU_ASSERT_FALSE(hub_utf8_valid(S("abcdefghij\xC0\xAF"), &bad));
    CU_ASSERT_EQUAL(bad, 10);
}

static void
test_code_points_are_counted_not_bytes(void)
{
    CU_ASSERT_EQUAL(hub_utf8_count(S("吉克·阿依")), 5);
    CU_ASSERT_EQUAL(hub_utf8_count(S("a\xF0\xA0\x80\x80")), 2);
}

static void
test_control_characters_are_found(void)
{
    CU_ASSERT_TRUE(hub_utf8_has_control(S("a\x01"), false));
    CU_ASSERT_TRUE(hub_utf8_has_control(S("a\nb"), false));
    CU_ASSERT_FALSE(hub_utf8_has_control(S("a\nb"), true));
    CU_ASSERT_TRUE(hub_utf8_has_control(S("a\xC2\x85"), true)); // NEL, a C1 control
    CU_ASSERT_FALSE(hub_utf8_has_control(S("吉克·阿依"), false));
}

static void
test_middle_dot_variants_become_one_middle_dot(void)
{
    char a[] = "阿苏•拉且", b[] = "阿苏・拉且", c[] = "阿苏·拉且";
    size_t n = hub_utf8_fix_middle_dots(a, strlen(a));
    CU_ASSERT_EQUAL(n, strlen(c));
    CU_ASSERT_EQUAL(memcmp(a, c, n), 0);
    n = hub_utf8_fix_middle_dots(b, strlen(b));
    CU_ASSERT_EQUAL(n, strlen(c));
    CU_ASSERT_EQUAL(memcmp(b, c, n), 0);
    n = hub_utf8_fix_middle_dots(c, strlen(c));
    CU_ASSERT_EQUAL(memcmp(c, "阿苏·拉且", n), 0);
}

void
test_utf8_register(void)
{
    CU_pSuite s = CU_add_suite("utf8", NULL, NULL);
    CU_add_test(s, "strict UTF-8 accepts good and rejects bad sequences",
                test_strict_utf8_accepts_good_and_rejects_bad_sequences);
    CU_add_test(s, "the first bad byte is located", test_the_first_bad_byte_is_located);
    CU_add_test(s, "text checks also refuse NUL wherever it is",
                test_text_checks_also_refuse_nul_wherever_it_is);
    CU_add_test(s, "code points are counted, not bytes", test_code_points_are_counted_not_bytes);
    CU_add_test(s, "control characters are found", test_control_characters_are_found);
    CU_add_test(s, "middle-dot variants become one middle dot",
                test_middle_dot_variants_become_one_middle_dot);
}
