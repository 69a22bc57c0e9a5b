// hub_store: the subject index in sorted runs (docs/STORE.md
// "audit_runs"). An index keyed by a person's hash takes keys in no order:
// written entry by entry, each would dirty a leaf of its own. So the
// writer keeps the entries of the audit records not yet indexed in memory
// and in `audit_tail` (audit seq -> subject: appended, so cheap to write,
// and 40 bytes to scan where a record is ~360) and, once it holds a run's
// worth, writes them sorted, a slice per batch, under the audit seq the
// run starts at: key run start (BE64) ‖ subject (32 bytes) ‖ audit seq
// (BE64) -> "". A run is appended with MDB_APPEND, so its pages are full
// and written in sequence. Meta "subject_indexed" is the first
// audit seq that no run (or the format-4 `audit_subject` index before
// them) covers; a query reads the index below it and scans `audit_tail`
// from it. Whole runs are merged into larger ones (hub_store_merge.c), so
// a query reads the levels from the top down.
#include "hub_error.h"
#include "hub_mpr.h"
#include "hub_store.h"
#include "hub_store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_RUN_DEFAULT 65536u // entries per run
#define S_KEY (8 + HUB_STORE_HASH_SIZE + 8)

typedef struct {
    uint8_t subject[HUB_STORE_HASH_SIZE];
    uint64_t seq;
} s_entry_t;

struct hub_store_runs {
    s_entry_t *v; // not yet in a run, ascending seq: [0, committed) committed, the rest the batch's
    size_t n, committed, cap;
    uint64_t indexed; // meta "subject_indexed" as committed: where the run being written starts
    s_entry_t *run;   // the run being written, sorted (NULL: none)
    size_t run_n;     // its entries
    size_t run_done;  // those written by batches that committed
    size_t run_batch; // those written once the open batch commits
    uint64_t run_end; // the audit seq after its records: "subject_indexed" once it is whole
    bool fresh;       // loaded by the open batch (which may have removed a partial run)
    size_t boost;     // hub_store_index_boost(): the next flush writes at least this much
    hub_store_merge_t merge; // the merge under way (hub_store_merge.c)
};

static const char s_meta_key[] = "subject_indexed";

// ---------------------------------------------------------------- meta

// Meta "subject_indexed" in TXN; *KNOWN false when the store has none (a
// store of format 4 or older not yet opened to write: the old index covers
// every record).
static int
s_indexed(hub_store_t *self, MDB_txn *txn, uint64_t *seq, bool *known)
{
    return hub_store_level_marker(self, txn, 0, seq, known);
}

static int
s_put_indexed(hub_store_t *self, MDB_txn *txn, uint64_t seq)
{
    return hub_store_level_mark(self, txn, 0, seq);
}

int
hub_store_runs_init(hub_store_t *self, MDB_txn *txn)
{
    uint64_t seq, head;
    bool known;
    uint8_t hash[HUB_STORE_HASH_SIZE];
    int rc = s_indexed(self, txn, &seq, &known);
    if (rc || known) {
        return rc;
    }
    // Everything written so far is in the old index (a new store: nothing).
    // Runs without it: the meta record was lost, and where they end with it.
    MDB_cursor *c;
    MDB_val k, v;
    int mrc = mdb_cursor_open(txn, self->dbi[HUB_STORE_DB_RUNS], &c);
    if (!mrc) {
        mrc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
        mdb_cursor_close(c);
    }
    if (mrc != MDB_NOTFOUND) {
        snprintf(self->err, sizeof self->err, "meta %s: missing, and audit_runs holds runs%s%s",
                 s_meta_key, mrc ? ": " : "", mrc ? mdb_strerror(mrc) : "");
        return HUB_EIO;
    }
    rc = hub_store_audit_head(self, txn, &head, hash);
    return rc ? rc : s_put_indexed(self, txn, head + 1);
}

// ---------------------------------------------------------------- writing

