// What hubd does for operators beside the protocol: counters and rates for
// `hubctl status` (and the metrics), dead letters retried under the
// current rules, signed audit checkpoints and retention on timers.
#include "hub_codec.h"
#include "hub_error.h"
#include "hub_mpr.h"
#include "hub_mpw.h"
#include "hub_validate.h"
#include "hubd_int.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

// ---------------------------------------------------------------- rates

static size_t
s_consumers(hubd_t *self, const hub_endpoint_t *e)
{
    size_t n = 0;
    for (size_t i = 0; i < HUBD_MAX_PEERS; i++) {
        const hubd_peer_t *p = &self->peers[i];
        n += p->used && p->subscribed && p->endpoint == e;
    }
    return n;
}

// Per-second samples of a counter over the last minute.
static void
s_rate_tick(hubd_rate_t *r, int64_t now, uint64_t count)
{
    r->ring[r->pos % HUBD_RATE_SLOTS] = count;
    r->at[r->pos % HUBD_RATE_SLOTS] = now;
    r->pos++;
}

// COUNT per second since the oldest sample kept (at most a minute ago),
// over at least a second so that a first sample just taken gives no spike.
static double
s_rate(const hubd_rate_t *r, uint64_t count)
{
    if (r->pos == 0) {
        return 0.0;
    }
    size_t span = r->pos < HUBD_RATE_SLOTS ? r->pos : HUBD_RATE_SLOTS;
    size_t oldest = (r->pos - span) % HUBD_RATE_SLOTS;
    int64_t ms = hubd_mono_ms() - r->at[oldest];
    uint64_t n = count > r->ring[oldest] ? count - r->ring[oldest] : 0;
    return (double) n * 1000.0 / (double) (ms > 1000 ? ms : 1000);
}

hubd_epstat_t *
hubd_epstat(hubd_t *self, const char *endpoint)
{
    for (size_t i = 0; i < self->neps; i++) {
        if (strcmp(self->eps[i].id, endpoint) == 0) {
            return &self->eps[i];
        }
    }
    if (self->neps == HUBD_MAX_EPS || strlen(endpoint) >= sizeof self->eps[0].id) {
        return NULL;
    }
    hubd_epstat_t *e = &self->eps[self->neps++];
    memset(e, 0, sizeof *e);
    snprintf(e->id, sizeof e->id, "%s", endpoint);
    return e;
}

int
hubd_metrics_open(hubd_t *self, hub_diag_t *diag)
{
    hubd_metrics_histogram_init_seconds(&self->snap.commit_seconds);
    hubd_metrics_histogram_init_batch(&self->snap.batch_size);
    if (!self->conf.cfg.metrics[0]) {
        return HUB_OK;
    }
    return hubd_metrics_start(&self->metrics, self->conf.cfg.metrics, diag);
}

// Endpoint E's numbers now, into M.
static void
s_metrics_endpoint(hubd_t *self, const hub_endpoint_t *e, uint64_t now, hubd_metrics_endpoint_t *m)
{
    hubd_epstat_t *st = hubd_epstat(self, e->id);
    uint64_t t = 0;
    memset(m, 0, sizeof *m);
    m->endpoint = e->id;
    hub_store_endpoint_state(self->store, e->id, &m->acked_seq, &m->last_seq);
    m->depth = m->last_seq > m->acked_seq ? m->last_seq - m->acked_seq : 0;
    if (m->depth) {
        hub_store_delivery_time(self->store, e->id, m->acked_seq + 1, &t);
    }
    m->oldest_unacked_s = t && now > t ? (double) (now - t) / 1000.0 : 0.0;
    m->consumers = (unsigned) s_consumers(self, e);
    m->delivered = st ? st->delivered : 0;
    m->redelivered = st ? st->redelivered : 0;
    m->acks = st ? st->acks : 0;
}

