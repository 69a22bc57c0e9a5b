// Tests of hub_ids: the domain's identifiers and value formats. Every vector
// is copied into a heap buffer of exactly its length, without a NUL, so the
// sanitizer build catches any read past LEN.
#include "hub_ids.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef hub_ids_reason_t (*s_checker_fn)(const char *s, size_t len, char *detail, size_t size);

typedef struct {
    const char *in;
    hub_ids_reason_t want;
    const char *detail_part; // must appear in the detail; NULL: not checked
} s_check_case_t;

typedef struct {
    const char *in;
    hub_ids_reason_t want;
    const char *out; // canonical form on success, or a detail fragment on failure
} s_norm_case_t;

#define S_COUNT(a) (sizeof(a) / sizeof((a)[0]))

// A copy of S[0..LEN) in a buffer of exactly LEN bytes; never NULL.
static char *
s_exact(const char *s, size_t len)
{
    char *copy = malloc(len > 0 ? len : 1);
    CU_ASSERT_FATAL(copy != NULL);
    memcpy(copy, s, len);
    return copy;
}

static void
s_expect(const char *what, const char *in, hub_ids_reason_t got, hub_ids_reason_t want,
         const char *detail)
{
    if (got != want) {
        fprintf(stderr, "\n  %s(\"%s\"): got %s, want %s (detail: %s)\n", what, in,
                hub_ids_reason_name(got), hub_ids_reason_name(want), detail ? detail : "-");
    }
    CU_ASSERT_EQUAL(got, want);
}

static void
s_expect_part(const char *in, const char *detail, const char *part)
{
    if (part && !strstr(detail, part)) {
        fprintf(stderr, "\n  \"%s\": detail \"%s\" lacks \"%s\"\n", in, detail, part);
    }
    CU_ASSERT(part == NULL || strstr(detail, part) != NULL);
}

static void
s_run_checks(s_checker_fn fn, const char *what, const s_check_case_t *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(cases[i].in);
        char *buf = s_exact(cases[i].in, len);
        char detail[HUB_IDS_DETAIL_MAX] = "stale text";
        hub_ids_reason_t got = fn(buf, len, detail, sizeof detail);
        s_expect(what, cases[i].in, got, cases[i].want, detail);
        CU_ASSERT(strlen(detail) < sizeof detail);
        if (got == HUB_IDS_OK) {
            CU_ASSERT_STRING_EQUAL(detail, "");
        } else {
            CU_ASSERT(strlen(detail) > 0);
        }
        s_expect_part(cases[i].in, detail, cases[i].detail_part);
        CU_ASSERT_EQUAL(fn(buf, len, NULL, 0), cases[i].want);
        free(buf);
    }
}

// ---------------------------------------------------------------------------
// Citizen ID

static void
test_valid_citizen_ids_pass_the_check(void)
{
    static const s_check_case_t cases[] = {
        {"34052419800101001X", HUB_IDS_OK, NULL},
        {"513431201001050019", HUB_IDS_OK, NULL},
        {"513431201001050027", HUB_IDS_OK, NULL},
        {"513425198503120011", HUB_IDS_OK, NULL}, // 会理县: retired, stays valid
        {"51340120000229002X", HUB_IDS_OK, NULL}, // 2000 is a leap year
        {"513431199012318885", HUB_IDS_OK, NULL},
        {"820000198001010016", HUB_IDS_OK, NULL},
        {"710000198001010010", HUB_IDS_OK, NULL},
    };
    s_run_checks(hub_cid_check, "hub_cid_check", cases, S_COUNT(cases));
}

static void
test_invalid_citizen_ids_are_rejected_with_a_reason(void)
{
    static const s_check_case_t cases[] = {
        {"513431201001050018", HUB_IDS_CHECK, "check character is 8, expected 9"},
        {"340524198001010010", HUB_IDS_CHECK, "is 0, expected X"},
        {"51343120100105001", HUB_IDS_LENGTH, "18 characters expected, got 17"},
        {"5134312010010500190", HUB_IDS_LENGTH, "got 19"},
        {"", HUB_IDS_LENGTH, "got 0"},
        {"34052419800101001x", HUB_IDS_CHARSET, "'x' at position 18"},
        {"5134312010A1050019", HUB_IDS_CHARSET, "'A' at position 11"},
        {"51343120100105001 ", HUB_IDS_CHARSET, "space at position 18"},
        {"X13431201001050019", HUB_IDS_CHARSET, "position 1"},
        {"51343120100105\xEF\xBC\x90\x31", HUB_IDS_CHARSET, "byte 0xEF at position 15"},
        {"000000198001010013", HUB_IDS_AREA, "area code 00 is not a province"},
        {"993431198001010011", HUB_IDS_AREA, "area code 99 is not a province"},
        {"110105190002290017", HUB_IDS_BIRTHDATE, "birth date 19000229 is not a real date"},
        {"513431198002310017", HUB_IDS_BIRTHDATE, "birth date 19800231 is not a real date"},
        {"513431187901010014", HUB_IDS_BIRTHDATE, "birth year 1879"},
    };
    s_run_checks(hub_cid_check, "hub_cid_check", cases, S_COUNT(cases));
}

