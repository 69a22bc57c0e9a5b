// hub_store: the environment, its transactions and LMDB's errors. Ingest,
// queues and cursors are in hub_store_ingest.c, the audit chain in
// hub_store_audit.c; the record formats are docs/STORE.md.
#include "hub_store.h"

#include "hub_dir.h"
#include "hub_error.h"
#include "hub_mpr.h"
#include "hub_store_int.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define S_FORMAT 6 // meta "format": the record layout this code writes
#define S_FORMAT_OLD                                                                               \
    2               // formats from here up are read; a writable open upgrades them
                    // (format 3's dedup entries move to dedup_seq, the rest stays;
                    // format 4's audit_subject stays, runs index what follows)
#define S_MAXDBS 32 // room for databases later versions may add

static const char *const s_db_names[HUB_STORE_DB_COUNT] = {
    "log",           "dedup",       "queue",       "endpoint",    "audit",
    "audit_subject", "dead",        "meta",        "oplog",       "rulesets",
    "checkpoint",    "disclosure",  "dedup_seq",   "audit_runs",  "audit_tail",
    "lists",         "audit_runs1", "audit_runs2", "audit_runs3",
};

void
hub_store_be64(uint8_t out[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (uint8_t) v;
        v >>= 8;
    }
}

uint64_t
hub_store_get_be64(const uint8_t in[8])
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        v = v << 8 | in[i];
    }
    return v;
}

// Below this much free space on the store's file system, a failed write
// is taken for a full disk.
#define S_ROOM_MIN (16u << 20)

// Whether the store's file cannot grow: a file size limit (ulimit -f) it
// has reached, or a file system with next to no room left. Says which in
// the handle's error text, after WHAT.
static bool
s_no_room(hub_store_t *self, const char *what)
{
    int fd;
    struct stat st;
    struct statvfs vfs;
    struct rlimit rl;
    if (mdb_env_get_fd(self->env, &fd) != 0 || fstat(fd, &st) != 0) {
        return false;
    }
    if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        (uint64_t) st.st_size + 4096 > (uint64_t) rl.rlim_cur) {
        snprintf(self->err, sizeof self->err,
                 "%s: the store's file (%llu bytes) reached the file size limit (ulimit -f)", what,
                 (unsigned long long) st.st_size);
        self->full_cause = 1;
        return true;
    }
    if (fstatvfs(fd, &vfs) != 0) {
        return false;
    }
    // root may write into the blocks reserved for it; others may not.
    uint64_t avail = (uint64_t) (geteuid() == 0 ? vfs.f_bfree : vfs.f_bavail) * vfs.f_frsize;
    if (avail >= S_ROOM_MIN) {
        return false;
    }
    snprintf(self->err, sizeof self->err, "%s: the disk is full (%llu bytes free)", what,
             (unsigned long long) avail);
    self->full_cause = 2;
    return true;
}

int
hub_store_mdb_err(hub_store_t *self, int mrc, const char *what)
{
    if (mrc == 0) {
        return HUB_OK;
    }
    snprintf(self->err, sizeof self->err, "%s: %s", what, mdb_strerror(mrc));
    // LMDB says EIO for a short write, which is how a full disk, a quota
    // or a file size limit shows when a commit grows the file.
    if (mrc == EIO && s_no_room(self, what)) {
        return HUB_EFULL;
    }
    self->full_cause = mrc == MDB_MAP_FULL ? 0 : mrc == EFBIG ? 1 : 2;
    switch (mrc) {
    case MDB_PANIC:
        // LMDB gave up on the environment (a meta page it could not write):
        // every later transaction fails the same way until it is reopened.
        self->panicked = true;
        return HUB_EIO;
    case MDB_MAP_FULL:
    // The disk is full, or a quota or file size limit is reached: like a
    // full map, the batch is refused ("store_full": resend later), the
    // store stays as the last commit left it, and the next batch succeeds
    // once there is room. Only the file growing fails so (pages past its
    // end); the meta pages a commit rewrites lie within it.
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
        return HUB_EFULL;
    case MDB_NOTFOUND:
        return HUB_ENOTFOUND;
    case MDB_TXN_FULL: // too many pages changed in one batch: commit smaller ones
        return HUB_ELIMIT;
    case MDB_BAD_VALSIZE: // a key longer than LMDB allows (checked before, normally)
        return HUB_EINVAL;
    case ENOMEM:
        return HUB_ENOMEM;
    default:
        return HUB_EIO;
    }
}

