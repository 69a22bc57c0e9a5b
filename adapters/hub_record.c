#include "hub_record.h"

#include "hub_codec.h"
#include "hub_error.h"
#include "hub_json.h"
#include "hub_mpr.h"
#include "hub_utf8.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define S_NIL SIZE_MAX // a string offset that stands for nil

// A list of strings: offsets into the record's STRS (S_NIL for nil).
typedef struct {
    size_t *at;
    size_t n, cap;
} s_list_t;

struct hubc_record {
    uint64_t seq;
    hub_buf_t strs; // every string kept, each NUL-terminated
    size_t id, origin_id, type, ruleset, received_at;
    s_list_t rules, purposes, legal_bases;
    s_list_t paths, masks; // DELIVER.fields: path and mask, parallel
    hub_msg_t *msg;
    hub_buf_t cells;            // CSV: the rendered cells of a row
    size_t *cell_at, *cell_len; // per column
    size_t ncells;
};

hubc_record_t *
hubc_record_new(void)
{
    hubc_record_t *self = calloc(1, sizeof *self);
    if (self && !(self->msg = hub_msg_new())) {
        free(self);
        return NULL;
    }
    return self;
}

void
hubc_record_destroy(hubc_record_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    hubc_record_t *self = *self_p;
    s_list_t *lists[] = {&self->rules, &self->purposes, &self->legal_bases, &self->paths,
                         &self->masks};
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
        free(lists[i]->at);
    }
    hub_buf_free(&self->strs);
    hub_buf_free(&self->cells);
    free(self->cell_at);
    free(self->cell_len);
    hub_msg_destroy(&self->msg);
    free(self);
    *self_p = NULL;
}

uint64_t
hubc_record_seq(const hubc_record_t *self)
{
    return self->seq;
}

static const char *
s_str(const hubc_record_t *self, size_t at)
{
    return at == S_NIL ? NULL : (const char *) self->strs.data + at;
}

const char *
hubc_record_type(const hubc_record_t *self)
{
    return s_str(self, self->type);
}

const hub_msg_t *
hubc_record_msg(const hubc_record_t *self)
{
    return self->msg;
}

// ---------------------------------------------------------------- reading

// Keeps the N bytes at S; *AT gets their offset.
static int
s_keep(hubc_record_t *self, const char *s, size_t n, size_t *at)
{
    *at = self->strs.len;
    return hub_buf_append(&self->strs, s, n) || hub_buf_append(&self->strs, "", 1) ? HUB_ENOMEM
                                                                                   : HUB_OK;
}

static int
s_push(s_list_t *l, size_t at)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 8;
        size_t *grown = realloc(l->at, cap * sizeof *grown);
        if (!grown) {
            return HUB_ENOMEM;
        }
        l->at = grown;
        l->cap = cap;
    }
    l->at[l->n++] = at;
    return HUB_OK;
}

// Reads the next value, a string or (when NIL_OK) nil, and keeps it.
static int
s_read_str(hubc_record_t *self, hub_mpr_t *r, bool nil_ok, size_t *at)
{
    hub_mp_obj_t o;
    if (hub_mpr_next(r, &o) != HUB_OK) {
        return HUB_EDECODE;
    }
    if (o.kind == HUB_MP_NIL && nil_ok) {
        *at = S_NIL;
        return HUB_OK;
    }
    // Strings go into JSON text and CSV cells as they are: UTF-8 only.
    bool text = o.kind == HUB_MP_STR && hub_utf8_valid_text((const char *) o.data, o.len, NULL);
    return text ? s_keep(self, (const char *) o.data, o.len, at) : HUB_EDECODE;
}

// Reads an array of strings (nil items when NIL_OK) into L.
static int
s_read_list(hubc_record_t *self, hub_mpr_t *r, bool nil_ok, s_list_t *l)
{
    hub_mp_obj_t o;
    if (hub_mpr_next(r, &o) != HUB_OK || o.kind != HUB_MP_ARRAY) {
        return HUB_EDECODE;
    }
    int rc = HUB_OK;
    for (uint32_t i = 0; rc == HUB_OK && i < o.len; i++) {
        size_t at;
        rc = s_read_str(self, r, nil_ok, &at);
        rc = rc ? rc : s_push(l, at);
    }
    return rc;
}

