// hub_store: the hub's durable state in one LMDB environment (DESIGN.md,
// "LMDB"). Only this module sees LMDB. Layout (named databases):
//   log          u64 log seq (big-endian)    -> the stored message record
//   dedup        source "\0" message id       -> u64 log seq, u64 time (ms)
//   queue        endpoint "\0" u64 eseq (BE)  -> a delivery record
//   endpoint     endpoint                     -> u64 next eseq, u64 acked eseq
//   audit        u64 audit seq (BE)           -> an audit record (hash-chained)
//   audit_subject  32-byte keyed hash of the citizen ID, u64 audit seq -> "" (format 4)
//   audit_runs   u64 run start, 32-byte keyed hash, u64 audit seq -> "" (the subject
//                index, written a sorted run at a time: docs/STORE.md)
//   audit_runs1..3  the same, runs of the level below merged (docs/STORE.md "Merged runs")
//   audit_tail   u64 audit seq -> 32-byte keyed hash (entries not yet in a whole run)
//   dead         u64 dead seq (BE)            -> a dead letter
//   meta         name                         -> value (format, chain head, rule-set texts, ...)
//   oplog        u64 op seq (BE)              -> an operations-log record (who did what)
//   rulesets     u64 history seq (BE)         -> a rule-set history record (version, when, event)
//   checkpoint   u64 checkpoint seq (BE)      -> a signed audit checkpoint
//   lists        list id "\0" key             -> {log_seq, since_ms}: the key is a member of
//                the list (docs/RULES.md "Lists"); no entry: not a member
// Records are canonical msgpack maps (docs/STORE.md lists their keys and
// how the audit chain is hashed), so `mdb_dump` shows them and other tools
// can read them.
//
// Threading: a handle is used by at most two threads at once: one that
// writes (begin, ingest/apply/dead/ack/purge, commit — a batch stays on the
// thread that began it), and one that only reads (hub_store_pending(),
// hub_store_endpoint_state(), records, counts, usage: they use the
// handle's own read transaction, never the batch's). Any other function
// that changes the store runs only while no batch is open on another
// thread. hub_store_last_error() then tells the last error of either.
// hubd: the writer thread applies and commits, the main loop reads and
// delivers; it drains the writer before admin work. Other processes
// (hubctl, auditors) open their own read-only handle with HUB_STORE_RDONLY
// and never block the writer.
//
// Durability: nothing is acknowledged before it is durable. An ingest batch
// is one write transaction: hub_store_begin(), any number of
// hub_store_ingest() / hub_store_dead() calls, hub_store_commit(), which
// fsyncs (group commit: many messages share one fsync). Only after commit
// returns HUB_OK may the caller ack. hub_store_abort() forgets the batch.
// Any error inside a batch (HUB_EFULL above all) breaks it: LMDB cannot
// continue a transaction after a failed write, so the store drops it at
// once, and every later hub_store_ingest() and hub_store_dead() of that
// batch returns the same error; hub_store_commit() returns it too and ends
// the batch, as hub_store_abort() does. Nothing of a broken batch is
// stored. (Argument errors, HUB_EINVAL, are refused before anything is
// written and break nothing.)
//
// Errors from LMDB are translated here (HUB_EFULL, HUB_EIO, HUB_ENOMEM,
// HUB_ELIMIT for a batch too big for one transaction); the LMDB text of the
// last one is kept for logs: hub_store_last_error().
#ifndef HUB_STORE_H
#define HUB_STORE_H

#include "hub_buf.h"
#include "hub_diag.h"
#include "hub_route.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hub_store hub_store_t;

enum {
    HUB_STORE_RDONLY = 1u << 0, // read-only handle for tools; never blocks the writer
};

#define HUB_STORE_MAP_DEFAULT ((size_t) 1 << 30) // map size when 0 is given: 1 GiB
#define HUB_STORE_MAP_MIN ((size_t) 256 << 10)   // smallest map size accepted: 256 KiB
#define HUB_STORE_HASH_SIZE 32                   // audit hashes and subject keys

