// Private to hub_store*.c: the store's insides, shared between the
// environment and batch handling (hub_store.c), ingest, queue and cursors
// (hub_store_ingest.c) and the audit chain (hub_store_audit.c).
#ifndef HUB_STORE_INT_H
#define HUB_STORE_INT_H

#include "hub_buf.h"
#include "hub_mpw.h"
#include "hub_store.h"

#include <lmdb.h>
#include <stdatomic.h>

// LMDB's default (and compiled-in) largest key. Sources, ids and endpoint
// names are short, so a key that would exceed it is a caller's bug, refused
// before anything is written.
#define HUB_STORE_KEY_MAX 511

// The first byte of a dedup key that is an event entry (type, event key:
// hub_store_event_key()), not a source's message id.
#define HUB_STORE_EVENT_KEY 0x01

// The prepared form's key flags (hub_store_prep.c): which 32-byte keys
// follow, in this order. Other bits: not a prepared message.
#define HUB_STORE_PREP_SUBJECT 0x01 // the subject key
#define HUB_STORE_PREP_EVENT 0x02   // the event key (a one-event message)

// The named databases (the layout in hub_store.h).
typedef enum {
    HUB_STORE_DB_LOG = 0,
    HUB_STORE_DB_DEDUP,
    HUB_STORE_DB_QUEUE,
    HUB_STORE_DB_ENDPOINT,
    HUB_STORE_DB_AUDIT,
    HUB_STORE_DB_SUBJECT,
    HUB_STORE_DB_DEAD,
    HUB_STORE_DB_META,
    HUB_STORE_DB_OPLOG,
    HUB_STORE_DB_RULESETS,
    HUB_STORE_DB_CHECKPOINT,
    HUB_STORE_DB_DISCLOSURE,
    HUB_STORE_DB_DEDUP_SEQ,
    HUB_STORE_DB_RUNS,
    HUB_STORE_DB_TAIL,
    HUB_STORE_DB_LISTS,
    HUB_STORE_DB_RUNS1, // merged runs, levels 1 to 3 (hub_store_merge.c)
    HUB_STORE_DB_RUNS2,
    HUB_STORE_DB_RUNS3,
    HUB_STORE_DB_COUNT
} hub_store_db_t;

// An endpoint's cursor as the open batch has it (hub_store_epc_flush()).
typedef struct {
    char id[64];
    size_t len;
    uint64_t next; // the next sequence to give out
    uint64_t acked;
} hub_store_epc_t;

#define HUB_STORE_EPC_MAX 32

// Drop-behind (hub_store_cache.c).
typedef struct {
    int fd;                // our own read-only descriptor of data.mdb, or -1 (none: no dropping)
    size_t behind;         // bytes before the end kept cached even if unread (0: no dropping)
    uint64_t psize;        // LMDB's page size
    uint64_t done;         // the file before this offset has been dropped (or predates the handle)
    _Atomic uint64_t used; // the end of the pages in use at the last commit
} hub_store_cache_t;

struct hub_store {
    MDB_env *env;
    MDB_dbi dbi[HUB_STORE_DB_COUNT];
    unsigned flags; // HUB_STORE_RDONLY
    bool has_key;   // opened with a subject key
    uint8_t key[HUB_STORE_HASH_SIZE];
    MDB_txn *txn;      // the open write batch (NULL when none or broken)
    bool in_batch;     // between begin and commit/abort
    int failed;        // the error that broke the open batch, or HUB_OK
    MDB_txn *rtxn;     // a read transaction kept reset for reuse (MDB_NOTLS)
    uint64_t next_log; // next sequences, valid in the open batch
    uint64_t next_audit;
    uint64_t next_dead;
    uint8_t head[HUB_STORE_HASH_SIZE];   // hash of the last audit record, in the batch
    bool head_dirty;                     // the batch added audit records
    hub_buf_t rec;                       // scratch: the record being written
    hub_buf_t enc;                       // scratch: the delivered message, encoded
    hub_buf_t aux;                       // scratch: an audit record with its hash, a hash input
    hub_buf_t out;                       // records lent to the caller until the next call
    struct hub_store_prep *prep;         // prepares for hub_store_ingest() (made when first needed)
    hub_buf_t prepared;                  // scratch: the message hub_store_ingest() prepared
    struct hub_store_disc_cache *disc;   // descriptors known to be stored
    struct hub_store_disc_rcache *rdisc; // descriptors as read, split into pairs
    bool has_disc;                       // the store has the disclosure database (format 3)
    bool subject_b2;                     // subject keys are keyed BLAKE2b-256 (else HMAC-SHA256)
    char err[320];                       // the last LMDB error, for hub_store_last_error()
    bool panicked;                       // LMDB said MDB_PANIC: the environment must be reopened
    int full_cause;                      // the last HUB_EFULL: 0 map, 1 size limit, 2 disk
    hub_store_epc_t epc[HUB_STORE_EPC_MAX]; // cursors the batch delivered to, not yet put
    size_t nepc;
    hub_store_cache_t cache;
    struct hub_store_dtab *dtab; // the dedup window in memory (made when first needed)
    struct hub_store_runs *runs; // subject index entries not yet in a run (made when first needed)
    bool has_runs;               // the store has `audit_runs` (format 5)
    bool has_lists;   // the store has `lists` (an older format-5 store opened to read may not)
    size_t run_size;  // entries per run (0: the default), hub_store_set_run_size()
    size_t run_fanin; // runs merged into one of the next level (0: the default),
                      // hub_store_set_run_fanin()
    unsigned levels;  // bit L: the store has level L's database (0: audit_runs; 1-3: audit_runsL)
};

