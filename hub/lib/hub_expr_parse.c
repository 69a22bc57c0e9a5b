// The condition language's parser and type checker (grammar in hub_expr.h).
// Recursive descent, one token of lookahead; every check that can be made
// before a message arrives is made here, so evaluation cannot fail.
//
// Months (yearmonth fields) are a class of their own: they compare, with all
// six operators, against a month written bare (2024-01) or quoted
// ("2024-01"), which is checked to be a real month. Being fixed-width
// "YYYY-MM" strings, their bytewise order is their time order.
#include "hub_expr_int.h"

#include "hub_ids.h"
#include "hub_yaml.h"

#include <stdio.h>
#include <string.h>

// A field path resolved against every schema.
typedef struct {
    he_where_t where;
    int slot; // envelope or subject slot
    hub_ftype_t type, item;
    const hub_codes_t *codes;
} s_field_t;

#define S_MAX_NAMES 256 // candidates for "did you mean"

static const char *const s_keywords[] = {"and",   "or",   "not", "in", "true",
                                         "false", "yuan", "fen", NULL};
static const char *const s_functions[] = {"exists", "startswith", "age", "listed", NULL};

static const hub_ftype_t s_env_types[HUB_ENV_COUNT] = {
    [HUB_ENV_ID] = HUB_FT_MSG_ID,
    [HUB_ENV_TYPE] = HUB_FT_STRING,
    [HUB_ENV_SCHEMA_VERSION] = HUB_FT_INT,
    [HUB_ENV_SOURCE] = HUB_FT_STRING,
    [HUB_ENV_SOURCE_REF] = HUB_FT_STRING,
    [HUB_ENV_EVENT_DATE] = HUB_FT_DATE,
    [HUB_ENV_RECORDED_AT] = HUB_FT_DATETIME,
};

static int
s_or(he_parser_t *p);
static bool
s_operand(he_parser_t *p, he_opnd_t *o);

static he_cls_t
s_cls_of(hub_ftype_t t)
{
    switch (t) {
    case HUB_FT_INT:
        return HE_C_INT;
    case HUB_FT_MONEY:
        return HE_C_MONEY;
    case HUB_FT_DATE:
        return HE_C_DATE;
    case HUB_FT_YEARMONTH:
        return HE_C_YM;
    case HUB_FT_BOOL:
        return HE_C_BOOL;
    case HUB_FT_LIST:
        return HE_C_LIST;
    default:
        return HE_C_STR; // every other type is held as a string
    }
}

static int
s_add(he_parser_t *p, he_node_t n, size_t off)
{
    if (p->failed) {
        return -1;
    }
    if (p->nnodes >= HUB_EXPR_MAX_NODES) {
        he_error(p, off, "limit", "condition too long: more than %d parts (split the rule)",
                 HUB_EXPR_MAX_NODES);
        return -1;
    }
    p->nodes[p->nnodes] = n;
    return (int) p->nnodes++;
}

// Appends LEN bytes and a NUL to the pool; the pool was sized for every
// literal the source can hold.
static uint32_t
s_pool_add(he_parser_t *p, const char *s, size_t len)
{
    size_t off = p->pool_len;
    if (len >= p->pool_cap - off) {
        he_error(p, p->tok.off, "limit", "condition too long");
        return 0;
    }
    memcpy(p->pool + off, s, len);
    p->pool[off + len] = '\0';
    p->pool_len += len + 1;
    return (uint32_t) off;
}

static bool
s_enter(he_parser_t *p, size_t off)
{
    if (++p->depth > HUB_EXPR_MAX_DEPTH) {
        he_error(p, off, "limit", "condition nested too deep: more than %d levels",
                 HUB_EXPR_MAX_DEPTH);
        return false;
    }
    return true;
}

// The current token, quoted, for messages.
static void
s_tok_text(const he_parser_t *p, char *buf, size_t size)
{
    if (p->tok.kind == HE_T_END) {
        snprintf(buf, size, "the end of the condition");
    } else {
        const char *s = p->src + p->tok.off;
        snprintf(buf, size, "'%.*s'", he_clip(s, p->tok.len, 40), s);
    }
}

