#include "hub_client.h"

#include "hub_buf.h"
#include "hub_config.h"
#include "hub_error.h"
#include "hub_mpr.h"
#include "hub_mpw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

// Messages per PUBLISH_BATCH at most, whatever the hub takes: a frame of a
// few hundred messages already makes the per-frame cost negligible, and a
// smaller one is answered sooner (the window stays full).
#define S_PUBLISH_BATCH_MAX 256
// Deliveries per DELIVER_BATCH asked for in SUBSCRIBE: the default credit,
// so one frame can carry the whole window; the hub never waits to fill it.
#define S_DELIVER_BATCH 64

struct hubc {
    void *ctx, *sock;
    char identity[128];
    char department[64];
    hub_buf_t out;       // a body being written
    zmq_msg_t frames[2]; // the last message received: command, body
    bool have_frames;
    uint64_t next_ref;     // refs are unique per connection, so a late
                           // answer to an earlier call is never misfiled
    char endpoint[128];    // the endpoint subscribed to (DACKs name it)
    uint64_t credit;       // the credit it was subscribed with
    uint64_t resumes;      // lost sessions taken back (hubc_resumes)
    uint64_t heartbeat_ms; // WELCOME heartbeat_ms
    int64_t last_out_ms;   // when it last sent anything
    char store_id[33];     // SUBSCRIBED store_id ("": none, or an older hub)
    char error[256];       // the last ERROR received: "code: reason"
    uint64_t max_batch;    // WELCOME max_batch (0: the hub takes only PUBLISH)
    bool plain;            // connected with PLAIN (security: plain), not CURVE
    zmq_msg_t batch;       // the DELIVER_BATCH whose deliveries hubc_recv hands out
    bool have_batch;
    hub_mpr_t batch_r; // at its next delivery
    size_t batch_left; // deliveries of it not handed out yet
};

static void
s_get_str(const void *body, size_t len, const char *key, char *out, size_t size);

// Sends CMD with the body in self->out.
static int
s_send(hubc_t *self, const char *cmd)
{
    if (zmq_send(self->sock, cmd, strlen(cmd), ZMQ_SNDMORE) < 0 ||
        zmq_send(self->sock, self->out.data, self->out.len, 0) < 0) {
        return HUB_EIO;
    }
    self->last_out_ms = hubc_mono_ms();
    return HUB_OK;
}

// A HEARTBEAT (empty map), outside self->out: a body may be in the making.
static void
s_heartbeat(hubc_t *self)
{
    zmq_send(self->sock, "HEARTBEAT", 9, ZMQ_SNDMORE);
    zmq_send(self->sock, "\x80", 1, 0);
    self->last_out_ms = hubc_mono_ms();
}

int64_t
hubc_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
hubc_sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t) (ms / 1000), (long) (ms % 1000) * 1000000};
    nanosleep(&ts, NULL); // a signal cuts it short
}

// Receives the next two-frame message within TIMEOUT_MS. HUB_ENOTFOUND on
// timeout; heartbeats are answered and skipped. While it waits, a
// HEARTBEAT goes out each heartbeat_ms that nothing else did: a hub that
// restarted and lost the session then says so (hello_first) rather than
// staying silent.
static int
s_recv(hubc_t *self, int timeout_ms, const char **cmd, size_t *clen)
{
    int64_t deadline = hubc_mono_ms() + timeout_ms;
    for (;;) {
        zmq_pollitem_t it = {self->sock, 0, ZMQ_POLLIN, 0};
        int64_t now = hubc_mono_ms(), left = deadline - now;
        // When the next heartbeat is due (an older hub sends no
        // heartbeat_ms: never).
        int64_t beat = self->heartbeat_ms && self->identity[0]
                           ? self->last_out_ms + (int64_t) self->heartbeat_ms - now
                           : left;
        if (left <= 0) {
            return HUB_ENOTFOUND;
        }
        if (beat <= 0) {
            s_heartbeat(self);
            continue;
        }
        int n = zmq_poll(&it, 1, (long) (beat < left ? beat : left));
        if (n < 0) {
            return HUB_ENOTFOUND;
        }
        if (n == 0) {
            continue; // a heartbeat due, or the deadline
        }
        if (self->have_frames) {
            zmq_msg_close(&self->frames[0]);
            zmq_msg_close(&self->frames[1]);
        }
        zmq_msg_init(&self->frames[0]);
        zmq_msg_init(&self->frames[1]);
        self->have_frames = true;
        if (zmq_msg_recv(&self->frames[0], self->sock, 0) < 0 || !zmq_msg_more(&self->frames[0]) ||
            zmq_msg_recv(&self->frames[1], self->sock, 0) < 0) {
            return HUB_EDECODE;
        }
        *cmd = zmq_msg_data(&self->frames[0]);
        *clen = zmq_msg_size(&self->frames[0]);
        if (*clen == 9 && memcmp(*cmd, "HEARTBEAT", 9) == 0) {
            s_heartbeat(self);
            continue;
        }
        if (*clen == 5 && memcmp(*cmd, "ERROR", 5) == 0) {
            const void *body = zmq_msg_data(&self->frames[1]);
            size_t blen = zmq_msg_size(&self->frames[1]);
            char code[64], reason[180];
            s_get_str(body, blen, "code", code, sizeof code);
            s_get_str(body, blen, "reason", reason, sizeof reason);
            snprintf(self->error, sizeof self->error, "%s: %s", code, reason);
            if (strcmp(code, "hello_first") == 0) {
                return HUB_EIO; // the hub lost the session (restarted): reconnect
            }
        }
        return HUB_OK;
    }
}

