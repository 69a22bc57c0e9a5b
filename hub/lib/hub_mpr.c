#include "hub_mpr.h"

#include "hub_error.h"

#include <string.h>

void
hub_mpr_init(hub_mpr_t *self, const void *data, size_t len)
{
    self->base = self->p = data;
    self->end = self->base + len;
}

size_t
hub_mpr_offset(const hub_mpr_t *self)
{
    return (size_t) (self->p - self->base);
}

bool
hub_mpr_done(const hub_mpr_t *self)
{
    return self->p == self->end;
}

static uint64_t
s_be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        v = v << 8 | p[i];
    }
    return v;
}

static int64_t
s_signed(uint64_t v, size_t width)
{
    // Sign-extend a WIDTH-byte two's complement number.
    unsigned shift = (unsigned) (64 - 8 * width);
    return (int64_t) (v << shift) >> shift;
}

// The first byte's meaning for the fixed-size kinds: how many bytes of
// number follow. Lengths of str/bin/ext/array/map are handled apart.
static void
s_number(hub_mp_obj_t *o, uint8_t t, uint64_t v)
{
    if (t >= 0xcc && t <= 0xcf) {
        o->kind = HUB_MP_UINT;
        o->v.u = v;
    } else if (t == 0xca) {
        uint32_t bits = (uint32_t) v;
        float f;
        memcpy(&f, &bits, sizeof f);
        o->kind = HUB_MP_FLOAT;
        o->v.f = f;
    } else if (t == 0xcb) {
        o->kind = HUB_MP_FLOAT;
        memcpy(&o->v.f, &v, sizeof o->v.f);
    } else {
        int64_t i = s_signed(v, (size_t) 1 << (t - 0xd0));
        o->kind = i < 0 ? HUB_MP_INT : HUB_MP_UINT;
        if (i < 0) {
            o->v.i = i;
        } else {
            o->v.u = (uint64_t) i;
        }
    }
}

// Decodes the header at P (N bytes available) into O; returns the header's
// size, or 0 when it does not fit or is the reserved byte. For str, bin and
// ext, O->len is the payload size (not yet checked).
static size_t
s_header(const uint8_t *p, size_t n, hub_mp_obj_t *o)
{
    uint8_t t = p[0];
    memset(o, 0, sizeof *o);
    if (t <= 0x7f || t >= 0xe0) {
        o->kind = t <= 0x7f ? HUB_MP_UINT : HUB_MP_INT;
        if (t <= 0x7f) {
            o->v.u = t;
        } else {
            o->v.i = (int8_t) t;
        }
        return 1;
    }
    if (t <= 0xbf) {
        static const hub_mp_kind_t fix[] = {HUB_MP_MAP, HUB_MP_ARRAY, HUB_MP_STR, HUB_MP_STR};
        o->kind = fix[(t - 0x80) >> 4];
        o->len = t <= 0x9f ? (t & 0x0fu) : (t & 0x1fu);
        return 1;
    }
    // Sized forms: the width of the length or number that follows.
    static const uint8_t width[0x40] = {
        0, 0, 0, 0, 1, 2, 4, 1, 2, 4, 4, 8, 1, 2, 4, 8, // c0..cf
        1, 2, 4, 8, 1, 1, 1, 1, 1, 1, 2, 4, 2, 4, 2, 4, // d0..df
    };
    size_t w = width[t - 0xc0];
    if (t == 0xc1 || n < 1 + w) {
        return 0;
    }
    uint64_t v = s_be(p + 1, w);
    if (t <= 0xc3) {
        o->kind = t == 0xc0 ? HUB_MP_NIL : HUB_MP_BOOL;
        o->v.b = t == 0xc3;
        return 1;
    }
    if ((t >= 0xca && t <= 0xd3)) {
        s_number(o, t, v);
        return 1 + w;
    }
    if (t >= 0xd4 && t <= 0xd8) { // fixext 1..16: type byte, then data
        o->kind = HUB_MP_EXT;
        o->len = 1u << (t - 0xd4);
        o->ext_type = (int8_t) p[1];
        return 2;
    }
    o->len = (uint32_t) v;
    if (t >= 0xc7 && t <= 0xc9) { // ext 8/16/32: length, type byte, data
        if (n < 2 + w) {
            return 0;
        }
        o->kind = HUB_MP_EXT;
        o->ext_type = (int8_t) p[1 + w];
        return 2 + w;
    }
    o->kind = t <= 0xc6   ? HUB_MP_BIN
              : t <= 0xdb ? HUB_MP_STR
              : t <= 0xdd ? HUB_MP_ARRAY
                          : HUB_MP_MAP;
    return 1 + w;
}

int
hub_mpr_next(hub_mpr_t *self, hub_mp_obj_t *obj)
{
    size_t left = (size_t) (self->end - self->p);
    if (left == 0) {
        return HUB_EDECODE;
    }
    hub_mp_obj_t o;
    size_t h = s_header(self->p, left, &o);
    if (h == 0) {
        return HUB_EDECODE;
    }
    left -= h;
    size_t payload = 0;
    if (o.kind == HUB_MP_STR || o.kind == HUB_MP_BIN || o.kind == HUB_MP_EXT) {
        payload = o.len;
        o.data = self->p + h;
    }
    // Every item takes at least one byte: a count larger than the bytes
    // left is a lie, refused before anyone loops over it.
    uint64_t need = o.kind == HUB_MP_ARRAY ? o.len
                    : o.kind == HUB_MP_MAP ? 2 * (uint64_t) o.len
                                           : payload;
    if (need > left) {
        return HUB_EDECODE;
    }
    self->p += h + payload;
    *obj = o;
    return HUB_OK;
}

