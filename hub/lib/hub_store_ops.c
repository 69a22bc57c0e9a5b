// hub_store: what operators change and what is recorded about it — the
// operations log, rule-set versions, dead letters dropped, cursors moved
// (hub_store.h, "operations"; record formats in docs/STORE.md).
#include "hub_error.h"
#include "hub_mpr.h"
#include "hub_store.h"
#include "hub_store_int.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

static const char s_dead_high[] = "dead_high";
static const char s_store_id[] = "store_id";

#define S_ID_HEX 32 // meta "store_id": 16 random bytes as lower-case hex

int
hub_store_write_begin(hub_store_t *self, bool *own)
{
    if (self->flags & HUB_STORE_RDONLY) {
        return HUB_EINVAL;
    }
    *own = !self->in_batch;
    return *own ? hub_store_begin(self) : hub_store_batch_ok(self);
}

int
hub_store_write_end(hub_store_t *self, bool own, int rc)
{
    if (!own) {
        return rc;
    }
    if (rc) {
        hub_store_abort(self);
        return rc;
    }
    return hub_store_commit(self);
}

static int
s_append(hub_store_t *self, hub_store_db_t db, uint64_t seq)
{
    uint8_t key[8];
    hub_store_be64(key, seq);
    return hub_store_put(self, db, key, sizeof key, self->rec.data, self->rec.len, MDB_APPEND);
}

static int
s_oplog(hub_store_t *self, uint64_t time_ms, const char *user, const char *action,
        const void *detail, size_t detail_len, uint64_t *seq)
{
    uint64_t last;
    int rc = hub_store_last_in(self, self->txn, HUB_STORE_DB_OPLOG, &last);
    if (rc) {
        return rc;
    }
    hub_mpw_t w;
    self->rec.len = 0;
    hub_mpw_init(&w, &self->rec);
    hub_mpw_map(&w, 5);
    hub_mpw_cstr(&w, "action");
    hub_mpw_cstr(&w, action);
    hub_mpw_cstr(&w, "detail");
    if (detail) {
        hub_mpw_raw(&w, detail, detail_len);
    } else {
        hub_mpw_nil(&w);
    }
    hub_mpw_cstr(&w, "seq");
    hub_mpw_uint(&w, last + 1);
    hub_mpw_cstr(&w, "time_ms");
    hub_mpw_uint(&w, time_ms);
    hub_mpw_cstr(&w, "user");
    hub_mpw_cstr(&w, user);
    rc = hub_mpw_error(&w);
    rc = rc ? hub_store_fail(self, rc) : s_append(self, HUB_STORE_DB_OPLOG, last + 1);
    if (!rc && seq) {
        *seq = last + 1;
    }
    return rc;
}

int
hub_store_oplog_append(hub_store_t *self, uint64_t time_ms, const char *user, const char *action,
                       const void *detail, size_t detail_len, uint64_t *seq)
{
    if (!user || !action || (detail && !detail_len)) {
        return HUB_EINVAL;
    }
    bool own;
    int rc = hub_store_write_begin(self, &own);
    if (rc) {
        return rc;
    }
    rc = s_oplog(self, time_ms, user, action, detail, detail_len, seq);
    return hub_store_write_end(self, own, rc);
}

// ----------------------------------------------------------- rule sets

static int
s_ruleset_key(char *key, size_t size, const char *version)
{
    int n = snprintf(key, size, "ruleset:%s", version);
    return n < 0 || (size_t) n >= size ? HUB_EINVAL : HUB_OK;
}

// Keeps VERSION's texts in meta unless they are there already.
static int
s_ruleset_texts_put(hub_store_t *self, const char *version, uint64_t time_ms, const void *files,
                    size_t files_len)
{
    char key[128];
    MDB_val v;
    int rc = s_ruleset_key(key, sizeof key, version);
    rc = rc ? rc : hub_store_get(self, self->txn, HUB_STORE_DB_META, key, strlen(key), &v);
    if (rc != HUB_ENOTFOUND) {
        return rc; // kept already (HUB_OK), or an error
    }
    hub_mpw_t w;
    self->rec.len = 0;
    hub_mpw_init(&w, &self->rec);
    hub_mpw_map(&w, 3);
    hub_mpw_cstr(&w, "files");
    hub_mpw_raw(&w, files, files_len);
    hub_mpw_cstr(&w, "first_ms");
    hub_mpw_uint(&w, time_ms);
    hub_mpw_cstr(&w, "version");
    hub_mpw_cstr(&w, version);
    rc = hub_mpw_error(&w);
    return rc ? hub_store_fail(self, rc)
              : hub_store_put(self, HUB_STORE_DB_META, key, strlen(key), self->rec.data,
                              self->rec.len, 0);
}

