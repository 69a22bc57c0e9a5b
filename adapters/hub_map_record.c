#include "hub_map_int.h"

#include "hub_error.h"
#include "hub_ids.h"
#include "hub_jsonl.h"
#include "hub_utf8.h"
#include "hub_validate.h"
#include "hub_xform.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

// One record being mapped.
typedef struct {
    hubc_map_t *self;
    const hubc_map_src_t *src;
    hub_msg_t *msg;
    hubc_map_result_t *res;
    const hubc_msgmap_t *mm; // the record's type
} s_rec_t;

// A converted value: a string in self->conv (OFF, LEN), or a number.
typedef struct {
    hub_val_kind_t kind;
    size_t off, len;
    int64_t i;
    bool b;
} s_item_t;

void
hubc_map_id(const char *dept, const char *type, const char *const *keys, const size_t *lens,
            size_t nkeys, char out[33])
{
    static const char hex[] = "0123456789abcdef";
    crypto_hash_sha256_state st;
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const unsigned char *) dept, strlen(dept));
    crypto_hash_sha256_update(&st, (const unsigned char *) "", 1);
    crypto_hash_sha256_update(&st, (const unsigned char *) type, strlen(type));
    for (size_t i = 0; i < nkeys; i++) {
        crypto_hash_sha256_update(&st, (const unsigned char *) "", 1);
        crypto_hash_sha256_update(&st, (const unsigned char *) keys[i], lens[i]);
    }
    crypto_hash_sha256_final(&st, h);
    for (int i = 0; i < 16; i++) {
        out[2 * i] = hex[h[i] >> 4];
        out[2 * i + 1] = hex[h[i] & 15];
    }
    out[32] = '\0';
}

// ------------------------------------------------------------------ helpers

int
hubc_clean(const char *s, size_t len, hub_buf_t *out)
{
    hubc_trim(&s, &len);
    out->len = 0;
    if (hub_buf_append(out, s, len) != HUB_OK || !hub_buf_cstr(out)) {
        return HUB_ENOMEM;
    }
    out->len = hubc_halfwidth((char *) out->data, out->len);
    out->data[out->len] = '\0';
    return HUB_OK;
}

int
hubc_pair_cmp(const void *a, const void *b)
{
    const hubc_pair_t *x = a, *y = b;
    return hub_bytes_cmp(x->from, x->from_len, y->from, y->from_len);
}

const hubc_pair_t *
hubc_pair_find(const hubc_pair_t *pairs, size_t n, const char *s, size_t len)
{
    hubc_pair_t key = {s, len, NULL};
    return n ? bsearch(&key, pairs, n, sizeof *pairs, hubc_pair_cmp) : NULL;
}

const char *
hubc_map_name(const hubc_map_t *self)
{
    return self->name;
}

const char *
hubc_map_department(const hubc_map_t *self)
{
    return self->department;
}

const char *
hubc_map_endpoint(const hubc_map_t *self)
{
    return self->endpoint;
}

const hubc_map_input_t *
hubc_map_input(const hubc_map_t *self)
{
    return &self->input;
}

size_t
hubc_map_ncolumns(const hubc_map_t *self)
{
    return self->ncolumns;
}

const char *
hubc_map_column(const hubc_map_t *self, size_t i)
{
    return i < self->ncolumns ? self->columns[i] : NULL;
}

// The time now as RFC 3339 with the local offset (+08:00 in China).
static void
s_now(char out[40])
{
    time_t t = time(NULL);
    struct tm tm;
    char z[8];
    if (!localtime_r(&t, &tm) || strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm) == 0 ||
        strftime(z, sizeof z, "%z", &tm) != 5) {
        snprintf(out, 40, "1970-01-01T00:00:00Z");
        return;
    }
    size_t n = strlen(out);
    snprintf(out + n, 40 - n, "%.3s:%.2s", z, z + 3);
}

void
hubc_map_set_recorded_at(hubc_map_t *self, const char *rfc3339)
{
    if (rfc3339) {
        snprintf(self->recorded_at, sizeof self->recorded_at, "%s", rfc3339);
    } else {
        s_now(self->recorded_at);
    }
}

// ------------------------------------------------------------------ one record

// Copies the LEN bytes at S into OUT (SIZE bytes) as a string, cut at a
// character boundary, with control characters shown as spaces.
static void
s_copy(char *out, size_t size, const char *s, size_t len)
{
    size_t n = len < size - 1 ? len : size - 1;
    while (n > 0 && n < len && ((unsigned char) s[n] & 0xC0) == 0x80) {
        n--;
    }
    for (size_t i = 0; i < n; i++) {
        out[i] = (unsigned char) s[i] < 0x20 ? ' ' : s[i];
    }
    out[n] = '\0';
    size_t bad;
    if (!hub_utf8_valid(out, n, &bad)) {
        out[bad] = '\0';
    }
}

