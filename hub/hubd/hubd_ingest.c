// Publishing: decode, authenticate the source, validate, route, prepare
// for the store into the fill batch; the writer thread applies and commits
// the batch (hubd_writer.c); then ack. Nothing is acknowledged before it
// is durable: the ACK goes out only after the batch's commit, and so does
// a NACK that keeps the message as a dead letter (the publisher drops the
// message when told). A PUBLISH_BATCH takes each of its messages down the
// same path as a PUBLISH; their answers are gathered (stored ones in
// pending, refusals in refusals) and go out together in its ACK_BATCH.
#include "hub_codec.h"
#include "hub_error.h"
#include "hub_mpr.h"
#include "hub_mpw.h"
#include "hub_validate.h"
#include "hubd_int.h"

#include <string.h>

void
hubd_problems(hub_mpw_t *w, const hub_diag_t *diag)
{
    size_t n = hub_diag_count(diag);
    hub_mpw_array(w, n);
    for (size_t i = 0; i < n; i++) {
        const hub_diag_entry_t *e = hub_diag_at(diag, i);
        hub_mpw_map(w, 3);
        hub_mpw_cstr(w, "message");
        hub_mpw_cstr(w, e->text);
        hub_mpw_cstr(w, "reason");
        hub_mpw_cstr(w, e->reason);
        hub_mpw_cstr(w, "where");
        hub_mpw_cstr(w, e->where);
    }
}

// Where the answer to the message in hand goes: its PUBLISH's own NACK
// (to PEER, with REF), or place SLOT of the ACK_BATCH of the PUBLISH_BATCH
// being read (BATCH: the last of self->fill->reqs).
typedef struct {
    hubd_peer_t *peer;
    uint64_t ref;
    bool batch;
    size_t slot;
} s_to_t;

// The keys of a NACK (with REF unless it is NULL: an ACK_BATCH result).
static void
s_nack_map(hub_mpw_t *w, const uint64_t *ref, const char *id, const char *code, const char *reason,
           const hub_diag_t *problems)
{
    hub_mpw_map(w, 2 + (ref != NULL) + (id && *id) + (problems != NULL));
    hub_mpw_cstr(w, "code");
    hub_mpw_cstr(w, code);
    if (id && *id) {
        hub_mpw_cstr(w, "id");
        hub_mpw_cstr(w, id);
    }
    if (problems) {
        hub_mpw_cstr(w, "problems");
        hubd_problems(w, problems);
    }
    hub_mpw_cstr(w, "reason");
    hub_mpw_cstr(w, reason);
    if (ref) {
        hub_mpw_cstr(w, "ref");
        hub_mpw_uint(w, *ref);
    }
}

// The keys of an ACK (with REF unless it is NULL), counted as sent.
static void
s_ack_map(hubd_t *self, hub_mpw_t *w, const hubd_pending_t *p, const uint64_t *ref)
{
    hub_mpw_map(w, 3 + (ref != NULL) + (p->same_event != 0));
    hub_mpw_cstr(w, "duplicate");
    hub_mpw_bool(w, p->duplicate);
    hub_mpw_cstr(w, "id");
    hub_mpw_cstr(w, p->id);
    hub_mpw_cstr(w, "log_seq");
    hub_mpw_uint(w, p->log_seq);
    if (ref) {
        hub_mpw_cstr(w, "ref");
        hub_mpw_uint(w, *ref);
    }
    if (p->same_event) { // "same_event" sorts after "ref": the map stays canonical
        hub_mpw_cstr(w, "same_event");
        hub_mpw_uint(w, p->same_event);
    }
    self->stats_acked++;
    self->snap.duplicates += p->duplicate;
}

// Counts a refusal (CODE) in the status counters and the metrics: once
// per message, when it is refused (its answer may go later).
static void
s_count_nack(hubd_t *self, const char *code)
{
    self->stats_nacked++;
    self->snap.nacked[hubd_metrics_nack_index(code)]++;
}

// Sends a NACK to RID, not counted; false when it could not be written or
// sent.
static bool
s_nack_out(hubd_t *self, const uint8_t *rid, size_t rid_len, uint64_t ref, const char *id,
           const char *code, const char *reason, const hub_diag_t *problems)
{
    hub_mpw_t w;
    self->out.len = 0;
    hub_mpw_init(&w, &self->out);
    s_nack_map(&w, &ref, id, code, reason, problems);
    return !hub_mpw_error(&w) &&
           hubd_send(self, rid, rid_len, "NACK", self->out.data, self->out.len);
}