// Hands the metrics server this second's numbers.
static void
s_metrics_publish(hubd_t *self)
{
    size_t n = hub_depts_endpoint_count(self->conf.depts), map = 0, used = 0;
    n = n < HUBD_MAX_EPS ? n : HUBD_MAX_EPS;
    uint64_t now = (uint64_t) hubd_now_ms();
    for (size_t i = 0; i < n; i++) {
        s_metrics_endpoint(self, hub_depts_endpoint_at(self->conf.depts, i), now, &self->meps[i]);
    }
    hubd_metrics_snapshot_t *s = &self->snap;
    s->start_ms = self->started_ms;
    s->ruleset = hub_rules_version(self->conf.rules);
    s->received = self->stats_in;
    s->acked = self->stats_acked;
    s->dead_written = self->stats_dead;
    hub_store_count(self->store, HUB_STORE_DEAD, &s->dead_letters);
    s->dedup_ids = self->stats_dedup_ids;
    s->subject_pending = self->stats_subject_pending;
    hub_store_subject_runs(self->store, s->subject_runs);
    s->peers = 0;
    for (size_t i = 0; i < HUBD_MAX_PEERS; i++) {
        s->peers += self->peers[i].used && self->peers[i].hello;
    }
    s->endpoints = self->meps;
    s->nendpoints = n;
    hub_store_usage(self->store, &map, &used);
    s->store_map_size = map;
    s->store_used_bytes = used;
    hubd_metrics_publish(self->metrics, s);
}

void
hubd_ops_tick(hubd_t *self)
{
    int64_t now = hubd_mono_ms();
    if (now < self->next_tick_ms) {
        return;
    }
    self->next_tick_ms = now + 1000;
    s_rate_tick(&self->acked_rate, now, self->stats_acked);
    s_rate_tick(&self->commit_rate, now, self->stats_commit_us);
    for (size_t i = 0; i < self->neps; i++) {
        s_rate_tick(&self->eps[i].rate, now, self->eps[i].delivered);
    }
    if (self->metrics) {
        s_metrics_publish(self);
    }
    if (self->sign_ok && now >= self->next_checkpoint_ms) {
        self->next_checkpoint_ms = now + (int64_t) self->conf.cfg.checkpoint_seconds * 1000;
        hubd_drain(self); // the store's write side is the main thread's now
        hubd_checkpoint(self);
    }
    if (now >= self->next_retain_ms) {
        hubd_drain(self);
        hubd_retain(self);
    }
}

// Entries of the subject index's work one idle batch writes (~1-2 MB, a
// few ms), a round of the loop apart: a merge of a million in ~3 s.
#define S_INDEX_IDLE 8192

void
hubd_index_idle(hubd_t *self)
{
    int64_t now = hubd_mono_ms();
    self->index_busy = false;
    if (now < self->next_index_ms || now - self->last_publish_ms < 1000 || self->flight ||
        self->fill->nops) {
        return; // not idle, or a batch in hand: the writer side is not ours
    }
    if (!hub_store_index_due(self->store)) {
        self->next_index_ms = now + 1000;
        return;
    }
    int rc = hub_store_begin(self->store);
    if (!rc) {
        hub_store_index_boost(self->store, S_INDEX_IDLE);
        rc = hub_store_commit(self->store);
    }
    if (rc) {
        char why[512];
        hubd_log("error", "index_idle", "reason=\"%s\"", hubd_store_why(self, rc, why, sizeof why));
        self->next_index_ms = now + 10000;
        return;
    }
    self->index_busy = true;
}

// ---------------------------------------------------------------- status

static void
s_status_endpoint(hubd_t *self, const hub_endpoint_t *e, hub_mpw_t *w)
{
    uint64_t acked = 0, last = 0, t = 0, now = (uint64_t) hubd_now_ms();
    hub_store_endpoint_state(self->store, e->id, &acked, &last);
    if (last > acked) {
        hub_store_delivery_time(self->store, e->id, acked + 1, &t);
    }
    hubd_epstat_t *st = hubd_epstat(self, e->id);
    hub_mpw_map(w, 7);
    hub_mpw_cstr(w, "acked");
    hub_mpw_uint(w, acked);
    hub_mpw_cstr(w, "consumers");
    hub_mpw_uint(w, s_consumers(self, e));
    hub_mpw_cstr(w, "delivered_per_s");
    hub_mpw_double(w, st ? s_rate(&st->rate, st->delivered) : 0.0);
    hub_mpw_cstr(w, "depth");
    hub_mpw_uint(w, last > acked ? last - acked : 0);
    hub_mpw_cstr(w, "endpoint");
    hub_mpw_cstr(w, e->id);
    hub_mpw_cstr(w, "last");
    hub_mpw_uint(w, last);
    hub_mpw_cstr(w, "oldest_unacked_ms");
    hub_mpw_uint(w, t && now > t ? now - t : 0);
}

