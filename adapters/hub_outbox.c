#include "hub_outbox.h"

#include "hub_buf.h"
#include "hub_dir.h"
#include "hub_error.h"
#include "hub_mpw.h"

#include <errno.h>
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>

#define S_FLUSH_MAX 4096 // messages sent per flush round

struct hubc_outbox {
    MDB_env *env;
    MDB_dbi outbox;   // u64 seq (big-endian) -> canonical message
    MDB_dbi cursor;   // name -> the adapter's source cursor
    MDB_dbi rejected; // u64 seq of its own -> {code, msg, outbox_seq, reason}
};

static void
s_be64(uint64_t v, uint8_t out[8])
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (uint8_t) v;
        v >>= 8;
    }
}

static uint64_t
s_get_be64(const void *p)
{
    const uint8_t *b = p;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        v = v << 8 | b[i];
    }
    return v;
}

static int
s_err(int mdb_rc)
{
    return mdb_rc == MDB_MAP_FULL ? HUB_EFULL : mdb_rc == ENOMEM ? HUB_ENOMEM : HUB_EIO;
}

// Opens the LMDB environment at PATH and its databases; *FRESH: LMDB has
// just made its files (nothing was ever committed in them). An LMDB code.
static int
s_env_open(hubc_outbox_t *self, const char *path, bool *fresh)
{
    MDB_txn *txn = NULL;
    MDB_envinfo info;
    int rc = mdb_env_create(&self->env);
    rc = rc ? rc : mdb_env_set_maxdbs(self->env, 4);
    rc = rc ? rc : mdb_env_set_mapsize(self->env, (size_t) 1 << 30);
    rc = rc ? rc : mdb_env_open(self->env, path, 0, 0600);
    rc = rc ? rc : mdb_env_info(self->env, &info);
    *fresh = !rc && info.me_last_txnid == 0;
    rc = rc ? rc : mdb_txn_begin(self->env, NULL, 0, &txn);
    rc = rc ? rc : mdb_dbi_open(txn, "outbox", MDB_CREATE, &self->outbox);
    rc = rc ? rc : mdb_dbi_open(txn, "cursor", MDB_CREATE, &self->cursor);
    rc = rc ? rc : mdb_dbi_open(txn, "rejected", MDB_CREATE, &self->rejected);
    if (rc && txn) {
        mdb_txn_abort(txn);
        return rc;
    }
    return rc ? rc : mdb_txn_commit(txn); // frees TXN, whatever the outcome
}

int
hubc_outbox_open(hubc_outbox_t **out, const char *path, hub_diag_t *diag)
{
    *out = NULL;
    hubc_outbox_t *self = calloc(1, sizeof *self);
    if (!self) {
        return HUB_ENOMEM;
    }
    bool fresh = false;
    if (hub_dir_make(path, 0700, NULL) != HUB_OK) {
        hub_diag_add(diag, HUB_DIAG_ERROR, "io", path, "outbox: cannot create the directory: %s",
                     strerror(errno));
        hubc_outbox_destroy(&self);
        return HUB_EIO;
    }
    int rc = s_env_open(self, path, &fresh);
    if (rc) {
        hub_diag_add(diag, HUB_DIAG_ERROR, "io", path, "outbox: %s", mdb_strerror(rc));
        hubc_outbox_destroy(&self);
        return s_err(rc);
    }
    // A new outbox: the commit synced what is in its files; their names
    // are durable once the directory is.
    if (fresh && hub_dir_sync(path) != HUB_OK) {
        hub_diag_add(diag, HUB_DIAG_ERROR, "io", path, "outbox: cannot fsync the directory: %s",
                     strerror(errno));
        hubc_outbox_destroy(&self);
        return HUB_EIO;
    }
    *out = self;
    return HUB_OK;
}

void
hubc_outbox_destroy(hubc_outbox_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    if ((*self_p)->env) {
        mdb_env_close((*self_p)->env);
    }
    free(*self_p);
    *self_p = NULL;
}