static void
s_nack_send(hubd_t *self, const uint8_t *rid, size_t rid_len, uint64_t ref, const char *id,
            const char *code, const char *reason, const hub_diag_t *problems)
{
    s_nack_out(self, rid, rid_len, ref, id, code, reason, problems);
    s_count_nack(self, code);
}

// Refuses message SLOT of REQ (of batch B): its NACK map waits in
// refusals for the request's ACK_BATCH (out of memory: an empty one, sent
// as "internal").
static void
s_refuse_slot(hubd_t *self, hubd_batch_t *b, hubd_req_t *req, size_t slot, const char *id,
              const char *code, const char *reason, const hub_diag_t *problems)
{
    hubd_slot_t *s = &b->slots[req->first + slot];
    size_t at = b->refusals.len;
    hub_mpw_t w;
    hub_mpw_init(&w, &b->refusals);
    s_nack_map(&w, NULL, id, code, reason, problems);
    if (hub_mpw_error(&w)) {
        b->refusals.len = at;
        code = "internal";
    }
    s->stored = false;
    s->at = at;
    s->len = b->refusals.len - at;
    s_count_nack(self, code);
}

static hubd_req_t *
s_open_req(hubd_t *self)
{
    return &self->fill->reqs[self->fill->nreqs - 1];
}

static void
s_nack(hubd_t *self, const s_to_t *to, const char *id, const char *code, const char *reason,
       const hub_diag_t *problems)
{
    if (to->batch) {
        s_refuse_slot(self, self->fill, s_open_req(self), to->slot, id, code, reason, problems);
    } else {
        s_nack_send(self, to->peer->rid, to->peer->rid_len, to->ref, id, code, reason, problems);
    }
}

static void
s_ack(hubd_t *self, const hubd_pending_t *p)
{
    hub_mpw_t w;
    self->out.len = 0;
    hub_mpw_init(&w, &self->out);
    s_ack_map(self, &w, p, &p->ref);
    hubd_send(self, p->rid, p->rid_len, "ACK", self->out.data, self->out.len);
}

// What a message of batch B is told when B did not commit.
static const char *
s_failed_code(const hubd_batch_t *b)
{
    return b->rc == HUB_EFULL ? "store_full" : "internal";
}

static const char *
s_failed_reason(const hubd_batch_t *b)
{
    return b->rc == HUB_EFULL ? "store full: resend later" : "store error: resend later";
}

// Sends the NACKs of batch B's PUBLISHes refused with a dead letter: as
// filed when it committed, else "resend later" (the dead letter is not
// kept; the resent message is refused and kept again). Counted when filed.
static void
s_answer_late(hubd_t *self, hubd_batch_t *b)
{
    const hubd_late_t *v = (const hubd_late_t *) (const void *) b->late.data;
    for (size_t i = 0; i < b->late.len / sizeof *v; i++) {
        bool sent = b->rc ? s_nack_out(self, v[i].rid, v[i].rid_len, v[i].ref, v[i].id,
                                       s_failed_code(b), s_failed_reason(b), NULL)
                          : hubd_send(self, v[i].rid, v[i].rid_len, "NACK",
                                      b->refusals.data + v[i].at, v[i].len);
        if (!sent) {
            hubd_log("warn", "nack_lost", "ref=%llu (the client resends)",
                     (unsigned long long) v[i].ref);
        }
    }
    b->late.len = 0;
}

// Sends REQ's ACK_BATCH (of batch B): results[i] from its slots, in order.
static void
s_answer_req(hubd_t *self, const hubd_batch_t *b, const hubd_req_t *req)
{
    hub_mpw_t w;
    self->out.len = 0;
    hub_mpw_init(&w, &self->out);
    hub_mpw_map(&w, 2);
    hub_mpw_cstr(&w, "ref");
    hub_mpw_uint(&w, req->ref);
    hub_mpw_cstr(&w, "results");
    hub_mpw_array(&w, req->n);
    for (size_t i = 0; i < req->n; i++) {
        const hubd_slot_t *s = &b->slots[req->first + i];
        if (s->stored) {
            s_ack_map(self, &w, &b->pending[s->at], NULL);
        } else if (s->dead && b->rc) { // its dead letter is not kept: resend it
            s_nack_map(&w, NULL, NULL, s_failed_code(b), s_failed_reason(b), NULL);
        } else if (s->len) {
            hub_mpw_raw(&w, b->refusals.data + s->at, s->len);
        } else {
            s_nack_map(&w, NULL, NULL, "internal", "out of memory in the hub: resend later", NULL);
        }
    }
    if (hub_mpw_error(&w) ||
        !hubd_send(self, req->rid, req->rid_len, "ACK_BATCH", self->out.data, self->out.len)) {
        hubd_log("warn", "ack_batch_lost", "ref=%llu messages=%zu (the client resends)",
                 (unsigned long long) req->ref, req->n);
    }
}

