// hub_store: disclosure descriptors (store format 3). What a delivery
// discloses and why — the released fields with their rule and masking, the
// rules with their purposes and legal bases, the rule-set version — is the
// same for every message a rule set routes alike, so it is stored once,
// under the BLAKE2b-256 of its canonical msgpack, and the queue and audit
// records name it ("disclosure") instead of repeating it. The audit chain
// hashes the record with that name in it, and the name is the hash of the
// descriptor, so the chain still covers every byte (docs/STORE.md).
//
// Descriptors are made apart from the batch, with the rest of a prepared
// message (hub_store_prep.c). The writer remembers which ones it has
// stored (by key) in a small table, so a known one costs a lookup, not an
// LMDB read; a batch that does not commit takes what it stored with it,
// so the table is forgotten then (hub_store_disc_forget()).
#include "hub_error.h"
#include "hub_mpr.h"
#include "hub_store.h"
#include "hub_store_int.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_SLOTS 512 // a power of two
#define S_FULL 384  // more known descriptors than this: start over

typedef struct {
    bool used;
    uint8_t key[HUB_STORE_HASH_SIZE];
} s_slot_t;

struct hub_store_disc_cache {
    s_slot_t slots[S_SLOTS];
    size_t n;
};

// ---------------------------------------------------------------- the cache

void
hub_store_disc_forget(hub_store_t *self, bool free_it)
{
    struct hub_store_disc_cache *c = self->disc;
    if (!c) {
        return;
    }
    memset(c, 0, sizeof *c);
    if (free_it) {
        free(c);
        self->disc = NULL;
    }
}

// The slot of KEY: the one holding it, or the free one where it belongs.
static s_slot_t *
s_slot(struct hub_store_disc_cache *c, const uint8_t key[HUB_STORE_HASH_SIZE])
{
    uint64_t h;
    memcpy(&h, key, sizeof h); // a BLAKE2b hash: any of its bytes will do
    for (size_t i = h & (S_SLOTS - 1);; i = (i + 1) & (S_SLOTS - 1)) {
        s_slot_t *s = &c->slots[i];
        if (!s->used || memcmp(s->key, key, HUB_STORE_HASH_SIZE) == 0) {
            return s;
        }
    }
}

// ---------------------------------------------------------------- writing

int
hub_store_disc_ensure(hub_store_t *self, const uint8_t key[HUB_STORE_HASH_SIZE], const void *desc,
                      size_t len)
{
    if (!self->disc && !(self->disc = calloc(1, sizeof *self->disc))) {
        return hub_store_fail(self, HUB_ENOMEM);
    }
    if (self->disc->n >= S_FULL) {
        hub_store_disc_forget(self, false);
    }
    s_slot_t *s = s_slot(self->disc, key);
    if (s->used) {
        return HUB_OK;
    }
    MDB_val v;
    int rc = hub_store_get(self, self->txn, HUB_STORE_DB_DISCLOSURE, key, HUB_STORE_HASH_SIZE, &v);
    if (rc == HUB_ENOTFOUND) {
        rc = hub_store_put(self, HUB_STORE_DB_DISCLOSURE, key, HUB_STORE_HASH_SIZE, desc, len,
                           MDB_NOOVERWRITE);
    } else if (rc) {
        rc = hub_store_fail(self, rc);
    }
    if (!rc) {
        s->used = true; // forgotten again if the batch fails
        memcpy(s->key, key, HUB_STORE_HASH_SIZE);
        self->disc->n++;
    }
    return rc;
}

// ---------------------------------------------------------------- reading
//
// Readers get a record whole: its "disclosure" pair replaced by the
// descriptor's pairs, keys in canonical order. hubd does that for every
// delivery it sends, so the merge is built to cost little more than the
// copy: the descriptors come from a cache split into their pairs already,
// a record's pairs (short keys, scalar values: "msg" is one bin) are
// measured from their first bytes, and pairs lying end to end in their
// source go out in one copy.