static bool
s_expected(he_parser_t *p, const char *what)
{
    char found[64];
    s_tok_text(p, found, sizeof found);
    he_error(p, p->tok.off, "expr_syntax", "expected %s, found %s", what, found);
    return false;
}

// The nearest of NAMES to WORD; failing that, for words of 4 or more bytes,
// the shortest name whose start WORD misspells ("schol": "school_name").
static const char *
s_suggest(const char *word, const char *const *names)
{
    const char *hint = hub_yaml_suggest(word, names);
    size_t wl = strlen(word);
    char head[80];
    if (hint || wl < 4 || wl >= sizeof head) {
        return hint;
    }
    for (size_t i = 0; names[i]; i++) {
        size_t nl = strlen(names[i]);
        if (nl > wl && (!hint || nl < strlen(hint))) {
            memcpy(head, names[i], wl);
            head[wl] = '\0';
            const char *one[] = {head, NULL};
            hint = hub_yaml_suggest(word, one) ? names[i] : hint;
        }
    }
    return hint;
}

// The names of SCHEMA's body fields (BODY) or subject fields into NAMES.
static void
s_names(const hub_schema_t *schema, bool body, const char **names)
{
    size_t n = 0;
    for (size_t i = 0; body && i < schema->nfields && n < S_MAX_NAMES; i++) {
        names[n++] = schema->fields[i].name;
    }
    for (int i = 0; !body && i < HUB_SUBJ_COUNT; i++) {
        if (schema->has_subject[i]) {
            names[n++] = hub_subj_name((hub_subj_t) i);
        }
    }
    names[n] = NULL;
}

// The nearest to WORD of SCHEMA's fields in GROUP ("body.", "subject.") or
// of the envelope keys (GROUP "").
static const char *
s_suggest_in(const hub_schema_t *schema, const char *group, const char *word)
{
    const char *names[S_MAX_NAMES + 1] = {NULL};
    if (group[0]) {
        s_names(schema, group[0] == 'b', names);
    } else {
        for (int i = 0; i < HUB_ENV_COUNT; i++) {
            names[i] = hub_env_name((hub_env_t) i);
        }
    }
    return s_suggest(word, names);
}

// "did you mean" for NAME, a path SCHEMA lacks, into HINT ("" when none):
// the nearest field of its group, the group mended first when misspelt
// ("subjet.sex"); for a bare word, a field of that very name, else the
// nearest envelope key, body field or subject field.
static void
s_suggest_path(const hub_schema_t *schema, const char *name, char *hint, size_t size)
{
    static const char *const groups[] = {"", "body.", "subject.", NULL};
    const char *dot = strchr(name, '.'), *group = "", *h = NULL;
    if (dot) {
        char head[16];
        snprintf(head, sizeof head, "%.*s", (int) (dot - name < 15 ? dot - name : 15), name);
        const char *g = hub_yaml_suggest(head, (const char *const[]){"body", "subject", NULL});
        group = !g ? "" : g[0] == 'b' ? "body." : "subject.";
        h = g ? s_suggest_in(schema, group, dot + 1) : NULL;
    }
    for (size_t i = 1; !dot && !h && groups[i]; i++) {
        char path[96];
        snprintf(path, sizeof path, "%s%s", groups[i], name);
        group = groups[i];
        h = hub_schema_path(schema, path) ? name : NULL;
    }
    for (size_t i = 0; !dot && !h && groups[i]; i++) {
        group = groups[i];
        h = s_suggest_in(schema, group, name);
    }
    snprintf(hint, size, h ? " (did you mean '%s%s'?)" : "%s%s", h ? group : "", h ? h : "");
}

static void
s_unknown_field(he_parser_t *p, const char *name, const hub_schema_t *schema)
{
    char hint[128] = "";
    if (schema) {
        s_suggest_path(schema, name, hint, sizeof hint);
    }
    bool prefixed = strncmp(name, "body.", 5) == 0 || strncmp(name, "subject.", 8) == 0;
    he_error(p, p->tok.off, "unknown_field", "unknown field '%s'%s%s%s%s", name,
             schema ? " in " : "", schema ? schema->type : " (no message type to look it up in)",
             hint, prefixed || hint[0] ? "" : " (fields are body.<name> or subject.<name>)");
}

