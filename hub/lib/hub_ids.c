// hub_ids: the domain's identifiers and value formats. Everything here runs
// in the validation hot path, so: no allocation, no locale (the ctype.h
// functions change meaning with LC_CTYPE), no regex, one pass over the bytes,
// and a detail sentence is formatted only when there is a failure to explain.
#include "hub_ids.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#if defined(__GNUC__)
#define S_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define S_PRINTF(f, a)
#endif

#define S_YEAR_MIN 1880
#define S_YEAR_MAX 2199

// Longest decoded citizen ID worth keeping: the 20-character disability
// number; anything longer is only counted, for the length message.
#define S_CID_BUF 20

// Most digits kept from a phone cell: the longest real one, "0086" + a
// 3-digit area code without its 0 + 8 digits, is 15; past 20 it is not a phone.
#define S_PHONE_DIGITS 20

static const char s_scientific_text[] =
    "scientific notation: the cell was formatted as a number; re-export the column as text";

static const char s_disability_text[] =
    "looks like a disability certificate number (ID + category + grade), not a citizen ID";

static const unsigned char s_cid_weights[17] = {7, 9, 10, 5,  8, 4, 2, 1, 6,
                                                3, 7, 9,  10, 5, 8, 4, 2};

static const unsigned char s_uscc_weights[17] = {1,  3,  9,  27, 19, 26, 16, 17, 20,
                                                 29, 25, 13, 8,  24, 10, 30, 28};

static const char s_uscc_chars[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";

// Value + 1 of each character of a credit code; 0 marks a forbidden byte.
static const unsigned char s_uscc_value[256] = {
    ['0'] = 1,  ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,  ['6'] = 7,  ['7'] = 8,
    ['8'] = 9,  ['9'] = 10, ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
    ['G'] = 17, ['H'] = 18, ['J'] = 19, ['K'] = 20, ['L'] = 21, ['M'] = 22, ['N'] = 23, ['P'] = 24,
    ['Q'] = 25, ['R'] = 26, ['T'] = 27, ['U'] = 28, ['W'] = 29, ['X'] = 30, ['Y'] = 31,
};

// Province codes (GB/T 2260 first two digits): bit U of entry T is set when
// "TU" is a province, i.e. 11-15, 21-23, 31-37, 41-46, 50-54, 61-65, 71, 81, 82,
// and 83 (the residence permits of Taiwan residents use 830000).
static const unsigned short s_provinces[10] = {
    0, 0x3E, 0x0E, 0xFE, 0x7E, 0x1F, 0x3E, 0x02, 0x0E, 0,
};

static const char *const s_reason_names[] = {
    [HUB_IDS_OK] = "ok",
    [HUB_IDS_LENGTH] = "length",
    [HUB_IDS_CHARSET] = "charset",
    [HUB_IDS_AREA] = "area",
    [HUB_IDS_BIRTHDATE] = "birthdate",
    [HUB_IDS_CHECK] = "check",
    [HUB_IDS_SCIENTIFIC] = "scientific",
    [HUB_IDS_NOT_ID] = "not_id",
    [HUB_IDS_DATE] = "date",
    [HUB_IDS_FORMAT] = "format",
};

// ---------------------------------------------------------------------------
// Small helpers

static bool
s_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool
s_is_upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

static bool
s_all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!s_is_digit(s[i])) {
            return false;
        }
    }
    return true;
}