// Reads DELIVER.fields: [{mask, path, rule}], keeping path and mask.
static int
s_read_fields(hubc_record_t *self, hub_mpr_t *r)
{
    hub_mp_obj_t o;
    if (hub_mpr_next(r, &o) != HUB_OK || o.kind != HUB_MP_ARRAY) {
        return HUB_EDECODE;
    }
    for (uint32_t i = 0; i < o.len; i++) {
        hub_mpr_t item = *r;
        size_t path, mask;
        if (hub_mpr_find(&item, "path") || s_read_str(self, &item, false, &path)) {
            return HUB_EDECODE;
        }
        item = *r;
        if (hub_mpr_find(&item, "mask") || s_read_str(self, &item, false, &mask) ||
            s_push(&self->paths, path) || s_push(&self->masks, mask) || hub_mpr_skip(r)) {
            return HUB_EDECODE;
        }
    }
    return HUB_OK;
}

static int
s_read_message(hubc_record_t *self, hub_mpr_t *r, hub_diag_t *diag)
{
    const void *p;
    size_t n;
    if (hub_mpr_bin(r, &p, &n) != HUB_OK) {
        return HUB_EDECODE;
    }
    int rc = hub_codec_decode(self->msg, p, n, NULL, diag);
    if (rc) {
        hub_diag_add(diag, HUB_DIAG_ERROR, "bad_message", "message",
                     "the delivered message does not decode (%s)", hub_strerror(rc));
    }
    return rc;
}

// Reads the value of key K (KN bytes); *SEEN gets a bit per required key.
static int
s_read_pair(hubc_record_t *self, hub_mpr_t *r, const char *k, size_t kn, unsigned *seen,
            hub_diag_t *diag)
{
#define S_KEY(word) (kn == sizeof(word) - 1 && memcmp(k, word, kn) == 0)
    if (S_KEY("seq")) {
        *seen |= 1;
        return hub_mpr_uint(r, &self->seq);
    } else if (S_KEY("id")) {
        *seen |= 2;
        return s_read_str(self, r, false, &self->id);
    } else if (S_KEY("type")) {
        *seen |= 4;
        return s_read_str(self, r, false, &self->type);
    } else if (S_KEY("message")) {
        *seen |= 8;
        return s_read_message(self, r, diag);
    } else if (S_KEY("origin_id")) {
        return s_read_str(self, r, true, &self->origin_id);
    } else if (S_KEY("ruleset")) {
        return s_read_str(self, r, true, &self->ruleset);
    } else if (S_KEY("rules")) {
        return s_read_list(self, r, false, &self->rules);
    } else if (S_KEY("purposes")) {
        return s_read_list(self, r, true, &self->purposes);
    } else if (S_KEY("legal_bases")) {
        return s_read_list(self, r, true, &self->legal_bases);
    } else if (S_KEY("fields")) {
        return s_read_fields(self, r);
    }
    return hub_mpr_skip(r);
#undef S_KEY
}

static void
s_clear(hubc_record_t *self)
{
    self->seq = 0;
    self->strs.len = 0;
    self->id = self->origin_id = self->type = self->ruleset = self->received_at = S_NIL;
    self->rules.n = self->purposes.n = self->legal_bases.n = self->paths.n = self->masks.n = 0;
    hub_msg_reset(self->msg);
}

int
hubc_record_read(hubc_record_t *self, const void *body, size_t len, const char *received_at,
                 hub_diag_t *diag)
{
    static const char *const required[] = {"seq", "id", "type", "message"};
    s_clear(self);
    hub_mpr_t r;
    hub_mp_obj_t o;
    hub_mpr_init(&r, body, len);
    if (hub_mpr_next(&r, &o) != HUB_OK || o.kind != HUB_MP_MAP) {
        hub_diag_add(diag, HUB_DIAG_ERROR, "malformed", "DELIVER", "the body is not a map");
        return HUB_EDECODE;
    }
    unsigned seen = 0;
    int rc = s_keep(self, received_at, strlen(received_at), &self->received_at);
    for (uint32_t i = 0; rc == HUB_OK && i < o.len; i++) {
        const char *k = "";
        size_t kn = 0;
        size_t errors = hub_diag_errors(diag);
        rc = hub_mpr_str(&r, &k, &kn);
        rc = rc ? rc : s_read_pair(self, &r, k, kn, &seen, diag);
        if (rc && rc != HUB_ENOMEM && hub_diag_errors(diag) == errors) {
            hub_diag_add(diag, HUB_DIAG_ERROR, "malformed", "DELIVER",
                         "key '%.*s': not what docs/PROTOCOL.md says it holds", (int) kn, k);
        }
    }
    for (int i = 0; rc == HUB_OK && i < 4; i++) {
        if (!(seen & (1u << i))) {
            hub_diag_add(diag, HUB_DIAG_ERROR, "malformed", "DELIVER", "key %s is missing",
                         required[i]);
            rc = HUB_EDECODE;
        }
    }
    return rc;
}

// ---------------------------------------------------------------- JSON