// What one ingested message brings: the message as stored (canonical
// msgpack), its deliveries (routed and projected, from hub_route), and the
// facts the audit records need.
typedef struct {
    const char *source; // authenticated identity's department
    const char *id;     // message id
    const char *type;
    const void *bytes; // canonical msgpack of the message
    size_t len;
    const char *subject_cid;  // citizen ID of the subject, or NULL
    const char *ruleset;      // rule-set version in force
    uint64_t now_ms;          // receive time (ms since the epoch)
    const hub_route_t *route; // deliveries (may have none)
    const char *event_field;  // a one-event type's field that identifies the event
                              // ("body.certificate_no": hub_schemas_event()), else NULL
    const char *event_value;  // its value in the message; NULL: not a one-event message
} hub_store_ingest_t;

// Outcome of one hub_store_ingest().
typedef struct {
    bool duplicate;      // seen before (source + id): nothing written
    uint64_t log_seq;    // the message's log sequence (the old one if duplicate)
    size_t deliveries;   // queue entries written
    uint64_t same_event; // not 0: a later report of the event logged as this log seq
                         // (IN->event_value): logged, delivered to nobody
} hub_store_result_t;

// Opens (creating when missing, unless RDONLY) the environment in directory
// PATH with a map of MAP_SIZE bytes (0: 1 GiB). The directory and files are
// created mode 0700/0600. KEY (32 bytes) is the hub's secret for the audit
// subject index (keyed hash of citizen IDs); NULL for read-only tools that
// do not search by subject (a writable store needs it: HUB_EINVAL). A map
// size below what the store already holds is raised to fit it; below
// HUB_STORE_MAP_MIN it is HUB_ECONFIG. RDONLY on a missing store is
// HUB_EIO and creates nothing. DIAG (may be NULL) says why it failed.
// Errors: HUB_EIO, HUB_ENOMEM, HUB_ECONFIG, HUB_EINVAL.
int
hub_store_open(hub_store_t **out, const char *path, size_t map_size, unsigned flags,
               const uint8_t *key, hub_diag_t *diag);

// Closes the store and sets *self_p to NULL. Safe on NULL. An open batch is
// aborted.
void
hub_store_destroy(hub_store_t **self_p);

// Starts a write batch. Errors: HUB_EIO, HUB_EINVAL (read-only, or a batch
// is already open).
int
hub_store_begin(hub_store_t *self);

// Adds one message to the open batch: dedup check (source + id); when new:
// append to the log, write each delivery into its endpoint's queue with the
// next endpoint sequence, one audit record per delivery (message id, rule
// ids, rule-set version, purposes, legal bases, endpoint, endpoint seq,
// released fields with their rule and masking, time, previous record's
// hash), and the subject index entry. A one-event message (IN->event_field
// and event_value given) whose event (its type and event key,
// hub_store_event_key()) has a message logged already, from any source,
// is logged with "same_event" and delivered to nobody (RES->same_event);
// the first one's event entry stays for good (the dedup purge leaves it).
// Errors: HUB_EFULL (the map is full: the batch must be aborted; the
// caller nacks "store full"), HUB_EIO.
int
hub_store_ingest(hub_store_t *self, const hub_store_ingest_t *in, hub_store_result_t *res);

// ---- ingest in two steps, on two threads
//
// hub_store_ingest() is hub_store_prepare() then hub_store_apply(). The
// first does all that does not depend on the batch (encoding each delivered
// message, its disclosure descriptor, the subject and event keys) with no
// LMDB, so a daemon can prepare the next messages on one thread while
// another applies and commits a batch.

// A preparer: its own descriptor cache and scratch. Not thread-safe: one
// per thread. STORE (which must outlive it) lends the subject and event
// keys; only its fixed, open-time state is read, so preparing may run beside any use
// of STORE on another thread. Errors: HUB_ENOMEM.
typedef struct hub_store_prep hub_store_prep_t;
int
hub_store_prep_new(hub_store_prep_t **out, const hub_store_t *store);
void
hub_store_prep_destroy(hub_store_prep_t **self_p);

// Appends message IN, prepared, to OUT (self-contained bytes: nothing in
// them points to IN, its route or its rule set, which may change or go
// away before they are applied). On error OUT is as it was. Errors:
// HUB_EINVAL (IN cannot be stored: a part missing, a key too long),
// HUB_ENOMEM, the codec's errors.
int
hub_store_prepare(hub_store_prep_t *self, const hub_store_ingest_t *in, hub_buf_t *out);