const char *
hub_store_full_remedy(const hub_store_t *self)
{
    static const char *const say[] = {"raise store_map_size in hub.yaml",
                                      "raise the file size limit (ulimit -f) of the store's user",
                                      "free space on the store's disk"};
    return say[self && self->full_cause >= 0 && self->full_cause <= 2 ? self->full_cause : 0];
}

bool
hub_store_panicked(const hub_store_t *self)
{
    return self->panicked;
}

const char *
hub_store_last_error(const hub_store_t *self)
{
    return self->err;
}

// Begins a transaction; when another process grew the map (a writer after
// "store full"), adopts the new size and tries again.
static int
s_txn_begin(hub_store_t *self, unsigned flags, MDB_txn **txn)
{
    int mrc = mdb_txn_begin(self->env, NULL, flags, txn);
    if (mrc == MDB_MAP_RESIZED) {
        mrc = mdb_env_set_mapsize(self->env, 0);
        mrc = mrc ? mrc : mdb_txn_begin(self->env, NULL, flags, txn);
    }
    return mrc;
}

int
hub_store_read_begin(hub_store_t *self, MDB_txn **txn)
{
    // MDB_NOTLS lets this read transaction live beside the thread's open
    // write batch, and a reset one is renewed without taking a new slot.
    if (self->rtxn && mdb_txn_renew(self->rtxn) != 0) {
        mdb_txn_abort(self->rtxn);
        self->rtxn = NULL;
    }
    if (!self->rtxn) {
        int mrc = s_txn_begin(self, MDB_RDONLY, &self->rtxn);
        if (mrc) {
            self->rtxn = NULL;
            return hub_store_mdb_err(self, mrc, "mdb_txn_begin (read)");
        }
    }
    *txn = self->rtxn;
    return HUB_OK;
}

void
hub_store_read_end(hub_store_t *self)
{
    if (self->rtxn) {
        mdb_txn_reset(self->rtxn);
    }
}

int
hub_store_get(hub_store_t *self, MDB_txn *txn, hub_store_db_t db, const void *key, size_t klen,
              MDB_val *val)
{
    MDB_val k = {klen, (void *) key};
    if (db == HUB_STORE_DB_ENDPOINT && self->nepc && txn == self->txn) {
        int rc = hub_store_epc_flush(self);
        if (rc) {
            return rc;
        }
    }
    int mrc = mdb_get(txn, self->dbi[db], &k, val);
    if (mrc == MDB_NOTFOUND) {
        return HUB_ENOTFOUND; // the common case of a dedup miss: no text to format
    }
    if (mrc) {
        char what[48];
        snprintf(what, sizeof what, "mdb_get %s", s_db_names[db]);
        return hub_store_mdb_err(self, mrc, what);
    }
    return HUB_OK;
}

int
hub_store_fail(hub_store_t *self, int rc)
{
    if (self->in_batch && rc != HUB_OK) {
        if (self->txn) {
            mdb_txn_abort(self->txn);
            self->txn = NULL;
            self->nepc = 0;
            hub_store_disc_forget(self, false);
            hub_store_dedup_rollback(self);
            hub_store_runs_rollback(self);
        }
        if (!self->failed) {
            self->failed = rc;
        }
    }
    return rc;
}

int
hub_store_batch_ok(const hub_store_t *self)
{
    if (!self->in_batch) {
        return HUB_EINVAL;
    }
    return self->failed;
}

int
hub_store_put(hub_store_t *self, hub_store_db_t db, const void *key, size_t klen, const void *val,
              size_t vlen, unsigned flags)
{
    MDB_val k = {klen, (void *) key}, v = {vlen, (void *) val};
    if (db == HUB_STORE_DB_ENDPOINT && self->nepc) {
        int rc = hub_store_epc_flush(self);
        if (rc) {
            return rc;
        }
    }
    int mrc = mdb_put(self->txn, self->dbi[db], &k, &v, flags);
    if (mrc) {
        char what[48];
        snprintf(what, sizeof what, "mdb_put %s", s_db_names[db]);
        return hub_store_fail(self, hub_store_mdb_err(self, mrc, what));
    }
    return HUB_OK;
}

