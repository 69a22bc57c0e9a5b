// hubctl's operations commands: status (hubctl_status.c), dlq
// (hubctl_dlq.c), cursor (hubctl_cursor.c), reload and rules history/diff
// (hubctl_history.c). They share the options below, the store readers
// (hubctl_ops.c) and the client of hubd's admin socket (hubctl_admin.c;
// the contract is in docs/OPERATIONS.md, "Operating the hub").
//
// Reading commands open the store read-only (they never block hubd);
// commands that change something ask hubd over the admin socket, because
// hubd caches sequences and cursors and writes the operations log.
#ifndef HUBCTL_OPS_H
#define HUBCTL_OPS_H

#include "hub_buf.h"
#include "hub_config.h"
#include "hub_depts.h"
#include "hub_mpw.h"
#include "hub_store.h"
#include "hubctl.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HUBCTL_OPS_MAX_ARGS 1024
#define HUBCTL_ADMIN_TIMEOUT_MS 5000

struct json_t;

// The options of the operations commands.
typedef struct {
    const char *config;   // --config DIR (default $HUB_CONFIG, else "config")
    bool json;            // --format json
    int timeout_ms;       // --timeout MS: how long to wait for hubd
    const char *source;   // --source DEPT
    const char *code;     // --code WORD
    bool since_given;     // --since TIME was given ...
    uint64_t since_ms;    // ... and resolved to this
    bool limit_given;     // --limit N was given ...
    size_t limit;         // ... with this N
    bool all;             // --all
    const char *endpoint; // --endpoint E
    const char *to;       // --to SEQ|TIME (resolved by the command)
    const char *store;    // --store DIR (store reissue-id: another store than hub.yaml's)
    const char *args[HUBCTL_OPS_MAX_ARGS]; // positional arguments
    size_t nargs;
} hubctl_ops_opts_t;

// Runs the operations command named by ARGV[0] (status, dlq, cursor,
// reload, store; rules history and rules diff) with the rest of ARGV, and
// returns its exit status; -1 when ARGV is none of them. Each answers
// -h/--help with its own usage.
int
hubctl_ops_main(int argc, char **argv);

// The commands (ARGV starts after the command's name).
int
hubctl_status(int argc, char **argv);
int
hubctl_dlq(int argc, char **argv);
int
hubctl_cursor(int argc, char **argv);
int
hubctl_reload(int argc, char **argv);
int
hubctl_store(int argc, char **argv); // store reissue-id (hubctl_store.c)

// rules history / rules diff V1 V2 (ARGV starts after "history"/"diff").
int
hubctl_rules_history(int argc, char **argv);
int
hubctl_rules_diff(int argc, char **argv);

// Parses ARGV into OPTS, accepting the options named in ALLOWED (without
// "--"). Bad usage: prints a one-line reason, returns false.
bool
hubctl_ops_parse(int argc, char **argv, const char *const *allowed, hubctl_ops_opts_t *opts);

// True when ARGV holds -h or --help: then HELP was printed to stdout.
bool
hubctl_ops_help(int argc, char **argv, const char *help);

// Loads OPTS' hub.yaml into CFG; prints the problems and returns false
// when it does not load. Free CFG with hub_config_free() either way.
bool
hubctl_ops_config(const hubctl_ops_opts_t *opts, hub_config_t *cfg);

// Loads the departments (and the schemas they need) of CFG, for the list
// of endpoints; prints the problems and returns NULL when they do not load.
hub_depts_t *
hubctl_ops_depts(const hub_config_t *cfg);

// Opens CFG's store read-only; prints why and returns NULL when it cannot.
hub_store_t *
hubctl_ops_store(const hub_config_t *cfg);

// Parses TEXT as a point in time into *MS (ms since the epoch), NOW_MS
// being now: an ISO 8601 date or date-time ("2026-11-27",
// "2026-11-27T08:00", "2026-11-27T08:00:00.5+08:00", "...Z"; without an
// offset, local time), "now", "today", "yesterday" (local midnight), or
// an age "90s", "15m", "2h", "7d" (that long ago). False when it is none.
bool
hubctl_parse_time(const char *text, uint64_t now_ms, uint64_t *ms);