// Drop-behind (hub_store_cache.c). cache_open: at the opening of a
// writable store (PATH: its directory); failing to open our descriptor is
// no error, there is then no dropping. cache_note: after a commit that
// succeeded, on the committing thread: notes where the pages in use end,
// for hub_store_drop_behind().
void
hub_store_cache_open(hub_store_t *self, const char *path);
void
hub_store_cache_close(hub_store_t *self);
void
hub_store_cache_note(hub_store_t *self);

// The dedup window (hub_store_dedup.c), on the thread that holds the
// batch. dedup_claim: in the open batch, claims (SOURCE, ID) for log seq
// SEQ, received at NOW_MS: *FIRST gets the log seq of an earlier claim of
// the same pair inside the window (maybe in this very batch; then nothing
// is written), else 0 and the pair is recorded. The caller has checked
// that source "\0" id fits a key. Errors break the batch: HUB_ENOMEM,
// HUB_EIO (a damaged record), LMDB's. dedup_committed / dedup_rollback:
// the batch committed (the purged entries leave the table) or did not
// (its claims leave the table). dedup_free: at destroy. dedup_migrate: at the
// opening of a writable store, moves a format-3 store's (source, id)
// entries from `dedup` to `dedup_seq`, a slice per transaction (a crash
// between slices leaves the rest for the next opening). Errors: HUB_EIO,
// HUB_EFULL.
int
hub_store_dedup_claim(hub_store_t *self, const char *source, const char *id, uint64_t seq,
                      uint64_t now_ms, uint64_t *first);
void
hub_store_dedup_committed(hub_store_t *self);
void
hub_store_dedup_rollback(hub_store_t *self);
void
hub_store_dedup_free(hub_store_t *self);
int
hub_store_dedup_migrate(hub_store_t *self);

// The subject index in sorted runs (hub_store_runs.c). runs_init: at the
// opening of a writable store, in its first transaction TXN: records meta
// "subject_indexed" when the store has none (every record until then is
// in `audit_subject`), else removes a run left unfinished. The rest on the
// thread that holds the batch: runs_note, in the open batch, notes the
// entry of audit record SEQ about SUBJECT in memory and in `audit_tail`
// (the first note loads the entries not yet in a whole run from there);
// runs_flush, just before the commit, writes a slice of the run being
// written and trims `audit_tail` of whole runs' entries; runs_committed /
// runs_rollback: the batch committed or did not; runs_free: at destroy. runs_purge, in the
// open batch: removes the runs whose records all lie below audit seq
// BASE, at most *BUDGET entries (counted down; *MORE set when it stopped
// for it). Errors break the batch: HUB_ENOMEM, HUB_EIO, LMDB's.
// runs_find, in any transaction TXN: appends to SEQS (up to MAX, *N
// counting) the audit seqs above AFTER and at least BASE that the runs
// hold for SUBJECT, ascending; *INDEXED gets meta "subject_indexed"
// (UINT64_MAX when the store has none). runs_tail, likewise: those
// `audit_tail` holds from audit seq FROM on (the records after the runs).
int
hub_store_runs_init(hub_store_t *self, MDB_txn *txn);
int
hub_store_runs_note(hub_store_t *self, const uint8_t subject[HUB_STORE_HASH_SIZE], uint64_t seq);
int
hub_store_runs_flush(hub_store_t *self);
void
hub_store_runs_committed(hub_store_t *self);
void
hub_store_runs_rollback(hub_store_t *self);
void
hub_store_runs_free(hub_store_t *self);
int
hub_store_runs_purge(hub_store_t *self, uint64_t base, size_t *budget, bool *more);
int
hub_store_runs_find(hub_store_t *self, MDB_txn *txn, const uint8_t subject[HUB_STORE_HASH_SIZE],
                    uint64_t after, uint64_t base, uint64_t *seqs, size_t max, size_t *n,
                    uint64_t *indexed);
