// hub_store: the dedup window (docs/STORE.md "dedup"). Which (source, id)
// pairs were logged in the last dedup_days is kept twice: in `dedup_seq`,
// keyed by the log seq the pair was logged at, so each commit appends its
// entries at the tree's right-hand edge (a key in no order, as ids made
// from hashes are, would dirty a leaf of its own); and in memory, in an
// open-addressing table from a 64-bit keyed hash of the pair to that log
// seq, loaded from `dedup_seq` when the handle first needs it. A hash that
// matches is checked against the stored pair: a collision is not a
// duplicate. The table follows the batch: its inserts are taken back when
// the batch does not commit, and the purge's removals apply when it does.
#include "hub_error.h"
#include "hub_mpr.h"
#include "hub_store.h"
#include "hub_store_int.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MIGRATE_SLICE 65536u // format-3 entries moved per transaction

typedef struct {
    uint64_t fp;  // the pair's keyed hash (0: an empty slot)
    uint64_t seq; // the log seq it was logged at
} s_slot_t;

typedef struct {
    s_slot_t *v;
    size_t n, cap;
} s_list_t;

struct hub_store_dtab {
    s_slot_t *slots; // CAP slots, a power of two; linear probing
    size_t cap, n;
    uint8_t hkey[crypto_shorthash_KEYBYTES]; // random for each handle
    s_list_t added; // inserted by the open batch: taken out if it does not commit
    s_list_t gone;  // purged by the open batch: taken out when it commits
};

// ---------------------------------------------------------------- the table

static uint64_t
s_fp(const struct hub_store_dtab *t, const char *source, size_t slen, const char *id, size_t idlen)
{
    // SipHash over source "\0" id: keyed, so no publisher can choose ids
    // that pile up in one run of slots.
    // The caller has checked that the pair fits a key (s_parse, apply).
    uint8_t out[crypto_shorthash_BYTES];
    uint8_t buf[HUB_STORE_KEY_MAX];
    memcpy(buf, source, slen);
    buf[slen] = '\0';
    memcpy(buf + slen + 1, id, idlen);
    crypto_shorthash(out, buf, slen + 1 + idlen, t->hkey);
    uint64_t fp;
    memcpy(&fp, out, sizeof fp);
    return fp ? fp : 1;
}

static int
s_list_add(s_list_t *l, uint64_t fp, uint64_t seq)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 256;
        s_slot_t *v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            return HUB_ENOMEM;
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = (s_slot_t){fp, seq};
    return HUB_OK;
}

static void
s_put_slot(struct hub_store_dtab *t, uint64_t fp, uint64_t seq)
{
    size_t mask = t->cap - 1, i = (size_t) fp & mask;
    while (t->slots[i].fp) {
        i = (i + 1) & mask;
    }
    t->slots[i] = (s_slot_t){fp, seq};
    t->n++;
}

// Room for one more entry, the load kept at most 3/4.
static int
s_reserve(struct hub_store_dtab *t)
{
    if (t->cap && 4 * (t->n + 1) <= 3 * t->cap) {
        return HUB_OK;
    }
    size_t cap = t->cap ? 2 * t->cap : 1024;
    s_slot_t *old = t->slots, *fresh = calloc(cap, sizeof *fresh);
    if (!fresh) {
        return HUB_ENOMEM;
    }
    size_t oldcap = t->cap;
    t->slots = fresh;
    t->cap = cap;
    t->n = 0;
    for (size_t i = 0; i < oldcap; i++) {
        if (old[i].fp) {
            s_put_slot(t, old[i].fp, old[i].seq);
        }
    }
    free(old);
    return HUB_OK;
}

// Removes entry (FP, SEQ) if present, shifting the run after it back so
// that no lookup stops short (no tombstones).
static void
s_remove(struct hub_store_dtab *t, uint64_t fp, uint64_t seq)
{
    size_t mask = t->cap - 1, i = (size_t) fp & mask;
    while (t->slots[i].fp && (t->slots[i].fp != fp || t->slots[i].seq != seq)) {
        i = (i + 1) & mask;
    }
    if (!t->slots[i].fp) {
        return;
    }
    for (size_t j = (i + 1) & mask; t->slots[j].fp; j = (j + 1) & mask) {
        size_t home = (size_t) t->slots[j].fp & mask;
        // Entry J may move to the hole at I unless its home lies in (I, J].
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            t->slots[i] = t->slots[j];
            i = j;
        }
    }
    t->slots[i] = (s_slot_t){0, 0};
    t->n--;
}

