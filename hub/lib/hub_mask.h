// hub_mask: how a released field is masked before delivery (docs/RULES.md,
// "Masking"). Pure functions over one value; the keyed hash needs the hub's
// secret (32 bytes, config hub.yaml `hash_key`). Any thread.
#ifndef HUB_MASK_H
#define HUB_MASK_H

#include "hub_msg.h"
#include "hub_schema.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    HUB_MASK_NONE = 0, // released as it is
    HUB_MASK_PARTIAL,  // citizen ID 513431********0019; phone 138****8000
    HUB_MASK_HASH,     // keyed HMAC-SHA256: a stable pseudonym "h:" + 32 hex
    HUB_MASK_YEAR,     // a date reduced to its year: "2010"
    HUB_MASK_AGE_BAND, // a birth date as a 5-year age band at the event: "10-14"
    HUB_MASK_DROP,     // not delivered at all
    HUB_MASK_COUNT
} hub_mask_t;

#define HUB_MASK_KEY_SIZE 32
#define HUB_MASK_OUT_MAX 128

// "none", "partial", ...; parse returns -1 for an unknown word.
const char *
hub_mask_name(hub_mask_t m);
int
hub_mask_parse(const char *s);

// True when mask M can apply to a field of type T (partial: citizen_id,
// phone, student_no, disability_no, name, string; hash: any string-like type; year: date;
// age_band: date; drop and none: anything).
bool
hub_mask_applies(hub_mask_t m, hub_ftype_t t);

// Writes the masked form of string V into OUT (HUB_MASK_OUT_MAX bytes,
// NUL-terminated) and returns its length. KEY is needed for HUB_MASK_HASH;
// EVENT_DATE ("YYYY-MM-DD") for HUB_MASK_AGE_BAND. Never fails: a value it
// cannot read (a malformed date) masks to "*".
size_t
hub_mask_apply(hub_mask_t m, hub_ftype_t t, const char *v, size_t len,
               const uint8_t key[HUB_MASK_KEY_SIZE], const char *event_date, char *out);

#endif
