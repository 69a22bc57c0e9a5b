#include "hub_codec.h"

#include "hub_error.h"
#include "hub_utf8.h"

#include <string.h>

hub_codec_limits_t
hub_codec_limits_default(void)
{
    hub_codec_limits_t l = {1u << 20, 256, 65536, 1024, 3};
    return l;
}

// ---------------------------------------------------------------- encoding
//
// The encoder computes the exact size first, reserves it once and then
// writes bytes straight into the buffer. msgpack-c's packer would call a
// write callback for every header byte; on the ingest path that costs more
// than the whole rest of the encoding. The forms are msgpack-c's own
// shortest forms, and the unit suite checks byte-for-byte agreement with
// msgpack-c's packer on thousands of generated messages.

static size_t
s_hdr_size(size_t n, size_t fix_max)
{
    return n <= fix_max ? 1 : n <= 0xffff ? 3 : 5;
}

static size_t
s_str_size(size_t n)
{
    return n + (n < 32 ? 1 : n <= 0xff ? 2 : n <= 0xffff ? 3 : 5);
}

static size_t
s_int_size(int64_t i)
{
    if (i >= 0) {
        return i < 128 ? 1 : i <= 0xff ? 2 : i <= 0xffff ? 3 : i <= 0xffffffffLL ? 5 : 9;
    }
    return i >= -32 ? 1 : i >= -128 ? 2 : i >= -32768 ? 3 : i >= INT32_MIN ? 5 : 9;
}

static size_t
s_val_size(const hub_val_t *v)
{
    switch (v->kind) {
    case HUB_VAL_BOOL:
        return 1;
    case HUB_VAL_INT:
        return s_int_size(v->u.i);
    case HUB_VAL_STR:
        return s_str_size(v->len);
    case HUB_VAL_LIST: {
        size_t n = s_hdr_size(v->len, 15);
        for (uint32_t i = 0; i < v->len; i++) {
            n += s_val_size(&v->u.items[i]);
        }
        return n;
    }
    case HUB_VAL_NONE:
        break;
    }
    return 0;
}

static uint8_t *
s_put_be(uint8_t *p, uint64_t v, size_t n)
{
    for (size_t i = n; i-- > 0;) {
        p[i] = (uint8_t) v;
        v >>= 8;
    }
    return p + n;
}

// A map or array header: FIX is the fix form's base (0x80 map, 0x90 array),
// B16 the 16-bit form (0xde map, 0xdc array; 32-bit is B16 + 1).
static uint8_t *
s_put_hdr(uint8_t *p, size_t n, uint8_t fix, uint8_t b16)
{
    if (n <= 15) {
        *p++ = (uint8_t) (fix | n);
        return p;
    }
    *p++ = n <= 0xffff ? b16 : (uint8_t) (b16 + 1);
    return s_put_be(p, n, n <= 0xffff ? 2 : 4);
}

static uint8_t *
s_put_str(uint8_t *p, const char *s, size_t n)
{
    if (n < 32) {
        *p++ = (uint8_t) (0xa0 | n);
    } else {
        size_t w = n <= 0xff ? 1 : n <= 0xffff ? 2 : 4;
        *p++ = w == 1 ? 0xd9 : w == 2 ? 0xda : 0xdb;
        p = s_put_be(p, n, w);
    }
    memcpy(p, s, n);
    return p + n;
}

static uint8_t *
s_put_int(uint8_t *p, int64_t i)
{
    size_t n = s_int_size(i);
    if (n == 1) {
        *p++ = (uint8_t) i; // positive or negative fixint
        return p;
    }
    // uint8/16/32/64 are 0xcc..0xcf, int8/16/32/64 0xd0..0xd3, by width.
    size_t width = n - 1;
    uint8_t form = width == 1 ? 0 : width == 2 ? 1 : width == 4 ? 2 : 3;
    *p++ = (uint8_t) ((i < 0 ? 0xd0 : 0xcc) + form);
    return s_put_be(p, (uint64_t) i, width);
}