// ---------------------------------------------------------------- records

// The pair and time of a `dedup_seq` record V.
static int
s_parse(const MDB_val *v, const char **source, size_t *slen, const char **id, size_t *idlen,
        uint64_t *received_ms)
{
    static const char *const keys[] = {"id", "received_ms", "source"};
    hub_mpr_t r, vals[3];
    hub_mpr_init(&r, v->mv_data, v->mv_size);
    if (hub_mpr_pick(&r, keys, 3, vals) != 7 || hub_mpr_str(&vals[0], id, idlen) ||
        hub_mpr_uint(&vals[1], received_ms) || hub_mpr_str(&vals[2], source, slen)) {
        return HUB_EIO;
    }
    return *slen + 1 + *idlen > HUB_STORE_KEY_MAX ? HUB_EIO : HUB_OK;
}

static int
s_damaged(hub_store_t *self, const MDB_val *k)
{
    snprintf(self->err, sizeof self->err, "dedup_seq %llu: a damaged record",
             (unsigned long long) (k->mv_size == 8 ? hub_store_get_be64(k->mv_data) : 0));
    return HUB_EIO;
}

// The record of (SOURCE, ID) received at NOW_MS into SELF->rec.
static int
s_record(hub_store_t *self, const char *source, const char *id, uint64_t now_ms)
{
    hub_mpw_t w;
    self->rec.len = 0;
    hub_mpw_init(&w, &self->rec);
    hub_mpw_map(&w, 3);
    hub_mpw_cstr(&w, "id");
    hub_mpw_cstr(&w, id);
    hub_mpw_cstr(&w, "received_ms");
    hub_mpw_uint(&w, now_ms);
    hub_mpw_cstr(&w, "source");
    hub_mpw_cstr(&w, source);
    return hub_mpw_error(&w);
}

// ---------------------------------------------------------------- loading

// The table, loaded from `dedup_seq` in the open batch before anything in
// it wrote there (claims and the purge call this first), so it reads the
// committed state. Not the handle's read transaction: another thread may
// be using it.
static int
s_table(hub_store_t *self, struct hub_store_dtab **out)
{
    if (self->dtab) {
        *out = self->dtab;
        return HUB_OK;
    }
    struct hub_store_dtab *t = calloc(1, sizeof *t);
    MDB_cursor *c = NULL;
    int rc = t ? HUB_OK : HUB_ENOMEM;
    if (!rc) {
        randombytes_buf(t->hkey, sizeof t->hkey);
        rc = hub_store_mdb_err(self,
                               mdb_cursor_open(self->txn, self->dbi[HUB_STORE_DB_DEDUP_SEQ], &c),
                               "mdb_cursor_open dedup_seq");
    }
    MDB_val k, v;
    int mrc = rc ? MDB_NOTFOUND : mdb_cursor_get(c, &k, &v, MDB_FIRST);
    for (; !rc && mrc == 0; mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        const char *source, *id;
        size_t slen, idlen;
        uint64_t when;
        rc = k.mv_size != 8 || s_parse(&v, &source, &slen, &id, &idlen, &when) ? s_damaged(self, &k)
                                                                               : s_reserve(t);
        if (!rc) {
            s_put_slot(t, s_fp(t, source, slen, id, idlen), hub_store_get_be64(k.mv_data));
        }
    }
    if (!rc && mrc != MDB_NOTFOUND) {
        rc = hub_store_mdb_err(self, mrc, "mdb_cursor_get dedup_seq");
    }
    mdb_cursor_close(c);
    if (rc) {
        self->dtab = t;
        hub_store_dedup_free(self);
        return hub_store_fail(self, rc);
    }
    *out = self->dtab = t;
    return HUB_OK;
}

int
hub_store_dedup_load(hub_store_t *self)
{
    bool own = !self->in_batch;
    int rc = own ? hub_store_begin(self) : hub_store_batch_ok(self);
    struct hub_store_dtab *t;
    rc = rc ? rc : s_table(self, &t);
    if (own) {
        hub_store_abort(self); // it wrote nothing
    }
    return rc;
}

// ---------------------------------------------------------------- claims

