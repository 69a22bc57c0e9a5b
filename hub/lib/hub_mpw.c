#include "hub_mpw.h"

#include "hub_error.h"

#include <string.h>

void
hub_mpw_init(hub_mpw_t *self, hub_buf_t *out)
{
    self->out = out;
    self->err = HUB_OK;
}

int
hub_mpw_error(const hub_mpw_t *self)
{
    return self->err;
}

// Appends a type byte followed by V as a big-endian number of WIDTH bytes
// (0, 1, 2, 4 or 8), and then N bytes from P.
static void
s_put(hub_mpw_t *self, uint8_t type, uint64_t v, size_t width, const void *p, size_t n)
{
    if (self->err) {
        return;
    }
    if (hub_buf_reserve(self->out, 1 + width + n)) {
        self->err = HUB_ENOMEM;
        return;
    }
    uint8_t *o = self->out->data + self->out->len;
    *o++ = type;
    for (size_t i = width; i-- > 0;) {
        o[i] = (uint8_t) v;
        v >>= 8;
    }
    if (n) {
        memcpy(o + width, p, n);
    }
    self->out->len += 1 + width + n;
}

// A length-prefixed family: FIX is the fix form's base (0 when the family
// has none) with FIX_MAX its largest length; FORM8/16/32 the type bytes of
// the sized forms (FORM8 0 when there is no 8-bit form).
typedef struct {
    uint8_t fix;
    size_t fix_max;
    uint8_t form8, form16, form32;
} s_family_t;

static const s_family_t s_map = {0x80, 15, 0, 0xde, 0xdf};
static const s_family_t s_array = {0x90, 15, 0, 0xdc, 0xdd};
static const s_family_t s_strf = {0xa0, 31, 0xd9, 0xda, 0xdb};
static const s_family_t s_binf = {0, 0, 0xc4, 0xc5, 0xc6};

static void
s_sized(hub_mpw_t *self, const s_family_t *f, size_t n, const void *p, size_t plen)
{
    if (self->err) {
        return;
    }
    if (n > UINT32_MAX) {
        self->err = HUB_ELIMIT;
    } else if (f->fix && n <= f->fix_max) {
        s_put(self, (uint8_t) (f->fix | n), 0, 0, p, plen);
    } else if (f->form8 && n <= 0xff) {
        s_put(self, f->form8, n, 1, p, plen);
    } else if (n <= 0xffff) {
        s_put(self, f->form16, n, 2, p, plen);
    } else {
        s_put(self, f->form32, n, 4, p, plen);
    }
}

void
hub_mpw_map(hub_mpw_t *self, size_t n)
{
    s_sized(self, &s_map, n, NULL, 0);
}

void
hub_mpw_array(hub_mpw_t *self, size_t n)
{
    s_sized(self, &s_array, n, NULL, 0);
}

void
hub_mpw_nil(hub_mpw_t *self)
{
    s_put(self, 0xc0, 0, 0, NULL, 0);
}

void
hub_mpw_bool(hub_mpw_t *self, bool b)
{
    s_put(self, b ? 0xc3 : 0xc2, 0, 0, NULL, 0);
}

void
hub_mpw_double(hub_mpw_t *self, double d)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    s_put(self, 0xcb, bits, 8, NULL, 0);
}

void
hub_mpw_uint(hub_mpw_t *self, uint64_t u)
{
    if (u < 128) {
        s_put(self, (uint8_t) u, 0, 0, NULL, 0);
    } else if (u <= 0xff) {
        s_put(self, 0xcc, u, 1, NULL, 0);
    } else if (u <= 0xffff) {
        s_put(self, 0xcd, u, 2, NULL, 0);
    } else if (u <= 0xffffffffu) {
        s_put(self, 0xce, u, 4, NULL, 0);
    } else {
        s_put(self, 0xcf, u, 8, NULL, 0);
    }
}

void
hub_mpw_int(hub_mpw_t *self, int64_t i)
{
    if (i >= 0) {
        hub_mpw_uint(self, (uint64_t) i);
    } else if (i >= -32) {
        s_put(self, (uint8_t) i, 0, 0, NULL, 0); // negative fixint 0xe0..0xff
    } else if (i >= INT8_MIN) {
        s_put(self, 0xd0, (uint64_t) i, 1, NULL, 0);
    } else if (i >= INT16_MIN) {
        s_put(self, 0xd1, (uint64_t) i, 2, NULL, 0);
    } else if (i >= INT32_MIN) {
        s_put(self, 0xd2, (uint64_t) i, 4, NULL, 0);
    } else {
        s_put(self, 0xd3, (uint64_t) i, 8, NULL, 0);
    }
}

void
hub_mpw_str(hub_mpw_t *self, const char *s, size_t n)
{
    s_sized(self, &s_strf, n, s, n);
}

void
hub_mpw_cstr(hub_mpw_t *self, const char *s)
{
    if (s) {
        hub_mpw_str(self, s, strlen(s));
    } else {
        hub_mpw_nil(self);
    }
}

void
hub_mpw_bin(hub_mpw_t *self, const void *p, size_t n)
{
    s_sized(self, &s_binf, n, p, n);
}

void
hub_mpw_raw(hub_mpw_t *self, const void *p, size_t n)
{
    if (!self->err && hub_buf_append(self->out, p, n)) {
        self->err = HUB_ENOMEM;
    }
}
