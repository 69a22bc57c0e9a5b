// DELIVER and DELIVER_BATCH bodies (hubd_deliver_map.c) from the deliveries
// hub_store_pending() lends, on a real LMDB store in a temporary directory.
// hubd writes the usual record in two copies around its "msg" key, which
// the store locates while it merges the record with its disclosure
// descriptor; the reference here is what hubd wrote before: the record
// expanded by sorting the pairs of both maps, then walked pair by pair.
// Every body must be the reference's bytes, whatever the record: format 3,
// format 2 (the pairs in the record), or written by some other hand (keys
// in a longer form, "msg" missing or twice); and a record or descriptor
// that is damaged or missing must fail as it always did.
#include "../../hub/hubd/hubd_deliver_map.h"
#include "hub_error.h"
#include "hub_mpr.h"
#include "hub_mpw.h"
#include "hub_route.h"
#include "hub_store.h"
#include "suites.h"
#include "testutil.h"

#include <CUnit/CUnit.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX 32 // deliveries a test reads at once

static tu_store_fix_t s_f;
static const uint8_t s_key[32] = {9};
static char s_eps[2][64]; // the two endpoints a dropout goes to

static int
s_init(void)
{
    if (tu_store_init(&s_f, "deliver")) {
        return 1;
    }
    tu_dropout(s_f.msg);
    return 0;
}

static int
s_cleanup(void)
{
    return tu_store_cleanup(&s_f);
}

// A new store in a fresh directory (S_F.dir) holding N dropouts: 2N
// deliveries, N to each of S_EPS. Closed again: LMDB allows one handle per
// process, and the tests read and write it raw too.
static void
s_new_store(size_t n)
{
    hub_store_t *st = NULL;
    CU_ASSERT_EQUAL_FATAL(hub_store_open(&st, tu_store_dir(&s_f), 0, 0, s_key, NULL), HUB_OK);
    CU_ASSERT_EQUAL_FATAL(hub_store_begin(st), HUB_OK);
    for (size_t i = 0; i < n; i++) {
        char id[33];
        hub_store_result_t res;
        snprintf(id, sizeof id, "%032zx", i + 1);
        hub_msg_set_env_str(s_f.msg, HUB_ENV_ID, id);
        CU_ASSERT_EQUAL_FATAL(tu_store_ingest(&s_f, st, s_key, NULL, "v1", 1000 + i, &res), HUB_OK);
        CU_ASSERT_EQUAL_FATAL(res.deliveries, 2);
    }
    CU_ASSERT_EQUAL_FATAL(hub_store_commit(st), HUB_OK);
    for (size_t i = 0; i < 2; i++) {
        snprintf(s_eps[i], sizeof s_eps[i], "%s", hub_route_at(s_f.route, i)->endpoint->id);
    }
    hub_store_destroy(&st);
}

// ---------------------------------------------------------------- raw LMDB

// Database NAME of store DIR, KEY (KLEN bytes): a copy of the value into
// GOT (when not NULL; emptied first), then the value replaced by PUT (PLEN
// bytes) when PUT is given, or deleted when DEL.
static void
s_raw(const char *name, const void *key, size_t klen, hub_buf_t *got, const void *put, size_t plen,
      bool del)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_val k = {klen, (void *) key}, v;
    CU_ASSERT_FATAL(mdb_env_create(&env) == 0 && mdb_env_set_maxdbs(env, 16) == 0 &&
                    mdb_env_open(env, s_f.dir, 0, 0600) == 0);
    CU_ASSERT_FATAL(mdb_txn_begin(env, NULL, 0, &txn) == 0 &&
                    mdb_dbi_open(txn, name, 0, &dbi) == 0);
    if (got) {
        got->len = 0;
        CU_ASSERT_FATAL(mdb_get(txn, dbi, &k, &v) == 0);
        CU_ASSERT_FATAL(hub_buf_append(got, v.mv_data, v.mv_size) == HUB_OK);
    }
    if (put) {
        v = (MDB_val){plen, (void *) put};
        CU_ASSERT_FATAL(mdb_put(txn, dbi, &k, &v, 0) == 0);
    } else if (del) {
        CU_ASSERT_FATAL(mdb_del(txn, dbi, &k, NULL) == 0);
    }
    CU_ASSERT_FATAL(mdb_txn_commit(txn) == 0);
    mdb_env_close(env);
}