// Whether log seq SEQ's record names (SOURCE, ID): a matching hash's check.
static int
s_same(hub_store_t *self, uint64_t seq, const char *source, const char *id, bool *same)
{
    uint8_t key[8];
    hub_store_be64(key, seq);
    MDB_val k = {8, key}, v;
    int mrc = mdb_get(self->txn, self->dbi[HUB_STORE_DB_DEDUP_SEQ], &k, &v);
    *same = false;
    if (mrc == MDB_NOTFOUND) {
        return HUB_OK; // purged by another handle meanwhile: not there
    }
    if (mrc) {
        return hub_store_mdb_err(self, mrc, "mdb_get dedup_seq");
    }
    const char *s, *i;
    size_t slen, ilen;
    uint64_t when;
    if (s_parse(&v, &s, &slen, &i, &ilen, &when)) {
        return s_damaged(self, &k);
    }
    *same = slen == strlen(source) && ilen == strlen(id) && memcmp(s, source, slen) == 0 &&
            memcmp(i, id, ilen) == 0;
    return HUB_OK;
}

int
hub_store_dedup_claim(hub_store_t *self, const char *source, const char *id, uint64_t seq,
                      uint64_t now_ms, uint64_t *first)
{
    struct hub_store_dtab *t;
    *first = 0;
    int rc = s_table(self, &t);
    if (rc) {
        return rc;
    }
    uint64_t fp = s_fp(t, source, strlen(source), id, strlen(id));
    for (size_t mask = t->cap - 1, i = t->cap ? (size_t) fp & mask : 0; t->cap && t->slots[i].fp;
         i = (i + 1) & mask) {
        bool same = false;
        if (t->slots[i].fp == fp && (rc = s_same(self, t->slots[i].seq, source, id, &same))) {
            return hub_store_fail(self, rc);
        }
        if (same) {
            *first = t->slots[i].seq;
            return HUB_OK;
        }
    }
    uint8_t key[8];
    hub_store_be64(key, seq);
    rc = s_record(self, source, id, now_ms);
    rc = rc ? hub_store_fail(self, rc)
            : hub_store_put(self, HUB_STORE_DB_DEDUP_SEQ, key, sizeof key, self->rec.data,
                            self->rec.len, MDB_APPEND);
    rc = rc ? rc : s_reserve(t);
    rc = rc ? rc : s_list_add(&t->added, fp, seq);
    if (rc) {
        return hub_store_fail(self, rc);
    }
    s_put_slot(t, fp, seq);
    return HUB_OK;
}

void
hub_store_dedup_committed(hub_store_t *self)
{
    struct hub_store_dtab *t = self->dtab;
    if (t) {
        for (size_t i = 0; i < t->gone.n; i++) {
            s_remove(t, t->gone.v[i].fp, t->gone.v[i].seq);
        }
        t->added.n = t->gone.n = 0;
    }
}

void
hub_store_dedup_rollback(hub_store_t *self)
{
    struct hub_store_dtab *t = self->dtab;
    if (t) {
        for (size_t i = t->added.n; i > 0; i--) {
            s_remove(t, t->added.v[i - 1].fp, t->added.v[i - 1].seq);
        }
        t->added.n = t->gone.n = 0;
    }
}

void
hub_store_dedup_free(hub_store_t *self)
{
    struct hub_store_dtab *t = self->dtab;
    if (t) {
        free(t->slots);
        free(t->added.v);
        free(t->gone.v);
        free(t);
        self->dtab = NULL;
    }
}

size_t
hub_store_dedup_size(const hub_store_t *self)
{
    return self->dtab ? self->dtab->n : 0;
}

// ---------------------------------------------------------------- the purge

