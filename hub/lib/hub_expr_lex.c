// The condition language's tokens, and where in the rule file an error is.
#include "hub_expr_int.h"

#include "hub_ids.h"
#include "hub_utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static bool
s_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool
s_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

// A character that continues a word or a number: "body.x", "2026-09-20".
static bool
s_word_char(char c)
{
    return s_alpha(c) || s_digit(c) || c == '.';
}

int
he_clip(const char *s, size_t len, size_t max)
{
    if (len <= max) {
        return (int) len;
    }
    while (max > 0 && ((unsigned char) s[max] & 0xC0) == 0x80) {
        max--; // do not start the cut inside a character
    }
    return (int) max;
}

// Lines and columns count characters (code points), not bytes, as editors
// do: a condition holding Chinese text still points at the right token.
static void
s_where(const he_parser_t *p, size_t off, char *buf, size_t size)
{
    const hub_expr_origin_t *o = p->origin;
    int line = o ? o->line : 1, col = o ? o->column : 1;
    for (size_t i = 0; i < off && i < p->len; i++) {
        unsigned char c = (unsigned char) p->src[i];
        if (c == '\n') {
            line++;
            col = 1;
        } else if ((c & 0xC0) != 0x80) {
            col++;
        }
    }
    snprintf(buf, size, "%s:%d:%d", o && o->file ? o->file : "<condition>", line, col);
}

void
he_error(he_parser_t *p, size_t off, const char *reason, const char *fmt, ...)
{
    p->tok = (he_tok_t){.kind = HE_T_END, .off = p->len};
    if (p->failed) {
        return;
    }
    p->failed = true;
    char where[HUB_DIAG_WHERE_MAX], text[HUB_DIAG_TEXT_MAX];
    s_where(p, off, where, sizeof where);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    hub_diag_add(p->diag, HUB_DIAG_ERROR, reason, where, "%s", text);
}

static void
s_skip_space(he_parser_t *p)
{
    while (p->pos < p->len && strchr(" \t\r\n", p->src[p->pos]) && p->src[p->pos] != '\0') {
        p->pos++;
    }
}

bool
he_is(const he_parser_t *p, const char *kw)
{
    size_t n = strlen(kw);
    return p->tok.kind == HE_T_WORD && p->tok.len == n && memcmp(p->src + p->tok.off, kw, n) == 0;
}

char
he_peek(const he_parser_t *p)
{
    size_t i = p->tok.off + p->tok.len;
    while (i < p->len && strchr(" \t\r\n", p->src[i]) && p->src[i] != '\0') {
        i++;
    }
    return i < p->len ? p->src[i] : '\0';
}