// Adds the prepared message PREP (LEN bytes, as hub_store_prepare() wrote
// them) to the open batch, exactly as hub_store_ingest() would. Called on
// the thread that opened the batch. Errors: as hub_store_ingest();
// HUB_EINVAL for bytes that are not a prepared message (refused before
// anything is written when the header is bad; the batch breaks when the
// rest is).
int
hub_store_apply(hub_store_t *self, const void *prep, size_t len, hub_store_result_t *res);

// Adds a dead letter (a refused message with its reasons) to the open batch.
// Errors: HUB_EINVAL (no batch open), HUB_EFULL, HUB_EIO.
int
hub_store_dead(hub_store_t *self, const char *source, const void *bytes, size_t len,
               const char *code, const char *reason, uint64_t now_ms);

// The event key of a one-event message (a schema's `one_event_per`:
// hub_store_ingest_t event_field FIELD, event_value VALUE) under this
// handle's key, so the store never holds the identifier in clear. For
// FIELD "subject.citizen_id" it is VALUE's subject key
// (hub_store_subject_key()): deaths were keyed so before any other field
// could be named, and their event entries keep matching. For any other
// field, the same keyed hash of "one_event:" || FIELD || "\0" || VALUE
// (docs/STORE.md). Reads only the handle's fixed, open-time state: any
// thread. Errors: HUB_EINVAL (opened without a key, a NULL argument).
int
hub_store_event_key(const hub_store_t *self, const char *field, const char *value,
                    uint8_t out[HUB_STORE_HASH_SIZE]);

// Forgets, in the open batch, dedup entries older than OLDER_THAN_MS (ms
// since the epoch): the dedup window. The entries are in arrival order, so
// it removes from the oldest and stops at the first one inside the window
// (a clock set back leaves the entries after it until it passes them), or
// after MAX, when *MORE is set, so a large backlog goes a slice at a time
// without stalling ingest. *PURGED gets how many went. The handle's
// in-memory table forgets them when the batch commits. Errors: as ingest.
int
hub_store_dedup_purge(hub_store_t *self, uint64_t older_than_ms, size_t max, size_t *purged,
                      bool *more);

// Sets how many subject index entries the handle gathers in memory before
// it writes them as one sorted run (0: the default, 65,536). A larger run
// costs more memory and a longer scan for a query; a smaller one more runs
// for a query to look in. For tests and benchmarks; call with no batch open.
void
hub_store_set_run_size(hub_store_t *self, size_t entries);

// Sets how many whole runs of a level the writer merges into one run of
// the next (docs/STORE.md "Merged runs"; 0 or 1: the default, 16; at most
// 64). Fewer runs a query seeks against more writing. For tests and
// benchmarks; call with no batch open.
void
hub_store_set_run_fanin(hub_store_t *self, size_t runs);

// How many subject index entries the handle holds in memory, not yet in a
// run, as of the last commit (0 until its first audit record with a
// subject loads them). On the thread holding batches.
size_t
hub_store_subject_pending(const hub_store_t *self);

// Whether the subject index has work that commits do a slice at a time:
// a run being written, a merge under way or due, merged runs still to
// remove. An idle writer can commit batches with nothing in them but
// that work (hub_store_index_boost()) until this says no. On the thread
// holding batches, or with no batch open anywhere.
bool
hub_store_index_due(const hub_store_t *self);

// The next commit writes at least ENTRIES of that work (a run's entries,
// a merge's, merged runs removed), where it writes in proportion to what
// its batch noted otherwise: for a batch opened only to move it on. Call
// with the batch open, on its thread.
void
hub_store_index_boost(hub_store_t *self, size_t entries);

// The subject index's levels (docs/STORE.md "Merged runs"): level 0 holds
// the runs as written, levels 1-3 runs merged from the level below.
#define HUB_STORE_INDEX_LEVELS 4

// How many whole runs each level of the subject index answers queries
// with (RUNS[L] for level L): what a query seeks. In the handle's read
// transaction (the reading thread, or any with no batch open). Errors:
// HUB_EIO, LMDB's.
int
hub_store_subject_runs(hub_store_t *self, size_t runs[HUB_STORE_INDEX_LEVELS]);

