// hubctl keygen --hash-key FILE: the hub's secret for keyed hashes (the
// `hash` masking, the audit subject index). 32 random bytes as 64 hex
// digits, written to a new file of mode 0600; an existing key is never
// overwritten (the pseudonyms made with it would change).
#include "hubctl.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int
s_hash_key(const char *path)
{
    if (sodium_init() < 0) {
        fprintf(stderr, "hubctl: libsodium does not start\n");
        return HUBCTL_INVALID;
    }
    unsigned char key[32];
    char hex[65];
    randombytes_buf(key, sizeof key);
    sodium_bin2hex(hex, sizeof hex, key, sizeof key);
    sodium_memzero(key, sizeof key);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
        fprintf(stderr, "hubctl: %s: %s%s\n", path, strerror(errno),
                errno == EEXIST ? " (a key is never overwritten: remove it first if you mean to)"
                                : "");
        return HUBCTL_INVALID;
    }
    hex[64] = '\n';
    bool ok = write(fd, hex, 65) == 65 && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    sodium_memzero(hex, sizeof hex);
    if (!ok) {
        fprintf(stderr, "hubctl: %s: cannot write the key\n", path);
        unlink(path);
        return HUBCTL_INVALID;
    }
    printf("hash key written to %s (mode 600)\n", path);
    return HUBCTL_OK;
}

int
hubctl_keygen(int argc, char **argv)
{
    static const char *const allowed[] = {"hash-key", NULL};
    hubctl_opts_t opts;
    if (!hubctl_parse(argc, argv, allowed, &opts)) {
        return HUBCTL_USAGE;
    }
    if (!opts.hash_key || opts.nargs) {
        return hubctl_usage_error("keygen needs --hash-key FILE");
    }
    return s_hash_key(opts.hash_key);
}
