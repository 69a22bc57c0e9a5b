// hub_store: the members of the rule set's lists (docs/STORE.md "lists",
// docs/RULES.md "Lists"): key list id "\0" key -> {log_seq, since_ms}.
// Written in the batch that logs the message that changed it, so a crash
// never keeps one without the other; no in-memory state here: hubd keeps
// the members it routes by and changes them only after that batch
// committed, so an aborted batch has nothing to take back.
#include "hub_error.h"
#include "hub_mpr.h"
#include "hub_store.h"
#include "hub_store_int.h"

#include <stdio.h>
#include <string.h>

// LIST "\0" KEY into BUF; its length, or 0 when it does not fit a key.
static size_t
s_key(uint8_t buf[HUB_STORE_KEY_MAX], const char *list, const char *key, size_t len)
{
    size_t ll = strlen(list);
    if (ll == 0 || ll + 1 + len > HUB_STORE_KEY_MAX || memchr(list, 0, ll) != NULL) {
        return 0;
    }
    memcpy(buf, list, ll + 1);
    memcpy(buf + ll + 1, key, len);
    return ll + 1 + len;
}

int
hub_store_list_set(hub_store_t *self, const char *list, const char *key, size_t len, bool member,
                   uint64_t log_seq, uint64_t now_ms)
{
    uint8_t k[HUB_STORE_KEY_MAX];
    size_t klen = s_key(k, list, key, len);
    int rc = hub_store_batch_ok(self);
    if (rc || klen == 0 || !self->has_lists) {
        return rc ? rc : HUB_EINVAL;
    }
    if (!member) {
        rc = hub_store_del(self, HUB_STORE_DB_LISTS, k, klen);
        return rc == HUB_ENOTFOUND ? HUB_OK : rc;
    }
    MDB_val old;
    rc = hub_store_get(self, self->txn, HUB_STORE_DB_LISTS, k, klen, &old);
    if (rc != HUB_ENOTFOUND) {
        // HUB_OK: a member already, its entry stays (since_ms says since
        // when); a read that failed breaks the batch (the message must not
        // be acked with its membership unstored).
        return rc == HUB_OK ? HUB_OK : hub_store_fail(self, rc);
    }
    hub_mpw_t w;
    self->rec.len = 0;
    hub_mpw_init(&w, &self->rec);
    hub_mpw_map(&w, 2);
    hub_mpw_cstr(&w, "log_seq");
    hub_mpw_uint(&w, log_seq);
    hub_mpw_cstr(&w, "since_ms");
    hub_mpw_uint(&w, now_ms);
    rc = hub_mpw_error(&w);
    return rc ? rc
              : hub_store_put(self, HUB_STORE_DB_LISTS, k, klen, self->rec.data, self->rec.len, 0);
}

// One stored entry into E; false when it is damaged.
static bool
s_entry(const MDB_val *k, const MDB_val *v, hub_store_list_entry_t *e)
{
    const char *z = memchr(k->mv_data, 0, k->mv_size);
    if (!z) {
        return false;
    }
    e->list = k->mv_data;
    e->key = z + 1;
    e->len = k->mv_size - (size_t) (z + 1 - (const char *) k->mv_data);
    return hub_mpr_get_uint(v->mv_data, v->mv_size, "log_seq", &e->log_seq) == HUB_OK &&
           hub_mpr_get_uint(v->mv_data, v->mv_size, "since_ms", &e->since_ms) == HUB_OK;
}

int
hub_store_lists_each(hub_store_t *self, int (*fn)(void *ctx, const hub_store_list_entry_t *e),
                     void *ctx)
{
    if (!self->has_lists) {
        return HUB_OK;
    }
    MDB_txn *txn;
    int rc = hub_store_read_begin(self, &txn);
    if (rc) {
        return rc;
    }
    MDB_cursor *c = NULL;
    rc = hub_store_mdb_err(self, mdb_cursor_open(txn, self->dbi[HUB_STORE_DB_LISTS], &c),
                           "mdb_cursor_open lists");
    MDB_val k, v;
    for (int op = MDB_FIRST; !rc; op = MDB_NEXT) {
        int mrc = mdb_cursor_get(c, &k, &v, op);
        if (mrc == MDB_NOTFOUND) {
            break;
        }
        hub_store_list_entry_t e;
        rc = mrc ? hub_store_mdb_err(self, mrc, "mdb_cursor_get lists") : HUB_OK;
        if (!rc && !s_entry(&k, &v, &e)) {
            snprintf(self->err, sizeof self->err, "lists: a damaged entry");
            rc = HUB_EIO;
        }
        rc = rc ? rc : fn(ctx, &e);
    }
    if (c) {
        mdb_cursor_close(c);
    }
    hub_store_read_end(self);
    return rc;
}
