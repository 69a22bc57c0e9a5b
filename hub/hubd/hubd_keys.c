// CURVE keys and the ZAP handler: a key maps to exactly one endpoint, and
// that endpoint is the connection's identity (the User-Id ZeroMQ attaches
// to every message the connection sends).
#include "hub_error.h"
#include "hubd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zmq.h>

typedef struct {
    uint8_t key[32];
    const hub_endpoint_t *endpoint;
} s_entry_t;

struct hubd_keys {
    s_entry_t *entries;
    size_t n;
};

int
hubd_keys_load(hubd_keys_t **out, const hub_depts_t *depts, const char *config_dir,
               hub_diag_t *diag)
{
    hubd_keys_t *self = calloc(1, sizeof *self);
    size_t max = hub_depts_endpoint_count(depts);
    if (!self || !(self->entries = calloc(max + 1, sizeof *self->entries))) {
        free(self);
        return HUB_ENOMEM;
    }
    int rc = HUB_OK;
    for (size_t i = 0; i < max; i++) {
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
        } else {
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
    return self->n;
}

// Receives the frames of one ZAP request into FRAMES (up to 7: version,
// request id, domain, address, identity, mechanism, credentials).
static int
s_recv_request(void *zap, zmq_msg_t frames[7])
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
        if (n < 7) {
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

void
hubd_zap_handle(void *zap, const hubd_keys_t *keys)
{
    zmq_msg_t f[7];
    for (int i = 0; i < 7; i++) {
        zmq_msg_init(&f[i]);
    }
    int n = s_recv_request(zap, f);
    const hub_endpoint_t *e = NULL;
    bool curve = n == 7 && zmq_msg_size(&f[5]) == 5 && memcmp(zmq_msg_data(&f[5]), "CURVE", 5) == 0;
    if (curve && zmq_msg_size(&f[6]) == 32) {
        e = hubd_keys_find(keys, zmq_msg_data(&f[6]));
    }
    if (n >= 2) {
        s_send(zap, "1.0", 3, true);
        s_send(zap, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), true);
        s_send(zap, e ? "200" : "400", 3, true);
        s_send(zap, e ? "OK" : "unknown key", e ? 2 : 11, true);
        s_send(zap, e ? e->id : "", e ? strlen(e->id) : 0, true);
        s_send(zap, "", 0, false);
    }
    if (!e && n == 7) {
        char z85[41] = "?";
        if (curve && zmq_msg_size(&f[6]) == 32) {
            zmq_z85_encode(z85, zmq_msg_data(&f[6]), 32);
        }
        hubd_log("warn", "auth_refused", "mechanism=%.*s key=%s", (int) zmq_msg_size(&f[5]),
                 (const char *) zmq_msg_data(&f[5]), z85);
    }
    for (int i = 0; i < 7; i++) {
        zmq_msg_close(&f[i]);
    }
}
