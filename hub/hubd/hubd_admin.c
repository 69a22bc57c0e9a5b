// The admin socket: hubctl's way into the running daemon (docs/OPERATIONS.md,
// "The admin socket"). A ROUTER bound to hub.yaml's `admin` (by default an
// ipc socket inside the store directory, mode 0700: only the hub's own OS
// user can reach it). One request frame, one reply frame, both msgpack
// maps. What changes something is done here, by the store's one writer,
// and recorded in the operations log with the user the request names.
#include "hub_codec.h"
#include "hub_error.h"
#include "hub_mpr.h"
#include "hub_mpw.h"
#include "hub_validate.h"
#include "hubd_int.h"

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define S_MAX_SEQS 4096                   // sequences one dlq request may name
#define S_MAX_REQUEST ((int64_t) 1 << 20) // bytes: 4096 seqs take 37 KB; more is not a request

int
hubd_admin_open(hubd_t *self, hub_diag_t *diag)
{
    int linger = 0;
    int64_t max = S_MAX_REQUEST; // a larger message drops the connection before it is read
    self->admin = zmq_socket(self->ctx, ZMQ_ROUTER);
    if (!self->admin || zmq_setsockopt(self->admin, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(self->admin, ZMQ_MAXMSGSIZE, &max, sizeof max) != 0 ||
        zmq_bind(self->admin, self->conf.cfg.admin) != 0) {
        hub_diag_add(diag, HUB_DIAG_ERROR, "admin", self->conf.cfg.admin,
                     "cannot open the admin socket: %s", zmq_strerror(zmq_errno()));
        return HUB_EIO;
    }
    return HUB_OK;
}

// ------------------------------------------------------------ rule sets

// Appends one {name, text} of FILE (shown as NAME) to W, always (the
// array's length is written first): a file that went away since it was
// listed has an empty text.
static void
s_file(hub_mpw_t *w, const char *file, const char *name)
{
    FILE *f = fopen(file, "rb");
    hub_buf_t b = HUB_BUF_INIT;
    char chunk[8192];
    size_t n;
    while (f && (n = fread(chunk, 1, sizeof chunk, f)) > 0 &&
           hub_buf_append(&b, chunk, n) == HUB_OK) {
    }
    if (f) {
        fclose(f);
    }
    hub_mpw_map(w, 2);
    hub_mpw_cstr(w, "name");
    hub_mpw_cstr(w, name);
    hub_mpw_cstr(w, "text");
    hub_mpw_str(w, b.len ? (const char *) b.data : "", b.len);
    hub_buf_free(&b);
}

// The texts the rule-set version is made of: the rules and the
// departments file, as msgpack [{name, text}] in OUT.
static void
s_rule_files(hubd_t *self, hub_buf_t *out)
{
    char pattern[1024];
    glob_t g = {0};
    snprintf(pattern, sizeof pattern, "%s/rules.d/*.yaml", self->config_dir);
    int grc = glob(pattern, 0, NULL, &g);
    size_t n = grc == 0 ? g.gl_pathc : 0;
    char single[1024];
    snprintf(single, sizeof single, "%s/rules.yaml", self->config_dir);
    FILE *f = fopen(single, "rb");
    bool has_single = f != NULL;
    if (f) {
        fclose(f);
    }
    hub_mpw_t w;
    out->len = 0;
    hub_mpw_init(&w, out);
    hub_mpw_array(&w, n + has_single + 1);
    size_t dlen = strlen(self->config_dir) + 1;
    if (has_single) {
        s_file(&w, single, "rules.yaml");
    }
    for (size_t i = 0; i < n; i++) {
        s_file(&w, g.gl_pathv[i], g.gl_pathv[i] + dlen);
    }
    s_file(&w, self->conf.cfg.departments, "departments.yaml");
    if (grc == 0) {
        globfree(&g);
    }
}

int
hubd_ruleset_record(hubd_t *self, const char *event, const char *user)
{
    hub_buf_t files = {0};
    s_rule_files(self, &files);
    int rc = hub_store_ruleset_record(self->store, hub_rules_version(self->conf.rules),
                                      (uint64_t) hubd_now_ms(), event, user, files.data, files.len);
    hub_buf_free(&files);
    return rc;
}

// A detail map {K1: V1, K2: V2, K3: V3} for the operations log, in
// SELF->aux (K2, K3 may be NULL, K3 only with K2). The record is canonical
// msgpack, so the pairs are written in key order whatever order they come.
static void
s_detail(hubd_t *self, const char *k1, const char *v1, const char *k2, uint64_t v2, const char *k3,
         uint64_t v3)
{
    const char *keys[3] = {k1, k2, k3};
    size_t n = 1 + (k2 != NULL) + (k2 && k3), order[3] = {0, 1, 2};
    for (size_t i = 1; i < n; i++) { // insertion sort of at most three
        for (size_t j = i; j > 0 && strcmp(keys[order[j - 1]], keys[order[j]]) > 0; j--) {
            size_t t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    }
    hub_mpw_t w;
    self->aux.len = 0;
    hub_mpw_init(&w, &self->aux);
    hub_mpw_map(&w, n);
    for (size_t i = 0; i < n; i++) {
        hub_mpw_cstr(&w, keys[order[i]]);
        if (order[i] == 0) {
            hub_mpw_cstr(&w, v1);
        } else {
            hub_mpw_uint(&w, order[i] == 1 ? v2 : v3);
        }
    }
}

// Appends ACTION by USER, with the detail in self->aux, to the operations
// log: in the transaction open, if any (then a failure breaks it).
static int
s_oplog(hubd_t *self, const char *user, const char *action)
{
    int rc = hub_store_oplog_append(self->store, (uint64_t) hubd_now_ms(), user, action,
                                    self->aux.data, self->aux.len, NULL);
    if (rc) {
        hubd_log("error", "oplog", "action=%s reason=\"%s\" detail=\"%s\"", action,
                 hub_strerror(rc), hub_store_last_error(self->store));
    }
    return rc;
}

// Ends the transaction the caller began: committed when RC is HUB_OK,
// else abandoned with nothing of it written. The outcome.
static int
s_end(hubd_t *self, int rc)
{
    if (rc) {
        hub_store_abort(self->store);
        return rc;
    }
    return hub_store_commit(self->store);
}

const char *
hubd_store_why(hubd_t *self, int rc, char *out, size_t size)
{
    const char *detail = hub_store_last_error(self->store);
    snprintf(out, size, "%s%s%s%s%s%s", hub_strerror(rc), detail[0] ? ": " : "", detail,
             rc == HUB_EFULL ? " (" : "", rc == HUB_EFULL ? hub_store_full_remedy(self->store) : "",
             rc == HUB_EFULL ? ", then reload)" : "");
    return out;
}

// Moves the checkpoint and retention timers to NEW's settings when they
// changed: a checkpoint_seconds shortened from a day to a minute takes
// effect now, not when the day is over. A failed retention slice is tried
// again at once: a reload is how a full store gets room.
static void
s_timers_adopt(hubd_t *self, const hub_config_t *fresh)
{
    const hub_config_t *old = &self->conf.cfg;
    if (fresh->checkpoint_seconds != old->checkpoint_seconds) {
        int64_t next = hubd_mono_ms() + (int64_t) fresh->checkpoint_seconds * 1000;
        self->next_checkpoint_ms =
            next < self->next_checkpoint_ms ? next : self->next_checkpoint_ms;
    }
    if (fresh->retention_messages_days != old->retention_messages_days ||
        fresh->retention_audit_days != old->retention_audit_days || self->retain_failed) {
        self->next_retain_ms = 0; // at the next tick
    }
}

// A broken configuration: its problems (in self->diag) logged and the
// refusal recorded (*RECORDED: how that went); the configuration in force
// stays.
static int
s_reload_refused(hubd_t *self, const char *user, int *recorded)
{
    for (size_t i = 0; i < hub_diag_count(self->diag); i++) {
        const hub_diag_entry_t *e = hub_diag_at(self->diag, i);
        hubd_log("error", "reload_problem", "where=\"%s\" reason=%s msg=\"%s\"", e->where,
                 e->reason, e->text);
    }
    hubd_log("error", "reload_refused", "ruleset=%s (kept) user=%s",
             hub_rules_version(self->conf.rules), user);
    const hub_diag_entry_t *first = hub_diag_count(self->diag) ? hub_diag_at(self->diag, 0) : NULL;
    s_detail(self, "problem", first ? first->where : "", "problems", hub_diag_count(self->diag),
             NULL, 0);
    *recorded = s_oplog(self, user, "reload.refused");
    return HUB_ECONFIG;
}

// The reload by USER recorded: the rule-set version in force (its history)
// and the operations log, in one transaction, both or neither.
static int
s_reload_record(hubd_t *self, const char *user)
{
    int rc = hub_store_begin(self->store);
    if (rc) {
        return rc;
    }
    rc = hubd_ruleset_record(self, "reload", user);
    s_detail(self, "ruleset", hub_rules_version(self->conf.rules), NULL, 0, NULL, 0);
    rc = rc ? rc : s_oplog(self, user, "reload");
    return s_end(self, rc);
}

int
hubd_reload(hubd_t *self, const char *user, bool *changed, int *recorded)
{
    hubd_conf_t fresh;
    hub_diag_reset(self->diag);
    *changed = false;
    if (hubd_conf_load(&fresh, self->config_dir, self->diag) != HUB_OK) {
        return s_reload_refused(self, user, recorded);
    }
    for (size_t i = 0; i < HUBD_MAX_PEERS; i++) { // peers point into the old departments
        hubd_peer_t *p = &self->peers[i];
        if (p->used) {
            p->endpoint = hub_depts_endpoint(fresh.depts, p->endpoint->id);
            p->used = p->endpoint != NULL;
        }
    }
    // A larger store_map_size grows the map in place: the way out of
    // "store full" without a restart.
    if (fresh.cfg.store_map_size != self->conf.cfg.store_map_size && !self->flight) {
        int rc = hub_store_set_map_size(self->store, fresh.cfg.store_map_size);
        hubd_log(rc ? "error" : "info", "map_size", "bytes=%zu result=\"%s\"",
                 fresh.cfg.store_map_size, hub_strerror(rc));
    }
    if (!self->flight) {
        hubd_store_settings(self, &fresh);
    }
    *changed = strcmp(hub_rules_version(fresh.rules), hub_rules_version(self->conf.rules)) != 0;
    s_timers_adopt(self, &fresh.cfg);
    hubd_conf_free(&self->conf);
    self->conf = fresh;
    if (hubd_lists_load(self) != HUB_OK) { // the new set's list numbers
        hubd_log("error", "lists_reload", "reason=\"%s\" (lists are empty until a restart)",
                 hub_store_last_error(self->store));
    }
    // The signing key is configuration too: one made with `hubctl keygen
    // --sign-key` after the start comes into use with a reload.
    hubd_sign_key_load(self);
    // Recorded once in force: a reload is how a full store gets room (the
    // map grew above), and how a leaked key is put out of use, so a store
    // that cannot take the record does not hold it back. The caller says
    // so instead (*RECORDED).
    *recorded = s_reload_record(self, user);
    char why[512];
    hubd_log(*recorded ? "error" : "info", "reloaded",
             "ruleset=%s rules=%zu changed=%d user=%s recorded=%s%s%s%s",
             hub_rules_version(self->conf.rules), hub_rules_count(self->conf.rules), *changed, user,
             *recorded ? "no" : "yes", *recorded ? " reason=\"" : "",
             *recorded ? hubd_store_why(self, *recorded, why, sizeof why) : "",
             *recorded ? "\"" : "");
    return HUB_OK;
}

// ------------------------------------------------------------- replies

static void
s_fail(hub_mpw_t *w, const char *code, const char *error)
{
    hub_mpw_map(w, 3);
    hub_mpw_cstr(w, "code");
    hub_mpw_cstr(w, code);
    hub_mpw_cstr(w, "error");
    hub_mpw_cstr(w, error);
    hub_mpw_cstr(w, "ok");
    hub_mpw_bool(w, false);
}

// The string KEY of request REQ into OUT (SIZE bytes, NUL-terminated);
// false when it is missing, not a string, empty, too long, or holds a
// control character (it goes into log lines and the operations log).
static bool
s_req_str(const void *req, size_t len, const char *key, char *out, size_t size)
{
    const char *s = NULL;
    size_t n = 0;
    hub_mpr_t r;
    hub_mpr_init(&r, req, len);
    if (hub_mpr_find(&r, key) || hub_mpr_str(&r, &s, &n) || n == 0 || n >= size) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f) {
            return false;
        }
    }
    memcpy(out, s, n);
    out[n] = '\0';
    return true;
}

