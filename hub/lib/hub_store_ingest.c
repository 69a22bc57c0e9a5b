// hub_store: ingest (dedup, log, queues), dead letters, and the endpoint
// cursors. The records' keys are written in sorted order, so each record
// is canonical msgpack (docs/STORE.md).
#include "hub_error.h"
#include "hub_mpr.h"
#include "hub_store.h"
#include "hub_store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_PENDING_BYTES (8u << 20) // hub_store_pending(): bytes read at a time

// KEY gets A "\0" B (B of BLEN bytes); *KLEN its length. HUB_EINVAL when
// it would exceed LMDB's largest key: sources, ids and endpoint names are
// short, so that is a caller's bug, refused before anything is written.
static int
s_key2(uint8_t key[HUB_STORE_KEY_MAX], size_t *klen, const char *a, const void *b, size_t blen)
{
    size_t alen = strlen(a);
    if (alen + 1 + blen > HUB_STORE_KEY_MAX) {
        return HUB_EINVAL;
    }
    memcpy(key, a, alen);
    key[alen] = '\0';
    memcpy(key + alen + 1, b, blen);
    *klen = alen + 1 + blen;
    return HUB_OK;
}

// ---------------------------------------------------------------- records

// The log record of message IN, log seq SEQ; SAME_EVENT (not 0): the log
// seq of the first report of its event.
static int
s_put_log(hub_store_t *self, const hub_store_ingest_t *in, uint64_t seq, uint64_t same_event)
{
    hub_mpw_t w;
    self->rec.len = 0;
    hub_mpw_init(&w, &self->rec);
    hub_mpw_map(&w, same_event ? 7 : 6);
    hub_mpw_cstr(&w, "id");
    hub_mpw_cstr(&w, in->id);
    hub_mpw_cstr(&w, "msg");
    hub_mpw_bin(&w, in->bytes, in->len);
    hub_mpw_cstr(&w, "received_ms");
    hub_mpw_uint(&w, in->now_ms);
    hub_mpw_cstr(&w, "ruleset");
    hub_mpw_cstr(&w, in->ruleset);
    if (same_event) {
        hub_mpw_cstr(&w, "same_event");
        hub_mpw_uint(&w, same_event);
    }
    hub_mpw_cstr(&w, "source");
    hub_mpw_cstr(&w, in->source);
    hub_mpw_cstr(&w, "type");
    hub_mpw_cstr(&w, in->type);
    int rc = hub_mpw_error(&w);
    if (rc) {
        return rc;
    }
    uint8_t key[8];
    hub_store_be64(key, seq);
    // MDB_APPEND: sequences only grow; LMDB refuses a key out of order,
    // which would mean the log's tail and our counter disagree.
    return hub_store_put(self, HUB_STORE_DB_LOG, key, sizeof key, self->rec.data, self->rec.len,
                         MDB_APPEND);
}

// Claims event entry KEY (s_event_key()) for log seq SEQ: the entry goes
// in unless one is there (seen before, maybe earlier in this very batch),
// which MDB_NOOVERWRITE finds in the same descent; then *FIRST gets the log
// seq it names (else 0). Errors break the batch. (A message's (source, id)
// is claimed in memory first: hub_store_dedup.c.)
static int
s_claim(hub_store_t *self, const uint8_t *key, size_t klen, uint64_t seq, uint64_t now_ms,
        uint64_t *first)
{
    hub_mpw_t w;
    self->rec.len = 0;
    hub_mpw_init(&w, &self->rec);
    hub_mpw_map(&w, 2);
    hub_mpw_cstr(&w, "log_seq");
    hub_mpw_uint(&w, seq);
    hub_mpw_cstr(&w, "received_ms");
    hub_mpw_uint(&w, now_ms);
    int rc = hub_mpw_error(&w);
    if (rc) {
        return hub_store_fail(self, rc);
    }
    *first = 0;
    MDB_val k = {klen, (void *) key}, v = {self->rec.len, self->rec.data};
    int mrc = mdb_put(self->txn, self->dbi[HUB_STORE_DB_DEDUP], &k, &v, MDB_NOOVERWRITE);
    if (mrc == MDB_KEYEXIST) { // V is the entry already there: write nothing
        if (hub_mpr_get_uint(v.mv_data, v.mv_size, "log_seq", first) || !*first) {
            snprintf(self->err, sizeof self->err, "dedup: a damaged record");
            return hub_store_fail(self, HUB_EIO);
        }
        return HUB_OK;
    }
    return mrc ? hub_store_fail(self, hub_store_mdb_err(self, mrc, "mdb_put dedup")) : HUB_OK;
}

