// hub_record: one delivery as a department's inbox keeps it — the facts of
// the hub's DELIVER (docs/PROTOCOL.md: which rules released it, for which
// purposes, on which legal bases, which fields came masked) and the
// delivered message — written as one JSON line or one CSV row. Each
// begins with the endpoint sequence, which is how hub_inbox recovers.
//
// A record object is reused from delivery to delivery (it keeps its
// memory). Not thread-safe: one owner at a time.
#ifndef HUB_RECORD_H
#define HUB_RECORD_H

#include "hub_buf.h"
#include "hub_columns.h"
#include "hub_diag.h"
#include "hub_msg.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hubc_record hubc_record_t;

// A new, empty record; NULL when out of memory.
hubc_record_t *
hubc_record_new(void);

// Frees the record and sets *self_p to NULL. Safe on NULL.
void
hubc_record_destroy(hubc_record_t **self_p);

// Reads a DELIVER body (the LEN bytes at BODY, a msgpack map; as
// hubc_delivery_t.body) into SELF, copying what it keeps, and decodes its
// message. RECEIVED_AT is when the sink received it ("2025-03-01T08:00:00Z").
// seq, id, type and message are required; rules, purposes, legal_bases,
// ruleset, origin_id and fields may be missing; unknown keys are passed
// over (docs/PROTOCOL.md). Errors: HUB_EDECODE (DIAG says which key is
// missing or of the wrong kind, or where the message does not decode),
// HUB_ELIMIT, HUB_ENOMEM.
int
hubc_record_read(hubc_record_t *self, const void *body, size_t len, const char *received_at,
                 hub_diag_t *diag);

// The delivery's endpoint sequence and message type; its message (borrowed
// until the next read).
uint64_t
hubc_record_seq(const hubc_record_t *self);
const char *
hubc_record_type(const hubc_record_t *self);
const hub_msg_t *
hubc_record_msg(const hubc_record_t *self);

// Appends the record as one JSON line (UTF-8, ending in "\n"):
//   {"seq":N,"id":"…","origin_id":"…","type":"…","rules":[…],"purposes":[…],
//    "legal_bases":[…],"ruleset":"…","masked":{"subject.citizen_id":"partial"},
//    "received_at":"…","message":{…}}
// purposes and legal_bases run parallel to rules (null where a rule has
// none); masked lists every delivered field that came masked, with how.
// Errors: HUB_ENOMEM.
int
hubc_record_json(const hubc_record_t *self, hub_buf_t *out);

// Appends the record as one CSV row of COLS (ending in CRLF): the
// sequence, then each column's value (lists joined by "; ", money as yuan
// where COLS says so, empty where the message has nothing). *KNOWN gets
// whether COLS names the record's type (when not, the row holds only the
// "*" columns). Errors: HUB_ENOMEM.
int
hubc_record_csv(hubc_record_t *self, const hubc_columns_t *cols, hub_buf_t *out, bool *known);

#endif