int
hub_store_dedup_purge(hub_store_t *self, uint64_t older_than_ms, size_t max, size_t *purged,
                      bool *more)
{
    struct hub_store_dtab *t;
    *purged = 0;
    *more = false;
    int rc = hub_store_batch_ok(self);
    rc = rc ? rc : s_table(self, &t);
    MDB_cursor *c;
    if (rc || (rc = hub_store_mdb_err(
                   self, mdb_cursor_open(self->txn, self->dbi[HUB_STORE_DB_DEDUP_SEQ], &c),
                   "mdb_cursor_open dedup_seq"))) {
        return hub_store_fail(self, rc);
    }
    // In arrival order: from the oldest, while older than the window.
    MDB_val k, v;
    int mrc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
    for (; !rc && mrc == 0; mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        const char *source, *id;
        size_t slen, idlen;
        uint64_t when;
        if (k.mv_size != 8 || s_parse(&v, &source, &slen, &id, &idlen, &when)) {
            rc = s_damaged(self, &k);
        } else if (when >= older_than_ms || (*more = *purged == max)) {
            break;
        } else {
            rc = s_list_add(&t->gone, s_fp(t, source, slen, id, idlen),
                            hub_store_get_be64(k.mv_data));
            mrc = rc ? 0 : mdb_cursor_del(c, 0);
            *purged += !rc && mrc == 0;
        }
        // After a delete LMDB's MDB_NEXT yields the entry that took the
        // deleted one's place, without skipping it.
        if (!rc && mrc) {
            break;
        }
    }
    mdb_cursor_close(c);
    if (!rc && mrc && mrc != MDB_NOTFOUND) {
        rc = hub_store_mdb_err(self, mrc, "dedup purge");
    }
    return rc ? hub_store_fail(self, rc) : HUB_OK;
}

// ---------------------------------------------------------------- format 3

// Moves up to S_MIGRATE_SLICE of the `dedup` DB's (source, id) entries to
// `dedup_seq` in TXN; *LEFT whether any remain. Event entries stay.
static int
s_migrate_slice(hub_store_t *self, MDB_txn *txn, bool *left)
{
    MDB_cursor *c;
    int rc = hub_store_mdb_err(self, mdb_cursor_open(txn, self->dbi[HUB_STORE_DB_DEDUP], &c),
                               "mdb_cursor_open dedup");
    MDB_val k, v;
    // Event entries (0x01 ...) sort first: start after them.
    uint8_t after = HUB_STORE_EVENT_KEY + 1;
    MDB_val from = {1, &after};
    k = from;
    int mrc = rc ? MDB_NOTFOUND : mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    for (size_t moved = 0; !rc && mrc == 0 && moved < S_MIGRATE_SLICE; moved++) {
        const uint8_t *z = memchr(k.mv_data, 0, k.mv_size);
        uint64_t seq = 0, when = 0;
        if (!z || hub_mpr_get_uint(v.mv_data, v.mv_size, "log_seq", &seq) ||
            hub_mpr_get_uint(v.mv_data, v.mv_size, "received_ms", &when) || !seq) {
            snprintf(self->err, sizeof self->err, "dedup: a damaged record");
            rc = HUB_EIO;
            break;
        }
        char source[HUB_STORE_KEY_MAX + 1], id[HUB_STORE_KEY_MAX + 1];
        size_t slen = (size_t) (z - (const uint8_t *) k.mv_data);
        memcpy(source, k.mv_data, slen + 1);
        memcpy(id, z + 1, k.mv_size - slen - 1);
        id[k.mv_size - slen - 1] = '\0';
        uint8_t key[8];
        hub_store_be64(key, seq);
        rc = s_record(self, source, id, when);
        MDB_val nk = {8, key}, nv = {self->rec.len, self->rec.data};
        rc = rc ? rc
                : hub_store_mdb_err(self,
                                    mdb_put(txn, self->dbi[HUB_STORE_DB_DEDUP_SEQ], &nk, &nv, 0),
                                    "mdb_put dedup_seq");
        rc = rc ? rc : hub_store_mdb_err(self, mdb_cursor_del(c, 0), "mdb_cursor_del dedup");
        mrc = rc ? 0 : mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(c);
    *left = !rc && mrc == 0;
    return rc ? rc : mrc && mrc != MDB_NOTFOUND ? hub_store_mdb_err(self, mrc, "dedup") : HUB_OK;
}

int
hub_store_dedup_migrate(hub_store_t *self)
{
    for (bool left = true; left;) {
        MDB_txn *txn;
        int rc = hub_store_mdb_err(self, mdb_txn_begin(self->env, NULL, 0, &txn), "mdb_txn_begin");
        if (rc) {
            return rc;
        }
        rc = s_migrate_slice(self, txn, &left);
        if (rc) {
            mdb_txn_abort(txn);
            return rc;
        }
        if ((rc = hub_store_mdb_err(self, mdb_txn_commit(txn), "mdb_txn_commit"))) {
            return rc;
        }
    }
    return HUB_OK;
}