static uint8_t *
s_put_val(uint8_t *p, const hub_val_t *v)
{
    switch (v->kind) {
    case HUB_VAL_BOOL:
        *p++ = v->u.b ? 0xc3 : 0xc2;
        return p;
    case HUB_VAL_INT:
        return s_put_int(p, v->u.i);
    case HUB_VAL_STR:
        return s_put_str(p, v->u.s, v->len);
    case HUB_VAL_LIST:
        p = s_put_hdr(p, v->len, 0x90, 0xdc);
        for (uint32_t i = 0; i < v->len; i++) {
            p = s_put_val(p, &v->u.items[i]);
        }
        return p;
    case HUB_VAL_NONE:
        break;
    }
    return p;
}

// Top-level keys in canonical (sorted) order; -1 is "body", -2 "subject".
static const int s_top_order[] = {
    -1,
    HUB_ENV_EVENT_DATE,
    HUB_ENV_ID,
    HUB_ENV_RECORDED_AT,
    HUB_ENV_SCHEMA_VERSION,
    HUB_ENV_SOURCE,
    HUB_ENV_SOURCE_REF,
    -2,
    HUB_ENV_TYPE,
};

// Sizes of the parts of MSG's encoding, and how many keys each map has.
typedef struct {
    size_t total;
    size_t top_keys;
    size_t subj_keys;
} s_layout_t;

static s_layout_t
s_layout(const hub_msg_t *msg)
{
    s_layout_t l = {0, 1, 0};
    for (int i = 0; i < HUB_SUBJ_COUNT; i++) {
        const hub_val_t *v = hub_msg_subj(msg, (hub_subj_t) i);
        if (v->kind != HUB_VAL_NONE) {
            l.subj_keys++;
            l.total += s_str_size(hub_subj_name_len((hub_subj_t) i)) + s_val_size(v);
        }
    }
    if (l.subj_keys) {
        l.top_keys++;
        l.total += s_str_size(7) + s_hdr_size(l.subj_keys, 15);
    }
    for (int i = 0; i < HUB_ENV_COUNT; i++) {
        const hub_val_t *v = hub_msg_env(msg, (hub_env_t) i);
        if (v->kind != HUB_VAL_NONE) {
            l.top_keys++;
            l.total += s_str_size(hub_env_name_len((hub_env_t) i)) + s_val_size(v);
        }
    }
    size_t nbody = hub_msg_body_count(msg);
    l.total += s_str_size(4) + s_hdr_size(nbody, 15) + s_hdr_size(l.top_keys, 15);
    for (size_t i = 0; i < nbody; i++) {
        const hub_field_t *f = hub_msg_body_at(msg, i);
        l.total += s_str_size(f->name_len) + s_val_size(&f->val);
    }
    return l;
}

static uint8_t *
s_put_subject(uint8_t *p, const hub_msg_t *msg, size_t n)
{
    p = s_put_str(p, "subject", 7);
    p = s_put_hdr(p, n, 0x80, 0xde);
    for (int i = 0; i < HUB_SUBJ_COUNT; i++) { // enum order is sorted order
        const hub_val_t *v = hub_msg_subj(msg, (hub_subj_t) i);
        if (v->kind != HUB_VAL_NONE) {
            hub_subj_t k = (hub_subj_t) i;
            p = s_put_val(s_put_str(p, hub_subj_name(k), hub_subj_name_len(k)), v);
        }
    }
    return p;
}

static uint8_t *
s_put_body(uint8_t *p, const hub_msg_t *msg)
{
    size_t n = hub_msg_body_count(msg);
    p = s_put_str(p, "body", 4);
    p = s_put_hdr(p, n, 0x80, 0xde);
    for (size_t i = 0; i < n; i++) { // the body is kept sorted
        const hub_field_t *f = hub_msg_body_at(msg, i);
        p = s_put_val(s_put_str(p, f->name, f->name_len), &f->val);
    }
    return p;
}

