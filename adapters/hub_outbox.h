// hub_outbox: the publisher's durable outbox (docs/ADAPTERS.md). An adapter
// hands messages to the outbox together with its source cursor (how far it
// has read its department's export) in ONE durable LMDB transaction, then
// flushes the outbox to the hub; a message leaves the outbox only when the
// hub has acknowledged it (durable there) or refused it for good. So if
// the adapter or the hub dies at any moment, nothing handed over is lost,
// and re-reading the export from the saved cursor publishes nothing twice
// (and a resend after a crash is answered "duplicate": message ids are
// derived from the source record).
//
// One outbox per adapter, one thread at a time. LMDB files are mode 0600.
#ifndef HUB_OUTBOX_H
#define HUB_OUTBOX_H

#include "hub_client.h"
#include "hub_diag.h"

#include <stddef.h>
#include <stdint.h>

typedef struct hubc_outbox hubc_outbox_t;

// What one flush did.
typedef struct {
    size_t acked;     // stored by the hub (new)
    size_t duplicate; // the hub had them already
    size_t rejected;  // refused for good (invalid, not allowed ...): kept in the rejected db
    size_t retry;     // refused for now (store full, unavailable) or unanswered: still queued
} hubc_flush_t;

// Opens (creating) the outbox environment in directory PATH.
// Errors: HUB_EIO (with DIAG), HUB_ENOMEM.
int
hubc_outbox_open(hubc_outbox_t **out, const char *path, hub_diag_t *diag);

void
hubc_outbox_destroy(hubc_outbox_t **self_p);

// Adds N messages (canonical msgpack) and, when CURSOR_NAME is non-NULL,
// sets that source cursor to the CURSOR_LEN bytes at CURSOR — all in one
// durable transaction: after a crash either all of it is there or none.
// Errors: HUB_EIO, HUB_EFULL.
int
hubc_outbox_put(hubc_outbox_t *self, const void *const *msgs, const size_t *lens, size_t n,
                const char *cursor_name, const void *cursor, size_t cursor_len);

// Reads the source cursor NAME into BUF (SIZE bytes); *LEN gets its
// length. HUB_ENOTFOUND when never set.
int
hubc_outbox_cursor(hubc_outbox_t *self, const char *name, void *buf, size_t size, size_t *len);

// Messages waiting to be acknowledged.
size_t
hubc_outbox_pending(hubc_outbox_t *self);

// Sends the waiting messages (up to WINDOW in flight) through CLIENT and
// removes those the hub acknowledged or refused for good; refusals for
// good are kept, with the hub's code and reason, in the outbox's
// `rejected` database for the rejected-records report. STATS (may be NULL)
// gets the counts. Errors: HUB_EIO (no answer in TIMEOUT_MS: everything
// unanswered stays queued for the next flush).
int
hubc_outbox_flush(hubc_outbox_t *self, hubc_t *client, size_t window, int timeout_ms,
                  hubc_flush_t *stats);

#endif