// The queue key of ENDPOINT's delivery ESEQ into KEY; its length.
static size_t
s_qkey(uint8_t key[80], const char *ep, uint64_t eseq)
{
    size_t n = strlen(ep);
    memcpy(key, ep, n + 1);
    for (int i = 0; i < 8; i++) {
        key[n + 1 + i] = (uint8_t) (eseq >> (56 - 8 * i));
    }
    return n + 9;
}

static void
s_queue_get(const char *ep, uint64_t eseq, hub_buf_t *got)
{
    uint8_t key[80];
    s_raw("queue", key, s_qkey(key, ep, eseq), got, NULL, 0, false);
}

static void
s_queue_put(const char *ep, uint64_t eseq, const hub_buf_t *rec)
{
    uint8_t key[80];
    s_raw("queue", key, s_qkey(key, ep, eseq), NULL, rec->data, rec->len, false);
}

// ---------------------------------------------------------------- the reference

typedef struct {
    const uint8_t *k;
    size_t klen;
    const uint8_t *start, *end; // the pair
} s_kv_t;

// The pairs of map P (N bytes) into KV (at most MAX); how many.
static size_t
s_kvs(const uint8_t *p, size_t n, s_kv_t *kv, size_t max)
{
    hub_mpr_t r;
    hub_mp_obj_t m;
    hub_mpr_init(&r, p, n);
    CU_ASSERT_FATAL(hub_mpr_next(&r, &m) == HUB_OK && m.kind == HUB_MP_MAP && m.len <= max);
    for (uint32_t i = 0; i < m.len; i++) {
        const char *k;
        kv[i].start = r.p;
        CU_ASSERT_FATAL(hub_mpr_str(&r, &k, &kv[i].klen) == HUB_OK && hub_mpr_skip(&r) == HUB_OK);
        kv[i].k = (const uint8_t *) k;
        kv[i].end = r.p;
    }
    return m.len;
}

static int
s_kv_cmp(const s_kv_t *a, const s_kv_t *b)
{
    size_t n = a->klen < b->klen ? a->klen : b->klen;
    int c = memcmp(a->k, b->k, n);
    return c ? c : (a->klen > b->klen) - (a->klen < b->klen);
}

// The record REC as readers see it, into OUT: its pairs but "disclosure"
// and the pairs of descriptor DESC, sorted by key (insertion sort).
static void
s_ref_expand(const hub_buf_t *rec, const hub_buf_t *desc, hub_buf_t *out)
{
    s_kv_t kv[40], d[16];
    size_t n = 0, nd = s_kvs(desc->data, desc->len, d, 16);
    size_t nr = s_kvs(rec->data, rec->len, kv, 24);
    for (size_t i = 0; i < nr; i++) {
        if (kv[i].klen != 10 || memcmp(kv[i].k, "disclosure", 10) != 0) {
            kv[n++] = kv[i];
        }
    }
    memcpy(kv + n, d, nd * sizeof *d);
    n += nd;
    for (size_t i = 1; i < n; i++) {
        for (size_t j = i; j > 0 && s_kv_cmp(&kv[j - 1], &kv[j]) > 0; j--) {
            s_kv_t t = kv[j];
            kv[j] = kv[j - 1];
            kv[j - 1] = t;
        }
    }
    hub_mpw_t w;
    out->len = 0;
    hub_mpw_init(&w, out);
    hub_mpw_map(&w, n);
    for (size_t i = 0; i < n; i++) {
        hub_mpw_raw(&w, kv[i].start, (size_t) (kv[i].end - kv[i].start));
    }
    CU_ASSERT_FATAL(hub_mpw_error(&w) == HUB_OK);
}