int
hub_store_del(hub_store_t *self, hub_store_db_t db, const void *key, size_t klen)
{
    MDB_val k = {klen, (void *) key};
    if (db == HUB_STORE_DB_ENDPOINT && self->nepc) {
        int rc = hub_store_epc_flush(self);
        if (rc) {
            return rc;
        }
    }
    int mrc = mdb_del(self->txn, self->dbi[db], &k, NULL);
    if (mrc == MDB_NOTFOUND) {
        return HUB_ENOTFOUND;
    }
    if (mrc) {
        char what[48];
        snprintf(what, sizeof what, "mdb_del %s", s_db_names[db]);
        return hub_store_fail(self, hub_store_mdb_err(self, mrc, what));
    }
    return HUB_OK;
}

int
hub_store_last_in(hub_store_t *self, MDB_txn *txn, hub_store_db_t db, uint64_t *seq)
{
    MDB_cursor *c;
    MDB_val k, v;
    int mrc = mdb_cursor_open(txn, self->dbi[db], &c);
    if (mrc) {
        return hub_store_mdb_err(self, mrc, "mdb_cursor_open");
    }
    mrc = mdb_cursor_get(c, &k, &v, MDB_LAST);
    mdb_cursor_close(c);
    *seq = 0;
    if (mrc == MDB_NOTFOUND) {
        return HUB_OK;
    }
    if (mrc) {
        return hub_store_mdb_err(self, mrc, "mdb_cursor_get (last)");
    }
    if (k.mv_size != 8) {
        snprintf(self->err, sizeof self->err, "%s: a key is not a sequence number", s_db_names[db]);
        return HUB_EIO;
    }
    *seq = hub_store_get_be64(k.mv_data);
    return HUB_OK;
}

// ---------------------------------------------------------------- opening

static int
s_dir(const char *path, bool rdonly, hub_diag_t *diag)
{
    struct stat st;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            return HUB_OK;
        }
        hub_diag_add(diag, HUB_DIAG_ERROR, "io", path, "the store must be a directory");
        return HUB_EIO;
    }
    if (errno == ENOENT && rdonly) {
        hub_diag_add(diag, HUB_DIAG_ERROR, "io", path, "no store here (nothing was created)");
        return HUB_EIO;
    }
    // Made durable in its parent before anything is written in it.
    if (errno != ENOENT || hub_dir_make(path, 0700, NULL) != HUB_OK) {
        hub_diag_add(diag, HUB_DIAG_ERROR, "io", path, "cannot create the store directory: %s",
                     strerror(errno));
        return HUB_EIO;
    }
    return HUB_OK;
}

// Rounds SIZE up to whole pages, as LMDB wants its map.
static size_t
s_map_size(size_t size)
{
    long page = sysconf(_SC_PAGESIZE);
    size_t p = page > 0 ? (size_t) page : 4096;
    size = size ? size : HUB_STORE_MAP_DEFAULT;
    return size % p ? size + (p - size % p) : size;
}

static int
s_env_open(hub_store_t *self, const char *path, size_t map_size, hub_diag_t *diag)
{
    bool ro = self->flags & HUB_STORE_RDONLY;
    int mrc = mdb_env_create(&self->env);
    if (mrc) {
        self->env = NULL;
    }
    mrc = mrc ? mrc : mdb_env_set_maxdbs(self->env, S_MAXDBS);
    mrc = mrc ? mrc : mdb_env_set_mapsize(self->env, s_map_size(map_size));
    // Default LMDB durability: every commit is fsync'd (no MDB_NOSYNC,
    // MDB_NOMETASYNC or MDB_WRITEMAP), so an acknowledged batch survives
    // a power cut. MDB_NOTLS: see hub_store_read_begin().
    // MDB_NORDAHEAD for readers: an auditor's lookups are random reads in
    // a store much larger than memory, where readahead only evicts useful
    // pages (one subject among ten million records: ~35 ms -> ~0.8 ms cold).
    mrc = mrc ? mrc
              : mdb_env_open(self->env, path, MDB_NOTLS | (ro ? MDB_RDONLY | MDB_NORDAHEAD : 0),
                             0600);
    if (mrc) {
        int rc = hub_store_mdb_err(self, mrc, "mdb_env_open");
        hub_diag_add(diag, HUB_DIAG_ERROR, "io", path, "cannot open the store: %s",
                     mdb_strerror(mrc));
        return rc == HUB_ENOMEM ? rc : HUB_EIO;
    }
    if (!ro) {
        int stale;
        mdb_reader_check(self->env, &stale); // slots of crashed readers
    }
    return HUB_OK;
}

