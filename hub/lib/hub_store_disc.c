// hub_store: disclosure descriptors (store format 3). What a delivery
// discloses and why — the released fields with their rule and masking, the
// rules with their purposes and legal bases, the rule-set version — is the
// same for every message a rule set routes alike, so it is stored once,
// under the BLAKE2b-256 of its canonical msgpack, and the queue and audit
// records name it ("disclosure") instead of repeating it. The audit chain
// hashes the record with that name in it, and the name is the hash of the
// descriptor, so the chain still covers every byte (docs/STORE.md).
//
// The writer remembers the descriptors it has stored in a small table
// keyed by a signature of the delivery (pointers into the rule set that
// routed it, with the set's serial; or, without a route, the same facts as
// plain bytes), so a known one costs a lookup, not an encoding and a hash.
#include "hub_error.h"
#include "hub_mpr.h"
#include "hub_store.h"
#include "hub_store_int.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_SLOTS 512 // a power of two
#define S_FULL 384 // more known descriptors than this: start over

typedef struct {
    uint64_t h; // the signature's hash; 0: a free slot
    size_t len;
    uint8_t *sig;
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
    for (size_t i = 0; i < S_SLOTS; i++) {
        free(c->slots[i].sig);
    }
    memset(c, 0, sizeof *c);
    if (free_it) {
        free(c);
        self->disc = NULL;
    }
}

static uint64_t
s_hash(const uint8_t *p, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
    for (; n >= 8; p += 8, n -= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 29;
    }
    for (; n; p++, n--) {
        h = (h ^ *p) * 0x100000001b3ull;
    }
    h ^= h >> 32;
    return h ? h : 1;
}

// The slot of signature SIG (H its hash): the one holding it, or the free
// one where it belongs.
static s_slot_t *
s_slot(struct hub_store_disc_cache *c, uint64_t h, const uint8_t *sig, size_t len)
{
    for (size_t i = h & (S_SLOTS - 1);; i = (i + 1) & (S_SLOTS - 1)) {
        s_slot_t *s = &c->slots[i];
        if (s->h == 0 || (s->h == h && s->len == len && memcmp(s->sig, sig, len) == 0)) {
            return s;
        }
    }
}

// ---------------------------------------------------------------- signature

static int
s_sig_str(hub_buf_t *b, const char *s)
{
    // A tag keeps "no text" apart from any text.
    int rc = hub_buf_append(b, s ? "s" : "n", 1);
    return rc || !s ? rc : hub_buf_append(b, s, strlen(s) + 1);
}

// The facts a descriptor holds, as bytes: equal signatures, equal
// descriptors.
static int
s_signature(hub_store_t *self, const hub_store_ingest_t *in, const hub_store_disclosure_t *x)
{
    const hub_delivery_t *d = x->d;
    hub_buf_t *b = &self->sig;
    b->len = 0;
    int rc = s_sig_str(b, in->ruleset);
    for (size_t i = 0; i < d->nrules; i++) {
        rc |= s_sig_str(b, d->rules[i]->id);
        rc |= s_sig_str(b, d->rules[i]->purpose);
        rc |= s_sig_str(b, d->rules[i]->legal_basis);
    }
    rc |= hub_buf_append(b, "|", 1);
    for (size_t i = 0; i < d->nfields; i++) {
        const hub_release_t *f = &d->fields[i];
        if (x->released[i]) {
            uint8_t mask = (uint8_t) f->mask;
            rc |= s_sig_str(b, f->path);
            rc |= hub_buf_append(b, &mask, 1);
            rc |= s_sig_str(b, f->rule ? f->rule->id : NULL);
        }
    }
    return rc ? HUB_ENOMEM : HUB_OK;
}

static uint8_t *
s_word(uint8_t *p, const void *src, size_t n)
{
    memcpy(p, src, n);
    return p + n;
}

// The same facts as pointers into the rule set that routed the message
// (SERIAL, hub_route_rules_serial()): for one serial a rule or a path
// pointer always stands for the same text, so equal pointers mean equal
// descriptors, and a set loaded later (even at the same addresses) has
// another serial. The rule-set version the caller passes is kept as text.
// Copying pointers costs a fraction of copying the purposes and legal
// bases they point to (that was a tenth of ingest). Tagged 'p', apart
// from the text form.
static int
s_signature_ptrs(hub_store_t *self, const hub_store_ingest_t *in, const hub_store_disclosure_t *x,
                 uint64_t serial)
{
    const hub_delivery_t *d = x->d;
    size_t vlen = in->ruleset ? strlen(in->ruleset) + 1 : 0;
    size_t counts[3] = {vlen, d->nrules, x->nreleased};
    hub_buf_t *b = &self->sig;
    b->len = 0;
    if (hub_buf_reserve(b, 1 + sizeof serial + sizeof counts + vlen +
                               d->nrules * sizeof(void *) +
                               x->nreleased * (2 * sizeof(void *) + 1))) {
        return HUB_ENOMEM;
    }
    uint8_t *p = b->data;
    *p++ = 'p';
    p = s_word(p, &serial, sizeof serial);
    p = s_word(p, counts, sizeof counts);
    p = vlen ? s_word(p, in->ruleset, vlen) : p;
    p = d->nrules ? s_word(p, d->rules, d->nrules * sizeof(void *)) : p;
    for (size_t i = 0; i < d->nfields; i++) {
        const hub_release_t *f = &d->fields[i];
        if (x->released[i]) {
            p = s_word(p, &f->path, sizeof f->path);
            p = s_word(p, &f->rule, sizeof f->rule);
            *p++ = (uint8_t) f->mask;
        }
    }
    b->len = (size_t) (p - b->data);
    return HUB_OK;
}