// Answers every PUBLISH_BATCH of B (the writer is done with it: none is
// being read).
static void
s_answer_reqs(hubd_t *self, hubd_batch_t *b)
{
    for (size_t i = 0; i < b->nreqs; i++) {
        s_answer_req(self, b, &b->reqs[i]);
    }
    b->nreqs = 0;
    b->nslots = 0;
    b->refusals.len = 0;
}

static bool
s_put_str(hub_buf_t *ops, const char *s)
{
    return hub_buf_append(ops, s, strlen(s) + 1) == HUB_OK;
}

// Keeps a refused message in the dead-letter store, with the fill batch;
// false when it could not be queued (out of memory).
static bool
s_dead(hubd_t *self, hubd_peer_t *peer, const void *bytes, size_t len, const char *code,
       const char *reason)
{
    hub_buf_t *ops = &self->fill->ops;
    uint64_t now = (uint64_t) hubd_now_ms();
    size_t at = hubd_op_open(self, HUBD_OP_DEAD);
    bool ok = s_put_str(ops, peer->endpoint->department) && s_put_str(ops, code) &&
              s_put_str(ops, reason) && hub_buf_append(ops, &now, sizeof now) == HUB_OK &&
              hub_buf_append(ops, bytes, len) == HUB_OK;
    ok = hubd_op_close(self, at, ok);
    self->stats_dead += ok;
    return ok;
}

// Refuses the message in hand (BYTES, N) and keeps it as a dead letter
// (DEAD_REASON). Its answer waits for the commit that keeps the dead
// letter (nothing is answered before it is durable): a PUBLISH's NACK in
// the fill batch's late list, a PUBLISH_BATCH's in its slot, the request
// held open by it. Out of memory for either: "internal" now (resend).
static void
s_refuse_dead(hubd_t *self, const s_to_t *to, const char *id, const char *code, const char *reason,
              const hub_diag_t *problems, const void *bytes, size_t n, const char *dead_reason)
{
    hubd_batch_t *b = self->fill;
    static const char oom[] = "out of memory in the hub: resend later";
    if (to->batch) {
        if (!s_dead(self, to->peer, bytes, n, code, dead_reason)) {
            s_nack(self, to, id, "internal", oom, NULL);
            return;
        }
        hubd_req_t *q = s_open_req(self);
        s_refuse_slot(self, b, q, to->slot, id, code, reason, problems);
        b->slots[q->first + to->slot].dead = true;
        q->dead++;
        return;
    }
    hubd_late_t late = {.rid_len = to->peer->rid_len, .ref = to->ref, .at = b->refusals.len};
    size_t late_at = b->late.len;
    memcpy(late.rid, to->peer->rid, to->peer->rid_len);
    snprintf(late.id, sizeof late.id, "%s", id ? id : "");
    hub_mpw_t w;
    hub_mpw_init(&w, &b->refusals);
    s_nack_map(&w, &to->ref, id, code, reason, problems);
    late.len = b->refusals.len - late.at;
    if (hub_mpw_error(&w) || hub_buf_append(&b->late, &late, sizeof late) != HUB_OK ||
        !s_dead(self, to->peer, bytes, n, code, dead_reason)) {
        b->refusals.len = late.at;
        b->late.len = late_at;
        s_nack(self, to, id, "internal", oom, NULL);
        return;
    }
    s_count_nack(self, code);
}

// The first problem DIAG holds, for a dead letter's reason; the name of RC
// when it holds none (memory ran out before anything was said).
static const char *
s_first_problem(const hub_diag_t *diag, int rc)
{
    const hub_diag_entry_t *e = hub_diag_at(diag, 0);
    return e ? e->text : hub_strerror(rc);
}