static int
s_get(hub_store_t *self, MDB_txn *txn, const uint8_t key[HUB_STORE_HASH_SIZE], MDB_val *v)
{
    int rc = self->has_disc
                 ? hub_store_get(self, txn, HUB_STORE_DB_DISCLOSURE, key, HUB_STORE_HASH_SIZE, v)
                 : HUB_ENOTFOUND;
    if (rc) {
        char hex[2 * HUB_STORE_HASH_SIZE + 1];
        sodium_bin2hex(hex, sizeof hex, key, HUB_STORE_HASH_SIZE);
        snprintf(self->err, sizeof self->err, "disclosure %.16s…: %s", hex,
                 rc == HUB_ENOTFOUND ? "missing" : "unreadable");
    }
    return rc ? HUB_EIO : HUB_OK;
}

// Where one pair of a map lies in its bytes.
typedef struct {
    uint32_t start, end; // the pair (key and value)
    uint32_t kofs, klen; // the key's text
} s_span_t;

#define S_RSLOTS 64 // descriptors a reader keeps, by their key's first byte
#define S_RPAIRS 8  // a descriptor has 5 pairs

// Descriptors as read, split into their pairs: a reader expands thousands
// of records naming a few descriptors. They never change (a key is the
// hash of the bytes), so what was read once stays right.
typedef struct {
    uint8_t key[HUB_STORE_HASH_SIZE];
    uint8_t *bytes; // NULL: a free slot
    size_t len;     // of BYTES
    uint32_t n;
    s_span_t spans[S_RPAIRS];
} s_rslot_t;

struct hub_store_disc_rcache {
    s_rslot_t slots[S_RSLOTS];
};

void
hub_store_disc_rcache_free(hub_store_t *self)
{
    if (self->rdisc) {
        for (size_t i = 0; i < S_RSLOTS; i++) {
            free(self->rdisc->slots[i].bytes);
        }
        free(self->rdisc);
        self->rdisc = NULL;
    }
}

// One pair of a map being merged: its key and the bytes of key and value.
// Read from the bytes (R), or from SPANS over BASE (a cached descriptor).
typedef struct {
    hub_mpr_t r;
    const s_span_t *spans;
    const uint8_t *base;
    size_t room;   // bytes its pairs take at most (all of the map's)
    uint32_t n;    // pairs in the map
    uint32_t left; // pairs not yet read
    const char *k;
    size_t klen;
    const uint8_t *start, *end; // the pair's bytes
} s_pairs_t;

// The size of the string key at P (LEFT > 0 bytes) when it is a fixstr or
// a str 8 that fits, its text into *K and *KLEN; else 0 (hub_mpr decides).
static size_t
s_fast_key(const uint8_t *p, size_t left, const char **k, size_t *klen)
{
    size_t h = (p[0] & 0xe0) == 0xa0 ? 1 : p[0] == 0xd9 && left >= 2 ? 2 : 0;
    size_t n = h == 1 ? (size_t) (p[0] & 0x1f) : h == 2 ? (size_t) p[1] : 0;
    if (h == 0 || n > left - h) {
        return 0;
    }
    *k = (const char *) p + h;
    *klen = n;
    return h + n;
}

// The size of the value at P (LEFT > 0 bytes) when its first bytes tell it
// and it fits: nil, a boolean, a positive fixint or uint, a negative
// fixint, a fixstr or str 8, a bin; else 0 (hub_mpr decides). Exactly what
// hub_mpr_skip() would pass over.
static size_t
s_fast_value(const uint8_t *p, size_t left)
{
    uint8_t t = p[0];
    uint64_t n;
    if (t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3) {
        return 1;
    }
    if ((t & 0xe0) == 0xa0) {
        n = 1 + (uint64_t) (t & 0x1f);
    } else if (t >= 0xcc && t <= 0xcf) {
        n = 1 + ((uint64_t) 1 << (t - 0xcc));
    } else if ((t == 0xc4 || t == 0xd9) && left >= 2) {
        n = 2 + (uint64_t) p[1];
    } else if (t == 0xc5 && left >= 3) {
        n = 3 + ((uint64_t) p[1] << 8 | p[2]);
    } else if (t == 0xc6 && left >= 5) {
        n = 5 + ((uint64_t) p[1] << 24 | (uint64_t) p[2] << 16 | (uint64_t) p[3] << 8 | p[4]);
    } else {
        return 0;
    }
    return n <= left ? (size_t) n : 0;
}

