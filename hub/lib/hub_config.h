// hub_config: the hub's own settings file, CONFIG_DIR/hub.yaml. Paths in it
// are relative to CONFIG_DIR. Loaded once at start (and on reload); the
// struct is then read-only.
#ifndef HUB_CONFIG_H
#define HUB_CONFIG_H

#include "hub_diag.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// How connections prove which endpoint they are (key 'security';
// docs/PROTOCOL.md, "Transport"): CURVE keys, or PLAIN username + token
// (loopback and ipc:// only: PLAIN sends the token in clear).
typedef enum {
    HUB_SECURITY_CURVE = 0, // 'curve', the default
    HUB_SECURITY_PLAIN = 1, // 'plain': for benchmarks and local development
} hub_security_t;

typedef struct {
    char *dir;               // the configuration directory, as given
    char *schemas_dir;       // where the schemas are (key 'schemas', default ../schemas)
    char *departments;       // departments file (key 'departments', default departments.yaml)
    char *hash_key;          // the keyed-hash secret (key 'hash_key', default keys/hash.key)
    char *listen;            // hubd's ZeroMQ endpoint (key 'listen', default tcp://127.0.0.1:7400)
    hub_security_t security; // (key 'security': curve or plain, default curve; plain only
                             // with a loopback or ipc:// listen)
    char *server_key;      // hubd's CURVE secret key file (key 'server_key', default keys/hub.key)
    char *keys_dir;        // where endpoint public keys are (key 'keys', default keys)
    char *store;           // the LMDB directory (key 'store', default ../var/store)
    size_t store_map_size; // bytes (key 'store_map_size', default 1 GiB)
    unsigned heartbeat_ms; // (key 'heartbeat_ms', default 5000)
    unsigned ack_timeout_ms;    // (key 'ack_timeout_ms', default 30000)
    unsigned batch_max;         // messages per group commit (key 'batch_max', default 512)
    unsigned dedup_days;        // how long duplicates are recognised (key 'dedup_days', default 30)
    unsigned writer_inline_max; // a batch of fewer publishes, with hubd's writer thread idle, is
                                // committed by the main thread (key 'writer_inline_max', default
                                // 64; 0: every batch goes to the writer)
    size_t store_drop_behind; // bytes before the end of the store kept cached though unread; older
                              // unread pages are dropped from the page cache as it grows
                              // (key 'store_drop_behind', default 256 MiB; 0: never dropped, the
                              // kernel decides)
    size_t store_index_run;   // audit subject index entries per sorted run (key 'store_index_run',
                              // default 65,536; docs/STORE.md "Subject index runs")
    unsigned store_index_fanin; // runs merged into one of the next level (key
                                // 'store_index_fanin', default 16; docs/STORE.md "Merged runs")
    char *admin;   // hubd's admin socket for hubctl (key 'admin', default ipc://STORE/admin.sock)
    char *metrics; // HTTP address for /metrics and /healthz, "host:port" (key 'metrics', default
                   // "": off)
    char *audit_sign_key; // Ed25519 secret key signing audit checkpoints (key 'audit_sign_key',
                          // default keys/audit.sign)
    unsigned checkpoint_seconds; // how often hubd signs the audit head (key 'checkpoint_seconds',
                                 // default 60)
    unsigned
        retention_messages_days; // message bodies kept (key 'retention_messages_days', default 180)
    unsigned retention_audit_days; // audit records kept (key 'retention_audit_days', default 1095:
                                   // 3 years)
} hub_config_t;

// Loads DIR/hub.yaml into *OUT (caller frees with hub_config_free). Unknown
// keys are errors with a "did you mean"; so are a 'security' other than
// curve or plain, and 'security: plain' with a 'listen' address that
// hub_config_is_local() refuses. Errors: HUB_EIO (no such file),
// HUB_ECONFIG, HUB_ENOMEM.
int
hub_config_load(hub_config_t *out, const char *dir, hub_diag_t *diag);

// Frees what hub_config_load() allocated. Safe on a zeroed struct.
void
hub_config_free(hub_config_t *self);

// Reads the 32-byte keyed-hash secret from PATH: 64 hex digits (spaces and
// a newline allowed). Refuses a file that others may read (mode & 077).
// Errors: HUB_EIO (missing, unreadable, readable by others: DIAG says
// which), HUB_ECONFIG (not 64 hex digits).
int
hub_config_read_key(const char *path, unsigned char key[32], hub_diag_t *diag);

// Reads a Z85 CURVE key file (40 characters, as `hubctl keygen` writes)
// into KEY (32 bytes) and/or Z85 (41 bytes, NUL-terminated); either may be
// NULL. SECRET: refuse a file others may read. Errors: HUB_EIO, HUB_ECONFIG.
int
hub_config_read_z85(const char *path, bool secret, uint8_t key[32], char z85[41], hub_diag_t *diag);

// True when ZeroMQ endpoint ADDRESS stays on this machine: ipc://PATH, or
// tcp:// to 127.0.0.1, localhost or [::1] with a port (digits or '*').
// The only addresses 'security: plain' may listen on or connect to.
bool
hub_config_is_local(const char *address);

// The PLAIN password ("token") of endpoint ENDPOINT: keyed BLAKE2b-256
// (libsodium crypto_generichash) under the hub's 32-byte CURVE secret key
// SECRET (server_key, Z85-decoded) of the bytes "hub plain token v1", one
// zero byte, then ENDPOINT; as 64 lowercase hex digits and a NUL in TOKEN.
// Deterministic: hubd recomputes it to check a client, `hubctl token`
// writes it for the client. The caller wipes TOKEN after use.
// Errors: HUB_EIO (libsodium does not start; TOKEN is "").
int
hub_config_plain_token(const uint8_t secret[32], const char *endpoint, char token[65]);

// DIR joined with a relative PATH (an absolute PATH is kept as it is);
// malloc'd, NULL when out of memory.
char *
hub_config_path(const char *dir, const char *path);

#endif