static const void *
s_body(const hubc_t *self, size_t *len)
{
    *len = zmq_msg_size((zmq_msg_t *) &self->frames[1]);
    return zmq_msg_data((zmq_msg_t *) &self->frames[1]);
}

static bool
s_is(const char *cmd, size_t clen, const char *word)
{
    return clen == strlen(word) && memcmp(cmd, word, clen) == 0;
}

// Copies string KEY of map BODY into OUT ("" when absent).
static void
s_get_str(const void *body, size_t len, const char *key, char *out, size_t size)
{
    hub_mpr_t r;
    const char *s;
    size_t n;
    hub_mpr_init(&r, body, len);
    out[0] = '\0';
    if (hub_mpr_find(&r, key) == HUB_OK && hub_mpr_str(&r, &s, &n) == HUB_OK) {
        snprintf(out, size, "%.*s", (int) n, s);
    }
}

// Copies the string at cursor R (may be NULL) into OUT ("" when there is
// none, or it is not a string).
static void
s_copy_str(hub_mpr_t *r, char *out, size_t size)
{
    const char *s;
    size_t n;
    out[0] = '\0';
    if (r && hub_mpr_str(r, &s, &n) == HUB_OK) {
        n = n < size ? n : size - 1; // as snprintf would cut it, at a fraction of its cost
        memcpy(out, s, n);
        out[n] = '\0';
    }
}

// KEY_DIR/NAME + EXT into PATH; HUB_ECONFIG (said in DIAG) when too long.
static int
s_key_path(char path[512], const char *key_dir, const char *name, const char *ext, hub_diag_t *diag)
{
    int n = snprintf(path, 512, "%s/%s%s", key_dir, name, ext);
    if (n < 0 || n >= 512) {
        hub_diag_add(diag, HUB_DIAG_ERROR, "path_too_long", key_dir,
                     "the key files of %s: the path is too long", name);
        return HUB_ECONFIG;
    }
    return HUB_OK;
}

// The hub's public key (the file SERVER_PUB) and NAME's keypair in KEY_DIR,
// as Z85 text.
static int
s_read_keys(const char *server_pub, const char *key_dir, const char *name, char spub[41],
            char pub[41], char sec[41], hub_diag_t *diag)
{
    char path[512];
    int rc = hub_config_read_z85(server_pub, false, NULL, spub, diag);
    rc = rc ? rc : s_key_path(path, key_dir, name, ".pub", diag);
    rc = rc ? rc : hub_config_read_z85(path, false, NULL, pub, diag);
    rc = rc ? rc : s_key_path(path, key_dir, name, ".key", diag);
    rc = rc ? rc : hub_config_read_z85(path, true, NULL, sec, diag);
    return rc;
}

// AUTH's PLAIN token as the hub compares it (64 lowercase hex digits):
// AUTH->token, else the file KEY_DIR/NAME.token (`hubctl token NAME`,
// private like a secret key).
static int
s_read_token(const hubc_auth_t *auth, char token[65], hub_diag_t *diag)
{
    static const char hex[] = "0123456789abcdef";
    uint8_t raw[32];
    char path[512];
    int rc = HUB_OK;
    if (auth->token) {
        size_t n = strlen(auth->token);
        rc = n == 64 && strspn(auth->token, "0123456789abcdefABCDEF") == 64 ? HUB_OK : HUB_ECONFIG;
        for (size_t i = 0; rc == HUB_OK && i < 64; i++) {
            char c = auth->token[i];
            token[i] = c >= 'A' && c <= 'F' ? (char) (c - 'A' + 'a') : c;
        }
        token[64] = '\0';
        if (rc) {
            hub_diag_add(diag, HUB_DIAG_ERROR, "bad_token", auth->name,
                         "a token is 64 hex digits (hubctl token %s)", auth->name);
        }
        return rc;
    }
    rc = s_key_path(path, auth->key_dir, auth->name, ".token", diag);
    if (rc == HUB_OK && access(path, F_OK) != 0) {
        hub_diag_add(diag, HUB_DIAG_ERROR, "no_token", path,
                     "no token for %s: run hubctl token %s (where the hub's secret key is) "
                     "and put the file here, mode 600",
                     auth->name, auth->name);
        return HUB_EIO;
    }
    rc = rc ? rc : hub_config_read_key(path, raw, diag);
    for (size_t i = 0; rc == HUB_OK && i < 32; i++) {
        token[2 * i] = hex[raw[i] >> 4];
        token[2 * i + 1] = hex[raw[i] & 15];
    }
    token[rc == HUB_OK ? 64 : 0] = '\0';
    memset(raw, 0, sizeof raw);
    return rc;
}