int
hub_store_runs_tail(hub_store_t *self, MDB_txn *txn, const uint8_t subject[HUB_STORE_HASH_SIZE],
                    uint64_t from, uint64_t *seqs, size_t max, size_t *n);
// The subject index's levels (hub_store_merge.c; docs/STORE.md "Merged
// runs"). Level 0 is `audit_runs`, where runs are written; a level-L run
// (L = 1 to 3) is FANIN runs of level L - 1 merged, in `audit_runsL`.
// Each level's meta marker (level 0: "subject_indexed", else
// "subject_mergedL") is the first audit seq its whole runs do not cover.
#define HUB_STORE_LEVELS HUB_STORE_INDEX_LEVELS
#define HUB_STORE_FANIN_DEFAULT 16
#define HUB_STORE_FANIN_MAX 64

// What the writer is merging, kept with the runs (struct hub_store_runs).
typedef struct {
    int level; // runs of this level go into one of level + 1; -1: none
    size_t k;  // how many
    uint64_t start[HUB_STORE_FANIN_MAX + 1]; // their starts, then where the last one ends
    uint8_t at[HUB_STORE_HASH_SIZE + 8];     // the last entry written (subject, seq), as committed
    bool any;                                // ... there is one
    uint8_t bat[HUB_STORE_HASH_SIZE + 8];    // the same with the open batch
    bool bany;
    bool bdone; // the open batch wrote the merged run's last entry and its marker
    bool due;   // look for a merge that is due at the next flush
    bool tidy;  // the last flush's removal of merged runs used its whole budget: maybe more
} hub_store_merge_t;

// Level L's database.
hub_store_db_t
hub_store_level_db(int level);
// Level L's marker in TXN (*PRESENT false: none; a level with no marker
// has no whole run). Errors: HUB_EIO (a damaged marker), LMDB's.
int
hub_store_level_marker(hub_store_t *self, MDB_txn *txn, int level, uint64_t *seq, bool *present);
int
hub_store_level_mark(hub_store_t *self, MDB_txn *txn, int level, uint64_t seq);
// The audit seqs level L answers for, in TXN: [*LO, *HI); *LIVE false
// when it answers for none (no marker). Its runs with a start below *LO
// were merged into level L + 1 and are on their way out; one from *HI on
// is still being written. HUB_EIO when the store has the level but this
// handle, opened before it had, cannot read it.
int
hub_store_level_span(hub_store_t *self, MDB_txn *txn, int level, uint64_t *lo, uint64_t *hi,
                     bool *live);
// The start of the first run at or after FROM in cursor C on a level's
// database (*FOUND false: none).
int
hub_store_run_at(hub_store_t *self, MDB_cursor *c, uint64_t from, uint64_t *start, bool *found);
// Level L's whole runs that answer queries, in TXN: their starts, the
// first MAX of them into STARTS; *N counts them all (0: the level answers
// for nothing), *HI gets where the last one ends.
int
hub_store_level_runs(hub_store_t *self, MDB_txn *txn, int level, uint64_t *starts, size_t max,
                     size_t *n, uint64_t *hi);
// The merging writer, on the thread holding the batch, with the runs'
// state loaded: merge_load (in the open batch, once per loaded state)
// removes what a process stopped left of a run or a merged run, past
// each level's marker;
// merge_flush (before the commit) removes up to BUDGET entries of runs
// already merged, then writes up to BUDGET entries of the merge under
// way (choosing one when due). Errors break the batch. merge_committed /
// merge_rollback: the batch committed or did not.
int
hub_store_merge_load(hub_store_t *self, hub_store_merge_t *m);
int
hub_store_merge_flush(hub_store_t *self, hub_store_merge_t *m, size_t budget);
void
hub_store_merge_committed(hub_store_merge_t *m);
void
hub_store_merge_rollback(hub_store_merge_t *m);

// Where format 4's `audit_subject` stops counting, in TXN: the first run's
// start, else "subject_indexed" (UINT64_MAX: a format-4 store). An older
// hubd still running after a hubctl opened the store to write may add
// entries there: the runs and `audit_tail` are what index them.
int
hub_store_runs_bound(hub_store_t *self, MDB_txn *txn, uint64_t *bound);

