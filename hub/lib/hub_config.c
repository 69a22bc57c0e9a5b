#include "hub_config.h"

#include "hub_error.h"
#include "hub_yaml.h"

#include <errno.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zmq.h>

static const char *const s_keys[] = {"schemas",
                                     "departments",
                                     "hash_key",
                                     "listen",
                                     "server_key",
                                     "keys",
                                     "store",
                                     "store_map_size",
                                     "heartbeat_ms",
                                     "ack_timeout_ms",
                                     "batch_max",
                                     "dedup_days",
                                     "admin",
                                     "metrics",
                                     "audit_sign_key",
                                     "checkpoint_seconds",
                                     "retention_messages_days",
                                     "retention_audit_days",
                                     "security",
                                     "writer_inline_max",
                                     "store_drop_behind",
                                     "store_index_run",
                                     "store_index_fanin",
                                     NULL};

// Reads an optional integer setting KEY, MIN to MAX, into *OUT.
static int
s_get_range(const hub_yaml_t *doc, int root, const char *key, uint64_t min, uint64_t max,
            uint64_t *out, hub_diag_t *diag)
{
    int64_t v;
    int rc = hub_yaml_get_int(doc, root, key, false, &v, diag);
    if (rc == HUB_ENOTFOUND) {
        return HUB_OK;
    }
    if (rc == HUB_OK && (v < 0 || (uint64_t) v < min || (uint64_t) v > max)) {
        hub_yaml_error(doc, hub_yaml_get(doc, root, key), diag, "bad_value",
                       "'%s' must be between %llu and %llu", key, (unsigned long long) min,
                       (unsigned long long) max);
        rc = HUB_ECONFIG;
    }
    if (rc == HUB_OK) {
        *out = (uint64_t) v;
    }
    return rc;
}

// Reads an optional positive integer setting KEY into *OUT.
static int
s_get_uint(const hub_yaml_t *doc, int root, const char *key, uint64_t max, uint64_t *out,
           hub_diag_t *diag)
{
    return s_get_range(doc, root, key, 1, max, out, diag);
}

// The operators' settings (admin socket, metrics, audit signing,
// retention), with their defaults.
static int
s_ops_settings(hub_config_t *out, const hub_yaml_t *doc, int root, hub_diag_t *diag)
{
    const char *admin = NULL, *metrics = "", *sign = "keys/audit.sign";
    uint64_t ckpt = 60, msgs = 180, audit = 1095;
    int rc = 0;
    if (root) {
        rc |= hub_yaml_get_str(doc, root, "admin", false, &admin, diag) == HUB_ECONFIG;
        rc |= hub_yaml_get_str(doc, root, "metrics", false, &metrics, diag) == HUB_ECONFIG;
        rc |= hub_yaml_get_str(doc, root, "audit_sign_key", false, &sign, diag) == HUB_ECONFIG;
        rc |= s_get_uint(doc, root, "checkpoint_seconds", 86400, &ckpt, diag) != HUB_OK;
        rc |= s_get_uint(doc, root, "retention_messages_days", 36500, &msgs, diag) != HUB_OK;
        rc |= s_get_uint(doc, root, "retention_audit_days", 36500, &audit, diag) != HUB_OK;
    }
    if (admin) {
        out->admin = strdup(admin);
    } else {
        // Default: a socket inside the store directory (mode 0700), so
        // only the hub's own OS user (and root) can reach it.
        size_t len = strlen(out->store) + 32;
        out->admin = malloc(len);
        if (out->admin) {
            snprintf(out->admin, len, "ipc://%s/admin.sock", out->store);
        }
    }
    out->metrics = strdup(metrics);
    out->audit_sign_key = hub_config_path(out->dir, sign);
    out->checkpoint_seconds = (unsigned) ckpt;
    out->retention_messages_days = (unsigned) msgs;
    out->retention_audit_days = (unsigned) audit;
    if (!out->admin || !out->metrics || !out->audit_sign_key) {
        return HUB_ENOMEM;
    }
    return rc ? HUB_ECONFIG : HUB_OK;
}