// How many (source, id) pairs the handle's dedup table holds in memory: 0
// until the first ingest or purge loads it. On the thread holding batches.
size_t
hub_store_dedup_size(const hub_store_t *self);

// Loads the handle's dedup table now, from `dedup_seq` (a sequential read;
// 16 to 43 bytes of memory per pair in the window), rather than in the first
// batch that needs it; a no-op once loaded. hubd calls it before it takes
// publishes. Call with no batch open on another thread. Errors: HUB_EINVAL
// (read-only), HUB_ENOMEM, HUB_EIO (a damaged record: named in
// hub_store_last_error()).
int
hub_store_dedup_load(hub_store_t *self);

// Commits the batch durably (fsync). Errors: HUB_EFULL, HUB_EIO; on error
// nothing of the batch is stored.
int
hub_store_commit(hub_store_t *self);

// Forgets the open batch. Safe when none is open.
void
hub_store_abort(hub_store_t *self);

// A queued delivery, as read back for sending.
typedef struct {
    uint64_t eseq; // endpoint sequence
    uint64_t log_seq;
    const void *record; // the delivery record (msgpack), valid until
    size_t len;         // the next call on this store
    size_t msg_at;      // where RECORD's "msg" pair starts (see below); 0: not known
} hub_store_delivery_t;

// Reads up to MAX deliveries of ENDPOINT with eseq > AFTER into OUT (in
// eseq order) in a read transaction; *N gets how many (fewer than MAX,
// but at least one when there is one, once they pass 8 MiB). The records are
// copied into the store's buffer, valid until the next call. Each comes
// whole (docs/STORE.md, "queue": a record of format 3 with its disclosure
// descriptor's pairs in place of "disclosure", keys sorted; one of format
// 2 as stored). MSG_AT spares a sender walking the record again: when
// nonzero, the store found RECORD a sound map (string keys, each in its
// shortest form, whole values, nothing after it) with exactly one "msg"
// key, whose 4 bytes a3 6d 73 67 (fixstr "msg") begin at that offset; 0
// says nothing (a record of format 2 gets 0). It reads what is committed: deliveries of a batch
// still open are not pending yet (they must not be sent before they are durable). Errors: HUB_EIO
// (a record, or the descriptor it names, missing or damaged: hub_store_last_error() says which),
// HUB_ENOMEM.
int
hub_store_pending(hub_store_t *self, const char *endpoint, uint64_t after,
                  hub_store_delivery_t *out, size_t max, size_t *n);

// Advances ENDPOINT's acknowledged sequence to ESEQ (never backwards) in its
// own durable transaction. An ESEQ at or below the acknowledged one changes
// nothing (HUB_OK). When a batch is open, the cursor is written into that
// batch instead and is durable when it commits (LMDB has one writer: a
// transaction of its own would wait for the batch forever); should the
// batch be lost, the deliveries are sent again, which receivers drop by
// eseq. Errors: HUB_EIO, HUB_EFULL (and a broken batch's error); HUB_EINVAL
// when ESEQ is beyond the last sequence written to ENDPOINT (nothing to
// acknowledge) or the handle is read-only.
int
hub_store_ack(hub_store_t *self, const char *endpoint, uint64_t eseq);

// ENDPOINT's acknowledged and last written sequences (0 when none), as
// committed. Errors: HUB_EIO.
int
hub_store_endpoint_state(hub_store_t *self, const char *endpoint, uint64_t *acked, uint64_t *last);

// Changes the map size (e.g. after HUB_EFULL, to grow it without a
// restart). Errors: HUB_EINVAL (a batch is open), HUB_ECONFIG (below
// HUB_STORE_MAP_MIN), HUB_EIO.
int
hub_store_set_map_size(hub_store_t *self, size_t map_size);

// Drop-behind (hub_store_cache.c; docs/STORE.md "Drop-behind"): the pages
// written more than BEHIND bytes before the end of the data file that
// nobody has read since are dropped from the page cache (they are on the
// disk), so a growing store recycles page-cache memory instead of taking
// new memory; 0 (the default) leaves the page cache to the kernel.
// Writable handles only. set: on the thread that calls
// hub_store_drop_behind(), or with no other thread using the store.
void
hub_store_set_drop_behind(hub_store_t *self, size_t behind);