// An event entry's key: 0x01 (no source begins so), the type, 0, and the
// event key (hub_store_event_key(): for a death, the subject key, as
// before other fields could be named). *KLEN 0 when message IN is not a
// one-event message (no EVENT).
static void
s_event_key(const hub_store_ingest_t *in, const uint8_t *event, uint8_t key[HUB_STORE_KEY_MAX],
            size_t *klen)
{
    *klen = 0;
    size_t tlen = strlen(in->type);
    if (!event || 2 + tlen + HUB_STORE_HASH_SIZE > HUB_STORE_KEY_MAX) {
        return;
    }
    key[0] = HUB_STORE_EVENT_KEY;
    memcpy(key + 1, in->type, tlen + 1);
    memcpy(key + 2 + tlen, event, HUB_STORE_HASH_SIZE);
    *klen = 2 + tlen + HUB_STORE_HASH_SIZE;
}

// ENDPOINT's cursor from the lookup's outcome (RC, V): the next sequence
// to give out (1 for a new endpoint) and the acknowledged one.
static int
s_endpoint_parse(hub_store_t *self, const char *endpoint, int rc, const MDB_val *v, uint64_t *next,
                 uint64_t *acked)
{
    *next = 1;
    *acked = 0;
    if (rc == HUB_ENOTFOUND) {
        return HUB_OK;
    }
    if (!rc && (hub_mpr_get_uint(v->mv_data, v->mv_size, "next_eseq", next) ||
                hub_mpr_get_uint(v->mv_data, v->mv_size, "acked_eseq", acked))) {
        snprintf(self->err, sizeof self->err, "endpoint %s: a damaged cursor record", endpoint);
        rc = HUB_EIO;
    }
    return rc;
}

// ENDPOINT's cursor in TXN (in the open batch, with the cursors it holds
// in memory put first).
static int
s_endpoint_get(hub_store_t *self, MDB_txn *txn, const char *endpoint, uint64_t *next,
               uint64_t *acked)
{
    MDB_val v;
    int rc = hub_store_get(self, txn, HUB_STORE_DB_ENDPOINT, endpoint, strlen(endpoint), &v);
    return s_endpoint_parse(self, endpoint, rc, &v, next, acked);
}

static int
s_endpoint_put(hub_store_t *self, const char *endpoint, uint64_t next, uint64_t acked)
{
    // Written in a buffer of its own: hub_store_epc_flush() runs inside
    // other writers' hub_store_put() calls, while SELF->rec holds their
    // record. The record is at most 41 bytes, so the buffer never grows.
    uint8_t bytes[64];
    hub_buf_t rec = {bytes, 0, sizeof bytes};
    hub_mpw_t w;
    hub_mpw_init(&w, &rec);
    hub_mpw_map(&w, 2);
    hub_mpw_cstr(&w, "acked_eseq");
    hub_mpw_uint(&w, acked);
    hub_mpw_cstr(&w, "next_eseq");
    hub_mpw_uint(&w, next);
    int rc = hub_mpw_error(&w);
    return rc ? rc
              : hub_store_put(self, HUB_STORE_DB_ENDPOINT, endpoint, strlen(endpoint), rec.data,
                              rec.len, 0);
}

int
hub_store_epc_flush(hub_store_t *self)
{
    size_t n = self->nepc;
    self->nepc = 0; // first: the puts below come through hub_store_put()
    int rc = HUB_OK;
    for (size_t i = 0; i < n && !rc; i++) {
        const hub_store_epc_t *e = &self->epc[i];
        rc = s_endpoint_put(self, e->id, e->next, e->acked);
    }
    return rc ? hub_store_fail(self, rc) : HUB_OK;
}