// Checks (reader) or records (new writable store) meta "format".
static int
s_format(hub_store_t *self, MDB_txn *txn, hub_diag_t *diag, const char *path)
{
    static const char key[] = "format";
    MDB_val v;
    int rc = hub_store_get(self, txn, HUB_STORE_DB_META, key, sizeof key - 1, &v);
    uint64_t have = S_FORMAT;
    if (rc == HUB_OK) {
        hub_mpr_t r;
        hub_mpr_init(&r, v.mv_data, v.mv_size);
        have = hub_mpr_uint(&r, &have) ? 0 : have;
    }
    if (rc == HUB_OK && (have > S_FORMAT || have < S_FORMAT_OLD)) {
        hub_diag_add(diag, HUB_DIAG_ERROR, "store_format", path,
                     "the store's format is %llu; this hub reads formats %d to %d",
                     (unsigned long long) have, S_FORMAT_OLD, S_FORMAT);
        return HUB_ECONFIG;
    }
    // A new store, or an older one (whose records stay as they are: readers
    // take every layout; hub_store_dedup_migrate() moves format 3's dedup
    // entries), gets this format when opened to write.
    if ((rc == HUB_ENOTFOUND || have != S_FORMAT) && !(self->flags & HUB_STORE_RDONLY)) {
        uint8_t one = S_FORMAT; // a positive fixint is its own msgpack
        MDB_val k = {sizeof key - 1, (void *) key}, val = {1, &one};
        return hub_store_mdb_err(self, mdb_put(txn, self->dbi[HUB_STORE_DB_META], &k, &val, 0),
                                 "mdb_put meta");
    }
    return rc == HUB_ENOTFOUND ? HUB_OK : rc;
}

// Reads (or, in a new store, records) meta "subject_hash": how subject
// keys are made. Stores begun with format 3 use keyed BLAKE2b-256; those
// begun earlier keep HMAC-SHA256, so their index stays searchable.
static int
s_subject_hash(hub_store_t *self, MDB_txn *txn, bool fresh)
{
    static const char key[] = "subject_hash", b2[] = "\xab"
                                                     "blake2b-256"; // a fixstr of 11
    MDB_val v;
    if (fresh && !(self->flags & HUB_STORE_RDONLY)) {
        MDB_val k = {sizeof key - 1, (void *) key}, val = {sizeof b2 - 1, (void *) b2};
        self->subject_b2 = true;
        return hub_store_mdb_err(self, mdb_put(txn, self->dbi[HUB_STORE_DB_META], &k, &val, 0),
                                 "mdb_put meta");
    }
    int rc = hub_store_get(self, txn, HUB_STORE_DB_META, key, sizeof key - 1, &v);
    self->subject_b2 =
        rc == HUB_OK && v.mv_size == sizeof b2 - 1 && memcmp(v.mv_data, b2, v.mv_size) == 0;
    return rc == HUB_ENOTFOUND ? HUB_OK : rc;
}