// hubd's DELIVER body of D as it was written before (the record walked
// pair by pair), into W.
static bool
s_ref_map(const char *ep, const hub_store_delivery_t *d, hub_mpw_t *w)
{
    hub_mpr_t r;
    hub_mp_obj_t o;
    hub_mpr_init(&r, d->record, d->len);
    if (hub_mpr_next(&r, &o) != HUB_OK || o.kind != HUB_MP_MAP) {
        return false;
    }
    hub_mpw_map(w, o.len + 2);
    hub_mpw_cstr(w, "endpoint");
    hub_mpw_cstr(w, ep);
    hub_mpw_cstr(w, "seq");
    hub_mpw_uint(w, d->eseq);
    for (uint32_t i = 0; i < o.len; i++) {
        const char *k;
        size_t kn;
        if (hub_mpr_str(&r, &k, &kn) != HUB_OK) {
            return false;
        }
        const uint8_t *v = r.p;
        if (hub_mpr_skip(&r) != HUB_OK) {
            return false;
        }
        if (kn == 3 && memcmp(k, "msg", 3) == 0) {
            hub_mpw_cstr(w, "message");
        } else {
            hub_mpw_str(w, k, kn);
        }
        hub_mpw_raw(w, v, (size_t) (r.p - v));
    }
    return true;
}

// The reference DELIVER (N 1) or DELIVER_BATCH body of the N at DS.
static bool
s_ref_body(const char *ep, const hub_store_delivery_t *ds, size_t n, hub_buf_t *out)
{
    hub_mpw_t w;
    out->len = 0;
    hub_mpw_init(&w, out);
    if (n == 1) {
        return s_ref_map(ep, ds, &w) && hub_mpw_error(&w) == HUB_OK;
    }
    hub_mpw_map(&w, 2);
    hub_mpw_cstr(&w, "deliveries");
    hub_mpw_array(&w, n);
    for (size_t i = 0; i < n; i++) {
        if (!s_ref_map(ep, &ds[i], &w)) {
            return false;
        }
    }
    hub_mpw_cstr(&w, "endpoint");
    hub_mpw_cstr(&w, ep);
    return hub_mpw_error(&w) == HUB_OK;
}

// How many of the bodies of DS (N of them) differ from the reference's:
// each alone (DELIVER), and every run of them from the first (DELIVER_BATCH).
static int
s_body_mismatches(const char *ep, const hub_store_delivery_t *ds, size_t n)
{
    hub_buf_t got = HUB_BUF_INIT, want = HUB_BUF_INIT;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        bool a = hubd_deliver_body(ep, &ds[i], 1, &got), b = s_ref_body(ep, &ds[i], 1, &want);
        bad += a != b || got.len != want.len || memcmp(got.data, want.data, got.len) != 0;
    }
    for (size_t k = 2; k <= n; k++) {
        bool a = hubd_deliver_body(ep, ds, k, &got), b = s_ref_body(ep, ds, k, &want);
        bad += a != b || got.len != want.len || memcmp(got.data, want.data, got.len) != 0;
    }
    hub_buf_free(&got);
    hub_buf_free(&want);
    return bad;
}

// ---------------------------------------------------------------- records by hand

