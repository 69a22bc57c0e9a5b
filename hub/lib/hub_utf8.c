#include "hub_utf8.h"

#include <stdint.h>
#include <string.h>

// The length of the sequence whose lead byte is C and whose continuation
// bytes stand at S; 0 when it is not valid.
static size_t
s_seq_len(const unsigned char *s, size_t left)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t min, cp;
    if (c < 0x80) {
        return 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
        n = 2, min = 0x80, cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3, min = 0x800, cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4, min = 0x10000, cp = c & 0x07;
    } else {
        return 0;
    }
    if (left < n) {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return 0;
    }
    return n;
}

// The validator behind both public checks; with NO_NUL a zero byte fails
// too, found in the same pass (the ingest path needs both checks).
static inline bool
s_valid(const char *str, size_t len, size_t *bad, bool no_nul)
{
    const unsigned char *s = (const unsigned char *) str;
    size_t i = 0;
    while (i < len) {
        // Fast path: eight ASCII bytes at a time (none zero, with NO_NUL).
        if (len - i >= 8) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            bool zero = no_nul && ((w - 0x0101010101010101ULL) & ~w & 0x8080808080808080ULL);
            if ((w & 0x8080808080808080ULL) == 0 && !zero) {
                i += 8;
                continue;
            }
        }
        if (s[i] < 0x80 && !(no_nul && s[i] == 0)) {
            i++;
            continue;
        }
        // Common three-byte sequences (CJK, Yi: lead E1..EC, EE, EF) take
        // any two continuation bytes; only E0 and ED restrict the second.
        size_t run = i;
        while (len - i >= 3) {
            unsigned char c = s[i];
            if (!(((c >= 0xE1 && c <= 0xEC) || c >= 0xEE) && c <= 0xEF) ||
                (s[i + 1] & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80) {
                break;
            }
            i += 3;
        }
        if (i != run) {
            continue;
        }
        size_t n = s[i] == 0 ? 0 : s_seq_len(s + i, len - i);
        if (n == 0) {
            if (bad) {
                *bad = i;
            }
            return false;
        }
        i += n;
    }
    return true;
}

bool
hub_utf8_valid(const char *str, size_t len, size_t *bad)
{
    return s_valid(str, len, bad, false);
}

bool
hub_utf8_valid_text(const char *str, size_t len, size_t *bad)
{
    return s_valid(str, len, bad, true);
}

unsigned long
hub_utf8_decode(const char *str, size_t len, size_t *n)
{
    const unsigned char *s = (const unsigned char *) str;
    size_t k = s_seq_len(s, len);
    if (k == 0) {
        *n = 1;
        return 0xFFFD;
    }
    *n = k;
    if (k == 1) {
        return s[0];
    }
    unsigned long cp = s[0] & (k == 2 ? 0x1F : k == 3 ? 0x0F : 0x07);
    for (size_t i = 1; i < k; i++) {
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    return cp;
}

size_t
hub_utf8_count(const char *s, size_t len)
{
    size_t count = 0;
    for (size_t i = 0; i < len; i++) {
        if (((unsigned char) s[i] & 0xC0) != 0x80) {
            count++;
        }
    }
    return count;
}

bool
hub_utf8_has_control(const char *s, size_t len, bool allow_newlines)
{
    for (size_t i = 0; i < len;) {
        size_t n;
        unsigned long cp = hub_utf8_decode(s + i, len - i, &n);
        bool newline = cp == '\t' || cp == '\n' || cp == '\r';
        if ((cp < 0x20 && !(allow_newlines && newline)) || (cp >= 0x7F && cp <= 0x9F)) {
            return true;
        }
        i += n;
    }
    return false;
}

static bool
s_is_middle_dot_variant(unsigned long cp)
{
    return cp == 0x2022 || cp == 0x30FB || cp == 0xFF65 || cp == 0x2027 || cp == 0x2219 ||
           cp == 0x22C5;
}

size_t
hub_utf8_fix_middle_dots(char *s, size_t len)
{
    size_t r = 0, w = 0;
    while (r < len) {
        size_t n;
        unsigned long cp = hub_utf8_decode(s + r, len - r, &n);
        if (s_is_middle_dot_variant(cp)) {
            s[w++] = (char) 0xC2;
            s[w++] = (char) 0xB7;
        } else {
            memmove(s + w, s + r, n);
            w += n;
        }
        r += n;
    }
    return w;
}

bool
hub_utf8_scan(const char *str, size_t len, bool allow_newlines, size_t *count)
{
    const unsigned char *s = (const unsigned char *) str;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char b = s[i];
        if (b < 0x20) {
            if (!(allow_newlines && (b == '\t' || b == '\n' || b == '\r'))) {
                return false;
            }
        } else if (b == 0x7F ||
                   (b == 0xC2 && i + 1 < len && s[i + 1] >= 0x80 && s[i + 1] <= 0x9F)) {
            return false; // DEL, or a C1 control (U+0080..U+009F)
        }
        n += (b & 0xC0) != 0x80;
    }
    *count = n;
    return true;
}

bool
hub_utf8_may_have_middle_dots(const char *s, size_t len)
{
    return memchr(s, 0xE2, len) || memchr(s, 0xE3, len) || memchr(s, 0xEF, len);
}
