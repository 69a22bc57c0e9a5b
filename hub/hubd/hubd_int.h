// Private to hubd: the daemon's state, shared by its modules.
#ifndef HUBD_INT_H
#define HUBD_INT_H

#include "hub_buf.h"
#include "hub_listset.h"
#include "hub_mpw.h"
#include "hub_store.h"
#include "hubd.h"
#include "hubd_metrics.h"

#include <pthread.h>
#include <signal.h>

#define HUBD_MAX_PEERS 1024
#define HUBD_MAX_PEERS_PER_ENDPOINT 32 // so one key cannot fill the table
#define HUBD_RID_MAX 64                // ZeroMQ routing ids are 5 bytes by default
#define HUBD_MAX_BATCH 65536
#define HUBD_PUBLISH_BATCH_MAX 1024 // WELCOME max_batch: messages in one PUBLISH_BATCH
#define HUBD_MAX_MESSAGE (1u << 20) // WELCOME max_message: bytes of one message
// The largest frame a client may send (ZMQ_MAXMSGSIZE of the client socket;
// ZeroMQ drops a connection that sends more, unread): the largest
// PUBLISH_BATCH, max_batch messages of max_message bytes each in a bin 32
// (5 bytes of header), and 64 KiB for the rest, which takes under 100
// bytes today: the body's map, "ref" and "messages" headers in their
// widest encodings, keys a later protocol may add (a receiver ignores
// them), the 33 bytes CURVE adds to a frame on the wire.
#define HUBD_MAX_FRAME ((int64_t) HUBD_PUBLISH_BATCH_MAX * (HUBD_MAX_MESSAGE + 5) + 65536)
#define HUBD_MAX_REQS 4096         // PUBLISH_BATCHes waiting for one commit
#define HUBD_MAX_SLOTS 65536       // their messages, all together
#define HUBD_DELIVER_BATCH_MAX 256 // deliveries in one DELIVER_BATCH (SUBSCRIBE batch, capped)

// One connection, known by its ZeroMQ routing id.
typedef struct {
    uint8_t rid[HUBD_RID_MAX];
    size_t rid_len;
    const hub_endpoint_t *endpoint; // its identity (from the CURVE key)
    bool hello;                     // HELLO received
    int64_t last_in_ms;             // last message from it
    int64_t last_out_ms;            // last message to it
    bool subscribed;                // to its own endpoint
    uint64_t credit;                // deliveries allowed in flight
    uint64_t sent;                  // highest endpoint seq sent (since the last resend)
    uint64_t high;                  // highest endpoint seq ever sent to this peer
    uint64_t acked;                 // highest endpoint seq acknowledged
    uint64_t batch;                 // deliveries per frame (SUBSCRIBE batch); <= 1: DELIVER
    int64_t last_ack_ms;            // last DACK (or SUBSCRIBE), for redelivery
    bool used;
} hubd_peer_t;

// A publish waiting for its batch to commit: a PUBLISH (answered with its
// own ACK to RID, REF) or one message of a PUBLISH_BATCH (answered in the
// request's ACK_BATCH, at SLOT).
typedef struct {
    uint8_t rid[HUBD_RID_MAX];
    size_t rid_len;
    uint64_t ref;
    char id[72];
    uint64_t log_seq; // set by the writer, with DUPLICATE, SAME_EVENT and RC
    bool duplicate;
    uint64_t same_event; // not 0: the log seq of the first report of its event
    int rc;              // how applying it went (HUB_OK: ack it)
    size_t req;          // 1 + its PUBLISH_BATCH's index in reqs; 0: a PUBLISH
    size_t slot;         // its place in that PUBLISH_BATCH's messages
} hubd_pending_t;

// The answer to one message of a PUBLISH_BATCH, until ACK_BATCH goes out.
typedef struct {
    bool stored;    // waiting for the commit: pending[at]
    size_t at, len; // else refused: its NACK map, refusals[at .. at+len)
    bool dead;      // refused, and kept as a dead letter by the commit
} hubd_slot_t;

