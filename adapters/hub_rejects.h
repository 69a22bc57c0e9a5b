// hub_rejects: the rejected-deliveries report beside a hub-sink inbox
// (docs/ADAPTERS.md, "hub-sink"). A delivery the sink cannot read or
// write as a record (a malformed map, a message this build cannot decode)
// must neither stop the endpoint's stream nor be lost: it is kept here,
// made durable, and only then acknowledged. The report is the file
//
//     DIR/ENDPOINT.rejected
//
// (never a name the inbox's department software takes: those end in
// ".jsonl" / ".csv"), one JSON line per delivery, appended:
//
//     {"seq":7,"store_id":"…","endpoint":"…","id":"…","origin_id":"…",
//      "type":"…","rejected_at":"2026-10-03T08:40:12Z","reason":"…",
//      "body":"<base64 of the delivery's msgpack map, as the hub sent it>"}
//
// id, origin_id and type are null when the delivery did not carry them.
// The report is also the sink's memory of what it rejected: opened, it
// finds the seqs of the lines of the current store id (hub_inbox.h, "the
// hub's store id") above the inbox's last, so that a rejected delivery
// that comes again (the sink was killed before its DACK) is dropped as a
// redelivery instead of reported twice, and a gap in the inbox that the
// report explains is not taken for a loss.
//
// One object per inbox (the inbox's lock keeps a second writer out); one
// thread.
#ifndef HUB_REJECTS_H
#define HUB_REJECTS_H

#include "hub_client.h"
#include "hub_diag.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct hubc_rejects hubc_rejects_t;

// Opens the report of ENDPOINT in directory DIR (which must exist; the
// file is made at the first commit) and reads it: a torn last line (a
// crash inside an append, never acknowledged) is cut, with a note in DIAG;
// a line hub-sink did not write is passed over, with a warning. The seqs
// above AFTER of the lines whose store id is STORE_ID ("": none) are
// remembered; lines written from now on carry STORE_ID (a store id is 32
// lower-case hex digits; anything else counts as none). Errors: HUB_EIO
// (with DIAG), HUB_ENOMEM.
int
hubc_rejects_open(hubc_rejects_t **out, const char *dir, const char *endpoint, const char *store_id,
                  uint64_t after, hub_diag_t *diag);

// Frees the report and sets *self_p to NULL; lines not committed are
// dropped (they were not acknowledged, so they come again). Safe on NULL.
void
hubc_rejects_destroy(hubc_rejects_t **self_p);

// Adds the line of delivery D, rejected at AT (UTC, "…Z") for REASON
// (where and why, one line), and remembers D's seq. Nothing is durable
// before hubc_rejects_commit(). Text that is not UTF-8 is written with
// U+FFFD in its place; the body's bytes are kept exactly. Errors:
// HUB_ENOMEM.
int
hubc_rejects_add(hubc_rejects_t *self, const hubc_delivery_t *d, const char *at,
                 const char *reason);

// Appends the lines added since the last commit and fdatasyncs the file
// (made, and its directory fsynced, when missing: an operator may have
// taken it away): afterwards their deliveries may be acknowledged.
// Nothing to append: HUB_OK at once. Errors: HUB_EIO (with DIAG; what this
// commit appended is cut off again, and the lines stay to commit).
int
hubc_rejects_commit(hubc_rejects_t *self, hub_diag_t *diag);

// True when SEQ was rejected (found at open, or added since).
bool
hubc_rejects_has(const hubc_rejects_t *self, uint64_t seq);

// LAST, moved past every seq after it that was rejected: with the inbox
// at LAST, the highest seq the sink has taken care of.
uint64_t
hubc_rejects_reach(const hubc_rejects_t *self, uint64_t last);

// Forgets the seqs up to UPTO (the inbox's durable last: a delivery at or
// below it is a redelivery anyway), so that memory stays small.
void
hubc_rejects_forget(hubc_rejects_t *self, uint64_t upto);

// The hub's store id changed (hub_inbox.h): lines written from now on
// carry STORE_ID. With RESTORED (the hub's store was restored, and its
// seqs are issued again) every seq remembered is forgotten.
void
hubc_rejects_set_store_id(hubc_rejects_t *self, const char *store_id, bool restored);

// Lines added since the report was opened, and its path ("DIR/ENDPOINT.
// rejected"; borrowed for the report's life).
uint64_t
hubc_rejects_count(const hubc_rejects_t *self);
const char *
hubc_rejects_path(const hubc_rejects_t *self);

#endif