static int
s_push(struct hub_store_runs *r, const uint8_t *subject, uint64_t seq)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 4096;
        s_entry_t *v = realloc(r->v, cap * sizeof *v);
        if (!v) {
            return HUB_ENOMEM;
        }
        r->v = v;
        r->cap = cap;
    }
    memcpy(r->v[r->n].subject, subject, HUB_STORE_HASH_SIZE);
    r->v[r->n++].seq = seq;
    return HUB_OK;
}

// The entries not in a whole run (`audit_tail` from meta
// "subject_indexed" on), read in the open batch before it noted any (its
// first note calls this), after removing the part of a run a process
// stopped writing (its keys start at "subject_indexed"). Only here, in
// the handle that writes the index (hubd), never at an opening: another
// writable handle (hubctl's) would cut a run hubd is writing. If the
// batch does not commit, the state is dropped and read again. Not the handle's read transaction:
// another thread may be using it. Checks "subject_indexed" SEQ against the store: above every whole
// run's start, and at most the audit seq being noted.
static int
s_check_indexed(hub_store_t *self, uint64_t seq)
{
    MDB_cursor *c;
    MDB_val k, v;
    int mrc = mdb_cursor_open(self->txn, self->dbi[HUB_STORE_DB_RUNS], &c);
    if (mrc) {
        return hub_store_mdb_err(self, mrc, "mdb_cursor_open audit_runs");
    }
    mrc = mdb_cursor_get(c, &k, &v, MDB_LAST);
    bool bad = seq > self->next_audit ||
               (mrc == 0 && (k.mv_size != S_KEY || hub_store_get_be64(k.mv_data) >= seq));
    mdb_cursor_close(c);
    if (bad || (mrc && mrc != MDB_NOTFOUND)) {
        snprintf(self->err, sizeof self->err,
                 "meta %s %llu does not fit the store (the last run, the audit head %llu)%s%s",
                 s_meta_key, (unsigned long long) seq, (unsigned long long) self->next_audit - 1,
                 mrc && mrc != MDB_NOTFOUND ? ": " : "",
                 mrc && mrc != MDB_NOTFOUND ? mdb_strerror(mrc) : "");
        return HUB_EIO;
    }
    return HUB_OK;
}

static int
s_load(hub_store_t *self, struct hub_store_runs **out)
{
    if (self->runs) {
        *out = self->runs;
        return HUB_OK;
    }
    struct hub_store_runs *r = calloc(1, sizeof *r);
    MDB_cursor *c = NULL;
    bool known = false;
    int rc = r ? s_indexed(self, self->txn, &r->indexed, &known) : HUB_ENOMEM;
    if (!rc && !known) {
        snprintf(self->err, sizeof self->err, "meta %s: missing", s_meta_key);
        rc = HUB_EIO;
    }
    // A run (or a merge) another process stopped writing: this handle
    // writes it again.
    rc = rc ? rc : hub_store_merge_load(self, &r->merge);
    rc = rc ? rc : s_check_indexed(self, r->indexed);
    rc = rc ? rc
            : hub_store_mdb_err(self, mdb_cursor_open(self->txn, self->dbi[HUB_STORE_DB_TAIL], &c),
                                "mdb_cursor_open audit_tail");
    uint8_t key[8];
    hub_store_be64(key, rc ? 0 : r->indexed);
    MDB_val k = {sizeof key, key}, v;
    int mrc = rc ? MDB_NOTFOUND : mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    for (; !rc && mrc == 0; mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 8 || v.mv_size != HUB_STORE_HASH_SIZE) {
            snprintf(self->err, sizeof self->err, "audit_tail: a damaged entry");
            rc = HUB_EIO;
        }
        rc = rc ? rc : s_push(r, v.mv_data, hub_store_get_be64(k.mv_data));
    }
    if (!rc && mrc != MDB_NOTFOUND) {
        rc = hub_store_mdb_err(self, mrc, "mdb_cursor_get audit_tail");
    }
    mdb_cursor_close(c);
    if (rc) {
        if (r) {
            free(r->v);
        }
        free(r);
        return rc;
    }
    r->committed = r->n;
    r->fresh = true;
    *out = self->runs = r;
    return HUB_OK;
}