int
hub_mpr_skip(hub_mpr_t *self)
{
    const uint8_t *start = self->p;
    uint64_t pending = 1; // values still to pass
    while (pending > 0) {
        hub_mp_obj_t o;
        if (hub_mpr_next(self, &o)) {
            self->p = start;
            return HUB_EDECODE;
        }
        pending--;
        pending += o.kind == HUB_MP_ARRAY ? o.len : o.kind == HUB_MP_MAP ? 2 * (uint64_t) o.len : 0;
    }
    return HUB_OK;
}

int
hub_mpr_find(hub_mpr_t *self, const char *key)
{
    hub_mpr_t r = *self;
    hub_mp_obj_t m, k;
    if (hub_mpr_next(&r, &m) || m.kind != HUB_MP_MAP) {
        return HUB_EDECODE;
    }
    size_t klen = strlen(key);
    for (uint32_t i = 0; i < m.len; i++) {
        if (hub_mpr_next(&r, &k)) {
            return HUB_EDECODE;
        }
        if (k.kind == HUB_MP_STR && k.len == klen && memcmp(k.data, key, klen) == 0) {
            *self = r;
            return HUB_OK;
        }
        if (k.kind == HUB_MP_ARRAY || k.kind == HUB_MP_MAP) {
            return HUB_EDECODE; // a compound key: not one of our records
        }
        if (hub_mpr_skip(&r)) {
            return HUB_EDECODE;
        }
    }
    return HUB_ENOTFOUND;
}

// Which of KEYS (N of them, lengths in LENS) the key K is: its index, or N.
static size_t
s_which(const hub_mp_obj_t *k, const char *const *keys, const size_t *lens, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (k->len == lens[i] && memcmp(k->data, keys[i], lens[i]) == 0) {
            return i;
        }
    }
    return n;
}

int64_t
hub_mpr_pick(hub_mpr_t *self, const char *const *keys, size_t n, hub_mpr_t *vals)
{
    hub_mpr_t r = *self;
    hub_mp_obj_t m, k;
    size_t lens[32];
    if (n > 32 || hub_mpr_next(&r, &m) || m.kind != HUB_MP_MAP) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        lens[i] = strlen(keys[i]);
    }
    int64_t found = 0;
    for (uint32_t i = 0; i < m.len; i++) {
        if (hub_mpr_next(&r, &k) || k.kind == HUB_MP_ARRAY || k.kind == HUB_MP_MAP) {
            return -1;
        }
        size_t at = k.kind == HUB_MP_STR ? s_which(&k, keys, lens, n) : n;
        if (at < n && !(found & (INT64_C(1) << at))) {
            found |= INT64_C(1) << at;
            vals[at] = r;
        }
        if (hub_mpr_skip(&r)) {
            return -1;
        }
    }
    *self = r;
    return found;
}

static int
s_expect(hub_mpr_t *self, hub_mp_kind_t kind, hub_mp_obj_t *o)
{
    hub_mpr_t r = *self;
    if (hub_mpr_next(&r, o) || o->kind != kind) {
        return HUB_EDECODE;
    }
    *self = r;
    return HUB_OK;
}

int
hub_mpr_uint(hub_mpr_t *self, uint64_t *out)
{
    hub_mp_obj_t o;
    int rc = s_expect(self, HUB_MP_UINT, &o);
    if (rc == HUB_OK) {
        *out = o.v.u;
    }
    return rc;
}

int
hub_mpr_str(hub_mpr_t *self, const char **s, size_t *n)
{
    hub_mp_obj_t o;
    int rc = s_expect(self, HUB_MP_STR, &o);
    if (rc == HUB_OK) {
        *s = (const char *) o.data;
        *n = o.len;
    }
    return rc;
}

int
hub_mpr_bin(hub_mpr_t *self, const void **p, size_t *n)
{
    hub_mp_obj_t o;
    int rc = s_expect(self, HUB_MP_BIN, &o);
    if (rc == HUB_OK) {
        *p = o.data;
        *n = o.len;
    }
    return rc;
}

int
hub_mpr_get_uint(const void *map, size_t len, const char *key, uint64_t *out)
{
    hub_mpr_t r;
    hub_mpr_init(&r, map, len);
    int rc = hub_mpr_find(&r, key);
    return rc ? rc : hub_mpr_uint(&r, out);
}

int
hub_mpr_get_bin(const void *map, size_t len, const char *key, void *out, size_t n)
{
    hub_mpr_t r;
    hub_mpr_init(&r, map, len);
    const void *p;
    size_t have;
    int rc = hub_mpr_find(&r, key);
    rc = rc ? rc : hub_mpr_bin(&r, &p, &have);
    if (rc == HUB_OK && have != n) {
        rc = HUB_EDECODE;
    }
    if (rc == HUB_OK) {
        memcpy(out, p, n);
    }
    return rc;
}