// PLAIN only where the token cannot leave the machine: it travels in clear.
static int
s_plain_url(const char *url, hub_diag_t *diag)
{
    if (hub_config_is_local(url)) {
        return HUB_OK;
    }
    hub_diag_add(diag, HUB_DIAG_ERROR, "plain_not_local", url,
                 "security plain sends the token in clear: only to a hub on this machine "
                 "(tcp://127.0.0.1:PORT, tcp://localhost:PORT, tcp://[::1]:PORT, ipc://PATH)");
    return HUB_ECONFIG;
}

int
hubc_check_auth(const char *url, const hubc_auth_t *auth, hub_diag_t *diag)
{
    char spub[41], pub[41], sec[41], token[65];
    int rc;
    if (auth->security == HUB_SECURITY_PLAIN) {
        rc = s_plain_url(url, diag);
        rc = rc ? rc : s_read_token(auth, token, diag);
        memset(token, 0, sizeof token);
        return rc;
    }
    rc = s_read_keys(auth->server_pub, auth->key_dir, auth->name, spub, pub, sec, diag);
    memset(sec, 0, sizeof sec);
    return rc;
}

int
hubc_check_keys(const char *server_pub, const char *key_dir, const char *name, hub_diag_t *diag)
{
    hubc_auth_t auth = {HUB_SECURITY_CURVE, server_pub, key_dir, name, NULL};
    return hubc_check_auth("", &auth, diag);
}

char *
hubc_listen_url(const char *listen)
{
    const char *host = strstr(listen, "://");
    host = host ? host + 3 : listen;
    bool any = strncmp(host, "*:", 2) == 0 || strncmp(host, "0.0.0.0:", 8) == 0;
    if (!any) {
        return strdup(listen);
    }
    size_t n = strlen(listen) + 16;
    char *url = malloc(n);
    if (url) {
        snprintf(url, n, "%.*s127.0.0.1%s", (int) (host - listen), listen, strchr(host, ':'));
    }
    return url;
}

// Sets the socket's security options as AUTH says.
static int
s_credentials(hubc_t *self, const char *url, const hubc_auth_t *auth, hub_diag_t *diag)
{
    char spub[41], pub[41], sec[41], token[65];
    int rc;
    if (auth->security == HUB_SECURITY_PLAIN) {
        rc = s_plain_url(url, diag);
        rc = rc ? rc : s_read_token(auth, token, diag);
        if (rc == HUB_OK &&
            (zmq_setsockopt(self->sock, ZMQ_PLAIN_USERNAME, auth->name, strlen(auth->name)) != 0 ||
             zmq_setsockopt(self->sock, ZMQ_PLAIN_PASSWORD, token, 64) != 0)) {
            rc = HUB_EIO;
        }
        memset(token, 0, sizeof token);
        return rc;
    }
    rc = s_read_keys(auth->server_pub, auth->key_dir, auth->name, spub, pub, sec, diag);
    if (rc == HUB_OK && (zmq_setsockopt(self->sock, ZMQ_CURVE_SERVERKEY, spub, 40) != 0 ||
                         zmq_setsockopt(self->sock, ZMQ_CURVE_PUBLICKEY, pub, 40) != 0 ||
                         zmq_setsockopt(self->sock, ZMQ_CURVE_SECRETKEY, sec, 40) != 0)) {
        rc = HUB_EIO;
    }
    memset(sec, 0, sizeof sec);
    return rc;
}

