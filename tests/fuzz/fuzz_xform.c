// fuzz_xform: the mapping files' value transforms (hub_xform) on arbitrary
// text, as a department's cell reaches them: trimmed, made half-width, then
// read as a date, month, date-time, amount in yuan, integer or yes/no.
//
// Input: the cell's bytes. Each input goes through every transform, as is
// and after hubc_trim + hubc_halfwidth (what hub_map does first).
// Invariants:
//   - trim only narrows, leaves no white space it knows at either end, and
//     trimming again changes nothing; half-width never grows the text and,
//     on valid UTF-8, leaves valid UTF-8 that a second pass does not change;
//   - success: the output is canonical for the hub (hub_date_check,
//     hub_yearmonth_check, hub_datetime_check) and reads back as itself;
//     an amount or integer printed back reads as the same number; the
//     detail is empty;
//   - failure: the reason word of the report and a detail sentence, valid
//     UTF-8 when the cell is;
//   - the same cell gives the same outcome twice (pure functions).
#include "fuzz_util.h"
#include "hub_ids.h"
#include "hub_utf8.h"
#include "hub_xform.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

// The detail of a transform: empty on success; on failure a sentence,
// valid UTF-8 when the cell was.
static void
s_check_detail(const char *why, const char *expect, const char *detail, bool utf8_in)
{
    if (!memchr(detail, '\0', HUBC_XF_DETAIL_MAX)) {
        fu_fail("detail not NUL-terminated");
    }
    if (!why) {
        if (detail[0]) {
            fu_fail("success with a detail: %s", detail);
        }
        return;
    }
    if (strcmp(why, expect) != 0) {
        fu_fail("reason '%s', expected '%s'", why, expect);
    }
    if (!detail[0]) {
        fu_fail("failure '%s' without a detail", why);
    }
    if (utf8_in && !hub_utf8_valid(detail, strlen(detail), NULL)) {
        fu_fail("detail is not valid UTF-8: %s", detail);
    }
}

static bool
s_space_at_start(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *) s;
    return (len >= 1 && (p[0] == ' ' || p[0] == '\t' || p[0] == '\r' || p[0] == '\n')) ||
           (len >= 2 && p[0] == 0xC2 && p[1] == 0xA0) ||
           (len >= 3 && ((p[0] == 0xE3 && p[1] == 0x80 && p[2] == 0x80) ||
                         (p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF)));
}

static bool
s_space_at_end(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *) s;
    return (len >= 1 && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\r' ||
                         p[len - 1] == '\n')) ||
           (len >= 2 && p[len - 2] == 0xC2 && p[len - 1] == 0xA0) ||
           (len >= 3 && ((p[len - 3] == 0xE3 && p[len - 2] == 0x80 && p[len - 1] == 0x80) ||
                         (p[len - 3] == 0xEF && p[len - 2] == 0xBB && p[len - 1] == 0xBF)));
}

static void
s_check_trim(const char *s, size_t len)
{
    const char *t = s;
    size_t n = len;
    hubc_trim(&t, &n);
    if (t < s || t + n > s + len) {
        fu_fail("trim went outside the text");
    }
    if (s_space_at_start(t, n) || s_space_at_end(t, n)) {
        fu_fail("trim left white space at an end");
    }
    const char *t2 = t;
    size_t n2 = n;
    hubc_trim(&t2, &n2);
    if (t2 != t || n2 != n) {
        fu_fail("trimming twice trims more");
    }
}

// A copy of S with room for a NUL, half-width; *N its new length.
static char *
s_halfwidth(const char *s, size_t len, size_t *n)
{
    char *h = fu_need(malloc(len + 1));
    memcpy(h, s, len);
    h[len] = '\0';
    *n = hubc_halfwidth(h, len);
    if (*n > len) {
        fu_fail("half-width grew the text");
    }
    if (hub_utf8_valid(s, len, NULL)) {
        if (!hub_utf8_valid(h, *n, NULL)) {
            fu_fail("half-width broke valid UTF-8");
        }
        if (hubc_halfwidth(h, *n) != *n) {
            fu_fail("half-width twice changes more");
        }
    }
    return h;
}

