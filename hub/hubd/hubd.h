// hubd: the hub daemon (docs/PROTOCOL.md, docs/OPERATIONS.md). One thread
// owns everything: the ROUTER socket, the ZAP handler, the store and the
// routing state; it waits in zmq_poll(). Modules: hubd.c (start, signals,
// the loop), hubd_keys.c (CURVE keys and the ZAP handler), hubd_peer.c
// (connections), hubd_ingest.c (publish, group commit, acks),
// hubd_deliver.c (subscriptions, credit, redelivery).
#ifndef HUBD_H
#define HUBD_H

#include "hub_config.h"
#include "hub_depts.h"
#include "hub_diag.h"
#include "hub_route.h"
#include "hub_rules.h"
#include "hub_schema.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// The CURVE public keys of the endpoints, for the ZAP handler.
typedef struct hubd_keys hubd_keys_t;

// Loads the public key file of every endpoint of DEPTS (paths relative to
// CONFIG_DIR). A missing file is a warning (that endpoint cannot connect);
// a malformed key, or one key for two endpoints, is an error.
// Errors: HUB_ECONFIG, HUB_ENOMEM.
int
hubd_keys_load(hubd_keys_t **out, const hub_depts_t *depts, const char *config_dir,
               hub_diag_t *diag);

void
hubd_keys_destroy(hubd_keys_t **self_p);

// The endpoint whose public key is the 32 bytes at KEY, or NULL.
const hub_endpoint_t *
hubd_keys_find(const hubd_keys_t *self, const uint8_t key[32]);

// How many endpoints have a key.
size_t
hubd_keys_count(const hubd_keys_t *self);

// Answers one ZAP request waiting on socket ZAP (a REP socket bound at
// inproc://zeromq.zap.01): admits CURVE clients whose key is in KEYS, with
// the endpoint id as the User-Id; refuses everything else.
void
hubd_zap_handle(void *zap, const hubd_keys_t *keys);

// A structured log line to stderr: "ts=... level=... event=..." then the
// formatted key=value pairs.
void
hubd_log(const char *level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
