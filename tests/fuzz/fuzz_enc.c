// fuzz_enc: the text encodings of department exports (hub_enc) on arbitrary
// bytes: GB18030's byte structure, the UTF-8 / GB18030 sniffing and the
// conversion to UTF-8 with iconv.
//
// Input: the bytes of a file (or of a sample of it). Each input:
//   1. hubc_gb_valid agrees with a walk by hubc_gb_char_len: valid when
//      every character is whole (ASCII but NUL, 2 or 4 bytes), else *BAD is
//      where the walk stops; a prefix cut inside a character is "needs
//      more" (-1), never "invalid" (0);
//   2. sniffing: valid UTF-8 is UTF-8; at the end of the file anything else
//      is GB18030; a UTF-8 character cut by the sample's end is not held
//      against it;
//   3. converting bytes hubc_gb_valid accepts either succeeds with valid
//      UTF-8 of at most 2 bytes per input byte (+8), or refuses with
//      HUB_EDECODE at an offset inside the input, leaving OUT as it was;
//      never HUB_ENOMEM (the room it reserves must be enough);
//   4. hubc_enc_parse of the first line, if it names an encoding, names one
//      hubc_enc_name gives back.
#include "fuzz_util.h"
#include "hub_buf.h"
#include "hub_enc.h"
#include "hub_utf8.h"

#include <stddef.h>
#include <stdint.h>
#include <strings.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
s_check_structure(const uint8_t *s, size_t len)
{
    size_t i = 0, bad = SIZE_MAX;
    bool walk_ok = true;
    while (i < len) {
        int n = hubc_gb_char_len(s + i, len - i);
        if (n == 0 || n == -1) {
            walk_ok = false;
            break;
        }
        if (n != 1 && n != 2 && n != 4) {
            fu_fail("hubc_gb_char_len gave %d", n);
        }
        if ((size_t) n > len - i) {
            fu_fail("a character longer than the bytes left");
        }
        i += (size_t) n;
    }
    bool valid = hubc_gb_valid(s, len, &bad);
    if (valid != walk_ok || (!valid && bad != i)) {
        fu_fail("hubc_gb_valid (%d, bad %zu) disagrees with the walk (%d, at %zu)", valid, bad,
                walk_ok, i);
    }
    // Every cut of a whole character is "needs more", never "invalid".
    if (i < len) {
        return;
    }
    for (size_t at = 0; at < len;) {
        int n = hubc_gb_char_len(s + at, len - at);
        for (int cut = 1; cut < n; cut++) {
            if (hubc_gb_char_len(s + at, (size_t) cut) != -1) {
                fu_fail("a character cut after %d of %d bytes is not 'needs more'", cut, n);
            }
        }
        at += (size_t) n;
    }
}

static void
s_check_sniff(const uint8_t *s, size_t len)
{
    if (len == 0) {
        return;
    }
    bool utf8 = hub_utf8_valid((const char *) s, len, NULL);
    if (utf8 && (hubc_enc_sniff(s, len, true) != HUBC_ENC_UTF8 ||
                 hubc_enc_sniff(s, len, false) != HUBC_ENC_UTF8)) {
        fu_fail("valid UTF-8 not sniffed as UTF-8");
    }
    if (!utf8 && hubc_enc_sniff(s, len, true) != HUBC_ENC_GB18030) {
        fu_fail("invalid UTF-8 at the end of the file not sniffed as GB18030");
    }
    // Valid UTF-8 cut anywhere inside its last character is still UTF-8.
    if (utf8) {
        size_t last = len - 1;
        while (last > 0 && (s[last] & 0xC0) == 0x80) {
            last--;
        }
        for (size_t cut = last + 1; cut < len; cut++) {
            if (hubc_enc_sniff(s, cut, false) != HUBC_ENC_UTF8) {
                fu_fail("UTF-8 cut inside its last character not sniffed as UTF-8");
            }
        }
    }
}

static void
s_check_conv(const uint8_t *s, size_t len)
{
    static hubc_conv_t *conv;
    if (!conv) {
        conv = fu_need(hubc_conv_new());
    }
    hub_buf_t out = HUB_BUF_INIT;
    hub_buf_append(&out, "keep", 4);
    size_t bad = SIZE_MAX;
    int rc = hubc_conv_run(conv, s, len, &out, &bad);
    bool valid = hubc_gb_valid(s, len, NULL);
    if (rc == HUB_OK) {
        if (out.len - 4 > 2 * len + 8 || memcmp(out.data, "keep", 4) != 0 ||
            !hub_utf8_valid((const char *) out.data, out.len, NULL)) {
            fu_fail("a conversion gave no valid UTF-8, or too much of it");
        }
    } else if (rc == HUB_EDECODE) {
        if (out.len != 4 || bad >= len) {
            fu_fail("a refused conversion changed OUT or named no offset (%zu of %zu)", bad, len);
        }
    } else if (valid || rc != HUB_ENOMEM) {
        fu_fail("hubc_conv_run gave %s for %s input", hub_error_name(rc),
                valid ? "valid" : "invalid");
    }
    hub_buf_free(&out);
}

static void
s_check_names(const uint8_t *s, size_t len)
{
    char name[16];
    size_t n = 0;
    while (n < len && n < sizeof name - 1 && s[n] != '\n') {
        name[n] = (char) s[n];
        n++;
    }
    name[n] = '\0';
    int enc = hubc_enc_parse(name);
    if (enc >= 0) {
        const char *canon = hubc_enc_name((hubc_enc_t) enc);
        if (hubc_enc_parse(canon) != enc) {
            fu_fail("'%s' reads as %d but its name '%s' does not", name, enc, canon);
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *s = fu_need(malloc(size ? size : 1)); // exact size: ASan sees overreads
    memcpy(s, data, size);
    s_check_structure(s, size);
    s_check_sniff(s, size);
    s_check_conv(s, size);
    s_check_names(s, size);
    free(s);
    return 0;
}
