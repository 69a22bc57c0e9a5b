#include "hub_config.h"

#include "hub_error.h"
#include "hub_yaml.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>

static const char *const s_keys[] = {"schemas", "departments", "hash_key", NULL};

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
        rc = out->dir && out->schemas_dir && out->departments && out->hash_key ? HUB_OK
                                                                               : HUB_ENOMEM;
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
    self->dir = self->schemas_dir = self->departments = self->hash_key = NULL;
}

static int
s_hex(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                        : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                               : -1;
}

int
hub_config_read_key(const char *path, unsigned char key[32], hub_diag_t *diag)
{
    struct stat st;
    FILE *f = fopen(path, "r");
    if (!f || fstat(fileno(f), &st) != 0) {
        hub_diag_add(diag, HUB_DIAG_ERROR, "io", path, "cannot read the key: %s",
                     strerror(errno));
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
            continue;  // spaces and newlines
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