static int
s_hello(hubc_t *self, int timeout_ms, hub_diag_t *diag)
{
    hub_mpw_t w;
    self->out.len = 0;
    hub_mpw_init(&w, &self->out);
    hub_mpw_map(&w, 3);
    hub_mpw_cstr(&w, "agent");
    hub_mpw_cstr(&w, "hub_client/1");
    hub_mpw_cstr(&w, "protocol");
    hub_mpw_uint(&w, 1);
    hub_mpw_cstr(&w, "role");
    hub_mpw_cstr(&w, "both");
    const char *cmd;
    size_t clen, blen;
    int rc = s_send(self, "HELLO");
    // Taking a lost session back, what the hub answered to the frames sent
    // before this HELLO comes first: ERROR hello_first (s_recv's HUB_EIO),
    // late answers, deliveries. Skipped: the caller sends again.
    int64_t deadline = hubc_mono_ms() + timeout_ms;
    while (rc == HUB_OK) {
        int64_t left = deadline - hubc_mono_ms();
        rc = s_recv(self, left > 0 ? (int) left : 0, &cmd, &clen);
        if (rc == HUB_EIO) {
            rc = HUB_OK; // hello_first, to a frame sent before the HELLO
        } else if (rc == HUB_OK && (s_is(cmd, clen, "WELCOME") || s_is(cmd, clen, "ERROR"))) {
            break;
        }
    }
    if (rc) {
        hub_diag_add(diag, HUB_DIAG_ERROR, "no_answer", "hub",
                     "no WELCOME within %d ms (is hubd running%s?)", timeout_ms,
                     self->plain ? " with security: plain, and is this the endpoint's token "
                                   "(hubctl token)"
                                 : ", and is this key in departments.yaml");
        return HUB_EIO;
    }
    const void *body = s_body(self, &blen);
    if (!s_is(cmd, clen, "WELCOME")) {
        char reason[200];
        s_get_str(body, blen, "reason", reason, sizeof reason);
        hub_diag_add(diag, HUB_DIAG_ERROR, "refused", "hub", "%.*s: %s", (int) clen, cmd, reason);
        return HUB_EDECODE;
    }
    s_get_str(body, blen, "identity", self->identity, sizeof self->identity);
    s_get_str(body, blen, "department", self->department, sizeof self->department);
    self->max_batch = 0; // an older hub does not say it: PUBLISH only
    hub_mpr_get_uint(body, blen, "max_batch", &self->max_batch);
    self->heartbeat_ms = 0;
    hub_mpr_get_uint(body, blen, "heartbeat_ms", &self->heartbeat_ms);
    return HUB_OK;
}

int
hubc_connect_auth(hubc_t **out, const char *url, const hubc_auth_t *auth, int timeout_ms,
                  hub_diag_t *diag)
{
    *out = NULL;
    hubc_t *self = calloc(1, sizeof *self);
    if (!self) {
        return HUB_ENOMEM;
    }
    int linger = 1000, one = 1;
    self->ctx = zmq_ctx_new();
    self->sock = zmq_socket(self->ctx, ZMQ_DEALER);
    self->plain = auth->security == HUB_SECURITY_PLAIN;
    zmq_setsockopt(self->sock, ZMQ_LINGER, &linger, sizeof linger);
    if (strstr(url, "://[")) { // an IPv6 address: the socket must be told
        zmq_setsockopt(self->sock, ZMQ_IPV6, &one, sizeof one);
    }
    int rc = s_credentials(self, url, auth, diag);
    if (rc == HUB_OK && zmq_connect(self->sock, url) != 0) {
        hub_diag_add(diag, HUB_DIAG_ERROR, "connect", url, "%s", zmq_strerror(zmq_errno()));
        rc = HUB_EIO;
    }
    rc = rc ? rc : s_hello(self, timeout_ms, diag);
    if (rc) {
        hubc_destroy(&self);
        return rc;
    }
    *out = self;
    return HUB_OK;
}

int
hubc_connect(hubc_t **out, const char *url, const char *server_pub, const char *key_dir,
             const char *name, int timeout_ms, hub_diag_t *diag)
{
    hubc_auth_t auth = {HUB_SECURITY_CURVE, server_pub, key_dir, name, NULL};
    return hubc_connect_auth(out, url, &auth, timeout_ms, diag);
}

void
hubc_destroy(hubc_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    hubc_t *self = *self_p;
    if (self->identity[0]) {
        self->out.len = 0;
        hub_buf_append(&self->out, "\x80", 1);
        s_send(self, "BYE");
    }
    if (self->have_frames) {
        zmq_msg_close(&self->frames[0]);
        zmq_msg_close(&self->frames[1]);
    }
    if (self->have_batch) {
        zmq_msg_close(&self->batch);
    }
    zmq_close(self->sock);
    zmq_ctx_term(self->ctx);
    hub_buf_free(&self->out);
    free(self);
    *self_p = NULL;
}

const char *
hubc_identity(const hubc_t *self)
{
    return self->identity;
}

const char *
hubc_department(const hubc_t *self)
{
    return self->department;
}

const char *
hubc_error(const hubc_t *self)
{
    return self->error;
}

uint64_t
hubc_resumes(const hubc_t *self)
{
    return self->resumes;
}

// Times one call may take a lost session back before it gives up.
#define S_RESUMES 3

