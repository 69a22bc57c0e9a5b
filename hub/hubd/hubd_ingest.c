// Publishing: decode, authenticate the source, validate, route, store in
// the open batch; after the batch commits, ack. Nothing is acknowledged
// before it is durable: the ACK goes out only after hub_store_commit().
#include "hub_codec.h"
#include "hub_error.h"
#include "hub_mpr.h"
#include "hub_mpw.h"
#include "hub_validate.h"
#include "hubd_int.h"

#include <string.h>

#define S_MAX_MESSAGE (1u << 20)

static void
s_problems(hub_mpw_t *w, const hub_diag_t *diag)
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

static void
s_nack(hubd_t *self, const uint8_t *rid, size_t rid_len, uint64_t ref, const char *id,
       const char *code, const char *reason, const hub_diag_t *problems)
{
    hub_mpw_t w;
    self->out.len = 0;
    hub_mpw_init(&w, &self->out);
    hub_mpw_map(&w, 3 + (id && *id) + (problems != NULL));
    hub_mpw_cstr(&w, "code");
    hub_mpw_cstr(&w, code);
    if (id && *id) {
        hub_mpw_cstr(&w, "id");
        hub_mpw_cstr(&w, id);
    }
    if (problems) {
        hub_mpw_cstr(&w, "problems");
        s_problems(&w, problems);
    }
    hub_mpw_cstr(&w, "reason");
    hub_mpw_cstr(&w, reason);
    hub_mpw_cstr(&w, "ref");
    hub_mpw_uint(&w, ref);
    hubd_send(self, rid, rid_len, "NACK", self->out.data, self->out.len);
    self->stats_nacked++;
    self->snap.nacked[hubd_metrics_nack_index(code)]++;
}

static void
s_ack(hubd_t *self, const hubd_pending_t *p)
{
    hub_mpw_t w;
    self->out.len = 0;
    hub_mpw_init(&w, &self->out);
    hub_mpw_map(&w, 4);
    hub_mpw_cstr(&w, "duplicate");
    hub_mpw_bool(&w, p->duplicate);
    hub_mpw_cstr(&w, "id");
    hub_mpw_cstr(&w, p->id);
    hub_mpw_cstr(&w, "log_seq");
    hub_mpw_uint(&w, p->log_seq);
    hub_mpw_cstr(&w, "ref");
    hub_mpw_uint(&w, p->ref);
    hubd_send(self, p->rid, p->rid_len, "ACK", self->out.data, self->out.len);
    self->stats_acked++;
    self->snap.duplicates += p->duplicate;
}

static bool
s_begin(hubd_t *self)
{
    if (!self->batch_open) {
        if (hub_store_begin(self->store) != HUB_OK) {
            return false;
        }
        self->batch_open = true;
        self->npending = 0;
    }
    return true;
}

