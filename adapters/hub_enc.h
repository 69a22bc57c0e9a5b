// hub_enc: the text encodings department exports come in (UTF-8, GBK,
// GB18030) and their conversion to UTF-8, for the adapters' readers
// (hub_csv). GB18030 is read with glibc's iconv; its byte structure is
// checked here first, so that an invalid byte is reported at its exact
// offset (iconv only says "somewhere in this buffer").
//
// The structure of GB18030 (GB 18030-2022): bytes 00-7F are ASCII; a lead
// byte 81-FE starts a 2-byte character (second byte 40-7E or 80-FE) or a
// 4-byte one (81-FE 30-39 81-FE 30-39). So the bytes CSV cares about
// (quote, comma, CR, LF) never occur inside a multi-byte character, but
// other ASCII bytes (| \ @ letters) do, as second bytes.
//
// Pure functions, any thread; a converter belongs to one thread.
#ifndef HUB_ENC_H
#define HUB_ENC_H

#include "hub_buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    HUBC_ENC_AUTO = 0, // a BOM means UTF-8; valid UTF-8 is UTF-8; else GB18030
    HUBC_ENC_UTF8,
    HUBC_ENC_GB18030,
    HUBC_ENC_GBK, // read as GB18030, its superset, so nothing is lost
} hubc_enc_t;

// The encoding called NAME ("auto", "utf-8", "utf8", "gb18030", "gbk",
// "cp936", any case), or -1.
int
hubc_enc_parse(const char *name);

// "auto", "utf-8", "gb18030", "gbk".
const char *
hubc_enc_name(hubc_enc_t enc);

// The length of the GB18030 character at S (LEN > 0 bytes available):
// 1, 2 or 4; 0 when the bytes at S are not a valid character; and -1 when
// they could begin one but LEN ends first (more bytes are needed). The
// zero byte is not a character here (a CSV never holds one).
int
hubc_gb_char_len(const uint8_t *s, size_t len);

// True when the LEN bytes at S are whole, valid GB18030 characters; on false
// *BAD (when BAD is non-NULL) is the offset of the first byte that is not.
bool
hubc_gb_valid(const uint8_t *s, size_t len, size_t *bad);

// Decides the encoding of a file whose first non-ASCII bytes are the LEN
// bytes at S (a sample: a UTF-8 character cut at its end is not held
// against it when AT_EOF is false): HUBC_ENC_UTF8 when the sample is valid
// UTF-8, else HUBC_ENC_GB18030.
hubc_enc_t
hubc_enc_sniff(const uint8_t *s, size_t len, bool at_eof);

typedef struct hubc_conv hubc_conv_t;

// A GB18030 -> UTF-8 converter. NULL when out of memory or when iconv
// lacks GB18030 (glibc always has it).
hubc_conv_t *
hubc_conv_new(void);

// Frees the converter and sets *self_p to NULL. Safe on NULL.
void
hubc_conv_destroy(hubc_conv_t **self_p);

// Appends the UTF-8 form of the LEN bytes of GB18030 at IN to OUT.
// Errors: HUB_EDECODE (the input holds a sequence iconv refuses, e.g. an
// unassigned 4-byte code; *BAD gets its offset; OUT is left as it was),
// HUB_ENOMEM.
int
hubc_conv_run(hubc_conv_t *self, const uint8_t *in, size_t len, hub_buf_t *out, size_t *bad);

#endif