// The hub lost this connection's session (ERROR hello_first: the hub
// restarted, or heard nothing from it for three heartbeat intervals, as
// when the caller did not call in for that long): HELLO again and, when
// subscribed, SUBSCRIBE again with the same credit (the hub then sends
// again what is not acknowledged). *LEFT counts the call's resumes down.
// The caller resends its unanswered publishes: ids make that safe.
// A store_id other than the one subscribed under means the hub's store
// was restored from a backup: its sequences after its cursor may name
// other messages now, so dropping by the caller's last seq could drop new
// ones. That is the caller's to handle (hubc_store_id()): HUB_EIO.
static int
s_resume(hubc_t *self, int timeout_ms, int *left)
{
    if ((*left)-- <= 0 || s_hello(self, timeout_ms, NULL) != HUB_OK) {
        return HUB_EIO;
    }
    int rc = HUB_OK;
    if (self->endpoint[0]) {
        char ep[sizeof self->endpoint], id[sizeof self->store_id];
        memcpy(ep, self->endpoint, sizeof ep);
        memcpy(id, self->store_id, sizeof id);
        rc = hubc_subscribe_to(self, ep, self->credit, NULL, NULL, timeout_ms);
        rc = rc ? rc : id[0] && self->store_id[0] && strcmp(id, self->store_id) ? HUB_EIO : HUB_OK;
    }
    self->resumes += rc == HUB_OK;
    return rc;
}

static int
s_send_publish(hubc_t *self, uint64_t ref, const void *msg, size_t len)
{
    hub_mpw_t w;
    self->out.len = 0;
    hub_mpw_init(&w, &self->out);
    hub_mpw_map(&w, 2);
    hub_mpw_cstr(&w, "message");
    hub_mpw_bin(&w, msg, len);
    hub_mpw_cstr(&w, "ref");
    hub_mpw_uint(&w, ref);
    return hub_mpw_error(&w) ? HUB_ENOMEM : s_send(self, "PUBLISH");
}

// Fills R from the answer map MAP (an ACK's or a NACK's keys) to REF.
static void
s_fill(hubc_result_t *r, uint64_t ref, bool ack, const void *map, size_t len)
{
    memset(r, 0, sizeof *r);
    r->ref = ref;
    r->acked = ack;
    if (ack) {
        hub_mpr_t m;
        hub_mp_obj_t o;
        hub_mpr_init(&m, map, len);
        r->duplicate = hub_mpr_find(&m, "duplicate") == HUB_OK && hub_mpr_next(&m, &o) == HUB_OK &&
                       o.kind == HUB_MP_BOOL && o.v.b;
        hub_mpr_get_uint(map, len, "log_seq", &r->log_seq);
        hub_mpr_get_uint(map, len, "same_event", &r->same_event);
    } else {
        s_get_str(map, len, "code", r->code, sizeof r->code);
        s_get_str(map, len, "reason", r->reason, sizeof r->reason);
    }
}

// Files one ACK or NACK into RESULTS (refs BASE+1 .. BASE+N); false for
// anything else, and for a second answer to the same ref.
static bool
s_answer(const char *cmd, size_t clen, const void *body, size_t blen, hubc_result_t *results,
         uint64_t base, size_t n)
{
    uint64_t ref = 0;
    hub_mpr_get_uint(body, blen, "ref", &ref);
    bool ack = s_is(cmd, clen, "ACK");
    if ((!ack && !s_is(cmd, clen, "NACK")) || ref <= base || ref > base + n ||
        results[ref - base - 1].ref != 0) {
        return false;
    }
    s_fill(&results[ref - base - 1], ref, ack, body, blen);
    return true;
}

// The messages per PUBLISH_BATCH for a WINDOW (0: the hub takes only PUBLISH).
static size_t
s_per_frame(const hubc_t *self, size_t window)
{
    size_t per =
        self->max_batch < S_PUBLISH_BATCH_MAX ? (size_t) self->max_batch : S_PUBLISH_BATCH_MAX;
    return per < window ? per : window;
}

static int
s_send_batch(hubc_t *self, uint64_t ref, const void *const *msgs, const size_t *lens, size_t n)
{
    hub_mpw_t w;
    self->out.len = 0;
    hub_mpw_init(&w, &self->out);
    hub_mpw_map(&w, 2);
    hub_mpw_cstr(&w, "messages");
    hub_mpw_array(&w, n);
    for (size_t i = 0; i < n; i++) {
        hub_mpw_bin(&w, msgs[i], lens[i]);
    }
    hub_mpw_cstr(&w, "ref");
    hub_mpw_uint(&w, ref);
    return hub_mpw_error(&w) ? HUB_ENOMEM : s_send(self, "PUBLISH_BATCH");
}

