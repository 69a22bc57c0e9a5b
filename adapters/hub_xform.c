#include "hub_xform.h"

#include "hub_ids.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

// Excel's serial numbers run from 1 (1900-01-01) to 2958465 (9999-12-31).
#define S_EXCEL_MAX 2958465

// A parsed date-time: date parts, optional time, optional offset.
typedef struct {
    int y, m, d;
    int hh, mi, ss;
    bool has_time;
    char off[7]; // "Z" or "+08:00", "" when none was given
} s_when_t;

static const char *
s_fail(char *detail, size_t size, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static const char *
s_fail(char *detail, size_t size, const char *reason, const char *fmt, ...)
{
    if (detail && size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(detail, size, fmt, ap);
        va_end(ap);
    }
    return reason;
}

static void
s_ok(char *detail, size_t size)
{
    if (detail && size) {
        detail[0] = '\0';
    }
}

// How many bytes of S (LEN) a message shows: at most 40, never cutting a
// UTF-8 character (the report and JSON output must stay valid UTF-8).
static int
s_show(const char *s, size_t len)
{
    size_t n = len < 40 ? len : 40;
    while (n > 0 && n < len && ((unsigned char) s[n] & 0xC0) == 0x80) {
        n--;
    }
    return (int) n;
}

// Writes V (0..99) as two digits at O; returns the end.
static char *
s_two(char *o, int v)
{
    o[0] = (char) ('0' + v / 10 % 10);
    o[1] = (char) ('0' + v % 10);
    return o + 2;
}

// Writes "YYYY-MM-DD" (Y 0..9999) at O, NUL-terminated; returns the end.
static char *
s_ymd(char *o, int y, int m, int d)
{
    o = s_two(s_two(o, y / 100), y % 100);
    *o++ = '-';
    o = s_two(o, m);
    *o++ = '-';
    o = s_two(o, d);
    *o = '\0';
    return o;
}

static bool
s_digit(char c)
{
    return c >= '0' && c <= '9';
}

// True when the UTF-8 WORD is at S[*I]; then *I moves past it.
static bool
s_word(const char *s, size_t len, size_t *i, const char *word)
{
    size_t n = strlen(word);
    if (len - *i >= n && memcmp(s + *i, word, n) == 0) {
        *i += n;
        return true;
    }
    return false;
}

// Reads MIN..MAX digits at S[*I] into *V.
static bool
s_num(const char *s, size_t len, size_t *i, int min, int max, int *v)
{
    int n = 0, x = 0;
    while (*i < len && s_digit(s[*i]) && n < max) {
        x = x * 10 + (s[*i] - '0');
        (*i)++, n++;
    }
    *v = x;
    return n >= min && !(*i < len && s_digit(s[*i]));
}

static bool
s_is_space(const char *s, size_t len, size_t i)
{
    return i < len && (s[i] == ' ' || s[i] == '\t');
}

void
hubc_trim(const char **s, size_t *len)
{
    const unsigned char *p = (const unsigned char *) *s;
    size_t a = 0, b = *len;
    for (;;) {
        if (a < b && (p[a] == ' ' || p[a] == '\t' || p[a] == '\r' || p[a] == '\n')) {
            a++;
        } else if (b - a >= 3 && ((p[a] == 0xE3 && p[a + 1] == 0x80 && p[a + 2] == 0x80) ||
                                  (p[a] == 0xEF && p[a + 1] == 0xBB && p[a + 2] == 0xBF))) {
            a += 3;
        } else if (b - a >= 2 && p[a] == 0xC2 && p[a + 1] == 0xA0) {
            a += 2;
        } else {
            break;
        }
    }
    for (;;) {
        if (b > a &&
            (p[b - 1] == ' ' || p[b - 1] == '\t' || p[b - 1] == '\r' || p[b - 1] == '\n')) {
            b--;
        } else if (b - a >= 3 && ((p[b - 3] == 0xE3 && p[b - 2] == 0x80 && p[b - 1] == 0x80) ||
                                  (p[b - 3] == 0xEF && p[b - 2] == 0xBB && p[b - 1] == 0xBF))) {
            b -= 3;
        } else if (b - a >= 2 && p[b - 2] == 0xC2 && p[b - 1] == 0xA0) {
            b -= 2;
        } else {
            break;
        }
    }
    *s += a;
    *len = b - a;
}

size_t
hubc_halfwidth(char *s, size_t len)
{
    unsigned char *p = (unsigned char *) s;
    size_t r = 0, w = 0;
    while (r < len) {
        // U+FF01..U+FF5E: EF BC 81..BF and EF BD 80..9E; U+3000: E3 80 80.
        if (len - r >= 3 && p[r] == 0xEF && (p[r + 1] == 0xBC || p[r + 1] == 0xBD)) {
            unsigned cp = 0xFF00u | (unsigned) ((p[r + 1] & 0x03) << 6) | (p[r + 2] & 0x3F);
            if (cp >= 0xFF01 && cp <= 0xFF5E && (p[r + 2] & 0xC0) == 0x80) {
                p[w++] = (unsigned char) (cp - 0xFF01 + 0x21);
                r += 3;
                continue;
            }
        } else if (len - r >= 3 && p[r] == 0xE3 && p[r + 1] == 0x80 && p[r + 2] == 0x80) {
            p[w++] = ' ';
            r += 3;
            continue;
        }
        p[w++] = p[r++];
    }
    if (w < len) {
        p[w] = '\0';
    }
    return w;
}

bool
hubc_excel_date(int64_t serial, int *y, int *m, int *d)
{
    if (serial < 1 || serial > S_EXCEL_MAX || serial == 60) {
        return false;
    }
    // Days since 1970-01-01: Excel counts 1900-02-29, which never was, so
    // serials from 61 on are one day behind the calendar's count.
    int64_t z = serial >= 61 ? serial - 25569 : serial - 25568;
    z += 719468; // civil_from_days (H. Hinnant)
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int mm = (int) (mp < 10 ? mp + 3 : mp - 9);
    *d = (int) (doy - (153 * mp + 2) / 5 + 1);
    *m = mm;
    *y = (int) (yoe + era * 400 + (mm <= 2));
    return true;
}

// The date part at S[*I]: 8 digits, or Y-M-D with one of - / . or 年月日.
static bool
s_parse_date(const char *s, size_t len, size_t *i, s_when_t *w)
{
    size_t at = *i;
    while (at < len && s_digit(s[at])) {
        at++;
    }
    if (at - *i == 8) {
        w->y = (s[*i] - '0') * 1000 + (s[*i + 1] - '0') * 100 + (s[*i + 2] - '0') * 10 +
               (s[*i + 3] - '0');
        w->m = (s[*i + 4] - '0') * 10 + (s[*i + 5] - '0');
        w->d = (s[*i + 6] - '0') * 10 + (s[*i + 7] - '0');
        *i = at;
        return true;
    }
    if (!s_num(s, len, i, 4, 4, &w->y)) {
        return false;
    }
    if (s_word(s, len, i, "年")) {
        bool ok = s_num(s, len, i, 1, 2, &w->m) && s_word(s, len, i, "月") &&
                  s_num(s, len, i, 1, 2, &w->d);
        if (!s_word(s, len, i, "日")) {
            s_word(s, len, i, "号");
        }
        return ok;
    }
    char sep = *i < len ? s[*i] : '\0';
    if (sep != '-' && sep != '/' && sep != '.') {
        return false;
    }
    (*i)++;
    return s_num(s, len, i, 1, 2, &w->m) && *i < len && s[(*i)++] == sep &&
           s_num(s, len, i, 1, 2, &w->d);
}

// An offset at S[*I]: Z, +HH:MM, +HHMM (or -).
static bool
s_parse_offset(const char *s, size_t len, size_t *i, s_when_t *w)
{
    if (s[*i] == 'Z' || s[*i] == 'z') {
        (*i)++;
        snprintf(w->off, sizeof w->off, "Z");
        return true;
    }
    char sign = s[(*i)++];
    int d[4], n = 0;
    for (; n < 4 && *i < len; n++) {
        if (n == 2 && s[*i] == ':') {
            (*i)++;
        }
        if (*i >= len || !s_digit(s[*i])) {
            break;
        }
        d[n] = s[(*i)++] - '0';
    }
    int hh = n == 4 ? d[0] * 10 + d[1] : 99, mm = n == 4 ? d[2] * 10 + d[3] : 99;
    if (hh > 23 || mm > 59) {
        return false;
    }
    char *o = w->off;
    *o++ = sign;
    o = s_two(o, hh);
    *o++ = ':';
    *s_two(o, mm) = '\0';
    return true;
}

// The time part at S[*I] (after the date): [ |T]H:MM[:SS[.f]][offset].
static bool
s_parse_time(const char *s, size_t len, size_t *i, s_when_t *w)
{
    if (*i < len && (s[*i] == 'T' || s[*i] == 't')) {
        (*i)++;
    } else if (s_is_space(s, len, *i)) {
        while (s_is_space(s, len, *i)) {
            (*i)++;
        }
    } else {
        return *i == len;
    }
    w->has_time = true;
    if (!s_num(s, len, i, 1, 2, &w->hh) || *i >= len || s[(*i)++] != ':' ||
        !s_num(s, len, i, 2, 2, &w->mi)) {
        return false;
    }
    if (*i < len && s[*i] == ':') {
        (*i)++;
        if (!s_num(s, len, i, 2, 2, &w->ss)) {
            return false;
        }
        if (*i < len && s[*i] == '.') {
            size_t start = ++(*i);
            while (*i < len && s_digit(s[*i])) {
                (*i)++;
            }
            if (*i == start) {
                return false;
            }
        }
    }
    if (w->hh > 23 || w->mi > 59 || w->ss > 59) {
        return false;
    }
    if (*i < len && (s[*i] == 'Z' || s[*i] == 'z' || s[*i] == '+' || s[*i] == '-')) {
        return s_parse_offset(s, len, i, w);
    }
    return true;
}

// An Excel serial "43835" or "43835.5"; false when S is not one.
static bool
s_parse_serial(const char *s, size_t len, s_when_t *w, bool *in_range)
{
    size_t i = 0;
    int64_t v = 0;
    while (i < len && s_digit(s[i]) && i < 8) {
        v = v * 10 + (s[i++] - '0');
    }
    size_t digits = i;
    double frac = 0, scale = 0.1;
    if (i < len && s[i] == '.') {
        for (i++; i < len && s_digit(s[i]); i++, scale /= 10) {
            frac += (s[i] - '0') * scale;
        }
    }
    if (digits == 0 || digits > 7 || i != len) {
        return false;
    }
    *in_range = hubc_excel_date(v, &w->y, &w->m, &w->d);
    long secs = (long) (frac * 86400 + 0.5);
    secs = secs >= 86400 ? 86399 : secs;
    w->hh = (int) (secs / 3600);
    w->mi = (int) (secs / 60 % 60);
    w->ss = (int) (secs % 60);
    w->has_time = frac > 0;
    return true;
}

static const char s_date_forms[] =
    "expected 2020-01-05, 2020.1.5, 2020/1/5, 20200105, 2020年1月5日 or an Excel serial number";

// Parses any date or date-time form into W; NULL or the reason.
static const char *
s_parse_when(const char *s, size_t len, s_when_t *w, char *detail, size_t size)
{
    memset(w, 0, sizeof *w);
    bool in_range = true;
    if (s_parse_serial(s, len, w, &in_range)) {
        if (!in_range) {
            return s_fail(detail, size, "bad_date",
                          "'%.*s' is not a date: an Excel serial number must be 1..2958465 "
                          "(and not 60, Excel's non-existent 1900-02-29)",
                          s_show(s, len), s);
        }
    } else {
        size_t i = 0;
        if (len == 0 || !s_parse_date(s, len, &i, w) || !s_parse_time(s, len, &i, w) || i != len) {
            return s_fail(detail, size, "bad_date", "'%.*s' is not a date: %s", s_show(s, len), s,
                          s_date_forms);
        }
    }
    char iso[16];
    s_ymd(iso, w->y % 10000, w->m % 100, w->d % 100);
    hub_ids_reason_t r = hub_date_check(iso, strlen(iso), NULL, NULL, NULL);
    if (r != HUB_IDS_OK) {
        return s_fail(detail, size, "bad_date", "'%.*s' is not a real date (%s%s)", s_show(s, len),
                      s, iso, w->y < 1880 || w->y > 2199 ? ": the year must be 1880..2199" : "");
    }
    return NULL;
}

const char *
hubc_xf_date(const char *s, size_t len, char out[11], char *detail, size_t detail_size)
{
    s_when_t w;
    out[0] = '\0';
    const char *why = s_parse_when(s, len, &w, detail, detail_size);
    if (why) {
        return why;
    }
    s_ymd(out, w.y, w.m, w.d);
    s_ok(detail, detail_size);
    return NULL;
}

const char *
hubc_xf_datetime(const char *s, size_t len, char out[32], char *detail, size_t detail_size)
{
    s_when_t w;
    out[0] = '\0';
    const char *why = s_parse_when(s, len, &w, detail, detail_size);
    if (why) {
        return why;
    }
    char *o = s_ymd(out, w.y, w.m, w.d);
    *o++ = 'T';
    o = s_two(o, w.hh);
    *o++ = ':';
    o = s_two(o, w.mi);
    *o++ = ':';
    o = s_two(o, w.ss);
    memcpy(o, w.off[0] ? w.off : "+08:00", strlen(w.off[0] ? w.off : "+08:00") + 1);
    s_ok(detail, detail_size);
    return NULL;
}

const char *
hubc_xf_yearmonth(const char *s, size_t len, char out[8], char *detail, size_t detail_size)
{
    size_t i = 0;
    int y = 0, m = 0;
    bool ok;
    out[0] = '\0';
    if (len == 6 && s_digit(s[4]) && s_num(s, len, &i, 6, 6, &y)) {
        m = y % 100;
        y /= 100;
        ok = true;
    } else if (s_num(s, len, &i, 4, 4, &y) && i < len) {
        if (s_word(s, len, &i, "年")) {
            ok = s_num(s, len, &i, 1, 2, &m) && s_word(s, len, &i, "月");
        } else {
            char sep = s[i++];
            ok = (sep == '-' || sep == '/' || sep == '.') && s_num(s, len, &i, 1, 2, &m);
        }
        ok = ok && i == len;
    } else {
        ok = false;
    }
    if (!ok) {
        return s_fail(detail, detail_size, "bad_date",
                      "'%.*s' is not a month: expected 202001, 2020-01, 2020.1 or 2020年1月",
                      s_show(s, len), s);
    }
    if (y < 1880 || y > 2199 || m < 1 || m > 12) {
        return s_fail(detail, detail_size, "bad_date",
                      "'%.*s' is not a real month (month 1..12, year 1880..2199)", s_show(s, len),
                      s);
    }
    char *o = s_two(s_two(out, y / 100), y % 100);
    *o++ = '-';
    *s_two(o, m) = '\0';
    s_ok(detail, detail_size);
    return NULL;
}

// Digits with optional thousands separators at S[*I] (grouping checked)
// into *V; false on a bad grouping or an overflow past LIMIT.
static bool
s_grouped(const char *s, size_t len, size_t *i, int64_t limit, int64_t *v)
{
    size_t group = 0, start = *i;
    bool commas = false;
    *v = 0;
    for (; *i < len; (*i)++) {
        char c = s[*i];
        if (c == ',') {
            // A separator follows 1-3 digits first, then exactly 3.
            if (group == 0 || group > 3 || (commas && group != 3)) {
                return false;
            }
            commas = true;
            group = 0;
            continue;
        }
        if (!s_digit(c)) {
            break;
        }
        if (*v > (limit - (c - '0')) / 10) {
            return false;
        }
        *v = *v * 10 + (c - '0');
        group++;
    }
    return *i > start && group > 0 && (!commas || group == 3);
}

const char *
hubc_xf_yuan(const char *s, size_t len, int64_t *fen, char *detail, size_t detail_size)
{
    size_t i = 0, end = len;
    bool neg = false;
    *fen = 0;
    if (i < end && (s[i] == '-' || s[i] == '+')) {
        neg = s[i++] == '-';
    }
    if (!s_word(s, end, &i, "¥")) {
        s_word(s, end, &i, "￥");
    }
    if (end - i >= 3 && memcmp(s + end - 3, "元", 3) == 0) {
        end -= 3;
    }
    int64_t whole = 0, cents = 0;
    bool ok = s_grouped(s, end, &i, INT64_MAX / 100 - 1, &whole);
    if (ok && i < end && s[i] == '.') {
        int n = 0;
        for (i++; i < end && s_digit(s[i]); i++, n++) {
            if (n >= 2 && s[i] != '0') {
                return s_fail(detail, detail_size, "bad_money",
                              "'%.*s' has more than two decimals: a fen is the smallest unit",
                              s_show(s, len), s);
            }
            cents = n < 2 ? cents * 10 + (s[i] - '0') : cents;
        }
        cents = n == 1 ? cents * 10 : cents;
        ok = n > 0;
    }
    if (!ok || i != end) {
        return s_fail(detail, detail_size, "bad_money",
                      "'%.*s' is not an amount in yuan (e.g. 12345.60, 12,345.6, ¥12345.6)",
                      s_show(s, len), s);
    }
    *fen = (whole * 100 + cents) * (neg ? -1 : 1);
    s_ok(detail, detail_size);
    return NULL;
}

const char *
hubc_xf_int(const char *s, size_t len, int64_t *v, char *detail, size_t detail_size)
{
    size_t i = 0;
    bool neg = false;
    *v = 0;
    if (i < len && (s[i] == '-' || s[i] == '+')) {
        neg = s[i++] == '-';
    }
    int64_t x;
    if (!s_grouped(s, len, &i, INT64_MAX, &x) || i != len) {
        return s_fail(detail, detail_size, "bad_number", "'%.*s' is not a whole number",
                      s_show(s, len), s);
    }
    *v = neg ? -x : x;
    s_ok(detail, detail_size);
    return NULL;
}

const char *
hubc_xf_bool(const char *s, size_t len, bool *v, char *detail, size_t detail_size)
{
    static const char *const yes[] = {"是", "有", "true", "yes", "y", "t", "1", NULL};
    static const char *const no[] = {"否", "无", "false", "no", "n", "f", "0", NULL};
    char low[8];
    size_t n = len < sizeof low - 1 ? len : sizeof low - 1;
    for (size_t i = 0; i < n; i++) {
        low[i] = (char) (s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
    }
    low[n] = '\0';
    for (int i = 0; len < sizeof low && yes[i]; i++) {
        if (strcmp(low, yes[i]) == 0 || strcmp(low, no[i]) == 0) {
            *v = strcmp(low, yes[i]) == 0;
            s_ok(detail, detail_size);
            return NULL;
        }
    }
    return s_fail(detail, detail_size, "bad_value",
                  "'%.*s' is not yes or no (是/否, true/false, 1/0)", s_show(s, len), s);
}
