// hubctl: the operators' and auditors' command line. Each subcommand is a
// function taking the arguments after its name; it returns the process exit
// status: 0 success / valid, 1 invalid input or a failure, 2 bad usage.
#ifndef HUBCTL_H
#define HUBCTL_H

#include "hub_buf.h"
#include "hub_diag.h"
#include "hub_schema.h"

#include <stdbool.h>
#include <stddef.h>

enum { HUBCTL_OK = 0, HUBCTL_INVALID = 1, HUBCTL_USAGE = 2 };

// Options every subcommand understands.
typedef struct {
    const char *config;   // --config DIR (default $HUB_CONFIG, else "config")
    const char *schemas;  // --schemas DIR (default: from hub.yaml)
    bool json;            // --format json
    bool normalize;       // --normalize
    bool print;           // --print
    const char *output;   // -o FILE / --output FILE
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

// Subcommands.
int
hubctl_check(int argc, char **argv);
int
hubctl_msg(int argc, char **argv);

#endif
