// hub_store: preparing a message for ingest, apart from writing it. All
// that does not depend on the batch — the delivered messages encoded, each
// delivery's disclosure descriptor and its key, the subject key — is worked
// out here, with no LMDB, into one self-contained byte string
// (hub_store_prepare()); the batch then adds the sequences, the dedup claim
// and the audit chain (hub_store_apply(), hub_store_ingest.c). So one
// thread can prepare while another writes and commits.
//
// A preparer keeps the descriptors it has made in a small table keyed by a
// signature of the delivery (pointers into the rule set that routed it,
// with the set's serial; or, without a route, the same facts as plain
// bytes), so a known one costs a lookup, not an encoding and a hash. A
// descriptor depends on nothing but what its signature holds, so the table
// never goes stale; it only starts over when full.
//
// The prepared form (native byte order: it never leaves the process):
//   source\0 id\0 type\0 u8 has_ruleset [ruleset\0] u64 now_ms
//   u32 len, message bytes; u8 keys [32 subject key] [32 event key];
//   u32 deliveries and for each delivery: endpoint\0 id\0 type\0
//   [32 descriptor key] u32 len, descriptor bytes; u32 len, delivered
//   message bytes
// KEYS says which keys follow (HUB_STORE_PREP_SUBJECT, _EVENT). It was
// once a has_subject byte (0 or 1), so bytes prepared before event keys
// (the fuzz corpus) still read the same: no event key.
#include "hub_codec.h"
#include "hub_error.h"
#include "hub_store.h"
#include "hub_store_int.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define S_SLOTS 512 // a power of two
#define S_FULL 384  // more known descriptors than this: start over

typedef struct {
    uint64_t h; // the signature's hash; 0: a free slot
    size_t len;
    uint8_t *sig; // the signature, then the descriptor (one allocation)
    size_t desc_len;
    uint8_t key[HUB_STORE_HASH_SIZE];
} s_slot_t;

struct hub_store_prep {
    const hub_store_t *store; // for the subject and event keys (fixed once open)
    s_slot_t slots[S_SLOTS];
    size_t n;
    hub_buf_t sig;  // scratch: a signature
    hub_buf_t desc; // scratch: a descriptor
};

int
hub_store_prep_new(hub_store_prep_t **out, const hub_store_t *store)
{
    hub_store_prep_t *self = calloc(1, sizeof *self);
    if (!self) {
        return HUB_ENOMEM;
    }
    self->store = store;
    *out = self;
    return HUB_OK;
}

static void
s_forget(hub_store_prep_t *self)
{
    for (size_t i = 0; i < S_SLOTS; i++) {
        free(self->slots[i].sig);
    }
    memset(self->slots, 0, sizeof self->slots);
    self->n = 0;
}

void
hub_store_prep_destroy(hub_store_prep_t **self_p)
{
    hub_store_prep_t *self = self_p ? *self_p : NULL;
    if (!self) {
        return;
    }
    s_forget(self);
    hub_buf_free(&self->sig);
    hub_buf_free(&self->desc);
    free(self);
    *self_p = NULL;
}

// ------------------------------------------------------- descriptor parts

void
hub_store_w_fields(hub_mpw_t *w, const hub_store_disclosure_t *x)
{
    hub_mpw_array(w, x->nreleased);
    for (size_t i = 0; i < x->d->nfields; i++) {
        const hub_release_t *f = &x->d->fields[i];
        if (x->released[i]) {
            hub_mpw_map(w, 3);
            hub_mpw_cstr(w, "mask");
            hub_mpw_cstr(w, hub_mask_name(f->mask));
            hub_mpw_cstr(w, "path");
            hub_mpw_cstr(w, f->path);
            hub_mpw_cstr(w, "rule");
            hub_mpw_cstr(w, f->rule ? f->rule->id : NULL);
        }
    }
}

void
hub_store_w_rules(hub_mpw_t *w, const hub_delivery_t *d)
{
    hub_mpw_array(w, d->nrules);
    for (size_t i = 0; i < d->nrules; i++) {
        hub_mpw_cstr(w, d->rules[i]->id);
    }
}

void
hub_store_w_purposes(hub_mpw_t *w, const hub_delivery_t *d)
{
    hub_mpw_array(w, d->nrules);
    for (size_t i = 0; i < d->nrules; i++) {
        hub_mpw_cstr(w, d->rules[i]->purpose);
    }
}

void
hub_store_w_bases(hub_mpw_t *w, const hub_delivery_t *d)
{
    hub_mpw_array(w, d->nrules);
    for (size_t i = 0; i < d->nrules; i++) {
        hub_mpw_cstr(w, d->rules[i]->legal_basis);
    }
}

