// Delivery: a consumer subscribes to its own endpoint with a credit; the
// hub sends the endpoint's queue in sequence order, at most CREDIT
// unacknowledged at a time; a DACK (cumulative) advances the endpoint's
// cursor durably; what is not acknowledged is sent again after a
// reconnect or the ack timeout. The queue waits in the store meanwhile,
// so a slow consumer slows nobody else. A consumer that asked for batches
// (SUBSCRIBE batch >= 2) gets up to that many deliveries per frame, in
// DELIVER_BATCH; credit still counts deliveries.
#include "hub_error.h"
#include "hub_mpr.h"
#include "hub_mpw.h"
#include "hubd_deliver_map.h"
#include "hubd_int.h"

#include <string.h>

#define S_READ_MAX 64            // deliveries read from the store at a time
#define S_FRAME_BYTES (4u << 20) // most record bytes in one DELIVER_BATCH
// The same for a batch subscriber: a read fills several frames.
#define S_READ_MAX_BATCH HUBD_DELIVER_BATCH_MAX

static bool
s_own_endpoint(hubd_t *self, hubd_peer_t *peer, const void *body, size_t len)
{
    hub_mpr_t r;
    const char *ep = NULL;
    size_t n = 0;
    hub_mpr_init(&r, body, len);
    if (hub_mpr_find(&r, "endpoint") != HUB_OK || hub_mpr_str(&r, &ep, &n) != HUB_OK) {
        hubd_send_error(self, peer, "malformed", "endpoint: str is missing");
        return false;
    }
    if (strlen(peer->endpoint->id) != n || memcmp(peer->endpoint->id, ep, n) != 0) {
        char asked[72]; // what the peer sent: any bytes, any length
        hubd_printable(ep, n, asked);
        hubd_send_error(self, peer, "forbidden", "a connection reads only its own endpoint");
        hubd_log("warn", "forbidden", "peer=%s asked=%s", peer->endpoint->id, asked);
        return false;
    }
    return true;
}

void
hubd_on_subscribe(hubd_t *self, hubd_peer_t *peer, const void *body, size_t len)
{
    if (!s_own_endpoint(self, peer, body, len)) {
        return;
    }
    uint64_t credit = 64, acked = 0, last = 0, batch = 0;
    hub_mpr_get_uint(body, len, "credit", &credit);
    hub_mpr_get_uint(body, len, "batch", &batch);
    hub_store_endpoint_state(self->store, peer->endpoint->id, &acked, &last);
    // One consumer per endpoint: a new subscription takes over.
    for (size_t i = 0; i < HUBD_MAX_PEERS; i++) {
        hubd_peer_t *p = &self->peers[i];
        if (p->used && p != peer && p->subscribed && p->endpoint == peer->endpoint) {
            p->subscribed = false;
        }
    }
    peer->subscribed = true;
    peer->credit = credit ? credit : 1;
    peer->batch = batch < HUBD_DELIVER_BATCH_MAX ? batch : HUBD_DELIVER_BATCH_MAX;
    peer->acked = peer->sent = acked;
    peer->last_ack_ms = hubd_mono_ms();
    hub_mpw_t w;
    self->out.len = 0;
    hub_mpw_init(&w, &self->out);
    hub_mpw_map(&w, 4);
    hub_mpw_cstr(&w, "acked");
    hub_mpw_uint(&w, acked);
    hub_mpw_cstr(&w, "endpoint");
    hub_mpw_cstr(&w, peer->endpoint->id);
    hub_mpw_cstr(&w, "last");
    hub_mpw_uint(&w, last);
    // Which history these sequences belong to: a consumer that sees another
    // id than it remembers takes the sequences after ACKED as new (a
    // restored store issues them again; docs/PROTOCOL.md, "Consuming").
    hub_mpw_cstr(&w, "store_id");
    hub_mpw_cstr(&w, self->store_id);
    hubd_send(self, peer->rid, peer->rid_len, "SUBSCRIBED", self->out.data, self->out.len);
    hubd_log("info", "subscribed", "peer=%s acked=%llu last=%llu credit=%llu batch=%llu",
             peer->endpoint->id, (unsigned long long) acked, (unsigned long long) last,
             (unsigned long long) peer->credit, (unsigned long long) peer->batch);
}