static void
test_the_check_character_comes_from_the_first_17_digits(void)
{
    CU_ASSERT_EQUAL(hub_cid_check_char("34052419800101001"), 'X');
    CU_ASSERT_EQUAL(hub_cid_check_char("51343120100105001"), '9');
    CU_ASSERT_EQUAL(hub_cid_check_char("51342519850312001"), '1');
    CU_ASSERT_EQUAL(hub_cid_check_char("00000000000000000"), '1');
    CU_ASSERT_EQUAL(hub_cid_check_char("5134312010010500A"), '?');
    CU_ASSERT_EQUAL(hub_cid_check_char("5134312010010500\xFF"), '?');
}

static void
test_the_sequence_digit_tells_the_sex(void)
{
    CU_ASSERT_TRUE(hub_cid_is_male("513431201001050019"));
    CU_ASSERT_TRUE(hub_cid_is_male("34052419800101001X"));
    CU_ASSERT_FALSE(hub_cid_is_male("513431201001050027"));
    CU_ASSERT_FALSE(hub_cid_is_male("51340120000229002X"));
    CU_ASSERT_FALSE(hub_cid_is_male("5134312010010500?9"));
}

static void
s_run_cid_normalize(const s_norm_case_t *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(cases[i].in);
        char *buf = s_exact(cases[i].in, len);
        char out[19] = "garbage";
        char detail[HUB_IDS_DETAIL_MAX] = "";
        hub_ids_reason_t got = hub_cid_normalize(buf, len, out, detail, sizeof detail);
        s_expect("hub_cid_normalize", cases[i].in, got, cases[i].want, detail);
        if (cases[i].want == HUB_IDS_OK) {
            CU_ASSERT_STRING_EQUAL(out, cases[i].out);
            CU_ASSERT_EQUAL(hub_cid_check(out, strlen(out), NULL, 0), HUB_IDS_OK);
        } else {
            CU_ASSERT_STRING_EQUAL(out, "");
            s_expect_part(cases[i].in, detail, cases[i].out);
        }
        free(buf);
    }
}

static void
test_messy_citizen_ids_are_normalised(void)
{
    static const s_norm_case_t cases[] = {
        {"513431201001050019", HUB_IDS_OK, "513431201001050019"},
        {"513425850312001", HUB_IDS_OK, "513425198503120011"},
        {"34052419800101001x", HUB_IDS_OK, "34052419800101001X"},
        {"  513431201001050019\t\r\n", HUB_IDS_OK, "513431201001050019"},
        {"\xE3\x80\x80"
         "513431201001050019"
         "\xE3\x80\x80",
         HUB_IDS_OK, "513431201001050019"},
        // "５１３４３１２０１００１０５００１９"
        {"\xEF\xBC\x95\xEF\xBC\x91\xEF\xBC\x93\xEF\xBC\x94\xEF\xBC\x93\xEF\xBC\x91"
         "\xEF\xBC\x92\xEF\xBC\x90\xEF\xBC\x91\xEF\xBC\x90\xEF\xBC\x90\xEF\xBC\x91"
         "\xEF\xBC\x90\xEF\xBC\x95\xEF\xBC\x90\xEF\xBC\x90\xEF\xBC\x91\xEF\xBC\x99",
         HUB_IDS_OK, "513431201001050019"},
        {"34052419800101001\xEF\xBD\x98", HUB_IDS_OK, "34052419800101001X"}, // ｘ
        {"34052419800101001\xEF\xBC\xB8", HUB_IDS_OK, "34052419800101001X"}, // Ｘ
        {"5134312010010500\xEF\xBC\x91"
         "9",
         HUB_IDS_OK, "513431201001050019"},
    };
    s_run_cid_normalize(cases, S_COUNT(cases));
}

static void
test_unrepairable_citizen_ids_are_refused(void)
{
    static const s_norm_case_t cases[] = {
        {"5.13431E+17", HUB_IDS_SCIENTIFIC, "scientific notation"},
        {" 5.13431e+17 ", HUB_IDS_SCIENTIFIC, "re-export the column as text"},
        {"5.13431201001050E17", HUB_IDS_SCIENTIFIC, NULL},
        {"51343120100105001943", HUB_IDS_NOT_ID, "disability certificate number"},
        {"51343120100105001999", HUB_IDS_LENGTH, "got 20"},
        {"513431201001050018", HUB_IDS_CHECK, "is 8, expected 9"},
        {"51343120100105001", HUB_IDS_LENGTH, "got 17"},
        {"", HUB_IDS_LENGTH, "got 0"},
        {" \xE3\x80\x80 ", HUB_IDS_LENGTH, "got 0"},
        {"110105000229001", HUB_IDS_BIRTHDATE, "19000229"}, // 1900 is not a leap year
        {"000000800101001", HUB_IDS_AREA, "area code 00"},
        {"51342585031200X", HUB_IDS_CHARSET, "15-digit"},
        {"513431 201001050019", HUB_IDS_CHARSET, "space at position 7"},
        {"513431201001050019.0", HUB_IDS_CHARSET, "formatted as a number"},
        {"\xE5\xBC\xA0\xE4\xB8\x89", HUB_IDS_CHARSET, "non-ASCII character at position 1"},
        {"51343120100105001\xEF\xBC", HUB_IDS_CHARSET, "position 18"},
        {"5134312010010500-19", HUB_IDS_CHARSET, "'-' at position 17"},
    };
    s_run_cid_normalize(cases, S_COUNT(cases));
}