static bool
s_same_codes(const hub_codes_t *a, const hub_codes_t *b)
{
    return a == b || (a && b && strcmp(hub_codes_name(a), hub_codes_name(b)) == 0);
}

// "enum over grade", "list of string", "date": what a field holds.
static void
s_type_desc(const hub_field_spec_t *f, char *buf, size_t size)
{
    const char *codes = f->codes ? hub_codes_name(f->codes) : NULL;
    if (f->type == HUB_FT_LIST) {
        snprintf(buf, size, "a list of %s%s%s", hub_ftype_name(f->item_type), codes ? " over " : "",
                 codes ? codes : "");
    } else {
        snprintf(buf, size, "%s%s%s", hub_ftype_name(f->type), codes ? " over " : "",
                 codes ? codes : "");
    }
}

// Looks NAME up in every schema: it must have the same type in each.
static bool
s_resolve_schemas(he_parser_t *p, const char *name, s_field_t *f)
{
    const hub_field_spec_t *first = NULL;
    for (size_t i = 0; i < p->nschemas; i++) {
        const hub_field_spec_t *spec = hub_schema_path(p->schemas[i], name);
        if (!spec) {
            s_unknown_field(p, name, p->schemas[i]);
            return false;
        }
        if (first && (spec->type != first->type ||
                      (spec->type == HUB_FT_LIST && spec->item_type != first->item_type) ||
                      !s_same_codes(spec->codes, first->codes))) {
            char a[96], b[96];
            s_type_desc(first, a, sizeof a);
            s_type_desc(spec, b, sizeof b);
            he_error(p, p->tok.off, "type_mismatch",
                     "'%s' is %s in %s but %s in %s: one condition cannot serve both", name, a,
                     p->schemas[0]->type, b, p->schemas[i]->type);
            return false;
        }
        first = first ? first : spec;
    }
    if (!first) {
        s_unknown_field(p, name, NULL);
        return false;
    }
    *f = (s_field_t){strncmp(name, "body.", 5) == 0 ? HE_W_BODY : HE_W_SUBJ, 0, first->type,
                     first->item_type, first->codes};
    f->slot = f->where == HE_W_SUBJ ? hub_subj_find(name + 8, strlen(name + 8)) : 0;
    return true;
}

static bool
s_resolve(he_parser_t *p, s_field_t *f)
{
    char name[80];
    const char *s = p->src + p->tok.off;
    int len = he_clip(s, p->tok.len, sizeof name - 1);
    snprintf(name, sizeof name, "%.*s", len, s);
    int env = hub_env_find(s, p->tok.len);
    if (env >= 0) {
        *f = (s_field_t){HE_W_ENV, env, s_env_types[env], HUB_FT_STRING, NULL};
        return true;
    }
    if ((size_t) len < p->tok.len) {
        he_error(p, p->tok.off, "unknown_field", "unknown field '%s...': too long", name);
        return false;
    }
    return s_resolve_schemas(p, name, f);
}

static bool
s_path(he_parser_t *p, he_opnd_t *o)
{
    s_field_t f;
    if (!s_resolve(p, &f)) {
        return false;
    }
    he_node_t n = {
        .kind = HE_PATH, .cls = s_cls_of(f.type), .where = f.where, .n = (uint16_t) f.slot};
    if (f.where == HE_W_BODY) {
        n.off = (uint32_t) p->tok.off + 5; // the pool starts with the source
        n.len = (uint32_t) p->tok.len - 5;
    }
    o->cls = n.cls;
    o->item = s_cls_of(f.item);
    o->codes = f.codes;
    o->path = true;
    o->node = s_add(p, n, p->tok.off);
    he_next(p);
    return o->node >= 0;
}

static bool
s_lit(he_parser_t *p, he_opnd_t *o, he_node_t n, size_t end)
{
    n.kind = HE_LIT;
    o->cls = n.cls;
    o->lit = true;
    o->len = end - o->off;
    o->node = s_add(p, n, o->off);
    return o->node >= 0;
}

