// fuzz_disc: the store's expansion of a record that names a disclosure
// descriptor (hub_store_disc_merge, the merge hub_store_record and
// hub_store_pending do for every format-3 queue and audit record) on
// arbitrary bytes: a damaged record or descriptor read from disk.
//
// Input: two bytes (big-endian) giving the record's length, the record,
// then the descriptor. Invariants:
//   - the outcome and the bytes are those of the reference below (the
//     merge as first written, pair by pair with hub_mpr alone): the
//     store's merge measures keys and scalars from their first bytes and
//     copies runs of pairs at once, and must not differ in any case;
//   - success: the output is exactly one msgpack map, whose pairs are the
//     record's but its "disclosure" plus the descriptor's;
//   - the marks: msg_at names the one "msg" key when every key is in its
//     shortest form, else 0; log_seq is the value hub_mpr_find() finds;
//   - failure: HUB_EDECODE and nothing appended.
#include "fuzz_util.h"
#include "hub_buf.h"
#include "hub_mpr.h"
#include "hub_mpw.h"
#include "hub_store_int.h"

#include <stddef.h>
#include <stdint.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

// The pairs of the map at the start of P (N bytes), or -1.
static long
s_pairs(const uint8_t *p, size_t n)
{
    hub_mpr_t r;
    hub_mp_obj_t m;
    hub_mpr_init(&r, p, n);
    return hub_mpr_next(&r, &m) == HUB_OK && m.kind == HUB_MP_MAP ? (long) m.len : -1;
}

// ---------------------------------------------------------------- reference

typedef struct {
    hub_mpr_t r;
    uint32_t n, left;
    const char *k;
    size_t klen;
    const uint8_t *start, *end;
} s_ref_t;

static int
s_ref_next(s_ref_t *p)
{
    p->k = NULL;
    if (p->left == 0) {
        return HUB_OK;
    }
    p->left--;
    p->start = p->r.p;
    if (hub_mpr_str(&p->r, &p->k, &p->klen) || hub_mpr_skip(&p->r)) {
        return HUB_EDECODE;
    }
    p->end = p->r.p;
    return HUB_OK;
}

static int
s_ref_open(s_ref_t *p, const uint8_t *data, size_t len)
{
    hub_mp_obj_t m;
    hub_mpr_init(&p->r, data, len);
    if (hub_mpr_next(&p->r, &m) || m.kind != HUB_MP_MAP) {
        return HUB_EDECODE;
    }
    p->n = p->left = m.len;
    return s_ref_next(p);
}

static int
s_ref_cmp(const s_ref_t *a, const s_ref_t *b)
{
    size_t n = a->klen < b->klen ? a->klen : b->klen;
    int c = memcmp(a->k, b->k, n);
    return c ? c : (a->klen > b->klen) - (a->klen < b->klen);
}

static int
s_ref_pairs(hub_mpw_t *w, s_ref_t *a, s_ref_t *b)
{
    int rc = HUB_OK, dropped = 0;
    while (!rc && (a->k || b->k)) {
        bool from_rec = a->k && (!b->k || s_ref_cmp(a, b) < 0);
        s_ref_t *p = from_rec ? a : b;
        if (from_rec && p->klen == 10 && memcmp(p->k, "disclosure", 10) == 0) {
            dropped++;
        } else {
            hub_mpw_raw(w, p->start, (size_t) (p->end - p->start));
        }
        rc = s_ref_next(p);
    }
    return rc ? rc : dropped != 1 ? HUB_EDECODE : hub_mpw_error(w);
}

static int
s_ref_merge(const uint8_t *rec, size_t len, const uint8_t *desc, size_t dlen, hub_buf_t *out)
{
    s_ref_t a, b;
    size_t start = out->len;
    int rc = s_ref_open(&b, desc, dlen);
    if (rc) {
        return rc;
    }
    rc = s_ref_open(&a, rec, len);
    rc = rc ? rc : a.n == 0 ? HUB_EDECODE : HUB_OK;
    if (!rc) {
        hub_mpw_t w;
        hub_mpw_init(&w, out);
        hub_mpw_map(&w, (size_t) a.n - 1 + b.n);
        rc = s_ref_pairs(&w, &a, &b);
    }
    rc = rc ? rc : !hub_mpr_done(&a.r) || !hub_mpr_done(&b.r) ? HUB_EDECODE : HUB_OK;
    if (rc) {
        out->len = start;
    }
    return rc;
}