// The daemon's settings, with their defaults.
static int
s_daemon_settings(hub_config_t *out, const hub_yaml_t *doc, int root, hub_diag_t *diag)
{
    const char *listen = "tcp://127.0.0.1:7400", *skey = "keys/hub.key", *keys = "keys",
               *store = "../var/store";
    uint64_t map = 1ull << 30, hb = 5000, ack = 30000, batch = 512, dedup = 30, inl = 64;
    uint64_t behind = 256ull << 20, run = 65536, fanin = 16;
    int rc = 0;
    if (root) {
        rc |= hub_yaml_get_str(doc, root, "listen", false, &listen, diag) == HUB_ECONFIG;
        rc |= hub_yaml_get_str(doc, root, "server_key", false, &skey, diag) == HUB_ECONFIG;
        rc |= hub_yaml_get_str(doc, root, "keys", false, &keys, diag) == HUB_ECONFIG;
        rc |= hub_yaml_get_str(doc, root, "store", false, &store, diag) == HUB_ECONFIG;
        rc |= s_get_uint(doc, root, "store_map_size", 1ull << 40, &map, diag) != HUB_OK;
        rc |= s_get_uint(doc, root, "heartbeat_ms", 3600000, &hb, diag) != HUB_OK;
        rc |= s_get_uint(doc, root, "ack_timeout_ms", 86400000, &ack, diag) != HUB_OK;
        rc |= s_get_uint(doc, root, "batch_max", 65536, &batch, diag) != HUB_OK;
        rc |= s_get_uint(doc, root, "dedup_days", 36500, &dedup, diag) != HUB_OK;
        rc |= s_get_range(doc, root, "writer_inline_max", 0, 65536, &inl, diag) != HUB_OK;
        rc |= s_get_range(doc, root, "store_drop_behind", 0, 1ull << 40, &behind, diag) != HUB_OK;
        rc |= s_get_range(doc, root, "store_index_run", 16, 1u << 24, &run, diag) != HUB_OK;
        rc |= s_get_range(doc, root, "store_index_fanin", 2, 64, &fanin, diag) != HUB_OK;
    }
    out->listen = strdup(listen);
    out->server_key = hub_config_path(out->dir, skey);
    out->keys_dir = hub_config_path(out->dir, keys);
    out->store = hub_config_path(out->dir, store);
    out->store_map_size = (size_t) map;
    out->heartbeat_ms = (unsigned) hb;
    out->ack_timeout_ms = (unsigned) ack;
    out->batch_max = (unsigned) batch;
    out->dedup_days = (unsigned) dedup;
    out->writer_inline_max = (unsigned) inl;
    out->store_drop_behind = (size_t) behind;
    out->store_index_run = (size_t) run;
    out->store_index_fanin = (unsigned) fanin;
    if (!out->listen || !out->server_key || !out->keys_dir || !out->store) {
        return HUB_ENOMEM;
    }
    return rc ? HUB_ECONFIG : HUB_OK;
}