int
hub_codec_encode(const hub_msg_t *msg, hub_buf_t *out)
{
    s_layout_t l = s_layout(msg);
    if (hub_buf_reserve(out, l.total)) {
        return HUB_ENOMEM;
    }
    uint8_t *p = s_put_hdr(out->data + out->len, l.top_keys, 0x80, 0xde);
    for (size_t i = 0; i < sizeof s_top_order / sizeof s_top_order[0]; i++) {
        int key = s_top_order[i];
        if (key == -1) {
            p = s_put_body(p, msg);
        } else if (key == -2) {
            p = l.subj_keys ? s_put_subject(p, msg, l.subj_keys) : p;
        } else if (hub_msg_env(msg, (hub_env_t) key)->kind != HUB_VAL_NONE) {
            hub_env_t k = (hub_env_t) key;
            p = s_put_val(s_put_str(p, hub_env_name(k), hub_env_name_len(k)), hub_msg_env(msg, k));
        }
    }
    out->len = (size_t) (p - out->data);
    return HUB_OK;
}

// ---------------------------------------------------------------- decoding

typedef struct {
    const uint8_t *start; // first byte of the message
    const uint8_t *p;     // next byte to read
    const uint8_t *end;   // one past the last byte
    const hub_codec_limits_t *lim;
    hub_msg_t *msg;
    hub_diag_t *diag;
    // Where the value being read sits, formatted only when there is an
    // error: PREFIX ("body.") + KEY, then "[INDEX]" when INDEX >= 0.
    const char *prefix;
    const char *key;
    size_t key_len;
    long index;
    // Room for the strings of this message, taken from the message's arena
    // once: every string has at least one header byte, so the strings and
    // their NULs never need more than the message's own size.
    char *strings;
    char *strings_end;
} s_reader_t;

// A NUL-terminated copy of N bytes at S in the message's memory.
static char *
s_copy_str(s_reader_t *r, const char *s, size_t n)
{
    if ((size_t) (r->strings_end - r->strings) <= n) {
        return hub_arena_strndup(hub_msg_arena(r->msg), s, n);
    }
    char *out = r->strings;
    memcpy(out, s, n);
    out[n] = '\0';
    r->strings += n + 1;
    return out;
}

static int
s_fail(s_reader_t *r, int rc, const char *reason, const char *text)
{
    char where[HUB_DIAG_WHERE_MAX], index[32] = "";
    if (r->index >= 0) {
        snprintf(index, sizeof index, "[%ld]", r->index);
    }
    int klen = r->key_len > 64 ? 64 : (int) r->key_len;
    if (r->key && !hub_utf8_valid(r->key, (size_t) klen, NULL)) {
        r->key = "<not UTF-8>"; // keys are read raw; never print bad bytes
        klen = 11;
    }
    if (r->key || r->prefix[0]) {
        snprintf(where, sizeof where, "offset %zu (%s%.*s%s)", (size_t) (r->p - r->start),
                 r->prefix, klen, r->key ? r->key : "", index);
    } else {
        snprintf(where, sizeof where, "offset %zu", (size_t) (r->p - r->start));
    }
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

// Reads a string's header and bounds, without checking its bytes: for keys,
// which are then matched against known names or a-z 0-9 _.
static int
s_read_raw_str(s_reader_t *r, const char **s, size_t *len)
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
    *s = (const char *) r->p;
    *len = (size_t) n;
    r->p += n;
    return HUB_OK;
}

