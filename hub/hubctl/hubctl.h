// hubctl: the operators' and auditors' command line. Each subcommand is a
// function taking the arguments after its name; it returns the process exit
// status: 0 success / valid, 1 invalid input or a failure, 2 bad usage.
#ifndef HUBCTL_H
#define HUBCTL_H

#include "hub_buf.h"
#include "hub_config.h"
#include "hub_depts.h"
#include "hub_diag.h"
#include "hub_rules.h"
#include "hub_schema.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { HUBCTL_OK = 0, HUBCTL_INVALID = 1, HUBCTL_USAGE = 2 };

// Options every subcommand understands.
typedef struct {
    const char *config;     // --config DIR (default $HUB_CONFIG, else "config")
    bool config_given;      // --config was on the command line
    const char *schemas;    // --schemas DIR (default: from hub.yaml)
    bool json;              // --format json
    bool normalize;         // --normalize
    bool print;             // --print
    bool explain;           // --explain
    const char *message;    // --message FILE
    const char *suite;      // --suite DIR
    const char *hash_key;   // --hash-key FILE
    const char *dir;        // --dir DIR
    const char *output;     // -o FILE / --output FILE
    const char *listed[16]; // --listed LIST=KEY (repeatable)
    size_t nlisted;
    const char *args[64]; // positional arguments
    size_t nargs;
} hubctl_opts_t;

// Parses ARGV into OPTS; prints a one-line reason and returns false on bad
// usage. ALLOWED lists the option names the subcommand takes (without --).
bool
hubctl_parse(int argc, char **argv, const char *const *allowed, hubctl_opts_t *opts);

// Prints "hubctl: " + the formatted reason to stderr and returns HUBCTL_USAGE.
int
hubctl_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

// Loads the schema set named by OPTS (--schemas, or hub.yaml's). Problems go
// to DIAG. Returns the set or NULL.
hub_schemas_t *
hubctl_load_schemas(const hubctl_opts_t *opts, hub_diag_t *diag, char **dir_out);

// The whole configuration, loaded in order: hub.yaml, the schemas,
// departments.yaml, the rules. Members past the first failure stay NULL.
typedef struct {
    hub_config_t config;
    hub_schemas_t *schemas;
    hub_depts_t *depts;
    hub_rules_t *rules;
} hubctl_conf_t;

// Loads everything OPTS names; problems (and rule warnings) go to DIAG.
// Returns true when all of it loaded.
bool
hubctl_load_conf(const hubctl_opts_t *opts, hubctl_conf_t *conf, hub_diag_t *diag);

// Frees what hubctl_load_conf() loaded.
void
hubctl_free_conf(hubctl_conf_t *conf);

// Reads all of PATH ("-" = stdin) into BUF. Prints the reason and returns
// false on failure.
bool
hubctl_read_file(const char *path, hub_buf_t *buf);

// Prints DIAG: as text lines to stderr, or nothing in JSON mode (the caller
// embeds hubctl_diag_json output).
void
hubctl_print_diag(const hubctl_opts_t *opts, const hub_diag_t *diag);

// DIAG as a JSON array of {severity, where, reason, message} (new ref).
struct json_t;
struct json_t *
hubctl_diag_json(const hub_diag_t *diag);

// Prints J to stdout on one line and releases it.
void
hubctl_print_json(struct json_t *j);

// The hash key of CONF into KEY; on failure a dry-run key of zeros, with a
// warning unless QUIET. True when the real key was read.
bool
hubctl_hash_key(const hubctl_conf_t *conf, uint8_t key[32], bool quiet);

// Reads PATH ("-" = stdin) and decodes it into MSG: JSON when its first
// non-blank byte is '{', else msgpack. *IO_FAILED tells a read failure
// (already printed) from a decoding one (in DIAG).
int
hubctl_decode_file(const char *path, hub_msg_t *msg, hub_diag_t *diag, bool *io_failed);

// MSG as a JSON value (a new reference), for --format json output.
struct json_t *
hubctl_msg_json(const hub_msg_t *msg);

// Reads PATH (JSON or msgpack) into MSG and validates it, normalising.
// Problems go to DIAG; false when it is not a valid message.
bool
hubctl_load_message(const char *path, const hubctl_conf_t *conf, hub_msg_t *msg, hub_diag_t *diag);

// The dry run of one routed message as JSON (new reference): deliveries
// with rules, released fields and the delivered message; with EXPLAIN,
// every endpoint not reached and why.
struct hub_route;
struct json_t *
hubctl_route_json(const hubctl_conf_t *conf, const struct hub_route *route, const hub_msg_t *msg,
                  bool explain);

// rules test --suite DIR.
int
hubctl_suite(const hubctl_opts_t *opts);

// Subcommands.
int
hubctl_check(int argc, char **argv);
int
hubctl_msg(int argc, char **argv);
int
hubctl_rules(int argc, char **argv);
int
hubctl_keygen(int argc, char **argv);
int
hubctl_token(int argc, char **argv);

#endif