// Drops what the commits since the last call made due, once it adds up to
// a sixteenth of BEHIND (at most 4 MB): one system call of ~0.2-0.3 ms, so
// call it off the path from a commit to its acks (hubd: its main thread's
// loop). One thread at a time; may run while another thread has a batch
// open (it reads only what the last commit noted). Never fails (a hint the
// kernel cannot take only leaves the pages cached).
void
hub_store_drop_behind(hub_store_t *self);

// LMDB's words for the last LMDB error on this handle ("mdb_put queue:
// MDB_MAP_FULL: Environment mapsize limit reached"), or "". Borrowed until
// the next call on this store.
const char *
hub_store_last_error(const hub_store_t *self);

// Whether LMDB gave up on this handle's environment (MDB_PANIC, said as
// HUB_EIO: a meta page it could not write, on a full copy-on-write file
// system for one): every later write fails the same way, whatever room
// is made, until the store is closed and opened again. Read on the
// thread that holds the write side, or after handing it over.
bool
hub_store_panicked(const hub_store_t *self);

// What makes room after HUB_EFULL on this handle (SELF may be NULL: the
// map's remedy): "raise store_map_size in hub.yaml" when the map was full,
// "free space on the store's disk" or "raise the file size limit ..."
// when the file could not grow. Static text.
const char *
hub_store_full_remedy(const hub_store_t *self);

// ---- reading, for hubctl and auditors (any handle, committed data only)

// The databases keyed by a sequence number.
typedef enum {
    HUB_STORE_LOG = 0,    // log seq -> message record
    HUB_STORE_AUDIT,      // audit seq -> audit record
    HUB_STORE_DEAD,       // dead seq -> dead letter
    HUB_STORE_OPLOG,      // op seq -> operations-log record
    HUB_STORE_RULESETS,   // history seq -> rule-set history record
    HUB_STORE_CHECKPOINT, // checkpoint seq -> signed audit checkpoint
} hub_store_seqdb_t;

// Record SEQ of DB, copied into the store's buffer: *REC is valid until the
// next call on this store. An audit record comes whole: a stored one of
// format 3 names its disclosure descriptor ("disclosure", docs/STORE.md),
// whose pairs (fields, rules, purposes, legal_bases, ruleset) take that
// key's place here. Errors: HUB_ENOTFOUND, HUB_EIO (also a descriptor
// missing or damaged: hub_store_last_error() says which).
int
hub_store_record(hub_store_t *self, hub_store_seqdb_t db, uint64_t seq, const void **rec,
                 size_t *len);

// Record SEQ of DB exactly as stored (an audit record with its
// "disclosure" key: the bytes its hash covers), as hub_store_record()
// lends it. Errors: those of hub_store_record().
int
hub_store_record_raw(hub_store_t *self, hub_store_seqdb_t db, uint64_t seq, const void **rec,
                     size_t *len);

// The disclosure descriptor stored under KEY (the BLAKE2b-256 of these
// very bytes), lent as hub_store_record() lends. Errors: HUB_ENOTFOUND,
// HUB_EIO.
int
hub_store_disclosure(hub_store_t *self, const uint8_t key[HUB_STORE_HASH_SIZE], const void **rec,
                     size_t *len);

// The last sequence number used in DB (0 when DB is empty).
int
hub_store_last_seq(hub_store_t *self, hub_store_seqdb_t db, uint64_t *seq);

// The subject index key of citizen ID CID under this handle's key:
// HMAC-SHA256(key, "audit_subject:" || CID) (docs/STORE.md). The prefix
// keeps it apart from the `hash` mask's pseudonyms, which departments
// receive. Errors: HUB_EINVAL (opened without a key).
int
hub_store_subject_key(const hub_store_t *self, const char *cid, uint8_t out[HUB_STORE_HASH_SIZE]);

// Up to MAX audit sequences of the records about subject SUBJECT (a key
// from hub_store_subject_key()) that are above AFTER, ascending, into
// SEQS; *N gets how many. It looks in the index (each of its runs, then
// the entries written since the last run, `audit_tail`: at most about
// 100,000 of 40 bytes). Errors: HUB_EIO.
int
hub_store_audit_by_subject(hub_store_t *self, const uint8_t subject[HUB_STORE_HASH_SIZE],
                           uint64_t after, uint64_t *seqs, size_t max, size_t *n);