// A PUBLISH_BATCH being answered: its ACK_BATCH goes out after the commit
// that makes its stored messages durable (at once when none was stored).
typedef struct {
    uint8_t rid[HUBD_RID_MAX];
    size_t rid_len;
    uint64_t ref;
    size_t first, n;    // its answers: slots[first .. first+n)
    size_t stored;      // of those, messages waiting for the commit
    size_t dead;        // and refusals whose dead letters wait for it
    size_t refusals_at; // where its refusals start in refusals
} hubd_req_t;

// A PUBLISH refused with a dead letter: its NACK (the map in the batch's
// refusals[at .. at+len)) goes to RID after the commit that keeps the
// dead letter, as an ACK waits for its message's. A publisher told
// "invalid" drops the message; the hub must have it by then.
typedef struct {
    uint8_t rid[HUBD_RID_MAX];
    size_t rid_len;
    uint64_t ref;
    char id[72];
    size_t at, len;
} hubd_late_t;

// What a batch asks of the store, in hubd_batch_t.ops: [u8 kind][u32 len]
// [payload], back to back (hubd_writer.c has the payloads).
typedef enum {
    HUBD_OP_INGEST = 1, // a prepared message (hub_store_prepare()): pending[i]
    HUBD_OP_DEAD,       // a dead letter
    HUBD_OP_ACK,        // an endpoint's cursor (a DACK)
    HUBD_OP_PURGE,      // a slice of the dedup-window purge
    HUBD_OP_LIST,       // a list membership set by the INGEST before it
} hubd_op_t;

// A group-commit batch. Two take turns: the main thread fills one (reads,
// decodes, validates, routes and prepares each message, with no LMDB)
// while the writer thread applies the other to the store and commits it;
// then the main thread answers it (ACK after the commit) and hands over
// the next. Only one thread touches a batch at a time: the writer from
// the hand-over until it says it is done (hubd_writer.c).
typedef struct {
    hub_buf_t ops; // the store's work
    size_t nops;
    bool op_bad;             // the op being written lost its header (out of memory)
    hubd_pending_t *pending; // one per HUBD_OP_INGEST, in order (HUBD_MAX_BATCH)
    size_t npending;
    hubd_req_t *reqs; // PUBLISH_BATCHes answered by it (HUBD_MAX_REQS)
    size_t nreqs;
    bool req_open;      // the last of reqs is being read (a PUBLISH_BATCH in hand)
    hubd_slot_t *slots; // their answers (HUBD_MAX_SLOTS)
    size_t nslots;
    hub_buf_t refusals; // refused messages' NACK maps, as ACK_BATCH will carry them
    hub_buf_t late;     // hubd_late_t: PUBLISHes refused with a dead letter
    // Set by the writer:
    int rc;                 // HUB_OK, or what broke the batch (nothing of it stored)
    char why[320];          // when RC: the store's words for it (hub_store_last_error)
    bool panicked;          // when RC: LMDB gave up on the store (hub_store_panicked)
    int64_t commit_us;      // begin to commit
    size_t dedup_ids;       // the dedup table's size after the commit
    size_t subject_pending; // subject index entries not yet in a run, after it
    bool has_purge;         // it holds a HUBD_OP_PURGE (set by the main thread)
    bool has_list;          // it holds a HUBD_OP_LIST (set by the main thread)
    bool purge;             // that op was applied: how many went, whether more are due
    bool purge_more;
    size_t purged;
} hubd_batch_t;

#define HUBD_RATE_SLOTS 60 // per-second samples: rates over the last minute
#define HUBD_MAX_EPS 256   // endpoints with delivery counters

// A counter sampled once a second, with the time of each sample: a main
// loop that stalled (a long fsync, a long admin request) skips samples,
// and the rate is still the count over the time that really passed.
typedef struct {
    uint64_t ring[HUBD_RATE_SLOTS]; // the counter at each sample
    int64_t at[HUBD_RATE_SLOTS];    // when it was taken (monotonic ms)
    size_t pos;                     // samples taken
} hubd_rate_t;