// The reply to a reload refused (its problems in self->diag); RECORDED:
// how recording the refusal went.
static void
s_reload_refusal(hubd_t *self, int recorded, hub_mpw_t *w)
{
    char why[512], error[640];
    snprintf(error, sizeof error, "the new configuration is broken; the old one stays in force%s%s",
             recorded ? ", and the refusal could not be recorded in the operations log: " : "",
             recorded ? hubd_store_why(self, recorded, why, sizeof why) : "");
    hub_mpw_map(w, 4);
    hub_mpw_cstr(w, "code");
    hub_mpw_cstr(w, "config");
    hub_mpw_cstr(w, "error");
    hub_mpw_cstr(w, error);
    hub_mpw_cstr(w, "ok");
    hub_mpw_bool(w, false);
    hub_mpw_cstr(w, "problems");
    hubd_problems(w, self->diag);
}

static void
s_on_reload(hubd_t *self, const char *user, hub_mpw_t *w)
{
    bool changed = false;
    int recorded = HUB_OK;
    char why[512];
    if (hubd_reload(self, user, &changed, &recorded) != HUB_OK) {
        s_reload_refusal(self, recorded, w);
        return;
    }
    // In force, but not recorded: not a success (code not_recorded), and
    // the reply still says what is in force.
    hub_mpw_map(w, recorded ? 5 : 3);
    hub_mpw_cstr(w, "changed");
    hub_mpw_bool(w, changed);
    if (recorded) {
        char error[640];
        snprintf(error, sizeof error,
                 "rule set %s is in force, but the reload could not be recorded in the "
                 "operations log and the rule-set history: %s",
                 hub_rules_version(self->conf.rules),
                 hubd_store_why(self, recorded, why, sizeof why));
        hub_mpw_cstr(w, "code");
        hub_mpw_cstr(w, "not_recorded");
        hub_mpw_cstr(w, "error");
        hub_mpw_cstr(w, error);
    }
    hub_mpw_cstr(w, "ok");
    hub_mpw_bool(w, recorded == HUB_OK);
    hub_mpw_cstr(w, "ruleset");
    hub_mpw_cstr(w, hub_rules_version(self->conf.rules));
}

