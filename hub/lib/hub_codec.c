#include "hub_codec.h"

#include "hub_error.h"
#include "hub_utf8.h"

#include <msgpack.h>
#include <string.h>

hub_codec_limits_t
hub_codec_limits_default(void)
{
    hub_codec_limits_t l = {1u << 20, 256, 65536, 1024, 3};
    return l;
}

// ---------------------------------------------------------------- encoding

static int
s_write(void *data, const char *buf, size_t len)
{
    return hub_buf_append(data, buf, len) ? -1 : 0;
}

static int
s_pack_str(msgpack_packer *pk, const char *s, size_t len)
{
    if (msgpack_pack_str(pk, len) || msgpack_pack_str_body(pk, s, len)) {
        return -1;
    }
    return 0;
}

static int
s_pack_val(msgpack_packer *pk, const hub_val_t *v)
{
    switch (v->kind) {
    case HUB_VAL_BOOL:
        return v->u.b ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
    case HUB_VAL_INT:
        return msgpack_pack_int64(pk, v->u.i);
    case HUB_VAL_STR:
        return s_pack_str(pk, v->u.s, v->len);
    case HUB_VAL_LIST:
        if (msgpack_pack_array(pk, v->len)) {
            return -1;
        }
        for (uint32_t i = 0; i < v->len; i++) {
            if (s_pack_val(pk, &v->u.items[i])) {
                return -1;
            }
        }
        return 0;
    case HUB_VAL_NONE:
        break;
    }
    return -1;
}

static size_t
s_subject_count(const hub_msg_t *msg)
{
    size_t n = 0;
    for (int i = 0; i < HUB_SUBJ_COUNT; i++) {
        n += hub_msg_subj(msg, (hub_subj_t) i)->kind != HUB_VAL_NONE;
    }
    return n;
}

static int
s_pack_subject(msgpack_packer *pk, const hub_msg_t *msg, size_t n)
{
    if (msgpack_pack_map(pk, n)) {
        return -1;
    }
    for (int i = 0; i < HUB_SUBJ_COUNT; i++) {  // enum order is sorted order
        const hub_val_t *v = hub_msg_subj(msg, (hub_subj_t) i);
        const char *name = hub_subj_name((hub_subj_t) i);
        if (v->kind != HUB_VAL_NONE &&
            (s_pack_str(pk, name, strlen(name)) || s_pack_val(pk, v))) {
            return -1;
        }
    }
    return 0;
}

static int
s_pack_body(msgpack_packer *pk, const hub_msg_t *msg)
{
    size_t n = hub_msg_body_count(msg);
    if (msgpack_pack_map(pk, n)) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {  // the body is kept sorted
        const hub_field_t *f = hub_msg_body_at(msg, i);
        if (s_pack_str(pk, f->name, f->name_len) || s_pack_val(pk, &f->val)) {
            return -1;
        }
    }
    return 0;
}

// Top-level keys in canonical (sorted) order; -1 is "body", -2 "subject".
static const int s_top_order[] = {
    -1, HUB_ENV_EVENT_DATE, HUB_ENV_ID, HUB_ENV_RECORDED_AT, HUB_ENV_SCHEMA_VERSION,
    HUB_ENV_SOURCE, HUB_ENV_SOURCE_REF, -2, HUB_ENV_TYPE,
};

static int
s_pack_top_key(msgpack_packer *pk, const hub_msg_t *msg, int key, size_t nsubj)
{
    if (key == -1) {
        return s_pack_str(pk, "body", 4) || s_pack_body(pk, msg);
    }
    if (key == -2) {
        return nsubj && (s_pack_str(pk, "subject", 7) || s_pack_subject(pk, msg, nsubj));
    }
    const hub_val_t *v = hub_msg_env(msg, (hub_env_t) key);
    const char *name = hub_env_name((hub_env_t) key);
    return v->kind != HUB_VAL_NONE && (s_pack_str(pk, name, strlen(name)) || s_pack_val(pk, v));
}

int
hub_codec_encode(const hub_msg_t *msg, hub_buf_t *out)
{
    size_t start = out->len;
    size_t nsubj = s_subject_count(msg);
    size_t n = 1 + (nsubj > 0);
    for (int i = 0; i < HUB_ENV_COUNT; i++) {
        n += hub_msg_env(msg, (hub_env_t) i)->kind != HUB_VAL_NONE;
    }
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, s_write);
    int rc = msgpack_pack_map(&pk, n);
    for (size_t i = 0; !rc && i < sizeof s_top_order / sizeof s_top_order[0]; i++) {
        rc = s_pack_top_key(&pk, msg, s_top_order[i], nsubj);
    }
    if (rc) {
        out->len = start;
        return HUB_ENOMEM;
    }
    return HUB_OK;
}