// Deliveries sent to one endpoint, for status and metrics.
typedef struct {
    char id[64];
    uint64_t delivered;   // DELIVERs sent, resends included
    uint64_t redelivered; // of those, resends (ack timeout, reconnect, rewind)
    uint64_t acks;        // deliveries acknowledged
    hubd_rate_t rate;
} hubd_epstat_t;

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
    char store_id[33]; // the store's id, read at start (SUBSCRIBED, status)
    void *ctx, *router, *zap, *admin;
    hubd_peer_t peers[HUBD_MAX_PEERS];
    hubd_batch_t batches[2];
    hubd_batch_t *fill;            // being filled by the main thread
    hubd_batch_t *flight;          // at the writer thread (NULL: it is idle)
    hub_store_prep_t *prep;        // the main thread's preparer
    struct hubd_writer *writer;    // the writer thread (hubd_writer.c)
    bool purge_queued;             // a HUBD_OP_PURGE waits in fill or flight
    uint64_t stats_commits_main;   // batches committed by the main thread (small, writer idle)
    uint64_t stats_commits_writer; // and by the writer thread
    hub_msg_t *msg;                // scratch, reused
    hub_route_t *route;
    hub_listset_t *lists; // the lists' members as of the last commit (routing reads)
    hub_diag_t *diag;
    hub_buf_t canon; // the canonical bytes of the message in hand
    hub_buf_t out;   // a body being written
    hub_buf_t aux;   // an operations-log detail being written
    uint64_t stats_in, stats_acked, stats_nacked, stats_delivered, stats_dead;
    int64_t started_ms; // wall clock
    hubd_rate_t acked_rate;
    uint64_t stats_commit_us;       // time spent in group commits, all of them
    uint64_t stats_dedup_ids;       // ids in the dedup window's table, as of the last commit
    uint64_t stats_subject_pending; // subject index entries in memory, as of the last commit
    hubd_rate_t commit_rate;        // of stats_commit_us: the share of the time committing
    hubd_epstat_t eps[HUBD_MAX_EPS];
    size_t neps;
    int64_t next_tick_ms, next_checkpoint_ms, next_retain_ms; // monotonic
    int64_t last_publish_ms, next_index_ms;                   // monotonic: hubd_index_idle()
    bool index_busy;                                          // it did work in its last round
    bool retain_failed;           // the last retention slice failed: a reload retries it
    bool store_lost;              // LMDB gave up on the store: stop, exit 1 (a restart reopens it)
    hubd_metrics_t *metrics;      // the HTTP /metrics server, or NULL (hub.yaml metrics)
    hubd_metrics_snapshot_t snap; // counters only the main loop writes; published each second
    hubd_metrics_endpoint_t meps[HUBD_MAX_EPS]; // the snapshot's endpoints, refilled each second
    int64_t full_logged_ms;                     // when too_many_connections was last logged
    bool sign_ok;                               // an audit signing key was loaded
    uint8_t sign_sk[64];                        // Ed25519 secret key for checkpoints
    int64_t dedup_next_ms;                      // when the next purge slice runs
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
int64_t
hubd_mono_us(void);

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
// PUBLISH_BATCH: each message as a PUBLISH would be (the same code path),
// answered by one ACK_BATCH (docs/PROTOCOL.md, "Batches").
void
hubd_on_publish_batch(hubd_t *self, hubd_peer_t *peer, const void *body, size_t len);

// ---- the writer thread and its batches (hubd_writer.c)

// Starts the writer thread (and makes both batches). Errors: HUB_ENOMEM,
// HUB_EIO.
// ---- lists (hubd_lists.c; docs/RULES.md "Lists")

// Reads every list's members from the store into self->lists (after a
// start or a reload: the current rule set's lists; members of a list no
// longer declared are left out) and points the router at them. Logs
// event=lists_loaded. Main thread. Errors: HUB_EIO, HUB_ENOMEM.
int
hubd_lists_load(hubd_t *self);

// After the INGEST op of the message in hand (self->msg, from SOURCE):
// one HUBD_OP_LIST op per list the message changes. False when an op
// could not be written (out of memory): the caller then takes the
// message's INGEST op and its LIST ops back out and refuses the message.
bool
hubd_lists_note(hubd_t *self, const char *source);