// ---------------------------------------------------------------- marks

// The msg_at the merged map P (N bytes) should get: the offset of its one
// "msg" key when every key is in its shortest form, else 0.
static size_t
s_want_msg_at(const uint8_t *p, size_t n)
{
    hub_mpr_t r;
    hub_mp_obj_t m;
    size_t at = 0, nmsg = 0;
    bool odd = false;
    hub_mpr_init(&r, p, n);
    if (hub_mpr_next(&r, &m) != HUB_OK) {
        fu_fail("the merged map has no header");
    }
    for (uint32_t i = 0; i < m.len; i++) {
        const uint8_t *k = r.p;
        const char *s;
        size_t sn;
        if (hub_mpr_str(&r, &s, &sn) || hub_mpr_skip(&r)) {
            fu_fail("the merged map has a pair that does not read");
        }
        size_t head = (size_t) ((const uint8_t *) s - k);
        odd |= head != (sn < 32 ? 1u : sn < 256 ? 2u : sn < 65536 ? 3u : 5u);
        if (sn == 3 && memcmp(s, "msg", 3) == 0) {
            nmsg++;
            at = (size_t) (k - p);
        }
    }
    return nmsg == 1 && !odd ? at : 0;
}

static void
s_check_marks(const hub_store_marks_t *m, const uint8_t *rec, size_t len, const uint8_t *merged,
              size_t n)
{
    size_t want = s_want_msg_at(merged, n);
    if (m->msg_at != want) {
        fu_fail("msg_at is %zu, the merged map says %zu", m->msg_at, want);
    }
    hub_mpr_t r;
    hub_mpr_init(&r, rec, len);
    int rc = hub_mpr_find(&r, "log_seq");
    if (rc == HUB_OK ? m->log_seq != r.p : m->log_seq != NULL) {
        fu_fail("log_seq is marked at %p, hub_mpr_find says %p (%d)", (const void *) m->log_seq,
                (const void *) r.p, rc);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) {
        return 0;
    }
    size_t len = ((size_t) data[0] << 8 | data[1]);
    len = len < size - 2 ? len : size - 2;
    const uint8_t *rec = data + 2, *desc = rec + len;
    size_t dlen = size - 2 - len;
    hub_buf_t out = HUB_BUF_INIT, ref = HUB_BUF_INIT;
    hub_store_marks_t m;
    hub_buf_append(&out, "x", 1); // something before: it must stay as it is
    int rc = hub_store_disc_merge(rec, len, desc, dlen, &out, &m);
    int want = s_ref_merge(rec, len, desc, dlen, &ref);
    if (rc != want || out.len - 1 != ref.len ||
        (ref.len && memcmp(out.data + 1, ref.data, ref.len) != 0)) {
        fu_fail("the merge gave %d and %zu bytes, the reference %d and %zu bytes", rc, out.len - 1,
                want, ref.len);
    }
    if (rc == HUB_OK) {
        hub_mpr_t r;
        hub_mpr_init(&r, out.data + 1, out.len - 1);
        if (hub_mpr_skip(&r) != HUB_OK || !hub_mpr_done(&r)) {
            fu_fail("the merged record is not one msgpack value");
        }
        long got = s_pairs(out.data + 1, out.len - 1), a = s_pairs(rec, len),
             b = s_pairs(desc, dlen);
        if (got < 0 || a < 1 || b < 0 || got != a - 1 + b) {
            fu_fail("the merged map has %ld pairs, from %ld and %ld", got, a, b);
        }
        s_check_marks(&m, rec, len, out.data + 1, out.len - 1);
    } else if (rc != HUB_EDECODE || out.len != 1) {
        fu_fail("a refusal is HUB_EDECODE and appends nothing (rc %d, %zu bytes)", rc, out.len - 1);
    }
    hub_buf_free(&out);
    hub_buf_free(&ref);
    return 0;
}