// The endpoint sequence of a new delivery to ENDPOINT, counted in memory
// for the rest of the batch (put by hub_store_epc_flush()). An endpoint
// the table has no room for is read and written at once, as before.
static int
s_next_eseq(hub_store_t *self, const char *endpoint, uint64_t *eseq)
{
    size_t len = strlen(endpoint);
    for (size_t i = 0; i < self->nepc; i++) {
        hub_store_epc_t *e = &self->epc[i];
        if (e->len == len && memcmp(e->id, endpoint, len) == 0) {
            *eseq = e->next++;
            return HUB_OK;
        }
    }
    // Not through hub_store_get(): that would put the table first.
    MDB_val k = {len, (void *) endpoint}, v;
    int mrc = mdb_get(self->txn, self->dbi[HUB_STORE_DB_ENDPOINT], &k, &v);
    int rc = mrc == MDB_NOTFOUND ? HUB_ENOTFOUND
             : mrc               ? hub_store_mdb_err(self, mrc, "mdb_get endpoint")
                                 : HUB_OK;
    uint64_t next, acked;
    rc = s_endpoint_parse(self, endpoint, rc, &v, &next, &acked);
    if (rc) {
        return rc;
    }
    *eseq = next;
    if (self->nepc == HUB_STORE_EPC_MAX || len >= sizeof self->epc[0].id) {
        return s_endpoint_put(self, endpoint, next + 1, acked);
    }
    hub_store_epc_t *e = &self->epc[self->nepc++];
    *e = (hub_store_epc_t){.len = len, .next = next + 1, .acked = acked};
    memcpy(e->id, endpoint, len + 1);
    return HUB_OK;
}

// The delivery record of X (its delivered message encoded in X->enc).
static int
s_put_queue(hub_store_t *self, const hub_store_ingest_t *in, const hub_store_disclosure_t *x,
            uint64_t log_seq)
{
    hub_mpw_t w;
    self->rec.len = 0;
    hub_mpw_init(&w, &self->rec);
    // The fields, rules, purposes, legal bases and rule set are in the
    // descriptor the record names (hub_store_disc.c).
    hub_mpw_map(&w, 7);
    hub_mpw_cstr(&w, "disclosure");
    hub_mpw_bin(&w, x->disc, sizeof x->disc);
    hub_mpw_cstr(&w, "eseq");
    hub_mpw_uint(&w, x->eseq);
    hub_mpw_cstr(&w, "id");
    hub_mpw_cstr(&w, x->id);
    hub_mpw_cstr(&w, "log_seq");
    hub_mpw_uint(&w, log_seq);
    hub_mpw_cstr(&w, "msg");
    hub_mpw_bin(&w, x->enc, x->enc_len);
    hub_mpw_cstr(&w, "origin_id");
    hub_mpw_cstr(&w, in->id);
    hub_mpw_cstr(&w, "type");
    hub_mpw_cstr(&w, x->type);
    int rc = hub_mpw_error(&w);
    uint8_t key[HUB_STORE_KEY_MAX], seq[8];
    size_t klen;
    hub_store_be64(seq, x->eseq);
    rc = rc ? rc : s_key2(key, &klen, x->endpoint, seq, sizeof seq);
    return rc ? rc
              : hub_store_put(self, HUB_STORE_DB_QUEUE, key, klen, self->rec.data, self->rec.len,
                              MDB_NOOVERWRITE);
}

// A reader of a prepared message (hub_store_prep.c has the layout): a
// read past the end, or a string without its NUL, sets BAD.
typedef struct {
    const uint8_t *p, *end;
    bool bad;
} s_rd_t;

static const void *
s_rd(s_rd_t *r, size_t n)
{
    if (r->bad || (size_t) (r->end - r->p) < n) {
        r->bad = true;
        return NULL;
    }
    const void *q = r->p;
    r->p += n;
    return q;
}

static const char *
s_rd_str(s_rd_t *r)
{
    const uint8_t *z = r->bad ? NULL : memchr(r->p, 0, (size_t) (r->end - r->p));
    if (!z) {
        r->bad = true;
        return "";
    }
    const char *s = (const char *) r->p;
    r->p = z + 1;
    return s;
}