static void
test_normalising_a_null_citizen_id_is_a_length_error(void)
{
    char out[19];
    CU_ASSERT_EQUAL(hub_cid_normalize(NULL, 0, out, NULL, 0), HUB_IDS_LENGTH);
    CU_ASSERT_EQUAL(hub_cid_check(NULL, 18, NULL, 0), HUB_IDS_LENGTH);
}

// ---------------------------------------------------------------------------
// Other identifiers

static void
test_credit_codes_are_checked(void)
{
    static const s_check_case_t cases[] = {
        {"914403001922038216", HUB_IDS_OK, NULL}, // 华为技术有限公司, published
        {"9144030071526726XG", HUB_IDS_OK, NULL}, // 深圳市腾讯计算机系统有限公司, published
        {"12513400MB1A2B3C46", HUB_IDS_OK, NULL},
        {"52513431MJ0000000L", HUB_IDS_OK, NULL},
        {"915100002018003501", HUB_IDS_OK, NULL},
        {"914403001922038217", HUB_IDS_CHECK, "check character is 7, expected 6"},
        {"9144030071526726XH", HUB_IDS_CHECK, "is H, expected G"},
        {"91440300192203821", HUB_IDS_LENGTH, "18 characters expected, got 17"},
        {"914403001922038I16", HUB_IDS_CHARSET, "'I' at position 16"},
        {"91440300192203821O", HUB_IDS_CHARSET, "'O' at position 18"},
        {"9144030071526726xG", HUB_IDS_CHARSET, "'x' at position 17"},
        {"9144030071526726ZG", HUB_IDS_CHARSET, "'Z'"},
    };
    s_run_checks(hub_uscc_check, "hub_uscc_check", cases, S_COUNT(cases));
}

static void
test_student_numbers_are_checked(void)
{
    static const s_check_case_t cases[] = {
        {"G513431201001050019", HUB_IDS_OK, NULL},
        {"G34052419800101001X", HUB_IDS_OK, NULL},
        {"J51343120100105001X", HUB_IDS_OK, NULL},
        {"J513431201001050010", HUB_IDS_OK, NULL}, // ID-style, no check digit
        {"L5134312010ABCDEF0Z", HUB_IDS_OK, NULL},
        {"G513431201001050018", HUB_IDS_CHECK, "citizen ID after G: check character is 8"},
        {"G000000198001010013", HUB_IDS_AREA, "area code 00"},
        {"J5134312010010500X1", HUB_IDS_CHARSET, "'X' at position 18"},
        {"J51343120100105001x", HUB_IDS_CHARSET, "'x' at position 19"},
        {"L5134312010abcdef0Z", HUB_IDS_CHARSET, "'a' at position 12"},
        {"A513431201001050019", HUB_IDS_CHARSET, "expected G, J or L"},
        {"g513431201001050019", HUB_IDS_CHARSET, "position 1"},
        {"G51343120100105001", HUB_IDS_LENGTH, "19 characters expected, got 18"},
        {"513431201001050019", HUB_IDS_LENGTH, NULL},
    };
    s_run_checks(hub_student_no_check, "hub_student_no_check", cases, S_COUNT(cases));
}

static void
test_division_codes_are_checked(void)
{
    static const s_check_case_t cases[] = {
        {"513431", HUB_IDS_OK, NULL},
        {"513425", HUB_IDS_OK, NULL},
        {"513431100", HUB_IDS_OK, NULL},
        {"513431100201", HUB_IDS_OK, NULL},
        {"110000", HUB_IDS_OK, NULL},
        {"51343", HUB_IDS_LENGTH, "6, 9 or 12 digits expected, got 5"},
        {"5134311", HUB_IDS_LENGTH, "got 7"},
        {"5134311002011", HUB_IDS_LENGTH, "got 13"},
        {"", HUB_IDS_LENGTH, NULL},
        {"51343A", HUB_IDS_CHARSET, "'A' at position 6"},
        {"003431", HUB_IDS_AREA, "area code 00 is not a province"},
        {"993431100", HUB_IDS_AREA, "area code 99"},
        {"163431100201", HUB_IDS_AREA, "area code 16"},
    };
    s_run_checks(hub_division_check, "hub_division_check", cases, S_COUNT(cases));
}