// The pool holds the literal unescaped (room was made for every string the
// source can hold: see hub_expr_compile).
static bool
s_string_lit(he_parser_t *p, he_opnd_t *o)
{
    const char *s = p->src + p->tok.off + 1;
    size_t end = p->tok.off + p->tok.len, len = 0, off = p->pool_len;
    if (p->tok.len > p->pool_cap - off) {
        he_error(p, p->tok.off, "limit", "condition too long");
        return false;
    }
    char *dst = p->pool + off;
    for (size_t i = 0; i + 2 < p->tok.len; i++) { // between the quotes
        i += s[i] == '\\';
        dst[len++] = s[i];
    }
    dst[len] = '\0';
    p->pool_len += len + 1;
    he_next(p);
    return s_lit(p, o, (he_node_t){.cls = HE_C_STR, .off = (uint32_t) off, .len = (uint32_t) len},
                 end);
}

static bool
s_money(he_parser_t *p, he_opnd_t *o, int64_t v, bool dec)
{
    size_t unit = p->tok.off;
    if (he_is(p, "fen") && dec) {
        he_error(p, unit, "expr_syntax", "fen have no decimals: write yuan (12.50 yuan)");
        return false;
    }
    if (he_is(p, "yuan") && !dec) {
        if (v > INT64_MAX / 100 || v < -(INT64_MAX / 100)) {
            he_error(p, o->off, "expr_syntax", "amount too large");
            return false;
        }
        v *= 100;
    }
    size_t end = p->tok.off + p->tok.len;
    he_next(p);
    return s_lit(p, o, (he_node_t){.cls = HE_C_MONEY, .i = v}, end);
}

static bool
s_number_lit(he_parser_t *p, he_opnd_t *o)
{
    int64_t v = p->tok.i;
    bool dec = p->tok.kind == HE_T_DEC;
    size_t end = p->tok.off + p->tok.len;
    he_next(p);
    if (he_is(p, "yuan") || he_is(p, "fen")) {
        return s_money(p, o, v, dec);
    }
    if (dec) {
        he_error(p, o->off, "expr_syntax", "only money has decimals: write %.*s yuan",
                 he_clip(p->src + o->off, end - o->off, 40), p->src + o->off);
        return false;
    }
    return s_lit(p, o, (he_node_t){.cls = HE_C_INT, .i = v}, end);
}

static bool
s_ym_lit(he_parser_t *p, he_opnd_t *o)
{
    size_t end = p->tok.off + p->tok.len;
    uint32_t off = s_pool_add(p, p->src + p->tok.off, p->tok.len);
    he_next(p);
    return s_lit(p, o, (he_node_t){.cls = HE_C_YM, .off = off, .len = 7}, end);
}

// The argument of exists() or age(): a field path.
static bool
s_path_arg(he_parser_t *p, he_opnd_t *o, const char *fn)
{
    *o = (he_opnd_t){.node = -1, .off = p->tok.off, .len = p->tok.len};
    bool kw = false;
    for (size_t i = 0; s_keywords[i]; i++) {
        kw = kw || he_is(p, s_keywords[i]);
    }
    if (p->tok.kind != HE_T_WORD || kw || he_peek(p) == '(') {
        char what[64];
        snprintf(what, sizeof what, "a field path in %s(), such as body.change_date", fn);
        return s_expected(p, what);
    }
    return s_path(p, o);
}

static bool
s_close_call(he_parser_t *p, const char *fn)
{
    if (p->tok.kind != HE_T_RPAREN) {
        char what[48];
        snprintf(what, sizeof what, "')' to close %s(", fn);
        return s_expected(p, what);
    }
    he_next(p);
    return true;
}

// startswith(path, "prefix"): any field held as a string.
static int
s_startswith(he_parser_t *p)
{
    he_opnd_t f, pre;
    if (!s_path_arg(p, &f, "startswith")) {
        return -1;
    }
    if (f.cls == HE_C_INT || f.cls == HE_C_MONEY || f.cls == HE_C_BOOL || f.cls == HE_C_LIST) {
        he_error(p, f.off, "type_mismatch", "startswith() needs a string field; '%.*s' is %s",
                 he_clip(p->src + f.off, f.len, 80), p->src + f.off, he_cls_name(f.cls));
        return -1;
    }
    if (p->tok.kind != HE_T_COMMA) {
        s_expected(p, "',' and a prefix: startswith(subject.hukou_division, \"5134\")");
        return -1;
    }
    he_next(p);
    if (p->tok.kind != HE_T_STR) {
        s_expected(p, "a string in double quotes as the prefix");
        return -1;
    }
    pre = (he_opnd_t){.node = -1, .off = p->tok.off};
    if (!s_string_lit(p, &pre) || !s_close_call(p, "startswith")) {
        return -1;
    }
    return s_add(
        p,
        (he_node_t){
            .kind = HE_STARTS, .cls = HE_C_BOOL, .a = (uint16_t) f.node, .b = (uint16_t) pre.node},
        f.off);
}