// Opens (creates, when writable) the databases; *FRESH: the store is new.
static int
s_dbs_open(hub_store_t *self, const char *path, bool *fresh, hub_diag_t *diag)
{
    bool ro = self->flags & HUB_STORE_RDONLY;
    MDB_txn *txn;
    int mrc = s_txn_begin(self, ro ? MDB_RDONLY : 0, &txn);
    if (mrc) {
        int rc = hub_store_mdb_err(self, mrc, "mdb_txn_begin");
        hub_diag_add(diag, HUB_DIAG_ERROR, "io", path, "%s", self->err);
        return rc == HUB_ENOMEM ? rc : HUB_EIO;
    }
    int rc = HUB_OK;
    unsigned found = 0, runs = 1u << HUB_STORE_DB_RUNS | 1u << HUB_STORE_DB_TAIL;
    for (int i = 0; i < HUB_STORE_DB_COUNT && !rc; i++) {
        mrc = mdb_dbi_open(txn, s_db_names[i], ro ? 0 : MDB_CREATE, &self->dbi[i]);
        if (mrc == MDB_NOTFOUND &&
            (i == HUB_STORE_DB_DISCLOSURE || i == HUB_STORE_DB_DEDUP_SEQ ||
             i == HUB_STORE_DB_RUNS || i == HUB_STORE_DB_TAIL || i == HUB_STORE_DB_LISTS ||
             i == HUB_STORE_DB_RUNS1 || i == HUB_STORE_DB_RUNS2 || i == HUB_STORE_DB_RUNS3)) {
            continue; // an older store, opened to read: nothing refers to one
        }
        self->has_disc |= i == HUB_STORE_DB_DISCLOSURE && mrc == 0;
        self->has_lists |= i == HUB_STORE_DB_LISTS && mrc == 0;
        found |= mrc == 0 ? 1u << i : 0;
        if (mrc) {
            hub_store_mdb_err(self, mrc, "mdb_dbi_open");
            hub_diag_add(diag, HUB_DIAG_ERROR, "io", path, "database '%s': %s%s", s_db_names[i],
                         mdb_strerror(mrc), mrc == MDB_NOTFOUND ? " (not a hub store?)" : "");
            rc = HUB_EIO;
        }
    }
    self->has_runs = (found & runs) == runs; // format 5
    self->levels = self->has_runs ? 1u : 0u;
    for (int level = 1; level < HUB_STORE_LEVELS; level++) {
        self->levels |= found & 1u << hub_store_level_db(level) ? 1u << level : 0u; // format 6
    }
    // A store is new when it has no format yet.
    MDB_val fv;
    *fresh = hub_store_get(self, txn, HUB_STORE_DB_META, "format", 6, &fv) == HUB_ENOTFOUND;
    rc = rc ? rc : s_format(self, txn, diag, path);
    rc = rc ? rc : s_subject_hash(self, txn, *fresh);
    if (!rc && !ro &&
        ((rc = hub_store_id_ensure(self, txn)) != HUB_OK ||
         (rc = hub_store_runs_init(self, txn)) != HUB_OK)) {
        hub_diag_add(diag, HUB_DIAG_ERROR, "io", path, "%s", self->err);
    }
    if (rc) {
        mdb_txn_abort(txn);
        return rc;
    }
    // A read-only transaction is committed too: that keeps the handles.
    rc = hub_store_mdb_err(self, mdb_txn_commit(txn), "mdb_txn_commit");
    if (rc) {
        hub_diag_add(diag, HUB_DIAG_ERROR, "io", path, "%s", self->err);
    }
    return rc;
}

int
hub_store_open(hub_store_t **out, const char *path, size_t map_size, unsigned flags,
               const uint8_t *key, hub_diag_t *diag)
{
    *out = NULL;
    bool ro = flags & HUB_STORE_RDONLY;
    if (!path || (flags & ~(unsigned) HUB_STORE_RDONLY)) {
        return HUB_EINVAL;
    }
    if (!ro && !key) {
        hub_diag_add(diag, HUB_DIAG_ERROR, "usage", path, "a writable store needs its key");
        return HUB_EINVAL;
    }
    if (map_size && map_size < HUB_STORE_MAP_MIN) {
        hub_diag_add(diag, HUB_DIAG_ERROR, "map_size", path,
                     "map size %zu is below the minimum %zu bytes", map_size, HUB_STORE_MAP_MIN);
        return HUB_ECONFIG;
    }
    if (sodium_init() < 0) {
        hub_diag_add(diag, HUB_DIAG_ERROR, "io", path, "libsodium cannot start");
        return HUB_EIO;
    }
    hub_store_t *self = calloc(1, sizeof *self);
    if (!self) {
        return HUB_ENOMEM;
    }
    self->flags = flags;
    self->cache.fd = -1;
    if (key) {
        memcpy(self->key, key, HUB_STORE_HASH_SIZE);
        self->has_key = true;
    }
    bool fresh = false;
    int rc = s_dir(path, ro, diag);
    rc = rc ? rc : s_env_open(self, path, map_size, diag);
    rc = rc ? rc : s_dbs_open(self, path, &fresh, diag);
    // A new store: LMDB has made its files, and the first commit synced
    // what is in them; their names are durable once the directory is.
    if (!rc && fresh && !ro && hub_dir_sync(path) != HUB_OK) {
        hub_diag_add(diag, HUB_DIAG_ERROR, "io", path, "cannot fsync the new store's directory: %s",
                     strerror(errno));
        rc = HUB_EIO;
    }
    if (rc) {
        hub_store_destroy(&self);
        return rc;
    }
    if (!ro && (rc = hub_store_dedup_migrate(self)) != HUB_OK) {
        hub_diag_add(diag, HUB_DIAG_ERROR, "io", path, "moving the dedup entries: %s", self->err);
        hub_store_destroy(&self);
        return rc;
    }
    if (!ro) {
        hub_store_cache_open(self, path);
    }
    self->err[0] = '\0';
    *out = self;
    return HUB_OK;
}