// The next outbox sequence: one past the last key (0-based when empty).
static int
s_next_seq(hubc_outbox_t *self, MDB_txn *txn, MDB_dbi dbi, uint64_t *next)
{
    MDB_cursor *c;
    MDB_val k, v;
    int rc = mdb_cursor_open(txn, dbi, &c);
    if (rc) {
        return rc;
    }
    rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
    *next = rc == MDB_SUCCESS && k.mv_size == 8 ? s_get_be64(k.mv_data) + 1 : 1;
    mdb_cursor_close(c);
    (void) self;
    return rc == MDB_NOTFOUND ? MDB_SUCCESS : rc;
}

int
hubc_outbox_put(hubc_outbox_t *self, const void *const *msgs, const size_t *lens, size_t n,
                const char *cursor_name, const void *cursor, size_t cursor_len)
{
    MDB_txn *txn;
    uint64_t seq;
    int rc = mdb_txn_begin(self->env, NULL, 0, &txn);
    if (rc) {
        return s_err(rc);
    }
    rc = s_next_seq(self, txn, self->outbox, &seq);
    for (size_t i = 0; !rc && i < n; i++, seq++) {
        uint8_t key[8];
        s_be64(seq, key);
        MDB_val k = {8, key}, v = {lens[i], (void *) msgs[i]};
        rc = mdb_put(txn, self->outbox, &k, &v, MDB_APPEND);
    }
    if (!rc && cursor_name) {
        MDB_val k = {strlen(cursor_name), (void *) cursor_name}, v = {cursor_len, (void *) cursor};
        rc = mdb_put(txn, self->cursor, &k, &v, 0);
    }
    if (rc) {
        mdb_txn_abort(txn);
        return s_err(rc);
    }
    rc = mdb_txn_commit(txn); // durable: LMDB syncs on commit
    return rc ? s_err(rc) : HUB_OK;
}

int
hubc_outbox_cursor(hubc_outbox_t *self, const char *name, void *buf, size_t size, size_t *len)
{
    MDB_txn *txn;
    MDB_val k = {strlen(name), (void *) name}, v;
    int rc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn);
    if (rc) {
        return s_err(rc);
    }
    rc = mdb_get(txn, self->cursor, &k, &v);
    if (rc == MDB_SUCCESS) {
        *len = v.mv_size;
        memcpy(buf, v.mv_data, v.mv_size < size ? v.mv_size : size);
    }
    mdb_txn_abort(txn);
    return rc == MDB_NOTFOUND ? HUB_ENOTFOUND : rc ? s_err(rc) : HUB_OK;
}

size_t
hubc_outbox_pending(hubc_outbox_t *self)
{
    MDB_txn *txn;
    MDB_stat st;
    if (mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn)) {
        return 0;
    }
    size_t n = mdb_stat(txn, self->outbox, &st) == MDB_SUCCESS ? st.ms_entries : 0;
    mdb_txn_abort(txn);
    return n;
}

// Refusals worth another try later; every other NACK code is final.
static bool
s_transient(const char *code)
{
    return strcmp(code, "store_full") == 0 || strcmp(code, "unavailable") == 0 ||
           strcmp(code, "internal") == 0;
}

// Reads up to MAX waiting messages: their sequences into SEQS and bytes
// into BUF (OFFS/LENS index it).
static int
s_read_batch(hubc_outbox_t *self, uint64_t *seqs, size_t *offs, size_t *lens, size_t max,
             hub_buf_t *buf, size_t *n)
{
    MDB_txn *txn;
    MDB_cursor *c = NULL;
    MDB_val k, v;
    *n = 0;
    int rc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn);
    if (rc) {
        return s_err(rc);
    }
    rc = mdb_cursor_open(txn, self->outbox, &c);
    for (MDB_cursor_op op = MDB_FIRST; !rc && *n < max; op = MDB_NEXT) {
        rc = mdb_cursor_get(c, &k, &v, op);
        if (rc == MDB_SUCCESS) {
            seqs[*n] = s_get_be64(k.mv_data);
            offs[*n] = buf->len;
            lens[*n] = v.mv_size;
            rc = hub_buf_append(buf, v.mv_data, v.mv_size) ? ENOMEM : MDB_SUCCESS;
            (*n)++;
        }
    }
    if (c) {
        mdb_cursor_close(c); // read-only cursors outlive their transaction
    }
    mdb_txn_abort(txn);
    return rc == MDB_NOTFOUND || rc == MDB_SUCCESS ? HUB_OK : s_err(rc);
}