// The consumers connected to endpoint E are sent the replay from TO + 1 at
// once: what they had in flight counts as not sent (their `high` stays, so
// the resends count as redeliveries).
static void
s_rewind_peers(hubd_t *self, const hub_endpoint_t *e, uint64_t to)
{
    for (size_t i = 0; i < HUBD_MAX_PEERS; i++) {
        hubd_peer_t *p = &self->peers[i];
        if (p->used && p->subscribed && p->endpoint == e) {
            p->sent = p->acked = to;
            p->last_ack_ms = hubd_mono_ms();
        }
    }
}

// Moves ENDPOINT's cursor from BEFORE to TO, and records it in the
// operations log, in one transaction: a rewind that cannot be recorded is
// not made.
static int
s_rewind_record(hubd_t *self, const char *user, const char *endpoint, uint64_t before, uint64_t to)
{
    int rc = hub_store_begin(self->store);
    if (rc) {
        return rc;
    }
    rc = hub_store_cursor_set(self->store, endpoint, to);
    s_detail(self, "endpoint", endpoint, "before", before, "to", to);
    rc = rc ? rc : s_oplog(self, user, "cursor.rewind");
    return s_end(self, rc);
}

static void
s_on_rewind(hubd_t *self, const char *user, const void *req, size_t len, hub_mpw_t *w)
{
    char ep[128];
    uint64_t to = 0, before = 0, last = 0;
    if (!s_req_str(req, len, "endpoint", ep, sizeof ep) || hub_mpr_get_uint(req, len, "to", &to)) {
        s_fail(w, "bad_request", "cursor.rewind needs endpoint: str and to: uint");
        return;
    }
    const hub_endpoint_t *e = hub_depts_endpoint(self->conf.depts, ep);
    int rc = e ? hub_store_endpoint_state(self->store, ep, &before, &last) : HUB_ENOTFOUND;
    if (!rc && to > last) {
        s_fail(w, "invalid", "'to' is beyond the last delivery written to the endpoint");
        return;
    }
    rc = rc ? rc : s_rewind_record(self, user, ep, before, to);
    if (rc && rc != HUB_ENOTFOUND && rc != HUB_EINVAL) {
        hubd_log("error", "cursor_rewind", "endpoint=%s to=%llu user=%s reason=\"%s\"", ep,
                 (unsigned long long) to, user, hub_strerror(rc));
    }
    if (rc) {
        char why[512], error[600];
        snprintf(error, sizeof error, "the cursor was not moved: %s",
                 hubd_store_why(self, rc, why, sizeof why));
        // HUB_EINVAL here: nothing was ever written to the endpoint.
        s_fail(w,
               rc == HUB_ENOTFOUND ? "not_found"
               : rc == HUB_EINVAL  ? "invalid"
                                   : "store",
               rc == HUB_ENOTFOUND ? "no such endpoint in departments.yaml"
               : rc == HUB_EINVAL  ? "the endpoint has received nothing yet"
                                   : error);
        return;
    }
    s_rewind_peers(self, e, to);
    hubd_log("info", "cursor_rewound", "endpoint=%s before=%llu after=%llu user=%s", ep,
             (unsigned long long) before, (unsigned long long) to, user);
    hub_mpw_map(w, 4);
    hub_mpw_cstr(w, "after");
    hub_mpw_uint(w, to);
    hub_mpw_cstr(w, "before");
    hub_mpw_uint(w, before);
    hub_mpw_cstr(w, "endpoint");
    hub_mpw_cstr(w, ep);
    hub_mpw_cstr(w, "ok");
    hub_mpw_bool(w, true);
}