static int
s_exists_or_age(he_parser_t *p, bool age, he_opnd_t *o)
{
    he_opnd_t f;
    if (!s_path_arg(p, &f, age ? "age" : "exists")) {
        return -1;
    }
    if (age && f.cls != HE_C_DATE) {
        he_error(p, f.off, "type_mismatch", "age() needs a date field; '%.*s' is %s",
                 he_clip(p->src + f.off, f.len, 80), p->src + f.off, he_cls_name(f.cls));
        return -1;
    }
    if (!s_close_call(p, age ? "age" : "exists")) {
        return -1;
    }
    o->cls = age ? HE_C_INT : HE_C_BOOL;
    return s_add(p,
                 (he_node_t){.kind = age ? HE_AGE : HE_EXISTS,
                             .cls = (uint8_t) o->cls,
                             .a = (uint16_t) f.node},
                 o->off);
}

// The list named by the current token (a string in quotes): its index in
// p->lists, or -1 after reporting it unknown.
static int
s_list_id(he_parser_t *p)
{
    if (p->tok.kind != HE_T_STR) {
        s_expected(p, "a list id in double quotes: listed(\"monitored_households\", ...)");
        return -1;
    }
    const char *id = p->src + p->tok.off + 1;
    size_t len = p->tok.len - 2;
    for (size_t i = 0; i < p->nlists; i++) {
        if (strlen(p->lists[i]) == len && memcmp(p->lists[i], id, len) == 0) {
            he_next(p);
            return (int) i;
        }
    }
    he_error(p, p->tok.off, "unknown_list",
             "unknown list '%.*s': declare it under 'lists:' (%zu list%s declared)",
             he_clip(id, len, 80), id, p->nlists, p->nlists == 1 ? "" : "s");
    return -1;
}

// listed("list", path): the string field is a member of the list.
static int
s_listed(he_parser_t *p, he_opnd_t *o)
{
    he_opnd_t f;
    int list = s_list_id(p);
    if (list < 0) {
        return -1;
    }
    if (p->tok.kind != HE_T_COMMA) {
        s_expected(p, "',' and the key's field: listed(\"list\", subject.household_no)");
        return -1;
    }
    he_next(p);
    if (!s_path_arg(p, &f, "listed")) {
        return -1;
    }
    if (f.cls != HE_C_STR) {
        he_error(p, f.off, "type_mismatch", "listed() needs a string field as key; '%.*s' is %s",
                 he_clip(p->src + f.off, f.len, 80), p->src + f.off, he_cls_name(f.cls));
        return -1;
    }
    if (!s_close_call(p, "listed")) {
        return -1;
    }
    o->cls = HE_C_BOOL;
    return s_add(
        p,
        (he_node_t){
            .kind = HE_LISTED, .cls = HE_C_BOOL, .a = (uint16_t) f.node, .n = (uint16_t) list},
        o->off);
}

static bool
s_call(he_parser_t *p, he_opnd_t *o)
{
    char name[48];
    const char *s = p->src + p->tok.off;
    snprintf(name, sizeof name, "%.*s", he_clip(s, p->tok.len, sizeof name - 1), s);
    size_t fn = 0;
    while (s_functions[fn] && strcmp(s_functions[fn], name) != 0) {
        fn++;
    }
    if (!s_functions[fn]) {
        const char *hint = s_suggest(name, s_functions);
        he_error(p, o->off, "unknown_function", "unknown function '%s'%s%s%s", name,
                 hint ? " (did you mean '" : " (functions: exists, startswith, age, listed",
                 hint ? hint : "", hint ? "'?)" : ")");
        return false;
    }
    he_next(p); // the name
    he_next(p); // '('
    o->cls = HE_C_BOOL;
    o->node = fn == 1 ? s_startswith(p) : fn == 3 ? s_listed(p, o) : s_exists_or_age(p, fn == 2, o);
    o->len = p->tok.off - o->off;
    return o->node >= 0;
}