// Reads the next pair of P (none left: P->k NULL). HUB_EDECODE when
// malformed: the key is not a string, or the value is cut short.
static int
s_next(s_pairs_t *p)
{
    p->k = NULL;
    if (p->left == 0) {
        return HUB_OK;
    }
    p->left--;
    if (p->spans) {
        const s_span_t *s = &p->spans[p->n - p->left - 1];
        p->k = (const char *) p->base + s->kofs;
        p->klen = s->klen;
        p->start = p->base + s->start;
        p->end = p->base + s->end;
        return HUB_OK;
    }
    const uint8_t *at = p->r.p, *end = p->r.end;
    size_t kn = at < end ? s_fast_key(at, (size_t) (end - at), &p->k, &p->klen) : 0;
    size_t vn = kn && at + kn < end ? s_fast_value(at + kn, (size_t) (end - at) - kn) : 0;
    p->start = at;
    if (vn) {
        p->r.p = at + kn + vn;
    } else if (hub_mpr_str(&p->r, &p->k, &p->klen) || hub_mpr_skip(&p->r)) {
        return HUB_EDECODE;
    }
    p->end = p->r.p;
    return HUB_OK;
}

static int
s_open(s_pairs_t *p, const void *data, size_t len)
{
    hub_mp_obj_t m;
    p->spans = NULL;
    p->room = len;
    hub_mpr_init(&p->r, data, len);
    if (hub_mpr_next(&p->r, &m) || m.kind != HUB_MP_MAP) {
        return HUB_EDECODE;
    }
    p->n = p->left = m.len;
    return s_next(p);
}

// Canonical key order: bytewise, a prefix first. The first bytes settle
// most comparisons of a record's keys with a descriptor's.
static int
s_cmp(const s_pairs_t *a, const s_pairs_t *b)
{
    size_t n = a->klen < b->klen ? a->klen : b->klen;
    const uint8_t *x = (const uint8_t *) a->k, *y = (const uint8_t *) b->k;
    int c = n == 0 ? 0 : x[0] != y[0] ? x[0] - y[0] : memcmp(x, y, n);
    return c ? c : (a->klen > b->klen) - (a->klen < b->klen);
}

static bool
s_is_key(const s_pairs_t *p, const char *key, size_t n)
{
    return p->klen == n && memcmp(p->k, key, n) == 0;
}

// Appends the bytes from RUN to END to OUT (room reserved).
static void
s_flush(hub_buf_t *out, const uint8_t *run, const uint8_t *end)
{
    if (run != end) {
        memcpy(out->data + out->len, run, (size_t) (end - run));
        out->len += (size_t) (end - run);
    }
}

// What a merge saw of the keys it wrote.
typedef struct {
    unsigned nmsg; // "msg" keys
    bool odd;      // a key not in its shortest form (a writer other than hub_mpw)
} s_seen_t;

// Notes in M and SEEN what a reader of pair P wants (AT: where the pair
// goes, from the start of the record being written; FROM_REC: P is the
// record's).
static void
s_mark(hub_store_marks_t *m, s_seen_t *seen, const s_pairs_t *p, bool from_rec, size_t at)
{
    size_t head = (size_t) ((const uint8_t *) p->k - p->start);
    seen->odd |= head != (p->klen < 32 ? 1u : p->klen < 256 ? 2u : p->klen < 65536 ? 3u : 5u);
    if (s_is_key(p, "msg", 3)) {
        seen->nmsg++;
        m->msg_at = at;
    } else if (from_rec && !m->log_seq && s_is_key(p, "log_seq", 7)) {
        m->log_seq = (const uint8_t *) p->k + 7;
    }
}

// Writes the pairs of record REC and descriptor DESC to OUT (room
// reserved; the record began at START), in key order, without REC's
// "disclosure" (which it must hold exactly once: the map header written
// before counts on it). Pairs that lie end to end go in one copy.
static int
s_merge(hub_buf_t *out, size_t start, s_pairs_t *rec, s_pairs_t *desc, hub_store_marks_t *m)
{
    int rc = HUB_OK, dropped = 0;
    s_seen_t seen = {0, false};
    const uint8_t *run = NULL, *run_end = NULL; // bytes to copy, not yet copied
    while (!rc && (rec->k || desc->k)) {
        bool from_rec = rec->k && (!desc->k || s_cmp(rec, desc) < 0);
        s_pairs_t *p = from_rec ? rec : desc;
        if (from_rec && s_is_key(p, "disclosure", 10)) {
            dropped++;
        } else {
            if (p->start != run_end) {
                s_flush(out, run, run_end);
                run = p->start;
            }
            s_mark(m, &seen, p, from_rec, out->len - start + (size_t) (p->start - run));
            run_end = p->end;
        }
        rc = s_next(p);
    }
    s_flush(out, run, run_end);
    m->msg_at = seen.nmsg == 1 && !seen.odd ? m->msg_at : 0;
    return rc ? rc : dropped != 1 ? HUB_EDECODE : HUB_OK;
}