static void
test_disability_numbers_are_checked(void)
{
    static const s_check_case_t cases[] = {
        {"51343120100105001943", HUB_IDS_OK, NULL},
        {"34052419800101001X71", HUB_IDS_OK, NULL},
        {"51343120100105001981", HUB_IDS_CHARSET, "category 1..7"},
        {"51343120100105001905", HUB_IDS_CHARSET, "'0' at position 19"},
        {"51343120100105001915", HUB_IDS_CHARSET, "grade 1..4"},
        {"51343120100105001843", HUB_IDS_CHECK, "citizen ID part: check character is 8"},
        {"5134312010010500194", HUB_IDS_LENGTH, "20 characters expected, got 19"},
    };
    s_run_checks(hub_disability_no_check, "hub_disability_no_check", cases, S_COUNT(cases));
}

// ---------------------------------------------------------------------------
// Phone

static void
test_phone_numbers_are_checked(void)
{
    static const s_check_case_t cases[] = {
        {"13800138000", HUB_IDS_OK, NULL},
        {"19912345678", HUB_IDS_OK, NULL},
        {"0834-5551234", HUB_IDS_OK, NULL},
        {"0834-55512345", HUB_IDS_OK, NULL},
        {"010-12345678", HUB_IDS_OK, NULL},
        {"028-85551234", HUB_IDS_OK, NULL},
        {"12800138000", HUB_IDS_FORMAT, "13 to 19"},
        {"1380013800", HUB_IDS_LENGTH, "11 digits expected for a mobile number, got 10"},
        {"138-0013-8000", HUB_IDS_LENGTH, NULL},
        {"1380013800A", HUB_IDS_CHARSET, "'A' at position 11"},
        {"08345551234", HUB_IDS_FORMAT, "'-' after the area code 0834"},
        {"083-45551234", HUB_IDS_FORMAT, "area code has 4 digits"},
        {"0834-555123", HUB_IDS_LENGTH, "7 or 8 digits"},
        {"0834-555123456", HUB_IDS_LENGTH, NULL},
        {"0834-555A234", HUB_IDS_CHARSET, "'A' at position 9"},
        {"0123-4567890", HUB_IDS_AREA, "area code 0123 does not exist"},
        {"0086-2351234", HUB_IDS_AREA, "area code 0086"},
        {"0834", HUB_IDS_LENGTH, NULL},
        {"5551234", HUB_IDS_FORMAT, "area code"},
        {"+8613800138000", HUB_IDS_FORMAT, NULL},
        {"", HUB_IDS_LENGTH, "empty"},
    };
    s_run_checks(hub_phone_check, "hub_phone_check", cases, S_COUNT(cases));
}

static void
s_run_phone_normalize(const s_norm_case_t *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(cases[i].in);
        char *buf = s_exact(cases[i].in, len);
        char out[24] = "garbage";
        char detail[HUB_IDS_DETAIL_MAX] = "";
        hub_ids_reason_t got =
            hub_phone_normalize(buf, len, out, sizeof out, detail, sizeof detail);
        s_expect("hub_phone_normalize", cases[i].in, got, cases[i].want, detail);
        if (cases[i].want == HUB_IDS_OK) {
            CU_ASSERT_STRING_EQUAL(out, cases[i].out);
            CU_ASSERT_EQUAL(hub_phone_check(out, strlen(out), NULL, 0), HUB_IDS_OK);
        } else {
            CU_ASSERT_STRING_EQUAL(out, "");
            s_expect_part(cases[i].in, detail, cases[i].out);
        }
        free(buf);
    }
}

static void
test_phone_numbers_are_normalised(void)
{
    static const s_norm_case_t cases[] = {
        {"13800138000", HUB_IDS_OK, "13800138000"},
        {"+86 138 0013 8000", HUB_IDS_OK, "13800138000"},
        {"+8613800138000", HUB_IDS_OK, "13800138000"},
        {"0086 13800138000", HUB_IDS_OK, "13800138000"},
        {"\xEF\xBC\x8B"
         "86 13800138000",
         HUB_IDS_OK, "13800138000"}, // ＋86
        {"138-0013-8000", HUB_IDS_OK, "13800138000"},
        {"013800138000", HUB_IDS_OK, "13800138000"},
        // "１３８ ００１３ ８０００" with ideographic spaces
        {"\xEF\xBC\x91\xEF\xBC\x93\xEF\xBC\x98\xE3\x80\x80\xEF\xBC\x90\xEF\xBC\x90\xEF\xBC\x91"
         "\xEF\xBC\x93\xE3\x80\x80\xEF\xBC\x98\xEF\xBC\x90\xEF\xBC\x90\xEF\xBC\x90",
         HUB_IDS_OK, "13800138000"},
        {"08345551234", HUB_IDS_OK, "0834-5551234"},
        {"0834 555 1234", HUB_IDS_OK, "0834-5551234"},
        {"0834-5551234", HUB_IDS_OK, "0834-5551234"},
        {"0834\xEF\xBC\x8D"
         "5551234",
         HUB_IDS_OK, "0834-5551234"}, // full-width hyphen
        {"083455512345", HUB_IDS_OK, "0834-55512345"},
        {"01012345678", HUB_IDS_OK, "010-12345678"},
        {"02885551234", HUB_IDS_OK, "028-85551234"},
        {"+86 834 5551234", HUB_IDS_OK, "0834-5551234"},
        {"+86 10 1234 5678", HUB_IDS_OK, "010-12345678"},
        {"0086 28 8555 1234", HUB_IDS_OK, "028-85551234"},
        {"+1 555 123 4567", HUB_IDS_FORMAT, "+86"},
        {"5551234", HUB_IDS_FORMAT, "area code"},
        {"(0834)5551234", HUB_IDS_CHARSET, "'(' at position 1"},
        {"1380013800", HUB_IDS_LENGTH, "got 10"},
        {"+86 138 0013 800", HUB_IDS_LENGTH, "got 10"},
        {"86+13800138000", HUB_IDS_CHARSET, "'+' at position 3"},
        {"++8613800138000", HUB_IDS_CHARSET, "position 2"},
        {"138001380001234567890123", HUB_IDS_LENGTH, "more than 20 digits"},
        {"0834-555123", HUB_IDS_LENGTH, "7 or 8 digits"},
        {"+86 00862351234", HUB_IDS_AREA, "0086"}, // found by libFuzzer: not idempotent
        {"", HUB_IDS_LENGTH, "empty"},
        {" - ", HUB_IDS_LENGTH, "empty"},
    };
    s_run_phone_normalize(cases, S_COUNT(cases));
}

