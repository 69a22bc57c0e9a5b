// fuzz_mpr: the bounded msgpack reader (hub_mpr) on arbitrary bytes, read
// the way hubd reads a client's command body (hub/hubd: HELLO, PUBLISH,
// PUBLISH_BATCH, SUBSCRIBE, DACK, CREDIT, the admin socket's requests): the
// body is whatever a peer sent, so every read must stay inside it.
//
// Input: the body. The reads run on an exact-size copy (ASan sees any read
// past it). Invariants:
//   - hub_mpr_next: an object lies within the bytes (its payload too), the
//     cursor only moves forward and, on an error, not at all;
//   - hub_mpr_skip moves exactly as far as a recursive reference walk with
//     hub_mpr_next (to the depth the reference goes), or fails where it does;
//   - hub_mpr_pick agrees with hub_mpr_find key by key (the same value
//     positions; when pick refuses a broken map, find finds a key only
//     before the break) and leaves the cursor where hub_mpr_skip does;
//   - hub_mpr_get_uint / hub_mpr_get_bin agree with find + uint / bin;
//   - hubd's walks (a PUBLISH_BATCH's messages, a dlq request's seqs) end.
#include "fuzz_util.h"
#include "hub_mpr.h"

#include <stddef.h>
#include <stdint.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define S_REF_DEPTH 64

// The keys hubd and its admin socket read from bodies.
static const char *const s_keys[] = {
    "protocol", "ref",   "message", "messages", "endpoint", "credit", "batch", "seq",   "seqs",
    "to",       "token", "client",  "",         "msg",      "cmd",    "user",  "agent", "role",
};
#define S_NKEYS (sizeof s_keys / sizeof s_keys[0])

// Reads the next object, checking it lies within the input.
static int
s_next(hub_mpr_t *r, hub_mp_obj_t *o)
{
    hub_mpr_t was = *r;
    int rc = hub_mpr_next(r, o);
    if (rc != HUB_OK) {
        if (rc != HUB_EDECODE || r->p != was.p) {
            fu_fail("hub_mpr_next failed with %s and moved", hub_error_name(rc));
        }
        return rc;
    }
    if (r->p <= was.p || r->p > r->end) {
        fu_fail("hub_mpr_next did not move forward within the input");
    }
    bool payload = o->kind == HUB_MP_STR || o->kind == HUB_MP_BIN || o->kind == HUB_MP_EXT;
    if (payload && (o->data < was.p || o->data + o->len != r->p)) {
        fu_fail("a payload lies outside its object");
    }
    uint64_t need = o->kind == HUB_MP_ARRAY ? o->len : o->kind == HUB_MP_MAP ? 2ull * o->len : 0;
    if (need > (uint64_t) (r->end - r->p)) {
        fu_fail("a count larger than the bytes left was accepted");
    }
    return HUB_OK;
}

// The reference skip: 1 when it moved past one whole value, 0 on a
// malformed value, -1 when it went too deep to say.
static int
s_ref_skip(hub_mpr_t *r, unsigned depth)
{
    hub_mp_obj_t o;
    if (depth > S_REF_DEPTH) {
        return -1;
    }
    if (s_next(r, &o) != HUB_OK) {
        return 0;
    }
    uint64_t items = o.kind == HUB_MP_ARRAY ? o.len : o.kind == HUB_MP_MAP ? 2ull * o.len : 0;
    for (uint64_t i = 0; i < items; i++) {
        int rc = s_ref_skip(r, depth + 1);
        if (rc != 1) {
            return rc;
        }
    }
    return 1;
}

static void
s_check_skip(hub_mpr_t at)
{
    hub_mpr_t ref = at, r = at;
    int want = s_ref_skip(&ref, 0);
    int rc = hub_mpr_skip(&r);
    if (want < 0) {
        return;
    }
    if ((rc == HUB_OK) != (want == 1) || (rc == HUB_OK && r.p != ref.p) ||
        (rc != HUB_OK && r.p != at.p)) {
        fu_fail("hub_mpr_skip disagrees with the reference walk");
    }
}