// Appends to OUT the record REC with its "disclosure" pair replaced by the
// pairs of the descriptor opened in B; M gets the marks. HUB_EDECODE (OUT
// as it was) when REC is not a map that holds "disclosure", or either is
// malformed.
static int
s_merge_all(const void *rec, size_t len, s_pairs_t *b, hub_buf_t *out, hub_store_marks_t *m)
{
    s_pairs_t a;
    size_t start = out->len;
    *m = (hub_store_marks_t){0, NULL};
    int rc = s_open(&a, rec, len);
    if (!rc && a.n == 0) {
        rc = HUB_EDECODE; // no "disclosure" to replace
    }
    // Room for it all at once: a map header, and at most every byte of both.
    if (!rc && hub_buf_reserve(out, 5 + len + b->room)) {
        rc = HUB_ENOMEM;
    }
    if (!rc) {
        hub_mpw_t w;
        hub_mpw_init(&w, out);
        hub_mpw_map(&w, (size_t) a.n - 1 + b->n);
        rc = s_merge(out, start, &a, b, m);
        rc = rc ? rc : hub_mpw_error(&w);
    }
    rc = rc                                                           ? rc
         : !hub_mpr_done(&a.r) || (!b->spans && !hub_mpr_done(&b->r)) ? HUB_EDECODE
                                                                      : HUB_OK;
    if (rc) {
        out->len = start;
    }
    return rc;
}

// Keeps descriptor V (under KEY) split into its pairs in SLOT. False when
// it cannot (out of memory, malformed, more pairs than a descriptor has):
// the caller reads it from the bytes.
static bool
s_rkeep(s_rslot_t *slot, const uint8_t key[HUB_STORE_HASH_SIZE], const MDB_val *v)
{
    s_pairs_t p;
    s_span_t spans[S_RPAIRS];
    uint8_t *bytes = malloc(v->mv_size ? v->mv_size : 1);
    if (!bytes) {
        return false;
    }
    memcpy(bytes, v->mv_data, v->mv_size);
    int rc = s_open(&p, bytes, v->mv_size);
    uint32_t n = 0;
    for (; !rc && p.k && n < S_RPAIRS; n++) {
        spans[n] = (s_span_t){(uint32_t) (p.start - bytes), (uint32_t) (p.end - bytes),
                              (uint32_t) ((const uint8_t *) p.k - bytes), (uint32_t) p.klen};
        rc = s_next(&p);
    }
    if (rc || p.k || !hub_mpr_done(&p.r)) {
        free(bytes); // the slot keeps what it held, untouched
        return false;
    }
    free(slot->bytes);
    slot->bytes = bytes;
    slot->len = v->mv_size;
    slot->n = n;
    memcpy(slot->spans, spans, sizeof spans);
    memcpy(slot->key, key, HUB_STORE_HASH_SIZE);
    return true;
}

// Opens D on descriptor KEY: from the reader's cache, else from TXN (and
// into the cache).
static int
s_desc(hub_store_t *self, MDB_txn *txn, const uint8_t key[HUB_STORE_HASH_SIZE], s_pairs_t *d)
{
    if (!self->rdisc) {
        self->rdisc = calloc(1, sizeof *self->rdisc);
    }
    s_rslot_t *slot = self->rdisc ? &self->rdisc->slots[key[0] % S_RSLOTS] : NULL;
    MDB_val v;
    if (!slot || !slot->bytes || memcmp(slot->key, key, HUB_STORE_HASH_SIZE) != 0) {
        int rc = s_get(self, txn, key, &v);
        if (rc) {
            return rc;
        }
        if (!slot || !s_rkeep(slot, key, &v)) {
            return s_open(d, v.mv_data, v.mv_size);
        }
    }
    *d = (s_pairs_t){.spans = slot->spans,
                     .base = slot->bytes,
                     .room = slot->len,
                     .n = slot->n,
                     .left = slot->n};
    return s_next(d);
}

