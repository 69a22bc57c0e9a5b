// Who may connect, and the ZAP handler that asks it. With hub.yaml
// security: curve (the default) a CURVE public key maps to exactly one
// endpoint; with security: plain a PLAIN username is an endpoint id and its
// password that endpoint's token (hub_config_plain_token). Either way that
// endpoint is the connection's identity: the User-Id ZeroMQ attaches to
// every message the connection sends, as ZAP answered it.
#include "hub_error.h"
#include "hubd.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zmq.h>

typedef struct {
    uint8_t key[32];
    const hub_endpoint_t *endpoint;
} s_entry_t;

// An endpoint's PLAIN password, as the client sends it.
typedef struct {
    char token[65];
    const hub_endpoint_t *endpoint;
} s_token_t;

struct hubd_keys {
    s_entry_t *entries; // the endpoints' CURVE public keys
    size_t n;
    s_token_t *tokens; // security: plain: every endpoint's token
    size_t ntokens;
    hub_security_t security; // as hub.yaml said when these were loaded
};

// hub.yaml's security (CFG) and, when it is plain, every endpoint's token
// from the server's secret key.
static int
s_load_tokens(hubd_keys_t *self, const hub_depts_t *depts, const hub_config_t *cfg,
              hub_diag_t *diag)
{
    int rc = HUB_OK;
    size_t max = hub_depts_endpoint_count(depts);
    if (cfg->security == HUB_SECURITY_PLAIN) {
        uint8_t secret[32];
        self->security = HUB_SECURITY_PLAIN;
        rc = hub_config_read_z85(cfg->server_key, true, secret, NULL, diag);
        if (rc == HUB_OK && !(self->tokens = calloc(max + 1, sizeof *self->tokens))) {
            rc = HUB_ENOMEM;
        }
        for (size_t i = 0; rc == HUB_OK && i < max; i++) {
            const hub_endpoint_t *e = hub_depts_endpoint_at(depts, i);
            rc = hub_config_plain_token(secret, e->id, self->tokens[i].token);
            self->tokens[i].endpoint = e;
            self->ntokens += rc == HUB_OK;
        }
        sodium_memzero(secret, sizeof secret);
    }
    return rc;
}

int
hubd_keys_load(hubd_keys_t **out, const hub_depts_t *depts, const hub_config_t *cfg,
               hub_diag_t *diag)
{
    const char *config_dir = cfg->dir;
    hubd_keys_t *self = calloc(1, sizeof *self);
    size_t max = hub_depts_endpoint_count(depts);
    if (!self || !(self->entries = calloc(max + 1, sizeof *self->entries))) {
        free(self);
        return HUB_ENOMEM;
    }
    int rc = s_load_tokens(self, depts, cfg, diag);
    bool tokens_ok = rc == HUB_OK;
    for (size_t i = 0; tokens_ok && i < max; i++) {
        const hub_endpoint_t *e = hub_depts_endpoint_at(depts, i);
        char *path = hub_config_path(config_dir, e->key_file);
        s_entry_t *slot = &self->entries[self->n];
        int r = path ? hub_config_read_z85(path, false, slot->key, NULL, NULL) : HUB_ENOMEM;
        if (r == HUB_OK && hubd_keys_find(self, slot->key)) {
            hub_diag_add(diag, HUB_DIAG_ERROR, "duplicate_key", path,
                         "this key is also %s's: a key maps to exactly one endpoint",
                         hubd_keys_find(self, slot->key)->id);
            rc = HUB_ECONFIG;
        } else if (r == HUB_OK) {
            slot->endpoint = e;
            self->n++;
        } else if (self->security == HUB_SECURITY_CURVE) { // plain: the token will do
            hub_diag_add(diag, HUB_DIAG_WARNING, "no_key", path,
                         "no public key for %s: it cannot connect (hubctl keygen %s)", e->id,
                         e->id);
        }
        free(path);
    }
    if (rc) {
        hubd_keys_destroy(&self);
    }
    *out = self;
    return rc;
}

void
hubd_keys_destroy(hubd_keys_t **self_p)
{
    if (self_p && *self_p) {
        if ((*self_p)->tokens) {
            sodium_memzero((*self_p)->tokens, (*self_p)->ntokens * sizeof *(*self_p)->tokens);
        }
        free((*self_p)->tokens);
        free((*self_p)->entries);
        free(*self_p);
        *self_p = NULL;
    }
}

const hub_endpoint_t *
hubd_keys_find(const hubd_keys_t *self, const uint8_t key[32])
{
    for (size_t i = 0; i < self->n; i++) {
        if (memcmp(self->entries[i].key, key, 32) == 0) {
            return self->entries[i].endpoint;
        }
    }
    return NULL;
}

