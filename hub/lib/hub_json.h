// hub_json: messages (and diagnostics) as JSON, for people and tools
// (`hubctl msg encode/decode`, test files, adapters' dry runs). Parsing uses
// jansson with duplicate keys rejected; only this module sees jansson.
// Thread-safe as long as each call has its own message and buffers.
#ifndef HUB_JSON_H
#define HUB_JSON_H

#include "hub_buf.h"
#include "hub_diag.h"
#include "hub_msg.h"

#include <stddef.h>

// Output flags.
enum {
    HUB_JSON_PRETTY = 1u << 0, // indented, one key a line
};

// Parses the JSON object in the LEN bytes at TEXT into MSG (reset first).
// The form is docs/SCHEMAS.md's: envelope keys, "subject" and "body"
// objects. Syntax errors are reported at "NAME:LINE:COLUMN" (NAME may be
// NULL: "<json>"), model errors at the key path ("body.risks[1]") with the
// reasons of hub_codec_decode (wrong_type, unknown_key, bad_key,
// duplicate_key, limit) plus json_syntax. Errors: HUB_EDECODE, HUB_ELIMIT,
// HUB_ENOMEM.
int
hub_json_to_msg(hub_msg_t *msg, const char *text, size_t len, const char *name, hub_diag_t *diag);

// Appends MSG as a JSON object to OUT (keys in the documented order:
// envelope, subject, body). Errors: HUB_ENOMEM.
int
hub_json_from_msg(const hub_msg_t *msg, unsigned flags, hub_buf_t *out);

#endif
