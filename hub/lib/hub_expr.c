// hub_expr: compiling a condition (the work is in hub_expr_lex.c,
// hub_expr_parse.c and hub_expr_check.c) and evaluating it.
//
// Evaluation reads the message through const pointers and the compiled
// nodes; it calls no allocator, takes no lock and writes nothing but its own
// stack, so any number of threads may evaluate one condition at once. Its
// recursion is bounded by HUB_EXPR_MAX_DEPTH: "and"/"or" chains are walked
// in a loop.
#include "hub_expr_int.h"

#include "hub_error.h"
#include "hub_ids.h"
#include "hub_utf8.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

// A value read for a comparison: I for integers, fen, day numbers and
// booleans; S, LEN for strings and months.
typedef struct {
    int64_t i;
    const char *s;
    uint32_t len;
} s_val_t;

static bool
s_eval(const hub_expr_t *self, const hub_msg_t *msg, const hub_expr_lookup_t *lk, size_t at);

// The field a path node names; NULL or kind NONE when absent.
static const hub_val_t *
s_field(const hub_expr_t *self, const hub_msg_t *msg, const he_node_t *n)
{
    switch (n->where) {
    case HE_W_ENV:
        return hub_msg_env(msg, (hub_env_t) n->n);
    case HE_W_SUBJ:
        return hub_msg_subj(msg, (hub_subj_t) n->n);
    default:
        return hub_msg_body_get(msg, self->pool + n->off, n->len);
    }
}

// Reads a YYYY-MM-DD string; false when it is not a valid date.
static bool
s_ymd(const hub_val_t *v, int *y, int *m, int *d)
{
    return v && v->kind == HUB_VAL_STR && hub_date_check(v->u.s, v->len, y, m, d) == HUB_IDS_OK;
}

// Reads V as a value of class CLS; false when absent or of another kind
// (a message that broke its schema: the comparison is then false).
static bool
s_read(const hub_val_t *v, he_cls_t cls, s_val_t *out)
{
    int y, m, d;
    if (!v) {
        return false;
    }
    switch (cls) {
    case HE_C_INT:
    case HE_C_MONEY:
        out->i = v->kind == HUB_VAL_INT ? v->u.i : 0;
        return v->kind == HUB_VAL_INT;
    case HE_C_BOOL:
        out->i = v->kind == HUB_VAL_BOOL && v->u.b;
        return v->kind == HUB_VAL_BOOL;
    case HE_C_DATE:
        if (!s_ymd(v, &y, &m, &d)) {
            return false;
        }
        out->i = hub_date_days(y, m, d);
        return true;
    case HE_C_STR:
    case HE_C_YM:
        if (v->kind != HUB_VAL_STR) {
            return false;
        }
        out->s = v->u.s;
        out->len = v->len;
        return true;
    default:
        return false;
    }
}

// Whole years from the date field to the event date: one less when the
// birthday has not come yet in the event's year.
static bool
s_age(const hub_expr_t *self, const hub_msg_t *msg, const he_node_t *n, s_val_t *out)
{
    int by, bm, bd, ey, em, ed;
    if (!s_ymd(s_field(self, msg, &self->nodes[n->a]), &by, &bm, &bd) ||
        !s_ymd(hub_msg_env(msg, HUB_ENV_EVENT_DATE), &ey, &em, &ed)) {
        return false;
    }
    out->i = ey - by - (em < bm || (em == bm && ed < bd));
    return true;
}

// The value of operand node AT; false when it is absent.
static bool
s_value(const hub_expr_t *self, const hub_msg_t *msg, const hub_expr_lookup_t *lk, size_t at,
        s_val_t *out)
{
    const he_node_t *n = &self->nodes[at];
    switch (n->kind) {
    case HE_LIT:
        out->i = n->i;
        out->s = self->pool + n->off;
        out->len = n->len;
        return true;
    case HE_PATH:
        return s_read(s_field(self, msg, n), (he_cls_t) n->cls, out);
    case HE_AGE:
        return s_age(self, msg, n, out);
    default: // a condition compared as true/false
        out->i = s_eval(self, msg, lk, at);
        return true;
    }
}