// Walks the whole audit chain in one read transaction, from meta
// "audit_base" when retention removed the oldest records (else from 1):
// every record's seq matches its key, the sequence has no gap, each
// prev_hash is the hash of the record before (the base's prev_hash for the
// first, zeros for record 1), each hash recomputes, each endpoint's
// delivery numbers follow on without a gap or repeat, the head (meta
// "audit_head") names the last record, and no endpoint wrote deliveries
// past its last audited one. *CHECKED gets the records found intact; on a
// break *BAD gets the first record altered, removed or inserted (for a
// removed tail, the first missing one; 0 when no record can be named) and
// DIAG (may be NULL) says what. Checkpoints are not looked at (see
// hub_store_audit_verify_signed()). Errors: HUB_EINVALID (the chain is
// broken), HUB_EIO, HUB_ENOMEM.
int
hub_store_audit_verify(hub_store_t *self, uint64_t *checked, uint64_t *bad, hub_diag_t *diag);

// ---- operations (hub_store_ops.c): the operations log, rule-set
// versions, dead letters, cursors. Each of these writes into the open
// batch when one is open on this handle, else in a durable transaction of
// its own. LMDB serialises writers across processes, so hubctl may call
// hub_store_oplog_append() on its own writable handle while hubd runs
// (it waits at most for one hubd commit); the other writers here are for
// hubd, which caches sequences and cursors (hubctl asks hubd to do them).

// Appends an operations-log record {seq, time_ms, user, action, detail}
// (DETAIL: a msgpack map of DETAIL_LEN bytes, or NULL for nil) to `oplog`.
// USER is the OS user (or "hubd"); ACTION a word such as "audit.query",
// "cursor.rewind", "dlq.retry", "reload", "purge". *SEQ (may be NULL) gets
// its sequence. Errors: HUB_EINVAL (read-only handle, bad arguments),
// HUB_EFULL, HUB_EIO.
int
hub_store_oplog_append(hub_store_t *self, uint64_t time_ms, const char *user, const char *action,
                       const void *detail, size_t detail_len, uint64_t *seq);

// Records that rule-set VERSION came into force at TIME_MS by EVENT
// ("start", "reload"): appends {seq, version, time_ms, event, user} to
// `rulesets`, and keeps its texts once, in meta "ruleset:<version>" ->
// {version, first_ms, files: [{name: str, text: str}]} (FILES: that
// msgpack array, FILES_LEN bytes), so `hubctl rules diff` can compare any
// two versions. A version already kept keeps its first texts. Errors: as
// hub_store_oplog_append().
int
hub_store_ruleset_record(hub_store_t *self, const char *version, uint64_t time_ms,
                         const char *event, const char *user, const void *files, size_t files_len);

// The meta "ruleset:<version>" record of VERSION, copied into the store's
// buffer (valid until the next call). Errors: HUB_ENOTFOUND, HUB_EIO.
int
hub_store_ruleset_texts(hub_store_t *self, const char *version, const void **rec, size_t *len);

// The dead letter SEQ removed (after a retry stored it, or `dlq drop`).
// Errors: HUB_ENOTFOUND, HUB_EINVAL, HUB_EFULL, HUB_EIO.
int
hub_store_dead_drop(hub_store_t *self, uint64_t seq);

// Sets ENDPOINT's acknowledged sequence to ACKED, backwards too (a
// rewind: the deliveries after it are sent again). Errors: HUB_EINVAL
// (ACKED beyond the last sequence written, unknown endpoint), HUB_EIO.
int
hub_store_cursor_set(hub_store_t *self, const char *endpoint, uint64_t acked);

// The last endpoint sequence of ENDPOINT whose source message the hub
// received before TIME_MS (0 when none): where to rewind to "replay from
// TIME" (binary search over the queue through each delivery's log record).
// Errors: HUB_EIO.
int
hub_store_eseq_before(hub_store_t *self, const char *endpoint, uint64_t time_ms, uint64_t *eseq);

// When the source message of ENDPOINT's delivery ESEQ was received (ms
// since the epoch), for "age of the oldest unacknowledged delivery"; 0 when
// that delivery is not (or no longer) in the store. Errors: HUB_EIO.
int
hub_store_delivery_time(hub_store_t *self, const char *endpoint, uint64_t eseq, uint64_t *ms);

