// The condition language's type checks: what may be compared with what,
// and literals checked against the field they meet (enum codes, months,
// money written with its unit). Every error names the fix.
#include "hub_expr_int.h"

#include "hub_ids.h"
#include "hub_yaml.h"

#include <stdio.h>
#include <string.h>

#define S_MAX_CODES 256 // tables longer than this get no "did you mean"

const char *
he_cls_name(he_cls_t c)
{
    static const char *const names[] = {"a string", "an integer", "money", "a date",
                                        "a month",  "true/false", "a list"};
    return names[c];
}

// The text of operand O, clipped for messages: use as "%.*s", len, text.
static int
s_text(const he_parser_t *p, const he_opnd_t *o, const char **text)
{
    *text = p->src + o->off;
    return he_clip(*text, o->len, 80);
}

bool
he_check_not_list(he_parser_t *p, const he_opnd_t *o)
{
    if (o->cls != HE_C_LIST) {
        return true;
    }
    const char *t;
    int n = s_text(p, o, &t);
    he_error(p, o->off, "type_mismatch", "'%.*s' is a list: test an item with \"x\" in %.*s", n, t,
             n, t);
    return false;
}

// The "did you mean" for a code: an exact other spelling (a Chinese name,
// an alias) gives the code to write; else the nearest code, if any.
static void
s_code_hint(const hub_codes_t *codes, const char *s, size_t len, char *hint, size_t size)
{
    const hub_code_t *hit = hub_codes_match(codes, s, len);
    if (hit) {
        snprintf(hint, size, ": write \"%s\"", hit->code);
        return;
    }
    const char *names[S_MAX_CODES + 1] = {NULL};
    size_t n = hub_codes_count(codes);
    for (size_t i = 0; i < n && i < S_MAX_CODES; i++) {
        names[i] = hub_codes_at(codes, i)->code;
    }
    const char *near = n <= S_MAX_CODES ? hub_yaml_suggest(s, names) : NULL;
    if (near) {
        snprintf(hint, size, " (did you mean \"%s\"?)", near);
    } else {
        snprintf(hint, size, " (%s lists them)", hub_codes_file(codes));
    }
}

static bool
s_check_code(he_parser_t *p, const hub_codes_t *codes, const he_opnd_t *lit)
{
    const he_node_t *n = &p->nodes[lit->node];
    const char *s = p->pool + n->off; // NUL-terminated, no NUL inside
    if (hub_codes_find(codes, s, n->len)) {
        return true;
    }
    char hint[160];
    s_code_hint(codes, s, n->len, hint, sizeof hint);
    he_error(p, lit->off, "type_mismatch", "'%.*s' is not a code of %s%s", he_clip(s, n->len, 64),
             s, hub_codes_name(codes), hint);
    return false;
}

// A quoted month ("2024-01") compared with a yearmonth field.
static bool
s_month_string(he_parser_t *p, he_opnd_t *lit)
{
    he_node_t *n = &p->nodes[lit->node];
    const char *s = p->pool + n->off;
    if (hub_yearmonth_check(s, n->len) != HUB_IDS_OK) {
        he_error(p, lit->off, "type_mismatch",
                 "'%.*s' is not a month: write it as YYYY-MM (2024-01)", he_clip(s, n->len, 64), s);
        return false;
    }
    n->cls = HE_C_YM;
    lit->cls = HE_C_YM;
    return true;
}

