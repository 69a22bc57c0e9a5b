// hubd: the hub daemon. See `hubd --help` and docs/OPERATIONS.md.
#include "hub_error.h"
#include "hub_mpr.h"
#include "hub_mpw.h"
#include "hubd_int.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

static volatile sig_atomic_t s_stop, s_reload; // the only mutable globals: signal flags

static const char s_help[] =
    "usage: hubd [-c DIR]\n"
    "Runs the hub in the foreground on the configuration in DIR (default: config).\n"
    "Logs structured lines to stderr. SIGTERM/SIGINT: finish the batch in flight, send its\n"
    "acks, exit 0. SIGHUP (or `hubctl reload`): reload the configuration (a broken one is\n"
    "refused and the old one stays). `hubctl` reaches it on the admin socket (hub.yaml admin).\n"
    "Protocol: docs/PROTOCOL.md. Operations: docs/OPERATIONS.md.\n";

static void
s_on_signal(int sig)
{
    if (sig == SIGHUP) {
        s_reload = 1;
    } else {
        s_stop = 1;
    }
}

int64_t
hubd_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
hubd_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
hubd_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
hubd_log(const char *level, const char *event, const char *fmt, ...)
{
    char ts[32];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    fprintf(stderr, "ts=%s level=%s event=%s", ts, level, event);
    if (fmt && fmt[0]) {
        va_list ap;
        va_start(ap, fmt);
        fputc(' ', stderr);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
    }
    fputc('\n', stderr);
}

int
hubd_conf_load(hubd_conf_t *c, const char *dir, hub_diag_t *diag)
{
    memset(c, 0, sizeof *c);
    int rc = hub_config_load(&c->cfg, dir, diag);
    rc = rc ? rc : hub_schemas_load(&c->schemas, c->cfg.schemas_dir, diag);
    rc = rc ? rc : hub_depts_load(&c->depts, c->cfg.departments, c->schemas, diag);
    rc = rc ? rc : hub_rules_load(&c->rules, dir, c->schemas, c->depts, diag);
    rc = rc ? rc : hubd_keys_load(&c->keys, c->depts, &c->cfg, diag);
    if (rc) {
        hubd_conf_free(c);
    }
    return rc;
}

void
hubd_conf_free(hubd_conf_t *c)
{
    hubd_keys_destroy(&c->keys);
    hub_rules_destroy(&c->rules);
    hub_depts_destroy(&c->depts);
    hub_schemas_destroy(&c->schemas);
    hub_config_free(&c->cfg);
}