static void
s_reject(s_rec_t *r, const char *reason, const char *column, const char *value, size_t vlen,
         const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void
s_reject(s_rec_t *r, const char *reason, const char *column, const char *value, size_t vlen,
         const char *fmt, ...)
{
    hubc_map_result_t *res = r->res;
    char text[sizeof res->text];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    res->status = HUBC_REJECTED;
    res->reason = reason;
    s_copy(res->column, sizeof res->column, column, strlen(column));
    s_copy(res->value, sizeof res->value, value ? value : "", value ? vlen : 0);
    s_copy(res->text, sizeof res->text, text, strlen(text));
}

// The column to blame for FM: its one source column, else its path.
static const char *
s_blame(const hubc_map_t *self, const hubc_fieldmap_t *fm)
{
    return fm->ncols == 1 ? self->columns[fm->cols[0]] : fm->path;
}

// Column COL's text; false (the record rejected) when the source lacks it.
static bool
s_cell(s_rec_t *r, size_t col, const char **s, size_t *len)
{
    if (r->src->cell(r->src->ctx, col, s, len)) {
        return true;
    }
    const char *name = r->self->columns[col];
    s_reject(r, "missing_column", name, "", 0, "the input has no column '%s'", name);
    return false;
}

static bool
s_rejected(const s_rec_t *r)
{
    return r->res->status == HUBC_REJECTED;
}

// Line breaks and tabs inside a value (Excel's multi-line cells): a text
// field keeps line breaks (as LF); any other field gets one space instead.
static void
s_flatten(hub_buf_t *b, bool text)
{
    char *p = (char *) b->data;
    size_t w = 0;
    for (size_t r = 0; r < b->len; r++) {
        char c = p[r];
        if (c == '\r' || c == '\n' || (c == '\t' && !text)) {
            bool crlf = c == '\r' && r + 1 < b->len && p[r + 1] == '\n';
            r += crlf;
            c = text && c != '\t' ? '\n' : ' ';
            if (c == ' ' && w > 0 && p[w - 1] == ' ') {
                continue;
            }
        }
        p[w++] = c;
    }
    b->len = w;
    p[w] = '\0';
}

// The cells of FM's columns, each trimmed and half-width, the non-empty
// ones joined by FM's join, into self->scratch.
static int
s_join(s_rec_t *r, const hubc_fieldmap_t *fm)
{
    hub_buf_t *join = &r->self->conv, *cell = &r->self->scratch;
    join->len = 0;
    for (size_t i = 0; i < fm->ncols; i++) {
        const char *s;
        size_t len;
        if (!s_cell(r, fm->cols[i], &s, &len)) {
            return HUB_OK;
        }
        int rc = hubc_clean(s, len, cell);
        if (!rc && cell->len && join->len) {
            rc = hub_buf_puts(join, fm->join);
        }
        rc = rc ? rc : hub_buf_append(join, cell->data, cell->len);
        if (rc) {
            return rc;
        }
    }
    cell->len = 0;
    int rc = hub_buf_append(cell, join->data, join->len);
    return rc ? rc : hub_buf_cstr(cell) ? HUB_OK : HUB_ENOMEM;
}

// FM's text into self->scratch: the cell(s) or constant, trimmed and
// half-width, line breaks flattened, defaulted when empty, and mapped (a
// list is mapped per item). HUB_OK also when the record was rejected (a
// missing column).
static int
s_text(s_rec_t *r, const hubc_fieldmap_t *fm)
{
    hub_buf_t *b = &r->self->scratch;
    const char *s = fm->konst ? fm->konst : "";
    size_t len = strlen(s);
    int rc = HUB_OK;
    if (fm->ncols > 1) {
        rc = s_join(r, fm);
    } else if (fm->ncols == 0 || s_cell(r, fm->cols[0], &s, &len)) {
        rc = hubc_clean(s, len, b);
    }
    if (rc || s_rejected(r)) {
        return rc;
    }
    if (b->len == 0 && fm->dflt) {
        rc = hubc_clean(fm->dflt, strlen(fm->dflt), b);
    }
    if (!rc && b->len && strpbrk((const char *) b->data, "\r\n\t")) {
        s_flatten(b, fm->type == HUB_FT_TEXT);
    }
    const hubc_pair_t *p = !rc && fm->nmap && !fm->list && b->len
                               ? hubc_pair_find(fm->map, fm->nmap, (const char *) b->data, b->len)
                               : NULL;
    return rc || !p ? rc : hubc_clean(p->to, strlen(p->to), b);
}

// Applies AS to S (LEN bytes): a string result in *STR (perhaps OUT), a
// number in IT. Returns NULL, or the reason it is refused (DETAIL says why).
static const char *
s_as(hubc_as_t as, const char *s, size_t len, char out[40], const char **str, s_item_t *it,
     char *detail, size_t size)
{
    *str = out;
    switch (as) {
    case HUBC_AS_DATE:
        return hubc_xf_date(s, len, out, detail, size);
    case HUBC_AS_YEARMONTH:
        return hubc_xf_yearmonth(s, len, out, detail, size);
    case HUBC_AS_DATETIME:
        return hubc_xf_datetime(s, len, out, detail, size);
    case HUBC_AS_CITIZEN_ID: {
        hub_ids_reason_t ir = hub_cid_normalize(s, len, out, detail, size);
        *str = ir == HUB_IDS_OK ? out : s; // other faults: the validator names them
        return ir == HUB_IDS_SCIENTIFIC ? "scientific_notation" : NULL;
    }
    case HUBC_AS_YUAN:
        it->kind = HUB_VAL_INT;
        return hubc_xf_yuan(s, len, &it->i, detail, size);
    case HUBC_AS_INT:
        it->kind = HUB_VAL_INT;
        return hubc_xf_int(s, len, &it->i, detail, size);
    case HUBC_AS_BOOL:
        it->kind = HUB_VAL_BOOL;
        return hubc_xf_bool(s, len, &it->b, detail, size);
    default:
        *str = s;
        return NULL;
    }
}

// Converts S (LEN bytes) by FM's `as` into IT (strings go to self->conv).
// HUB_OK also when the record was rejected.
static int
s_convert(s_rec_t *r, const hubc_fieldmap_t *fm, const char *s, size_t len, s_item_t *it)
{
    char out[40] = "", detail[HUBC_XF_DETAIL_MAX] = "";
    const char *str;
    *it = (s_item_t){.kind = HUB_VAL_STR};
    const char *why = s_as(fm->as, s, len, out, &str, it, detail, sizeof detail);
    if (why) {
        s_reject(r, why, s_blame(r->self, fm), s, len, "%s: %s", fm->path, detail);
        return HUB_OK;
    }
    size_t slen = str == out ? strlen(out) : len;
    const hub_code_t *code = NULL;
    if (fm->list && fm->spec && fm->spec->codes && it->kind == HUB_VAL_STR) {
        // The validator does not rewrite list items: names become codes here.
        code = hub_codes_match(fm->spec->codes, str, slen);
    }
    if (code) {
        str = code->code;
        slen = strlen(str);
    }
    it->off = r->self->conv.len;
    it->len = slen;
    if (it->kind != HUB_VAL_STR) {
        return HUB_OK;
    }
    int rc = hub_buf_append(&r->self->conv, str, slen);
    return rc ? rc : hub_buf_append(&r->self->conv, "", 1);
}

static hub_val_t
s_val(const hubc_map_t *self, const s_item_t *it)
{
    switch (it->kind) {
    case HUB_VAL_INT:
        return hub_val_int(it->i);
    case HUB_VAL_BOOL:
        return hub_val_bool(it->b);
    default:
        return hub_val_str((const char *) self->conv.data + it->off, it->len);
    }
}

static int
s_set(s_rec_t *r, const hubc_fieldmap_t *fm, const hub_val_t *v)
{
    if (fm->subj >= 0) {
        return hub_msg_set_subj(r->msg, (hub_subj_t) fm->subj, v);
    }
    if (fm->body) {
        return hub_msg_body_set(r->msg, fm->body, strlen(fm->body), v);
    }
    return hub_msg_set_env(r->msg, HUB_ENV_EVENT_DATE, v);
}

// The end of the list item starting at AT in the N bytes at P: the next
// separator (a JSON array's, else FM's), or N. *SKIP gets its length.
static size_t
s_item_end(const hubc_fieldmap_t *fm, const char *p, size_t n, size_t at, bool arr, size_t *skip)
{
    const char *sep = arr ? "\x1f" : fm->split;
    size_t k = sep ? strlen(sep) : 0;
    for (size_t i = at; k && i + k <= n; i++) {
        if (memcmp(p + i, sep, k) == 0) {
            *skip = k;
            return i;
        }
    }
    *skip = 1;
    return n;
}

// A list: the text split at FM's separator (or a JSON array's items),
// each item trimmed, mapped and converted.
static int
s_list(s_rec_t *r, const hubc_fieldmap_t *fm)
{
    hubc_map_t *self = r->self;
    const char *p = (const char *) self->scratch.data;
    size_t n = self->scratch.len, skip = 1, count = 0;
    bool arr = memchr(p, HUBC_JSONL_ITEM_SEP, n) != NULL;
    self->conv.len = self->items.len = 0;
    int rc = HUB_OK;
    for (size_t at = 0; !rc && !s_rejected(r) && at < n; at += skip) {
        size_t end = s_item_end(fm, p, n, at, arr, &skip);
        const char *s = p + at;
        size_t len = end - at;
        hubc_trim(&s, &len);
        at = end;
        const hubc_pair_t *m = len ? hubc_pair_find(fm->map, fm->nmap, s, len) : NULL;
        s = m ? m->to : s;
        len = m ? strlen(m->to) : len;
        s_item_t it;
        rc = len ? s_convert(r, fm, s, len, &it) : HUB_OK;
        rc = rc || !len || s_rejected(r) ? rc : hub_buf_append(&self->items, &it, sizeof it);
        count += len && !rc && !s_rejected(r);
    }
    if (rc || s_rejected(r) || count == 0) {
        return rc;
    }
    hub_val_t *vals = hub_arena_alloc(hub_msg_arena(r->msg), count * sizeof *vals);
    if (!vals) {
        return HUB_ENOMEM;
    }
    const s_item_t *items = (const s_item_t *) self->items.data;
    for (size_t i = 0; i < count; i++) {
        vals[i] = s_val(self, &items[i]);
    }
    hub_val_t v = {.kind = HUB_VAL_LIST, .len = (uint32_t) count, .u.items = vals};
    return s_set(r, fm, &v);
}

static int
s_field(s_rec_t *r, const hubc_fieldmap_t *fm)
{
    int rc = s_text(r, fm);
    if (rc || s_rejected(r) || r->self->scratch.len == 0) {
        return rc; // an empty value gives no field
    }
    if (fm->list) {
        return s_list(r, fm);
    }
    s_item_t it;
    r->self->conv.len = 0;
    rc = s_convert(r, fm, (const char *) r->self->scratch.data, r->self->scratch.len, &it);
    if (rc || s_rejected(r)) {
        return rc;
    }
    hub_val_t v = s_val(r->self, &it);
    return s_set(r, fm, &v);
}

// The record's type (by type_from), or NULL when skipped or rejected.
static const hubc_msgmap_t *
s_pick(s_rec_t *r)
{
    hubc_map_t *self = r->self;
    if (self->fixed) {
        return self->fixed;
    }
    const char *s;
    size_t len;
    if (!s_cell(r, self->tf_col, &s, &len) || hubc_clean(s, len, &self->scratch) != HUB_OK) {
        return NULL;
    }
    const char *v = (const char *) self->scratch.data;
    if (hubc_pair_find(self->tf_skip, self->ntf_skip, v, self->scratch.len)) {
        r->res->status = HUBC_SKIPPED;
        return NULL;
    }
    const hubc_pair_t *p = hubc_pair_find(self->tf_values, self->ntf_values, v, self->scratch.len);
    for (size_t i = 0; p && i < self->nmsgs; i++) {
        if (self->msgs[i].type && strcmp(self->msgs[i].type, p->to) == 0) {
            return &self->msgs[i];
        }
    }
    char known[160] = "";
    for (size_t i = 0, used = 0; i < self->ntf_values && used < sizeof known - 1; i++) {
        int w = snprintf(known + used, sizeof known - used, "%s%s", i ? ", " : "",
                         self->tf_values[i].from);
        used += w > 0 ? (size_t) w : 0;
    }
    s_reject(r, "unknown_type_value", self->columns[self->tf_col], v, self->scratch.len,
             "'%s' is not one of the values that choose a type (%s)", v, known);
    return NULL;
}

// The key values, normalised; the id and source_ref from them.
static int
s_keys(s_rec_t *r)
{
    hubc_map_t *self = r->self;
    hub_buf_t *b = &self->keys;
    size_t offs[HUBC_MAP_MAX_KEYS];
    b->len = 0;
    for (size_t k = 0; k < self->nkey && k < HUBC_MAP_MAX_KEYS; k++) {
        const char *s;
        size_t len;
        char cid[19];
        if (!s_cell(r, self->key[k], &s, &len)) {
            return HUB_OK;
        }
        hubc_trim(&s, &len);
        if (self->key_cid[k] && hub_cid_normalize(s, len, cid, NULL, 0) == HUB_IDS_OK) {
            s = cid;
            len = 18;
        }
        offs[k] = b->len;
        self->kl[k] = len;
        if (hub_buf_append(b, s, len) || hub_buf_append(b, "", 1)) {
            return HUB_ENOMEM;
        }
    }
    size_t n = self->nkey < HUBC_MAP_MAX_KEYS ? self->nkey : HUBC_MAP_MAX_KEYS;
    for (size_t k = 0; k < n; k++) {
        self->kv[k] = (const char *) b->data + offs[k];
    }
    hubc_map_id(self->department, r->mm->type, self->kv, self->kl, n, r->res->id);
    hub_buf_t *ref = &self->scratch;
    ref->len = 0;
    for (size_t k = 0; k < n; k++) {
        if ((k && hub_buf_append(ref, "/", 1)) || hub_buf_append(ref, self->kv[k], self->kl[k])) {
            return HUB_ENOMEM;
        }
    }
    const char *sref = hub_buf_cstr(ref);
    return sref ? hub_msg_set_env_str(r->msg, HUB_ENV_SOURCE_REF, sref) : HUB_ENOMEM;
}

static int
s_envelope(s_rec_t *r)
{
    hub_val_t ver = hub_val_int(r->mm->schema->version);
    int rc = hub_msg_set_env_str(r->msg, HUB_ENV_ID, r->res->id);
    rc = rc ? rc : hub_msg_set_env_str(r->msg, HUB_ENV_TYPE, r->mm->type);
    rc = rc ? rc : hub_msg_set_env(r->msg, HUB_ENV_SCHEMA_VERSION, &ver);
    rc = rc ? rc : hub_msg_set_env_str(r->msg, HUB_ENV_SOURCE, r->self->department);
    return rc ? rc : hub_msg_set_env_str(r->msg, HUB_ENV_RECORDED_AT, r->self->recorded_at);
}

// The validator's first error, as a rejection naming the source column.
static void
s_invalid(s_rec_t *r)
{
    const hub_diag_entry_t *e = NULL;
    for (size_t i = 0; i < hub_diag_count(r->self->vdiag) && !e; i++) {
        e = hub_diag_at(r->self->vdiag, i);
        e = e->sev == HUB_DIAG_ERROR ? e : NULL;
    }
    if (!e) {
        s_reject(r, "invalid", "", "", 0, "the message is not valid");
        return;
    }
    char path[HUB_DIAG_WHERE_MAX];
    snprintf(path, sizeof path, "%s", e->where);
    path[strcspn(path, "[")] = '\0';
    const hubc_fieldmap_t *fm = NULL;
    for (size_t i = 0; i < r->mm->nfields && !fm; i++) {
        fm = r->mm->fields[i].path && strcmp(r->mm->fields[i].path, path) == 0 ? &r->mm->fields[i]
                                                                               : NULL;
    }
    // The value as the source wrote it, when one column gave it; else as
    // the message holds it.
    const char *value = "";
    size_t len = 0;
    char num[24] = "";
    const hub_val_t *v = hub_msg_get_path(r->msg, path);
    if (fm && fm->ncols == 1 && r->src->cell(r->src->ctx, fm->cols[0], &value, &len)) {
        hubc_trim(&value, &len);
    } else if (v && v->kind == HUB_VAL_STR) {
        value = v->u.s;
        len = v->len;
    } else if (v && v->kind == HUB_VAL_INT) {
        snprintf(num, sizeof num, "%lld", (long long) v->u.i);
        value = num;
        len = strlen(num);
    }
    s_reject(r, e->reason, fm ? s_blame(r->self, fm) : path, value, len, "%s: %s", e->where,
             e->text);
}

int
hubc_map_record(hubc_map_t *self, const hubc_map_src_t *src, hub_msg_t *msg, hubc_map_result_t *res)
{
    memset(res, 0, sizeof *res);
    hub_msg_reset(msg);
    s_rec_t r = {self, src, msg, res, NULL};
    r.mm = s_pick(&r);
    if (!r.mm) {
        return HUB_OK; // skipped or rejected
    }
    int rc = s_keys(&r);
    rc = rc || s_rejected(&r) ? rc : s_envelope(&r);
    for (size_t i = 0; !rc && !s_rejected(&r) && i < r.mm->nfields; i++) {
        rc = s_field(&r, &r.mm->fields[i]);
    }
    if (rc || s_rejected(&r)) {
        return rc;
    }
    hub_diag_reset(self->vdiag);
    rc = hub_validate(self->schemas, msg, HUB_VALIDATE_NORMALIZE, self->vdiag);
    if (rc == HUB_EINVALID) {
        s_invalid(&r);
        rc = HUB_OK;
    }
    return rc;
}