// A queue record naming descriptor KEY with delivery ESEQ: the record's
// seven keys in order, but: ID_STR8 writes "id" as a str 8; MSGS is how
// many "msg" pairs it has (0, 1, 2; the second follows the first),
// MSG_STR8 writes them as str 8.
static void
s_hand_record(hub_buf_t *out, const uint8_t key[32], uint64_t eseq, bool id_str8, int msgs,
              bool msg_str8)
{
    static const uint8_t id8[] = {0xd9, 2, 'i', 'd'}, msg8[] = {0xd9, 3, 'm', 's', 'g'};
    hub_mpw_t w;
    out->len = 0;
    hub_mpw_init(&w, out);
    hub_mpw_map(&w, 6 + (size_t) msgs);
    hub_mpw_cstr(&w, "disclosure");
    hub_mpw_bin(&w, key, 32);
    hub_mpw_cstr(&w, "eseq");
    hub_mpw_uint(&w, eseq);
    if (id_str8) {
        hub_mpw_raw(&w, id8, sizeof id8);
    } else {
        hub_mpw_cstr(&w, "id");
    }
    hub_mpw_cstr(&w, "0123456789abcdef0123456789abcdef");
    hub_mpw_cstr(&w, "log_seq");
    hub_mpw_uint(&w, 70000); // a uint 32
    for (int i = 0; i < msgs; i++) {
        if (msg_str8) {
            hub_mpw_raw(&w, msg8, sizeof msg8);
        } else {
            hub_mpw_cstr(&w, "msg");
        }
        hub_mpw_bin(&w, "\x81\xa1x\x01", 4 + (size_t) i);
    }
    hub_mpw_cstr(&w, "origin_id");
    hub_mpw_cstr(&w, "0123456789abcdef0123456789abcdef");
    hub_mpw_cstr(&w, "type");
    hub_mpw_cstr(&w, "student.enrolment_change");
    CU_ASSERT_FATAL(hub_mpw_error(&w) == HUB_OK);
}

// ---------------------------------------------------------------- tests

static void
test_deliveries_of_format_3_records_are_the_bytes_they_were(void)
{
    s_new_store(12);
    hub_buf_t want[2][12], rec = HUB_BUF_INIT, desc = HUB_BUF_INIT;
    uint8_t key[32];
    for (size_t e = 0; e < 2; e++) {
        for (size_t i = 0; i < 12; i++) {
            s_queue_get(s_eps[e], i + 1, &rec);
            CU_ASSERT_EQUAL_FATAL(hub_mpr_get_bin(rec.data, rec.len, "disclosure", key, 32),
                                  HUB_OK);
            s_raw("disclosure", key, 32, &desc, NULL, 0, false);
            want[e][i] = (hub_buf_t) HUB_BUF_INIT;
            s_ref_expand(&rec, &desc, &want[e][i]);
        }
    }
    hub_store_t *st = NULL;
    CU_ASSERT_EQUAL_FATAL(hub_store_open(&st, s_f.dir, 0, HUB_STORE_RDONLY, NULL, NULL), HUB_OK);
    for (size_t e = 0; e < 2; e++) {
        hub_store_delivery_t ds[S_MAX];
        size_t n = 0;
        CU_ASSERT_EQUAL_FATAL(hub_store_pending(st, s_eps[e], 0, ds, S_MAX, &n), HUB_OK);
        CU_ASSERT_EQUAL_FATAL(n, 12);
        for (size_t i = 0; i < n; i++) {
            // The record lent is the one sorting gives, and its "msg" is found.
            hub_buf_t *w = &want[e][i];
            CU_ASSERT(ds[i].len == w->len && memcmp(ds[i].record, w->data, w->len) == 0);
            CU_ASSERT(ds[i].msg_at > 0 && ds[i].msg_at + 4 < ds[i].len &&
                      memcmp((const uint8_t *) ds[i].record + ds[i].msg_at, "\xa3msg", 4) == 0);
            CU_ASSERT_EQUAL(ds[i].eseq, i + 1);
            CU_ASSERT_EQUAL(ds[i].log_seq, i + 1);
        }
        CU_ASSERT_EQUAL(s_body_mismatches(s_eps[e], ds, n), 0);
        // A later read (the descriptors cached now) lends the same.
        CU_ASSERT_EQUAL_FATAL(hub_store_pending(st, s_eps[e], 5, ds, 3, &n), HUB_OK);
        CU_ASSERT(n == 3 && ds[0].eseq == 6 && ds[0].len == want[e][5].len &&
                  memcmp(ds[0].record, want[e][5].data, ds[0].len) == 0);
        CU_ASSERT_EQUAL(s_body_mismatches(s_eps[e], ds, n), 0);
    }
    hub_store_destroy(&st);
    for (size_t e = 0; e < 2; e++) {
        for (size_t i = 0; i < 12; i++) {
            hub_buf_free(&want[e][i]);
        }
    }
    hub_buf_free(&rec);
    hub_buf_free(&desc);
}