size_t
hubd_keys_count(const hubd_keys_t *self)
{
    return self->security == HUB_SECURITY_PLAIN ? self->ntokens : self->n;
}

// Receives the frames of one ZAP request into FRAMES (up to 8: version,
// request id, domain, address, identity, mechanism, then the credentials:
// CURVE one, the client's public key; PLAIN two, username and password).
static int
s_recv_request(void *zap, zmq_msg_t frames[8])
{
    int n = 0, more = 1;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, zap, 0) < 0) {
            zmq_msg_close(&m);
            return -1;
        }
        more = zmq_msg_more(&m);
        if (n < 8) {
            zmq_msg_move(&frames[n], &m);
            n++;
        }
        zmq_msg_close(&m);
    }
    return n;
}

static void
s_send(void *zap, const void *p, size_t n, bool more)
{
    zmq_send(zap, p, n, more ? ZMQ_SNDMORE : 0);
}

static bool
s_is(zmq_msg_t *frame, const char *word)
{
    return zmq_msg_size(frame) == strlen(word) &&
           memcmp(zmq_msg_data(frame), word, strlen(word)) == 0;
}

void
hubd_printable(const void *p, size_t n, char out[72])
{
    const char *s = p;
    size_t i = 0;
    for (; i < n && i < 64; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '@' || c == '.' || c == '_' || c == '-';
        out[i] = ok ? c : '?';
    }
    snprintf(out + i, 72 - i, "%s", n > 64 ? "..." : "");
}

// PLAIN: the endpoint USER names, when PASS is its token; else NULL and
// *WHY says what was wrong (never which bytes of the token).
static const hub_endpoint_t *
s_plain(const hubd_keys_t *keys, zmq_msg_t *user, zmq_msg_t *pass, const char **why)
{
    *why = keys->security == HUB_SECURITY_PLAIN ? "unknown endpoint"
                                                : "security is curve (changed by a reload: "
                                                  "restart hubd)";
    for (size_t i = 0; i < keys->ntokens; i++) {
        const s_token_t *t = &keys->tokens[i];
        size_t len = strlen(t->endpoint->id);
        if (zmq_msg_size(user) != len || memcmp(zmq_msg_data(user), t->endpoint->id, len) != 0) {
            continue;
        }
        if (zmq_msg_size(pass) == 64 && sodium_memcmp(zmq_msg_data(pass), t->token, 64) == 0) {
            return t->endpoint;
        }
        *why = "wrong token";
        return NULL;
    }
    return NULL;
}

// Logs a refused request (never a password).
static void
s_log_refusal(zmq_msg_t f[8], int n, bool curve, bool plain, const char *why)
{
    char who[72] = "?";
    if (curve && zmq_msg_size(&f[6]) == 32) {
        zmq_z85_encode(who, zmq_msg_data(&f[6]), 32);
    }
    if (plain) {
        hubd_printable(zmq_msg_data(&f[6]), zmq_msg_size(&f[6]), who);
        hubd_log("warn", "auth_refused", "mechanism=PLAIN user=%s reason=\"%s\"", who, why);
    } else if (n >= 6) {
        hubd_log("warn", "auth_refused", "mechanism=%.*s key=%s", (int) zmq_msg_size(&f[5]),
                 (const char *) zmq_msg_data(&f[5]), who);
    }
}

void
hubd_zap_handle(void *zap, const hubd_keys_t *keys)
{
    zmq_msg_t f[8];
    for (int i = 0; i < 8; i++) {
        zmq_msg_init(&f[i]);
    }
    int n = s_recv_request(zap, f);
    const hub_endpoint_t *e = NULL;
    const char *why = "";
    bool curve = n == 7 && s_is(&f[5], "CURVE"), plain = n == 8 && s_is(&f[5], "PLAIN");
    if (curve && zmq_msg_size(&f[6]) == 32) {
        e = hubd_keys_find(keys, zmq_msg_data(&f[6]));
    } else if (plain) {
        e = s_plain(keys, &f[6], &f[7], &why);
    }
    if (n >= 2) {
        const char *status = e ? "OK" : plain ? "unknown user or wrong token" : "unknown key";
        s_send(zap, "1.0", 3, true);
        s_send(zap, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), true);
        s_send(zap, e ? "200" : "400", 3, true);
        s_send(zap, status, strlen(status), true);
        s_send(zap, e ? e->id : "", e ? strlen(e->id) : 0, true);
        s_send(zap, "", 0, false);
    }
    if (!e) {
        s_log_refusal(f, n, curve, plain, why);
    }
    for (int i = 0; i < 8; i++) {
        zmq_msg_close(&f[i]);
    }
}