int
hub_store_runs_note(hub_store_t *self, const uint8_t subject[HUB_STORE_HASH_SIZE], uint64_t seq)
{
    struct hub_store_runs *r;
    uint8_t key[8];
    hub_store_be64(key, seq);
    int rc = s_load(self, &r);
    rc = rc ? rc : s_push(r, subject, seq);
    if (rc) {
        return hub_store_fail(self, rc);
    }
    return hub_store_put(self, HUB_STORE_DB_TAIL, key, sizeof key, subject, HUB_STORE_HASH_SIZE,
                         MDB_APPEND);
}

// SRC's N entries into DST ordered by (subject, seq): counted into buckets
// by the subject's first two bytes (stable: each bucket keeps seq order),
// each bucket then sorted by insertion (it holds about N / 65,536). Linear
// where qsort's ~20 ms for a run would stall the commit that sorts.
static int
s_sort(const s_entry_t *src, size_t n, s_entry_t *dst)
{
    size_t *at = calloc(65537, sizeof *at);
    if (!at) {
        return HUB_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        at[(src[i].subject[0] << 8 | src[i].subject[1]) + 1]++;
    }
    for (size_t b = 1; b <= 65536; b++) {
        at[b] += at[b - 1];
    }
    for (size_t i = 0; i < n; i++) {
        dst[at[src[i].subject[0] << 8 | src[i].subject[1]]++] = src[i];
    }
    // at[b] is now the end of bucket b (the start of b + 1).
    for (size_t b = 0, lo = 0; b < 65536; lo = at[b++]) {
        for (size_t i = lo + 1; i < at[b]; i++) {
            s_entry_t e = dst[i];
            size_t j = i;
            for (; j > lo && memcmp(dst[j - 1].subject, e.subject, HUB_STORE_HASH_SIZE) > 0; j--) {
                dst[j] = dst[j - 1];
            }
            dst[j] = e;
        }
    }
    free(at);
    return HUB_OK;
}

// After a commit: once a run's worth is pending and no run is being
// written, the pending entries (all committed) become the next run,
// sorted; the batches after write it a slice at a time.
static void
s_freeze(hub_store_t *self, struct hub_store_runs *r)
{
    size_t want = self->run_size ? self->run_size : S_RUN_DEFAULT;
    if (r->run || r->n < want) {
        return;
    }
    s_entry_t *run = malloc(r->n * sizeof *run);
    if (!run || s_sort(r->v, r->n, run)) {
        free(run); // tried again after the next commit
        return;
    }
    r->run = run;
    r->run_n = r->n;
    r->run_done = r->run_batch = 0;
    r->run_end = self->next_audit; // after this batch's records: all in the run
    r->n = r->committed = 0;
}

// Removes up to MAX `audit_tail` entries that a whole run holds (below
// "subject_indexed" as committed), from the oldest: a lookup a commit
// when there are none.
static int
s_trim_tail(hub_store_t *self, const struct hub_store_runs *r, size_t max)
{
    MDB_cursor *c;
    int mrc = mdb_cursor_open(self->txn, self->dbi[HUB_STORE_DB_TAIL], &c);
    if (mrc) {
        return hub_store_fail(self, hub_store_mdb_err(self, mrc, "mdb_cursor_open audit_tail"));
    }
    MDB_val k, v;
    for (size_t i = 0; !mrc && i < max; i++) {
        mrc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
        if (mrc || k.mv_size != 8 || hub_store_get_be64(k.mv_data) >= r->indexed) {
            break;
        }
        mrc = mdb_cursor_del(c, 0);
    }
    mdb_cursor_close(c);
    mrc = mrc == MDB_NOTFOUND ? 0 : mrc;
    return mrc ? hub_store_fail(self, hub_store_mdb_err(self, mrc, "audit_tail: trimming"))
               : HUB_OK;
}