// The list changes of the message in hand (self->msg, from SOURCE, just
// logged as LOG_SEQ) straight into the open batch, for a transaction the
// main thread holds itself (a dead-letter retry; the writer is drained).
// Errors: the store's (the batch breaks).
int
hubd_lists_store(hubd_t *self, const char *source, uint64_t log_seq, uint64_t now_ms);

// The writer's side of a HUBD_OP_LIST (payload P, LEN bytes) in batch B,
// whose INGEST ops so far are B->pending[0 .. K): written into the batch
// only when the message before it was logged (not a duplicate, no error).
void
hubd_lists_write(hub_store_t *st, const hubd_batch_t *b, const uint8_t *p, size_t len, size_t k);

// After B committed (B->rc HUB_OK): its list changes into self->lists, so
// they hold for the messages routed from now on. Main thread.
void
hubd_lists_committed(hubd_t *self, const hubd_batch_t *b);

int
hubd_writer_start(hubd_t *self);
// Hands over what is waiting (hubd_drain() first), stops the thread and
// frees the batches. Safe when it never started.
void
hubd_writer_stop(hubd_t *self);
// The file descriptor that turns readable when the writer is done with a
// batch (for zmq_poll), or -1.
int
hubd_writer_fd(const hubd_t *self);
// The writer is done with its batch (a cheap check, no lock: the main
// thread answers it soon, between messages, rather than after the batch
// in hand).
bool
hubd_writer_done(const hubd_t *self);
// Hands the fill batch to the writer when it is idle and the batch has
// work (or, under hub.yaml writer_inline_max publishes, commits it here
// and answers it); a new fill batch starts. Nothing when the writer is
// busy: the batch gathers on.
void
hubd_flush(hubd_t *self);
// When the writer is done with its batch (WAIT: waits for that), answers
// it (hubd_batch_answer()), hands it the fill batch (hubd_flush()) and
// then sends the deliveries the commit made due (hubd_pump()): the writer
// commits the next batch while the main thread delivers.
void
hubd_reap(hubd_t *self, bool wait);
// Until nothing is waiting or at the writer: every batch applied,
// committed and answered. Then the main thread may use the store's write
// side itself (admin work, checkpoints, retention, reload).
void
hubd_drain(hubd_t *self);
// Appends an op of KIND to the fill batch: hubd_op_open() writes its
// header and returns where it starts; the caller appends the payload to
// self->fill->ops; hubd_op_close() ends it (OK false: takes it back, and
// all that was appended after AT). False when the op is not in the batch.
size_t
hubd_op_open(hubd_t *self, hubd_op_t kind);
bool
hubd_op_close(hubd_t *self, size_t at, bool ok);
// Answers batch B the writer is done with: ACKs (and ACK_BATCHes) after
// its commit, or NACKs when it failed (hubd_ingest.c).
void
hubd_batch_answer(hubd_t *self, hubd_batch_t *b);
// A DACK's cursor, into the fill batch (durable with its commit).
void
hubd_op_ack(hubd_t *self, const char *endpoint, uint64_t seq);
void
hubd_on_subscribe(hubd_t *self, hubd_peer_t *peer, const void *body, size_t len);
void
hubd_on_dack(hubd_t *self, hubd_peer_t *peer, const void *body, size_t len);
void
hubd_on_credit(hubd_t *self, hubd_peer_t *peer, const void *body, size_t len);

// Forgets dedup entries older than the dedup window, a slice at a time:
// when due, queues a slice into the fill batch (one at a time).
void
hubd_dedup_purge(hubd_t *self);

// Sends what subscribed peers may receive now; resends after ack timeouts.
void
hubd_pump(hubd_t *self);

// ---- operators (hubd_admin.c, hubd_ops.c)

// Binds the admin socket (hub.yaml `admin`); a request over 1 MiB drops
// its connection unread. Errors: HUB_EIO (with DIAG).
int
hubd_admin_open(hubd_t *self, hub_diag_t *diag);