static uint64_t
s_rd_uint(s_rd_t *r, size_t width)
{
    const void *q = s_rd(r, width);
    uint64_t v64 = 0;
    uint32_t v32 = 0;
    uint8_t v8 = 0;
    if (q && width == 8) {
        memcpy(&v64, q, 8);
    } else if (q && width == 4) {
        memcpy(&v32, q, 4);
        v64 = v32;
    } else if (q) {
        memcpy(&v8, q, 1);
        v64 = v8;
    }
    return v64;
}

// Bytes preceded by their u32 length; *N gets the length.
static const void *
s_rd_bytes(s_rd_t *r, size_t *n)
{
    *n = (size_t) s_rd_uint(r, 4);
    return s_rd(r, *n);
}

// One prepared delivery of message IN (log seq LOG_SEQ): the endpoint's
// next sequence, its descriptor (stored once), the queue entry, the audit
// record (and its subject index entry).
static int
s_deliver(hub_store_t *self, s_rd_t *r, const hub_store_ingest_t *in, uint64_t log_seq,
          const uint8_t *subject)
{
    hub_store_disclosure_t x = {0};
    size_t dlen;
    x.endpoint = s_rd_str(r);
    x.id = s_rd_str(r);
    x.type = s_rd_str(r);
    const void *key = s_rd(r, HUB_STORE_HASH_SIZE);
    const void *desc = s_rd_bytes(r, &dlen);
    x.enc = s_rd_bytes(r, &x.enc_len);
    if (r->bad) {
        return HUB_EINVAL;
    }
    memcpy(x.disc, key, HUB_STORE_HASH_SIZE);
    int rc = s_next_eseq(self, x.endpoint, &x.eseq);
    rc = rc ? rc : hub_store_disc_ensure(self, x.disc, desc, dlen);
    rc = rc ? rc : s_put_queue(self, in, &x, log_seq);
    return rc ? rc : hub_store_audit_append(self, in, &x, subject);
}

int
hub_store_apply(hub_store_t *self, const void *prep, size_t len, hub_store_result_t *res)
{
    int rc = hub_store_batch_ok(self);
    if (rc || !prep || !res) {
        return rc ? rc : HUB_EINVAL;
    }
    s_rd_t r = {prep, (const uint8_t *) prep + len, false};
    hub_store_ingest_t in = {0};
    in.source = s_rd_str(&r);
    in.id = s_rd_str(&r);
    in.type = s_rd_str(&r);
    in.ruleset = s_rd_uint(&r, 1) ? s_rd_str(&r) : NULL;
    in.now_ms = s_rd_uint(&r, 8);
    in.bytes = s_rd_bytes(&r, &in.len);
    unsigned keys = (unsigned) s_rd_uint(&r, 1);
    const uint8_t *subject = keys & HUB_STORE_PREP_SUBJECT ? s_rd(&r, HUB_STORE_HASH_SIZE) : NULL;
    const uint8_t *event = keys & HUB_STORE_PREP_EVENT ? s_rd(&r, HUB_STORE_HASH_SIZE) : NULL;
    r.bad |= (keys & ~(unsigned) (HUB_STORE_PREP_SUBJECT | HUB_STORE_PREP_EVENT)) != 0;
    uint32_t n = (uint32_t) s_rd_uint(&r, 4);
    uint8_t key[HUB_STORE_KEY_MAX];
    size_t klen;
    rc = r.bad ? HUB_EINVAL : s_key2(key, &klen, in.source, in.id, strlen(in.id));
    if (rc) {
        return rc; // refused before anything is written: the batch goes on
    }
    *res = (hub_store_result_t){false, 0, 0, 0};
    uint64_t seq = self->next_log;
    rc = hub_store_dedup_claim(self, in.source, in.id, seq, in.now_ms, &res->log_seq);
    res->duplicate = res->log_seq != 0;
    if (rc || res->duplicate) {
        return rc;
    }
    s_event_key(&in, event, key, &klen);
    rc = klen ? s_claim(self, key, klen, seq, in.now_ms, &res->same_event) : HUB_OK;
    rc = rc ? rc : s_put_log(self, &in, seq, res->same_event);
    for (uint32_t i = 0; i < n && !rc && !res->same_event; i++) {
        rc = s_deliver(self, &r, &in, seq, subject);
    }
    if (res->same_event) {
        n = 0;
        r.p = r.end; // its deliveries were worked out, but it is the same event: none
    }
    rc = rc ? rc : r.p != r.end ? HUB_EINVAL : HUB_OK;
    if (rc) {
        return hub_store_fail(self, rc); // half a message must not commit
    }
    self->next_log++;
    res->log_seq = seq;
    res->deliveries = n;
    return HUB_OK;
}