void
hubd_admin_status(hubd_t *self, hub_mpw_t *w)
{
    size_t map = 0, used = 0, neps = hub_depts_endpoint_count(self->conf.depts);
    hub_store_usage(self->store, &map, &used);
    hub_mpw_map(w, 9);
    hub_mpw_cstr(w, "dead_letters");
    hub_mpw_uint(w, self->stats_dead);
    hub_mpw_cstr(w, "endpoints");
    hub_mpw_array(w, neps);
    for (size_t i = 0; i < neps; i++) {
        s_status_endpoint(self, hub_depts_endpoint_at(self->conf.depts, i), w);
    }
    hub_mpw_cstr(w, "ingest");
    hub_mpw_map(w, 10);
    hub_mpw_cstr(w, "acked");
    hub_mpw_uint(w, self->stats_acked);
    // The share of the last minute spent committing: commits run one at a
    // time, so near 1 the store is what holds ingest back.
    hub_mpw_cstr(w, "commit_busy");
    hub_mpw_double(w, s_rate(&self->commit_rate, self->stats_commit_us) / 1e6);
    hub_mpw_cstr(w, "commits"); // who committed the batches (docs/STORE.md, "hubd's two threads")
    hub_mpw_map(w, 2);
    hub_mpw_cstr(w, "main");
    hub_mpw_uint(w, self->stats_commits_main);
    hub_mpw_cstr(w, "writer");
    hub_mpw_uint(w, self->stats_commits_writer);
    hub_mpw_cstr(w, "dead");
    hub_mpw_uint(w, self->stats_dead);
    hub_mpw_cstr(w, "dedup_ids"); // the dedup window's ids, in memory
    hub_mpw_uint(w, self->stats_dedup_ids);
    hub_mpw_cstr(w, "nacked");
    hub_mpw_uint(w, self->stats_nacked);
    hub_mpw_cstr(w, "per_s");
    hub_mpw_double(w, s_rate(&self->acked_rate, self->stats_acked));
    hub_mpw_cstr(w, "received");
    hub_mpw_uint(w, self->stats_in);
    hub_mpw_cstr(w, "subject_pending"); // subject index entries in memory, not yet in a run
    hub_mpw_uint(w, self->stats_subject_pending);
    size_t runs[HUB_STORE_INDEX_LEVELS];
    hub_store_subject_runs(self->store, runs); // none counted when it fails
    hub_mpw_cstr(w, "subject_runs");           // the whole runs a subject query seeks, by level
    hub_mpw_array(w, HUB_STORE_INDEX_LEVELS);
    for (int i = 0; i < HUB_STORE_INDEX_LEVELS; i++) {
        hub_mpw_uint(w, runs[i]);
    }
    hub_mpw_cstr(w, "now_ms");
    hub_mpw_uint(w, (uint64_t) hubd_now_ms());
    hub_mpw_cstr(w, "ok");
    hub_mpw_bool(w, true);
    hub_mpw_cstr(w, "ruleset");
    hub_mpw_cstr(w, hub_rules_version(self->conf.rules));
    hub_mpw_cstr(w, "started_ms");
    hub_mpw_uint(w, (uint64_t) self->started_ms);
    hub_mpw_cstr(w, "store");
    hub_mpw_map(w, 3);
    hub_mpw_cstr(w, "map_size");
    hub_mpw_uint(w, map);
    hub_mpw_cstr(w, "path");
    hub_mpw_cstr(w, self->conf.cfg.store);
    hub_mpw_cstr(w, "used_bytes");
    hub_mpw_uint(w, used);
    hub_mpw_cstr(w, "store_id");
    hub_mpw_cstr(w, self->store_id);
}

// ----------------------------------------------------------- dead letters

typedef struct {
    const char *outcome, *code;
    char reason[512]; // a place and a diagnostic sentence
    uint64_t log_seq;
} s_retry_t;