static int
s_read_str(s_reader_t *r, const char **s, size_t *len)
{
    int rc = s_read_raw_str(r, s, len);
    // U+0000 travels in neither form: JSON text cannot hold it unescaped
    // and C strings end at it, so one message would read two ways.
    size_t bad;
    if (rc == HUB_OK && !hub_utf8_valid_text(*s, *len, &bad)) {
        r->p = (const uint8_t *) *s + bad;
        return s_fail(r, HUB_EDECODE, "invalid_utf8",
                      (*s)[bad] == 0 ? "string holds a NUL character (U+0000)"
                                     : "string is not valid UTF-8");
    }
    return rc;
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
    if (b <= 0xcf) { // unsigned forms
        if (u > INT64_MAX) {
            r->p -= width + 1;
            return s_fail(r, HUB_EDECODE, "wrong_type", "integer above 2^63-1");
        }
        *out = (int64_t) u;
    } else { // signed forms: sign-extend from WIDTH bytes
        unsigned shift = (unsigned) (64 - 8 * width);
        *out = (int64_t) (u << shift) >> shift;
    }
    return HUB_OK;
}

static void
s_path_set(s_reader_t *r, const char *prefix, const char *key, size_t len)
{
    r->prefix = prefix;
    r->key = key;
    r->key_len = len;
    r->index = -1;
}

// Reads a scalar or (when ALLOW_LIST) a list into V, copying into the arena.
static int
s_read_value(s_reader_t *r, hub_val_t *v, bool allow_list);

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
    for (uint64_t i = 0; i < n; i++) {
        r->index = (long) i;
        if ((rc = s_read_value(r, &items[i], false)) != 0) {
            return rc;
        }
    }
    r->index = -1;
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
        char *copy = s_copy_str(r, s, len);
        *v = hub_val_str(copy, len);
        return copy ? HUB_OK : HUB_ENOMEM;
    }
    if (allow_list && ((b & 0xf0) == 0x90 || b == 0xdc || b == 0xdd)) {
        return s_read_list(r, v);
    }
    return s_wrong(r, allow_list ? "a boolean, integer, string or array"
                                 : "a boolean, integer or string");
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
        s_path_set(r, "body", NULL, 0);
        if ((rc = s_read_raw_str(r, &key, &klen)) != 0) {
            return rc;
        }
        s_path_set(r, "body.", key, klen);
        if (!hub_msg_field_name_valid(key, klen)) {
            r->p = at;
            return s_fail(r, HUB_EDECODE, "bad_key",
                          "field names are 1-64 of a-z 0-9 _, starting with a letter");
        }
        char *name = s_copy_str(r, key, klen);
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
        s_path_set(r, "subject", NULL, 0);
        if ((rc = s_read_raw_str(r, &key, &klen)) != 0) {
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
    s_path_set(r, "", NULL, 0);
    int rc = s_read_raw_str(r, &key, &klen);
    if (rc) {
        return rc;
    }
    s_path_set(r, "", key, klen);
    int which = hub_env_find(key, klen);
    if (which < 0) {
        which = klen == 4 && memcmp(key, "body", 4) == 0      ? HUB_ENV_COUNT
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
    s_reader_t r = {data,
                    data,
                    (const uint8_t *) data + len,
                    limits ? limits : &defaults,
                    msg,
                    diag,
                    "",
                    NULL,
                    0,
                    -1,
                    NULL,
                    NULL};
    hub_msg_reset(msg);
    if (len > r.lim->max_size) {
        return s_fail(&r, HUB_ELIMIT, "limit", "message larger than the size limit");
    }
    if (len == 0) {
        return s_fail(&r, HUB_EDECODE, "truncated", "empty message");
    }
    r.strings = hub_arena_alloc(hub_msg_arena(msg), len + 1);
    if (!r.strings) {
        return HUB_ENOMEM;
    }
    r.strings_end = r.strings + len + 1;
    uint64_t n;
    int rc = s_read_map(&r, &n);
    unsigned seen = 0;
    for (uint64_t i = 0; !rc && i < n; i++) {
        rc = s_read_top_key(&r, &seen);
    }
    if (rc == HUB_OK && r.p != r.end) {
        s_path_set(&r, "", NULL, 0);
        rc = s_fail(&r, HUB_EDECODE, "trailing_bytes", "bytes after the end of the message");
    }
    return rc;
}