int
hub_store_ingest(hub_store_t *self, const hub_store_ingest_t *in, hub_store_result_t *res)
{
    int rc = hub_store_batch_ok(self);
    if (rc || !res) {
        return rc ? rc : HUB_EINVAL;
    }
    if (!self->prep && (rc = hub_store_prep_new(&self->prep, self)) != HUB_OK) {
        return hub_store_fail(self, rc);
    }
    self->prepared.len = 0;
    rc = hub_store_prepare(self->prep, in, &self->prepared);
    if (rc) {
        return rc == HUB_EINVAL ? rc : hub_store_fail(self, rc);
    }
    return hub_store_apply(self, self->prepared.data, self->prepared.len, res);
}

int
hub_store_dead(hub_store_t *self, const char *source, const void *bytes, size_t len,
               const char *code, const char *reason, uint64_t now_ms)
{
    int rc = hub_store_batch_ok(self);
    if (rc || (!bytes && len)) {
        return rc ? rc : HUB_EINVAL;
    }
    hub_mpw_t w;
    self->rec.len = 0;
    hub_mpw_init(&w, &self->rec);
    hub_mpw_map(&w, 6);
    hub_mpw_cstr(&w, "bytes");
    hub_mpw_bin(&w, bytes, len);
    hub_mpw_cstr(&w, "code");
    hub_mpw_cstr(&w, code);
    hub_mpw_cstr(&w, "reason");
    hub_mpw_cstr(&w, reason);
    hub_mpw_cstr(&w, "seq");
    hub_mpw_uint(&w, self->next_dead);
    hub_mpw_cstr(&w, "source");
    hub_mpw_cstr(&w, source);
    hub_mpw_cstr(&w, "time_ms");
    hub_mpw_uint(&w, now_ms);
    rc = hub_mpw_error(&w);
    uint8_t key[8];
    hub_store_be64(key, self->next_dead);
    rc = rc ? hub_store_fail(self, rc)
            : hub_store_put(self, HUB_STORE_DB_DEAD, key, sizeof key, self->rec.data, self->rec.len,
                            MDB_APPEND);
    self->next_dead += rc == HUB_OK;
    return rc;
}

// ---------------------------------------------------------------- cursors

// The log_seq of queue record REC (LEN bytes): where expanding it saw the
// value (M), else looked up.
static int
s_log_seq(const void *rec, size_t len, const hub_store_marks_t *m, uint64_t *out)
{
    if (!m->log_seq) {
        return hub_mpr_get_uint(rec, len, "log_seq", out);
    }
    hub_mpr_t r;
    hub_mpr_init(&r, m->log_seq, (size_t) ((const uint8_t *) rec + len - m->log_seq));
    return hub_mpr_uint(&r, out);
}