// ---------------------------------------------------------------- decoding

typedef struct {
    const uint8_t *start;        // first byte of the message
    const uint8_t *p;            // next byte to read
    const uint8_t *end;          // one past the last byte
    const hub_codec_limits_t *lim;
    hub_msg_t *msg;
    hub_diag_t *diag;
    char path[96];               // key path of the value being read
} s_reader_t;

static int
s_fail(s_reader_t *r, int rc, const char *reason, const char *text)
{
    char where[HUB_DIAG_WHERE_MAX];
    snprintf(where, sizeof where, "offset %zu%s%s%s", (size_t) (r->p - r->start),
             r->path[0] ? " (" : "", r->path, r->path[0] ? ")" : "");
    hub_diag_add(r->diag, HUB_DIAG_ERROR, reason, where, "%s", text);
    return rc;
}

static int
s_need(s_reader_t *r, size_t n)
{
    if ((size_t) (r->end - r->p) < n) {
        return s_fail(r, HUB_EDECODE, "truncated", "the message ends in the middle of a value");
    }
    return HUB_OK;
}

static uint64_t
s_be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

// Reads a big-endian unsigned integer of N bytes after the type byte.
static int
s_read_be(s_reader_t *r, size_t n, uint64_t *out)
{
    int rc = s_need(r, n);
    if (!rc) {
        *out = s_be(r->p, n);
        r->p += n;
    }
    return rc;
}

static const char *
s_kind_of(uint8_t b)
{
    if (b <= 0x7f || b >= 0xe0 || (b >= 0xcc && b <= 0xd3)) {
        return "an integer";
    }
    if ((b & 0xe0) == 0xa0 || (b >= 0xd9 && b <= 0xdb)) {
        return "a string";
    }
    if ((b & 0xf0) == 0x80 || b == 0xde || b == 0xdf) {
        return "a map";
    }
    if ((b & 0xf0) == 0x90 || b == 0xdc || b == 0xdd) {
        return "an array";
    }
    if (b == 0xc0) {
        return "nil";
    }
    if (b == 0xc2 || b == 0xc3) {
        return "a boolean";
    }
    if (b == 0xca || b == 0xcb) {
        return "a float";
    }
    return (b >= 0xc4 && b <= 0xc6) ? "binary data" : "an extension type";
}

static int
s_wrong(s_reader_t *r, const char *want)
{
    char text[96];
    snprintf(text, sizeof text, "expected %s, found %s", want, s_kind_of(*r->p));
    return s_fail(r, HUB_EDECODE, "wrong_type", text);
}

// Reads a map header; *N gets its size.
static int
s_read_map(s_reader_t *r, uint64_t *n)
{
    int rc = s_need(r, 1);
    if (rc) {
        return rc;
    }
    uint8_t b = *r->p;
    if ((b & 0xf0) == 0x80) {
        *n = b & 0x0f;
        r->p++;
        return HUB_OK;
    }
    if (b == 0xde || b == 0xdf) {
        r->p++;
        return s_read_be(r, b == 0xde ? 2 : 4, n);
    }
    return s_wrong(r, "a map");
}

static int
s_read_str(s_reader_t *r, const char **s, size_t *len)
{
    int rc = s_need(r, 1);
    if (rc) {
        return rc;
    }
    const uint8_t *at = r->p;
    uint8_t b = *r->p;
    uint64_t n;
    if ((b & 0xe0) == 0xa0) {
        n = b & 0x1f;
        r->p++;
    } else if (b >= 0xd9 && b <= 0xdb) {
        r->p++;
        rc = s_read_be(r, (size_t) 1 << (b - 0xd9), &n);
        if (rc) {
            return rc;
        }
    } else {
        return s_wrong(r, "a string");
    }
    if (n > r->lim->max_str) {
        r->p = at;
        return s_fail(r, HUB_ELIMIT, "limit", "string longer than the limit");
    }
    if ((rc = s_need(r, (size_t) n)) != 0) {
        return rc;
    }
    size_t bad;
    if (!hub_utf8_valid((const char *) r->p, (size_t) n, &bad)) {
        r->p += bad;
        return s_fail(r, HUB_EDECODE, "invalid_utf8", "string is not valid UTF-8");
    }
    *s = (const char *) r->p;
    *len = (size_t) n;
    r->p += n;
    return HUB_OK;
}