// Key 'security': curve (the default) or plain, and plain only where the
// token cannot leave the machine: PLAIN sends it in clear.
static int
s_security(hub_config_t *out, const hub_yaml_t *doc, int root, hub_diag_t *diag)
{
    static const char *const words[] = {"curve", "plain", NULL};
    const char *word = "curve";
    if (root && hub_yaml_get_str(doc, root, "security", false, &word, diag) == HUB_ECONFIG) {
        return HUB_ECONFIG;
    }
    int node = root ? hub_yaml_get(doc, root, "security") : 0;
    out->security = strcmp(word, "plain") == 0 ? HUB_SECURITY_PLAIN : HUB_SECURITY_CURVE;
    if (strcmp(word, "curve") != 0 && strcmp(word, "plain") != 0) {
        const char *near = hub_yaml_suggest(word, words);
        hub_yaml_error(doc, node, diag, "bad_value",
                       "'security' must be curve or plain, not '%.40s'%s%s%s", word,
                       near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
        return HUB_ECONFIG;
    }
    if (out->security == HUB_SECURITY_PLAIN && !hub_config_is_local(out->listen)) {
        hub_yaml_error(doc, node, diag, "plain_not_local",
                       "'security: plain' needs 'listen' on this machine (tcp://127.0.0.1:PORT, "
                       "tcp://localhost:PORT, tcp://[::1]:PORT or ipc://PATH), not '%.80s': "
                       "PLAIN sends each endpoint's token in clear; it is for benchmarks and "
                       "local development only",
                       out->listen);
        return HUB_ECONFIG;
    }
    return HUB_OK;
}

bool
hub_config_is_local(const char *address)
{
    static const char *const hosts[] = {
        "tcp://127.0.0.1:", "tcp://localhost:", "tcp://[::1]:", NULL};
    if (strncmp(address, "ipc://", 6) == 0) {
        return address[6] != '\0';
    }
    for (size_t i = 0; hosts[i]; i++) {
        size_t n = strlen(hosts[i]);
        if (strncmp(address, hosts[i], n) != 0) {
            continue;
        }
        const char *port = address + n;
        size_t digits = strspn(port, "0123456789");
        return strcmp(port, "*") == 0 || (digits >= 1 && digits <= 5 && port[digits] == '\0');
    }
    return false;
}

int
hub_config_plain_token(const uint8_t secret[32], const char *endpoint, char token[65])
{
    // The label's terminating NUL is hashed too: it separates the label
    // from the endpoint id.
    static const char label[] = "hub plain token v1";
    uint8_t mac[32];
    crypto_generichash_state st;
    token[0] = '\0';
    if (sodium_init() < 0) { // idempotent: hubd and hubctl have called it already
        return HUB_EIO;
    }
    crypto_generichash_init(&st, secret, 32, sizeof mac);
    crypto_generichash_update(&st, (const unsigned char *) label, sizeof label);
    crypto_generichash_update(&st, (const unsigned char *) endpoint, strlen(endpoint));
    crypto_generichash_final(&st, mac, sizeof mac);
    sodium_bin2hex(token, 65, mac, sizeof mac);
    sodium_memzero(mac, sizeof mac);
    sodium_memzero(&st, sizeof st);
    return HUB_OK;
}

char *
hub_config_path(const char *dir, const char *path)
{
    size_t len = strlen(dir) + strlen(path) + 2;
    char *p = malloc(len);
    if (!p) {
        return NULL;
    }
    if (path[0] == '/') {
        snprintf(p, len, "%s", path);
    } else {
        snprintf(p, len, "%s/%s", dir, path);
    }
    return p;
}

int
hub_config_load(hub_config_t *out, const char *dir, hub_diag_t *diag)
{
    memset(out, 0, sizeof *out);
    char *file = hub_config_path(dir, "hub.yaml");
    if (!file) {
        return HUB_ENOMEM;
    }
    hub_yaml_t *doc = NULL;
    int rc = hub_yaml_load_file(&doc, file, diag);
    free(file);
    if (rc) {
        return rc;
    }
    int root = hub_yaml_root(doc);
    const char *schemas = "../schemas", *depts = "departments.yaml", *key = "keys/hash.key";
    if (root && hub_yaml_expect(doc, root, HUB_YAML_MAP, "a mapping of settings", diag)) {
        rc = hub_yaml_check_keys(doc, root, s_keys, diag) ? HUB_ECONFIG : HUB_OK;
        rc |= hub_yaml_get_str(doc, root, "schemas", false, &schemas, diag) == HUB_ECONFIG;
        rc |= hub_yaml_get_str(doc, root, "departments", false, &depts, diag) == HUB_ECONFIG;
        rc |= hub_yaml_get_str(doc, root, "hash_key", false, &key, diag) == HUB_ECONFIG;
        rc = rc ? HUB_ECONFIG : HUB_OK;
    } else if (root) {
        rc = HUB_ECONFIG;
    }
    if (rc == HUB_OK) {
        out->dir = strdup(dir);
        out->schemas_dir = hub_config_path(dir, schemas);
        out->departments = hub_config_path(dir, depts);
        out->hash_key = hub_config_path(dir, key);
        rc =
            out->dir && out->schemas_dir && out->departments && out->hash_key ? HUB_OK : HUB_ENOMEM;
    }
    if (rc == HUB_OK) {
        rc = s_daemon_settings(out, doc, root, diag);
    }
    if (rc == HUB_OK) {
        rc = s_security(out, doc, root, diag);
    }
    if (rc == HUB_OK) {
        rc = s_ops_settings(out, doc, root, diag);
    }
    hub_yaml_destroy(&doc);
    if (rc) {
        hub_config_free(out);
    }
    return rc;
}

void
hub_config_free(hub_config_t *self)
{
    free(self->dir);
    free(self->schemas_dir);
    free(self->departments);
    free(self->hash_key);
    free(self->listen);
    free(self->server_key);
    free(self->keys_dir);
    free(self->store);
    free(self->admin);
    free(self->metrics);
    free(self->audit_sign_key);
    memset(self, 0, sizeof *self);
}

static int
s_hex(int c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

int
hub_config_read_key(const char *path, unsigned char key[32], hub_diag_t *diag)
{
    struct stat st;
    FILE *f = fopen(path, "r");
    if (!f || fstat(fileno(f), &st) != 0) {
        hub_diag_add(diag, HUB_DIAG_ERROR, "io", path, "cannot read the key: %s", strerror(errno));
        if (f) {
            fclose(f);
        }
        return HUB_EIO;
    }
    if (st.st_mode & 077) {
        fclose(f);
        hub_diag_add(diag, HUB_DIAG_ERROR, "key_mode", path,
                     "the key is readable by others (mode %03o): chmod 600 it",
                     (unsigned) (st.st_mode & 0777));
        return HUB_EIO;
    }
    size_t n = 0;
    int c, hi = -1;
    while ((c = fgetc(f)) != EOF && n < 33) {
        int v = s_hex(c);
        if (v < 0) {
            continue; // spaces and newlines
        }
        if (hi < 0) {
            hi = v;
        } else {
            key[n < 32 ? n : 31] = (unsigned char) (hi << 4 | v);
            n++;
            hi = -1;
        }
    }
    fclose(f);
    if (n != 32 || hi >= 0) {
        hub_diag_add(diag, HUB_DIAG_ERROR, "bad_key", path, "the key must be 64 hex digits");
        return HUB_ECONFIG;
    }
    return HUB_OK;
}

int
hub_config_read_z85(const char *path, bool secret, uint8_t key[32], char z85[41], hub_diag_t *diag)
{
    struct stat st;
    FILE *f = fopen(path, "r");
    if (!f || fstat(fileno(f), &st) != 0) {
        hub_diag_add(diag, HUB_DIAG_ERROR, "io", path, "cannot read the key: %s", strerror(errno));
        if (f) {
            fclose(f);
        }
        return HUB_EIO;
    }
    char text[64] = "";
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    if (secret && (st.st_mode & 077)) {
        hub_diag_add(diag, HUB_DIAG_ERROR, "key_mode", path,
                     "secret key readable by others (mode %03o): chmod 600 it",
                     (unsigned) (st.st_mode & 0777));
        return HUB_EIO;
    }
    while (n && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' ')) {
        text[--n] = '\0';
    }
    uint8_t tmp[32];
    if (n != 40 || !zmq_z85_decode(tmp, text)) {
        hub_diag_add(diag, HUB_DIAG_ERROR, "bad_key", path,
                     "not a CURVE key (40 Z85 characters, as hubctl keygen writes)");
        return HUB_ECONFIG;
    }
    if (key) {
        memcpy(key, tmp, 32);
    }
    if (z85) {
        memcpy(z85, text, 41);
    }
    return HUB_OK;
}