// The first problem in self->diag as "WHERE: TEXT" into OUT (a decoder or
// validator that failed without saying why still gets a sentence).
static void
s_first_problem(hubd_t *self, s_retry_t *out)
{
    const hub_diag_entry_t *e = hub_diag_at(self->diag, 0);
    if (!e) {
        snprintf(out->reason, sizeof out->reason, "refused without a diagnostic");
    } else if (e->where[0]) {
        snprintf(out->reason, sizeof out->reason, "%.160s: %.320s", e->where, e->text);
    } else {
        snprintf(out->reason, sizeof out->reason, "%.320s", e->text);
    }
}

// Decodes, authorises and validates dead letter BYTES of SOURCE into
// self->msg; false (with OUT saying why) when it is refused again.
static bool
s_retry_check(hubd_t *self, const char *source, const void *bytes, size_t len, s_retry_t *out)
{
    hub_diag_reset(self->diag);
    if (hub_codec_decode(self->msg, bytes, len, NULL, self->diag) != HUB_OK) {
        out->code = "malformed";
        s_first_problem(self, out);
        return false;
    }
    const char *type = hub_msg_env_str(self->msg, HUB_ENV_TYPE);
    if (!hub_depts_may_publish(self->conf.depts, source, type)) {
        out->code = "not_allowed";
        snprintf(out->reason, sizeof out->reason, "%.64s may not publish %.64s", source, type);
        return false;
    }
    hub_msg_set_env_str(self->msg, HUB_ENV_SOURCE, source);
    if (hub_validate(self->conf.schemas, self->msg, HUB_VALIDATE_NORMALIZE, self->diag) != HUB_OK) {
        out->code = "invalid";
        s_first_problem(self, out);
        return false;
    }
    return true;
}

// Decodes, authorises, validates, routes and stores dead letter BYTES of
// SOURCE in the open batch. A store error (HUB_EFULL above all) breaks
// the batch: the caller aborts it.
static void
s_retry_one(hubd_t *self, const char *source, const void *bytes, size_t len, s_retry_t *out)
{
    out->outcome = "refused";
    if (!s_retry_check(self, source, bytes, len, out)) {
        return;
    }
    const hub_val_t *cid = hub_msg_subj(self->msg, HUB_SUBJ_CITIZEN_ID);
    const char *id = hub_msg_env_str(self->msg, HUB_ENV_ID);
    const char *event_field;
    const char *event = hub_schemas_event(self->conf.schemas, self->msg, &event_field);
    self->canon.len = 0;
    int rc = hub_codec_encode(self->msg, &self->canon);
    rc = rc ? rc
            : hub_route_run(self->route, self->conf.rules, self->conf.depts, self->conf.schemas,
                            self->msg, self->hash_key, self->diag);
    hub_store_ingest_t in = {source,
                             id,
                             hub_msg_env_str(self->msg, HUB_ENV_TYPE),
                             self->canon.data,
                             self->canon.len,
                             cid && cid->kind == HUB_VAL_STR ? cid->u.s : NULL,
                             hub_rules_version(self->conf.rules),
                             (uint64_t) hubd_now_ms(),
                             self->route,
                             event_field,
                             event};
    hub_store_result_t res = {0};
    rc = rc ? rc : hub_store_ingest(self->store, &in, &res);
    if (!rc && !res.duplicate) { // logged: its list changes go in the same transaction
        rc = hubd_lists_store(self, source, res.log_seq, in.now_ms);
    }
    if (rc) {
        out->code = "store";
        snprintf(out->reason, sizeof out->reason, "%s", hub_strerror(rc));
        return;
    }
    out->outcome = res.duplicate ? "duplicate" : res.same_event ? "same_event" : "stored";
    out->code = "";
    out->reason[0] = '\0';
    out->log_seq = res.log_seq;
}

// The operations-log detail {outcome, seq} of a retry, in self->aux.
static void
s_retry_detail(hubd_t *self, uint64_t seq, const s_retry_t *res)
{
    hub_mpw_t d;
    self->aux.len = 0;
    hub_mpw_init(&d, &self->aux);
    hub_mpw_map(&d, 2);
    hub_mpw_cstr(&d, "outcome");
    hub_mpw_cstr(&d, res->outcome);
    hub_mpw_cstr(&d, "seq");
    hub_mpw_uint(&d, seq);
}