int
hub_store_runs_flush(hub_store_t *self)
{
    struct hub_store_runs *r = self->runs;
    if (!r) {
        return HUB_OK;
    }
    // Twice what the batch noted (at least 1/256 of a run, 256 entries:
    // four pages): the run is written before the next one is due, and each
    // commit pays in proportion to its size, none for a whole run (a
    // commit of a few dozen messages that wrote 4,096 entries took ~1 ms
    // longer: paced p99 3.4 -> 5.4 ms). The tail's entries of whole runs
    // go at the same pace. A merge (hub_store_merge.c) writes four times
    // what the batch noted: an entry is written again once per level it
    // climbs (three), and merges keep up only when they write more than
    // that a batch. No floor tied to the run size (it was 512 entries):
    // a merge is under way about a tenth of the time, and each small
    // commit of a light load paid for 512 entries merged and 512 removed
    // (~1 ms, doubling the commit), where 4 x noted costs in proportion.
    size_t want = self->run_size ? self->run_size : S_RUN_DEFAULT;
    size_t noted = r->n - r->committed;
    size_t slice = want / 256 > 2 * noted ? want / 256 : 2 * noted;
    slice = slice > r->boost ? slice : r->boost;
    slice = slice ? slice : 1;
    int rc = s_trim_tail(self, r, slice);
    size_t end = r->run && r->run_n - r->run_done > slice ? r->run_done + slice : r->run_n;
    uint8_t key[S_KEY];
    hub_store_be64(key, r->indexed);
    for (size_t i = r->run_done; r->run && i < end && !rc; i++) {
        memcpy(key + 8, r->run[i].subject, HUB_STORE_HASH_SIZE);
        hub_store_be64(key + 8 + HUB_STORE_HASH_SIZE, r->run[i].seq);
        rc = hub_store_put(self, HUB_STORE_DB_RUNS, key, sizeof key, "", 0, MDB_APPEND);
    }
    if (!rc && r->run && end == r->run_n) {
        rc = s_put_indexed(self, self->txn, r->run_end);
        rc = rc ? hub_store_fail(self, rc) : HUB_OK;
    }
    r->run_batch = rc || !r->run ? r->run_done : end;
    // At least 128 entries (two pages): a batch that noted none (an idle
    // hub's dedup purge) still moves a merge on.
    size_t merge = 4 * noted < 128 ? 128 : 4 * noted;
    merge = merge > r->boost ? merge : r->boost;
    r->boost = 0; // one flush's worth
    return rc ? rc : hub_store_merge_flush(self, &r->merge, merge);
}

void
hub_store_runs_committed(hub_store_t *self)
{
    struct hub_store_runs *r = self->runs;
    if (!r) {
        return;
    }
    r->committed = r->n;
    r->fresh = false;
    if (r->run) {
        r->run_done = r->run_batch;
        if (r->run_done == r->run_n) {
            r->indexed = r->run_end;
            free(r->run);
            r->run = NULL;
            r->merge.due = true; // a whole run more: a merge may be due
        }
    }
    hub_store_merge_committed(&r->merge);
    s_freeze(self, r);
}

void
hub_store_runs_rollback(hub_store_t *self)
{
    struct hub_store_runs *r = self->runs;
    if (r && r->fresh) {
        hub_store_runs_free(self); // what it read (and removed) is as it was: read again
    } else if (r) {
        r->n = r->committed;
        r->run_batch = r->run_done;
        hub_store_merge_rollback(&r->merge);
    }
}

void
hub_store_runs_free(hub_store_t *self)
{
    if (self->runs) {
        free(self->runs->v);
        free(self->runs->run);
        free(self->runs);
        self->runs = NULL;
    }
}

bool
hub_store_index_due(const hub_store_t *self)
{
    const struct hub_store_runs *r = self->runs;
    return r && (r->run || r->merge.level >= 0 || r->merge.due || r->merge.tidy);
}

void
hub_store_index_boost(hub_store_t *self, size_t entries)
{
    if (self->runs) {
        self->runs->boost = entries;
    }
}

size_t
hub_store_subject_pending(const hub_store_t *self)
{
    const struct hub_store_runs *r = self->runs;
    return r ? r->committed + (r->run ? r->run_n - r->run_done : 0) : 0;
}