// ---------------------------------------------------------------------------
// ICD-10, dates, message ids

static void
test_icd10_codes_are_checked(void)
{
    static const s_check_case_t cases[] = {
        {"J18.9", HUB_IDS_OK, NULL},
        {"C34", HUB_IDS_OK, NULL},
        {"O80.000", HUB_IDS_OK, NULL},
        {"U07.1", HUB_IDS_OK, NULL},
        {"Z99.8999", HUB_IDS_OK, NULL},
        {"C34.X1", HUB_IDS_OK, NULL},
        {"j18.9", HUB_IDS_CHARSET, "'j' at position 1"},
        {"J1A.9", HUB_IDS_CHARSET, "'A' at position 3"},
        {"J18.9a", HUB_IDS_CHARSET, "'a' at position 6"},
        {"J1", HUB_IDS_LENGTH, "3 to 8 characters expected, got 2"},
        {"J18.99999", HUB_IDS_LENGTH, "got 9"},
        {"", HUB_IDS_LENGTH, NULL},
        {"J18.", HUB_IDS_FORMAT, "nothing after the '.'"},
        {"J18-9", HUB_IDS_FORMAT, "expected '.' after J18"},
        {"J189", HUB_IDS_FORMAT, NULL},
    };
    s_run_checks(hub_icd10_check, "hub_icd10_check", cases, S_COUNT(cases));
}

// The date checkers take no DETAIL; these adapters let them share the runner.
static hub_ids_reason_t
s_date_adapter(const char *s, size_t len, char *detail, size_t size)
{
    hub_ids_reason_t r = hub_date_check(s, len, NULL, NULL, NULL);
    if (detail && size > 0) {
        snprintf(detail, size, "%s", r == HUB_IDS_OK ? "" : hub_ids_reason_name(r));
    }
    return r;
}

static hub_ids_reason_t
s_yearmonth_adapter(const char *s, size_t len, char *detail, size_t size)
{
    hub_ids_reason_t r = hub_yearmonth_check(s, len);
    if (detail && size > 0) {
        snprintf(detail, size, "%s", r == HUB_IDS_OK ? "" : hub_ids_reason_name(r));
    }
    return r;
}

static hub_ids_reason_t
s_datetime_adapter(const char *s, size_t len, char *detail, size_t size)
{
    hub_ids_reason_t r = hub_datetime_check(s, len);
    if (detail && size > 0) {
        snprintf(detail, size, "%s", r == HUB_IDS_OK ? "" : hub_ids_reason_name(r));
    }
    return r;
}

static void
test_dates_are_checked(void)
{
    static const s_check_case_t cases[] = {
        {"2026-01-31", HUB_IDS_OK, NULL},     {"2000-02-29", HUB_IDS_OK, NULL},
        {"2024-02-29", HUB_IDS_OK, NULL},     {"1900-02-28", HUB_IDS_OK, NULL},
        {"1880-01-01", HUB_IDS_OK, NULL},     {"2199-12-31", HUB_IDS_OK, NULL},
        {"2026-13-01", HUB_IDS_DATE, NULL},   {"2026-02-30", HUB_IDS_DATE, NULL},
        {"1900-02-29", HUB_IDS_DATE, NULL},   {"2026-04-31", HUB_IDS_DATE, NULL},
        {"2026-00-10", HUB_IDS_DATE, NULL},   {"2026-01-00", HUB_IDS_DATE, NULL},
        {"1879-12-31", HUB_IDS_DATE, NULL},   {"2200-01-01", HUB_IDS_DATE, NULL},
        {"2026-1-5", HUB_IDS_FORMAT, NULL},   {"2026/01/05", HUB_IDS_FORMAT, NULL},
        {"20260105", HUB_IDS_FORMAT, NULL},   {"2026-01-05 ", HUB_IDS_FORMAT, NULL},
        {"2020.1.5", HUB_IDS_FORMAT, NULL},   {"", HUB_IDS_FORMAT, NULL},
        {"+026-01-05", HUB_IDS_FORMAT, NULL}, {"2026-01-0a", HUB_IDS_FORMAT, NULL},
    };
    s_run_checks(s_date_adapter, "hub_date_check", cases, S_COUNT(cases));

    int y = 0, m = 0, d = 0;
    CU_ASSERT_EQUAL(hub_date_check("2026-07-01", 10, &y, &m, &d), HUB_IDS_OK);
    CU_ASSERT(y == 2026 && m == 7 && d == 1);
    CU_ASSERT_EQUAL(hub_date_check("2026-02-30", 10, &y, &m, &d), HUB_IDS_DATE);
    CU_ASSERT(y == 2026 && m == 7 && d == 1); // untouched on failure
    CU_ASSERT_EQUAL(hub_date_check("2026-03-15", 10, &y, NULL, NULL), HUB_IDS_OK);
    CU_ASSERT_EQUAL(y, 2026);
}

