#include "hub_enc.h"

#include "hub_error.h"
#include "hub_utf8.h"

#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct hubc_conv {
    iconv_t cd;
};

int
hubc_enc_parse(const char *name)
{
    if (!name) {
        return -1;
    }
    if (strcasecmp(name, "auto") == 0) {
        return HUBC_ENC_AUTO;
    }
    if (strcasecmp(name, "utf-8") == 0 || strcasecmp(name, "utf8") == 0) {
        return HUBC_ENC_UTF8;
    }
    if (strcasecmp(name, "gb18030") == 0) {
        return HUBC_ENC_GB18030;
    }
    if (strcasecmp(name, "gbk") == 0 || strcasecmp(name, "cp936") == 0) {
        return HUBC_ENC_GBK;
    }
    return -1;
}

const char *
hubc_enc_name(hubc_enc_t enc)
{
    switch (enc) {
    case HUBC_ENC_UTF8:
        return "utf-8";
    case HUBC_ENC_GB18030:
        return "gb18030";
    case HUBC_ENC_GBK:
        return "gbk";
    default:
        return "auto";
    }
}

static bool
s_in(uint8_t c, uint8_t lo, uint8_t hi)
{
    return c >= lo && c <= hi;
}

int
hubc_gb_char_len(const uint8_t *s, size_t len)
{
    uint8_t c = s[0];
    if (c < 0x80) {
        return c == 0 ? 0 : 1;
    }
    if (!s_in(c, 0x81, 0xFE)) {
        return 0;
    }
    if (len < 2) {
        return -1;
    }
    if (s_in(s[1], 0x40, 0x7E) || s_in(s[1], 0x80, 0xFE)) {
        return 2;
    }
    if (!s_in(s[1], 0x30, 0x39)) {
        return 0;
    }
    if (len < 3) {
        return -1;
    }
    if (!s_in(s[2], 0x81, 0xFE)) {
        return 0;
    }
    if (len < 4) {
        return -1;
    }
    return s_in(s[3], 0x30, 0x39) ? 4 : 0;
}

bool
hubc_gb_valid(const uint8_t *s, size_t len, size_t *bad)
{
    size_t i = 0;
    while (i < len) {
        if (s[i] >= 0x01 && s[i] < 0x80) {
            i++;
            continue;
        }
        int n = hubc_gb_char_len(s + i, len - i);
        if (n <= 0) {
            if (bad) {
                *bad = i;
            }
            return false;
        }
        i += (size_t) n;
    }
    return true;
}

hubc_enc_t
hubc_enc_sniff(const uint8_t *s, size_t len, bool at_eof)
{
    size_t bad = 0;
    if (hub_utf8_valid((const char *) s, len, &bad)) {
        return HUBC_ENC_UTF8;
    }
    // A sample cut inside a UTF-8 character: valid if what is there is a
    // valid beginning (a lead byte and continuation bytes, at most 3).
    if (!at_eof && len - bad < 4 && s[bad] >= 0xC2 && s[bad] <= 0xF4) {
        bool cont = true;
        for (size_t i = bad + 1; i < len; i++) {
            cont = cont && (s[i] & 0xC0) == 0x80;
        }
        size_t need = s[bad] >= 0xF0 ? 4 : s[bad] >= 0xE0 ? 3 : 2;
        if (cont && len - bad < need) {
            return HUBC_ENC_UTF8;
        }
    }
    return HUBC_ENC_GB18030;
}

hubc_conv_t *
hubc_conv_new(void)
{
    hubc_conv_t *self = calloc(1, sizeof *self);
    if (!self) {
        return NULL;
    }
    self->cd = iconv_open("UTF-8", "GB18030");
    if (self->cd == (iconv_t) -1) {
        free(self);
        return NULL;
    }
    return self;
}

void
hubc_conv_destroy(hubc_conv_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    iconv_close((*self_p)->cd);
    free(*self_p);
    *self_p = NULL;
}

int
hubc_conv_run(hubc_conv_t *self, const uint8_t *in, size_t len, hub_buf_t *out, size_t *bad)
{
    // Every GB18030 character becomes at most 4 bytes of UTF-8 and takes at
    // least 1 (ASCII) or 2 bytes: twice the input plus a little is enough.
    size_t room = len * 2 + 8, was = out->len;
    if (hub_buf_reserve(out, room) != HUB_OK) {
        return HUB_ENOMEM;
    }
    iconv(self->cd, NULL, NULL, NULL, NULL);
    char *ip = (char *) in, *op = (char *) out->data + out->len;
    size_t il = len, ol = room;
    size_t r = iconv(self->cd, &ip, &il, &op, &ol);
    if (r == (size_t) -1) {
        if (bad) {
            *bad = (size_t) (ip - (char *) in);
        }
        out->len = was;
        return errno == E2BIG ? HUB_ENOMEM : HUB_EDECODE;
    }
    out->len += room - ol;
    return HUB_OK;
}