// How many records DB holds now (dead letters after drops, for example).
// Errors: HUB_EIO, HUB_EINVAL.
int
hub_store_count(hub_store_t *self, hub_store_seqdb_t db, uint64_t *n);

// The map size and the bytes in use (pages up to the last used one).
// Errors: HUB_EIO.
int
hub_store_usage(hub_store_t *self, size_t *map_size, size_t *used);

// ---- the store's identity (hub_store_ops.c)
//
// Meta "store_id" names this store's history of sequence numbers: 16
// random bytes as 32 lower-case hex digits, made when a writable handle
// creates the store (or first opens one older than the id). A store
// restored from a backup issues the endpoint sequences after the backup
// again, to possibly other messages; reissuing the id then tells every
// consumer (SUBSCRIBED store_id, docs/PROTOCOL.md "Consuming") to take
// the sequences after its cursor as new.

// The store's id into OUT (NUL-terminated; "" on error), as committed.
// Any handle, read-only ones too; the thread that reads. Errors:
// HUB_ENOTFOUND (a read-only handle on a store no writable handle has
// opened since the id came: it has none yet), HUB_EIO (unreadable or
// damaged: hub_store_last_error() says which).
int
hub_store_id(hub_store_t *self, char out[33]);

// Replaces the store's id with a new random one: in the open batch when
// one is open on this handle (so the change commits with what else the
// batch holds, its operations-log record above all, or not at all), else
// in a durable transaction of its own. OLD_ID gets the id it had ("" when
// none, or a damaged one), NEW_ID the new one (both NUL-terminated;
// NEW_ID "" on error; in a batch, the id is the new one only once the
// batch commits). For `hubctl store reissue-id` after a restore, while no
// hubd has the store open (hubd keeps the id it read at its start).
// Errors: HUB_EINVAL (read-only handle), HUB_EFULL, HUB_EIO.
int
hub_store_reissue_id(hub_store_t *self, char old_id[33], char new_id[33]);

// ---- retention and checkpoints (hub_store_retain.c)

// Appends a signed checkpoint of the audit chain's head to `checkpoint`:
// {seq, audit_seq, hash, time_ms, sig}, SIG the Ed25519 signature (SK:
// libsodium secret key, 64 bytes) of "hub-audit-checkpoint\0" || be64
// audit_seq || hash || be64 time_ms (docs/STORE.md). Does nothing (HUB_OK)
// when the head has not moved since the last checkpoint. Errors: as
// hub_store_oplog_append().
int
hub_store_checkpoint(hub_store_t *self, const uint8_t sk[64], uint64_t time_ms);

// What one hub_store_purge() did.
typedef struct {
    size_t bodies;     // log records whose message body was purged
    size_t deliveries; // acknowledged queue records removed
    size_t audit;      // audit records removed (and their index entries)
    bool more;         // stopped at MAX: call again
} hub_store_purged_t;

// Retention, at most MAX records per call: purges the message bodies of
// log records received before BODIES_BEFORE_MS (the record stays, its
// "msg" becomes nil with "purged_ms"), removes acknowledged queue records
// of those messages, and removes audit records (with their subject index
// entries) older than AUDIT_BEFORE_MS, keeping the chain verifiable from
// the first kept record (meta "audit_base": {seq, prev_hash}). Records
// what it did in `oplog` (action "purge"). Errors: as
// hub_store_oplog_append().
int
hub_store_purge(hub_store_t *self, uint64_t bodies_before_ms, uint64_t audit_before_ms, size_t max,
                uint64_t now_ms, hub_store_purged_t *out);

// A checkpoint as read back.
typedef struct {
    uint64_t seq;                      // the checkpoint's own sequence
    uint64_t audit_seq;                // the audit record it names: the head when signed
    uint8_t hash[HUB_STORE_HASH_SIZE]; // that record's hash
    uint64_t time_ms;                  // when it was signed
} hub_store_checkpoint_t;

