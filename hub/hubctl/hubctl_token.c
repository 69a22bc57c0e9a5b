// hubctl token ENDPOINT [--config DIR]: the PLAIN password of an endpoint
// for a hub whose hub.yaml says security: plain (docs/PROTOCOL.md,
// "Transport"; hub_config_plain_token). It is derived from hubd's CURVE
// secret key (server_key), so only who may read that key can make one; it
// is written next to the endpoint's key files, KEYS/ENDPOINT.token (hub.yaml
// keys), mode 0600, where the SDK's connection helpers look for it.
#include "hubctl.h"

#include "hub_error.h"
#include "hub_yaml.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// The endpoint ID of DEPTS, or NULL with the reason (and the nearest id)
// on stderr.
static const hub_endpoint_t *
s_endpoint(const hub_depts_t *depts, const char *id, const char *file)
{
    const hub_endpoint_t *e = hub_depts_endpoint(depts, id);
    size_t n = hub_depts_endpoint_count(depts);
    const char **ids = e ? NULL : calloc(n + 1, sizeof *ids);
    for (size_t i = 0; ids && i < n; i++) {
        ids[i] = hub_depts_endpoint_at(depts, i)->id;
    }
    const char *near = ids ? hub_yaml_suggest(id, ids) : NULL;
    if (!e) {
        fprintf(stderr, "hubctl: token: '%s' is not an endpoint of %s%s%s%s\n", id, file,
                near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
    }
    free(ids);
    return e;
}

// Writes TEXT to PATH with mode 0600, replacing it atomically (a new
// token for a new server key replaces the old one).
static bool
s_write(const char *path, const char *text, size_t len)
{
    char tmp[1100];
    int n = snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (n < 0 || (size_t) n >= sizeof tmp) {
        fprintf(stderr, "hubctl: %s: path too long\n", path);
        return false;
    }
    unlink(tmp); // a leftover of an interrupted run
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
    bool ok = fd >= 0 && write(fd, text, len) == (ssize_t) len && fsync(fd) == 0;
    ok = fd >= 0 && close(fd) == 0 && ok;
    ok = ok && rename(tmp, path) == 0;
    if (!ok) {
        fprintf(stderr, "hubctl: %s: cannot write the token: %s\n", path, strerror(errno));
        unlink(tmp);
    }
    return ok;
}

// The token of endpoint E, from the server key of CFG, into KEYS/E.token.
static int
s_make(const hub_config_t *cfg, const hub_endpoint_t *e, hub_diag_t *diag)
{
    uint8_t secret[32];
    char token[66], path[1024];
    int n = snprintf(path, sizeof path, "%s/%s.token", cfg->keys_dir, e->id);
    if (n < 0 || (size_t) n >= sizeof path) {
        fprintf(stderr, "hubctl: %s: path too long\n", cfg->keys_dir);
        return HUBCTL_INVALID;
    }
    if (hub_config_read_z85(cfg->server_key, true, secret, NULL, diag) != HUB_OK) {
        hub_diag_print(diag, stderr);
        fprintf(stderr, "hubctl: token: the hub's secret key is needed (hub.yaml server_key)\n");
        return HUBCTL_INVALID;
    }
    int rc = hub_config_plain_token(secret, e->id, token);
    sodium_memzero(secret, sizeof secret);
    token[64] = '\n';
    bool ok = rc == HUB_OK && s_write(path, token, 65);
    sodium_memzero(token, sizeof token);
    if (!ok) {
        return HUBCTL_INVALID;
    }
    printf("%s: token written to %s (mode 600)\n", e->id, path);
    if (cfg->security != HUB_SECURITY_PLAIN) {
        fprintf(stderr, "hubctl: note: hub.yaml says security: curve; tokens are used only "
                        "with security: plain\n");
    }
    return HUBCTL_OK;
}

int
hubctl_token(int argc, char **argv)
{
    static const char *const allowed[] = {"config", NULL};
    hubctl_opts_t opts;
    if (!hubctl_parse(argc, argv, allowed, &opts)) {
        return HUBCTL_USAGE;
    }
    if (opts.nargs != 1) {
        return hubctl_usage_error("token needs ENDPOINT [--config DIR]");
    }
    hub_diag_t *diag = hub_diag_new();
    hub_config_t cfg;
    hub_schemas_t *schemas = NULL;
    hub_depts_t *depts = NULL;
    int status = HUBCTL_INVALID;
    if (hub_config_load(&cfg, opts.config, diag) == HUB_OK &&
        hub_schemas_load(&schemas, cfg.schemas_dir, diag) == HUB_OK &&
        hub_depts_load(&depts, cfg.departments, schemas, diag) == HUB_OK) {
        hub_diag_reset(diag);
        const hub_endpoint_t *e = s_endpoint(depts, opts.args[0], cfg.departments);
        status = e ? s_make(&cfg, e, diag) : HUBCTL_INVALID;
    } else {
        hub_diag_print(diag, stderr);
        fprintf(stderr, "hubctl: token: the configuration in %s does not load (see above)\n",
                opts.config);
    }
    hub_depts_destroy(&depts);
    hub_schemas_destroy(&schemas);
    hub_config_free(&cfg);
    hub_diag_destroy(&diag);
    return status;
}