// Keeps a refused message in the dead-letter store, in the open batch.
static void
s_dead(hubd_t *self, hubd_peer_t *peer, const void *bytes, size_t len, const char *code,
       const char *reason)
{
    if (s_begin(self)) {
        self->stats_dead++;
        hub_store_dead(self->store, peer->endpoint->department, bytes, len, code, reason,
                       (uint64_t) hubd_now_ms());
    }
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

// The batch failed: every publish in it is refused, to be resent.
static void
s_fail_batch(hubd_t *self, const char *code, const char *reason)
{
    hub_store_abort(self->store);
    for (size_t i = 0; i < self->npending; i++) {
        hubd_pending_t *p = &self->pending[i];
        s_nack(self, p->rid, p->rid_len, p->ref, p->id, code, reason, NULL);
    }
    self->npending = 0;
    self->batch_open = false;
}

// Stores the validated message in hand (self->msg) in the open batch.
static void
s_store(hubd_t *self, hubd_peer_t *peer, uint64_t ref)
{
    const char *id = hub_msg_env_str(self->msg, HUB_ENV_ID);
    const hub_val_t *cid = hub_msg_subj(self->msg, HUB_SUBJ_CITIZEN_ID);
    self->canon.len = 0;
    hub_diag_reset(self->diag);
    int rc = hub_codec_encode(self->msg, &self->canon);
    rc = rc ? rc
            : hub_route_run(self->route, self->conf.rules, self->conf.depts, self->conf.schemas,
                            self->msg, self->hash_key, self->diag);
    hub_store_ingest_t in = {peer->endpoint->department, id,
                             hub_msg_env_str(self->msg, HUB_ENV_TYPE), self->canon.data,
                             self->canon.len, cid->kind == HUB_VAL_STR ? cid->u.s : NULL,
                             hub_rules_version(self->conf.rules), (uint64_t) hubd_now_ms(),
                             self->route};
    hub_store_result_t res = {0};
    rc = rc ? rc : (s_begin(self) ? hub_store_ingest(self->store, &in, &res) : HUB_EIO);
    if (rc == HUB_EFULL || rc == HUB_EIO) {
        s_nack(self, peer->rid, peer->rid_len, ref, id, rc == HUB_EFULL ? "store_full" : "internal",
               rc == HUB_EFULL ? "store full: resend later" : "store error: resend later", NULL);
        s_fail_batch(self, rc == HUB_EFULL ? "store_full" : "internal", "the batch failed");
        hubd_log("error", "store", "reason=\"%s\"", hub_strerror(rc));
        return;
    }
    if (rc) {
        s_nack(self, peer->rid, peer->rid_len, ref, id, "internal", hub_strerror(rc), self->diag);
        return;
    }
    hubd_pending_t *p = &self->pending[self->npending++];
    memcpy(p->rid, peer->rid, peer->rid_len);
    p->rid_len = peer->rid_len;
    p->ref = ref;
    snprintf(p->id, sizeof p->id, "%s", id);
    p->log_seq = res.log_seq;
    p->duplicate = res.duplicate;
}

void
hubd_on_publish(hubd_t *self, hubd_peer_t *peer, const void *body, size_t len)
{
    uint64_t ref = 0;
    const void *bytes = NULL;
    size_t n = 0;
    hub_mpr_t r;
    hub_mpr_init(&r, body, len);
    hub_mpr_get_uint(body, len, "ref", &ref);
    self->stats_in++; // every PUBLISH, one without a message too (it is nacked)
    if (hub_mpr_find(&r, "message") != HUB_OK || hub_mpr_bin(&r, &bytes, &n) != HUB_OK) {
        s_nack(self, peer->rid, peer->rid_len, ref, NULL, "malformed",
               "PUBLISH needs message: bin", NULL);
        return;
    }
    if (n > S_MAX_MESSAGE) {
        s_nack(self, peer->rid, peer->rid_len, ref, NULL, "too_large", "over max_message", NULL);
        return;
    }
    hub_diag_reset(self->diag);
    if (hub_codec_decode(self->msg, bytes, n, NULL, self->diag) != HUB_OK) {
        s_nack(self, peer->rid, peer->rid_len, ref, NULL, "malformed", "not a message", self->diag);
        s_dead(self, peer, bytes, n, "malformed", hub_diag_at(self->diag, 0)->text);
        return;
    }
    char reason[256];
    const char *code = s_authorise(self, peer, reason, sizeof reason);
    const char *id = hub_msg_env_str(self->msg, HUB_ENV_ID);
    if (code) {
        s_nack(self, peer->rid, peer->rid_len, ref, id, code, reason, NULL);
        return;
    }
    hub_msg_set_env_str(self->msg, HUB_ENV_SOURCE, peer->endpoint->department);
    if (hub_validate(self->conf.schemas, self->msg, HUB_VALIDATE_NORMALIZE, self->diag) != HUB_OK) {
        s_nack(self, peer->rid, peer->rid_len, ref, id, "invalid", "the message breaks its schema",
               self->diag);
        s_dead(self, peer, bytes, n, "invalid", hub_diag_at(self->diag, 0)->text);
        return;
    }
    s_store(self, peer, ref);
}

void
hubd_commit(hubd_t *self)
{
    if (!self->batch_open) {
        return;
    }
    int64_t t0 = hubd_mono_us();
    int rc = hub_store_commit(self->store);
    self->batch_open = false;
    hubd_metrics_histogram_observe(&self->snap.commit_seconds,
                                   (double) (hubd_mono_us() - t0) / 1e6);
    hubd_metrics_histogram_observe(&self->snap.batch_size, (double) self->npending);
    if (rc != HUB_OK) {
        s_fail_batch(self, rc == HUB_EFULL ? "store_full" : "internal",
                     rc == HUB_EFULL ? "store full: resend later" : "store error: resend later");
        hubd_log("error", "commit", "reason=\"%s\"", hub_strerror(rc));
        return;
    }
    for (size_t i = 0; i < self->npending; i++) {
        s_ack(self, &self->pending[i]);
    }
    self->npending = 0;
}

void
hubd_dedup_purge(hubd_t *self)
{
    int64_t now = hubd_mono_ms();
    if (now < self->dedup_next_ms || !s_begin(self)) {
        return;
    }
    uint64_t window = (uint64_t) self->conf.cfg.dedup_days * 86400000ull;
    uint64_t wall = (uint64_t) hubd_now_ms();
    size_t purged = 0;
    hub_store_dedup_purge(self->store, wall > window ? wall - window : 0, 20000,
                          self->dedup_resume, &self->dedup_resume_len, &purged);
    // A slice a second while there is more; at the end of the table, rest
    // a minute before starting over.
    self->dedup_next_ms = now + (self->dedup_resume_len ? 1000 : 60000);
    if (purged) {
        hubd_log("info", "dedup_purged", "entries=%zu", purged);
    }
}