// Refusals that depend on who sent it: the source is who authenticated.
static const char *
s_authorise(hubd_t *self, hubd_peer_t *peer, char *reason, size_t size)
{
    const char *dept = peer->endpoint->department;
    const char *claimed = hub_msg_env_str(self->msg, HUB_ENV_SOURCE);
    const char *type = hub_msg_env_str(self->msg, HUB_ENV_TYPE);
    if (claimed[0] && strcmp(claimed, dept) != 0) {
        snprintf(reason, size, "the message says source '%s', but this connection is %s", claimed,
                 dept);
        return "source_mismatch";
    }
    if (!hub_depts_may_publish(self->conf.depts, dept, type)) {
        snprintf(reason, size, "%s may not publish %s (departments.yaml)", dept, type);
        return "not_allowed";
    }
    return NULL;
}

// Refuses publish P of batch B (CODE, REASON): its own NACK, or its
// place in its PUBLISH_BATCH's ACK_BATCH.
static void
s_refuse_pending(hubd_t *self, hubd_batch_t *b, hubd_pending_t *p, const char *code,
                 const char *reason)
{
    if (p->req) {
        hubd_req_t *q = &b->reqs[p->req - 1];
        s_refuse_slot(self, b, q, p->slot, p->id, code, reason, NULL);
        q->stored--;
    } else {
        s_nack_send(self, p->rid, p->rid_len, p->ref, p->id, code, reason, NULL);
    }
}

// Files the message just prepared (its op the fill batch's last) for its
// answer after the commit.
static void
s_pend(hubd_t *self, const s_to_t *to, const char *id)
{
    hubd_batch_t *b = self->fill;
    hubd_pending_t *p = &b->pending[b->npending];
    p->req = 0;
    if (to->batch) {
        hubd_req_t *q = s_open_req(self);
        p->req = b->nreqs;
        p->slot = to->slot;
        p->rid_len = 0;
        b->slots[q->first + to->slot] = (hubd_slot_t){true, b->npending, 0, false};
        q->stored++;
    } else {
        memcpy(p->rid, to->peer->rid, to->peer->rid_len);
        p->rid_len = to->peer->rid_len;
        p->ref = to->ref;
    }
    snprintf(p->id, sizeof p->id, "%s", id);
    p->log_seq = 0;
    p->duplicate = false;
    p->same_event = 0;
    p->rc = HUB_OK;
    b->npending++;
}

// Prepares the validated message in hand (self->msg) for the store, into
// the fill batch, and files it for its answer after the commit.
static void
s_store(hubd_t *self, const s_to_t *to)
{
    hubd_peer_t *peer = to->peer;
    const char *id = hub_msg_env_str(self->msg, HUB_ENV_ID);
    const hub_val_t *cid = hub_msg_subj(self->msg, HUB_SUBJ_CITIZEN_ID);
    const char *event_field;
    const char *event = hub_schemas_event(self->conf.schemas, self->msg, &event_field);
    self->canon.len = 0;
    hub_diag_reset(self->diag);
    int rc = hub_codec_encode(self->msg, &self->canon);
    rc = rc ? rc
            : hub_route_run(self->route, self->conf.rules, self->conf.depts, self->conf.schemas,
                            self->msg, self->hash_key, self->diag);
    hub_store_ingest_t in = {peer->endpoint->department,
                             id,
                             hub_msg_env_str(self->msg, HUB_ENV_TYPE),
                             self->canon.data,
                             self->canon.len,
                             cid->kind == HUB_VAL_STR ? cid->u.s : NULL,
                             hub_rules_version(self->conf.rules),
                             (uint64_t) hubd_now_ms(),
                             self->route,
                             event_field,
                             event};
    size_t nops = self->fill->nops;
    size_t at = hubd_op_open(self, HUBD_OP_INGEST);
    rc = rc ? rc : hub_store_prepare(self->prep, &in, &self->fill->ops);
    rc = hubd_op_close(self, at, rc == HUB_OK) ? HUB_OK : rc ? rc : HUB_ENOMEM;
    if (!rc && !hubd_lists_note(self, peer->endpoint->department)) {
        // a message is stored with its list changes or not at all
        self->fill->ops.len = at;
        self->fill->nops = nops;
        rc = HUB_ENOMEM;
    }
    if (rc) {
        s_nack(self, to, id, "internal", hub_strerror(rc), self->diag);
        return;
    }
    s_pend(self, to, id);
}