// ---------------------------------------------------------------- retention

// Removes from level LEVEL the runs whose audit seqs all lie below BASE,
// from the first: a run covers the seqs from its start to the next run's
// at its level (the last whole one, to the level's marker HI; one from HI
// on is still being written and stays).
static int
s_purge_level(hub_store_t *self, int level, uint64_t hi, uint64_t base, size_t *budget, bool *more)
{
    uint64_t first, next;
    bool found, later;
    MDB_cursor *c = NULL;
    int rc = hub_store_mdb_err(self,
                               mdb_cursor_open(self->txn, self->dbi[hub_store_level_db(level)], &c),
                               "mdb_cursor_open subject index");
    int mrc = 0;
    while (!rc && *budget && !(rc = hub_store_run_at(self, c, 0, &first, &found)) && found &&
           first < hi) {
        rc = hub_store_run_at(self, c, first + 1, &next, &later);
        if (rc || (later && next < hi ? next : hi) > base) {
            break;
        }
        uint8_t probe[8];
        hub_store_be64(probe, first);
        MDB_val k = {sizeof probe, probe}, v;
        size_t gone = 0;
        for (mrc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
             !mrc && *budget && k.mv_size == S_KEY && hub_store_get_be64(k.mv_data) == first &&
             !(mrc = mdb_cursor_del(c, 0));
             mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
            (*budget)--;
            gone++;
        }
        if (mrc && mrc != MDB_NOTFOUND) {
            rc = hub_store_mdb_err(self, mrc, "mdb_cursor_del subject index");
        } else if (!gone && *budget) {
            snprintf(self->err, sizeof self->err, "subject index level %d: run %llu: a damaged key",
                     level, (unsigned long long) first);
            rc = HUB_EIO; // never loop on it
        }
        *more |= !rc && !*budget;
    }
    if (c) {
        mdb_cursor_close(c);
    }
    return rc;
}

int
hub_store_runs_purge(hub_store_t *self, uint64_t base, size_t *budget, bool *more)
{
    int rc = HUB_OK;
    for (int level = HUB_STORE_LEVELS - 1; level >= 0 && !rc && *budget; level--) {
        uint64_t lo, hi;
        bool live;
        rc = hub_store_level_span(self, self->txn, level, &lo, &hi, &live);
        rc = rc || !live ? rc : s_purge_level(self, level, hi, base, budget, more);
    }
    return rc ? hub_store_fail(self, rc) : HUB_OK;
}

// ---------------------------------------------------------------- reading

// Appends what level LEVEL's runs hold for SUBJECT above AFTER and at
// least BASE (hub_store_runs_find()).
static int
s_find_level(hub_store_t *self, MDB_txn *txn, int level, const uint8_t *subject, uint64_t after,
             uint64_t base, uint64_t *seqs, size_t max, size_t *n)
{
    uint64_t lo, hi;
    bool live, found = false;
    int rc = hub_store_level_span(self, txn, level, &lo, &hi, &live);
    if (rc || !live || after + 1 >= hi) {
        return rc;
    }
    MDB_cursor *c;
    rc = hub_store_mdb_err(self, mdb_cursor_open(txn, self->dbi[hub_store_level_db(level)], &c),
                           "mdb_cursor_open subject index");
    if (rc) {
        return rc;
    }
    // From the run holding seq AFTER + 1: the last key before run start
    // AFTER + 2 names it; runs below LO were merged into the level above.
    uint64_t r = 0, from = after + 1 > base ? after + 1 : base;
    uint8_t key[S_KEY];
    hub_store_be64(key, after + 2);
    MDB_val k = {8, key}, v;
    int mrc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    mrc = mdb_cursor_get(c, &k, &v, mrc == MDB_NOTFOUND ? MDB_LAST : MDB_PREV);
    if (mrc == 0 && k.mv_size == S_KEY) {
        r = hub_store_get_be64(k.mv_data);
    }
    rc = mrc == 0 || mrc == MDB_NOTFOUND ? HUB_OK : hub_store_mdb_err(self, mrc, "mdb_cursor_get");
    rc = rc ? rc : hub_store_run_at(self, c, r > lo ? r : lo, &r, &found);
    while (!rc && found && r < hi && *n < max) {
        hub_store_be64(key, r);
        memcpy(key + 8, subject, HUB_STORE_HASH_SIZE);
        hub_store_be64(key + 8 + HUB_STORE_HASH_SIZE, from);
        k = (MDB_val){sizeof key, key};
        for (mrc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); mrc == 0 && *n < max;
             mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
            if (k.mv_size != S_KEY || memcmp(k.mv_data, key, 8 + HUB_STORE_HASH_SIZE) != 0) {
                break;
            }
            seqs[(*n)++] =
                hub_store_get_be64((const uint8_t *) k.mv_data + 8 + HUB_STORE_HASH_SIZE);
        }
        if (mrc && mrc != MDB_NOTFOUND) {
            rc = hub_store_mdb_err(self, mrc, "mdb_cursor_get subject index");
        }
        rc = rc || r == UINT64_MAX ? rc : hub_store_run_at(self, c, r + 1, &r, &found);
    }
    mdb_cursor_close(c);
    return rc;
}

