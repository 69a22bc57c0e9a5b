// hub_client: the client side of the hub's protocol (docs/PROTOCOL.md) for
// department systems written in C: connect with an endpoint's CURVE keys
// (or, to a hub on this machine with hub.yaml security: plain, its token),
// publish canonical messages and wait for the hub's durable acks, or
// subscribe to the endpoint and receive, acknowledge and de-duplicate
// deliveries. One client object per thread; it owns one DEALER socket.
// With a hub that offers batches (WELCOME max_batch; docs/PROTOCOL.md,
// "Batches") it publishes many messages per frame (PUBLISH_BATCH) and asks
// for deliveries many per frame (DELIVER_BATCH); with an older hub it uses
// PUBLISH and DELIVER. The caller sees the same calls and results either way.
//
// The durable outbox with the source cursor, for adapters, is hub_outbox.h.
#ifndef HUB_CLIENT_H
#define HUB_CLIENT_H

#include "hub_config.h"
#include "hub_diag.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hubc hubc_t;

// What the hub said about one publish.
typedef struct {
    uint64_t ref;   // the client's number for its frame (0: no answer);
                    // the messages of one PUBLISH_BATCH share it
    bool acked;     // ACK (durable in the hub) or NACK
    bool duplicate; // the hub had it already
    uint64_t log_seq;
    uint64_t same_event; // not 0: stored, but a later report of an event the hub had
                         // (docs/PROTOCOL.md ACK.same_event: its first report's log seq);
                         // delivered to nobody. Nothing to resend.
    char code[32];       // NACK code ("invalid", "store_full", ...)
    char reason[256];    // NACK reason
} hubc_result_t;

// One delivery, as received. MESSAGE is the projected canonical message
// (msgpack) and BODY this delivery's map; both are borrowed until the next
// call on the client that receives (hubc_recv, hubc_publish,
// hubc_subscribe*) or hubc_destroy().
typedef struct {
    uint64_t seq; // endpoint sequence
    char id[72];  // the delivered message's id (a derived message's own)
    char type[64];
    char origin_id[72]; // the id of the message it came from (docs/PROTOCOL.md DELIVER)
    const void *message;
    size_t len;
    const void *body; // this delivery's map: a DELIVER body, or the one
    size_t body_len;  // entry of a DELIVER_BATCH (the same keys)
} hubc_delivery_t;

// How a connection proves which endpoint it is: as the hub's hub.yaml says
// (security; docs/PROTOCOL.md, "Transport"). A zeroed struct is CURVE.
// Strings are borrowed for the call.
//   CURVE: the endpoint's keypair KEY_DIR/NAME.pub and KEY_DIR/NAME.key
//          (private: mode 600), trusting the hub's public key in the file
//          SERVER_PUB (the department's copy of the hub's keys/hub.pub).
//   PLAIN: username NAME, password the endpoint's token: TOKEN, else the
//          file KEY_DIR/NAME.token (private; `hubctl token NAME` writes it
//          next to the key files). Only to a hub on this machine
//          (hub_config_is_local): the token travels in clear.
// A program that reads the hub's configuration (hub-adapter, hub-sink)
// takes SECURITY from it (hub_config_t.security), KEY_DIR from its keys
// (or its own option) and SERVER_PUB as KEY_DIR/hub.pub; hubc_listen_url()
// makes the URL. The same program then works with either hub.
typedef struct {
    hub_security_t security; // HUB_SECURITY_CURVE (0) or HUB_SECURITY_PLAIN
    const char *server_pub;  // CURVE: the hub's public key file; PLAIN: unused
    const char *key_dir;     // CURVE: NAME.pub, NAME.key; PLAIN: NAME.token (without TOKEN)
    const char *name;        // the endpoint, "education@513431"
    const char *token;       // PLAIN: 64 hex digits; NULL: read KEY_DIR/NAME.token
} hubc_auth_t;

// Connects to URL (tcp://host:port, ipc://path) as AUTH says and says
// HELLO. Waits up to TIMEOUT_MS for WELCOME.
// Errors (with a sentence in DIAG): HUB_EIO (keys or token unreadable or
// missing — "run hubctl token NAME" —, no answer: an unknown key, user or
// token never gets one, nor a client of the other mechanism), HUB_ECONFIG
// (PLAIN to a URL off this machine, a token that is not 64 hex digits, a
// key path too long), HUB_EDECODE (an unexpected answer).
int
hubc_connect_auth(hubc_t **out, const char *url, const hubc_auth_t *auth, int timeout_ms,
                  hub_diag_t *diag);

// hubc_connect_auth() with CURVE: the keypair KEY_DIR/NAME.pub and
// KEY_DIR/NAME.key, the hub's public key in the file SERVER_PUB.
int
hubc_connect(hubc_t **out, const char *url, const char *server_pub, const char *key_dir,
             const char *name, int timeout_ms, hub_diag_t *diag);

// The address to connect to for an address the hub listens on (hub.yaml's
// listen): a wildcard host ("*" or "0.0.0.0", a bind address) becomes
// 127.0.0.1; any other address is kept. Malloc'd (the caller frees it);
// NULL when out of memory.
char *
hubc_listen_url(const char *listen);

// Reads, as hubc_connect_auth() will, what AUTH names — CURVE: the hub's
// public key SERVER_PUB and the keypair of endpoint NAME in KEY_DIR
// (NAME.pub, NAME.key: readable Z85 files, the secret one private);
// PLAIN: the token (KEY_DIR/NAME.token, private, 64 hex digits), and that
// URL is on this machine — so that a wrong path, a missing key or token
// is told before connecting instead of as a hub that never answers.
// Errors (a sentence naming the file in DIAG, which may be NULL): those of
// hub_config_read_z85() and hub_config_read_key() (HUB_EIO, HUB_ECONFIG),
// HUB_EIO for a missing token, HUB_ECONFIG for a path too long or PLAIN
// to a URL off this machine.
int
hubc_check_auth(const char *url, const hubc_auth_t *auth, hub_diag_t *diag);