static bool
s_word_operand(he_parser_t *p, he_opnd_t *o)
{
    if (he_is(p, "true") || he_is(p, "false")) {
        bool t = he_is(p, "true");
        size_t end = p->tok.off + p->tok.len;
        he_next(p);
        return s_lit(p, o, (he_node_t){.cls = HE_C_BOOL, .i = t}, end);
    }
    for (size_t i = 0; s_keywords[i]; i++) {
        if (he_is(p, s_keywords[i])) {
            return s_expected(p, "a field, a value, a function or '('");
        }
    }
    return he_peek(p) == '(' ? s_call(p, o) : s_path(p, o);
}

static bool
s_paren(he_parser_t *p, he_opnd_t *o)
{
    size_t open = p->tok.off;
    if (!s_enter(p, open)) {
        return false;
    }
    he_next(p);
    o->node = s_or(p);
    p->depth--;
    if (o->node < 0) {
        return false;
    }
    if (p->tok.kind == HE_T_END) {
        he_error(p, open, "expr_syntax", "unbalanced parentheses: this '(' is never closed");
        return false;
    }
    if (p->tok.kind != HE_T_RPAREN) {
        return s_expected(p, "')', 'and' or 'or'");
    }
    o->cls = HE_C_BOOL;
    o->len = p->tok.off + 1 - open;
    he_next(p);
    return true;
}

static bool
s_operand(he_parser_t *p, he_opnd_t *o)
{
    *o = (he_opnd_t){.node = -1, .off = p->tok.off, .len = p->tok.len};
    switch (p->tok.kind) {
    case HE_T_LPAREN:
        return s_paren(p, o);
    case HE_T_WORD:
        return s_word_operand(p, o);
    case HE_T_STR:
        return s_string_lit(p, o);
    case HE_T_INT:
    case HE_T_DEC:
        return s_number_lit(p, o);
    case HE_T_DATE: {
        size_t end = p->tok.off + p->tok.len;
        int64_t days = p->tok.i;
        he_next(p);
        return s_lit(p, o, (he_node_t){.cls = HE_C_DATE, .i = days}, end);
    }
    case HE_T_YM:
        return s_ym_lit(p, o);
    default:
        return s_expected(p, "a field, a value, a function or '('");
    }
}

static int
s_compare(he_parser_t *p, he_opnd_t *l)
{
    he_op_t op = p->tok.op;
    size_t at = p->tok.off;
    he_opnd_t r;
    he_next(p);
    if (!s_operand(p, &r) || !he_check_pair(p, l, &r, op, at)) {
        return -1;
    }
    if (p->tok.kind == HE_T_OP) {
        he_error(p, p->tok.off, "expr_syntax", "comparisons do not chain: join them with 'and'");
        return -1;
    }
    he_cls_t cls = l->lit && !r.lit ? r.cls : l->cls;
    return s_add(p,
                 (he_node_t){.kind = HE_CMP,
                             .cls = (uint8_t) cls,
                             .op = (uint8_t) op,
                             .a = (uint16_t) l->node,
                             .b = (uint16_t) r.node},
                 at);
}

// x in [literal, ...]: the items' nodes follow each other.
static int
s_in_list(he_parser_t *p, he_opnd_t *x, bool not_in, size_t at)
{
    size_t open = p->tok.off, first = p->nnodes, n = 0;
    if (!he_check_not_list(p, x)) {
        return -1;
    }
    he_next(p);
    while (p->tok.kind != HE_T_RBRACK && !p->failed) {
        he_opnd_t it;
        if (!s_operand(p, &it)) {
            return -1;
        }
        if (!it.lit) {
            he_error(p, it.off, "expr_syntax", "a list holds values only, such as [\"a\", \"b\"]");
            return -1;
        }
        if (!he_fit_lit(p, x, &it)) {
            return -1;
        }
        n++;
        if (p->tok.kind != HE_T_COMMA) {
            break;
        }
        he_next(p);
    }
    if (p->tok.kind == HE_T_END && !p->failed) {
        he_error(p, open, "expr_syntax", "unbalanced brackets: this '[' is never closed");
    } else if (p->tok.kind != HE_T_RBRACK) {
        s_expected(p, "',' or ']'");
    }
    if (p->failed) {
        return -1;
    }
    he_next(p);
    return s_add(p,
                 (he_node_t){.kind = HE_IN,
                             .cls = (uint8_t) x->cls,
                             .op = not_in,
                             .a = (uint16_t) x->node,
                             .b = (uint16_t) first,
                             .n = (uint16_t) n},
                 at);
}

