// hub_utf8: strict UTF-8 checks and the few text normalisations the domain
// needs. Pure functions, no allocation, any thread.
#ifndef HUB_UTF8_H
#define HUB_UTF8_H

#include <stdbool.h>
#include <stddef.h>

// True when the LEN bytes at S are valid UTF-8 (RFC 3629): no overlong
// forms, no surrogates (U+D800..U+DFFF), nothing above U+10FFFF. On false
// and when BAD is non-NULL, *BAD is the offset of the first bad byte.
bool
hub_utf8_valid(const char *s, size_t len, size_t *bad);

// hub_utf8_valid() that also refuses U+0000 (a zero byte), in one pass;
// *BAD then points at the zero byte. For strings that must travel as
// JSON and C strings too.
bool
hub_utf8_valid_text(const char *s, size_t len, size_t *bad);

// The number of code points in valid UTF-8.
size_t
hub_utf8_count(const char *s, size_t len);

// Decodes the code point at S (valid UTF-8, LEN > 0); *N gets its length.
unsigned long
hub_utf8_decode(const char *s, size_t len, size_t *n);

// True when valid UTF-8 S holds a control character (C0, DEL, C1); with
// ALLOW_NEWLINES, TAB, LF and CR are allowed.
bool
hub_utf8_has_control(const char *s, size_t len, bool allow_newlines);

// One pass over valid UTF-8 S for the validator: false when S holds a
// control character (as hub_utf8_has_control); else *COUNT gets the number
// of code points. Faster than the two calls it replaces.
bool
hub_utf8_scan(const char *s, size_t len, bool allow_newlines, size_t *count);

// False when valid UTF-8 S certainly holds no middle-dot variant (no lead
// byte E2, E3 or EF), so hub_utf8_fix_middle_dots() need not run.
bool
hub_utf8_may_have_middle_dots(const char *s, size_t len);

// Rewrites a name in place: every middle-dot variant (U+2022 •, U+30FB ・,
// U+FF65 ･, U+2027 ‧, U+2219 ∙, U+22C5 ⋅) becomes U+00B7 ·, which is never
// longer. Returns the new length. S must be valid UTF-8.
size_t
hub_utf8_fix_middle_dots(char *s, size_t len);

#endif