// ---------------------------------------------------------------- writing

// Encodes X's descriptor into SELF->aux.
static int
s_descriptor(hub_store_t *self, const hub_store_ingest_t *in, const hub_store_disclosure_t *x)
{
    hub_mpw_t w;
    self->aux.len = 0;
    hub_mpw_init(&w, &self->aux);
    hub_mpw_map(&w, 5);
    hub_mpw_cstr(&w, "fields");
    hub_store_w_fields(&w, x);
    hub_mpw_cstr(&w, "legal_bases");
    hub_store_w_bases(&w, x->d);
    hub_mpw_cstr(&w, "purposes");
    hub_store_w_purposes(&w, x->d);
    hub_mpw_cstr(&w, "rules");
    hub_store_w_rules(&w, x->d);
    hub_mpw_cstr(&w, "ruleset");
    hub_mpw_cstr(&w, in->ruleset);
    return hub_mpw_error(&w);
}

// Stores the descriptor in SELF->aux under KEY unless it is there already.
static int
s_store(hub_store_t *self, const uint8_t key[HUB_STORE_HASH_SIZE])
{
    MDB_val v;
    int rc = hub_store_get(self, self->txn, HUB_STORE_DB_DISCLOSURE, key, HUB_STORE_HASH_SIZE, &v);
    if (rc == HUB_OK) {
        return HUB_OK;
    }
    return rc == HUB_ENOTFOUND ? hub_store_put(self, HUB_STORE_DB_DISCLOSURE, key,
                                               HUB_STORE_HASH_SIZE, self->aux.data,
                                               self->aux.len, MDB_NOOVERWRITE)
                               : hub_store_fail(self, rc);
}

static void
s_remember(hub_store_t *self, s_slot_t *s, uint64_t h, const uint8_t key[HUB_STORE_HASH_SIZE])
{
    struct hub_store_disc_cache *c = self->disc;
    uint8_t *sig = malloc(self->sig.len);
    if (!sig) {
        return; // not remembered: found again next time
    }
    memcpy(sig, self->sig.data, self->sig.len);
    *s = (s_slot_t){h, self->sig.len, sig, {0}};
    memcpy(s->key, key, HUB_STORE_HASH_SIZE);
    c->n++;
}

int
hub_store_disc_key(hub_store_t *self, const hub_store_ingest_t *in,
                   const hub_store_disclosure_t *x, uint8_t key[HUB_STORE_HASH_SIZE])
{
    if (!self->disc && !(self->disc = calloc(1, sizeof *self->disc))) {
        return hub_store_fail(self, HUB_ENOMEM);
    }
    if (self->disc->n >= S_FULL) {
        hub_store_disc_forget(self, false);
    }
    uint64_t serial = in->route ? hub_route_rules_serial(in->route) : 0;
    int rc = serial ? s_signature_ptrs(self, in, x, serial) : s_signature(self, in, x);
    if (rc) {
        return hub_store_fail(self, rc);
    }
    uint64_t h = s_hash(self->sig.data, self->sig.len);
    s_slot_t *s = s_slot(self->disc, h, self->sig.data, self->sig.len);
    if (s->h) {
        memcpy(key, s->key, HUB_STORE_HASH_SIZE);
        return HUB_OK;
    }
    rc = s_descriptor(self, in, x);
    if (rc) {
        return hub_store_fail(self, rc);
    }
    crypto_generichash(key, HUB_STORE_HASH_SIZE, self->aux.data, self->aux.len, NULL, 0);
    rc = s_store(self, key);
    if (!rc) {
        s_remember(self, s, h, key); // forgotten again if the batch fails
    }
    return rc;
}

// ---------------------------------------------------------------- reading