bool
hubd_send(hubd_t *self, const uint8_t *rid, size_t rid_len, const char *cmd, const void *body,
          size_t len)
{
    if (zmq_send(self->router, rid, rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(self->router, cmd, strlen(cmd), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(self->router, body, len, ZMQ_DONTWAIT) < 0) {
        return false;
    }
    return true;
}

void
hubd_send_error(hubd_t *self, hubd_peer_t *peer, const char *code, const char *reason)
{
    hub_mpw_t w;
    self->out.len = 0;
    hub_mpw_init(&w, &self->out);
    hub_mpw_map(&w, 2);
    hub_mpw_cstr(&w, "code");
    hub_mpw_cstr(&w, code);
    hub_mpw_cstr(&w, "reason");
    hub_mpw_cstr(&w, reason);
    hubd_send(self, peer->rid, peer->rid_len, "ERROR", self->out.data, self->out.len);
}

// True (and the newcomer told why) when endpoint USER_ID already has
// HUBD_MAX_PEERS_PER_ENDPOINT connections: one department's key, leaked or
// looping on reconnects, must not fill the peer table and lock out the
// others. Peers that went silent leave the table after three heartbeats.
static bool
s_endpoint_full(hubd_t *self, const uint8_t *rid, size_t len, const char *user_id)
{
    size_t n = 0;
    for (size_t i = 0; i < HUBD_MAX_PEERS; i++) {
        const hubd_peer_t *p = &self->peers[i];
        n += p->used && strcmp(p->endpoint->id, user_id) == 0;
    }
    if (n < HUBD_MAX_PEERS_PER_ENDPOINT) {
        return false;
    }
    hub_mpw_t w;
    self->out.len = 0;
    hub_mpw_init(&w, &self->out);
    hub_mpw_map(&w, 2);
    hub_mpw_cstr(&w, "code");
    hub_mpw_cstr(&w, "too_many_connections");
    hub_mpw_cstr(&w, "reason");
    hub_mpw_cstr(&w, "this endpoint has as many connections as the hub allows (32)");
    hubd_send(self, rid, len, "ERROR", self->out.data, self->out.len);
    int64_t now = hubd_mono_ms();
    if (now - self->full_logged_ms >= 10000) { // a line per 10 s, not per message
        self->full_logged_ms = now;
        hubd_log("warn", "too_many_connections", "peer=%s limit=%d", user_id,
                 HUBD_MAX_PEERS_PER_ENDPOINT);
    }
    return true;
}

hubd_peer_t *
hubd_peer(hubd_t *self, const uint8_t *rid, size_t len, const char *user_id)
{
    hubd_peer_t *free_slot = NULL;
    for (size_t i = 0; i < HUBD_MAX_PEERS; i++) {
        hubd_peer_t *p = &self->peers[i];
        if (p->used && p->rid_len == len && memcmp(p->rid, rid, len) == 0) {
            // A routing id is not an identity: a client may choose its own
            // (ZMQ_ROUTING_ID) and so take over the id of a connection that
            // died, whose entry lingers for three heartbeats, hello'd and
            // subscribed. Who sent a message is its key's endpoint (the ZAP
            // User-Id), checked on every message; another endpoint starts
            // a new peer that inherits nothing (no HELLO, no subscription).
            if (!user_id || strcmp(user_id, p->endpoint->id) == 0) {
                return user_id ? p : NULL;
            }
            hubd_log("warn", "routing_id_reused", "peer=%s was=%s", user_id, p->endpoint->id);
            p->used = false;
            free_slot = p;
            break;
        }
        free_slot = !p->used && !free_slot ? p : free_slot;
    }
    // Only routing ids the ROUTER made itself (5 bytes, the first zero) are
    // served: those are never reused while hubd runs, so a silent newcomer
    // can never inherit a dead consumer's deliveries under its old id.
    if (len != 5 || rid[0] != 0) {
        hubd_log("warn", "routing_id_refused", "peer=%s (clients must not set ZMQ_ROUTING_ID)",
                 user_id ? user_id : "?");
        return NULL;
    }
    if (!free_slot || !user_id || s_endpoint_full(self, rid, len, user_id)) {
        return NULL;
    }
    memset(free_slot, 0, sizeof *free_slot);
    free_slot->used = true;
    memcpy(free_slot->rid, rid, len);
    free_slot->rid_len = len;
    free_slot->endpoint = hub_depts_endpoint(self->conf.depts, user_id);
    free_slot->last_in_ms = free_slot->last_out_ms = hubd_mono_ms();
    return free_slot->endpoint ? free_slot : (free_slot->used = false, NULL);
}

static void
s_on_hello(hubd_t *self, hubd_peer_t *peer, const void *body, size_t len)
{
    uint64_t proto = 0;
    if (hub_mpr_get_uint(body, len, "protocol", &proto) != HUB_OK || proto < 1) {
        hubd_send_error(self, peer, "protocol", "this hub speaks protocol 1");
        return;
    }
    peer->hello = true;
    const hub_dept_t *d = hub_depts_find(self->conf.depts, peer->endpoint->department);
    hub_mpw_t w;
    self->out.len = 0;
    hub_mpw_init(&w, &self->out);
    hub_mpw_map(&w, 9);
    hub_mpw_cstr(&w, "ack_timeout_ms");
    hub_mpw_uint(&w, self->conf.cfg.ack_timeout_ms);
    hub_mpw_cstr(&w, "department");
    hub_mpw_cstr(&w, peer->endpoint->department);
    hub_mpw_cstr(&w, "heartbeat_ms");
    hub_mpw_uint(&w, self->conf.cfg.heartbeat_ms);
    hub_mpw_cstr(&w, "identity");
    hub_mpw_cstr(&w, peer->endpoint->id);
    hub_mpw_cstr(&w, "max_batch"); // PUBLISH_BATCH is taken (docs/PROTOCOL.md, "Batches")
    hub_mpw_uint(&w, HUBD_PUBLISH_BATCH_MAX);
    hub_mpw_cstr(&w, "max_message");
    hub_mpw_uint(&w, HUBD_MAX_MESSAGE);
    hub_mpw_cstr(&w, "may_publish");
    hub_mpw_array(&w, d ? d->npublishes : 0);
    for (size_t i = 0; d && i < d->npublishes; i++) {
        hub_mpw_cstr(&w, d->publishes[i]);
    }
    hub_mpw_cstr(&w, "protocol");
    hub_mpw_uint(&w, 1);
    hub_mpw_cstr(&w, "ruleset");
    hub_mpw_cstr(&w, hub_rules_version(self->conf.rules));
    hubd_send(self, peer->rid, peer->rid_len, "WELCOME", self->out.data, self->out.len);
    hubd_log("info", "hello", "peer=%s", peer->endpoint->id);
}

static void
s_dispatch(hubd_t *self, hubd_peer_t *peer, const char *cmd, size_t clen, const void *body,
           size_t blen)
{
#define S_IS(word) (clen == sizeof(word) - 1 && memcmp(cmd, word, clen) == 0)
    hub_mpr_t r;
    hub_mp_obj_t o;
    hub_mpr_init(&r, body, blen);
    if (hub_mpr_next(&r, &o) != HUB_OK || o.kind != HUB_MP_MAP) {
        hubd_send_error(self, peer, "malformed", "the body must be one msgpack map");
    } else if (S_IS("HELLO")) {
        s_on_hello(self, peer, body, blen);
    } else if (S_IS("BYE")) {
        peer->used = false;
    } else if (!peer->hello) {
        // Also for HEARTBEAT: a client whose session the hub lost (a hub
        // restart, three silent intervals) must learn it, not be kept
        // waiting by heartbeat answers.
        hubd_send_error(self, peer, "hello_first", "no session: send HELLO first");
    } else if (S_IS("HEARTBEAT")) {
        // Nothing to answer: hearing it is the point (last_in_ms). Each side
        // sends its own when idle; answering would ping-pong forever.
    } else if (S_IS("PUBLISH")) {
        hubd_on_publish(self, peer, body, blen);
    } else if (S_IS("PUBLISH_BATCH")) {
        hubd_on_publish_batch(self, peer, body, blen);
    } else if (S_IS("SUBSCRIBE")) {
        hubd_on_subscribe(self, peer, body, blen);
    } else if (S_IS("DACK")) {
        hubd_on_dack(self, peer, body, blen);
    } else if (S_IS("CREDIT")) {
        hubd_on_credit(self, peer, body, blen);
    } else {
        hubd_send_error(self, peer, "unknown_command", "not a protocol 1 command");
    }
#undef S_IS
}

// Receives one [rid][cmd][body] message; false when none is waiting.
static bool
s_recv_one(hubd_t *self)
{
    zmq_msg_t f[3];
    int n = 0, more = 1;
    bool got = false;
    for (int i = 0; i < 3; i++) {
        zmq_msg_init(&f[i]);
    }
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, self->router, n == 0 ? ZMQ_DONTWAIT : 0) < 0) {
            zmq_msg_close(&m);
            break;
        }
        got = true;
        more = zmq_msg_more(&m);
        if (n < 3) {
            zmq_msg_move(&f[n], &m);
        }
        n++;
        zmq_msg_close(&m);
    }
    if (got && n >= 1) {
        // The routing id frame is made by the ROUTER itself; the frames the
        // peer sent carry the connection's metadata (the ZAP User-Id).
        const char *uid = n >= 2 ? zmq_msg_gets(&f[1], "User-Id") : NULL;
        hubd_peer_t *peer = hubd_peer(self, zmq_msg_data(&f[0]), zmq_msg_size(&f[0]), uid);
        if (peer) {
            peer->last_in_ms = hubd_mono_ms();
            if (n != 3) {
                hubd_send_error(self, peer, "malformed", "a message is two frames: command, body");
            } else {
                s_dispatch(self, peer, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]),
                           zmq_msg_data(&f[2]), zmq_msg_size(&f[2]));
            }
        }
    }
    for (int i = 0; i < 3; i++) {
        zmq_msg_close(&f[i]);
    }
    return got;
}

