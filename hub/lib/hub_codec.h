// hub_codec: the canonical msgpack encoding of a message (docs/SCHEMAS.md,
// "The msgpack encoding"). Both directions are our own code, checked in the
// unit suite against msgpack-c: the encoder writes msgpack-c's shortest
// forms in one pass (msgpack-c's packer calls back per header byte, which
// dominated the cost); the decoder is strict and bounded, because
// msgpack-c's unpacker allocates whatever an array header claims before
// seeing the data and cannot tell a duplicate key or where an error is.
// Only this module knows msgpack.
// Thread-safe as long as each call has its own message and buffers.
#ifndef HUB_CODEC_H
#define HUB_CODEC_H

#include "hub_buf.h"
#include "hub_diag.h"
#include "hub_msg.h"

#include <stddef.h>

typedef struct {
    size_t max_size;    // bytes of one encoded message
    size_t max_fields;  // keys in the body
    size_t max_str;     // bytes of one string
    size_t max_list;    // items of one list
    unsigned max_depth; // maps/arrays nested: 3 allows message > body > list
} hub_codec_limits_t;

// The defaults: 1 MiB, 256 fields, 64 KiB strings, 1,024 items, depth 3.
hub_codec_limits_t
hub_codec_limits_default(void);

// Appends the canonical encoding of MSG to OUT. Equal messages give equal
// bytes. Errors: HUB_ENOMEM (OUT keeps what it had).
int
hub_codec_encode(const hub_msg_t *msg, hub_buf_t *out);

// Decodes the LEN bytes at DATA into MSG (reset first; it then owns copies
// of everything, DATA may go away). LIMITS NULL means the defaults. The
// first problem goes to DIAG (may be NULL) with the byte offset and key path
// as its place, e.g. "offset 57 (body.risks[1])", and a reason word:
// truncated, wrong_type, duplicate_key, unknown_key, bad_key, invalid_utf8,
// trailing_bytes, limit. Errors: HUB_EDECODE, HUB_ELIMIT, HUB_ENOMEM.
// On error MSG holds a partial message; reset it before reuse.
int
hub_codec_decode(hub_msg_t *msg, const void *data, size_t len, const hub_codec_limits_t *limits,
                 hub_diag_t *diag);

#endif