// A store of format 2 kept the descriptor's pairs in each record: the
// record is lent as stored, walked, and the bodies are those of format 3.
static void
test_format_2_records_give_the_same_bodies(void)
{
    s_new_store(4);
    hub_store_t *st = NULL;
    hub_store_delivery_t ds[S_MAX];
    size_t n = 0;
    hub_buf_t whole[4], bodies = HUB_BUF_INIT, got = HUB_BUF_INIT;
    const char *ep = s_eps[1];
    CU_ASSERT_EQUAL_FATAL(hub_store_open(&st, s_f.dir, 0, HUB_STORE_RDONLY, NULL, NULL), HUB_OK);
    CU_ASSERT_EQUAL_FATAL(hub_store_pending(st, ep, 0, ds, S_MAX, &n), HUB_OK);
    CU_ASSERT_EQUAL_FATAL(n, 4);
    for (size_t i = 0; i < 4; i++) {
        whole[i] = (hub_buf_t) HUB_BUF_INIT;
        CU_ASSERT_FATAL(hub_buf_append(&whole[i], ds[i].record, ds[i].len) == HUB_OK);
    }
    CU_ASSERT_FATAL(hubd_deliver_body(ep, ds, 4, &bodies));
    hub_store_destroy(&st);
    for (size_t i = 0; i < 4; i++) {
        s_queue_put(ep, i + 1, &whole[i]); // as format 2 wrote it
    }
    CU_ASSERT_EQUAL_FATAL(hub_store_open(&st, s_f.dir, 0, HUB_STORE_RDONLY, NULL, NULL), HUB_OK);
    CU_ASSERT_EQUAL_FATAL(hub_store_pending(st, ep, 0, ds, S_MAX, &n), HUB_OK);
    CU_ASSERT_EQUAL_FATAL(n, 4);
    for (size_t i = 0; i < 4; i++) {
        CU_ASSERT(ds[i].len == whole[i].len &&
                  memcmp(ds[i].record, whole[i].data, whole[i].len) == 0);
        CU_ASSERT_EQUAL(ds[i].msg_at, 0);
        CU_ASSERT_EQUAL(ds[i].log_seq, i + 1);
        hub_buf_free(&whole[i]);
    }
    CU_ASSERT_EQUAL(s_body_mismatches(ep, ds, n), 0);
    CU_ASSERT_FATAL(hubd_deliver_body(ep, ds, 4, &got));
    CU_ASSERT(got.len == bodies.len && memcmp(got.data, bodies.data, got.len) == 0);
    hub_store_destroy(&st);
    hub_buf_free(&bodies);
    hub_buf_free(&got);
}

// Records another hand wrote: a key in a longer form than hub_mpw's, a
// "msg" key written long, none, or two. The store does not vouch for
// them, and they are walked to the bytes they always gave.
static void
test_records_written_otherwise_are_walked_to_the_same_bytes(void)
{
    static const struct {
        bool id_str8;
        int msgs;
        bool msg_str8;
        bool vouched;
    } cases[] = {
        {false, 1, false, true},  {true, 1, false, false},  {false, 1, true, false},
        {false, 0, false, false}, {false, 2, false, false},
    };
    size_t ncases = sizeof cases / sizeof cases[0];
    s_new_store(ncases);
    hub_buf_t rec = HUB_BUF_INIT;
    uint8_t key[32];
    const char *ep = s_eps[0];
    s_queue_get(ep, 1, &rec);
    CU_ASSERT_EQUAL_FATAL(hub_mpr_get_bin(rec.data, rec.len, "disclosure", key, 32), HUB_OK);
    for (size_t i = 0; i < ncases; i++) {
        s_hand_record(&rec, key, i + 1, cases[i].id_str8, cases[i].msgs, cases[i].msg_str8);
        s_queue_put(ep, i + 1, &rec);
    }
    hub_store_t *st = NULL;
    hub_store_delivery_t ds[S_MAX];
    size_t n = 0;
    CU_ASSERT_EQUAL_FATAL(hub_store_open(&st, s_f.dir, 0, HUB_STORE_RDONLY, NULL, NULL), HUB_OK);
    CU_ASSERT_EQUAL_FATAL(hub_store_pending(st, ep, 0, ds, S_MAX, &n), HUB_OK);
    CU_ASSERT_EQUAL_FATAL(n, ncases);
    for (size_t i = 0; i < n; i++) {
        CU_ASSERT_EQUAL(ds[i].msg_at != 0, cases[i].vouched);
        CU_ASSERT_EQUAL(ds[i].log_seq, 70000);
    }
    CU_ASSERT_EQUAL(s_body_mismatches(ep, ds, n), 0);
    hub_store_destroy(&st);
    hub_buf_free(&rec);
}