// One message, from a PUBLISH or a PUBLISH_BATCH alike: the size, decoding,
// the source, the department's right to the type, the schema, then store.
static void
s_one(hubd_t *self, const s_to_t *to, const void *bytes, size_t n)
{
    if (n > HUBD_MAX_MESSAGE) {
        s_nack(self, to, NULL, "too_large", "over max_message", NULL);
        return;
    }
    hub_diag_reset(self->diag);
    int rc = hub_codec_decode(self->msg, bytes, n, NULL, self->diag);
    if (rc != HUB_OK) {
        s_refuse_dead(self, to, NULL, "malformed", "not a message", self->diag, bytes, n,
                      s_first_problem(self->diag, rc));
        return;
    }
    char reason[256];
    const char *code = s_authorise(self, to->peer, reason, sizeof reason);
    const char *id = hub_msg_env_str(self->msg, HUB_ENV_ID);
    if (code) {
        s_nack(self, to, id, code, reason, NULL);
        return;
    }
    hub_msg_set_env_str(self->msg, HUB_ENV_SOURCE, to->peer->endpoint->department);
    rc = hub_validate(self->conf.schemas, self->msg, HUB_VALIDATE_NORMALIZE, self->diag);
    if (rc != HUB_OK) {
        s_refuse_dead(self, to, id, "invalid", "the message breaks its schema", self->diag, bytes,
                      n, s_first_problem(self->diag, rc));
        return;
    }
    s_store(self, to);
}

void
hubd_on_publish(hubd_t *self, hubd_peer_t *peer, const void *body, size_t len)
{
    self->last_publish_ms = hubd_mono_ms();
    s_to_t to = {peer, 0, false, 0};
    const void *bytes = NULL;
    size_t n = 0;
    hub_mpr_t r;
    hub_mpr_init(&r, body, len);
    hub_mpr_get_uint(body, len, "ref", &to.ref);
    self->stats_in++; // every PUBLISH, one without a message too (it is nacked)
    if (hub_mpr_find(&r, "message") != HUB_OK || hub_mpr_bin(&r, &bytes, &n) != HUB_OK) {
        s_nack(self, &to, NULL, "malformed", "PUBLISH needs message: bin", NULL);
        return;
    }
    s_one(self, &to, bytes, n);
}

// Starts answering a PUBLISH_BATCH of N messages from PEER. All of them
// must join one batch: when the fill batch lacks room, it goes to the
// writer now (after the one there, if any, is done).
static void
s_req_open(hubd_t *self, hubd_peer_t *peer, uint64_t ref, size_t n)
{
    hubd_batch_t *b = self->fill;
    if (b->npending + n > HUBD_MAX_BATCH || b->nslots + n > HUBD_MAX_SLOTS ||
        b->nreqs >= HUBD_MAX_REQS) {
        hubd_reap(self, true);
        hubd_flush(self);
        b = self->fill;
    }
    hubd_req_t *q = &b->reqs[b->nreqs++];
    memcpy(q->rid, peer->rid, peer->rid_len);
    q->rid_len = peer->rid_len;
    q->ref = ref;
    q->first = b->nslots;
    q->n = n;
    q->stored = 0;
    q->dead = 0;
    q->refusals_at = b->refusals.len;
    memset(&b->slots[q->first], 0, n * sizeof *b->slots);
    b->nslots += n;
    b->req_open = true;
}

// The PUBLISH_BATCH has been read: answered now when nothing of it waits
// for the commit (every message refused, none kept as a dead letter),
// else after the commit.
static void
s_req_close(hubd_t *self)
{
    hubd_batch_t *b = self->fill;
    hubd_req_t *q = s_open_req(self);
    b->req_open = false;
    if (q->stored || q->dead) {
        return;
    }
    s_answer_req(self, b, q);
    b->nreqs--;
    b->nslots = q->first;
    b->refusals.len = q->refusals_at;
}

// The messages array of a PUBLISH_BATCH, its header read into O; a NACK
// for the whole frame (false) when it is none or too long.
static bool
s_messages(hubd_t *self, const s_to_t *to, hub_mpr_t *r, hub_mp_obj_t *o)
{
    if (hub_mpr_find(r, "messages") == HUB_OK && hub_mpr_next(r, o) == HUB_OK &&
        o->kind == HUB_MP_ARRAY && o->len >= 1 && o->len <= HUBD_PUBLISH_BATCH_MAX) {
        return true;
    }
    bool big = o->kind == HUB_MP_ARRAY && o->len > HUBD_PUBLISH_BATCH_MAX;
    self->stats_in++;
    s_nack(self, to, NULL, big ? "too_large" : "malformed",
           big ? "PUBLISH_BATCH holds more than max_batch messages"
               : "PUBLISH_BATCH needs messages: [bin, ...], 1 to max_batch of them",
           NULL);
    return false;
}