void
hub_store_destroy(hub_store_t **self_p)
{
    hub_store_t *self = *self_p;
    if (!self) {
        return;
    }
    hub_store_abort(self);
    hub_store_disc_forget(self, true);
    hub_store_disc_rcache_free(self);
    hub_buf_free(&self->prepared);
    hub_store_prep_destroy(&self->prep);
    if (self->rtxn) {
        mdb_txn_abort(self->rtxn);
    }
    hub_store_cache_close(self);
    hub_store_dedup_free(self);
    hub_store_runs_free(self);
    if (self->env) {
        mdb_env_close(self->env);
    }
    hub_buf_free(&self->rec);
    hub_buf_free(&self->enc);
    hub_buf_free(&self->aux);
    hub_buf_free(&self->out);
    sodium_memzero(self->key, sizeof self->key);
    free(self);
    *self_p = NULL;
}

int
hub_store_set_map_size(hub_store_t *self, size_t map_size)
{
    if (self->in_batch) {
        return HUB_EINVAL;
    }
    if (map_size && map_size < HUB_STORE_MAP_MIN) {
        return HUB_ECONFIG;
    }
    return hub_store_mdb_err(self, mdb_env_set_mapsize(self->env, s_map_size(map_size)),
                             "mdb_env_set_mapsize");
}

// ---------------------------------------------------------------- batches

int
hub_store_begin(hub_store_t *self)
{
    if ((self->flags & HUB_STORE_RDONLY) || self->in_batch) {
        return HUB_EINVAL;
    }
    int rc = hub_store_mdb_err(self, s_txn_begin(self, 0, &self->txn), "mdb_txn_begin");
    if (rc) {
        self->txn = NULL;
        return rc;
    }
    // The batch's sequences come from the committed state, read once.
    uint64_t audit;
    rc = hub_store_last_in(self, self->txn, HUB_STORE_DB_LOG, &self->next_log);
    rc = rc ? rc : hub_store_last_in(self, self->txn, HUB_STORE_DB_DEAD, &self->next_dead);
    rc = rc ? rc : hub_store_dead_high(self, self->txn, &self->next_dead);
    rc = rc ? rc : hub_store_audit_head(self, self->txn, &audit, self->head);
    if (rc) {
        mdb_txn_abort(self->txn);
        self->txn = NULL;
        return rc;
    }
    self->next_log++;
    self->next_dead++;
    self->next_audit = audit + 1;
    self->head_dirty = false;
    self->nepc = 0;
    self->failed = HUB_OK;
    self->in_batch = true;
    return HUB_OK;
}

int
hub_store_commit(hub_store_t *self)
{
    int rc = hub_store_batch_ok(self);
    rc = rc ? rc : hub_store_epc_flush(self);
    if (!rc && self->head_dirty) {
        rc = hub_store_audit_put_head(self);
    }
    rc = rc ? rc : hub_store_runs_flush(self);
    if (!rc) {
        // The fsync happens here: only after it returns may the caller ack.
        rc = hub_store_mdb_err(self, mdb_txn_commit(self->txn), "mdb_txn_commit");
        self->txn = NULL; // freed by LMDB whatever the outcome
        if (rc) {
            hub_store_disc_forget(self, false); // what the batch wrote is not there
            hub_store_runs_free(self);          // or is, for all we know: read again
        } else {
            hub_store_cache_note(self);
            hub_store_dedup_committed(self);
            hub_store_runs_committed(self);
        }
    }
    if (self->in_batch) {
        hub_store_abort(self);
    }
    return rc;
}