static int
s_ruleset_history(hub_store_t *self, const char *version, uint64_t time_ms, const char *event,
                  const char *user)
{
    uint64_t last;
    int rc = hub_store_last_in(self, self->txn, HUB_STORE_DB_RULESETS, &last);
    if (rc) {
        return rc;
    }
    hub_mpw_t w;
    self->rec.len = 0;
    hub_mpw_init(&w, &self->rec);
    hub_mpw_map(&w, 5);
    hub_mpw_cstr(&w, "event");
    hub_mpw_cstr(&w, event);
    hub_mpw_cstr(&w, "seq");
    hub_mpw_uint(&w, last + 1);
    hub_mpw_cstr(&w, "time_ms");
    hub_mpw_uint(&w, time_ms);
    hub_mpw_cstr(&w, "user");
    hub_mpw_cstr(&w, user);
    hub_mpw_cstr(&w, "version");
    hub_mpw_cstr(&w, version);
    rc = hub_mpw_error(&w);
    return rc ? hub_store_fail(self, rc) : s_append(self, HUB_STORE_DB_RULESETS, last + 1);
}

int
hub_store_ruleset_record(hub_store_t *self, const char *version, uint64_t time_ms,
                         const char *event, const char *user, const void *files, size_t files_len)
{
    if (!version || !event || !user || !files || !files_len) {
        return HUB_EINVAL;
    }
    bool own;
    int rc = hub_store_write_begin(self, &own);
    if (rc) {
        return rc;
    }
    rc = s_ruleset_texts_put(self, version, time_ms, files, files_len);
    rc = rc ? rc : s_ruleset_history(self, version, time_ms, event, user);
    return hub_store_write_end(self, own, rc);
}

int
hub_store_ruleset_texts(hub_store_t *self, const char *version, const void **rec, size_t *len)
{
    char key[128];
    MDB_txn *txn;
    MDB_val v;
    int rc = version && rec && len ? s_ruleset_key(key, sizeof key, version) : HUB_EINVAL;
    if (rc) {
        return rc;
    }
    rc = hub_store_read_begin(self, &txn);
    rc = rc ? rc : hub_store_get(self, txn, HUB_STORE_DB_META, key, strlen(key), &v);
    if (!rc) {
        self->out.len = 0;
        rc = hub_buf_append(&self->out, v.mv_data, v.mv_size);
        *rec = self->out.data;
        *len = v.mv_size;
    }
    hub_store_read_end(self);
    return rc;
}

// ------------------------------------------------------- dead letters

int
hub_store_dead_high(hub_store_t *self, MDB_txn *txn, uint64_t *seq)
{
    MDB_val v;
    uint64_t high = 0;
    int rc = hub_store_get(self, txn, HUB_STORE_DB_META, s_dead_high, sizeof s_dead_high - 1, &v);
    if (rc == HUB_ENOTFOUND) {
        return HUB_OK;
    }
    if (!rc && (v.mv_size != 8)) {
        snprintf(self->err, sizeof self->err, "meta %s: not a sequence number", s_dead_high);
        rc = HUB_EIO;
    }
    if (!rc) {
        high = hub_store_get_be64(v.mv_data);
        *seq = high > *seq ? high : *seq;
    }
    return rc;
}

int
hub_store_dead_drop(hub_store_t *self, uint64_t seq)
{
    bool own;
    int rc = hub_store_write_begin(self, &own);
    if (rc) {
        return rc;
    }
    uint8_t key[8];
    uint64_t last;
    hub_store_be64(key, seq);
    rc = hub_store_last_in(self, self->txn, HUB_STORE_DB_DEAD, &last);
    rc = rc ? rc : hub_store_del(self, HUB_STORE_DB_DEAD, key, sizeof key);
    if (!rc && seq == last) {
        // The last one goes: remember the highest number ever given, so it
        // is never given again. Only ever raised: after 3 went, dropping 2
        // (now the last) must not lower it to 2, or 3 would be given again.
        uint64_t high = seq;
        rc = hub_store_dead_high(self, self->txn, &high);
        hub_store_be64(key, high);
        rc = rc ? hub_store_fail(self, rc)
                : hub_store_put(self, HUB_STORE_DB_META, s_dead_high, sizeof s_dead_high - 1, key,
                                sizeof key, 0);
    }
    return hub_store_write_end(self, own, rc);
}

// ------------------------------------------------------------- cursors

