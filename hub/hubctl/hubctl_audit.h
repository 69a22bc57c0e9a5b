// hubctl audit: the auditors' commands. query (hubctl_audit_query.c),
// report (hubctl_audit_report.c), verify (hubctl_audit_verify.c) and export
// (hubctl_audit_export.c) share the options, the store opened read-only
// with the hash key, the decoded audit record, the selection of records
// (by subject through the keyed-hash index, by time through a binary
// search over the audit sequence, then the other filters) and the
// operations-log record each reading command leaves (hubctl_audit.c).
#ifndef HUBCTL_AUDIT_H
#define HUBCTL_AUDIT_H

#include "hub_arena.h"
#include "hub_buf.h"
#include "hub_config.h"
#include "hub_mpw.h"
#include "hub_store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define HUBCTL_AUDIT_LIMIT 100        // query's page when --limit is not given
#define HUBCTL_AUDIT_LIMIT_MAX 100000 // the largest page

typedef enum {
    HUBCTL_FMT_NONE = 0, // not given: the command's default
    HUBCTL_FMT_TABLE,
    HUBCTL_FMT_JSON,
    HUBCTL_FMT_CSV,
    HUBCTL_FMT_TEXT,
    HUBCTL_FMT_HTML,
} hubctl_fmt_t;

// The options of the audit commands (each takes some of them).
typedef struct {
    const char *config;   // --config DIR (default $HUB_CONFIG, else "config")
    const char *subject;  // --subject CITIZEN_ID
    const char *source;   // --source DEPT
    const char *endpoint; // --endpoint E
    const char *rule;     // --rule R
    const char *type;     // --type T
    const char *purpose;  // --purpose TEXT (a part of the purpose)
    bool since_given;     // --since TIME ...
    uint64_t since_ms;    // ... resolved (inclusive)
    bool until_given;     // --until TIME ...
    uint64_t until_ms;    // ... resolved (exclusive)
    bool limit_given;     // --limit N ...
    size_t limit;         // ... this N
    uint64_t after;       // --after SEQ: records after it (0: from the start)
    hubctl_fmt_t format;  // --format
    const char *lang;     // --lang zh|en (NULL: both)
    const char *output;   // -o FILE / --output FILE
    const char *bundle;   // --bundle FILE
    const char *pub_key;  // --pub-key FILE
} hubctl_audit_opts_t;

// One released field of an audit record.
typedef struct {
    const char *path; // "subject.name"
    const char *mask; // "none", "partial", "hash", "year", "age_band"
    const char *rule; // the rule that released it
} hubctl_audit_field_t;

// An audit record, decoded (docs/STORE.md, "audit"); strings NUL-terminated
// in the arena it was decoded into.
typedef struct {
    uint64_t seq;
    uint64_t time_ms;
    uint64_t eseq;
    const char *endpoint;
    const char *source;
    const char *type;
    const char *message_id;
    const char *origin_id;
    const char *ruleset;   // "" when nil
    const char **rules;    // NRULES each: rule ids ...
    const char **purposes; // ... their purposes (NULL when a rule has none)
    const char **bases;    // ... their legal bases (NULL when none)
    size_t nrules;
    hubctl_audit_field_t *fields;
    size_t nfields;
    bool has_subject;
    uint8_t subject[HUB_STORE_HASH_SIZE];
    const void *raw; // the record's bytes, copied into the arena
    size_t raw_len;
} hubctl_audit_rec_t;

// What the commands work with.
typedef struct {
    hubctl_audit_opts_t opts;
    hub_config_t cfg;
    hub_store_t *store;                   // read-only
    bool has_key;                         // the hash key could be read
    uint8_t key[32];                      // the hash key
    uint8_t subject[HUB_STORE_HASH_SIZE]; // the subject key of --subject
    hub_arena_t *arena;                   // the records selected (kept until closed)
    hub_arena_t *scratch;                 // a record read to be filtered
} hubctl_audit_t;

// Parses ARGV (after the subcommand's name) into OPTS, accepting the
// options in ALLOWED (names without "--"). Bad usage: a one-line reason.
bool
hubctl_audit_parse(int argc, char **argv, const char *const *allowed, hubctl_audit_opts_t *opts);

// Loads hub.yaml, reads the hash key (required when NEED_KEY, else when
// readable) and opens the store read-only with it. Prints why and returns
// false on failure; hubctl_audit_close() frees what it got either way.
bool
hubctl_audit_open(hubctl_audit_t *self, bool need_key);