void
hub_store_abort(hub_store_t *self)
{
    if (self->txn) {
        mdb_txn_abort(self->txn);
        self->txn = NULL;
        hub_store_disc_forget(self, false);
    }
    hub_store_dedup_rollback(self); // after a commit: nothing left to take back
    hub_store_runs_rollback(self);
    self->nepc = 0;
    self->in_batch = false;
    self->failed = HUB_OK;
}

// ---------------------------------------------------------------- reading

static const hub_store_db_t s_seqdbs[] = {HUB_STORE_DB_LOG,      HUB_STORE_DB_AUDIT,
                                          HUB_STORE_DB_DEAD,     HUB_STORE_DB_OPLOG,
                                          HUB_STORE_DB_RULESETS, HUB_STORE_DB_CHECKPOINT};

static int
s_record(hub_store_t *self, hub_store_seqdb_t db, uint64_t seq, bool expand, const void **rec,
         size_t *len)
{
    if ((unsigned) db > HUB_STORE_CHECKPOINT) {
        return HUB_EINVAL;
    }
    MDB_txn *txn;
    MDB_val v;
    uint8_t key[8];
    hub_store_be64(key, seq);
    int rc = hub_store_read_begin(self, &txn);
    rc = rc ? rc : hub_store_get(self, txn, s_seqdbs[db], key, sizeof key, &v);
    if (!rc) {
        self->out.len = 0;
        rc = expand && db == HUB_STORE_AUDIT
                 ? hub_store_disc_expand(self, txn, v.mv_data, v.mv_size, &self->out)
                 : hub_buf_append(&self->out, v.mv_data, v.mv_size);
        *rec = self->out.data;
        *len = self->out.len;
    }
    hub_store_read_end(self);
    return rc;
}

int
hub_store_record(hub_store_t *self, hub_store_seqdb_t db, uint64_t seq, const void **rec,
                 size_t *len)
{
    return s_record(self, db, seq, true, rec, len);
}

int
hub_store_record_raw(hub_store_t *self, hub_store_seqdb_t db, uint64_t seq, const void **rec,
                     size_t *len)
{
    return s_record(self, db, seq, false, rec, len);
}

int
hub_store_disclosure(hub_store_t *self, const uint8_t key[HUB_STORE_HASH_SIZE], const void **rec,
                     size_t *len)
{
    MDB_txn *txn;
    MDB_val v;
    if (!self->has_disc) {
        return HUB_ENOTFOUND;
    }
    int rc = hub_store_read_begin(self, &txn);
    rc = rc ? rc : hub_store_get(self, txn, HUB_STORE_DB_DISCLOSURE, key, HUB_STORE_HASH_SIZE, &v);
    if (!rc) {
        self->out.len = 0;
        rc = hub_buf_append(&self->out, v.mv_data, v.mv_size);
        *rec = self->out.data;
        *len = v.mv_size;
    }
    hub_store_read_end(self);
    return rc;
}

int
hub_store_count(hub_store_t *self, hub_store_seqdb_t db, uint64_t *n)
{
    if ((unsigned) db > HUB_STORE_CHECKPOINT || !n) {
        return HUB_EINVAL;
    }
    MDB_txn *txn;
    MDB_stat st;
    int rc = hub_store_read_begin(self, &txn);
    rc = rc ? rc : hub_store_mdb_err(self, mdb_stat(txn, self->dbi[s_seqdbs[db]], &st), "mdb_stat");
    *n = rc ? 0 : st.ms_entries;
    hub_store_read_end(self);
    return rc;
}

int
hub_store_last_seq(hub_store_t *self, hub_store_seqdb_t db, uint64_t *seq)
{
    if ((unsigned) db > HUB_STORE_CHECKPOINT) {
        return HUB_EINVAL;
    }
    MDB_txn *txn;
    int rc = hub_store_read_begin(self, &txn);
    rc = rc ? rc : hub_store_last_in(self, txn, s_seqdbs[db], seq);
    hub_store_read_end(self);
    return rc;
}