static void
s_dates(const char *s, size_t len, bool utf8)
{
    char out[11], again[11], detail[HUBC_XF_DETAIL_MAX];
    const char *why = hubc_xf_date(s, len, out, detail, sizeof detail);
    s_check_detail(why, "bad_date", detail, utf8);
    if (!why && (strlen(out) != 10 || hub_date_check(out, 10, NULL, NULL, NULL) != HUB_IDS_OK ||
                 hubc_xf_date(out, 10, again, NULL, 0) || strcmp(out, again) != 0)) {
        fu_fail("date '%s' is not canonical or does not read back", out);
    }
    char ym[8], ym2[8];
    why = hubc_xf_yearmonth(s, len, ym, detail, sizeof detail);
    s_check_detail(why, "bad_date", detail, utf8);
    if (!why && (strlen(ym) != 7 || hub_yearmonth_check(ym, 7) != HUB_IDS_OK ||
                 hubc_xf_yearmonth(ym, 7, ym2, NULL, 0) || strcmp(ym, ym2) != 0)) {
        fu_fail("month '%s' is not canonical or does not read back", ym);
    }
    char dt[32], dt2[32];
    why = hubc_xf_datetime(s, len, dt, detail, sizeof detail);
    s_check_detail(why, "bad_date", detail, utf8);
    if (!why && (hub_datetime_check(dt, strlen(dt)) != HUB_IDS_OK ||
                 hubc_xf_datetime(dt, strlen(dt), dt2, NULL, 0) || strcmp(dt, dt2) != 0)) {
        fu_fail("date-time '%s' is not canonical or does not read back", dt);
    }
    if (!why && (hubc_xf_date(s, len, out, NULL, 0) || strncmp(out, dt, 10) != 0)) {
        fu_fail("date-time '%s' has a date hubc_xf_date does not give", dt);
    }
}

static void
s_numbers(const char *s, size_t len, bool utf8)
{
    char detail[HUBC_XF_DETAIL_MAX], text[32];
    int64_t v, back;
    const char *why = hubc_xf_yuan(s, len, &v, detail, sizeof detail);
    s_check_detail(why, "bad_money", detail, utf8);
    if (!why) {
        uint64_t m = v < 0 ? 0 - (uint64_t) v : (uint64_t) v;
        snprintf(text, sizeof text, "%s%" PRIu64 ".%02u", v < 0 ? "-" : "", m / 100,
                 (unsigned) (m % 100));
        if (hubc_xf_yuan(text, strlen(text), &back, NULL, 0) || back != v) {
            fu_fail("%" PRId64 " fen written as '%s' does not read back", v, text);
        }
    }
    why = hubc_xf_int(s, len, &v, detail, sizeof detail);
    s_check_detail(why, "bad_number", detail, utf8);
    if (!why) {
        snprintf(text, sizeof text, "%" PRId64, v);
        if (hubc_xf_int(text, strlen(text), &back, NULL, 0) || back != v) {
            fu_fail("%" PRId64 " does not read back", v);
        }
    }
    bool b, b2;
    why = hubc_xf_bool(s, len, &b, detail, sizeof detail);
    s_check_detail(why, "bad_value", detail, utf8);
    if (!why && (hubc_xf_bool(s, len, &b2, NULL, 0) || b != b2)) {
        fu_fail("yes/no reads differently twice");
    }
}

static void
s_all(const char *s, size_t len)
{
    bool utf8 = !memchr(s, '\0', len) && hub_utf8_valid(s, len, NULL);
    s_dates(s, len, utf8);
    s_numbers(s, len, utf8);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    // A copy of its own, so that reading past the cell is caught.
    char *cell = fu_need(malloc(size ? size : 1));
    memcpy(cell, data, size);
    s_check_trim(cell, size);
    s_all(cell, size);
    const char *t = cell;
    size_t n = size;
    hubc_trim(&t, &n);
    size_t hn;
    char *h = s_halfwidth(t, n, &hn);
    const char *ht = h;
    hubc_trim(&ht, &hn);
    char *exact = fu_need(malloc(hn ? hn : 1));
    memcpy(exact, ht, hn);
    s_all(exact, hn);
    int y, m, d;
    uint64_t bits = 0; // unsigned: the shift may push bits out
    for (size_t i = 0; i < size && i < 8; i++) {
        bits = bits << 8 | data[i];
    }
    int64_t serial = (int64_t) (bits % 3000000);
    if (hubc_excel_date(serial, &y, &m, &d) && !hub_date_valid(y, m, d)) {
        fu_fail("Excel serial %" PRId64 " gives no real date", serial);
    }
    free(exact);
    free(h);
    free(cell);
    return 0;
}