// Closes the store, frees the configuration and the arena.
void
hubctl_audit_close(hubctl_audit_t *self);

// Decodes audit record REC (LEN bytes) into OUT, copying what it keeps
// into ARENA. Errors: HUB_EDECODE (not an audit record), HUB_ENOMEM.
int
hubctl_audit_decode(const void *rec, size_t len, hub_arena_t *arena, hubctl_audit_rec_t *out);

// Calls EACH for the records the options select, in audit order, after
// OPTS.after, at most MAX of them (0: no limit): by subject through the
// index, the time range by binary search, the other options as filters.
// *MORE (may be NULL) tells whether a record past MAX matches too. EACH
// returns false to stop. Errors: HUB_EIO (the store), HUB_EDECODE (a
// damaged record: printed), HUB_ENOMEM.
typedef bool (*hubctl_audit_each_fn)(hubctl_audit_t *self, const hubctl_audit_rec_t *rec,
                                     void *arg);
int
hubctl_audit_select(hubctl_audit_t *self, size_t max, hubctl_audit_each_fn each, void *arg,
                    bool *more);

// The records a command keeps: a growing array (start zeroed; the caller
// frees RECS). The records' strings stay in the arena they were decoded
// into (hubctl_audit_t.arena, until closed).
typedef struct {
    hubctl_audit_rec_t *recs;
    size_t n, cap;
} hubctl_audit_recs_t;

// A hubctl_audit_each_fn: appends a copy of REC to ARG, a
// hubctl_audit_recs_t. Out of memory: says so on stderr and returns false
// (the selection stops).
bool
hubctl_audit_keep(hubctl_audit_t *self, const hubctl_audit_rec_t *rec, void *arg);

// The first and last audit seq kept (0, 0 when there is none).
int
hubctl_audit_range(hubctl_audit_t *self, uint64_t *first, uint64_t *last);

// The first record at or after TIME_MS in [FIRST, LAST] (LAST + 1 when
// none): the audit is in time order, so this is a binary search.
int
hubctl_audit_seq_at(hubctl_audit_t *self, uint64_t first, uint64_t last, uint64_t time_ms,
                    uint64_t *seq);

// The filters of OPTS as pairs of a msgpack map: their number, and with
// WRITE the pairs into W (keys sorted): what an operations-log record says
// was asked (--subject as its keyed hash, never the raw ID). RECORDS (may
// be NULL) adds "records": how many were returned.
size_t
hubctl_audit_filters(const hubctl_audit_t *self, hub_mpw_t *w, bool write, const uint64_t *records);

// Records in the operations log that the user reads the audit: ACTION
// ("audit.query"), the filters and RECORDS (how many the answer holds).
// Called before the answer is given: an access to the audit that cannot be
// recorded is not answered (docs/OPERATIONS.md, "Who read what"). Closes
// the read-only store, writes on a writable handle of its own (which needs
// the hash key), then opens the read-only store again for the answer.
// False, and why on stderr, when the record (or the store again) could
// not be had: give no answer then.
bool
hubctl_audit_record_access(hubctl_audit_t *self, const char *action, uint64_t records);

// Opens OPTS.output (or stdout when none) for writing; prints why and
// returns NULL when it cannot. hubctl_audit_out_close() closes it
// (not stdout) and reports a write error.
FILE *
hubctl_audit_out_open(const hubctl_audit_opts_t *opts);
bool
hubctl_audit_out_close(const hubctl_audit_opts_t *opts, FILE *f);

// Hex of the N bytes at P into OUT (2N + 1 bytes).
void
hubctl_audit_hex(const uint8_t *p, size_t n, char *out);

// Reads the Ed25519 public key (64 hex digits) of the hub: FILE, or
// hub.yaml's audit_sign_key + ".pub". *PATH_OUT (may be NULL) gets the
// file it read (malloc'd). False (and why, unless QUIET) when it cannot.
bool
hubctl_audit_pub_key(const hub_config_t *cfg, const char *file, uint8_t pk[32], char **path_out,
                     bool quiet);

// The subcommands (ARGV after the subcommand's name).
int
hubctl_audit_query(int argc, char **argv);
int
hubctl_audit_report(int argc, char **argv);
int
hubctl_audit_verify(int argc, char **argv);
int
hubctl_audit_export(int argc, char **argv);

// hubctl audit SUBCOMMAND ... (ARGV after "audit").
int
hubctl_audit(int argc, char **argv);

#endif