// Records a retry of dead letter SEQ that was refused (nothing changed):
// when even that fails, OUT's reason says so.
static void
s_retry_refused(hubd_t *self, const char *user, uint64_t seq, s_retry_t *out)
{
    s_retry_detail(self, seq, out);
    int rc = hub_store_oplog_append(self->store, (uint64_t) hubd_now_ms(), user, "dlq.retry",
                                    self->aux.data, self->aux.len, NULL);
    if (rc) {
        size_t n = strlen(out->reason);
        snprintf(out->reason + n, sizeof out->reason - n,
                 "%sthis retry could not be recorded in the operations log: %s", n ? "; " : "",
                 hub_strerror(rc));
        hubd_log("error", "oplog", "action=dlq.retry seq=%llu reason=\"%s\" detail=\"%s\"",
                 (unsigned long long) seq, hub_strerror(rc), hub_store_last_error(self->store));
    }
}

// Retries dead letter SEQ (BYTES from SOURCE) in a transaction of its own:
// the message stored (or found a duplicate), the dead letter removed and
// the retry recorded in the operations log commit together, or nothing
// changes and OUT says why (a refusal is recorded on its own).
static void
s_retry_txn(hubd_t *self, const char *user, uint64_t seq, const char *source,
            const hub_buf_t *bytes, s_retry_t *out)
{
    int rc = hub_store_begin(self->store);
    if (rc == HUB_OK) {
        s_retry_one(self, source, bytes->data, bytes->len, out);
        if (out->code[0] != '\0') {
            hub_store_abort(self->store); // refused: nothing of it stays
        } else {
            s_retry_detail(self, seq, out);
            rc = hub_store_dead_drop(self->store, seq);
            rc = rc ? rc
                    : hub_store_oplog_append(self->store, (uint64_t) hubd_now_ms(), user,
                                             "dlq.retry", self->aux.data, self->aux.len, NULL);
            if (rc) {
                hub_store_abort(self->store);
            } else {
                rc = hub_store_commit(self->store);
            }
            if (!rc && hubd_lists_load(self) != HUB_OK) { // the retry's list changes too
                hubd_log("error", "lists_reload", "reason=\"%s\"",
                         hub_store_last_error(self->store));
            }
        }
    }
    if (rc) {
        out->outcome = "refused";
        out->code = "store";
        snprintf(out->reason, sizeof out->reason, "%s", hub_strerror(rc));
        hubd_log("error", "dlq_retry", "seq=%llu reason=\"%s\" detail=\"%s\"",
                 (unsigned long long) seq, hub_strerror(rc), hub_store_last_error(self->store));
    }
    if (strcmp(out->outcome, "refused") == 0) {
        s_retry_refused(self, user, seq, out);
    }
}

// Reads dead letter SEQ and retries it; its result into W.
static void
s_retry_seq(hubd_t *self, const char *user, uint64_t seq, hub_mpw_t *w)
{
    const void *rec, *bytes = NULL;
    const char *src = NULL;
    size_t len, blen = 0, slen = 0;
    char source[64] = "";
    s_retry_t res = {"missing", "not_found", "no such dead letter", 0};
    hub_mpr_t r;
    // The record lives in the store's buffer until the next store call:
    // the bytes are copied out before anything else is done.
    hub_buf_t copy = HUB_BUF_INIT;
    if (hub_store_record(self->store, HUB_STORE_DEAD, seq, &rec, &len) == HUB_OK) {
        hub_mpr_init(&r, rec, len);
        bool ok = !hub_mpr_find(&r, "bytes") && !hub_mpr_bin(&r, &bytes, &blen);
        hub_mpr_init(&r, rec, len);
        ok = ok && !hub_mpr_find(&r, "source") && !hub_mpr_str(&r, &src, &slen) &&
             slen < sizeof source && hub_buf_append(&copy, bytes, blen) == HUB_OK;
        if (ok) {
            memcpy(source, src, slen);
            s_retry_txn(self, user, seq, source, &copy, &res);
        } else {
            res = (s_retry_t){"refused", "store", "a damaged dead-letter record", 0};
        }
    }
    hub_buf_free(&copy);
    hub_mpw_map(w, 5);
    hub_mpw_cstr(w, "code");
    hub_mpw_cstr(w, res.code);
    hub_mpw_cstr(w, "log_seq");
    hub_mpw_uint(w, res.log_seq);
    hub_mpw_cstr(w, "outcome");
    hub_mpw_cstr(w, res.outcome);
    hub_mpw_cstr(w, "reason");
    hub_mpw_cstr(w, res.reason);
    hub_mpw_cstr(w, "seq");
    hub_mpw_uint(w, seq);
    hubd_log("info", "dlq_retry", "seq=%llu outcome=%s user=%s", (unsigned long long) seq,
             res.outcome, user);
}