static int
s_read_int(s_reader_t *r, int64_t *out)
{
    uint8_t b = *r->p;
    uint64_t u;
    if (b <= 0x7f || b >= 0xe0) {
        *out = (int8_t) b;
        r->p++;
        return HUB_OK;
    }
    size_t width = (size_t) 1 << ((b - 0xcc) & 3);
    r->p++;
    int rc = s_read_be(r, width, &u);
    if (rc) {
        return rc;
    }
    if (b <= 0xcf) {  // unsigned forms
        if (u > INT64_MAX) {
            r->p -= width + 1;
            return s_fail(r, HUB_EDECODE, "wrong_type", "integer above 2^63-1");
        }
        *out = (int64_t) u;
    } else {  // signed forms: sign-extend from WIDTH bytes
        unsigned shift = (unsigned) (64 - 8 * width);
        *out = (int64_t) (u << shift) >> shift;
    }
    return HUB_OK;
}

static void
s_path_set(s_reader_t *r, const char *prefix, const char *key, size_t len)
{
    int klen = len > 64 ? 64 : (int) len;
    snprintf(r->path, sizeof r->path, "%s%.*s", prefix, klen, key);
}

// Reads a scalar or (when ALLOW_LIST) a list into V, copying into the arena.
static int s_read_value(s_reader_t *r, hub_val_t *v, bool allow_list);

static int
s_read_list(s_reader_t *r, hub_val_t *v)
{
    uint8_t b = *r->p;
    uint64_t n;
    int rc;
    if ((b & 0xf0) == 0x90) {
        n = b & 0x0f;
        r->p++;
    } else {
        r->p++;
        if ((rc = s_read_be(r, b == 0xdc ? 2 : 4, &n)) != 0) {
            return rc;
        }
    }
    if (r->lim->max_depth < 3) {
        return s_fail(r, HUB_ELIMIT, "limit", "lists nest deeper than the depth limit");
    }
    if (n > r->lim->max_list) {
        return s_fail(r, HUB_ELIMIT, "limit", "list longer than the limit");
    }
    hub_val_t *items = hub_arena_alloc(hub_msg_arena(r->msg), sizeof *items * (n ? n : 1));
    if (!items) {
        return HUB_ENOMEM;
    }
    size_t plen = strlen(r->path);
    for (uint64_t i = 0; i < n; i++) {
        snprintf(r->path + plen, sizeof r->path - plen, "[%llu]", (unsigned long long) i);
        if ((rc = s_read_value(r, &items[i], false)) != 0) {
            return rc;
        }
    }
    r->path[plen] = '\0';
    *v = (hub_val_t){HUB_VAL_LIST, (uint32_t) n, {.items = items}};
    return HUB_OK;
}

static int
s_read_value(s_reader_t *r, hub_val_t *v, bool allow_list)
{
    int rc = s_need(r, 1);
    if (rc) {
        return rc;
    }
    uint8_t b = *r->p;
    if (b <= 0x7f || b >= 0xe0 || (b >= 0xcc && b <= 0xd3)) {
        *v = hub_val_int(0);
        return s_read_int(r, &v->u.i);
    }
    if (b == 0xc2 || b == 0xc3) {
        *v = hub_val_bool(b == 0xc3);
        r->p++;
        return HUB_OK;
    }
    if ((b & 0xe0) == 0xa0 || (b >= 0xd9 && b <= 0xdb)) {
        const char *s;
        size_t len;
        if ((rc = s_read_str(r, &s, &len)) != 0) {
            return rc;
        }
        char *copy = hub_arena_strndup(hub_msg_arena(r->msg), s, len);
        *v = hub_val_str(copy, len);
        return copy ? HUB_OK : HUB_ENOMEM;
    }
    if (allow_list && ((b & 0xf0) == 0x90 || b == 0xdc || b == 0xdd)) {
        return s_read_list(r, v);
    }
    return s_wrong(r, allow_list ? "a boolean, integer, string or array" :
                                   "a boolean, integer or string");
}

// Reads a value that must be of KIND (a string or an integer).
static int
s_read_typed(s_reader_t *r, hub_val_t *v, hub_val_kind_t kind)
{
    const uint8_t *at = r->p;
    int rc = s_read_value(r, v, false);
    if (rc == HUB_OK && v->kind != kind) {
        r->p = at;
        return s_wrong(r, kind == HUB_VAL_STR ? "a string" : "an integer");
    }
    return rc;
}