static void
test_year_months_are_checked(void)
{
    static const s_check_case_t cases[] = {
        {"2026-01", HUB_IDS_OK, NULL},     {"2026-12", HUB_IDS_OK, NULL},
        {"1880-01", HUB_IDS_OK, NULL},     {"2026-13", HUB_IDS_DATE, NULL},
        {"2026-00", HUB_IDS_DATE, NULL},   {"1879-05", HUB_IDS_DATE, NULL},
        {"202601", HUB_IDS_FORMAT, NULL},  {"2026-1", HUB_IDS_FORMAT, NULL},
        {"2026/01", HUB_IDS_FORMAT, NULL}, {"", HUB_IDS_FORMAT, NULL},
    };
    s_run_checks(s_yearmonth_adapter, "hub_yearmonth_check", cases, S_COUNT(cases));
}

static void
test_datetimes_are_checked(void)
{
    static const s_check_case_t cases[] = {
        {"2026-01-01T00:00:00Z", HUB_IDS_OK, NULL},
        {"2026-01-01T23:59:59+08:00", HUB_IDS_OK, NULL},
        {"2026-01-01T08:00:00.123-05:30", HUB_IDS_OK, NULL},
        {"2026-01-01T08:00:00.123456789Z", HUB_IDS_OK, NULL},
        {"2000-02-29T12:00:00-00:00", HUB_IDS_OK, NULL},
        {"2026-01-01T25:00:00Z", HUB_IDS_DATE, NULL},
        {"2026-02-30T08:00:00Z", HUB_IDS_DATE, NULL},
        {"2026-13-01T00:00:00Z", HUB_IDS_DATE, NULL},
        {"2026-01-01T08:60:00Z", HUB_IDS_DATE, NULL},
        {"2026-01-01T08:00:60Z", HUB_IDS_DATE, NULL},
        {"2026-01-01T08:00:00+24:00", HUB_IDS_DATE, NULL},
        {"2026-01-01T08:00:00+08:60", HUB_IDS_DATE, NULL},
        {"2026-01-01T08:00:00", HUB_IDS_FORMAT, NULL}, // no offset
        {"2026-01-01T08:00:00.5", HUB_IDS_FORMAT, NULL},
        {"2026-01-01 08:00:00Z", HUB_IDS_FORMAT, NULL},
        {"2026-01-01t08:00:00z", HUB_IDS_FORMAT, NULL},
        {"2026-01-01T08:00:00.Z", HUB_IDS_FORMAT, NULL},
        {"2026-01-01T08:00:00.1234567890Z", HUB_IDS_FORMAT, NULL},
        {"2026-01-01T08:00:00+0800", HUB_IDS_FORMAT, NULL},
        {"2026-01-01T08:00:00ZZ", HUB_IDS_FORMAT, NULL},
        {"2026-01-01T8:00:00Z", HUB_IDS_FORMAT, NULL},
        {"2026-01-01", HUB_IDS_FORMAT, NULL},
        {"", HUB_IDS_FORMAT, NULL},
    };
    s_run_checks(s_datetime_adapter, "hub_datetime_check", cases, S_COUNT(cases));
}

static void
test_real_calendar_dates_are_recognised(void)
{
    CU_ASSERT_TRUE(hub_date_valid(2000, 2, 29));
    CU_ASSERT_TRUE(hub_date_valid(2024, 2, 29));
    CU_ASSERT_TRUE(hub_date_valid(2026, 12, 31));
    CU_ASSERT_FALSE(hub_date_valid(1900, 2, 29));
    CU_ASSERT_FALSE(hub_date_valid(2023, 2, 29));
    CU_ASSERT_FALSE(hub_date_valid(2026, 4, 31));
    CU_ASSERT_FALSE(hub_date_valid(2026, 0, 1));
    CU_ASSERT_FALSE(hub_date_valid(2026, 13, 1));
    CU_ASSERT_FALSE(hub_date_valid(2026, 1, 0));
    CU_ASSERT_FALSE(hub_date_valid(2026, 1, -1));
}

