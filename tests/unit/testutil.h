// Helpers shared by the unit suites.
#ifndef HUB_TESTUTIL_H
#define HUB_TESTUTIL_H

#include "hub_msg.h"
#include "hub_schema.h"

#include <stdint.h>

// A valid student.enrolment_change (the dropout of scenario 1) with a
// 15-field body and subject. Resets MSG first.
void tu_dropout(hub_msg_t *msg);

// A deterministic pseudo-random message from SEED: random keys, kinds,
// lengths (including multi-byte UTF-8 and 4-byte characters) and lists.
void tu_random_msg(hub_msg_t *msg, uint64_t seed);

// The shipped schema set, loaded once per process from ./schemas.
const hub_schemas_t *tu_schemas(void);

// xorshift64* step.
uint64_t tu_rand(uint64_t *state);

#endif