// Files the answer to one PUBLISH_BATCH (refs BASE+1 ...: frame J holds
// messages J*PER .. J*PER+PER-1 of N) into RESULTS: an ACK_BATCH's results
// in order, or a NACK of the whole frame into each. Returns how many
// messages it answered that were not answered yet (0 for anything else).
// A result that is no map answers nothing: that message times out.
static size_t
s_answer_batch(const char *cmd, size_t clen, const void *body, size_t blen, hubc_result_t *results,
               uint64_t base, size_t n, size_t per)
{
    uint64_t ref = 0;
    hub_mpr_get_uint(body, blen, "ref", &ref);
    bool whole = s_is(cmd, clen, "NACK");
    if ((!whole && !s_is(cmd, clen, "ACK_BATCH")) || ref <= base ||
        ref - base - 1 >= (n + per - 1) / per) {
        return 0;
    }
    size_t first = (size_t) (ref - base - 1) * per, k = n - first < per ? n - first : per;
    hub_mpr_t r;
    hub_mp_obj_t o;
    hub_mpr_init(&r, body, blen);
    if (!whole && (hub_mpr_find(&r, "results") != HUB_OK || hub_mpr_next(&r, &o) != HUB_OK ||
                   o.kind != HUB_MP_ARRAY)) {
        return 0;
    }
    size_t got = whole ? k : (o.len < k ? o.len : k), filed = 0;
    for (size_t i = 0; i < got; i++) {
        const uint8_t *map = body;
        size_t len = blen;
        if (!whole) {
            map = r.p;
            if (hub_mpr_skip(&r) != HUB_OK) {
                break; // the rest stay unanswered: resent after the timeout
            }
            len = (size_t) (r.p - map);
        }
        hub_mpr_t m;
        hub_mp_obj_t mo;
        hub_mpr_init(&m, map, len);
        if (results[first + i].ref != 0 || hub_mpr_next(&m, &mo) != HUB_OK ||
            mo.kind != HUB_MP_MAP) {
            continue; // answered already, or no answer at all
        }
        hub_mpr_init(&m, map, len);
        s_fill(&results[first + i], ref, !whole && hub_mpr_find(&m, "code") != HUB_OK, map, len);
        filed++;
    }
    return filed;
}

// hubc_publish over PUBLISH_BATCH frames of PER messages.
static int
s_publish_batched(hubc_t *self, const void *const *msgs, const size_t *lens, size_t n,
                  size_t window, size_t per, hubc_result_t *results, int timeout_ms)
{
    size_t sent = 0, answered = 0;
    int resumes = S_RESUMES;
    uint64_t base = self->next_ref;
    self->next_ref += (n + per - 1) / per;
    while (answered < n) {
        while (sent < n && sent - answered < window) {
            size_t k = n - sent < per ? n - sent : per;
            if (s_send_batch(self, base + sent / per + 1, msgs + sent, lens + sent, k) != HUB_OK) {
                return HUB_EIO;
            }
            sent += k;
        }
        const char *cmd;
        size_t clen, blen;
        int rc = s_recv(self, timeout_ms, &cmd, &clen);
        if (rc == HUB_EIO && s_resume(self, timeout_ms, &resumes) == HUB_OK) {
            // The frames sent and not answered, again (an ACK_BATCH
            // answers all of a frame or none of it).
            bool ok = true;
            for (size_t at = 0; at < sent && ok; at += per) {
                size_t k = sent - at < per ? sent - at : per;
                ok = results[at].ref != 0 ||
                     s_send_batch(self, base + at / per + 1, msgs + at, lens + at, k) == HUB_OK;
            }
            if (!ok) {
                return HUB_EIO;
            }
            continue;
        }
        if (rc) {
            return HUB_EIO;
        }
        const void *body = s_body(self, &blen);
        answered += s_answer_batch(cmd, clen, body, blen, results, base, n, per);
    }
    return HUB_OK;
}

int
hubc_publish(hubc_t *self, const void *const *msgs, const size_t *lens, size_t n, size_t window,
             hubc_result_t *results, int timeout_ms)
{
    size_t sent = 0, answered = 0;
    memset(results, 0, n * sizeof *results);
    window = window ? window : 1;
    size_t per = s_per_frame(self, window);
    if (per > 1) {
        return s_publish_batched(self, msgs, lens, n, window, per, results, timeout_ms);
    }
    int resumes = S_RESUMES;
    uint64_t base = self->next_ref;
    self->next_ref += n;
    while (answered < n) {
        while (sent < n && sent - answered < window) {
            if (s_send_publish(self, base + sent + 1, msgs[sent], lens[sent]) != HUB_OK) {
                return HUB_EIO;
            }
            sent++;
        }
        const char *cmd;
        size_t clen, blen;
        int rc = s_recv(self, timeout_ms, &cmd, &clen);
        if (rc == HUB_EIO && s_resume(self, timeout_ms, &resumes) == HUB_OK) {
            bool ok = true; // the publishes sent and not answered, again
            for (size_t i = 0; i < sent && ok; i++) {
                ok = results[i].ref != 0 ||
                     s_send_publish(self, base + i + 1, msgs[i], lens[i]) == HUB_OK;
            }
            if (!ok) {
                return HUB_EIO;
            }
            continue;
        }
        if (rc) {
            return HUB_EIO;
        }
        const void *body = s_body(self, &blen);
        answered += s_answer(cmd, clen, body, blen, results, base, n);
    }
    return HUB_OK;
}

