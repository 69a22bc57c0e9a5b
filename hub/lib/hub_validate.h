// hub_validate: checks a message against its type's schema and reports
// every problem, each with its field path and a reason a person can act on:
//   subject.citizen_id: check character is 8, expected 9 [check_char]
// The schema set is shared read-only; the message is the caller's own.
#ifndef HUB_VALIDATE_H
#define HUB_VALIDATE_H

#include "hub_diag.h"
#include "hub_msg.h"
#include "hub_schema.h"

// Flags for hub_validate().
enum {
    // Rewrite values that have one canonical form into it, in MSG, and
    // report each change as a note: 15-digit citizen IDs become 18, 'x'
    // becomes 'X', full-width digits become ASCII; phone numbers lose
    // spaces and "+86"; middle-dot variants in names become U+00B7.
    // Without it such values are errors ("not in canonical form").
    HUB_VALIDATE_NORMALIZE = 1u << 0,
};

// Validates MSG. Reports into DIAG (may be NULL); reasons: required,
// unknown_type, unknown_field, wrong_type, bad_value, check_char, bad_length,
// too_long, inconsistent,
// out_of_range, unknown_code, pattern, version_newer, not_canonical
// (docs/ERRORS.md). Returns HUB_OK when valid (notes alone do not make it
// invalid), HUB_EINVALID when any error was found, HUB_ENOMEM.
int
hub_validate(const hub_schemas_t *schemas, hub_msg_t *msg, unsigned flags, hub_diag_t *diag);

// Checks one value against one field spec (the part hub_validate() does
// per field), reporting under PATH. For adapters that check before they
// build a message. Same returns as hub_validate(); never normalises.
int
hub_validate_value(const hub_schemas_t *schemas, const hub_field_spec_t *spec, const hub_val_t *v,
                   const char *path, hub_diag_t *diag);

#endif