// -1, 0 or 1 as A is below, equal to or above B.
static int
s_order(he_cls_t cls, const s_val_t *a, const s_val_t *b)
{
    if (cls != HE_C_STR && cls != HE_C_YM) {
        return (a->i > b->i) - (a->i < b->i);
    }
    uint32_t n = a->len < b->len ? a->len : b->len;
    int c = n ? memcmp(a->s, b->s, n) : 0;
    return c ? (c > 0) - (c < 0) : (a->len > b->len) - (a->len < b->len);
}

static bool
s_test(he_op_t op, int c)
{
    switch (op) {
    case HE_EQ:
        return c == 0;
    case HE_NE:
        return c != 0;
    case HE_LT:
        return c < 0;
    case HE_LE:
        return c <= 0;
    case HE_GT:
        return c > 0;
    default:
        return c >= 0;
    }
}

static bool
s_cmp(const hub_expr_t *self, const hub_msg_t *msg, const hub_expr_lookup_t *lk, const he_node_t *n)
{
    s_val_t a, b;
    if (!s_value(self, msg, lk, n->a, &a) || !s_value(self, msg, lk, n->b, &b)) {
        return false; // an absent field makes every comparison false
    }
    return s_test((he_op_t) n->op, s_order((he_cls_t) n->cls, &a, &b));
}

static bool
s_in(const hub_expr_t *self, const hub_msg_t *msg, const hub_expr_lookup_t *lk, const he_node_t *n)
{
    s_val_t x, item;
    if (!s_value(self, msg, lk, n->a, &x)) {
        return false; // "not in" too: an absent field is in no list and out of none
    }
    bool found = false;
    for (size_t k = 0; k < n->n && !found; k++) {
        found = s_value(self, msg, lk, (size_t) n->b + k, &item) &&
                s_order((he_cls_t) n->cls, &x, &item) == 0;
    }
    return n->op ? !found : found;
}

static bool
s_has(const hub_expr_t *self, const hub_msg_t *msg, const hub_expr_lookup_t *lk, const he_node_t *n)
{
    s_val_t x, item;
    const hub_val_t *list = s_field(self, msg, &self->nodes[n->b]);
    if (!list || list->kind != HUB_VAL_LIST || !s_value(self, msg, lk, n->a, &x)) {
        return false;
    }
    bool found = false;
    for (uint32_t k = 0; k < list->len && !found; k++) {
        found = s_read(&list->u.items[k], (he_cls_t) n->cls, &item) &&
                s_order((he_cls_t) n->cls, &x, &item) == 0;
    }
    return n->op ? !found : found;
}

static bool
s_starts(const hub_expr_t *self, const hub_msg_t *msg, const he_node_t *n)
{
    const hub_val_t *v = s_field(self, msg, &self->nodes[n->a]);
    const he_node_t *pre = &self->nodes[n->b];
    return v && v->kind == HUB_VAL_STR && v->len >= pre->len &&
           memcmp(v->u.s, self->pool + pre->off, pre->len) == 0;
}

// listed("list", path): asks LK; no lookup (or an absent or non-string
// key) means not listed, so a rule that needs a list fails closed.
static bool
s_listed(const hub_expr_t *self, const hub_msg_t *msg, const hub_expr_lookup_t *lk,
         const he_node_t *n)
{
    const hub_val_t *v = s_field(self, msg, &self->nodes[n->a]);
    if (!lk || !lk->listed || !v || v->kind != HUB_VAL_STR) {
        return false;
    }
    return lk->listed(lk->ctx, n->n, v->u.s, v->len);
}

// A chain of one kind (and, or): right operands in turn, down the left spine.
static bool
s_chain(const hub_expr_t *self, const hub_msg_t *msg, const hub_expr_lookup_t *lk,
        const he_node_t *n)
{
    he_kind_t kind = (he_kind_t) n->kind;
    bool stop = kind == HE_OR; // the value that decides the chain
    for (; n->kind == kind; n = &self->nodes[n->a]) {
        if (s_eval(self, msg, lk, n->b) == stop) {
            return stop;
        }
    }
    return s_eval(self, msg, lk, (size_t) (n - self->nodes));
}