// The sequences of a dlq request, in an array the caller frees; *N gets
// how many. NULL on a bad request (no array, not all uints, none, or more
// than S_MAX_SEQS), with a reply saying so in W.
static uint64_t *
s_seqs(const char *cmd, const void *req, size_t len, size_t *n, hub_mpw_t *w)
{
    hub_mpr_t r;
    hub_mp_obj_t o;
    uint64_t *seqs = NULL;
    hub_mpr_init(&r, req, len);
    if (!hub_mpr_find(&r, "seqs") && !hub_mpr_next(&r, &o) && o.kind == HUB_MP_ARRAY && o.len > 0 &&
        o.len <= S_MAX_SEQS) {
        seqs = malloc(o.len * sizeof *seqs);
    }
    for (uint32_t i = 0; seqs && i < o.len; i++) {
        if (hub_mpr_uint(&r, &seqs[i])) {
            free(seqs);
            seqs = NULL;
        }
    }
    if (!seqs) {
        char error[96];
        snprintf(error, sizeof error, "%s needs seqs: [uint] (1 to %d of them)", cmd, S_MAX_SEQS);
        s_fail(w, "bad_request", error);
        return NULL;
    }
    *n = o.len;
    return seqs;
}

// Drops dead letters SEQS in one transaction, each with its operations-log
// record: one fsync for the request, and all or nothing. *DROPPED gets how
// many were there.
static int
s_drop_all(hubd_t *self, const char *user, const uint64_t *seqs, size_t n, size_t *dropped)
{
    int rc = hub_store_begin(self->store);
    for (size_t i = 0; !rc && i < n; i++) {
        rc = hub_store_dead_drop(self->store, seqs[i]);
        if (rc == HUB_ENOTFOUND) {
            rc = HUB_OK; // not there (or named twice): nothing to drop
            continue;
        }
        s_detail(self, "action", "drop", "seq", seqs[i], NULL, 0);
        rc = rc ? rc
                : hub_store_oplog_append(self->store, (uint64_t) hubd_now_ms(), user, "dlq.drop",
                                         self->aux.data, self->aux.len, NULL);
        *dropped += !rc;
    }
    if (rc) {
        hub_store_abort(self->store);
        *dropped = 0;
        return rc;
    }
    rc = hub_store_commit(self->store);
    *dropped = rc ? 0 : *dropped;
    return rc;
}