// x in [...], x in body.list, and their "not in".
static int
s_in(he_parser_t *p, he_opnd_t *x)
{
    size_t at = p->tok.off;
    bool not_in = he_is(p, "not");
    if (not_in) {
        he_next(p);
        if (!he_is(p, "in")) {
            s_expected(p, "'in' after 'not'");
            return -1;
        }
    }
    he_next(p);
    if (p->tok.kind == HE_T_LBRACK) {
        return s_in_list(p, x, not_in, at);
    }
    he_opnd_t list;
    if (!s_operand(p, &list) || !he_check_has(p, x, &list, not_in)) {
        return -1;
    }
    return s_add(p,
                 (he_node_t){.kind = HE_HAS,
                             .cls = (uint8_t) list.item,
                             .op = not_in,
                             .a = (uint16_t) x->node,
                             .b = (uint16_t) list.node},
                 at);
}

static int
s_cmp(he_parser_t *p)
{
    he_opnd_t l;
    if (!s_operand(p, &l)) {
        return -1;
    }
    if (p->tok.kind == HE_T_OP) {
        return s_compare(p, &l);
    }
    if (he_is(p, "in") || he_is(p, "not")) {
        return s_in(p, &l);
    }
    if (l.cls != HE_C_BOOL) {
        he_error(p, l.off, "type_mismatch",
                 "'%.*s' is %s, not a condition: compare it (==, !=, in) or test exists()",
                 he_clip(p->src + l.off, l.len, 80), p->src + l.off, he_cls_name(l.cls));
        return -1;
    }
    return l.node;
}

static int
s_not(he_parser_t *p)
{
    if (!he_is(p, "not")) {
        return s_cmp(p);
    }
    size_t at = p->tok.off;
    if (!s_enter(p, at)) {
        return -1;
    }
    he_next(p);
    int a = s_not(p);
    p->depth--;
    return a < 0 ? -1
                 : s_add(p, (he_node_t){.kind = HE_NOT, .cls = HE_C_BOOL, .a = (uint16_t) a}, at);
}

// A chain "x and y and z" makes a left-leaning tree; evaluation walks its
// left spine in a loop, so long chains do not deepen the recursion.
static int
s_chain(he_parser_t *p, const char *word, he_kind_t kind, int (*next)(he_parser_t *))
{
    int left = next(p);
    while (left >= 0 && he_is(p, word)) {
        size_t at = p->tok.off;
        he_next(p);
        int right = next(p);
        left = right < 0 ? -1
                         : s_add(p,
                                 (he_node_t){.kind = kind,
                                             .cls = HE_C_BOOL,
                                             .a = (uint16_t) left,
                                             .b = (uint16_t) right},
                                 at);
    }
    return left;
}

static int
s_and(he_parser_t *p)
{
    return s_chain(p, "and", HE_AND, s_not);
}

static int
s_or(he_parser_t *p)
{
    return s_chain(p, "or", HE_OR, s_and);
}

int
he_parse(he_parser_t *p)
{
    he_next(p);
    if (p->tok.kind == HE_T_END && !p->failed) {
        he_error(p, 0, "expr_syntax", "empty condition");
    }
    int root = s_or(p);
    if (root < 0 || p->tok.kind == HE_T_END) {
        return p->failed ? -1 : root;
    }
    if (p->tok.kind == HE_T_RPAREN) {
        he_error(p, p->tok.off, "expr_syntax", "unbalanced parentheses: ')' without '('");
    } else {
        s_expected(p, "'and', 'or' or the end of the condition");
    }
    return -1;
}