static int
s_reject(hubc_outbox_t *self, MDB_txn *txn, uint64_t seq, const hubc_result_t *r, const void *msg,
         size_t len)
{
    hub_buf_t rec = HUB_BUF_INIT;
    hub_mpw_t w;
    hub_mpw_init(&w, &rec);
    hub_mpw_map(&w, 4);
    hub_mpw_cstr(&w, "code");
    hub_mpw_cstr(&w, r->code);
    hub_mpw_cstr(&w, "msg");
    hub_mpw_bin(&w, msg, len);
    hub_mpw_cstr(&w, "outbox_seq");
    hub_mpw_uint(&w, seq);
    hub_mpw_cstr(&w, "reason");
    hub_mpw_cstr(&w, r->reason);
    // Its own sequence: outbox seqs start again at 1 once the outbox is
    // empty, and a refusal must never take an earlier one's place.
    uint64_t at;
    int rc = hub_mpw_error(&w) ? ENOMEM : s_next_seq(self, txn, self->rejected, &at);
    uint8_t key[8];
    s_be64(rc ? 0 : at, key);
    MDB_val k = {8, key}, v = {rec.len, rec.data};
    rc = rc ? rc : mdb_put(txn, self->rejected, &k, &v, MDB_APPEND);
    hub_buf_free(&rec);
    return rc;
}

// Removes what the hub settled: acked, or refused for good.
static int
s_settle(hubc_outbox_t *self, const uint64_t *seqs, const hubc_result_t *res, size_t n,
         const hub_buf_t *buf, const size_t *offs, const size_t *lens, hubc_flush_t *st)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(self->env, NULL, 0, &txn);
    for (size_t i = 0; !rc && i < n; i++) {
        const hubc_result_t *r = &res[i];
        if (r->ref == 0 || (!r->acked && s_transient(r->code))) {
            st->retry++;
            continue;
        }
        if (!r->acked) {
            rc = s_reject(self, txn, seqs[i], r, buf->data + offs[i], lens[i]);
            st->rejected++;
        } else {
            r->duplicate ? st->duplicate++ : st->acked++;
        }
        uint8_t key[8];
        s_be64(seqs[i], key);
        MDB_val k = {8, key};
        rc = rc ? rc : mdb_del(txn, self->outbox, &k, NULL);
    }
    if (rc) {
        mdb_txn_abort(txn);
        return s_err(rc);
    }
    return mdb_txn_commit(txn) ? HUB_EIO : HUB_OK;
}

int
hubc_outbox_flush(hubc_outbox_t *self, hubc_t *client, size_t window, int timeout_ms,
                  hubc_flush_t *stats)
{
    hubc_flush_t local = {0};
    hubc_flush_t *st = stats ? stats : &local;
    memset(st, 0, sizeof *st);
    uint64_t *seqs = malloc(S_FLUSH_MAX * sizeof *seqs);
    size_t *offs = malloc(S_FLUSH_MAX * sizeof *offs), *lens = malloc(S_FLUSH_MAX * sizeof *lens);
    const void **msgs = malloc(S_FLUSH_MAX * sizeof *msgs);
    hubc_result_t *res = calloc(S_FLUSH_MAX, sizeof *res);
    hub_buf_t buf = HUB_BUF_INIT;
    size_t n = 0;
    int rc = seqs && offs && lens && msgs && res ? HUB_OK : HUB_ENOMEM;
    rc = rc ? rc : s_read_batch(self, seqs, offs, lens, S_FLUSH_MAX, &buf, &n);
    for (size_t i = 0; i < n; i++) {
        msgs[i] = buf.data + offs[i];
    }
    int sent = rc || n == 0 ? rc : hubc_publish(client, msgs, lens, n, window, res, timeout_ms);
    if (!rc && n) {
        rc = s_settle(self, seqs, res, n, &buf, offs, lens, st); // answered ones, even on timeout
    }
    free(seqs);
    free(offs);
    free(lens);
    free(msgs);
    free(res);
    hub_buf_free(&buf);
    return rc ? rc : sent;
}