// Answers one waiting admin request (after hubd_drain(): every batch
// committed and answered first). A
// request that is not [routing id][empty][one frame] is ignored; one that
// is not a msgpack map with cmd and user (strings without control
// characters) is answered ok: false, code bad_request.
void
hubd_admin_handle(hubd_t *self);

// Loads the configuration again and swaps it in whole, or keeps the old
// one (HUB_ECONFIG; the problems are in self->diag and the log). USER is
// who asked ("SIGHUP" for the signal). *CHANGED: the rule-set version moved.
// Connected peers are moved onto the new departments (a peer whose
// endpoint is gone is forgotten); the audit signing key is read again;
// changed checkpoint and retention settings take effect at the next tick.
// The listen, admin, metrics and store addresses need a restart. Then the
// reload (or the refusal) is recorded in the store: *RECORDED is how that
// went, HUB_OK or the store's error (the new configuration is in force
// all the same; the log says why). The writer must be idle (hubd_drain()).
int
hubd_reload(hubd_t *self, const char *user, bool *changed, int *recorded);

// Records the rule-set version in force (and its texts) with EVENT, in
// the transaction open, if any, else in one of its own. Errors: the
// store's (hub_store_last_error() says why; the caller tells the
// operator: a start is refused, a reload answered not_recorded).
int
hubd_ruleset_record(hubd_t *self, const char *event, const char *user);

// Store error RC for people, into OUT (SIZE bytes), which it returns:
// "store full: mdb_put oplog: MDB_MAP_FULL: … (raise store_map_size in
// hub.yaml, then reload)".
const char *
hubd_store_why(hubd_t *self, int rc, char *out, size_t size);

// The admin `status` reply into W.
void
hubd_admin_status(hubd_t *self, hub_mpw_t *w);

// Retries dead letters SEQS (N of them) under the current rules; the
// `dlq.retry` reply into W. Each letter in a transaction of its own: the
// message stored, the letter removed and the oplog record written
// together, or nothing (a refusal is recorded on its own; a missing
// letter is not). The writer must be idle (hubd_drain()).
void
hubd_dlq_retry(hubd_t *self, const char *user, const uint64_t *seqs, size_t n, hub_mpw_t *w);

// The delivery counter of ENDPOINT (NULL when the table is full).
hubd_epstat_t *
hubd_epstat(hubd_t *self, const char *endpoint);

// Once a second: rate samples, and when due a checkpoint and retention
// (each after hubd_drain()).
void
hubd_ops_tick(hubd_t *self);

// Hands the store what CONF's hub.yaml says about it: drop-behind and the
// subject index's run size and fan-in. At the start, and at a reload with
// the writer drained. (Which types are one event per subject or
// certificate comes with each message: hub_schemas_event().)
void
hubd_store_settings(hubd_t *self, const hubd_conf_t *conf);

// Reads hub.yaml's audit_sign_key (sets sign_ok). HUB_EIO when there is
// none: checkpoints are off, and the log says so.
int
hubd_sign_key_load(hubd_t *self);

// Signs the audit head now (a checkpoint). Errors: HUB_EINVAL (no key),
// the store's errors.
int
hubd_checkpoint(hubd_t *self);

// An idle hub finishes the subject index's work (a run being written, a
// merge, merged runs to remove), which batches otherwise move a slice at
// a time: once no publish has come for a second and no batch is in hand,
// the main thread commits a batch of nothing but that work each round of
// the loop (self->index_busy shortens the round) until none is left.
// Failures are logged, and it tries again ten seconds later.
void
hubd_index_idle(hubd_t *self);

// Starts the metrics server when hub.yaml asks for one. Errors: HUB_EIO.
int
hubd_metrics_open(hubd_t *self, hub_diag_t *diag);

// One slice of retention (hub.yaml retention_*_days): the purge and its
// operations-log record commit together, or neither. A failure is logged
// (event=retention_failed) and counted (hub_retention_failures_total).
void
hubd_retain(hubd_t *self);

// Writes DIAG's problems as an array of {message, reason, where} maps
// (a NACK's or an admin reply's "problems").
void
hubd_problems(hub_mpw_t *w, const hub_diag_t *diag);

#endif