static int
s_get(hub_store_t *self, MDB_txn *txn, const uint8_t key[HUB_STORE_HASH_SIZE], MDB_val *v)
{
    int rc = self->has_disc ? hub_store_get(self, txn, HUB_STORE_DB_DISCLOSURE, key,
                                            HUB_STORE_HASH_SIZE, v)
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
#define S_RPAIRS 8 // a descriptor has 5 pairs

// Descriptors as read, split into their pairs: a reader expands thousands
// of records naming a few descriptors. They never change (a key is the
// hash of the bytes), so what was read once stays right.
typedef struct {
    uint8_t key[HUB_STORE_HASH_SIZE];
    uint8_t *bytes; // NULL: a free slot
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
    uint32_t n; // pairs in the map
    uint32_t left; // pairs not yet read
    const char *k;
    size_t klen;
    const uint8_t *start, *end; // the pair's bytes
} s_pairs_t;

// Reads the next pair of P (none left: P->k NULL). HUB_EDECODE when
// malformed.
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
    p->start = p->r.p;
    if (hub_mpr_str(&p->r, &p->k, &p->klen) || hub_mpr_skip(&p->r)) {
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
    hub_mpr_init(&p->r, data, len);
    if (hub_mpr_next(&p->r, &m) || m.kind != HUB_MP_MAP) {
        return HUB_EDECODE;
    }
    p->n = p->left = m.len;
    return s_next(p);
}

// Canonical key order: bytewise, a prefix first.
static int
s_cmp(const s_pairs_t *a, const s_pairs_t *b)
{
    size_t n = a->klen < b->klen ? a->klen : b->klen;
    int c = memcmp(a->k, b->k, n);
    return c ? c : (a->klen > b->klen) - (a->klen < b->klen);
}

static bool
s_is_disc(const s_pairs_t *p)
{
    return p->klen == 10 && memcmp(p->k, "disclosure", 10) == 0;
}

// Writes the pairs of record REC and descriptor DESC, in key order,
// without REC's "disclosure" (which it must hold exactly once: the map
// header written before counts on it).
static int
s_merge(hub_mpw_t *w, s_pairs_t *rec, s_pairs_t *desc)
{
    int rc = HUB_OK, dropped = 0;
    while (!rc && (rec->k || desc->k)) {
        bool from_rec = rec->k && (!desc->k || s_cmp(rec, desc) < 0);
        s_pairs_t *p = from_rec ? rec : desc;
        if (from_rec && s_is_disc(p)) {
            dropped++;
        } else {
            hub_mpw_raw(w, p->start, (size_t) (p->end - p->start));
        }
        rc = s_next(p);
    }
    return rc ? rc : dropped != 1 ? HUB_EDECODE : hub_mpw_error(w);
}

// Appends to OUT the record REC with its "disclosure" pair replaced by the
// pairs of the descriptor opened in B. HUB_EDECODE (OUT as it was) when
// REC is not a map that holds "disclosure", or either is malformed.
static int
s_merge_all(const void *rec, size_t len, s_pairs_t *b, hub_buf_t *out)
{
    s_pairs_t a;
    size_t start = out->len;
    hub_mpw_t w;
    hub_mpw_init(&w, out);
    int rc = s_open(&a, rec, len);
    if (!rc && a.n == 0) {
        rc = HUB_EDECODE; // no "disclosure" to replace
    }
    if (!rc) {
        hub_mpw_map(&w, (size_t) a.n - 1 + b->n);
        rc = s_merge(&w, &a, b);
    }
    rc = rc ? rc : !hub_mpr_done(&a.r) || (!b->spans && !hub_mpr_done(&b->r)) ? HUB_EDECODE : HUB_OK;
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
    *d = (s_pairs_t){.spans = slot->spans, .base = slot->bytes, .n = slot->n, .left = slot->n};
    return s_next(d);
}

int
hub_store_disc_expand(hub_store_t *self, MDB_txn *txn, const void *rec, size_t len,
                      hub_buf_t *out)
{
    uint8_t key[HUB_STORE_HASH_SIZE];
    int rc = hub_mpr_get_bin(rec, len, "disclosure", key, sizeof key);
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
    rc = rc ? HUB_EDECODE : s_merge_all(rec, len, &b, out);
    if (rc) {
        snprintf(self->err, sizeof self->err, "%s", rc == HUB_ENOMEM ? "out of memory"
                 : "a damaged record or disclosure descriptor");
    }
    return rc == HUB_ENOMEM ? rc : rc ? HUB_EIO : HUB_OK;
}

int
hub_store_disc_merge(const void *rec, size_t len, const void *desc, size_t dlen, hub_buf_t *out)
{
    s_pairs_t b;
    int rc = s_open(&b, desc, dlen);
    return rc ? rc : s_merge_all(rec, len, &b, out);
}

int
hub_store_disc_check(hub_store_t *self, MDB_txn *txn, const uint8_t key[HUB_STORE_HASH_SIZE],
                     const char **why)
{
    MDB_val v;
    uint8_t h[HUB_STORE_HASH_SIZE];
    *why = NULL;
    int rc = self->has_disc ? hub_store_get(self, txn, HUB_STORE_DB_DISCLOSURE, key,
                                            HUB_STORE_HASH_SIZE, &v)
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
