// hub-adapter's insides (prefix hubad_): a department's export files in,
// canonical messages out through the durable outbox (adapters/hub_outbox.h).
//   hubad.c         options, loading, exit status
//   hubad_src.c     a file's records (CSV or JSON Lines) as mapping sources
//   hubad_run.c     one file: cursor, records, batches into the outbox
//   hubad_hub.c     the connection, flushing with retries and backoff
//   hubad_report.c  the rejected-records report, dry-run output, summary
//   hubad_watch.c   --watch: files that arrive or grow
// One thread; the only global is the stop flag set by signals.
#ifndef HUBAD_H
#define HUBAD_H

#include "hub_client.h"
#include "hub_config.h"
#include "hub_csv.h"
#include "hub_map.h"
#include "hub_outbox.h"

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

// Exit status: the run completed (rejections are no failure); it could
// not complete (hub unreachable, I/O error); bad usage or configuration.
enum { HUBAD_OK = 0, HUBAD_FAILED = 1, HUBAD_USAGE = 2 };

typedef struct {
    const char *config_dir;
    const char *mapping;
    const char *state_dir; // NULL: var/adapter/<mapping name>
    const char *rejected;  // the report file, or NULL
    const char *watch_dir; // NULL: one-shot over FILES
    const char *url;       // NULL: from hub.yaml
    const char *keys_dir;  // NULL: from hub.yaml
    bool dry_run;
    bool json;
    long poll_ms;
    long idle_exit_ms; // 0: watch until signalled
    long retry_ms;     // how long an unreachable hub is retried
    size_t batch;      // records per outbox transaction
    char **files;
    int nfiles;
} hubad_opts_t;

// One reject reason and how often it was given.
typedef struct {
    const char *reason;
    uint64_t count;
} hubad_reason_t;

#define HUBAD_MAX_REASONS 64

typedef struct {
    uint64_t published; // acked new by the hub (dry run: would publish)
    uint64_t duplicate; // the hub had it, or the same id came twice in this run
    uint64_t skipped;   // type_from skip
    uint64_t rejected;
    uint64_t files;
    hubad_reason_t reasons[HUBAD_MAX_REASONS];
    size_t nreasons;
} hubad_stats_t;

typedef struct hubad_src hubad_src_t;

typedef struct {
    hubad_opts_t opts;
    hub_config_t cfg;
    hub_schemas_t *schemas;
    hub_depts_t *depts;
    hubc_map_t *map;
    hub_diag_t *diag;
    hubc_outbox_t *box; // NULL in a dry run
    hubc_t *hub;        // connected when needed
    char url[256];
    char *keys_dir, *server_pub;
    hub_msg_t *msg;
    hub_buf_t batch;      // encoded messages waiting for the outbox
    hub_buf_t batch_lens; // size_t per message
    size_t batch_n;
    uint8_t *seen; // ids of this run: 16 bytes each, open addressing
    size_t seen_cap, seen_n;
    FILE *report; // the rejected-records report, or NULL
    hubad_stats_t stats;
    bool failed;   // could not complete: exit 1
    bool hub_lost; // gave up on the hub: stop reading
} hubad_t;

// Set by SIGINT / SIGTERM: finish the current batch and stop.
extern volatile sig_atomic_t hubad_stop;

// Reads one file from its saved cursor (FINAL: its end is the end of the
// data; without, a line still being written waits). *READ gets the
// records read. Problems are reported on stderr; an I/O error or a hub
// that cannot be reached sets AD->failed.
void
hubad_file(hubad_t *ad, const char *path, bool final, uint64_t *read);

// Flushes the outbox until it is empty, reconnecting with backoff for up
// to opts.retry_ms. Sets AD->failed and returns HUB_EIO when giving up.
int
hubad_flush(hubad_t *ad);

// Closes the connection (at the end).
void
hubad_disconnect(hubad_t *ad);

// --watch DIR until idle or stopped.
void
hubad_watch(hubad_t *ad);

// A record source over one file, for the mapping.
int
hubad_src_open(hubad_src_t **out, const char *path, const hubc_map_t *map, hub_diag_t *diag);
void
hubad_src_destroy(hubad_src_t **self_p);
void
hubad_src_resume(hubad_src_t *self, uint64_t offset, uint64_t line, hubc_enc_t enc);
hubc_enc_t
hubad_src_encoding(const hubad_src_t *self);
bool
hubad_src_identity(const hubad_src_t *self, uint64_t *dev, uint64_t *ino);

// The next record (HUB_OK, HUB_ENOTFOUND at the end or while waiting,
// HUB_EIO). For a defect, REC->reason is set and *COLUMN names the column
// at fault ("" when none); otherwise hubad_src_map() reads the record.
int
hubad_src_next(hubad_src_t *self, bool final, hubc_csv_rec_t *rec, const char **column);
const hubc_map_src_t *
hubad_src_map(hubad_src_t *self);

// Reports one rejected record (report file, or stdout in a dry run, else
// stderr) and counts it.
void
hubad_reject(hubad_t *ad, const char *file, uint64_t line, const char *column, const char *value,
             const char *reason, const char *text);

// Counts REASON N times (without a report line: refusals by the hub).
void
hubad_count(hubad_t *ad, const char *reason, uint64_t n);

// Dry run: prints the message in AD->msg.
void
hubad_print_msg(hubad_t *ad);

// Opens the report file (UTF-8 with a BOM, the header row). HUB_EIO.
int
hubad_report_open(hubad_t *ad);

// Prints the summary on stdout.
void
hubad_summary(const hubad_t *ad);

#endif
