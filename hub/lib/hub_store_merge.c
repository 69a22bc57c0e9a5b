// hub_store: merged runs (docs/STORE.md "Merged runs"). A query seeks
// every run of the subject index, and runs of 65,536 entries come one per
// ~32,000 dropouts: ~150 per 10 million audit records, ~1,500 per 100
// million. So, as a log-structured merge tree does, the writer merges
// FANIN (16) whole runs of a level into one run of the next, a slice per
// batch, in their order (subject, then seq): level 1 runs hold ~1 million
// entries, level 2 ~16 million, level 3 ~268 million, and a query seeks
// fewer than FANIN runs a level. Each level has a database of its own so
// a merged run is appended (MDB_APPEND: full pages, in sequence), keyed
// like a run of level 0: start (BE64) ‖ subject ‖ audit seq (BE64) -> "".
//
// Each level's meta marker is where its whole runs end; level L answers
// for [marker L + 1, marker L). A merge writes its run past its level's
// marker, invisible to queries, and the commit that writes the last entry
// moves the marker: from then on the merged runs below, their starts under
// the new marker, are skipped by queries and removed a slice per batch. A
// process stopped in the middle leaves a partial run past the marker,
// which the next writer removes before it merges again.
#include "hub_error.h"
#include "hub_mpr.h"
#include "hub_store.h"
#include "hub_store_int.h"

#include <stdio.h>
#include <string.h>

#define S_KEY (8 + HUB_STORE_HASH_SIZE + 8)

static const char *const s_marker[HUB_STORE_LEVELS] = {"subject_indexed", "subject_merged1",
                                                       "subject_merged2", "subject_merged3"};

hub_store_db_t
hub_store_level_db(int level)
{
    return level == 0 ? HUB_STORE_DB_RUNS : (hub_store_db_t) (HUB_STORE_DB_RUNS1 + level - 1);
}

int
hub_store_level_marker(hub_store_t *self, MDB_txn *txn, int level, uint64_t *seq, bool *present)
{
    MDB_val v;
    *present = false;
    *seq = UINT64_MAX;
    const char *name = s_marker[level];
    int rc = hub_store_get(self, txn, HUB_STORE_DB_META, name, strlen(name), &v);
    if (rc == HUB_ENOTFOUND) {
        return HUB_OK;
    }
    hub_mpr_t r;
    hub_mpr_init(&r, v.mv_data, v.mv_size);
    if (!rc && (hub_mpr_uint(&r, seq) || *seq == 0)) {
        snprintf(self->err, sizeof self->err, "meta %s: a damaged record", name);
        rc = HUB_EIO;
    }
    *present = rc == HUB_OK;
    return rc;
}

int
hub_store_level_mark(hub_store_t *self, MDB_txn *txn, int level, uint64_t seq)
{
    hub_buf_t b = HUB_BUF_INIT;
    hub_mpw_t w;
    hub_mpw_init(&w, &b);
    hub_mpw_uint(&w, seq);
    int rc = hub_mpw_error(&w);
    MDB_val k = {strlen(s_marker[level]), (void *) s_marker[level]}, v = {b.len, b.data};
    rc = rc ? rc
            : hub_store_mdb_err(self, mdb_put(txn, self->dbi[HUB_STORE_DB_META], &k, &v, 0),
                                "mdb_put meta");
    hub_buf_free(&b);
    return rc;
}

int
hub_store_level_span(hub_store_t *self, MDB_txn *txn, int level, uint64_t *lo, uint64_t *hi,
                     bool *live)
{
    bool here, above = false;
    uint64_t up = 0;
    *live = false;
    int rc = hub_store_level_marker(self, txn, level, hi, &here);
    if (!rc && level + 1 < HUB_STORE_LEVELS) {
        rc = hub_store_level_marker(self, txn, level + 1, &up, &above);
    }
    *lo = above ? up : 0;
    if (!rc && (here || above) && !(self->levels & 1u << level)) {
        snprintf(self->err, sizeof self->err,
                 "the store gained the subject index level %d after this handle opened it: "
                 "open it again",
                 level);
        return HUB_EIO;
    }
    *live = !rc && here;
    return rc;
}

int
hub_store_run_at(hub_store_t *self, MDB_cursor *c, uint64_t from, uint64_t *start, bool *found)
{
    uint8_t probe[8];
    hub_store_be64(probe, from);
    MDB_val k = {sizeof probe, probe}, v;
    int mrc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    *found = mrc == 0 && k.mv_size == S_KEY;
    if (*found) {
        *start = hub_store_get_be64(k.mv_data);
    }
    if (mrc == 0 && k.mv_size != S_KEY) {
        snprintf(self->err, sizeof self->err, "subject index: a key of %zu bytes", k.mv_size);
        return HUB_EIO;
    }
    return mrc == MDB_NOTFOUND ? HUB_OK
                               : hub_store_mdb_err(self, mrc, "mdb_cursor_get subject index");
}