// REC's "disclosure" into KEY, as hub_mpr_get_bin() finds it; at once when
// it is the first key, a bin 8 of 32 bytes (every record of format 3 has it
// so: "disclosure" sorts before the other keys).
static int
s_disc_key(const uint8_t *rec, size_t len, uint8_t key[HUB_STORE_HASH_SIZE])
{
    static const uint8_t head[] = {
        0xaa, 'd', 'i', 's', 'c', 'l', 'o', 's', 'u', 'r', 'e', 0xc4, HUB_STORE_HASH_SIZE};
    if (len >= 1 + sizeof head + HUB_STORE_HASH_SIZE && rec[0] > 0x80 && rec[0] <= 0x8f &&
        memcmp(rec + 1, head, sizeof head) == 0) {
        memcpy(key, rec + 1 + sizeof head, HUB_STORE_HASH_SIZE);
        return HUB_OK;
    }
    return hub_mpr_get_bin(rec, len, "disclosure", key, HUB_STORE_HASH_SIZE);
}

int
hub_store_disc_expand_marks(hub_store_t *self, MDB_txn *txn, const void *rec, size_t len,
                            hub_buf_t *out, hub_store_marks_t *m)
{
    uint8_t key[HUB_STORE_HASH_SIZE];
    *m = (hub_store_marks_t){0, NULL};
    int rc = s_disc_key(rec, len, key);
    if (rc == HUB_ENOTFOUND) {
        return hub_buf_append(out, rec, len); // format 2: whole already
    }
    s_pairs_t b;
    if (rc) {
        snprintf(self->err, sizeof self->err, "a record's disclosure is not 32 bytes");
        return HUB_EIO;
    }
    rc = s_desc(self, txn, key, &b);
    if (rc == HUB_EIO) {
        return rc; // missing or unreadable: s_get said which
    }
    rc = rc ? HUB_EDECODE : s_merge_all(rec, len, &b, out, m);
    if (rc) {
        snprintf(self->err, sizeof self->err, "%s",
                 rc == HUB_ENOMEM ? "out of memory" : "a damaged record or disclosure descriptor");
    }
    return rc == HUB_ENOMEM ? rc : rc ? HUB_EIO : HUB_OK;
}

int
hub_store_disc_expand(hub_store_t *self, MDB_txn *txn, const void *rec, size_t len, hub_buf_t *out)
{
    hub_store_marks_t m;
    return hub_store_disc_expand_marks(self, txn, rec, len, out, &m);
}

int
hub_store_disc_merge(const void *rec, size_t len, const void *desc, size_t dlen, hub_buf_t *out,
                     hub_store_marks_t *m)
{
    s_pairs_t b;
    hub_store_marks_t unused;
    m = m ? m : &unused;
    *m = (hub_store_marks_t){0, NULL};
    int rc = s_open(&b, desc, dlen);
    return rc ? rc : s_merge_all(rec, len, &b, out, m);
}

int
hub_store_disc_check(hub_store_t *self, MDB_txn *txn, const uint8_t key[HUB_STORE_HASH_SIZE],
                     const char **why)
{
    MDB_val v;
    uint8_t h[HUB_STORE_HASH_SIZE];
    *why = NULL;
    int rc = self->has_disc
                 ? hub_store_get(self, txn, HUB_STORE_DB_DISCLOSURE, key, HUB_STORE_HASH_SIZE, &v)
                 : HUB_ENOTFOUND;
    if (rc == HUB_ENOTFOUND) {
        *why = "its disclosure descriptor is missing";
        return HUB_EINVALID;
    }
    if (rc) {
        return rc;
    }
    crypto_generichash(h, sizeof h, v.mv_data, v.mv_size, NULL, 0);
    if (sodium_memcmp(h, key, sizeof h) != 0) {
        *why = "its disclosure descriptor does not match its hash";
        return HUB_EINVALID;
    }
    return HUB_OK;
}