// Heartbeats to quiet peers; peers silent for three intervals are dropped
// (their data stays in the store).
static void
s_timers(hubd_t *self)
{
    int64_t now = hubd_mono_ms(), hb = self->conf.cfg.heartbeat_ms;
    for (size_t i = 0; i < HUBD_MAX_PEERS; i++) {
        hubd_peer_t *p = &self->peers[i];
        if (!p->used) {
            continue;
        }
        if (now - p->last_in_ms > 3 * hb) {
            hubd_log("info", "peer_gone", "peer=%s", p->endpoint->id);
            p->used = false;
        } else if (now - p->last_out_ms >= hb) {
            hubd_send(self, p->rid, p->rid_len, "HEARTBEAT", "\x80", 1);
            p->last_out_ms = now;
        }
    }
}

static void
s_loop(hubd_t *self)
{
    while (!s_stop && !self->store_lost) {
        zmq_pollitem_t items[] = {{self->router, 0, ZMQ_POLLIN, 0},
                                  {self->zap, 0, ZMQ_POLLIN, 0},
                                  {self->admin, 0, ZMQ_POLLIN, 0},
                                  {NULL, hubd_writer_fd(self), ZMQ_POLLIN, 0}};
        int n = zmq_poll(items, 4, self->index_busy ? 0 : 250);
        if (n < 0 && errno != EINTR) {
            hubd_log("error", "poll", "errno=%d", errno);
            break;
        }
        if (items[1].revents & ZMQ_POLLIN) {
            hubd_zap_handle(self->zap, self->conf.keys);
        }
        // Group commit: what is waiting (up to batch_max publishes) is
        // prepared into the fill batch while the writer thread commits the
        // one before; each goes to the writer when it is free, and is acked
        // when it has committed (hubd_writer.c).
        size_t taken = 0;
        hubd_reap(self, false); // a commit done: its acks go out
        while (taken < HUBD_MAX_BATCH && self->fill->npending < self->conf.cfg.batch_max &&
               s_recv_one(self)) {
            taken++;
            if (hubd_writer_done(self)) { // its acks out, and the next batch in, at once
                hubd_reap(self, false);
                hubd_flush(self);
            }
        }
        if (self->fill->npending >= self->conf.cfg.batch_max) {
            hubd_reap(self, true); // full: nothing more is read until the writer is free
        }
        hubd_dedup_purge(self); // joins the fill batch now and then
        hubd_flush(self);       // to the writer, unless it is busy: then it gathers on
        hubd_pump(self);
        hub_store_drop_behind(self->store); // what the commits made due, acks out
        s_timers(self);
        hubd_ops_tick(self);
        hubd_index_idle(self);
        if (items[2].revents & ZMQ_POLLIN) {
            hubd_admin_handle(self);
        }
        if (s_reload) {
            bool changed;
            int recorded; // logged: a signal has nobody to answer
            s_reload = 0;
            hubd_drain(self);
            hubd_reload(self, "SIGHUP", &changed, &recorded);
        }
    }
}