// The store's keyed hash of the N byte strings P[i] (LEN[i] bytes each)
// run together, under the handle's key (has_key): keyed BLAKE2b-256, or
// HMAC-SHA256 in a store begun before format 3 (subject_b2). The subject
// and event keys (hub_store_audit.c). Fixed, open-time state only.
void
hub_store_keyed(const hub_store_t *self, const void *const *p, const size_t *len, size_t n,
                uint8_t out[HUB_STORE_HASH_SIZE]);

// Big-endian u64 keys, so mdb_dump and cursors order them numerically.
void
hub_store_be64(uint8_t out[8], uint64_t v);
uint64_t
hub_store_get_be64(const uint8_t in[8]);

// Translates LMDB's return code MRC from operation WHAT ("mdb_put queue")
// into a HUB_E* code and keeps LMDB's text for hub_store_last_error().
int
hub_store_mdb_err(hub_store_t *self, int mrc, const char *what);

// Breaks the open batch with error RC (the write transaction is dropped);
// returns RC.
int
hub_store_fail(hub_store_t *self, int rc);

// Checks that a batch is open and unbroken: HUB_OK, the breaking error, or
// HUB_EINVAL.
int
hub_store_batch_ok(const hub_store_t *self);

// Puts the cursors the open batch keeps in memory (SELF->epc: ingest
// counts endpoint sequences there, rather than reading and rewriting an
// endpoint's record for every delivery) into the batch, and forgets them.
// Called before the commit and before anything else reads or writes the
// endpoint database in the batch (hub_store_get/put/del do it), so no one
// sees a stale cursor. Errors break the batch.
int
hub_store_epc_flush(hub_store_t *self);

// Puts KEY -> VAL into DB in the open batch; on failure breaks the batch.
int
hub_store_put(hub_store_t *self, hub_store_db_t db, const void *key, size_t klen, const void *val,
              size_t vlen, unsigned flags);

// Raises *SEQ to meta "dead_high", the highest dead-letter sequence ever
// given (kept when the last one is dropped, so a sequence is never reused).
int
hub_store_dead_high(hub_store_t *self, MDB_txn *txn, uint64_t *seq);

// A write of its own, or a part of the open batch when one is open (LMDB
// has one writer: a transaction of our own would wait for the batch
// forever). *OWN says which; hub_store_write_end() then commits an own
// write (or aborts it when RC is an error) and returns the outcome.
// Errors: HUB_EINVAL (read-only handle), the batch's error.
int
hub_store_write_begin(hub_store_t *self, bool *own);
int
hub_store_write_end(hub_store_t *self, bool own, int rc);

// At the opening of a writable store, in its first transaction TXN:
// records meta "store_id" (16 random bytes, 32 lower-case hex digits) when
// it has none (a new store, or one older than the id) or a damaged one.
// Errors: HUB_EIO, HUB_EFULL (hub_store_ops.c).
int
hub_store_id_ensure(hub_store_t *self, MDB_txn *txn);

// Deletes KEY from DB in the open batch: HUB_ENOTFOUND when it is not
// there (the batch goes on); any other failure breaks the batch.
int
hub_store_del(hub_store_t *self, hub_store_db_t db, const void *key, size_t klen);

// Gets KEY from DB in TXN; *VAL points into the map (valid in TXN only).
// Errors: HUB_ENOTFOUND, HUB_EIO.
int
hub_store_get(hub_store_t *self, MDB_txn *txn, hub_store_db_t db, const void *key, size_t klen,
              MDB_val *val);

// Starts a read transaction (reusing the kept one) / ends it (reset, kept).
int
hub_store_read_begin(hub_store_t *self, MDB_txn **txn);
void
hub_store_read_end(hub_store_t *self);

// The last key of sequence database DB in TXN as a number (0 when empty).
int
hub_store_last_in(hub_store_t *self, MDB_txn *txn, hub_store_db_t db, uint64_t *seq);

// One delivery as its records describe it: worked out once, written into
// both the queue record and the audit record.
typedef struct {
    const hub_delivery_t *d;
    const char *endpoint; // where it goes (applying: D is NULL then)
    const char *id;       // the delivered message's id (a derived message's own)
    const char *type;     // the delivered message's type
    const void *enc;      // the delivered message, encoded (applying)
    size_t enc_len;
    uint64_t eseq;                       // its endpoint sequence
    size_t nreleased;                    // fields disclosed: released, not dropped, present
    bool released[HUB_ROUTE_MAX_FIELDS]; // d->fields[i] is disclosed
    uint8_t disc[HUB_STORE_HASH_SIZE];   // the key of its descriptor
} hub_store_disclosure_t;