int
hub_store_runs_find(hub_store_t *self, MDB_txn *txn, const uint8_t subject[HUB_STORE_HASH_SIZE],
                    uint64_t after, uint64_t base, uint64_t *seqs, size_t max, size_t *n,
                    uint64_t *indexed)
{
    bool known;
    int rc = s_indexed(self, txn, indexed, &known);
    // The levels answer for contiguous stretches, the highest for the
    // oldest: ascending.
    for (int level = HUB_STORE_LEVELS - 1; !rc && self->has_runs && level >= 0 && *n < max;
         level--) {
        rc = s_find_level(self, txn, level, subject, after, base, seqs, max, n);
    }
    return rc;
}

void
hub_store_set_run_size(hub_store_t *self, size_t entries)
{
    self->run_size = entries;
}

void
hub_store_set_run_fanin(hub_store_t *self, size_t runs)
{
    self->run_fanin = runs < 2 ? 0 : runs > HUB_STORE_FANIN_MAX ? HUB_STORE_FANIN_MAX : runs;
}

int
hub_store_runs_tail(hub_store_t *self, MDB_txn *txn, const uint8_t subject[HUB_STORE_HASH_SIZE],
                    uint64_t from, uint64_t *seqs, size_t max, size_t *n)
{
    if (!self->has_runs || *n >= max) {
        return HUB_OK;
    }
    MDB_cursor *c;
    int rc = hub_store_mdb_err(self, mdb_cursor_open(txn, self->dbi[HUB_STORE_DB_TAIL], &c),
                               "mdb_cursor_open audit_tail");
    if (rc) {
        return rc;
    }
    uint8_t key[8];
    hub_store_be64(key, from);
    MDB_val k = {sizeof key, key}, v;
    int mrc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    for (; mrc == 0 && *n < max; mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size == 8 && v.mv_size == HUB_STORE_HASH_SIZE &&
            memcmp(v.mv_data, subject, HUB_STORE_HASH_SIZE) == 0) {
            seqs[(*n)++] = hub_store_get_be64(k.mv_data);
        }
    }
    mdb_cursor_close(c);
    return mrc && mrc != MDB_NOTFOUND ? hub_store_mdb_err(self, mrc, "mdb_cursor_get audit_tail")
                                      : HUB_OK;
}

int
hub_store_runs_bound(hub_store_t *self, MDB_txn *txn, uint64_t *bound)
{
    bool known;
    int rc = s_indexed(self, txn, bound, &known);
    for (int level = 0; !rc && self->has_runs && level < HUB_STORE_LEVELS; level++) {
        uint64_t first, hi;
        size_t n;
        rc = hub_store_level_runs(self, txn, level, &first, 1, &n, &hi);
        *bound = !rc && n && first < *bound ? first : *bound;
    }
    return rc;
}