static void
test_day_numbers_count_from_1970(void)
{
    CU_ASSERT_EQUAL(hub_date_days(1970, 1, 1), 0);
    CU_ASSERT_EQUAL(hub_date_days(1969, 12, 31), -1);
    CU_ASSERT_EQUAL(hub_date_days(2000, 2, 29), 11016);
    CU_ASSERT_EQUAL(hub_date_days(2000, 3, 1), 11017);
    CU_ASSERT_EQUAL(hub_date_days(1880, 1, 1), -32872);
    CU_ASSERT_EQUAL(hub_date_days(2199, 12, 31), 84005);

    // Every valid date from 1880 to 2199 is exactly one day after the last.
    int64_t expected = hub_date_days(1880, 1, 1);
    bool consecutive = true;
    for (int y = 1880; y <= 2199; y++) {
        for (int m = 1; m <= 12; m++) {
            for (int d = 1; d <= 31 && hub_date_valid(y, m, d); d++) {
                consecutive = consecutive && hub_date_days(y, m, d) == expected;
                expected++;
            }
        }
    }
    CU_ASSERT_TRUE(consecutive);
    CU_ASSERT_EQUAL(expected, 84006);
}

static void
test_message_ids_are_checked(void)
{
    static const char *const good[] = {
        "a",
        "0123456789abcdef0123456789abcdef",
        "health:2026-07-01_0001.v2",
        "AZaz09._:-",
        "0123456789012345678901234567890123456789012345678901234567890123",
    };
    static const char *const bad[] = {
        "",         "01234567890123456789012345678901234567890123456789012345678901234",
        "a b",      "a/b",
        "\xC3\xA9", "a\tb",
        "a,b",      "a\"b",
    };
    for (size_t i = 0; i < S_COUNT(good); i++) {
        char *buf = s_exact(good[i], strlen(good[i]));
        CU_ASSERT_TRUE(hub_msg_id_valid(buf, strlen(good[i])));
        free(buf);
    }
    for (size_t i = 0; i < S_COUNT(bad); i++) {
        char *buf = s_exact(bad[i], strlen(bad[i]));
        CU_ASSERT_FALSE(hub_msg_id_valid(buf, strlen(bad[i])));
        free(buf);
    }
    CU_ASSERT_FALSE(hub_msg_id_valid("a\0b", 3));
    CU_ASSERT_FALSE(hub_msg_id_valid(NULL, 0));
}

// ---------------------------------------------------------------------------
// Across the module

static void
test_reason_names_are_stable(void)
{
    CU_ASSERT_STRING_EQUAL(hub_ids_reason_name(HUB_IDS_OK), "ok");
    CU_ASSERT_STRING_EQUAL(hub_ids_reason_name(HUB_IDS_LENGTH), "length");
    CU_ASSERT_STRING_EQUAL(hub_ids_reason_name(HUB_IDS_CHARSET), "charset");
    CU_ASSERT_STRING_EQUAL(hub_ids_reason_name(HUB_IDS_AREA), "area");
    CU_ASSERT_STRING_EQUAL(hub_ids_reason_name(HUB_IDS_BIRTHDATE), "birthdate");
    CU_ASSERT_STRING_EQUAL(hub_ids_reason_name(HUB_IDS_CHECK), "check");
    CU_ASSERT_STRING_EQUAL(hub_ids_reason_name(HUB_IDS_SCIENTIFIC), "scientific");
    CU_ASSERT_STRING_EQUAL(hub_ids_reason_name(HUB_IDS_NOT_ID), "not_id");
    CU_ASSERT_STRING_EQUAL(hub_ids_reason_name(HUB_IDS_DATE), "date");
    CU_ASSERT_STRING_EQUAL(hub_ids_reason_name(HUB_IDS_FORMAT), "format");
    CU_ASSERT_STRING_EQUAL(hub_ids_reason_name((hub_ids_reason_t) 10), "unknown");
    CU_ASSERT_STRING_EQUAL(hub_ids_reason_name((hub_ids_reason_t) -1), "unknown");
}

static void
test_details_are_truncated_to_the_buffer_given(void)
{
    char tiny[12];
    memset(tiny, 'z', sizeof tiny);
    CU_ASSERT_EQUAL(hub_cid_check("513431201001050018", 18, tiny, sizeof tiny), HUB_IDS_CHECK);
    CU_ASSERT_STRING_EQUAL(tiny, "check chara");

    char one[1] = {'z'};
    CU_ASSERT_EQUAL(hub_uscc_check("914403001922038217", 18, one, sizeof one), HUB_IDS_CHECK);
    CU_ASSERT_EQUAL(one[0], '\0');

    char untouched[4] = "abc";
    CU_ASSERT_EQUAL(hub_phone_check("1", 1, untouched, 0), HUB_IDS_LENGTH);
    CU_ASSERT_STRING_EQUAL(untouched, "abc");
}

// Deterministic xorshift, so a failure replays.
static uint32_t
s_next(uint32_t *state)
{
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    return x;
}