// Reads SUBSCRIBED's BODY: *ACKED and *LAST (each may be NULL), and keeps
// its store_id when it is one (32 lower-case hex digits); anything else
// counts as none: unknown, as from an older hub.
static void
s_subscribed(hubc_t *self, const void *body, size_t len, uint64_t *acked, uint64_t *last)
{
    char id[40];
    if (acked) {
        hub_mpr_get_uint(body, len, "acked", acked);
    }
    if (last) {
        hub_mpr_get_uint(body, len, "last", last);
    }
    s_get_str(body, len, "store_id", id, sizeof id);
    size_t n = strlen(id);
    bool ok = n == 32 && strspn(id, "0123456789abcdef") == n;
    memcpy(self->store_id, id, ok ? n + 1 : 0);
    self->store_id[ok ? n : 0] = '\0';
}

const char *
hubc_store_id(const hubc_t *self)
{
    return self->store_id;
}

int
hubc_subscribe(hubc_t *self, uint64_t credit, uint64_t *acked, uint64_t *last, int timeout_ms)
{
    return hubc_subscribe_to(self, self->identity, credit, acked, last, timeout_ms);
}

int
hubc_subscribe_to(hubc_t *self, const char *endpoint, uint64_t credit, uint64_t *acked,
                  uint64_t *last, int timeout_ms)
{
    hub_mpw_t w;
    self->out.len = 0;
    hub_mpw_init(&w, &self->out);
    hub_mpw_map(&w, 3);
    hub_mpw_cstr(&w, "batch"); // an older hub ignores it and sends DELIVERs
    hub_mpw_uint(&w, S_DELIVER_BATCH);
    hub_mpw_cstr(&w, "credit");
    hub_mpw_uint(&w, credit);
    hub_mpw_cstr(&w, "endpoint");
    hub_mpw_cstr(&w, endpoint);
    const char *cmd;
    size_t clen, blen;
    self->batch_left = 0; // the rest of an earlier subscription's batch comes again
    if (s_send(self, "SUBSCRIBE") || s_recv(self, timeout_ms, &cmd, &clen)) {
        return HUB_EIO;
    }
    // Deliveries of an earlier subscription of this connection may still
    // be on their way: skip them (the hub sends them again after the
    // acknowledged sequence once it has answered this SUBSCRIBE); and so
    // may answers to publishes of a session the hub lost (resent).
    while (s_is(cmd, clen, "DELIVER") || s_is(cmd, clen, "DELIVER_BATCH") ||
           s_is(cmd, clen, "ACK") || s_is(cmd, clen, "NACK") || s_is(cmd, clen, "ACK_BATCH")) {
        if (s_recv(self, timeout_ms, &cmd, &clen)) {
            return HUB_EIO;
        }
    }
    if (s_is(cmd, clen, "ERROR")) {
        return HUB_EINVAL; // forbidden, most likely: the words are in hubc_error()
    }
    if (!s_is(cmd, clen, "SUBSCRIBED")) {
        return HUB_EDECODE;
    }
    snprintf(self->endpoint, sizeof self->endpoint, "%s", endpoint);
    self->credit = credit;
    const void *body = s_body(self, &blen);
    s_subscribed(self, body, blen, acked, last);
    return HUB_OK;
}

// Takes the DELIVER_BATCH just received (its body) for hubc_recv to hand
// out one delivery at a time. HUB_EDECODE when it has no deliveries array.
static int
s_batch_take(hubc_t *self)
{
    hub_mp_obj_t o;
    if (self->have_batch) {
        zmq_msg_close(&self->batch);
    }
    zmq_msg_init(&self->batch);
    zmq_msg_move(&self->batch, &self->frames[1]);
    self->have_batch = true;
    self->batch_left = 0;
    hub_mpr_init(&self->batch_r, zmq_msg_data(&self->batch), zmq_msg_size(&self->batch));
    if (hub_mpr_find(&self->batch_r, "deliveries") != HUB_OK ||
        hub_mpr_next(&self->batch_r, &o) != HUB_OK || o.kind != HUB_MP_ARRAY) {
        return HUB_EDECODE;
    }
    self->batch_left = o.len;
    return HUB_OK;
}

