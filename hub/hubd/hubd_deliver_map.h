// hubd_deliver_map: the bodies of DELIVER and DELIVER_BATCH
// (docs/PROTOCOL.md), written from deliveries as hub_store_pending() lends
// them. A DELIVER body is the delivery record's pairs, in the record's
// order and bytes, behind "endpoint" and "seq", the record's "msg" named
// "message"; a DELIVER_BATCH body is {deliveries: [DELIVER body, ...],
// endpoint}. Pure: no socket, no store (hubd_deliver.c sends what it
// writes; the unit suite checks its bytes).
#ifndef HUBD_DELIVER_MAP_H
#define HUBD_DELIVER_MAP_H

#include "hub_buf.h"
#include "hub_store.h"

#include <stdbool.h>
#include <stddef.h>

// Writes into OUT (emptied first) the body of the frame that carries the N
// (at least 1) deliveries at DS to ENDPOINT: a DELIVER's when N is 1, else
// a DELIVER_BATCH's. A delivery whose MSG_AT the store gave costs two
// copies; one without (a record of format 2) is walked pair by pair, to
// the same bytes. False when a record is not a map of string keys with
// whole values (nothing is to be sent then), or out of memory.
bool
hubd_deliver_body(const char *endpoint, const hub_store_delivery_t *ds, size_t n, hub_buf_t *out);

#endif
