// hubd_deliver_map: DELIVER and DELIVER_BATCH bodies from queue records.
// Sending is a third of hubd's work per delivery once the store has the
// record whole, so the usual record goes out in two copies around its
// "msg" key (which hub_store_pending() located while expanding it), not
// pair by pair; any other record is walked, to the same bytes.
#include "hubd_deliver_map.h"

#include "hub_error.h"
#include "hub_mpr.h"
#include "hub_mpw.h"

#include <string.h>

// The next PAIRS pairs of R (a record) into W, pair by pair: its "msg" is
// the protocol's "message".
static bool
s_walk(hub_mpr_t *r, uint32_t pairs, hub_mpw_t *w)
{
    for (uint32_t i = 0; i < pairs; i++) {
        const char *k;
        size_t kn;
        if (hub_mpr_str(r, &k, &kn) != HUB_OK) {
            return false;
        }
        const uint8_t *v = r->p;
        if (hub_mpr_skip(r) != HUB_OK) {
            return false;
        }
        if (kn == 3 && memcmp(k, "msg", 3) == 0) {
            hub_mpw_cstr(w, "message");
        } else {
            hub_mpw_str(w, k, kn);
        }
        hub_mpw_raw(w, v, (size_t) (r->p - v));
    }
    return true;
}

// The DELIVER body of D into W (EP, EPLEN bytes: its endpoint).
static bool
s_map(const char *ep, size_t eplen, const hub_store_delivery_t *d, hub_mpw_t *w)
{
    hub_mpr_t r;
    hub_mp_obj_t o;
    hub_mpr_init(&r, d->record, d->len);
    if (hub_mpr_next(&r, &o) != HUB_OK || o.kind != HUB_MP_MAP) {
        return false;
    }
    hub_mpw_map(w, o.len + 2);
    hub_mpw_cstr(w, "endpoint");
    hub_mpw_str(w, ep, eplen);
    hub_mpw_cstr(w, "seq");
    hub_mpw_uint(w, d->eseq);
    static const uint8_t msg[4] = {0xa3, 'm', 's', 'g'};
    const uint8_t *rec = d->record;
    size_t at = d->msg_at, body = hub_mpr_offset(&r);
    if (at < body || d->len < sizeof msg || at > d->len - sizeof msg ||
        memcmp(rec + at, msg, sizeof msg) != 0) {
        return s_walk(&r, o.len, w); // the store did not vouch for it (format 2)
    }
    // The store vouches: the pairs before and after "msg" are what the
    // walk would write, byte for byte.
    hub_mpw_raw(w, rec + body, at - body);
    hub_mpw_cstr(w, "message");
    hub_mpw_raw(w, rec + at + sizeof msg, d->len - at - sizeof msg);
    return true;
}

bool
hubd_deliver_body(const char *endpoint, const hub_store_delivery_t *ds, size_t n, hub_buf_t *out)
{
    hub_mpw_t w;
    size_t eplen = strlen(endpoint);
    out->len = 0;
    hub_mpw_init(&w, out);
    if (n == 1) {
        return s_map(endpoint, eplen, ds, &w) && hub_mpw_error(&w) == HUB_OK;
    }
    hub_mpw_map(&w, 2);
    hub_mpw_cstr(&w, "deliveries");
    hub_mpw_array(&w, n);
    for (size_t i = 0; i < n; i++) {
        if (!s_map(endpoint, eplen, &ds[i], &w)) {
            return false;
        }
    }
    hub_mpw_cstr(&w, "endpoint");
    hub_mpw_str(&w, endpoint, eplen);
    return hub_mpw_error(&w) == HUB_OK;
}