// The next delivery: of the DELIVER_BATCH in hand, else the next DELIVER
// or DELIVER_BATCH received (other messages are skipped). *BLEN is the
// bytes to its frame's end and *IN_BATCH is set: the caller finds where
// the delivery ends as it reads it (s_batch_past), so a batch is walked
// once.
static int
s_next_delivery(hubc_t *self, const void **body, size_t *blen, bool *in_batch, int timeout_ms)
{
    for (;;) {
        *in_batch = self->batch_left > 0;
        if (self->batch_left) {
            self->batch_left--;
            *body = self->batch_r.p;
            *blen = (size_t) (self->batch_r.end - self->batch_r.p);
            return HUB_OK;
        }
        const char *cmd;
        size_t clen;
        int rc = s_recv(self, timeout_ms, &cmd, &clen);
        if (rc) {
            return rc;
        }
        if (s_is(cmd, clen, "DELIVER_BATCH")) {
            rc = s_batch_take(self);
            if (rc) {
                return rc;
            }
        } else if (s_is(cmd, clen, "DELIVER")) {
            *body = s_body(self, blen);
            return HUB_OK;
        }
    }
}

// Moves the batch in hand past the delivery at its cursor, which ends at
// END (NULL: not known, the delivery's map could not be read); a delivery
// that cannot even be skipped ends the batch.
static void
s_batch_past(hubc_t *self, const uint8_t *end)
{
    if (end) {
        self->batch_r.p = end;
    } else if (hub_mpr_skip(&self->batch_r) != HUB_OK) {
        self->batch_left = 0;
        self->batch_r.p = self->batch_r.end;
    }
}

int
hubc_recv(hubc_t *self, uint64_t last_done, hubc_delivery_t *out, int timeout_ms)
{
    int resumes = S_RESUMES;
    for (;;) {
        const void *body;
        size_t blen;
        bool in_batch;
        int rc = s_next_delivery(self, &body, &blen, &in_batch, timeout_ms);
        if (rc == HUB_EIO && self->endpoint[0] && s_resume(self, timeout_ms, &resumes) == HUB_OK) {
            continue; // subscribed again: the hub resends after its cursor
        }
        if (rc) {
            return rc;
        }
        memset(out, 0, sizeof *out);
        // One pass over the map (each hub_mpr_find() would walk it again,
        // its arrays of fields included), which also finds where it ends.
        static const char *const keys[] = {"seq", "message", "id", "type", "origin_id"};
        hub_mpr_t r, v[5];
        hub_mpr_init(&r, body, blen);
        int64_t got = hub_mpr_pick(&r, keys, 5, v);
        if (in_batch) {
            s_batch_past(self, got < 0 ? NULL : r.p);
            // Where the batch's cursor went is where this delivery ends
            // (the rest of the frame when not even a skip could tell).
            blen = (size_t) (self->batch_r.p - (const uint8_t *) body);
        } else if (got >= 0) {
            blen = hub_mpr_offset(&r);
        }
        out->body = body;
        out->body_len = blen;
        if (got < 0 || !(got & 1) || hub_mpr_uint(&v[0], &out->seq) != HUB_OK) {
            out->seq = 0;
            return HUB_EDECODE;
        }
        if (!(got & 2) || hub_mpr_bin(&v[1], &out->message, &out->len) != HUB_OK) {
            out->message = NULL;
            out->len = 0;
            s_copy_str(got & 4 ? &v[2] : NULL, out->id, sizeof out->id);
            s_copy_str(got & 8 ? &v[3] : NULL, out->type, sizeof out->type);
            s_copy_str(got & 16 ? &v[4] : NULL, out->origin_id, sizeof out->origin_id);
            return HUB_EDECODE; // OUT->seq says which: the caller may set it aside
        }
        if (out->seq <= last_done) {
            // A redelivery of something already processed (and durable on
            // this side): acknowledge it, or a hub whose cursor is behind
            // would resend the same window forever.
            hubc_dack(self, out->seq);
            continue;
        }
        s_copy_str(got & 4 ? &v[2] : NULL, out->id, sizeof out->id);
        s_copy_str(got & 8 ? &v[3] : NULL, out->type, sizeof out->type);
        s_copy_str(got & 16 ? &v[4] : NULL, out->origin_id, sizeof out->origin_id);
        return HUB_OK;
    }
}

int
hubc_dack(hubc_t *self, uint64_t seq)
{
    hub_mpw_t w;
    self->out.len = 0;
    hub_mpw_init(&w, &self->out);
    hub_mpw_map(&w, 2);
    hub_mpw_cstr(&w, "endpoint");
    hub_mpw_cstr(&w, self->endpoint[0] ? self->endpoint : self->identity);
    hub_mpw_cstr(&w, "seq");
    hub_mpw_uint(&w, seq);
    return s_send(self, "DACK");
}