// Reads the checkpoint record REC (LEN bytes, as stored) into OUT and,
// when PK (the Ed25519 public key, 32 bytes) is given, checks its
// signature. *WHY (may be NULL) gets a static sentence on failure. Pure:
// no store needed (offline bundles use it). Errors: HUB_EINVALID (not a
// checkpoint record, or the signature does not verify), HUB_EINVAL.
int
hub_store_checkpoint_check(const void *rec, size_t len, const uint8_t pk[32],
                           hub_store_checkpoint_t *out, const char **why);

// Checks the audit record REC (LEN bytes, as stored) as record SEQ of a
// chain whose hash so far is PREV (NULL: take the record's own prev_hash,
// for the first record of a piece of the chain): its seq, its prev_hash,
// and its hash recomputed over its content (docs/STORE.md, "The audit
// chain"). HASH gets its hash. *WHY (may be NULL) gets a static sentence
// on failure. Pure: no store needed. Errors: HUB_EINVALID.
int
hub_store_audit_check(const void *rec, size_t len, uint64_t seq, const uint8_t *prev,
                      uint8_t hash[HUB_STORE_HASH_SIZE], const char **why);

// Where the audit chain starts: meta "audit_base" (the first record kept
// after retention and the hash before it), or 1 and zeros when nothing was
// ever removed. Errors: HUB_EIO.
int
hub_store_audit_base(hub_store_t *self, uint64_t *seq, uint8_t prev_hash[HUB_STORE_HASH_SIZE]);

// What hub_store_audit_verify_signed() found.
typedef struct {
    uint64_t first;                         // the chain's first record (1, or the base's)
    uint64_t checked;                       // records found intact, from FIRST on
    uint64_t head_seq;                      // the head meta "audit_head" names (0: none)
    uint8_t head_hash[HUB_STORE_HASH_SIZE]; // its hash
    uint64_t checkpoints;                   // checkpoints whose signature verified
    uint64_t last_cp_audit_seq;             // the record the last checkpoint names (0: none)
    uint64_t last_cp_time_ms;               // when that checkpoint was signed
    uint64_t bad;            // the first record altered, removed or inserted (0: none named)
    uint64_t bad_checkpoint; // the first checkpoint found wrong or missing (0: none)
} hub_store_verify_t;

// hub_store_audit_verify(), and with PK (the hub's Ed25519 public key, 32
// bytes; NULL: checkpoints are not looked at) every checkpoint too: its
// signature, the checkpoints numbered without a gap, and the seq and hash
// each one names present in the chain (a checkpoint before the base is
// checked against the base's prev_hash, or by its signature alone when it
// is older still). So a chain whose tail was cut off and whose head was
// rewritten shows: a signed checkpoint names a record no longer there.
// Errors: as hub_store_audit_verify().
int
hub_store_audit_verify_signed(hub_store_t *self, const uint8_t pk[32], hub_store_verify_t *out,
                              hub_diag_t *diag);

// ---- lists (docs/RULES.md, "Lists"; hub_store_lists.c)

// In the open batch: KEY (LEN bytes) becomes a member of list LIST
// (MEMBER: an entry {log_seq: LOG_SEQ, since_ms: NOW_MS}; a key that is a
// member already keeps its entry, so since_ms says since when) or stops
// being one (its entry goes). Call it right after the hub_store_apply()
// that logged the message LOG_SEQ which changed it, in the same batch, so
// that one commit holds both. Errors: HUB_EINVAL (no batch open, a key too
// long), HUB_EFULL, HUB_EIO (the batch breaks).
int
hub_store_list_set(hub_store_t *self, const char *list, const char *key, size_t len, bool member,
                   uint64_t log_seq, uint64_t now_ms);

// One member of a list, as stored.
typedef struct {
    const char *list; // the list id (NUL-terminated, borrowed)
    const char *key;  // the key: LEN bytes, borrowed (not NUL-terminated)
    size_t len;
    uint64_t log_seq;  // the message that made it a member
    uint64_t since_ms; // when it became one
} hub_store_list_entry_t;

// Calls FN(CTX, E) for every member of every list, in key order, in one
// read transaction (E is valid during the call only); stops at FN's first
// non-zero return and returns it. A store without the `lists` database
// (an older one, read-only) has no members. Uses the handle's read side.
// Errors: HUB_EIO, or FN's.
int
hub_store_lists_each(hub_store_t *self, int (*fn)(void *ctx, const hub_store_list_entry_t *e),
                     void *ctx);

#endif