// Damage done to the first delivery of S_EPS[0] in a new store of two
// messages; what hub_store_pending() then says.
typedef enum {
    S_DESC_MISSING,
    S_DESC_STRAY_BYTE,
    S_DISC_31_BYTES,
    S_MSG_CUT_SHORT, // the record ends inside its message
    S_NO_LOG_SEQ,
    S_LOG_SEQ_STR,
    S_TWO_DISCLOSURES,
} s_damage_t;

// Record REC with its pair KEY's value (a uint or a bin) replaced by VAL
// (VLEN bytes of msgpack), or the key renamed to NEWKEY (same length).
static void
s_edit(hub_buf_t *rec, const char *k, const void *val, size_t vlen, const char *newkey)
{
    hub_mpr_t r;
    hub_mpr_init(&r, rec->data, rec->len);
    CU_ASSERT_FATAL(hub_mpr_find(&r, k) == HUB_OK);
    size_t at = hub_mpr_offset(&r);
    if (newkey) {
        memcpy(rec->data + at - strlen(k), newkey, strlen(k));
        return;
    }
    CU_ASSERT_FATAL(hub_mpr_skip(&r) == HUB_OK);
    size_t end = hub_mpr_offset(&r);
    hub_buf_t out = HUB_BUF_INIT;
    CU_ASSERT_FATAL(hub_buf_append(&out, rec->data, at) == HUB_OK &&
                    hub_buf_append(&out, val, vlen) == HUB_OK &&
                    hub_buf_append(&out, rec->data + end, rec->len - end) == HUB_OK);
    hub_buf_free(rec);
    *rec = out;
}

static void
s_damage(s_damage_t how)
{
    static const uint8_t key31[33] = {0xc4, 31}, str[] = {0xa1, '7'};
    hub_buf_t rec = HUB_BUF_INIT, desc = HUB_BUF_INIT;
    uint8_t key[32];
    s_new_store(2);
    s_queue_get(s_eps[0], 1, &rec);
    CU_ASSERT_EQUAL_FATAL(hub_mpr_get_bin(rec.data, rec.len, "disclosure", key, 32), HUB_OK);
    if (how == S_DESC_MISSING || how == S_DESC_STRAY_BYTE) {
        s_raw("disclosure", key, 32, &desc, NULL, 0, how == S_DESC_MISSING);
        if (how == S_DESC_STRAY_BYTE) {
            CU_ASSERT_FATAL(hub_buf_append(&desc, "\xc0", 1) == HUB_OK);
            s_raw("disclosure", key, 32, NULL, desc.data, desc.len, false);
        }
    } else {
        if (how == S_DISC_31_BYTES) {
            s_edit(&rec, "disclosure", key31, sizeof key31, NULL);
        } else if (how == S_MSG_CUT_SHORT) {
            hub_mpr_t r;
            hub_mpr_init(&r, rec.data, rec.len);
            CU_ASSERT_FATAL(hub_mpr_find(&r, "msg") == HUB_OK);
            rec.len = hub_mpr_offset(&r) + 10; // inside the message's bytes
        } else if (how == S_NO_LOG_SEQ) {
            s_edit(&rec, "log_seq", NULL, 0, "log_sex");
        } else if (how == S_LOG_SEQ_STR) {
            s_edit(&rec, "log_seq", str, sizeof str, NULL);
        } else {
            hub_buf_t two = HUB_BUF_INIT;
            hub_mpw_t w;
            hub_mpw_init(&w, &two);
            hub_mpr_t r;
            hub_mp_obj_t m;
            hub_mpr_init(&r, rec.data, rec.len);
            CU_ASSERT_FATAL(hub_mpr_next(&r, &m) == HUB_OK);
            hub_mpw_map(&w, m.len + 1);
            hub_mpw_cstr(&w, "disclosure");
            hub_mpw_bin(&w, key, 32);
            hub_mpw_raw(&w, r.p, rec.len - hub_mpr_offset(&r));
            hub_buf_free(&rec);
            rec = two;
        }
        s_queue_put(s_eps[0], 1, &rec);
    }
    hub_buf_free(&rec);
    hub_buf_free(&desc);
}