static int
s_sockets(hubd_t *self, hub_diag_t *diag)
{
    uint8_t secret[32];
    char z85[41];
    int rc = hub_config_read_z85(self->conf.cfg.server_key, true, secret, z85, diag);
    if (rc) {
        return rc;
    }
    int one = 1, linger = 2000, hwm = 100000;
    // max_message and max_batch are checked once a frame is in; without a
    // cap ZeroMQ would take a frame of any size into memory first, for any
    // peer that passed the handshake. A larger frame drops the connection.
    int64_t max_frame = HUBD_MAX_FRAME;
    // security: plain (loopback or ipc:// only, hub_config checked it):
    // PLAIN_SERVER, and ZAP checks the endpoints' tokens instead of keys.
    bool plain = self->conf.cfg.security == HUB_SECURITY_PLAIN;
    bool ipv6 = strstr(self->conf.cfg.listen, "://[") != NULL;
    self->ctx = zmq_ctx_new();
    self->zap = zmq_socket(self->ctx, ZMQ_REP);
    self->router = zmq_socket(self->ctx, ZMQ_ROUTER);
    // The ZAP handler is bound before anything listens, so no connection
    // is ever admitted without it.
    if (zmq_bind(self->zap, "inproc://zeromq.zap.01") != 0 ||
        zmq_setsockopt(self->router, plain ? ZMQ_PLAIN_SERVER : ZMQ_CURVE_SERVER, &one,
                       sizeof one) != 0 ||
        (!plain && zmq_setsockopt(self->router, ZMQ_CURVE_SECRETKEY, secret, 32) != 0) ||
        (ipv6 && zmq_setsockopt(self->router, ZMQ_IPV6, &one, sizeof one) != 0) ||
        zmq_setsockopt(self->router, ZMQ_ZAP_DOMAIN, "hub", 3) != 0 ||
        zmq_setsockopt(self->router, ZMQ_ROUTER_MANDATORY, &one, sizeof one) != 0 ||
        zmq_setsockopt(self->router, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(self->router, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt(self->router, ZMQ_RCVHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt(self->router, ZMQ_MAXMSGSIZE, &max_frame, sizeof max_frame) != 0 ||
        zmq_bind(self->router, self->conf.cfg.listen) != 0) {
        hub_diag_add(diag, HUB_DIAG_ERROR, "listen", self->conf.cfg.listen, "cannot listen: %s",
                     zmq_strerror(zmq_errno()));
        rc = HUB_EIO;
    } else if (plain) {
        hubd_log("warn", "security_plain",
                 "listen=%s note=\"no CURVE: endpoints log in with a token sent in clear and "
                 "traffic is not encrypted; for benchmarks and local development only\"",
                 self->conf.cfg.listen);
    }
    sodium_memzero(secret, sizeof secret);
    return rc;
}

void
hubd_store_settings(hubd_t *self, const hubd_conf_t *conf)
{
    hub_store_set_drop_behind(self->store, conf->cfg.store_drop_behind);
    hub_store_set_run_size(self->store, conf->cfg.store_index_run);
    hub_store_set_run_fanin(self->store, conf->cfg.store_index_fanin);
}

// The dedup window into memory, before any publish is taken.
static int
s_dedup_load(hubd_t *self, hub_diag_t *diag)
{
    int64_t t0 = hubd_mono_ms();
    int rc = hub_store_dedup_load(self->store);
    if (rc) {
        hub_diag_add(diag, HUB_DIAG_ERROR, "io", self->conf.cfg.store,
                     "loading the dedup window: %s", hub_store_last_error(self->store));
        return rc;
    }
    self->stats_dedup_ids = hub_store_dedup_size(self->store);
    hubd_log("info", "dedup_loaded", "entries=%llu ms=%lld",
             (unsigned long long) self->stats_dedup_ids, (long long) (hubd_mono_ms() - t0));
    return HUB_OK;
}

// Records the rule set hubd starts under. Without that record nobody can
// later say which rules the deliveries of this run were disclosed under
// (`hubctl rules history|diff`, the audit's ruleset stamps), so a start
// that cannot write it is refused. Unlike a reload, a refusal here keeps
// no old configuration in force, and the remedy (a larger map) is applied
// by the next start.
static int
s_ruleset_start(hubd_t *self, hub_diag_t *diag)
{
    int rc = hubd_ruleset_record(self, "start", "hubd");
    if (rc) {
        const char *detail = hub_store_last_error(self->store);
        hub_diag_add(diag, HUB_DIAG_ERROR, "not_recorded", self->conf.cfg.store,
                     "rule set %.12s cannot be recorded in the rule-set history, so hubd does "
                     "not start: %s%s%s%s%s%s",
                     hub_rules_version(self->conf.rules), hub_strerror(rc), detail[0] ? ": " : "",
                     detail, rc == HUB_EFULL ? " (" : "",
                     rc == HUB_EFULL ? hub_store_full_remedy(self->store) : "",
                     rc == HUB_EFULL ? ", then start hubd)" : "");
    }
    return rc;
}

static int
s_start(hubd_t *self, hub_diag_t *diag)
{
    int rc = hubd_conf_load(&self->conf, self->config_dir, diag);
    rc = rc ? rc : hub_config_read_key(self->conf.cfg.hash_key, self->hash_key, diag);
    rc = rc ? rc
            : hub_store_open(&self->store, self->conf.cfg.store, self->conf.cfg.store_map_size, 0,
                             self->hash_key, diag);
    rc = rc ? rc : hub_store_id(self->store, self->store_id);
    rc = rc ? rc : s_dedup_load(self, diag);
    if (!rc) {
        hubd_store_settings(self, &self->conf);
    }
    rc = rc ? rc : s_sockets(self, diag);
    rc = rc ? rc : hubd_admin_open(self, diag);
    rc = rc ? rc : hubd_metrics_open(self, diag);
    if (!rc) {
        self->started_ms = hubd_now_ms();
        hubd_sign_key_load(self);
    }
    self->msg = hub_msg_new();
    self->route = hub_route_new();
    self->lists = hub_listset_new();
    if (!rc && (!self->msg || !self->route || !self->lists)) {
        rc = HUB_ENOMEM;
    }
    rc = rc ? rc : hubd_lists_load(self);
    rc = rc ? rc : hubd_writer_start(self);
    // Last: a start that fails on anything else has disclosed nothing. The
    // writer has no batch yet, so the store's write side is this thread's.
    return rc ? rc : s_ruleset_start(self, diag);
}

static void
s_stop_all(hubd_t *self)
{
    hubd_writer_stop(self); // first: what it answers goes out on the router
    if (self->router) {
        zmq_close(self->router);
    }
    if (self->zap) {
        zmq_close(self->zap);
    }
    if (self->admin) {
        zmq_close(self->admin);
    }
    if (self->ctx) {
        zmq_ctx_term(self->ctx);
    }
    hubd_metrics_destroy(&self->metrics);
    hub_store_destroy(&self->store);
    hub_route_destroy(&self->route);
    hub_listset_destroy(&self->lists);
    hub_msg_destroy(&self->msg);
    hub_buf_free(&self->canon);
    hub_buf_free(&self->out);
    hub_buf_free(&self->aux);
    sodium_memzero(self->sign_sk, sizeof self->sign_sk);
    hubd_conf_free(&self->conf);
    sodium_memzero(self->hash_key, sizeof self->hash_key);
}

static void
s_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal; // no SA_RESTART: zmq_poll returns on a signal
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    // A file size limit (ulimit -f) reached: the write fails with EFBIG,
    // said like any write error, rather than the process being killed.
    signal(SIGXFSZ, SIG_IGN);
}

int
main(int argc, char **argv)
{
    static hubd_t self; // large (the peer table); one per process
    self.config_dir = "config";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(s_help, stdout);
            return 0;
        }
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc) {
            self.config_dir = argv[++i];
        } else {
            fprintf(stderr, "hubd: unknown argument '%s' (see hubd --help)\n", argv[i]);
            return 2;
        }
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "hubd: libsodium does not start\n");
        return 1;
    }
    s_signals();
    self.diag = hub_diag_new();
    int rc = s_start(&self, self.diag);
    hub_diag_print(self.diag, stderr);
    if (rc) {
        hubd_log("error", "start_failed", "reason=\"%s\"", hub_strerror(rc));
        s_stop_all(&self);
        hub_diag_destroy(&self.diag);
        return 1;
    }
    hubd_log("info", "started",
             "listen=%s admin=%s store=%s store_id=%s ruleset=%s rules=%zu keys=%zu",
             self.conf.cfg.listen, self.conf.cfg.admin, self.conf.cfg.store, self.store_id,
             hub_rules_version(self.conf.rules), hub_rules_count(self.conf.rules),
             hubd_keys_count(self.conf.keys));
    s_loop(&self);
    hubd_drain(&self); // the batches in hand, committed and answered
    // Sign the head on the way out, so a clean stop leaves no audit record
    // protected by the hash chain alone.
    if (self.sign_ok) {
        hubd_checkpoint(&self);
    }
    hubd_log("info", "stopped", "published=%llu acked=%llu nacked=%llu delivered=%llu",
             (unsigned long long) self.stats_in, (unsigned long long) self.stats_acked,
             (unsigned long long) self.stats_nacked, (unsigned long long) self.stats_delivered);
    s_stop_all(&self);
    hub_diag_destroy(&self.diag);
    return self.store_lost ? 1 : 0;
}