// hubc_check_auth() for CURVE keys (SERVER_PUB, KEY_DIR/NAME.pub, .key).
int
hubc_check_keys(const char *server_pub, const char *key_dir, const char *name, hub_diag_t *diag);

// Says BYE, closes, and sets *self_p to NULL. Safe on NULL.
void
hubc_destroy(hubc_t **self_p);

// The identity and department the hub gave this connection.
const char *
hubc_identity(const hubc_t *self);
const char *
hubc_department(const hubc_t *self);

// Publishes N messages (canonical msgpack, MSGS[i] of LENS[i] bytes) with
// up to WINDOW in flight, and waits for every answer (up to TIMEOUT_MS
// without any answer). RESULTS[i] gets each answer; an unanswered one has
// ref 0. Returns HUB_OK when every message was answered (acked or
// nacked), HUB_EIO on timeout. A session the hub lost (ERROR hello_first:
// the hub restarted, or heard nothing from this connection for three
// heartbeat intervals — a caller that does not call in for that long) is
// taken back here: HELLO again, SUBSCRIBE again when subscribed, and the
// unanswered messages resent (ids make it safe), up to 3 times a call;
// HUB_EIO when that fails too (then reconnect: hubc_destroy, connect).
// When the hub offers PUBLISH_BATCH, messages go min(max_batch, WINDOW,
// 256) to a frame (still at most WINDOW in flight), else one PUBLISH each.
int
hubc_publish(hubc_t *self, const void *const *msgs, const size_t *lens, size_t n, size_t window,
             hubc_result_t *results, int timeout_ms);

// Subscribes to this connection's own endpoint with CREDIT deliveries in
// flight; *ACKED and *LAST (may be NULL) get the hub's cursor and last seq.
// It asks for batches of up to 64 deliveries per frame (SUBSCRIBE batch);
// an older hub ignores that and sends single DELIVERs: hubc_recv() takes
// both. Deliveries of an earlier subscription not yet handed out are
// dropped (the hub sends them again after its cursor).
// hubc_subscribe_to(self, hubc_identity(self), ...).
int
hubc_subscribe(hubc_t *self, uint64_t credit, uint64_t *acked, uint64_t *last, int timeout_ms);

// Subscribes to ENDPOINT, as hubc_subscribe(). The hub serves a connection
// only its own endpoint: for another it answers ERROR forbidden, and this
// returns HUB_EINVAL with the hub's words in hubc_error(). Later DACKs go
// to ENDPOINT. Errors: HUB_EIO (no answer in TIMEOUT_MS), HUB_EINVAL (the
// hub said ERROR), HUB_EDECODE (another answer).
int
hubc_subscribe_to(hubc_t *self, const char *endpoint, uint64_t credit, uint64_t *acked,
                  uint64_t *last, int timeout_ms);

// The store_id of the last SUBSCRIBED: which history of endpoint
// sequences the hub's numbers belong to (32 lower-case hex digits); ""
// before a subscription, or from an older hub that sends none. A consumer
// keeps the last seq it processed TOGETHER with this id (docs/PROTOCOL.md,
// "Consuming"): when a SUBSCRIBED brings another id than the one kept, the
// hub's store was restored from a backup, and the sequences after the
// hub's acked are issued again, possibly to other messages. Then forget
// the kept seq: pass the hub's acked (not your last) as hubc_recv()'s
// LAST_DONE, take everything after it as new (drop by message id what you
// already have), and keep the new id with your next seq. "" (unknown):
// keep dropping by seq as before. Borrowed until the next subscribe.
const char *
hubc_store_id(const hubc_t *self);

// The last ERROR the hub sent this client, as "code: reason" ("" if none).
const char *
hubc_error(const hubc_t *self);

// How many times this connection took back a session the hub had lost
// (hubc_publish(), hubc_recv()): for the caller's log. Not when the hub's
// store_id changed on the way: that call returned HUB_EIO.
uint64_t
hubc_resumes(const hubc_t *self);

// Waits up to TIMEOUT_MS for the next delivery. One at a time: the
// deliveries of a DELIVER_BATCH are handed out by successive calls, in
// order (only the first of them waits for the network). Deliveries whose
// seq is not above LAST_DONE (already processed: a redelivery) are dropped
// here, each, and acknowledged (they are durable on the caller's side), so
// the hub's cursor catches up with what the caller has processed.
// A session the hub lost is taken back as in hubc_publish() (HELLO and
// SUBSCRIBE again: the hub resends after its cursor, and what is at or
// below LAST_DONE is dropped as above). Errors: HUB_ENOTFOUND (nothing
// arrived in time), HUB_EIO (the session lost and not taken back),
// HUB_EDECODE (a delivery without seq or message; the next call goes on
// with the next one): OUT->seq is its seq when that much could be read
// (else 0), and OUT->body / body_len the delivery's bytes, so that the
// caller can keep it aside and acknowledge it rather than stop there.
int
hubc_recv(hubc_t *self, uint64_t last_done, hubc_delivery_t *out, int timeout_ms);

// Acknowledges every delivery up to SEQ (after it is durable on your side).
int
hubc_dack(hubc_t *self, uint64_t seq);

// Milliseconds on the monotonic clock (for the caller's own deadlines).
int64_t
hubc_mono_ms(void);

// Sleeps MS milliseconds; a signal cuts it short (the caller's loop checks
// its stop flag).
void
hubc_sleep_ms(int64_t ms);

#endif