static void
test_damaged_records_and_descriptors_fail_as_they_did(void)
{
    static const struct {
        s_damage_t how;
        const char *why;
    } cases[] = {
        {S_DESC_MISSING, ": missing"},
        {S_DESC_STRAY_BYTE, "a damaged record or disclosure descriptor"},
        {S_DISC_31_BYTES, "a record's disclosure is not 32 bytes"},
        {S_MSG_CUT_SHORT, "a damaged record or disclosure descriptor"},
        {S_NO_LOG_SEQ, ": a damaged record"},
        {S_LOG_SEQ_STR, ": a damaged record"},
        {S_TWO_DISCLOSURES, "a damaged record or disclosure descriptor"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        s_damage(cases[i].how);
        hub_store_t *st = NULL;
        hub_store_delivery_t ds[S_MAX];
        size_t n = 99;
        CU_ASSERT_EQUAL_FATAL(hub_store_open(&st, s_f.dir, 0, HUB_STORE_RDONLY, NULL, NULL),
                              HUB_OK);
        CU_ASSERT_EQUAL(hub_store_pending(st, s_eps[0], 0, ds, S_MAX, &n), HUB_EIO);
        CU_ASSERT_EQUAL(n, 0);
        const char *err = hub_store_last_error(st);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, cases[i].why));
        if (!strstr(err, cases[i].why)) {
            fprintf(stderr, "case %zu: \"%s\", not \"%s\"\n", i, err, cases[i].why);
        }
        // Past a damaged record all is well; a damaged descriptor fails the
        // next record too (it names the same one). The other endpoint's
        // records name another.
        bool desc = cases[i].how == S_DESC_MISSING || cases[i].how == S_DESC_STRAY_BYTE;
        int rc = hub_store_pending(st, s_eps[0], 1, ds, S_MAX, &n);
        CU_ASSERT(desc ? rc == HUB_EIO && n == 0 : rc == HUB_OK && n == 1);
        CU_ASSERT(n == 0 || s_body_mismatches(s_eps[0], ds, n) == 0);
        CU_ASSERT(hub_store_pending(st, s_eps[1], 0, ds, S_MAX, &n) == HUB_OK && n == 2);
        hub_store_destroy(&st);
    }
}

void
test_deliver_register(void)
{
    CU_pSuite s = CU_add_suite("deliver", s_init, s_cleanup);
    CU_add_test(s, "deliveries of format 3 records are the bytes they were",
                test_deliveries_of_format_3_records_are_the_bytes_they_were);
    CU_add_test(s, "format 2 records give the same bodies",
                test_format_2_records_give_the_same_bodies);
    CU_add_test(s, "records written otherwise are walked to the same bytes",
                test_records_written_otherwise_are_walked_to_the_same_bytes);
    CU_add_test(s, "damaged records and descriptors fail as they did",
                test_damaged_records_and_descriptors_fail_as_they_did);
}