static int
s_endpoint_read(hub_store_t *self, MDB_txn *txn, const char *endpoint, uint64_t *next,
                uint64_t *acked)
{
    MDB_val v;
    int rc = hub_store_get(self, txn, HUB_STORE_DB_ENDPOINT, endpoint, strlen(endpoint), &v);
    if (!rc && (hub_mpr_get_uint(v.mv_data, v.mv_size, "next_eseq", next) ||
                hub_mpr_get_uint(v.mv_data, v.mv_size, "acked_eseq", acked))) {
        snprintf(self->err, sizeof self->err, "endpoint %s: a damaged cursor record", endpoint);
        rc = HUB_EIO;
    }
    return rc == HUB_ENOTFOUND ? HUB_EINVAL : rc;
}

int
hub_store_cursor_set(hub_store_t *self, const char *endpoint, uint64_t acked)
{
    if (!endpoint || strlen(endpoint) > HUB_STORE_KEY_MAX) {
        return HUB_EINVAL;
    }
    bool own;
    int rc = hub_store_write_begin(self, &own);
    if (rc) {
        return rc;
    }
    uint64_t next = 1, old = 0;
    rc = s_endpoint_read(self, self->txn, endpoint, &next, &old);
    rc = rc ? rc : (acked >= next ? HUB_EINVAL : HUB_OK);
    if (!rc) {
        hub_mpw_t w;
        self->rec.len = 0;
        hub_mpw_init(&w, &self->rec);
        hub_mpw_map(&w, 2);
        hub_mpw_cstr(&w, "acked_eseq");
        hub_mpw_uint(&w, acked);
        hub_mpw_cstr(&w, "next_eseq");
        hub_mpw_uint(&w, next);
        rc = hub_mpw_error(&w);
        rc = rc ? hub_store_fail(self, rc)
                : hub_store_put(self, HUB_STORE_DB_ENDPOINT, endpoint, strlen(endpoint),
                                self->rec.data, self->rec.len, 0);
    }
    return hub_store_write_end(self, own, rc);
}

// When the source message of ENDPOINT's delivery ESEQ was received; a
// delivery retention removed counts as long ago (0).
static int
s_delivery_time(hub_store_t *self, MDB_txn *txn, const char *endpoint, uint64_t eseq, uint64_t *ms)
{
    uint8_t key[HUB_STORE_KEY_MAX + 1];
    size_t plen = strlen(endpoint) + 1;
    memcpy(key, endpoint, plen);
    hub_store_be64(key + plen, eseq);
    MDB_val v;
    uint64_t log_seq;
    *ms = 0;
    int rc = hub_store_get(self, txn, HUB_STORE_DB_QUEUE, key, plen + 8, &v);
    if (rc) {
        return rc == HUB_ENOTFOUND ? HUB_OK : rc;
    }
    if (hub_mpr_get_uint(v.mv_data, v.mv_size, "log_seq", &log_seq)) {
        return HUB_EIO;
    }
    uint8_t lkey[8];
    hub_store_be64(lkey, log_seq);
    rc = hub_store_get(self, txn, HUB_STORE_DB_LOG, lkey, sizeof lkey, &v);
    if (rc == HUB_ENOTFOUND) {
        return HUB_OK;
    }
    return rc ? rc : (hub_mpr_get_uint(v.mv_data, v.mv_size, "received_ms", ms) ? HUB_EIO : HUB_OK);
}

int
hub_store_delivery_time(hub_store_t *self, const char *endpoint, uint64_t eseq, uint64_t *ms)
{
    if (!endpoint || !ms || strlen(endpoint) + 9 > HUB_STORE_KEY_MAX) {
        return HUB_EINVAL;
    }
    MDB_txn *txn;
    int rc = hub_store_read_begin(self, &txn);
    rc = rc ? rc : s_delivery_time(self, txn, endpoint, eseq, ms);
    hub_store_read_end(self);
    return rc;
}

int
hub_store_usage(hub_store_t *self, size_t *map_size, size_t *used)
{
    MDB_envinfo info;
    MDB_stat st;
    int rc = hub_store_mdb_err(self, mdb_env_info(self->env, &info), "mdb_env_info");
    rc = rc ? rc : hub_store_mdb_err(self, mdb_env_stat(self->env, &st), "mdb_env_stat");
    if (!rc) {
        *map_size = info.me_mapsize;
        *used = (info.me_last_pgno + 1) * (size_t) st.ms_psize;
    }
    return rc;
}