void
hubd_on_publish_batch(hubd_t *self, hubd_peer_t *peer, const void *body, size_t len)
{
    self->last_publish_ms = hubd_mono_ms();
    s_to_t to = {peer, 0, false, 0};
    hub_mpr_t r;
    hub_mp_obj_t o = {0};
    hub_mpr_init(&r, body, len);
    hub_mpr_get_uint(body, len, "ref", &to.ref);
    if (!s_messages(self, &to, &r, &o)) {
        return;
    }
    s_req_open(self, peer, to.ref, o.len);
    to.batch = true;
    bool broken = false; // an item that cannot even be skipped: the rest are lost too
    for (uint32_t i = 0; i < o.len; i++) {
        const void *bytes = NULL;
        size_t n = 0;
        to.slot = i;
        self->stats_in++;
        if ((i & 31) == 31 && hubd_writer_done(self)) {
            hubd_reap(self, false); // the last commit's acks need not wait for this batch
        }
        if (!broken && hub_mpr_bin(&r, &bytes, &n) == HUB_OK) {
            s_one(self, &to, bytes, n);
            continue;
        }
        char reason[64];
        snprintf(reason, sizeof reason, "messages[%u] is not bin", (unsigned) i);
        broken = broken || hub_mpr_skip(&r) != HUB_OK;
        s_nack(self, &to, NULL, "malformed", reason, NULL);
    }
    s_req_close(self);
}

// The dedup purge slice batch B held is done. A slice a second while
// more entries have left the window; when none is left, rest a minute (a
// batch that failed: a second).
static void
s_purged(hubd_t *self, const hubd_batch_t *b)
{
    bool done = b->rc == HUB_OK && b->purge;
    self->purge_queued = false;
    int64_t now = hubd_mono_ms();
    self->dedup_next_ms = now + (!done || b->purge_more ? 1000 : 60000);
    if (done && b->purged) {
        hubd_log("info", "dedup_purged", "entries=%zu", b->purged);
    }
}

void
hubd_batch_answer(hubd_t *self, hubd_batch_t *b)
{
    hubd_metrics_histogram_observe(&self->snap.commit_seconds, (double) b->commit_us / 1e6);
    self->stats_commit_us += (uint64_t) b->commit_us;
    self->stats_dedup_ids = b->dedup_ids;
    self->stats_subject_pending = b->subject_pending;
    hubd_metrics_histogram_observe(&self->snap.batch_size, (double) b->npending);
    const char *code = s_failed_code(b);
    if (b->rc) {
        hubd_log("error", "commit", "reason=\"%s\" detail=\"%s\" messages=%zu", hub_strerror(b->rc),
                 b->why, b->npending);
        if (b->panicked && !self->store_lost) {
            // Nothing would commit again on this environment: stop, so that
            // a supervisor's restart opens it afresh, rather than stay up
            // refusing everything.
            hubd_log("error", "store_lost",
                     "reason=\"LMDB gave up on the store (MDB_PANIC): hubd stops; a restart "
                     "opens it again\"");
            self->store_lost = true;
        }
    }
    for (size_t i = 0; i < b->npending; i++) {
        hubd_pending_t *p = &b->pending[i];
        if (b->rc) {
            s_refuse_pending(self, b, p, code, s_failed_reason(b));
        } else if (p->rc) {
            s_refuse_pending(self, b, p, "internal", hub_strerror(p->rc));
        } else if (!p->req) {
            s_ack(self, p);
        }
    }
    s_answer_late(self, b); // before s_answer_reqs empties refusals
    s_answer_reqs(self, b); // their acks come from pending: before it is emptied
    b->npending = 0;
    if (b->has_purge) {
        s_purged(self, b);
        b->has_purge = false;
    }
}

void
hubd_dedup_purge(hubd_t *self)
{
    int64_t now = hubd_mono_ms();
    if (now < self->dedup_next_ms || self->purge_queued) {
        return;
    }
    uint64_t window = (uint64_t) self->conf.cfg.dedup_days * 86400000ull;
    uint64_t wall = (uint64_t) hubd_now_ms(), older = wall > window ? wall - window : 0;
    uint64_t max = 20000;
    hub_buf_t *ops = &self->fill->ops;
    size_t at = hubd_op_open(self, HUBD_OP_PURGE);
    bool ok = hub_buf_append(ops, &older, sizeof older) == HUB_OK &&
              hub_buf_append(ops, &max, sizeof max) == HUB_OK;
    ok = hubd_op_close(self, at, ok);
    self->purge_queued = ok;
    self->fill->has_purge = ok;
    self->dedup_next_ms = now + 1000; // when the op could not even be queued
}