// Random values built from the pieces real cells are made of.
static size_t
s_random_value(uint32_t *state, char *buf, size_t size)
{
    static const char *const pieces[] = {
        "0",
        "1",
        "5",
        "9",
        "X",
        "x",
        "-",
        "+",
        ".",
        "E",
        ":",
        "T",
        "Z",
        " ",
        "G",
        "86",
        "\xEF\xBC\x95",
        "\xEF\xBD\x98",
        "\xE3\x80\x80",
        "\xEF\xBC",
        "\xFF",
        "\x00",
        "513431",
        "19800101",
        "2026-01-01",
        "0834",
    };
    size_t len = 0;
    size_t count = s_next(state) % 12;
    for (size_t i = 0; i < count; i++) {
        const char *p = pieces[s_next(state) % S_COUNT(pieces)];
        size_t n = p[0] ? strlen(p) : 1;
        if (len + n > size) {
            break;
        }
        memcpy(buf + len, p, n);
        len += n;
    }
    return len;
}

static void
s_check_everything(const char *s, size_t len, bool *ok)
{
    static const s_checker_fn checkers[] = {
        hub_cid_check,           hub_uscc_check,  hub_student_no_check, hub_division_check,
        hub_disability_no_check, hub_phone_check, hub_icd10_check,
    };
    char detail[HUB_IDS_DETAIL_MAX];
    for (size_t i = 0; i < S_COUNT(checkers); i++) {
        checkers[i](s, len, detail, sizeof detail);
        *ok = *ok && strlen(detail) < sizeof detail;
    }
    char cid[19];
    if (hub_cid_normalize(s, len, cid, detail, sizeof detail) == HUB_IDS_OK) {
        *ok = *ok && hub_cid_check(cid, 18, NULL, 0) == HUB_IDS_OK;
    }
    char phone[24];
    char again[24];
    if (hub_phone_normalize(s, len, phone, sizeof phone, detail, sizeof detail) == HUB_IDS_OK) {
        *ok = *ok &&
              hub_phone_normalize(phone, strlen(phone), again, sizeof again, NULL, 0) == HUB_IDS_OK;
        *ok = *ok && strcmp(phone, again) == 0;
    }
    (void) hub_date_check(s, len, NULL, NULL, NULL);
    (void) hub_yearmonth_check(s, len);
    (void) hub_datetime_check(s, len);
    (void) hub_msg_id_valid(s, len);
}

static void
test_every_function_survives_arbitrary_bytes(void)
{
    uint32_t state = 2463534242u;
    bool ok = true;
    char value[64];
    for (int i = 0; i < 50000; i++) {
        size_t len = s_random_value(&state, value, sizeof value);
        char *buf = s_exact(value, len);
        s_check_everything(buf, len, &ok);
        free(buf);
    }
    CU_ASSERT_TRUE(ok);
}

void
test_ids_register(void);

void
test_ids_register(void)
{
    CU_pSuite suite = CU_add_suite("ids", NULL, NULL);
    if (!suite) {
        return;
    }
    CU_add_test(suite, "valid citizen IDs pass the check", test_valid_citizen_ids_pass_the_check);
    CU_add_test(suite, "invalid citizen IDs are rejected with a reason",
                test_invalid_citizen_ids_are_rejected_with_a_reason);
    CU_add_test(suite, "the check character comes from the first 17 digits",
                test_the_check_character_comes_from_the_first_17_digits);
    CU_add_test(suite, "the sequence digit tells the sex", test_the_sequence_digit_tells_the_sex);
    CU_add_test(suite, "messy citizen IDs are normalised", test_messy_citizen_ids_are_normalised);
    CU_add_test(suite, "unrepairable citizen IDs are refused",
                test_unrepairable_citizen_ids_are_refused);
    CU_add_test(suite, "normalising a NULL citizen ID is a length error",
                test_normalising_a_null_citizen_id_is_a_length_error);
    CU_add_test(suite, "credit codes are checked", test_credit_codes_are_checked);
    CU_add_test(suite, "student numbers are checked", test_student_numbers_are_checked);
    CU_add_test(suite, "division codes are checked", test_division_codes_are_checked);
    CU_add_test(suite, "disability numbers are checked", test_disability_numbers_are_checked);
    CU_add_test(suite, "phone numbers are checked", test_phone_numbers_are_checked);
    CU_add_test(suite, "phone numbers are normalised", test_phone_numbers_are_normalised);
    CU_add_test(suite, "ICD-10 codes are checked", test_icd10_codes_are_checked);
    CU_add_test(suite, "dates are checked", test_dates_are_checked);
    CU_add_test(suite, "year-months are checked", test_year_months_are_checked);
    CU_add_test(suite, "datetimes are checked", test_datetimes_are_checked);
    CU_add_test(suite, "real calendar dates are recognised",
                test_real_calendar_dates_are_recognised);
    CU_add_test(suite, "day numbers count from 1970", test_day_numbers_count_from_1970);
    CU_add_test(suite, "message ids are checked", test_message_ids_are_checked);
    CU_add_test(suite, "reason names are stable", test_reason_names_are_stable);
    CU_add_test(suite, "details are truncated to the buffer given",
                test_details_are_truncated_to_the_buffer_given);
    CU_add_test(suite, "every function survives arbitrary bytes",
                test_every_function_survives_arbitrary_bytes);
}
