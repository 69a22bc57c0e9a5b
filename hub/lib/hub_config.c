#include "hub_config.h"

#include "hub_error.h"
#include "hub_yaml.h"

#include <stdlib.h>
#include <string.h>

static const char *const s_keys[] = {"schemas", NULL};

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
    const char *schemas = "../schemas";
    if (root && hub_yaml_expect(doc, root, HUB_YAML_MAP, "a mapping of settings", diag)) {
        rc = hub_yaml_check_keys(doc, root, s_keys, diag) ? HUB_ECONFIG : HUB_OK;
        int r = hub_yaml_get_str(doc, root, "schemas", false, &schemas, diag);
        rc = rc ? rc : (r == HUB_ENOTFOUND ? HUB_OK : r);
    } else if (root) {
        rc = HUB_ECONFIG;
    }
    if (rc == HUB_OK) {
        out->dir = strdup(dir);
        out->schemas_dir = hub_config_path(dir, schemas);
        rc = out->dir && out->schemas_dir ? HUB_OK : HUB_ENOMEM;
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
    self->dir = self->schemas_dir = NULL;
}