static void
s_on_drop(hubd_t *self, const char *user, const void *req, size_t len, hub_mpw_t *w)
{
    size_t n = 0, dropped = 0;
    uint64_t *seqs = s_seqs("dlq.drop", req, len, &n, w);
    if (!seqs) {
        return;
    }
    int rc = s_drop_all(self, user, seqs, n, &dropped);
    free(seqs);
    hubd_log(rc ? "error" : "info", "dlq_drop", "asked=%zu dropped=%zu result=\"%s\" user=%s", n,
             dropped, hub_strerror(rc), user);
    if (rc) {
        char why[512], error[600];
        snprintf(error, sizeof error, "nothing was dropped: %s",
                 hubd_store_why(self, rc, why, sizeof why));
        s_fail(w, "store", error);
        return;
    }
    hub_mpw_map(w, 2);
    hub_mpw_cstr(w, "dropped");
    hub_mpw_uint(w, dropped);
    hub_mpw_cstr(w, "ok");
    hub_mpw_bool(w, true);
}

static void
s_on_checkpoint(hubd_t *self, hub_mpw_t *w)
{
    uint64_t seq = 0;
    int rc = hubd_checkpoint(self);
    rc = rc ? rc : hub_store_last_seq(self->store, HUB_STORE_CHECKPOINT, &seq);
    if (rc) {
        s_fail(w, "store",
               self->sign_ok ? hub_strerror(rc) : "no audit signing key (hub.yaml audit_sign_key)");
        return;
    }
    hub_mpw_map(w, 2);
    hub_mpw_cstr(w, "ok");
    hub_mpw_bool(w, true);
    hub_mpw_cstr(w, "seq");
    hub_mpw_uint(w, seq);
}