// Appends S (valid UTF-8) as a JSON string; NULL as null.
static int
s_json_str(hub_buf_t *out, const char *s)
{
    if (!s) {
        return hub_buf_puts(out, "null");
    }
    int rc = hub_buf_append(out, "\"", 1);
    for (const char *from = s; rc == HUB_OK; s++) {
        unsigned char c = (unsigned char) *s;
        if (c >= 0x20 && c != '"' && c != '\\') {
            continue;
        }
        rc = hub_buf_append(out, from, (size_t) (s - from));
        from = s + 1;
        if (c == 0) {
            break;
        }
        rc = rc                      ? rc
             : c == '"' || c == '\\' ? hub_buf_printf(out, "\\%c", c)
             : c == '\n'             ? hub_buf_puts(out, "\\n")
             : c == '\r'             ? hub_buf_puts(out, "\\r")
             : c == '\t'             ? hub_buf_puts(out, "\\t")
                                     : hub_buf_printf(out, "\\u%04x", c);
    }
    return rc ? rc : hub_buf_append(out, "\"", 1);
}

static int
s_json_list(const hubc_record_t *self, const s_list_t *l, hub_buf_t *out)
{
    int rc = hub_buf_append(out, "[", 1);
    for (size_t i = 0; rc == HUB_OK && i < l->n; i++) {
        rc = i ? hub_buf_append(out, ",", 1) : HUB_OK;
        rc = rc ? rc : s_json_str(out, s_str(self, l->at[i]));
    }
    return rc ? rc : hub_buf_append(out, "]", 1);
}

// True when field I is masked: no rule released its path unmasked, and no
// earlier field has the same path (each path is listed once).
static bool
s_masked(const hubc_record_t *self, size_t i)
{
    const char *path = s_str(self, self->paths.at[i]);
    for (size_t j = 0; j < self->paths.n; j++) {
        bool same = strcmp(s_str(self, self->paths.at[j]), path) == 0;
        if (same && (strcmp(s_str(self, self->masks.at[j]), "none") == 0 || j < i)) {
            return false;
        }
    }
    return true;
}

static int
s_json_masked(const hubc_record_t *self, hub_buf_t *out)
{
    int rc = hub_buf_append(out, "{", 1);
    bool any = false;
    for (size_t i = 0; rc == HUB_OK && i < self->paths.n; i++) {
        if (!s_masked(self, i)) {
            continue;
        }
        rc = any ? hub_buf_append(out, ",", 1) : HUB_OK;
        rc = rc ? rc : s_json_str(out, s_str(self, self->paths.at[i]));
        rc = rc ? rc : hub_buf_append(out, ":", 1);
        rc = rc ? rc : s_json_str(out, s_str(self, self->masks.at[i]));
        any = true;
    }
    return rc ? rc : hub_buf_append(out, "}", 1);
}

int
hubc_record_json(const hubc_record_t *self, hub_buf_t *out)
{
    const s_list_t *lists[] = {&self->rules, &self->purposes, &self->legal_bases};
    static const char *const list_keys[] = {",\"rules\":", ",\"purposes\":", ",\"legal_bases\":"};
    int rc = hub_buf_printf(out, "{\"seq\":%" PRIu64 ",\"id\":", self->seq);
    rc = rc ? rc : s_json_str(out, s_str(self, self->id));
    rc = rc ? rc : hub_buf_puts(out, ",\"origin_id\":");
    rc = rc ? rc : s_json_str(out, s_str(self, self->origin_id));
    rc = rc ? rc : hub_buf_puts(out, ",\"type\":");
    rc = rc ? rc : s_json_str(out, s_str(self, self->type));
    for (size_t i = 0; rc == HUB_OK && i < 3; i++) {
        rc = hub_buf_puts(out, list_keys[i]);
        rc = rc ? rc : s_json_list(self, lists[i], out);
    }
    rc = rc ? rc : hub_buf_puts(out, ",\"ruleset\":");
    rc = rc ? rc : s_json_str(out, s_str(self, self->ruleset));
    rc = rc ? rc : hub_buf_puts(out, ",\"masked\":");
    rc = rc ? rc : s_json_masked(self, out);
    rc = rc ? rc : hub_buf_puts(out, ",\"received_at\":");
    rc = rc ? rc : s_json_str(out, s_str(self, self->received_at));
    rc = rc ? rc : hub_buf_puts(out, ",\"message\":");
    rc = rc ? rc : hub_json_from_msg(self->msg, 0, out);
    return rc ? rc : hub_buf_append(out, "}\n", 2);
}

// ---------------------------------------------------------------- CSV