// Reads the decimal digits at S (LEN > 0) into *OUT; false on overflow.
static bool
s_uint(const char *s, size_t len, int64_t *out)
{
    int64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (v > (INT64_MAX - (s[i] - '0')) / 10) {
            return false;
        }
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

static size_t
s_digits(const char *s, size_t len)
{
    size_t n = 0;
    while (n < len && s_digit(s[n])) {
        n++;
    }
    return n;
}

// "YYYY-MM-DD" (WANT 10) or "YYYY-MM" (WANT 7), by shape only.
static bool
s_date_shape(const char *s, size_t len, size_t want)
{
    return len == want && s_digits(s, 4) == 4 && s[4] == '-' && s_digits(s + 5, 2) == 2 &&
           (want == 7 || (s[7] == '-' && s_digits(s + 8, 2) == 2));
}

static void
s_date_token(he_parser_t *p, const char *s, size_t len)
{
    int y, m, d;
    if (len == 7) {
        if (hub_yearmonth_check(s, len) != HUB_IDS_OK) {
            he_error(p, p->tok.off, "expr_syntax", "'%.7s' is not a real month (YYYY-MM)", s);
            return;
        }
        p->tok.kind = HE_T_YM;
        return;
    }
    if (hub_date_check(s, len, &y, &m, &d) != HUB_IDS_OK) {
        he_error(p, p->tok.off, "expr_syntax",
                 "'%.10s' is not a real date (YYYY-MM-DD, year 1880-2199)", s);
        return;
    }
    p->tok.kind = HE_T_DATE;
    p->tok.i = hub_date_days(y, m, d);
}

// An integer, or a decimal with at most 2 decimals (kept in hundredths).
static void
s_number_token(he_parser_t *p, const char *s, size_t len)
{
    bool neg = s[0] == '-';
    size_t start = neg ? 1 : 0, whole = s_digits(s + start, len - start);
    size_t frac =
        start + whole < len ? s_digits(s + start + whole + 1, len - start - whole - 1) : 0;
    int64_t w = 0, f = 0;
    bool is_int = start + whole == len;
    bool is_dec = !is_int && s[start + whole] == '.' && frac > 0 && start + whole + 1 + frac == len;
    if (whole == 0 || (!is_int && !is_dec)) {
        he_error(p, p->tok.off, "expr_syntax",
                 "'%.*s' is not a number or a date (dates are YYYY-MM-DD, money 5000 yuan)",
                 he_clip(s, len, 40), s);
        return;
    }
    if (is_dec && frac > 2) {
        he_error(p, p->tok.off, "expr_syntax", "'%.*s': money has at most 2 decimals (fen)",
                 he_clip(s, len, 40), s);
        return;
    }
    bool ok = s_uint(s + start, whole, &w) && (!is_dec || s_uint(s + start + whole + 1, frac, &f));
    if (ok && is_dec) {
        f = frac == 1 ? f * 10 : f;
        ok = w <= (INT64_MAX - f) / 100;
        w = w * 100 + f;
    }
    if (!ok) {
        he_error(p, p->tok.off, "expr_syntax", "'%.*s' is too large", he_clip(s, len, 40), s);
        return;
    }
    p->tok.kind = is_dec ? HE_T_DEC : HE_T_INT;
    p->tok.i = neg ? -w : w;
}

static void
s_number(he_parser_t *p)
{
    size_t start = p->pos;
    p->pos++; // a digit or '-'
    while (p->pos < p->len && (s_word_char(p->src[p->pos]) || p->src[p->pos] == '-')) {
        p->pos++;
    }
    const char *s = p->src + start;
    size_t len = p->pos - start;
    p->tok.len = len;
    if (s_date_shape(s, len, 10) || s_date_shape(s, len, 7)) {
        s_date_token(p, s, len);
    } else {
        s_number_token(p, s, len);
    }
}

// A string stays on one line: an unclosed quote is then reported where it
// opens, not at the end of the rule.
static void
s_string(he_parser_t *p)
{
    size_t start = p->pos++;
    while (p->pos < p->len && p->src[p->pos] != '"') {
        unsigned char c = (unsigned char) p->src[p->pos];
        if (c < 0x20 || c == 0x7F) {
            break;
        }
        if (c == '\\') {
            char e = p->pos + 1 < p->len ? p->src[p->pos + 1] : '\0';
            if (e != '"' && e != '\\') {
                he_error(p, p->pos, "expr_syntax",
                         "unknown escape in a string: only \\\" and \\\\ are escapes");
                return;
            }
            p->pos++;
        }
        p->pos++;
    }
    if (p->pos >= p->len || p->src[p->pos] != '"') {
        he_error(p, start, "expr_syntax", "this string is not closed: add '\"' on the same line");
        return;
    }
    p->pos++;
    p->tok.kind = HE_T_STR;
    p->tok.len = p->pos - start;
}

typedef struct {
    const char *text;
    he_tok_kind_t kind;
    he_op_t op;
} s_punct_t;

static const s_punct_t s_puncts[] = {
    {"==", HE_T_OP, HE_EQ},    {"!=", HE_T_OP, HE_NE},    {"<=", HE_T_OP, HE_LE},
    {">=", HE_T_OP, HE_GE},    {"<", HE_T_OP, HE_LT},     {">", HE_T_OP, HE_GT},
    {"(", HE_T_LPAREN, HE_EQ}, {")", HE_T_RPAREN, HE_EQ}, {"[", HE_T_LBRACK, HE_EQ},
    {"]", HE_T_RBRACK, HE_EQ}, {",", HE_T_COMMA, HE_EQ},
};

// Spellings from other languages, and what to write instead.
static const char *const s_foreign[][2] = {
    {"&&", "write 'and'"},
    {"||", "write 'or'"},
    {"=", "write '==' to compare"},
    {"!", "write 'not' or '!='"},
    {"'", "strings are written in double quotes"},
};

static void
s_bad_char(he_parser_t *p)
{
    const char *s = p->src + p->pos;
    size_t left = p->len - p->pos;
    for (size_t i = 0; i < sizeof s_foreign / sizeof s_foreign[0]; i++) {
        size_t n = strlen(s_foreign[i][0]);
        if (n <= left && memcmp(s, s_foreign[i][0], n) == 0) {
            he_error(p, p->pos, "expr_syntax", "unexpected '%s': %s", s_foreign[i][0],
                     s_foreign[i][1]);
            return;
        }
    }
    size_t n;
    unsigned long cp = hub_utf8_decode(s, left, &n);
    if (cp > 0x20 && cp < 0x7F) {
        he_error(p, p->pos, "expr_syntax", "unexpected character '%c'", (char) cp);
    } else if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0)) {
        he_error(p, p->pos, "expr_syntax", "unexpected control character U+%04lX", cp);
    } else {
        he_error(p, p->pos, "expr_syntax", "unexpected character '%.*s' (U+%04lX)", (int) n, s, cp);
    }
}

static void
s_punct(he_parser_t *p)
{
    for (size_t i = 0; i < sizeof s_puncts / sizeof s_puncts[0]; i++) {
        size_t n = strlen(s_puncts[i].text);
        if (n <= p->len - p->pos && memcmp(p->src + p->pos, s_puncts[i].text, n) == 0) {
            p->tok.kind = s_puncts[i].kind;
            p->tok.op = s_puncts[i].op;
            p->tok.len = n;
            p->pos += n;
            return;
        }
    }
    s_bad_char(p);
}

void
he_next(he_parser_t *p)
{
    if (p->failed) {
        return; // he_error left an end token
    }
    s_skip_space(p);
    p->tok = (he_tok_t){.kind = HE_T_END, .off = p->pos};
    if (p->pos >= p->len) {
        return;
    }
    char c = p->src[p->pos];
    char c1 = p->pos + 1 < p->len ? p->src[p->pos + 1] : '\0';
    if (s_alpha(c)) {
        while (p->pos < p->len && s_word_char(p->src[p->pos])) {
            p->pos++;
        }
        p->tok.kind = HE_T_WORD;
        p->tok.len = p->pos - p->tok.off;
    } else if (s_digit(c) || (c == '-' && s_digit(c1))) {
        s_number(p);
    } else if (c == '"') {
        s_string(p);
    } else {
        s_punct(p);
    }
}