static void
s_handle(hubd_t *self, const void *req, size_t len, hub_mpw_t *w)
{
    char cmd[32], user[64];
    if (!s_req_str(req, len, "cmd", cmd, sizeof cmd)) {
        s_fail(w, "bad_request", "a request is a msgpack map with cmd: str and user: str");
    } else if (!s_req_str(req, len, "user", user, sizeof user)) {
        s_fail(w, "bad_request", "a request names its user: str (the OS user)");
    } else if (strcmp(cmd, "status") == 0) {
        hubd_admin_status(self, w);
    } else if (strcmp(cmd, "reload") == 0) {
        s_on_reload(self, user, w);
    } else if (strcmp(cmd, "cursor.rewind") == 0) {
        s_on_rewind(self, user, req, len, w);
    } else if (strcmp(cmd, "dlq.retry") == 0) {
        size_t k = 0;
        uint64_t *seqs = s_seqs("dlq.retry", req, len, &k, w);
        if (seqs) {
            hubd_dlq_retry(self, user, seqs, k, w);
            free(seqs);
        }
    } else if (strcmp(cmd, "dlq.drop") == 0) {
        s_on_drop(self, user, req, len, w);
    } else if (strcmp(cmd, "checkpoint") == 0) {
        s_on_checkpoint(self, w);
    } else {
        s_fail(w, "unknown_cmd",
               "commands: status reload cursor.rewind dlq.retry dlq.drop checkpoint");
    }
}

void
hubd_admin_handle(hubd_t *self)
{
    zmq_msg_t f[3];
    int n = 0, more = 1;
    for (int i = 0; i < 3; i++) {
        zmq_msg_init(&f[i]);
    }
    while (more) { // [routing id][empty][request] from a REQ socket
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, self->admin, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            break;
        }
        more = zmq_msg_more(&m);
        if (n < 3) {
            zmq_msg_move(&f[n], &m);
        }
        n++;
        zmq_msg_close(&m);
    }
    if (n == 3 && zmq_msg_size(&f[1]) == 0) {
        hub_buf_t reply = {0};
        hub_mpw_t w;
        hub_mpw_init(&w, &reply);
        hubd_drain(self); // admin work runs between batches, never beside one
        s_handle(self, zmq_msg_data(&f[2]), zmq_msg_size(&f[2]), &w);
        zmq_send(self->admin, zmq_msg_data(&f[0]), zmq_msg_size(&f[0]), ZMQ_SNDMORE);
        zmq_send(self->admin, "", 0, ZMQ_SNDMORE);
        zmq_send(self->admin, reply.data, reply.len, 0);
        hub_buf_free(&reply);
    }
    for (int i = 0; i < 3; i++) {
        zmq_msg_close(&f[i]);
    }
}