static bool
s_eval(const hub_expr_t *self, const hub_msg_t *msg, const hub_expr_lookup_t *lk, size_t at)
{
    const he_node_t *n = &self->nodes[at];
    s_val_t v;
    switch (n->kind) {
    case HE_OR:
    case HE_AND:
        return s_chain(self, msg, lk, n);
    case HE_NOT:
        return !s_eval(self, msg, lk, n->a);
    case HE_CMP:
        return s_cmp(self, msg, lk, n);
    case HE_IN:
        return s_in(self, msg, lk, n);
    case HE_HAS:
        return s_has(self, msg, lk, n);
    case HE_EXISTS: {
        const hub_val_t *f = s_field(self, msg, &self->nodes[n->a]);
        return f && f->kind != HUB_VAL_NONE;
    }
    case HE_STARTS:
        return s_starts(self, msg, n);
    case HE_LISTED:
        return s_listed(self, msg, lk, n);
    default: // true, false, a bool field
        return s_value(self, msg, lk, at, &v) && v.i != 0;
    }
}

bool
hub_expr_eval(const hub_expr_t *self, const hub_msg_t *msg)
{
    return hub_expr_eval_with(self, msg, NULL);
}

bool
hub_expr_eval_with(const hub_expr_t *self, const hub_msg_t *msg, const hub_expr_lookup_t *lk)
{
    assert(self && msg);
    return s_eval(self, msg, lk, self->root);
}

const char *
hub_expr_source(const hub_expr_t *self)
{
    assert(self);
    return self->pool;
}

void
hub_expr_destroy(hub_expr_t **self_p)
{
    if (self_p && *self_p) {
        free(*self_p);
        *self_p = NULL;
    }
}

// The source must be short and valid UTF-8 before the lexer counts columns.
static bool
s_precheck(he_parser_t *p)
{
    size_t bad;
    if (p->len > HUB_EXPR_MAX_LEN) {
        he_error(p, 0, "limit", "condition is %zu bytes long; at most %d allowed", p->len,
                 HUB_EXPR_MAX_LEN);
        return false;
    }
    if (!hub_utf8_valid(p->src, p->len, &bad)) {
        he_error(p, bad, "expr_syntax", "not valid UTF-8 (byte %zu of the condition)", bad);
        return false;
    }
    return true;
}

// One allocation: header, the nodes, the pool.
static int
s_pack(const he_parser_t *p, int root, hub_expr_t **out)
{
    size_t nodes = p->nnodes * sizeof(he_node_t);
    hub_expr_t *self = malloc(sizeof *self + nodes + p->pool_len);
    if (!self) {
        return HUB_ENOMEM;
    }
    char *pool = (char *) self->nodes + nodes;
    memcpy(self->nodes, p->nodes, nodes);
    memcpy(pool, p->pool, p->pool_len);
    self->nnodes = p->nnodes;
    self->root = (size_t) root;
    self->pool = pool;
    *out = self;
    return HUB_OK;
}

int
hub_expr_compile(hub_expr_t **out, const char *src, size_t len, const hub_schema_t *const *schemas,
                 size_t nschemas, const hub_expr_origin_t *origin, hub_diag_t *diag)
{
    return hub_expr_compile_with(out, src, len, schemas, nschemas, origin, NULL, 0, diag);
}

int
hub_expr_compile_with(hub_expr_t **out, const char *src, size_t len,
                      const hub_schema_t *const *schemas, size_t nschemas,
                      const hub_expr_origin_t *origin, const char *const *lists, size_t nlists,
                      hub_diag_t *diag)
{
    assert(out && (src || len == 0) && (schemas || nschemas == 0));
    *out = NULL;
    he_parser_t *p = calloc(1, sizeof *p); // its node table is too big for the stack
    if (!p) {
        return HUB_ENOMEM;
    }
    p->src = src ? src : "";
    p->len = len;
    p->origin = origin;
    p->schemas = schemas;
    p->nschemas = nschemas;
    p->diag = diag;
    p->lists = lists;
    p->nlists = nlists;
    int rc = HUB_ECONFIG;
    // The pool holds the source and its NUL, then each string literal
    // unescaped with a NUL (no longer than its token with the quotes) and
    // each month with a NUL (8 bytes for a 7-byte token): 2 * LEN is room.
    p->pool_cap = 2 * len + 16;
    if (s_precheck(p) && (p->pool = malloc(p->pool_cap)) != NULL) {
        memcpy(p->pool, p->src, len);
        p->pool[len] = '\0';
        p->pool_len = len + 1;
        int root = he_parse(p);
        rc = root < 0 ? HUB_ECONFIG : s_pack(p, root, out);
    } else if (!p->failed) {
        rc = HUB_ENOMEM;
    }
    free(p->pool);
    free(p);
    return rc;
}