static int
s_read_body(s_reader_t *r)
{
    uint64_t n;
    int rc = s_read_map(r, &n);
    if (rc) {
        return rc;
    }
    if (n > r->lim->max_fields) {
        return s_fail(r, HUB_ELIMIT, "limit", "the body has more fields than the limit");
    }
    for (uint64_t i = 0; i < n; i++) {
        const char *key;
        size_t klen;
        const uint8_t *at = r->p;
        snprintf(r->path, sizeof r->path, "body");
        if ((rc = s_read_str(r, &key, &klen)) != 0) {
            return rc;
        }
        s_path_set(r, "body.", key, klen);
        if (!hub_msg_field_name_valid(key, klen)) {
            r->p = at;
            return s_fail(r, HUB_EDECODE, "bad_key",
                          "field names are 1-64 of a-z 0-9 _, starting with a letter");
        }
        char *name = hub_arena_strndup(hub_msg_arena(r->msg), key, klen);
        hub_val_t v;
        if (!name || (rc = s_read_value(r, &v, true)) != 0) {
            return name ? rc : HUB_ENOMEM;
        }
        rc = hub_msg_body_add_owned(r->msg, name, klen, &v);
        if (rc == HUB_EEXIST) {
            r->p = at;
            return s_fail(r, HUB_EDECODE, "duplicate_key", "key given twice");
        }
        if (rc) {
            return rc;
        }
    }
    return HUB_OK;
}

static int
s_read_subject(s_reader_t *r)
{
    uint64_t n;
    int rc = s_read_map(r, &n);
    unsigned seen = 0;
    for (uint64_t i = 0; !rc && i < n; i++) {
        const char *key;
        size_t klen;
        const uint8_t *at = r->p;
        snprintf(r->path, sizeof r->path, "subject");
        if ((rc = s_read_str(r, &key, &klen)) != 0) {
            break;
        }
        s_path_set(r, "subject.", key, klen);
        int which = hub_subj_find(key, klen);
        r->p = which < 0 || (seen & (1u << which)) ? at : r->p;
        if (which < 0) {
            return s_fail(r, HUB_EDECODE, "unknown_key", "no such subject field");
        }
        if (seen & (1u << which)) {
            return s_fail(r, HUB_EDECODE, "duplicate_key", "key given twice");
        }
        seen |= 1u << which;
        hub_val_t v;
        if ((rc = s_read_typed(r, &v, HUB_VAL_STR)) == 0) {
            hub_msg_set_subj_owned(r->msg, (hub_subj_t) which, &v);
        }
    }
    return rc;
}

static int
s_read_top_key(s_reader_t *r, unsigned *seen)
{
    const char *key;
    size_t klen;
    const uint8_t *at = r->p;
    r->path[0] = '\0';
    int rc = s_read_str(r, &key, &klen);
    if (rc) {
        return rc;
    }
    s_path_set(r, "", key, klen);
    int which = hub_env_find(key, klen);
    if (which < 0) {
        which = klen == 4 && memcmp(key, "body", 4) == 0       ? HUB_ENV_COUNT
                : klen == 7 && memcmp(key, "subject", 7) == 0 ? HUB_ENV_COUNT + 1
                                                              : -1;
    }
    if (which < 0 || (*seen & (1u << which))) {
        r->p = at;
        return which < 0 ? s_fail(r, HUB_EDECODE, "unknown_key", "no such message key")
                         : s_fail(r, HUB_EDECODE, "duplicate_key", "key given twice");
    }
    *seen |= 1u << which;
    if (which == HUB_ENV_COUNT) {
        return s_read_body(r);
    }
    if (which == HUB_ENV_COUNT + 1) {
        return s_read_subject(r);
    }
    hub_val_t v;
    rc = s_read_typed(r, &v, which == HUB_ENV_SCHEMA_VERSION ? HUB_VAL_INT : HUB_VAL_STR);
    if (rc == HUB_OK) {
        hub_msg_set_env_owned(r->msg, (hub_env_t) which, &v);
    }
    return rc;
}

int
hub_codec_decode(hub_msg_t *msg, const void *data, size_t len, const hub_codec_limits_t *limits,
                 hub_diag_t *diag)
{
    hub_codec_limits_t defaults = hub_codec_limits_default();
    s_reader_t r = {data, data, (const uint8_t *) data + len, limits ? limits : &defaults,
                    msg, diag, ""};
    hub_msg_reset(msg);
    if (len > r.lim->max_size) {
        return s_fail(&r, HUB_ELIMIT, "limit", "message larger than the size limit");
    }
    if (len == 0) {
        return s_fail(&r, HUB_EDECODE, "truncated", "empty message");
    }
    uint64_t n;
    int rc = s_read_map(&r, &n);
    unsigned seen = 0;
    for (uint64_t i = 0; !rc && i < n; i++) {
        rc = s_read_top_key(&r, &seen);
    }
    if (rc == HUB_OK && r.p != r.end) {
        r.path[0] = '\0';
        rc = s_fail(&r, HUB_EDECODE, "trailing_bytes", "bytes after the end of the message");
    }
    return rc;
}