// MS as local ISO 8601 with its offset ("2026-11-27T08:00:00+08:00").
void
hubctl_format_time(uint64_t ms, char *buf, size_t size);

// A duration for people: "850ms", "42s", "3m12s", "2h05m", "3d04h".
void
hubctl_format_age(uint64_t ms, char *buf, size_t size);

// A byte count for people: "512 B", "12.3 MiB", "1.0 GiB".
void
hubctl_format_bytes(uint64_t n, char *buf, size_t size);

// Parses a positive decimal sequence number ("17"); false otherwise.
bool
hubctl_parse_seq(const char *text, uint64_t *seq);

// Now, in ms since the epoch.
uint64_t
hubctl_now_ms(void);

// The LEN bytes of msgpack at DATA as a JSON value (new reference):
// binary data becomes a hex string, a string that is not UTF-8 "\ufffd"
// for the bad bytes, map keys that are not strings are skipped. NULL when
// DATA is not one whole msgpack value, or nests deeper than 32.
struct json_t *
hubctl_mp_json(const void *data, size_t len);

// Record SEQ of DB as JSON (new reference). NULL when there is none;
// *FOUND (may be NULL) tells a missing record from a damaged one.
struct json_t *
hubctl_store_json(hub_store_t *store, hub_store_seqdb_t db, uint64_t seq, bool *found);

// ---- the admin socket (hubctl_admin.c)

// Starts a request for hubd in REQ (emptied first): a map of NPAIRS + 2
// pairs, "cmd": CMD and "user": the OS user running hubctl, written to W;
// the caller writes its NPAIRS pairs next.
void
hubctl_admin_begin(hub_mpw_t *w, hub_buf_t *req, const char *cmd, size_t npairs);

// Sends REQ to hubd's admin socket ADDRESS and waits up to TIMEOUT_MS for
// the answer, a map, into *REPLY (JSON, new reference).
// Errors: HUB_ENOTFOUND (nothing listens there: an ipc file that is
// missing or that no process accepts on), HUB_EIO (no answer in time),
// HUB_EINVAL (a bad address: printed), HUB_EDECODE (the answer is not a
// msgpack map), HUB_ENOMEM.
int
hubctl_admin_call(const char *address, int timeout_ms, const hub_buf_t *req, struct json_t **reply);

// hubctl_admin_call() for a command WHAT, with the outcome reported: no
// answer prints "hubd is not running (no answer on ADDRESS)"; an answer
// with ok false prints its code, error and problems (or, in JSON mode,
// the answer itself to stdout). Returns HUBCTL_OK with *REPLY when hubd
// answered ok: true, else HUBCTL_INVALID (*REPLY NULL).
int
hubctl_admin_run(const hubctl_ops_opts_t *opts, const hub_config_t *cfg, const char *what,
                 const hub_buf_t *req, struct json_t **reply);

// The second half of hubctl_admin_run(): reports RC and *REPLY, the
// outcome of hubctl_admin_call(), as that does.
int
hubctl_admin_check(const hubctl_ops_opts_t *opts, const hub_config_t *cfg, const char *what, int rc,
                   struct json_t **reply);

// The OS user running hubctl (getpwuid(geteuid())), or "uid N", written
// into BUF (SIZE bytes); returns BUF.
const char *
hubctl_user(char *buf, size_t size);

// True when option NAME is one of ALLOWED (NULL-terminated).
bool
hubctl_opt_allowed(const char *name, const char *const *allowed);

// A count option's VALUE ("--limit 20") into *N (at most MAX); false, with
// the usage error printed, when it is not one.
bool
hubctl_opt_count(const char *name, const char *value, uint64_t max, uint64_t *n);

#endif