int
hub_store_eseq_before(hub_store_t *self, const char *endpoint, uint64_t time_ms, uint64_t *eseq)
{
    if (!endpoint || !eseq || strlen(endpoint) + 9 > HUB_STORE_KEY_MAX) {
        return HUB_EINVAL;
    }
    MDB_txn *txn;
    uint64_t next = 1, acked = 0;
    *eseq = 0;
    int rc = hub_store_read_begin(self, &txn);
    rc = rc ? rc : s_endpoint_read(self, txn, endpoint, &next, &acked);
    // Deliveries are numbered in the order their messages came, so the
    // times only grow: find the last one before TIME_MS by halving.
    uint64_t lo = 0, hi = next; // received(lo) < time_ms (0: none), received(hi) >= time_ms
    while (!rc && hi - lo > 1) {
        uint64_t mid = lo + (hi - lo) / 2, ms;
        rc = s_delivery_time(self, txn, endpoint, mid, &ms);
        if (ms < time_ms) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    hub_store_read_end(self);
    *eseq = rc ? 0 : lo;
    return rc == HUB_EINVAL ? HUB_OK : rc; // an endpoint never written: 0
}

// ------------------------------------------------------ store identity

static bool
s_id_ok(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return false;
        }
    }
    return n == S_ID_HEX;
}

// Meta "store_id" as TXN sees it, into OUT. Errors: HUB_ENOTFOUND,
// HUB_EINVALID (not a str of 32 hex digits), HUB_EIO.
static int
s_id_read(hub_store_t *self, MDB_txn *txn, char out[S_ID_HEX + 1])
{
    MDB_val v;
    hub_mpr_t r;
    const char *s = NULL;
    size_t n = 0;
    int rc = hub_store_get(self, txn, HUB_STORE_DB_META, s_store_id, sizeof s_store_id - 1, &v);
    if (rc) {
        return rc;
    }
    hub_mpr_init(&r, v.mv_data, v.mv_size);
    if (hub_mpr_str(&r, &s, &n) != HUB_OK || !s_id_ok(s, n) || v.mv_size != n + 2) {
        snprintf(self->err, sizeof self->err, "meta %s: not a str of %d hex digits", s_store_id,
                 S_ID_HEX);
        return HUB_EINVALID;
    }
    memcpy(out, s, n);
    out[n] = '\0';
    return HUB_OK;
}

// Writes a new random meta "store_id" in TXN (a write transaction) and
// gives it in OUT.
static int
s_id_write(hub_store_t *self, MDB_txn *txn, char out[S_ID_HEX + 1])
{
    uint8_t raw[S_ID_HEX / 2], val[2 + S_ID_HEX] = {0xd9, S_ID_HEX}; // str 8: its shortest form
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(out, S_ID_HEX + 1, raw, sizeof raw);
    memcpy(val + 2, out, S_ID_HEX);
    MDB_val k = {sizeof s_store_id - 1, (void *) s_store_id}, v = {sizeof val, val};
    return hub_store_mdb_err(self, mdb_put(txn, self->dbi[HUB_STORE_DB_META], &k, &v, 0),
                             "mdb_put meta store_id");
}

int
hub_store_id_ensure(hub_store_t *self, MDB_txn *txn)
{
    char id[S_ID_HEX + 1];
    int rc = s_id_read(self, txn, id);
    // A damaged id is replaced too: a new id only makes consumers take the
    // sequences after their cursor as new (docs/PROTOCOL.md, "Consuming").
    return rc == HUB_ENOTFOUND || rc == HUB_EINVALID ? s_id_write(self, txn, id) : rc;
}

int
hub_store_id(hub_store_t *self, char out[33])
{
    MDB_txn *txn;
    out[0] = '\0';
    int rc = hub_store_read_begin(self, &txn);
    rc = rc ? rc : s_id_read(self, txn, out);
    hub_store_read_end(self);
    if (rc) {
        out[0] = '\0';
    }
    return rc == HUB_EINVALID ? HUB_EIO : rc;
}

int
hub_store_reissue_id(hub_store_t *self, char old_id[33], char new_id[33])
{
    old_id[0] = new_id[0] = '\0';
    bool own;
    int rc = hub_store_write_begin(self, &own); // HUB_EINVAL: read-only
    if (rc) {
        return rc;
    }
    rc = s_id_read(self, self->txn, old_id);
    if (rc == HUB_ENOTFOUND || rc == HUB_EINVALID) {
        old_id[0] = '\0';
        rc = HUB_OK;
    }
    rc = rc ? hub_store_fail(self, rc) : hub_store_fail(self, s_id_write(self, self->txn, new_id));
    rc = hub_store_write_end(self, own, rc);
    if (rc) {
        new_id[0] = '\0';
    }
    return rc;
}