void
hubd_dlq_retry(hubd_t *self, const char *user, const uint64_t *seqs, size_t n, hub_mpw_t *w)
{
    hub_mpw_map(w, 2);
    hub_mpw_cstr(w, "ok");
    hub_mpw_bool(w, true);
    hub_mpw_cstr(w, "results");
    hub_mpw_array(w, n);
    for (size_t i = 0; i < n; i++) {
        s_retry_seq(self, user, seqs[i], w);
    }
}

// ---------------------------------------------- checkpoints and retention

int
hubd_sign_key_load(hubd_t *self)
{
    hub_diag_reset(self->diag);
    uint8_t hex[129];
    self->sign_ok = false;
    FILE *f = fopen(self->conf.cfg.audit_sign_key, "rb");
    size_t n = f ? fread(hex, 1, 128, f) : 0;
    if (f) {
        fclose(f);
    }
    hex[n] = '\0';
    size_t bin_len = 0;
    bool ok = n == 128 &&
              sodium_hex2bin(self->sign_sk, sizeof self->sign_sk, (const char *) hex, n, NULL,
                             &bin_len, NULL) == 0 &&
              bin_len == sizeof self->sign_sk;
    sodium_memzero(hex, sizeof hex);
    if (!ok) {
        sodium_memzero(self->sign_sk, sizeof self->sign_sk);
        hubd_log("warn", "audit_checkpoints_off",
                 "reason=\"no readable Ed25519 key in %s (hubctl keygen --sign-key)\"",
                 self->conf.cfg.audit_sign_key);
        return HUB_EIO;
    }
    self->sign_ok = true;
    return HUB_OK;
}

int
hubd_checkpoint(hubd_t *self)
{
    if (!self->sign_ok) {
        return HUB_EINVAL;
    }
    int rc = hub_store_checkpoint(self->store, self->sign_sk, (uint64_t) hubd_now_ms());
    if (rc) {
        // Tried again at the next interval; meanwhile the records since the
        // last checkpoint are protected by the hash chain alone, which an
        // operator must be able to see (and alert on).
        char why[512];
        self->snap.checkpoint_failures++;
        hubd_log("error", "checkpoint_failed", "reason=\"%s\"",
                 hubd_store_why(self, rc, why, sizeof why));
    }
    return rc;
}

// The time DAYS before NOW (ms since the epoch), or 0 (nothing is that old)
// when DAYS reach back before 1970: retention_*_days goes up to 36500, a
// century, more than the epoch is old, and a wrapped subtraction would
// purge everything.
static uint64_t
s_days_before(uint64_t now, unsigned days)
{
    uint64_t span = (uint64_t) days * 86400000ull;
    return now > span ? now - span : 0;
}

void
hubd_retain(hubd_t *self)
{
    uint64_t now = (uint64_t) hubd_now_ms();
    uint64_t bodies = s_days_before(now, self->conf.cfg.retention_messages_days);
    uint64_t audit = s_days_before(now, self->conf.cfg.retention_audit_days);
    hub_store_purged_t p = {0};
    int rc = hub_store_purge(self->store, bodies, audit, 10000, now, &p);
    // A slice a second while there is more; otherwise look again in an
    // hour, or at the next reload after a failure (the store grown).
    self->next_retain_ms = hubd_mono_ms() + (p.more ? 1000 : 3600000);
    self->retain_failed = rc != HUB_OK;
    if (rc) {
        // The slice and its record were one transaction: nothing went, and
        // data kept past its retention must be seen (PIPL Art. 47).
        char why[512];
        self->snap.retention_failures++;
        hubd_log("error", "retention_failed", "purged=nothing reason=\"%s\"",
                 hubd_store_why(self, rc, why, sizeof why));
    } else if (p.bodies || p.deliveries || p.audit) {
        hubd_log("info", "retention", "bodies=%zu deliveries=%zu audit=%zu", p.bodies, p.deliveries,
                 p.audit);
    }
}