// The number written by N digits at S (the caller has checked they are digits).
static int
s_number(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static bool
s_is_province(const char *s)
{
    return (s_provinces[s[0] - '0'] >> (s[1] - '0')) & 1u;
}

static hub_ids_reason_t
s_ok(char *detail, size_t size)
{
    if (detail && size > 0) {
        detail[0] = '\0';
    }
    return HUB_IDS_OK;
}

static hub_ids_reason_t
s_fail(char *detail, size_t size, hub_ids_reason_t reason, const char *fmt, ...) S_PRINTF(4, 5);

static hub_ids_reason_t
s_fail(char *detail, size_t size, hub_ids_reason_t reason, const char *fmt, ...)
{
    if (detail && size > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(detail, size, fmt, ap);
        va_end(ap);
    }
    return reason;
}

// Names byte C found at 1-based POS where EXPECTED was wanted. Non-printable
// and non-ASCII bytes are shown in hex so the sentence stays readable ASCII.
static hub_ids_reason_t
s_bad_char(char *detail, size_t size, char c, size_t pos, const char *expected)
{
    unsigned char u = (unsigned char) c;
    if (u == ' ') {
        return s_fail(detail, size, HUB_IDS_CHARSET,
                      "a space at position %zu is not allowed: expected %s", pos, expected);
    }
    if (u > 0x20 && u < 0x7F) {
        return s_fail(detail, size, HUB_IDS_CHARSET,
                      "character '%c' at position %zu is not allowed: expected %s", c, pos,
                      expected);
    }
    return s_fail(detail, size, HUB_IDS_CHARSET,
                  "byte 0x%02X at position %zu is not allowed: expected %s", u, pos, expected);
}

// First non-digit of S[0..N) as a charset failure; OK when all are digits.
// OFFSET is added to positions, for fields inside a longer value.
static hub_ids_reason_t
s_digits_or_fail(const char *s, size_t n, size_t offset, char *detail, size_t size)
{
    for (size_t i = 0; i < n; i++) {
        if (!s_is_digit(s[i])) {
            return s_bad_char(detail, size, s[i], offset + i + 1, "a digit");
        }
    }
    return HUB_IDS_OK;
}

static hub_ids_reason_t
s_province_or_fail(const char *s, char *detail, size_t size)
{
    if (!s_is_province(s)) {
        return s_fail(detail, size, HUB_IDS_AREA, "area code %c%c is not a province", s[0], s[1]);
    }
    return HUB_IDS_OK;
}

static bool
s_year_in_range(int y)
{
    return y >= S_YEAR_MIN && y <= S_YEAR_MAX;
}

// ---------------------------------------------------------------------------
// Citizen ID

char
hub_cid_check_char(const char d[17])
{
    assert(d);
    unsigned sum = 0;
    for (size_t i = 0; i < 17; i++) {
        unsigned v = (unsigned) (unsigned char) d[i] - '0';
        if (v > 9) {
            return '?';
        }
        sum += v * s_cid_weights[i];
    }
    return "10X98765432"[sum % 11];
}

bool
hub_cid_is_male(const char cid[18])
{
    assert(cid);
    return s_is_digit(cid[16]) && ((cid[16] - '0') & 1);
}

static hub_ids_reason_t
s_cid_birth_date(const char *s, char *detail, size_t size)
{
    int y = s_number(s + 6, 4);
    if (!s_year_in_range(y)) {
        return s_fail(detail, size, HUB_IDS_BIRTHDATE, "birth year %d is outside %d..%d", y,
                      S_YEAR_MIN, S_YEAR_MAX);
    }
    if (!hub_date_valid(y, s_number(s + 10, 2), s_number(s + 12, 2))) {
        return s_fail(detail, size, HUB_IDS_BIRTHDATE, "birth date %.8s is not a real date", s + 6);
    }
    return HUB_IDS_OK;
}

hub_ids_reason_t
hub_cid_check(const char *s, size_t len, char *detail, size_t detail_size)
{
    if (!s || len != 18) {
        return s_fail(detail, detail_size, HUB_IDS_LENGTH, "18 characters expected, got %zu",
                      s ? len : 0);
    }
    hub_ids_reason_t r = s_digits_or_fail(s, 17, 0, detail, detail_size);
    if (r == HUB_IDS_OK && !s_is_digit(s[17]) && s[17] != 'X') {
        r = s_bad_char(detail, detail_size, s[17], 18, "a digit or upper-case X");
    }
    if (r == HUB_IDS_OK) {
        r = s_province_or_fail(s, detail, detail_size);
    }
    if (r == HUB_IDS_OK) {
        r = s_cid_birth_date(s, detail, detail_size);
    }
    if (r != HUB_IDS_OK) {
        return r;
    }
    char want = hub_cid_check_char(s);
    if (s[17] != want) {
        return s_fail(detail, detail_size, HUB_IDS_CHECK, "check character is %c, expected %c",
                      s[17], want);
    }
    return s_ok(detail, detail_size);
}

// Bytes taken by a space at the start of S: 1 for ASCII white space, 3 for
// U+3000 IDEOGRAPHIC SPACE, 0 for anything else.
static size_t
s_space_at_start(const char *s, size_t len)
{
    if (len >= 1 && (s[0] == ' ' || (s[0] >= '\t' && s[0] <= '\r'))) {
        return 1;
    }
    if (len >= 3 && memcmp(s, "\xE3\x80\x80", 3) == 0) {
        return 3;
    }
    return 0;
}

// Same as s_space_at_start, for a space that ends S.
static size_t
s_space_at_end(const char *s, size_t len)
{
    if (len >= 1 && (s[len - 1] == ' ' || (s[len - 1] >= '\t' && s[len - 1] <= '\r'))) {
        return 1;
    }
    if (len >= 3 && memcmp(s + len - 3, "\xE3\x80\x80", 3) == 0) {
        return 3;
    }
    return 0;
}

static void
s_trim(const char **s, size_t *len)
{
    size_t n;
    while ((n = s_space_at_start(*s, *len)) > 0) {
        *s += n;
        *len -= n;
    }
    while ((n = s_space_at_end(*s, *len)) > 0) {
        *len -= n;
    }
}

// True for what Excel shows when an ID cell is a number: "5.13431E+17".
static bool
s_is_scientific(const char *s, size_t len)
{
    size_t i = 0;
    size_t mantissa = 0;
    for (; i < len && s_is_digit(s[i]); i++) {
        mantissa++;
    }
    if (i < len && s[i] == '.') {
        for (i++; i < len && s_is_digit(s[i]); i++) {
            mantissa++;
        }
    }
    if (mantissa == 0 || i >= len || (s[i] != 'E' && s[i] != 'e')) {
        return false;
    }
    i++;
    if (i < len && (s[i] == '+' || s[i] == '-')) {
        i++;
    }
    size_t exponent = i;
    while (i < len && s_is_digit(s[i])) {
        i++;
    }
    return i > exponent && i == len;
}

// Decodes one ID character at S into *OUT: ASCII digits, x/X, full-width
// digits (EF BC 90..99) and full-width X/x (EF BC B8, EF BD 98). Returns the
// bytes used, 0 when S does not start with one of those.
static size_t
s_cid_decode_char(const char *s, size_t len, char *out)
{
    if (s_is_digit(s[0]) || s[0] == 'X' || s[0] == 'x') {
        *out = s[0] == 'x' ? 'X' : s[0];
        return 1;
    }
    if (len < 3 || s[0] != '\xEF') {
        return 0;
    }
    unsigned char b2 = (unsigned char) s[2];
    if (s[1] == '\xBC' && b2 >= 0x90 && b2 <= 0x99) {
        *out = (char) ('0' + (b2 - 0x90));
        return 3;
    }
    if ((s[1] == '\xBC' && b2 == 0xB8) || (s[1] == '\xBD' && b2 == 0x98)) {
        *out = 'X';
        return 3;
    }
    return 0;
}

// Explains why byte I (character number POS) of an ID cell is unusable.
static hub_ids_reason_t
s_cid_bad_input(const char *s, size_t i, size_t pos, char *detail, size_t size)
{
    if (s[i] == '.') {
        return s_fail(detail, size, HUB_IDS_CHARSET,
                      "'.' at position %zu: the cell was formatted as a number; re-export the "
                      "column as text",
                      pos);
    }
    if ((unsigned char) s[i] >= 0x80) {
        return s_fail(detail, size, HUB_IDS_CHARSET,
                      "a non-ASCII character at position %zu is not allowed: expected a digit or X",
                      pos);
    }
    return s_bad_char(detail, size, s[i], pos, "a digit or X");
}

// Decodes S into BUF (S_CID_BUF bytes kept) and counts characters into *N.
static hub_ids_reason_t
s_cid_decode(const char *s, size_t len, char *buf, size_t *n, char *detail, size_t size)
{
    size_t i = 0;
    size_t k = 0;
    while (i < len) {
        char c = 0;
        size_t used = s_cid_decode_char(s + i, len - i, &c);
        if (used == 0) {
            return s_cid_bad_input(s, i, k + 1, detail, size);
        }
        if (k < S_CID_BUF) {
            buf[k] = c;
        }
        k++;
        i += used;
    }
    *n = k;
    return HUB_IDS_OK;
}

// A legacy 15-digit ID: year 19xx, no check character.
static hub_ids_reason_t
s_cid_from15(const char *d, char *out, char *detail, size_t size)
{
    for (size_t i = 0; i < 15; i++) {
        if (!s_is_digit(d[i])) {
            return s_fail(detail, size, HUB_IDS_CHARSET,
                          "'X' at position %zu: a 15-digit legacy ID holds digits only", i + 1);
        }
    }
    memcpy(out, d, 6);
    memcpy(out + 6, "19", 2);
    memcpy(out + 8, d + 6, 9);
    out[17] = hub_cid_check_char(out);
    out[18] = '\0';
    hub_ids_reason_t r = hub_cid_check(out, 18, detail, size);
    if (r != HUB_IDS_OK) {
        out[0] = '\0';
    }
    return r;
}

hub_ids_reason_t
hub_cid_normalize(const char *in, size_t in_len, char out[19], char *detail, size_t detail_size)
{
    assert(out);
    out[0] = '\0';
    if (!in) {
        in_len = 0;
    }
    s_trim(&in, &in_len);
    if (s_is_scientific(in, in_len)) {
        return s_fail(detail, detail_size, HUB_IDS_SCIENTIFIC, "%s", s_scientific_text);
    }
    char buf[S_CID_BUF] = {0};
    size_t n = 0;
    hub_ids_reason_t r = s_cid_decode(in, in_len, buf, &n, detail, detail_size);
    if (r != HUB_IDS_OK) {
        return r;
    }
    if (n == 15) {
        return s_cid_from15(buf, out, detail, detail_size);
    }
    if (n == 20 && hub_disability_no_check(buf, n, NULL, 0) == HUB_IDS_OK) {
        return s_fail(detail, detail_size, HUB_IDS_NOT_ID, "%s", s_disability_text);
    }
    if (n != 18) {
        return s_fail(detail, detail_size, HUB_IDS_LENGTH,
                      "18 characters expected (or 15 for a legacy ID), got %zu", n);
    }
    r = hub_cid_check(buf, n, detail, detail_size);
    if (r == HUB_IDS_OK) {
        memcpy(out, buf, 18);
        out[18] = '\0';
    }
    return r;
}

// ---------------------------------------------------------------------------
// Other identifiers

hub_ids_reason_t
hub_uscc_check(const char *s, size_t len, char *detail, size_t detail_size)
{
    if (!s || len != 18) {
        return s_fail(detail, detail_size, HUB_IDS_LENGTH, "18 characters expected, got %zu",
                      s ? len : 0);
    }
    unsigned sum = 0;
    for (size_t i = 0; i < 18; i++) {
        if (s_uscc_value[(unsigned char) s[i]] == 0) {
            return s_bad_char(detail, detail_size, s[i], i + 1,
                              "a digit or upper-case letter other than I, O, S, V, Z");
        }
        if (i < 17) {
            sum += (s_uscc_value[(unsigned char) s[i]] - 1u) * s_uscc_weights[i];
        }
    }
    unsigned want = (31 - sum % 31) % 31;
    if (s_uscc_value[(unsigned char) s[17]] - 1u != want) {
        return s_fail(detail, detail_size, HUB_IDS_CHECK, "check character is %c, expected %c",
                      s[17], s_uscc_chars[want]);
    }
    return s_ok(detail, detail_size);
}

// Runs hub_cid_check on the 18 characters at S and, on failure, writes its
// sentence after PREFIX so the reader knows which part of the value is meant.
static hub_ids_reason_t
s_embedded_cid(const char *s, const char *prefix, char *detail, size_t size)
{
    char inner[HUB_IDS_DETAIL_MAX];
    bool want_detail = detail && size > 0;
    hub_ids_reason_t r = hub_cid_check(s, 18, want_detail ? inner : NULL, sizeof inner);
    if (r != HUB_IDS_OK) {
        return s_fail(detail, size, r, "%s: %s", prefix, inner);
    }
    return HUB_IDS_OK;
}

// The 18 characters after 'J' (ID-style: digits, a final X allowed) or 'L'
// (temporary: digits and upper-case letters). S is the whole number.
static hub_ids_reason_t
s_student_body(const char *s, char *detail, size_t size)
{
    bool temporary = s[0] == 'L';
    for (size_t i = 1; i < 19; i++) {
        if (s_is_digit(s[i]) || (temporary && s_is_upper(s[i]))) {
            continue;
        }
        if (!temporary && i == 18 && s[i] == 'X') {
            continue;
        }
        const char *expected = i == 18 ? "a digit or X" : "a digit";
        if (temporary) {
            expected = "a digit or upper-case letter";
        }
        return s_bad_char(detail, size, s[i], i + 1, expected);
    }
    return HUB_IDS_OK;
}

hub_ids_reason_t
hub_student_no_check(const char *s, size_t len, char *detail, size_t detail_size)
{
    if (!s || len != 19) {
        return s_fail(detail, detail_size, HUB_IDS_LENGTH, "19 characters expected, got %zu",
                      s ? len : 0);
    }
    hub_ids_reason_t r;
    if (s[0] == 'G') {
        r = s_embedded_cid(s + 1, "the citizen ID after G", detail, detail_size);
    } else if (s[0] == 'J' || s[0] == 'L') {
        r = s_student_body(s, detail, detail_size);
    } else {
        r = s_bad_char(detail, detail_size, s[0], 1, "G, J or L");
    }
    return r != HUB_IDS_OK ? r : s_ok(detail, detail_size);
}

hub_ids_reason_t
hub_division_check(const char *s, size_t len, char *detail, size_t detail_size)
{
    if (!s || (len != 6 && len != 9 && len != 12)) {
        return s_fail(detail, detail_size, HUB_IDS_LENGTH, "6, 9 or 12 digits expected, got %zu",
                      s ? len : 0);
    }
    hub_ids_reason_t r = s_digits_or_fail(s, len, 0, detail, detail_size);
    if (r == HUB_IDS_OK) {
        r = s_province_or_fail(s, detail, detail_size);
    }
    return r != HUB_IDS_OK ? r : s_ok(detail, detail_size);
}

hub_ids_reason_t
hub_disability_no_check(const char *s, size_t len, char *detail, size_t detail_size)
{
    if (!s || len != 20) {
        return s_fail(detail, detail_size, HUB_IDS_LENGTH, "20 characters expected, got %zu",
                      s ? len : 0);
    }
    hub_ids_reason_t r = s_embedded_cid(s, "the citizen ID part", detail, detail_size);
    if (r != HUB_IDS_OK) {
        return r;
    }
    if (s[18] < '1' || s[18] > '7') {
        return s_bad_char(detail, detail_size, s[18], 19, "a disability category 1..7");
    }
    if (s[19] < '1' || s[19] > '4') {
        return s_bad_char(detail, detail_size, s[19], 20, "a disability grade 1..4");
    }
    return s_ok(detail, detail_size);
}

// ---------------------------------------------------------------------------
// Phone

// Length of the area code, leading 0 included, of a landline starting at S.
static size_t
s_area_code_len(const char *s, size_t len)
{
    if ((len >= 3 && s[1] == '1' && s[2] == '0') || (len >= 2 && s[1] == '2')) {
        return 3;
    }
    return 4;
}

static hub_ids_reason_t
s_mobile_check(const char *s, size_t len, char *detail, size_t size)
{
    if (len != 11) {
        return s_fail(detail, size, HUB_IDS_LENGTH,
                      "11 digits expected for a mobile number, got %zu", len);
    }
    hub_ids_reason_t r = s_digits_or_fail(s, len, 0, detail, size);
    if (r == HUB_IDS_OK && (s[1] < '3' || s[1] > '9')) {
        r = s_fail(detail, size, HUB_IDS_FORMAT, "a mobile number starts with 13 to 19, not 1%c",
                   s[1]);
    }
    return r;
}

static hub_ids_reason_t
s_landline_check(const char *s, size_t len, char *detail, size_t size)
{
    size_t area = s_area_code_len(s, len);
    if (len <= area) {
        return s_fail(detail, size, HUB_IDS_LENGTH, "a landline needs an area code and a number");
    }
    if (memchr(s, '-', area)) {
        return s_fail(detail, size, HUB_IDS_FORMAT,
                      "the area code has %zu digits here (3 only for 010 and 02x), then '-'", area);
    }
    hub_ids_reason_t r = s_digits_or_fail(s, area, 0, detail, size);
    // 00 is the international prefix, and 010 is the only code under 01.
    if (r == HUB_IDS_OK && (s[1] == '0' || (s[1] == '1' && s[2] != '0'))) {
        r = s_fail(detail, size, HUB_IDS_AREA, "area code %.*s does not exist", (int) area, s);
    }
    if (r == HUB_IDS_OK && s[area] != '-') {
        r = s_fail(detail, size, HUB_IDS_FORMAT, "expected '-' after the area code %.*s",
                   (int) area, s);
    }
    if (r != HUB_IDS_OK) {
        return r;
    }
    size_t rest = len - area - 1;
    if (rest < 7 || rest > 8) {
        return s_fail(detail, size, HUB_IDS_LENGTH,
                      "7 or 8 digits expected after the area code, got %zu", rest);
    }
    return s_digits_or_fail(s + area + 1, rest, area + 1, detail, size);
}

hub_ids_reason_t
hub_phone_check(const char *s, size_t len, char *detail, size_t detail_size)
{
    hub_ids_reason_t r;
    if (!s || len == 0) {
        r = s_fail(detail, detail_size, HUB_IDS_LENGTH, "the phone number is empty");
    } else if (s[0] == '1') {
        r = s_mobile_check(s, len, detail, detail_size);
    } else if (s[0] == '0') {
        r = s_landline_check(s, len, detail, detail_size);
    } else {
        r = s_fail(detail, detail_size, HUB_IDS_FORMAT,
                   "a phone number starts with 1 (mobile) or 0 (landline area code); add the area "
                   "code to a landline");
    }
    return r != HUB_IDS_OK ? r : s_ok(detail, detail_size);
}

// One phone character at S: a digit (ASCII or full-width) into *DIGIT, or a
// separator to drop (white space, U+3000, '-', U+FF0D), or '+' / U+FF0B into
// *PLUS. Returns the bytes used, 0 for anything else.
static size_t
s_phone_char(const char *s, size_t len, char *digit, bool *plus)
{
    *digit = s_is_digit(s[0]) ? s[0] : 0;
    *plus = s[0] == '+';
    if (*digit || *plus || s[0] == '-') {
        return 1;
    }
    size_t space = s_space_at_start(s, len);
    if (space > 0) {
        return space;
    }
    if (len < 3 || s[0] != '\xEF' || s[1] != '\xBC') {
        return 0;
    }
    unsigned char b2 = (unsigned char) s[2];
    if (b2 >= 0x90 && b2 <= 0x99) {
        *digit = (char) ('0' + (b2 - 0x90));
    }
    *plus = b2 == 0x8B;
    return (*digit || *plus || b2 == 0x8D) ? 3 : 0;
}

// Collects the digits of IN into DIGITS; *PLUS tells whether a '+' led them.
static hub_ids_reason_t
s_phone_digits(const char *in, size_t len, char *digits, size_t *n, bool *plus, char *detail,
               size_t size)
{
    size_t k = 0;
    for (size_t i = 0, pos = 1; i < len; pos++) {
        char d;
        bool p;
        size_t used = s_phone_char(in + i, len - i, &d, &p);
        if (used == 0 || (p && (*plus || k > 0))) {
            return s_bad_char(detail, size, in[i], pos, "a digit, a space or '-'");
        }
        if (d && k == S_PHONE_DIGITS) {
            return s_fail(detail, size, HUB_IDS_LENGTH, "more than %d digits: not a phone number",
                          S_PHONE_DIGITS);
        }
        if (d) {
            digits[k++] = d;
        }
        *plus = *plus || p;
        i += used;
    }
    *n = k;
    return HUB_IDS_OK;
}

// Drops "+86" / "0086" from DIGITS and puts back the trunk 0 that the
// international form leaves off landlines (+86 834 … is 0834 …).
static hub_ids_reason_t
s_phone_national(char *digits, size_t *n, bool plus, char *detail, size_t size)
{
    size_t drop = 0;
    if (plus && (*n < 2 || digits[0] != '8' || digits[1] != '6')) {
        return s_fail(detail, size, HUB_IDS_FORMAT, "only Chinese numbers (+86) are accepted");
    }
    if (plus) {
        drop = 2;
    } else if (*n > 4 && memcmp(digits, "0086", 4) == 0) {
        drop = 4;
    }
    if (drop == 0) {
        return HUB_IDS_OK;
    }
    *n -= drop;
    memmove(digits, digits + drop, *n);
    bool landline =
        *n > 0 && (digits[0] >= '2' || (*n > 1 && digits[0] == '1' && digits[1] == '0'));
    if (landline) {
        memmove(digits + 1, digits, *n);
        digits[0] = '0';
        (*n)++;
    }
    return HUB_IDS_OK;
}

hub_ids_reason_t
hub_phone_normalize(const char *in, size_t in_len, char *out, size_t out_size, char *detail,
                    size_t detail_size)
{
    assert(out && out_size >= 24);
    if (out_size > 0) {
        out[0] = '\0';
    }
    char digits[S_PHONE_DIGITS + 2] = {0};
    size_t n = 0;
    bool plus = false;
    hub_ids_reason_t r =
        s_phone_digits(in ? in : "", in ? in_len : 0, digits, &n, &plus, detail, detail_size);
    if (r == HUB_IDS_OK) {
        r = s_phone_national(digits, &n, plus, detail, detail_size);
    }
    if (r != HUB_IDS_OK) {
        return r;
    }
    // A mobile dialled with the old long-distance 0 in front: 0 138 …
    size_t from = (n == 12 && digits[0] == '0' && digits[1] == '1' && digits[2] >= '3') ? 1 : 0;
    char canon[S_PHONE_DIGITS + 3];
    size_t len = 0;
    size_t area = digits[from] == '0' ? s_area_code_len(digits + from, n - from) : 0;
    for (size_t i = from; i < n; i++) {
        if (area > 0 && i - from == area) {
            canon[len++] = '-';
        }
        canon[len++] = digits[i];
    }
    r = hub_phone_check(canon, len, detail, detail_size);
    if (r == HUB_IDS_OK && len >= out_size) {
        r = s_fail(detail, detail_size, HUB_IDS_LENGTH, "output buffer too small");
    }
    if (r == HUB_IDS_OK) {
        memcpy(out, canon, len);
        out[len] = '\0';
    }
    return r;
}

// ---------------------------------------------------------------------------
// ICD-10, dates, message ids

hub_ids_reason_t
hub_icd10_check(const char *s, size_t len, char *detail, size_t detail_size)
{
    if (!s || len < 3 || len > 8) {
        return s_fail(detail, detail_size, HUB_IDS_LENGTH, "3 to 8 characters expected, got %zu",
                      s ? len : 0);
    }
    if (!s_is_upper(s[0])) {
        return s_bad_char(detail, detail_size, s[0], 1, "an upper-case letter");
    }
    hub_ids_reason_t r = s_digits_or_fail(s + 1, 2, 1, detail, detail_size);
    if (r == HUB_IDS_OK && len > 3 && s[3] != '.') {
        r = s_fail(detail, detail_size, HUB_IDS_FORMAT, "expected '.' after %.3s, as in J18.9", s);
    }
    if (r == HUB_IDS_OK && len == 4) {
        r = s_fail(detail, detail_size, HUB_IDS_FORMAT, "nothing after the '.'; write %.3s alone",
                   s);
    }
    for (size_t i = 4; r == HUB_IDS_OK && i < len; i++) {
        if (!s_is_digit(s[i]) && !s_is_upper(s[i])) {
            r = s_bad_char(detail, detail_size, s[i], i + 1, "a digit or upper-case letter");
        }
    }
    return r != HUB_IDS_OK ? r : s_ok(detail, detail_size);
}

static int
s_days_in_month(int y, int m)
{
    static const unsigned char days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return days[m - 1] + (m == 2 && leap);
}

bool
hub_date_valid(int y, int m, int d)
{
    return m >= 1 && m <= 12 && d >= 1 && d <= s_days_in_month(y, m);
}

int64_t
hub_date_days(int y, int m, int d)
{
    // Howard Hinnant's days_from_civil: March-based years put the leap day
    // last, so each 400-year era is the same 146097 days. int64_t throughout
    // keeps any int argument free of overflow.
    int64_t yy = (int64_t) y - (m <= 2);
    int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
    int64_t yoe = yy - era * 400;
    int64_t mp = ((int64_t) m + 9) % 12;
    int64_t doy = (153 * mp + 2) / 5 + (int64_t) d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

// True when the two digits at S (already checked) write at most MAX.
static bool
s_at_most(const char *s, int max)
{
    return s_number(s, 2) <= max;
}

hub_ids_reason_t
hub_date_check(const char *s, size_t len, int *y, int *m, int *d)
{
    if (!s || len != 10 || !s_all_digits(s, 4) || s[4] != '-' || !s_all_digits(s + 5, 2) ||
        s[7] != '-' || !s_all_digits(s + 8, 2)) {
        return HUB_IDS_FORMAT;
    }
    int yy = s_number(s, 4);
    int mm = s_number(s + 5, 2);
    int dd = s_number(s + 8, 2);
    if (!s_year_in_range(yy) || !hub_date_valid(yy, mm, dd)) {
        return HUB_IDS_DATE;
    }
    if (y) {
        *y = yy;
    }
    if (m) {
        *m = mm;
    }
    if (d) {
        *d = dd;
    }
    return HUB_IDS_OK;
}

hub_ids_reason_t
hub_yearmonth_check(const char *s, size_t len)
{
    if (!s || len != 7 || !s_all_digits(s, 4) || s[4] != '-' || !s_all_digits(s + 5, 2)) {
        return HUB_IDS_FORMAT;
    }
    int mm = s_number(s + 5, 2);
    if (!s_year_in_range(s_number(s, 4)) || mm < 1 || mm > 12) {
        return HUB_IDS_DATE;
    }
    return HUB_IDS_OK;
}

// "HH:MM:SS" at S (8 bytes available): FORMAT, DATE for a field out of range.
static hub_ids_reason_t
s_time_check(const char *s)
{
    if (!s_all_digits(s, 2) || s[2] != ':' || !s_all_digits(s + 3, 2) || s[5] != ':' ||
        !s_all_digits(s + 6, 2)) {
        return HUB_IDS_FORMAT;
    }
    if (!s_at_most(s, 23) || !s_at_most(s + 3, 59) || !s_at_most(s + 6, 59)) {
        return HUB_IDS_DATE;
    }
    return HUB_IDS_OK;
}

// What follows the seconds: optional fraction, then "Z" or "+HH:MM"/"-HH:MM".
static hub_ids_reason_t
s_time_tail_check(const char *s, size_t len)
{
    size_t i = 0;
    if (len > 0 && s[0] == '.') {
        for (i = 1; i < len && s_is_digit(s[i]); i++) {
        }
        if (i == 1 || i > 10) {
            return HUB_IDS_FORMAT;
        }
    }
    if (len - i == 1 && s[i] == 'Z') {
        return HUB_IDS_OK;
    }
    if (len - i != 6 || (s[i] != '+' && s[i] != '-') || s[i + 3] != ':' ||
        !s_all_digits(s + i + 1, 2) || !s_all_digits(s + i + 4, 2)) {
        return HUB_IDS_FORMAT;
    }
    if (!s_at_most(s + i + 1, 23) || !s_at_most(s + i + 4, 59)) {
        return HUB_IDS_DATE;
    }
    return HUB_IDS_OK;
}

hub_ids_reason_t
hub_datetime_check(const char *s, size_t len)
{
    if (!s || len < 20) {
        return HUB_IDS_FORMAT;
    }
    hub_ids_reason_t r = hub_date_check(s, 10, NULL, NULL, NULL);
    if (r == HUB_IDS_OK && s[10] != 'T') {
        r = HUB_IDS_FORMAT;
    }
    if (r == HUB_IDS_OK) {
        r = s_time_check(s + 11);
    }
    if (r == HUB_IDS_OK) {
        r = s_time_tail_check(s + 19, len - 19);
    }
    return r;
}

bool
hub_msg_id_valid(const char *s, size_t len)
{
    if (!s || len < 1 || len > 64) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool ok = s_is_digit(c) || s_is_upper(c) || (c >= 'a' && c <= 'z') || c == '.' ||
                  c == '_' || c == ':' || c == '-';
        if (!ok) {
            return false;
        }
    }
    return true;
}

const char *
hub_ids_reason_name(hub_ids_reason_t r)
{
    size_t n = sizeof s_reason_names / sizeof s_reason_names[0];
    if ((size_t) r >= n || !s_reason_names[r]) {
        return "unknown";
    }
    return s_reason_names[r];
}