static void
s_check_keys(hub_mpr_t at)
{
    hub_mpr_t vals[S_NKEYS], picked = at, skipped = at;
    int64_t found = hub_mpr_pick(&picked, s_keys, S_NKEYS, vals);
    bool skips = hub_mpr_skip(&skipped) == HUB_OK;
    if (found >= 0 && (!skips || picked.p != skipped.p)) {
        fu_fail("hub_mpr_pick left the cursor elsewhere than hub_mpr_skip");
    }
    if (found < 0 && picked.p != at.p) {
        fu_fail("a failed hub_mpr_pick moved the cursor");
    }
    for (size_t i = 0; i < S_NKEYS; i++) {
        hub_mpr_t f = at;
        int rc = hub_mpr_find(&f, s_keys[i]);
        if (rc != HUB_OK && f.p != at.p) {
            fu_fail("a failed hub_mpr_find moved the cursor");
        }
        if (found >= 0) {
            bool bit = found & (INT64_C(1) << i);
            if (bit != (rc == HUB_OK) || (bit && vals[i].p != f.p) ||
                (!bit && rc != HUB_ENOTFOUND)) {
                fu_fail("pick and find disagree on key '%s'", s_keys[i]);
            }
        } else if (rc == HUB_ENOTFOUND) {
            fu_fail("find went through a map that pick found broken ('%s')", s_keys[i]);
        }
        uint64_t u = 0, u2 = 0;
        hub_mpr_t fu = f, fb = f;
        int urc = hub_mpr_get_uint(at.p, (size_t) (at.end - at.p), s_keys[i], &u);
        int want = rc ? rc : hub_mpr_uint(&fu, &u2);
        if (urc != want || (urc == HUB_OK && u != u2)) {
            fu_fail("hub_mpr_get_uint disagrees with find + uint on '%s'", s_keys[i]);
        }
        uint8_t key[32];
        const void *bp = NULL;
        size_t bn = 0;
        int brc = hub_mpr_get_bin(at.p, (size_t) (at.end - at.p), s_keys[i], key, sizeof key);
        bool bin = rc == HUB_OK && hub_mpr_bin(&fb, &bp, &bn) == HUB_OK && bn == sizeof key;
        if ((brc == HUB_OK) != bin || (bin && memcmp(key, bp, sizeof key) != 0)) {
            fu_fail("hub_mpr_get_bin disagrees with find + bin on '%s'", s_keys[i]);
        }
    }
}

// hubd_on_publish_batch's walk over "messages": bins, a non-bin skipped,
// nothing past a value that cannot be skipped.
static void
s_publish_batch(hub_mpr_t r)
{
    hub_mp_obj_t o;
    if (hub_mpr_find(&r, "messages") != HUB_OK || hub_mpr_next(&r, &o) != HUB_OK ||
        o.kind != HUB_MP_ARRAY) {
        return;
    }
    bool broken = false;
    for (uint32_t i = 0; i < o.len; i++) {
        const void *bytes = NULL;
        size_t n = 0;
        const uint8_t *was = r.p;
        if (!broken && hub_mpr_bin(&r, &bytes, &n) == HUB_OK) {
            if ((const uint8_t *) bytes < was || (const uint8_t *) bytes + n > r.end) {
                fu_fail("messages[%u] lies outside the body", (unsigned) i);
            }
            continue;
        }
        broken = broken || hub_mpr_skip(&r) != HUB_OK;
    }
}

// hubd_admin's dlq "seqs": an array of uints.
static void
s_seqs(hub_mpr_t r)
{
    hub_mp_obj_t o;
    if (hub_mpr_find(&r, "seqs") || hub_mpr_next(&r, &o) || o.kind != HUB_MP_ARRAY) {
        return;
    }
    for (uint32_t i = 0; i < o.len && i < 1000; i++) {
        uint64_t seq;
        if (hub_mpr_uint(&r, &seq)) {
            return;
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *body = fu_need(malloc(size ? size : 1));
    memcpy(body, data, size);
    hub_mpr_t r;
    hub_mpr_init(&r, body, size);
    if (hub_mpr_offset(&r) != 0 || hub_mpr_done(&r) != (size == 0)) {
        fu_fail("a new reader is not at the start");
    }
    s_check_skip(r);
    s_check_keys(r);
    s_publish_batch(r);
    s_seqs(r);
    // Every object in turn, each also skipped and looked into from there.
    hub_mp_obj_t o;
    for (unsigned n = 0; n < 256 && s_next(&r, &o) == HUB_OK; n++) {
        if (hub_mpr_offset(&r) > size) {
            fu_fail("offset past the end");
        }
        if (!hub_mpr_done(&r) && n < 16) {
            s_check_skip(r);
            s_check_keys(r);
        }
    }
    free(body);
    return 0;
}