// The parts both records carry: "fields" (the disclosed fields with their
// rule and mask), and the per-rule arrays "rules", "purposes" and
// "legal_bases" (aligned: item i belongs to rule i; nil when a rule has no
// purpose or legal basis). Each writes one value.
void
hub_store_w_fields(hub_mpw_t *w, const hub_store_disclosure_t *x);
void
hub_store_w_rules(hub_mpw_t *w, const hub_delivery_t *d);
void
hub_store_w_purposes(hub_mpw_t *w, const hub_delivery_t *d);
void
hub_store_w_bases(hub_mpw_t *w, const hub_delivery_t *d);

// Stores descriptor DESC (LEN bytes) under KEY in the open batch unless
// it is there already (hub_store_disc.c). A lookup in memory when this
// writer stored it before in a batch that committed. Errors: those of
// hub_store_put() (the batch is broken), HUB_ENOMEM.
int
hub_store_disc_ensure(hub_store_t *self, const uint8_t key[HUB_STORE_HASH_SIZE], const void *desc,
                      size_t len);

// Forgets which descriptors are stored (the batch that wrote some of them
// did not commit). Frees the cache on destroy (FREE).
void
hub_store_disc_forget(hub_store_t *self, bool free_it);

// Frees the descriptors kept for reading (on destroy).
void
hub_store_disc_rcache_free(hub_store_t *self);

// Appends to OUT record REC (a msgpack map of LEN bytes) as readers see
// it: when it has "disclosure", that key replaced by the descriptor's
// pairs (read in TXN), keys kept sorted; otherwise REC as it is (records
// of format 2 carry the pairs themselves). Errors: HUB_EIO (a descriptor
// missing or damaged: SELF's error says which), HUB_ENOMEM.
int
hub_store_disc_expand(hub_store_t *self, MDB_txn *txn, const void *rec, size_t len, hub_buf_t *out);

// What an expansion saw on its way, so that a reader need not walk the
// record again (a record of format 2, appended as it is, gets none).
typedef struct {
    size_t msg_at;          // offset in the expanded record of its one "msg" key when every
                            // key is in its shortest form (0: no such key, several, an odd key)
    const uint8_t *log_seq; // the value of REC's first "log_seq" key, in REC (NULL: none)
} hub_store_marks_t;

// hub_store_disc_expand(), and *M gets the marks.
int
hub_store_disc_expand_marks(hub_store_t *self, MDB_txn *txn, const void *rec, size_t len,
                            hub_buf_t *out, hub_store_marks_t *m);

// The merge hub_store_disc_expand() does, on bytes alone (for the fuzz
// target): record REC (LEN bytes, a map holding "disclosure") with that
// pair replaced by the pairs of descriptor DESC (DLEN bytes, a map),
// appended to OUT; *M (may be NULL) gets the marks. Errors: HUB_EDECODE
// (malformed; OUT as it was), HUB_ENOMEM.
int
hub_store_disc_merge(const void *rec, size_t len, const void *desc, size_t dlen, hub_buf_t *out,
                     hub_store_marks_t *m);

// Checks in TXN that descriptor KEY is stored and hashes to KEY; *WHY
// says what is wrong. HUB_OK, HUB_EINVALID, HUB_EIO.
int
hub_store_disc_check(hub_store_t *self, MDB_txn *txn, const uint8_t key[HUB_STORE_HASH_SIZE],
                     const char **why);

// Appends the audit record of disclosure X (of message IN) to the open
// batch, chained to the one before, noting its subject index entry when
// the subject is known (SUBJECT, else NULL).
int
hub_store_audit_append(hub_store_t *self, const hub_store_ingest_t *in,
                       const hub_store_disclosure_t *x, const uint8_t *subject);

// Reads meta "audit_head" in TXN: the last audit seq and its hash (0 and
// zeros when there is none yet).
int
hub_store_audit_head(hub_store_t *self, MDB_txn *txn, uint64_t *seq,
                     uint8_t hash[HUB_STORE_HASH_SIZE]);

// Writes meta "audit_head" from the batch's state.
int
hub_store_audit_put_head(hub_store_t *self);

// Reads meta "audit_base" in TXN: the first audit seq kept and the hash
// before it (1 and zeros when retention never removed a record).
int
hub_store_audit_base_in(hub_store_t *self, MDB_txn *txn, uint64_t *seq,
                        uint8_t prev[HUB_STORE_HASH_SIZE]);

#endif
