#include "hub_error.h"

#include <stddef.h>

typedef struct {
    const char *name;
    const char *text;
} s_error_t;

static const s_error_t s_errors[] = {
    [HUB_OK] = {"HUB_OK", "success"},
    [HUB_ENOMEM] = {"HUB_ENOMEM", "out of memory"},
    [HUB_EIO] = {"HUB_EIO", "input/output error"},
    [HUB_EINVAL] = {"HUB_EINVAL", "invalid argument"},
    [HUB_ECONFIG] = {"HUB_ECONFIG", "configuration error"},
    [HUB_EDECODE] = {"HUB_EDECODE", "malformed message"},
    [HUB_ELIMIT] = {"HUB_ELIMIT", "limit exceeded"},
    [HUB_EINVALID] = {"HUB_EINVALID", "message breaks its schema"},
    [HUB_ENOTFOUND] = {"HUB_ENOTFOUND", "not found"},
    [HUB_EEXIST] = {"HUB_EEXIST", "already exists"},
    [HUB_EFULL] = {"HUB_EFULL", "store full"},
};

static const s_error_t *
s_lookup(int code)
{
    if (code < 0 || (size_t) code >= sizeof s_errors / sizeof s_errors[0]) {
        return NULL;
    }
    return &s_errors[code];
}

const char *
hub_error_name(int code)
{
    const s_error_t *e = s_lookup(code);
    return e ? e->name : "HUB_E?";
}

const char *
hub_strerror(int code)
{
    const s_error_t *e = s_lookup(code);
    return e ? e->text : "unknown error";
}
