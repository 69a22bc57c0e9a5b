// Private to hubd: the daemon's state, shared by its modules.
#ifndef HUBD_INT_H
#define HUBD_INT_H

#include "hub_buf.h"
#include "hub_store.h"
#include "hubd.h"

#include <signal.h>

#define HUBD_MAX_PEERS 1024
#define HUBD_RID_MAX 64      // ZeroMQ routing ids are 5 bytes by default
#define HUBD_MAX_BATCH 65536

// One connection, known by its ZeroMQ routing id.
typedef struct {
    uint8_t rid[HUBD_RID_MAX];
    size_t rid_len;
    const hub_endpoint_t *endpoint;  // its identity (from the CURVE key)
    bool hello;                      // HELLO received
    int64_t last_in_ms;              // last message from it
    int64_t last_out_ms;             // last message to it
    bool subscribed;                 // to its own endpoint
    uint64_t credit;                 // deliveries allowed in flight
    uint64_t sent;                   // highest endpoint seq sent
    uint64_t acked;                  // highest endpoint seq acknowledged
    int64_t last_ack_ms;             // last DACK (or SUBSCRIBE), for redelivery
    bool used;
} hubd_peer_t;

// A publish waiting for its batch to commit.
typedef struct {
    uint8_t rid[HUBD_RID_MAX];
    size_t rid_len;
    uint64_t ref;
    char id[72];
    uint64_t log_seq;
    bool duplicate;
} hubd_pending_t;

// Everything the configuration makes; swapped whole on reload.
typedef struct {
    hub_config_t cfg;
    hub_schemas_t *schemas;
    hub_depts_t *depts;
    hub_rules_t *rules;
    hubd_keys_t *keys;
} hubd_conf_t;

typedef struct {
    const char *config_dir;
    hubd_conf_t conf;
    uint8_t hash_key[32];
    hub_store_t *store;
    void *ctx, *router, *zap;
    hubd_peer_t peers[HUBD_MAX_PEERS];
    hubd_pending_t *pending;         // publishes of the open batch
    size_t npending;
    bool batch_open;
    hub_msg_t *msg;                  // scratch, reused
    hub_route_t *route;
    hub_diag_t *diag;
    hub_buf_t canon;                 // the canonical bytes of the message in hand
    hub_buf_t out;                   // a body being written
    uint64_t stats_in, stats_acked, stats_nacked, stats_delivered;
    uint8_t dedup_resume[256];       // where the dedup-window purge goes on
    size_t dedup_resume_len;
    int64_t dedup_next_ms;           // when the next purge slice runs
} hubd_t;

// Loads the configuration of DIR into CONF. Errors go to DIAG.
int
hubd_conf_load(hubd_conf_t *conf, const char *dir, hub_diag_t *diag);
void
hubd_conf_free(hubd_conf_t *conf);

// Milliseconds since the epoch (wall clock) and a monotonic clock.
int64_t
hubd_now_ms(void);
int64_t
hubd_mono_ms(void);

// Sends [RID][CMD][BODY] on the router (never blocks: a full peer drops
// the message, and the peer catches up by redelivery). False on failure.
bool
hubd_send(hubd_t *self, const uint8_t *rid, size_t rid_len, const char *cmd, const void *body,
          size_t len);

// ERROR {code, reason} to a peer.
void
hubd_send_error(hubd_t *self, hubd_peer_t *peer, const char *code, const char *reason);

// The peer with routing id RID, created when new (NULL when the table is
// full). USER_ID is the identity ZAP gave the connection.
hubd_peer_t *
hubd_peer(hubd_t *self, const uint8_t *rid, size_t len, const char *user_id);

// Protocol handlers (body = the msgpack map of the command).
void
hubd_on_publish(hubd_t *self, hubd_peer_t *peer, const void *body, size_t len);
void
hubd_commit(hubd_t *self);
void
hubd_on_subscribe(hubd_t *self, hubd_peer_t *peer, const void *body, size_t len);
void
hubd_on_dack(hubd_t *self, hubd_peer_t *peer, const void *body, size_t len);
void
hubd_on_credit(hubd_t *self, hubd_peer_t *peer, const void *body, size_t len);

// Forgets, a slice at a time in the open (or a new) batch, dedup entries
// older than the dedup window.
void
hubd_dedup_purge(hubd_t *self);

// Sends what subscribed peers may receive now; resends after ack timeouts.
void
hubd_pump(hubd_t *self);

#endif
