// hubctl keygen NAME [--dir DIR]: a CURVE keypair for an endpoint (or the
// hub itself, NAME "hub"): DIR/NAME.pub (Z85 public key, mode 0644) and
// DIR/NAME.key (Z85 secret key, mode 0600; hubd refuses a world-readable
// one). hubctl keygen --hash-key FILE: the hub's secret for keyed hashes
// (the `hash` masking, the audit subject index), 32 random bytes as 64 hex
// digits. hubctl keygen --sign-key FILE: the Ed25519 key that signs audit
// checkpoints (FILE and FILE.pub). An existing key is never overwritten.
#include "hubctl.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

// Writes LEN bytes to a new file PATH with MODE; false (and a message)
// when it exists or cannot be written.
static bool
s_write_new(const char *path, const char *text, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
    if (fd < 0) {
        fprintf(stderr, "hubctl: %s: %s%s\n", path, strerror(errno),
                errno == EEXIST ? " (a key is never overwritten: remove it first if you mean to)"
                                : "");
        return false;
    }
    bool ok = write(fd, text, len) == (ssize_t) len && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok) {
        fprintf(stderr, "hubctl: %s: cannot write the key\n", path);
        unlink(path);
    }
    return ok;
}

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
    hex[64] = '\n';
    bool ok = s_write_new(path, hex, 65, 0600);
    sodium_memzero(hex, sizeof hex);
    if (!ok) {
        return HUBCTL_INVALID;
    }
    printf("hash key written to %s (mode 600)\n", path);
    return HUBCTL_OK;
}

// hubctl keygen --sign-key FILE: the Ed25519 keypair that signs audit
// checkpoints (hub.yaml audit_sign_key): FILE holds libsodium's 64-byte
// secret key as 128 hex digits (mode 0600), FILE.pub the 32-byte public
// key as 64 hex digits (mode 0644), which auditors use to verify.
static int
s_sign_key(const char *path)
{
    unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    char sk_hex[2 * sizeof sk + 2], pk_hex[2 * sizeof pk + 2], pub_path[512];
    int n = snprintf(pub_path, sizeof pub_path, "%s.pub", path);
    if (n < 0 || (size_t) n >= sizeof pub_path || sodium_init() < 0) {
        fprintf(stderr, "hubctl: %s: cannot make the key (path too long or no libsodium)\n", path);
        return HUBCTL_INVALID;
    }
    crypto_sign_keypair(pk, sk);
    sodium_bin2hex(sk_hex, sizeof sk_hex, sk, sizeof sk);
    sodium_bin2hex(pk_hex, sizeof pk_hex, pk, sizeof pk);
    sodium_memzero(sk, sizeof sk);
    sk_hex[2 * sizeof sk] = '\n';
    pk_hex[2 * sizeof pk] = '\n';
    bool ok = s_write_new(path, sk_hex, 2 * sizeof sk + 1, 0600);
    sodium_memzero(sk_hex, sizeof sk_hex);
    if (ok && !s_write_new(pub_path, pk_hex, 2 * sizeof pk + 1, 0644)) {
        unlink(path);
        ok = false;
    }
    if (!ok) {
        return HUBCTL_INVALID;
    }
    printf("audit signing key written to %s (mode 600), public key %.64s in %s\n", path, pk_hex,
           pub_path);
    return HUBCTL_OK;
}

static bool
s_valid_name(const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '@' ||
              c == '-' || c == '.')) {
            return false;
        }
    }
    return n > 0 && n < 100 && name[0] != '.';
}

static int
s_curve_pair(const char *name, const char *dir)
{
    char pub[41], sec[41], pub_path[512], sec_path[512], text[64];
    if (!s_valid_name(name)) {
        return hubctl_usage_error("keygen: '%s' is not an endpoint name like education@513431",
                                  name);
    }
    if (zmq_curve_keypair(pub, sec) != 0) {
        fprintf(stderr, "hubctl: this libzmq has no CURVE support\n");
        return HUBCTL_INVALID;
    }
    snprintf(pub_path, sizeof pub_path, "%s/%s.pub", dir, name);
    snprintf(sec_path, sizeof sec_path, "%s/%s.key", dir, name);
    int n = snprintf(text, sizeof text, "%s\n", sec);
    if (!s_write_new(sec_path, text, (size_t) n, 0600)) {
        return HUBCTL_INVALID;
    }
    n = snprintf(text, sizeof text, "%s\n", pub);
    if (!s_write_new(pub_path, text, (size_t) n, 0644)) {
        unlink(sec_path);
        return HUBCTL_INVALID;
    }
    sodium_memzero(sec, sizeof sec);
    printf("%s: public key %s (%s), secret key %s (mode 600)\n", name, pub, pub_path, sec_path);
    return HUBCTL_OK;
}

int
hubctl_keygen(int argc, char **argv)
{
    static const char *const allowed[] = {"hash-key", "dir", NULL};
    hubctl_opts_t opts;
    if (argc == 2 && strcmp(argv[0], "--sign-key") == 0) {
        return s_sign_key(argv[1]);
    }
    if (argc == 1 && strncmp(argv[0], "--sign-key=", 11) == 0 && argv[0][11]) {
        return s_sign_key(argv[0] + 11);
    }
    if (!hubctl_parse(argc, argv, allowed, &opts)) {
        return HUBCTL_USAGE;
    }
    if (opts.hash_key && !opts.nargs) {
        return s_hash_key(opts.hash_key);
    }
    if (opts.nargs != 1 || opts.hash_key) {
        return hubctl_usage_error("keygen needs NAME [--dir DIR] or --hash-key FILE");
    }
    return s_curve_pair(opts.args[0], opts.dir ? opts.dir : ".");
}