void
hubd_on_dack(hubd_t *self, hubd_peer_t *peer, const void *body, size_t len)
{
    uint64_t seq = 0;
    if (!peer->subscribed) {
        hubd_send_error(self, peer, "not_subscribed", "SUBSCRIBE first");
        return;
    }
    if (!s_own_endpoint(self, peer, body, len) ||
        hub_mpr_get_uint(body, len, "seq", &seq) != HUB_OK) {
        return;
    }
    if (seq <= peer->acked) {
        return; // an old ack: the cursor never moves back
    }
    if (seq > peer->sent) {
        seq = peer->sent; // cannot ack what was never sent
    }
    // The cursor joins the group commit (made durable with the fill
    // batch's commit) rather than costing an fsync of its own per DACK:
    // until then a crash only means redeliveries, which consumers drop by
    // seq.
    hubd_op_ack(self, peer->endpoint->id, seq);
    hubd_epstat_t *st = hubd_epstat(self, peer->endpoint->id);
    if (st) {
        st->acks += seq - peer->acked;
    }
    peer->acked = seq;
    peer->last_ack_ms = hubd_mono_ms();
}

void
hubd_on_credit(hubd_t *self, hubd_peer_t *peer, const void *body, size_t len)
{
    uint64_t credit = 0;
    if (!peer->subscribed) {
        hubd_send_error(self, peer, "not_subscribed", "SUBSCRIBE first");
        return;
    }
    if (s_own_endpoint(self, peer, body, len) &&
        hub_mpr_get_uint(body, len, "credit", &credit) == HUB_OK) {
        peer->credit = credit ? credit : 1;
    }
}

// Sends the N deliveries at DS in one frame: a DELIVER when N is 1, else
// a DELIVER_BATCH (hubd_deliver_map.c writes the body). False when
// nothing was sent.
static bool
s_deliver(hubd_t *self, hubd_peer_t *peer, const hub_store_delivery_t *ds, size_t n)
{
    return hubd_deliver_body(peer->endpoint->id, ds, n, &self->out) &&
           hubd_send(self, peer->rid, peer->rid_len, n == 1 ? "DELIVER" : "DELIVER_BATCH",
                     self->out.data, self->out.len);
}

// Counts the N deliveries at DS as sent to PEER.
static void
s_sent(hubd_t *self, hubd_peer_t *peer, hubd_epstat_t *st, const hub_store_delivery_t *ds, size_t n,
       int64_t now)
{
    for (size_t i = 0; i < n; i++) {
        if (st) {
            st->delivered++;
            // Below the highest ever sent: a resend (ack timeout,
            // reconnect, rewind).
            st->redelivered += ds[i].eseq <= peer->high;
        }
        peer->sent = ds[i].eseq;
        peer->high = peer->sent > peer->high ? peer->sent : peer->high;
        self->stats_delivered++;
    }
    peer->last_out_ms = now;
}

// How many of the N deliveries at DS go in the next frame: up to the
// batch the consumer asked for (PER_FRAME), and a few MiB (one frame of
// 256 one-MiB messages would be a quarter GiB); always one.
static size_t
s_frame_count(const hub_store_delivery_t *ds, size_t n, size_t per_frame)
{
    size_t k = 1, bytes = ds[0].len;
    while (k < n && k < per_frame && bytes + ds[k].len <= S_FRAME_BYTES) {
        bytes += ds[k++].len;
    }
    return k;
}

static void
s_pump_peer(hubd_t *self, hubd_peer_t *peer)
{
    int64_t now = hubd_mono_ms();
    hubd_epstat_t *st = hubd_epstat(self, peer->endpoint->id);
    size_t per_frame = peer->batch > 1 ? (size_t) peer->batch : 1;
    size_t read_max = per_frame > 1 ? S_READ_MAX_BATCH : S_READ_MAX;
    if (peer->sent > peer->acked && now - peer->last_ack_ms > self->conf.cfg.ack_timeout_ms) {
        peer->sent = peer->acked; // no ack in time: send again from the cursor
        peer->last_ack_ms = now;
        hubd_log("info", "redeliver", "peer=%s from=%llu", peer->endpoint->id,
                 (unsigned long long) peer->acked + 1);
    }
    while (peer->sent - peer->acked < peer->credit) {
        hub_store_delivery_t ds[S_READ_MAX_BATCH];
        size_t want = peer->credit - (peer->sent - peer->acked), n = 0;
        want = want < read_max ? want : read_max;
        if (hub_store_pending(self->store, peer->endpoint->id, peer->sent, ds, want, &n) !=
                HUB_OK ||
            n == 0) {
            return;
        }
        for (size_t i = 0; i < n;) {
            size_t k = s_frame_count(&ds[i], n - i, per_frame);
            if (!s_deliver(self, peer, &ds[i], k)) {
                return; // the peer's pipe is full, or it is gone: later
            }
            s_sent(self, peer, st, &ds[i], k, now);
            i += k;
        }
    }
}

void
hubd_pump(hubd_t *self)
{
    for (size_t i = 0; i < HUBD_MAX_PEERS; i++) {
        hubd_peer_t *p = &self->peers[i];
        if (p->used && p->subscribed) {
            s_pump_peer(self, p);
        }
    }
}