// ---------------------------------------------------------------- the cache

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
s_slot(hub_store_prep_t *self, uint64_t h, const uint8_t *sig, size_t len)
{
    for (size_t i = h & (S_SLOTS - 1);; i = (i + 1) & (S_SLOTS - 1)) {
        s_slot_t *s = &self->slots[i];
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
s_signature(hub_store_prep_t *self, const hub_store_ingest_t *in, const hub_store_disclosure_t *x)
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
s_signature_ptrs(hub_store_prep_t *self, const hub_store_ingest_t *in,
                 const hub_store_disclosure_t *x, uint64_t serial)
{
    const hub_delivery_t *d = x->d;
    size_t vlen = in->ruleset ? strlen(in->ruleset) + 1 : 0;
    size_t counts[3] = {vlen, d->nrules, x->nreleased};
    hub_buf_t *b = &self->sig;
    b->len = 0;
    if (hub_buf_reserve(b, 1 + sizeof serial + sizeof counts + vlen + d->nrules * sizeof(void *) +
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

// ------------------------------------------------------------ descriptors

// Encodes X's descriptor into SELF->desc.
static int
s_descriptor(hub_store_prep_t *self, const hub_store_ingest_t *in, const hub_store_disclosure_t *x)
{
    hub_mpw_t w;
    self->desc.len = 0;
    hub_mpw_init(&w, &self->desc);
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

// Keeps signature SELF->sig (hash H) with descriptor SELF->desc and its
// KEY in slot S (out of memory: not kept, made again next time).
static void
s_remember(hub_store_prep_t *self, s_slot_t *s, uint64_t h, const uint8_t *key)
{
    uint8_t *mem = malloc(self->sig.len + self->desc.len);
    if (!mem) {
        return;
    }
    memcpy(mem, self->sig.data, self->sig.len);
    memcpy(mem + self->sig.len, self->desc.data, self->desc.len);
    *s = (s_slot_t){h, self->sig.len, mem, self->desc.len, {0}};
    memcpy(s->key, key, HUB_STORE_HASH_SIZE);
    self->n++;
}

// X's descriptor: *DESC (*LEN bytes, valid until the next call) and its
// key, the BLAKE2b-256 of those bytes, into X->disc.
static int
s_describe(hub_store_prep_t *self, const hub_store_ingest_t *in, hub_store_disclosure_t *x,
           const uint8_t **desc, size_t *len)
{
    if (self->n >= S_FULL) {
        s_forget(self);
    }
    uint64_t serial = in->route ? hub_route_rules_serial(in->route) : 0;
    int rc = serial ? s_signature_ptrs(self, in, x, serial) : s_signature(self, in, x);
    if (rc) {
        return rc;
    }
    uint64_t h = s_hash(self->sig.data, self->sig.len);
    s_slot_t *s = s_slot(self, h, self->sig.data, self->sig.len);
    if (s->h) {
        memcpy(x->disc, s->key, HUB_STORE_HASH_SIZE);
        *desc = s->sig + s->len;
        *len = s->desc_len;
        return HUB_OK;
    }
    rc = s_descriptor(self, in, x);
    if (rc) {
        return rc;
    }
    crypto_generichash(x->disc, HUB_STORE_HASH_SIZE, self->desc.data, self->desc.len, NULL, 0);
    *desc = self->desc.data;
    *len = self->desc.len;
    s_remember(self, s, h, x->disc);
    return HUB_OK;
}

// ---------------------------------------------------------------- preparing

// Which of D's released fields are disclosed: not dropped, and present
// in the delivered message (a rule may list a field the message lacks),
// as the route that built the message found.
static void
s_disclosed(hub_store_disclosure_t *x)
{
    const hub_delivery_t *d = x->d;
    x->nreleased = 0;
    for (size_t i = 0; i < d->nfields; i++) {
        x->released[i] = d->fields[i].present;
        x->nreleased += x->released[i];
    }
}

static int
s_put_str(hub_buf_t *out, const char *s)
{
    return hub_buf_append(out, s, strlen(s) + 1);
}

static int
s_put_bytes(hub_buf_t *out, const void *p, size_t n)
{
    uint32_t n32 = (uint32_t) n;
    int rc = hub_buf_append(out, &n32, sizeof n32);
    return rc ? rc : hub_buf_append(out, p, n);
}

// MSG encoded straight into OUT after its u32 length (no scratch copy).
static int
s_put_msg(hub_buf_t *out, const hub_msg_t *msg)
{
    size_t at = out->len;
    uint32_t n32 = 0;
    int rc = hub_buf_append(out, &n32, sizeof n32);
    rc = rc ? rc : hub_codec_encode(msg, out);
    if (rc == HUB_OK) {
        n32 = (uint32_t) (out->len - at - sizeof n32);
        memcpy(out->data + at, &n32, sizeof n32);
    }
    return rc;
}

// One delivery, prepared.
static int
s_delivery(hub_store_prep_t *self, const hub_store_ingest_t *in, const hub_delivery_t *d,
           hub_buf_t *out)
{
    hub_store_disclosure_t x;
    const uint8_t *desc;
    size_t dlen;
    // A derived message has its own id and type; a forwarded one keeps
    // the source's (the projection always carries both, but be safe).
    x.d = d;
    x.id = hub_msg_env_str(d->msg, HUB_ENV_ID);
    x.type = hub_msg_env_str(d->msg, HUB_ENV_TYPE);
    x.id = *x.id ? x.id : in->id;
    x.type = *x.type ? x.type : in->type;
    s_disclosed(&x);
    int rc = s_describe(self, in, &x, &desc, &dlen);
    rc = rc ? rc : s_put_str(out, d->endpoint->id);
    rc = rc ? rc : s_put_str(out, x.id);
    rc = rc ? rc : s_put_str(out, x.type);
    rc = rc ? rc : hub_buf_append(out, x.disc, sizeof x.disc);
    rc = rc ? rc : s_put_bytes(out, desc, dlen);
    return rc ? rc : s_put_msg(out, d->msg);
}

// Refuses what cannot be stored: parts missing, or keys LMDB cannot hold
// (sources, ids and endpoint names are short, so that is a caller's bug).
static int
s_check(const hub_store_ingest_t *in)
{
    if (!in || !in->source || !in->id || !in->type || (!in->bytes && in->len) ||
        in->len > UINT32_MAX || strlen(in->source) + 1 + strlen(in->id) > HUB_STORE_KEY_MAX) {
        return HUB_EINVAL;
    }
    size_t n = in->route ? hub_route_count(in->route) : 0;
    for (size_t i = 0; i < n; i++) {
        const hub_delivery_t *d = hub_route_at(in->route, i);
        if (!d->endpoint || !d->endpoint->id || !d->msg ||
            strlen(d->endpoint->id) + 9 > HUB_STORE_KEY_MAX) {
            return HUB_EINVAL;
        }
    }
    return HUB_OK;
}

int
hub_store_event_key(const hub_store_t *self, const char *field, const char *value,
                    uint8_t out[HUB_STORE_HASH_SIZE])
{
    static const char tag[] = "one_event:"; // apart from subject keys and mask pseudonyms
    if (!self || !field || !value) {
        return HUB_EINVAL;
    }
    if (strcmp(field, "subject.citizen_id") == 0) {
        return hub_store_subject_key(self, value, out);
    }
    if (!self->has_key) {
        return HUB_EINVAL;
    }
    // The field's NUL ends it: no field and value run together as another's.
    const void *p[] = {tag, field, value};
    size_t len[] = {sizeof tag - 1, strlen(field) + 1, strlen(value)};
    hub_store_keyed(self, p, len, 3, out);
    return HUB_OK;
}

// IN's subject and event keys into SUBJECT and EVENT; the flags of those
// made (a store without a key makes none: it cannot apply them anyway).
static uint8_t
s_keys(const hub_store_prep_t *self, const hub_store_ingest_t *in,
       uint8_t subject[HUB_STORE_HASH_SIZE], uint8_t event[HUB_STORE_HASH_SIZE])
{
    uint8_t keys = 0;
    if (in->subject_cid && hub_store_subject_key(self->store, in->subject_cid, subject) == HUB_OK) {
        keys |= HUB_STORE_PREP_SUBJECT;
    }
    if (in->event_field && in->event_value &&
        hub_store_event_key(self->store, in->event_field, in->event_value, event) == HUB_OK) {
        keys |= HUB_STORE_PREP_EVENT;
    }
    return keys;
}

int
hub_store_prepare(hub_store_prep_t *self, const hub_store_ingest_t *in, hub_buf_t *out)
{
    int rc = s_check(in);
    if (rc) {
        return rc;
    }
    size_t at = out->len;
    uint8_t has_ruleset = in->ruleset != NULL;
    uint8_t subject[HUB_STORE_HASH_SIZE], event[HUB_STORE_HASH_SIZE];
    uint8_t keys = s_keys(self, in, subject, event);
    uint32_t n = in->route ? (uint32_t) hub_route_count(in->route) : 0;
    rc = s_put_str(out, in->source);
    rc = rc ? rc : s_put_str(out, in->id);
    rc = rc ? rc : s_put_str(out, in->type);
    rc = rc ? rc : hub_buf_append(out, &has_ruleset, 1);
    rc = rc || !has_ruleset ? rc : s_put_str(out, in->ruleset);
    rc = rc ? rc : hub_buf_append(out, &in->now_ms, sizeof in->now_ms);
    rc = rc ? rc : s_put_bytes(out, in->bytes, in->len);
    rc = rc ? rc : hub_buf_append(out, &keys, 1);
    rc = rc || !(keys & HUB_STORE_PREP_SUBJECT) ? rc : hub_buf_append(out, subject, sizeof subject);
    rc = rc || !(keys & HUB_STORE_PREP_EVENT) ? rc : hub_buf_append(out, event, sizeof event);
    rc = rc ? rc : hub_buf_append(out, &n, sizeof n);
    for (uint32_t i = 0; i < n && !rc; i++) {
        rc = s_delivery(self, in, hub_route_at(in->route, i), out);
    }
    if (rc) {
        out->len = at;
    }
    return rc;
}