// How to write the literal LIT so that it compares with FIELD.
static void
s_fix(const he_parser_t *p, const he_opnd_t *field, const he_opnd_t *lit, char *fix, size_t size)
{
    const he_node_t *n = &p->nodes[lit->node];
    const char *s = p->pool + n->off;
    he_cls_t f = field->cls, l = lit->cls;
    long long v = (long long) n->i;
    if (f == HE_C_MONEY && l == HE_C_INT) {
        snprintf(fix, size, ": write %lld yuan (or %lld fen)", v, v);
    } else if (f == HE_C_MONEY) {
        snprintf(fix, size, ": write 5000 yuan");
    } else if (f == HE_C_INT && l == HE_C_MONEY) {
        snprintf(fix, size, ": write the number without yuan or fen");
    } else if (f == HE_C_DATE && l == HE_C_STR &&
               hub_date_check(s, n->len, NULL, NULL, NULL) == HUB_IDS_OK) {
        snprintf(fix, size, ": write %.10s without quotes", s);
    } else if (f == HE_C_DATE) {
        snprintf(fix, size, ": write a date as YYYY-MM-DD, without quotes");
    } else if (f == HE_C_YM) {
        snprintf(fix, size, ": write a month as YYYY-MM (2024-01)");
    } else if (f == HE_C_STR && l == HE_C_INT) {
        snprintf(fix, size, ": write \"%lld\" in double quotes", v);
    } else if (f == HE_C_BOOL && l == HE_C_STR &&
               (strcmp(s, "true") == 0 || strcmp(s, "false") == 0)) {
        snprintf(fix, size, ": write %s without quotes", s);
    } else {
        fix[0] = '\0';
    }
}

bool
he_fit_lit(he_parser_t *p, const he_opnd_t *field, he_opnd_t *lit)
{
    if (field->cls == lit->cls) {
        return field->cls != HE_C_STR || !field->codes || s_check_code(p, field->codes, lit);
    }
    if (field->cls == HE_C_YM && lit->cls == HE_C_STR) {
        return s_month_string(p, lit);
    }
    if (!he_check_not_list(p, field)) {
        return false;
    }
    char fix[96];
    s_fix(p, field, lit, fix, sizeof fix);
    he_error(p, lit->off, "type_mismatch", "cannot compare %s with %s%s", he_cls_name(field->cls),
             he_cls_name(lit->cls), fix);
    return false;
}

// Two operands that are not literals: fields, age(), conditions.
static bool
s_same_cls(he_parser_t *p, const he_opnd_t *l, const he_opnd_t *r, size_t at)
{
    if (l->cls == r->cls) {
        return true;
    }
    const char *lt, *rt;
    int ln = s_text(p, l, &lt), rn = s_text(p, r, &rt);
    he_error(p, at, "type_mismatch", "cannot compare '%.*s' (%s) with '%.*s' (%s)", ln, lt,
             he_cls_name(l->cls), rn, rt, he_cls_name(r->cls));
    return false;
}

bool
he_check_pair(he_parser_t *p, he_opnd_t *l, he_opnd_t *r, he_op_t op, size_t at)
{
    if (!he_check_not_list(p, l) || !he_check_not_list(p, r)) {
        return false;
    }
    he_opnd_t *field = l->lit && !r->lit ? r : l;
    he_opnd_t *other = field == l ? r : l;
    if (!(other->lit ? he_fit_lit(p, field, other) : s_same_cls(p, l, r, at))) {
        return false;
    }
    if ((field->cls == HE_C_STR || field->cls == HE_C_BOOL) && op != HE_EQ && op != HE_NE) {
        he_error(p, at, "type_mismatch", "%s compare only with == and !=%s",
                 field->cls == HE_C_STR ? "strings" : "true/false",
                 field->cls == HE_C_STR ? " (startswith() tests a prefix)" : "");
        return false;
    }
    return true;
}

bool
he_check_has(he_parser_t *p, he_opnd_t *x, const he_opnd_t *list, bool not_in)
{
    const char *t;
    int n = s_text(p, list, &t);
    if (!list->path || list->cls != HE_C_LIST) {
        he_error(p, list->off, "type_mismatch",
                 "'%.*s' is %s, not a list field: write %s [\"a\", \"b\"]", n, t,
                 he_cls_name(list->cls), not_in ? "not in" : "in");
        return false;
    }
    if (!he_check_not_list(p, x)) {
        return false;
    }
    he_opnd_t item = {.node = list->node, .cls = list->item, .codes = list->codes, .path = true};
    if (x->lit) {
        return he_fit_lit(p, &item, x);
    }
    if (x->cls != list->item) {
        he_error(p, x->off, "type_mismatch", "cannot look for %s in '%.*s', whose items are %s",
                 he_cls_name(x->cls), n, t, he_cls_name(list->item));
        return false;
    }
    return true;
}