int
hub_store_level_runs(hub_store_t *self, MDB_txn *txn, int level, uint64_t *starts, size_t max,
                     size_t *n, uint64_t *hi)
{
    uint64_t lo, r = 0;
    bool live, found = false;
    MDB_cursor *c = NULL;
    *n = 0;
    int rc = hub_store_level_span(self, txn, level, &lo, hi, &live);
    if (rc || !live) {
        return rc;
    }
    rc = hub_store_mdb_err(self, mdb_cursor_open(txn, self->dbi[hub_store_level_db(level)], &c),
                           "mdb_cursor_open subject index");
    rc = rc ? rc : hub_store_run_at(self, c, lo, &r, &found);
    while (!rc && found && r < *hi) {
        if (*n < max) {
            starts[*n] = r;
        }
        (*n)++;
        rc = r == UINT64_MAX ? rc : hub_store_run_at(self, c, r + 1, &r, &found);
    }
    if (c) {
        mdb_cursor_close(c); // a read transaction's cursor is not freed with it
    }
    return rc;
}

// Removes from level LEVEL's database, in the open batch, the keys of
// the runs that start in [FROM, BELOW), up to *BUDGET (counted down).
static int
s_remove_from(hub_store_t *self, int level, uint64_t from, uint64_t below, size_t *budget)
{
    MDB_cursor *c;
    int mrc = mdb_cursor_open(self->txn, self->dbi[hub_store_level_db(level)], &c);
    if (mrc) {
        return hub_store_mdb_err(self, mrc, "mdb_cursor_open subject index");
    }
    uint8_t probe[8];
    hub_store_be64(probe, from);
    MDB_val k = {sizeof probe, probe}, v;
    int get = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    while (!get && *budget && k.mv_size >= 8 && hub_store_get_be64(k.mv_data) < below &&
           !(mrc = mdb_cursor_del(c, 0))) {
        (*budget)--;
        get = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(c);
    mrc = mrc ? mrc : get == MDB_NOTFOUND ? 0 : get;
    return hub_store_mdb_err(self, mrc, "subject index: removing runs");
}

int
hub_store_merge_load(hub_store_t *self, hub_store_merge_t *m)
{
    memset(m, 0, sizeof *m);
    m->level = -1;
    m->due = true;
    int rc = HUB_OK;
    // Past each marker: a run of level 0 or a merged run left unfinished
    // (no marker above level 0: the level's first merged run).
    for (int level = 0; level < HUB_STORE_LEVELS && !rc; level++) {
        uint64_t mark;
        bool present;
        size_t all = SIZE_MAX;
        rc = hub_store_level_marker(self, self->txn, level, &mark, &present);
        if (!rc && (present || level > 0)) {
            rc = s_remove_from(self, level, present ? mark : 0, UINT64_MAX, &all);
        }
    }
    return rc;
}

// Removes up to *BUDGET entries of runs already merged into the level
// above (their starts below its marker), lowest level first.
static int
s_cleanup(hub_store_t *self, size_t *budget)
{
    int rc = HUB_OK;
    for (int level = 0; level + 1 < HUB_STORE_LEVELS && !rc && *budget; level++) {
        uint64_t up;
        bool present;
        rc = hub_store_level_marker(self, self->txn, level + 1, &up, &present);
        rc = rc || !present ? rc : s_remove_from(self, level, 0, up, budget);
    }
    return rc;
}

// Chooses the next merge: the lowest level with FANIN whole runs that
// are not merged yet. None: M->due goes false until a run or a merge is
// finished.
static int
s_choose(hub_store_t *self, hub_store_merge_t *m)
{
    size_t fanin = self->run_fanin ? self->run_fanin : HUB_STORE_FANIN_DEFAULT;
    int rc = HUB_OK;
    m->due = false;
    for (int level = 0; level + 1 < HUB_STORE_LEVELS && !rc && m->level < 0; level++) {
        uint64_t hi;
        size_t k;
        rc = hub_store_level_runs(self, self->txn, level, m->start, fanin + 1, &k, &hi);
        if (!rc && k >= fanin) {
            m->level = level;
            m->k = fanin;
            m->start[fanin] = k > fanin ? m->start[fanin] : hi; // where the last one ends
            m->bany = m->any = m->bdone = false;
        }
    }
    return rc;
}

// Copies into HEAD the (subject, seq) of the entry GET found, when it is
// still in run START (a copy: a put may move the pages it points into).
static bool
s_head(int get, const MDB_val *k, uint64_t start, uint8_t head[S_KEY - 8])
{
    if (get != 0 || k->mv_size != S_KEY || hub_store_get_be64(k->mv_data) != start) {
        return false;
    }
    memcpy(head, (const uint8_t *) k->mv_data + 8, S_KEY - 8);
    return true;
}

// Writes up to BUDGET entries of the merge: the runs' entries past the
// last one written, smallest (subject, seq) first. When none is left,
// moves the next level's marker to where the last run ends.
static int
s_slice(hub_store_t *self, hub_store_merge_t *m, size_t budget)
{
    MDB_cursor *c[HUB_STORE_FANIN_MAX] = {0};
    uint8_t head[HUB_STORE_FANIN_MAX][S_KEY - 8];
    bool live[HUB_STORE_FANIN_MAX] = {0};
    MDB_dbi src = self->dbi[hub_store_level_db(m->level)];
    hub_store_db_t dst = hub_store_level_db(m->level + 1);
    int rc = HUB_OK;
    for (size_t i = 0; i < m->k && !rc; i++) {
        uint8_t key[S_KEY];
        hub_store_be64(key, m->start[i]);
        memcpy(key + 8, m->bat, sizeof m->bat);
        MDB_val k = {m->bany ? S_KEY : 8, key}, v;
        int mrc = mdb_cursor_open(self->txn, src, &c[i]);
        int get = mrc ? mrc : mdb_cursor_get(c[i], &k, &v, MDB_SET_RANGE);
        live[i] = s_head(get, &k, m->start[i], head[i]);
        if (live[i] && m->bany && memcmp(head[i], m->bat, sizeof m->bat) == 0) {
            get = mdb_cursor_get(c[i], &k, &v, MDB_NEXT); // written by the last slice
            live[i] = s_head(get, &k, m->start[i], head[i]);
        }
        if (mrc) {
            c[i] = NULL;
            rc = hub_store_mdb_err(self, mrc, "mdb_cursor_open subject index");
        } else if (get && get != MDB_NOTFOUND) {
            rc = hub_store_mdb_err(self, get, "mdb_cursor_get subject index");
        }
    }
    uint8_t out[S_KEY];
    hub_store_be64(out, m->start[0]);
    for (size_t n = 0; !rc && n < budget; n++) {
        size_t best = m->k;
        for (size_t i = 0; i < m->k; i++) {
            if (live[i] && (best == m->k || memcmp(head[i], head[best], S_KEY - 8) < 0)) {
                best = i;
            }
        }
        if (best == m->k) {
            break;
        }
        memcpy(m->bat, head[best], sizeof m->bat);
        m->bany = true;
        memcpy(out + 8, m->bat, sizeof m->bat);
        rc = hub_store_put(self, dst, out, sizeof out, "", 0, MDB_APPEND);
        MDB_val k, v;
        int get = rc ? MDB_NOTFOUND : mdb_cursor_get(c[best], &k, &v, MDB_NEXT);
        live[best] = s_head(get, &k, m->start[best], head[best]);
        if (get && get != MDB_NOTFOUND) {
            rc = hub_store_mdb_err(self, get, "mdb_cursor_get subject index");
        }
    }
    bool left = false;
    for (size_t i = 0; i < m->k; i++) {
        left |= live[i];
        // A put that failed broke the batch: aborting it freed the cursors.
        if (c[i] && self->txn) {
            mdb_cursor_close(c[i]);
        }
    }
    if (!rc && !left) {
        rc = hub_store_level_mark(self, self->txn, m->level + 1, m->start[m->k]);
        m->bdone = rc == HUB_OK;
    }
    return rc;
}

int
hub_store_merge_flush(hub_store_t *self, hub_store_merge_t *m, size_t budget)
{
    size_t gone = budget;
    int rc = s_cleanup(self, &gone);
    m->tidy = gone == 0;
    rc = rc || m->level >= 0 || !m->due ? rc : s_choose(self, m);
    rc = rc || m->level < 0 ? rc : s_slice(self, m, budget);
    return rc ? hub_store_fail(self, rc) : HUB_OK;
}

void
hub_store_merge_committed(hub_store_merge_t *m)
{
    if (m->bdone) {
        m->level = -1;
        m->due = true; // the level above may have its FANIN runs now
        m->bdone = m->any = m->bany = false;
        return;
    }
    memcpy(m->at, m->bat, sizeof m->at);
    m->any = m->bany;
}

void
hub_store_merge_rollback(hub_store_merge_t *m)
{
    memcpy(m->bat, m->at, sizeof m->bat);
    m->bany = m->any;
    m->bdone = false;
    // A merge chosen in the batch that did not commit: choose again. Not
    // when none is under way: hub_store_commit() ends in this too, and a
    // merge found not due would be looked for at every commit after it.
    if (!m->any && m->level >= 0) {
        m->level = -1;
        m->due = true;
    }
}

int
hub_store_subject_runs(hub_store_t *self, size_t runs[HUB_STORE_INDEX_LEVELS])
{
    MDB_txn *txn;
    memset(runs, 0, HUB_STORE_INDEX_LEVELS * sizeof runs[0]);
    int rc = hub_store_read_begin(self, &txn);
    if (rc) {
        return rc;
    }
    for (int level = 0; level < HUB_STORE_LEVELS && !rc && self->has_runs; level++) {
        uint64_t hi;
        rc = hub_store_level_runs(self, txn, level, NULL, 0, &runs[level], &hi);
    }
    hub_store_read_end(self);
    return rc;
}