// Copies the queue entries of ENDPOINT after AFTER into SELF->out, whole
// (their disclosure descriptors expanded).
static int
s_pending_read(hub_store_t *self, MDB_txn *txn, const char *endpoint, uint64_t after,
               hub_store_delivery_t *out, size_t max, size_t *n)
{
    uint8_t key[HUB_STORE_KEY_MAX], seq[8];
    size_t klen, plen = strlen(endpoint) + 1; // the prefix: endpoint "\0"
    hub_store_be64(seq, after + 1);
    int rc = s_key2(key, &klen, endpoint, seq, sizeof seq);
    MDB_cursor *c;
    rc = rc ? rc
            : hub_store_mdb_err(self, mdb_cursor_open(txn, self->dbi[HUB_STORE_DB_QUEUE], &c),
                                "mdb_cursor_open queue");
    if (rc) {
        return rc;
    }
    MDB_val k = {klen, key}, v;
    int mrc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    // At most MAX records, and no more once they pass S_PENDING_BYTES.
    for (; mrc == 0 && *n < max && (*n == 0 || self->out.len < S_PENDING_BYTES);
         mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size != plen + 8 || memcmp(k.mv_data, key, plen) != 0) {
            break; // past this endpoint's entries
        }
        hub_store_delivery_t *d = &out[*n];
        d->eseq = hub_store_get_be64((const uint8_t *) k.mv_data + plen);
        size_t at = self->out.len;
        hub_store_marks_t m;
        rc = hub_store_disc_expand_marks(self, txn, v.mv_data, v.mv_size, &self->out, &m);
        d->len = self->out.len - at;
        d->msg_at = m.msg_at;
        if (!rc && s_log_seq(v.mv_data, v.mv_size, &m, &d->log_seq)) {
            snprintf(self->err, sizeof self->err, "queue %s %llu: a damaged record", endpoint,
                     (unsigned long long) d->eseq);
            rc = HUB_EIO;
        }
        if (rc) {
            break;
        }
        (*n)++;
    }
    mdb_cursor_close(c);
    if (!rc && mrc && mrc != MDB_NOTFOUND) {
        rc = hub_store_mdb_err(self, mrc, "mdb_cursor_get queue");
    }
    return rc;
}

int
hub_store_pending(hub_store_t *self, const char *endpoint, uint64_t after,
                  hub_store_delivery_t *out, size_t max, size_t *n)
{
    if (!endpoint || !n || (!out && max)) {
        return HUB_EINVAL;
    }
    *n = 0;
    if (max == 0 || after == UINT64_MAX) {
        return HUB_OK;
    }
    MDB_txn *txn;
    int rc = hub_store_read_begin(self, &txn);
    if (rc) {
        return rc;
    }
    self->out.len = 0;
    rc = s_pending_read(self, txn, endpoint, after, out, max, n);
    hub_store_read_end(self);
    // The records lie end to end in SELF->out, which may have moved while
    // it grew: point at them only now.
    size_t off = 0;
    for (size_t i = 0; i < *n; i++) {
        out[i].record = self->out.data + off;
        off += out[i].len;
    }
    if (rc) {
        *n = 0;
    }
    return rc;
}

int
hub_store_ack(hub_store_t *self, const char *endpoint, uint64_t eseq)
{
    if (!endpoint || strlen(endpoint) > HUB_STORE_KEY_MAX || (self->flags & HUB_STORE_RDONLY)) {
        return HUB_EINVAL;
    }
    // LMDB has one writer: with a batch open, a transaction of our own
    // would wait for it forever, so the cursor rides in the batch.
    bool own = !self->in_batch;
    int rc = own ? hub_store_begin(self) : hub_store_batch_ok(self);
    if (rc) {
        return rc;
    }
    uint64_t next, acked;
    rc = s_endpoint_get(self, self->txn, endpoint, &next, &acked);
    if (!rc && eseq >= next) {
        rc = HUB_EINVAL; // nothing with that sequence was ever written
    }
    if (!rc && eseq > acked) {
        rc = s_endpoint_put(self, endpoint, next, eseq);
        if (own && !rc) {
            return hub_store_commit(self);
        }
    }
    if (own) {
        hub_store_abort(self); // an old ack changes nothing and costs no fsync
    }
    return rc;
}

int
hub_store_endpoint_state(hub_store_t *self, const char *endpoint, uint64_t *acked, uint64_t *last)
{
    if (!endpoint || !acked || !last || strlen(endpoint) > HUB_STORE_KEY_MAX) {
        return HUB_EINVAL;
    }
    MDB_txn *txn;
    uint64_t next = 1;
    int rc = hub_store_read_begin(self, &txn);
    rc = rc ? rc : s_endpoint_get(self, txn, endpoint, &next, acked);
    hub_store_read_end(self);
    *last = rc ? 0 : next - 1;
    return rc;
}