// Appends value V as cell text: lists joined by "; ", money as yuan.
static int
s_cell_val(hub_buf_t *out, const hub_val_t *v, bool yuan)
{
    switch (v->kind) {
    case HUB_VAL_STR:
        return hub_buf_append(out, v->u.s, v->len);
    case HUB_VAL_BOOL:
        return hub_buf_puts(out, v->u.b ? "true" : "false");
    case HUB_VAL_INT: {
        if (!yuan) {
            return hub_buf_printf(out, "%" PRId64, v->u.i);
        }
        uint64_t m = v->u.i < 0 ? 0 - (uint64_t) v->u.i : (uint64_t) v->u.i;
        return hub_buf_printf(out, "%s%" PRIu64 ".%02u", v->u.i < 0 ? "-" : "", m / 100,
                              (unsigned) (m % 100));
    }
    case HUB_VAL_LIST: {
        int rc = HUB_OK;
        for (uint32_t i = 0; rc == HUB_OK && i < v->len; i++) {
            rc = i ? hub_buf_puts(out, "; ") : HUB_OK;
            rc = rc ? rc : s_cell_val(out, &v->u.items[i], yuan);
        }
        return rc;
    }
    case HUB_VAL_NONE:
        break;
    }
    return HUB_OK;
}

static int
s_cell_list(const hubc_record_t *self, const s_list_t *l, hub_buf_t *out)
{
    int rc = HUB_OK;
    for (size_t i = 0; rc == HUB_OK && i < l->n; i++) {
        const char *s = s_str(self, l->at[i]);
        rc = i ? hub_buf_puts(out, "; ") : HUB_OK;
        rc = rc ? rc : hub_buf_puts(out, s ? s : "");
    }
    return rc;
}

// Appends the text of delivery fact KEY (delivery.KEY).
static int
s_cell_fact(hubc_record_t *self, const char *key, hub_buf_t *out)
{
    const s_list_t *list = strcmp(key, "rules") == 0         ? &self->rules
                           : strcmp(key, "purposes") == 0    ? &self->purposes
                           : strcmp(key, "legal_bases") == 0 ? &self->legal_bases
                                                             : NULL;
    if (list) {
        return s_cell_list(self, list, out);
    }
    size_t at = strcmp(key, "id") == 0            ? self->id
                : strcmp(key, "origin_id") == 0   ? self->origin_id
                : strcmp(key, "ruleset") == 0     ? self->ruleset
                : strcmp(key, "received_at") == 0 ? self->received_at
                                                  : S_NIL;
    return at == S_NIL ? HUB_OK : hub_buf_puts(out, s_str(self, at));
}

// Makes room for N cells, all empty.
static int
s_cells_reset(hubc_record_t *self, size_t n)
{
    if (n > self->ncells) {
        size_t *a = realloc(self->cell_at, n * sizeof *a);
        self->cell_at = a ? a : self->cell_at;
        size_t *l = a ? realloc(self->cell_len, n * sizeof *l) : NULL;
        self->cell_len = l ? l : self->cell_len;
        if (!a || !l) {
            return HUB_ENOMEM;
        }
        self->ncells = n;
    }
    memset(self->cell_len, 0, n * sizeof *self->cell_len);
    memset(self->cell_at, 0, n * sizeof *self->cell_at);
    self->cells.len = 0;
    return HUB_OK;
}

int
hubc_record_csv(hubc_record_t *self, const hubc_columns_t *cols, hub_buf_t *out, bool *known)
{
    size_t ncols = hubc_columns_count(cols), n;
    const hubc_column_map_t *maps = hubc_columns_of(cols, s_str(self, self->type), &n, known);
    int rc = s_cells_reset(self, ncols);
    rc = rc ? rc : hub_buf_printf(out, "%" PRIu64, self->seq);
    for (size_t i = 0; rc == HUB_OK && i < n; i++) {
        size_t at = self->cells.len;
        if (strncmp(maps[i].path, "delivery.", 9) == 0) {
            rc = s_cell_fact(self, maps[i].path + 9, &self->cells);
        } else {
            const hub_val_t *v = hub_msg_get_path(self->msg, maps[i].path);
            rc = v ? s_cell_val(&self->cells, v, maps[i].yuan) : HUB_OK;
        }
        self->cell_at[maps[i].column] = at;
        self->cell_len[maps[i].column] = self->cells.len - at;
    }
    for (size_t c = 1; rc == HUB_OK && c < ncols; c++) {
        rc = hub_buf_append(out, ",", 1);
        if (rc == HUB_OK && self->cell_len[c] > 0) {
            rc = hubc_columns_cell(out, (const char *) self->cells.data + self->cell_at[c],
                                   self->cell_len[c]);
        }
    }
    return rc ? rc : hub_buf_append(out, "\r\n", 2);
}
