// hubd: the hub daemon (docs/PROTOCOL.md, docs/OPERATIONS.md). One thread
// owns everything: the ROUTER socket, the ZAP handler, the store and the
// routing state; it waits in zmq_poll(). Modules: hubd.c (start, signals,
// the loop), hubd_keys.c (CURVE keys, PLAIN tokens, the ZAP handler), hubd_peer.c
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

// Who may connect, for the ZAP handler: the endpoints' CURVE public keys
// and, with hub.yaml security: plain, their PLAIN tokens.
typedef struct hubd_keys hubd_keys_t;

// Loads the public key file of every endpoint of DEPTS (paths relative to
// CFG's directory). A missing file is a warning (that endpoint cannot
// connect with CURVE; no warning under security: plain); a malformed key,
// or one key for two endpoints, is an error. When CFG says security:
// plain, also derives every endpoint's token
// (hub_config_plain_token) from the server's secret key (server_key); an
// unreadable one is an error then. Errors: HUB_ECONFIG, HUB_EIO, HUB_ENOMEM.
int
hubd_keys_load(hubd_keys_t **out, const hub_depts_t *depts, const hub_config_t *cfg,
               hub_diag_t *diag);

void
hubd_keys_destroy(hubd_keys_t **self_p);

// The endpoint whose public key is the 32 bytes at KEY, or NULL.
const hub_endpoint_t *
hubd_keys_find(const hubd_keys_t *self, const uint8_t key[32]);

// How many endpoints may connect: those with a public key (curve), or
// every endpoint (plain).
size_t
hubd_keys_count(const hubd_keys_t *self);

// Answers one ZAP request waiting on socket ZAP (a REP socket bound at
// inproc://zeromq.zap.01): admits CURVE clients whose key is in KEYS, and
// PLAIN clients whose username is an endpoint and password its token (only
// when KEYS were loaded under security: plain), with the endpoint id as the
// User-Id (200); refuses everything else (400) and logs it, without the
// password. Which mechanism a client may use at all is the ROUTER's
// (CURVE_SERVER or PLAIN_SERVER, set at start): a client of the other one
// never gets as far as ZAP.
void
hubd_zap_handle(void *zap, const hubd_keys_t *keys);

// A structured log line to stderr: "ts=... level=... event=..." then the
// formatted key=value pairs.
void
hubd_log(const char *level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

// What a peer sent (the N bytes at P), made fit for a log line: only the
// characters of endpoint ids pass (others become '?'), at most 64 of them
// ("..." marks a cut). OUT is NUL-terminated.
void
hubd_printable(const void *p, size_t n, char out[72]);

#endif
