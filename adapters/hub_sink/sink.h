// hub-sink's own parts (not a library): the command line and the setup
// in sink_main.c, the receive loop in sink_run.c. See `hub-sink --help`
// and docs/ADAPTERS.md, "hub-sink".
#ifndef HUB_SINK_H
#define HUB_SINK_H

#include "hub_buf.h"
#include "hub_client.h"
#include "hub_columns.h"
#include "hub_diag.h"
#include "hub_inbox.h"
#include "hub_record.h"
#include "hub_rejects.h"

#include <stdbool.h>
#include <stdint.h>

#define SINK_WARN_TYPES 32 // message types warned about (not in the columns file)

typedef struct {
    const char *config_dir, *endpoint, *inbox, *columns, *url, *keys;
    bool csv;
    uint64_t rotate_bytes, rotate_seconds, credit;
    int64_t idle_exit_ms; // -1: never
} sink_args_t;

typedef struct {
    sink_args_t args;
    char *url, *keys, *server_pub; // resolved from the arguments and hub.yaml
    hubc_auth_t auth;              // hub.yaml's security, keys, server_pub, the endpoint
    hubc_inbox_t *inbox;
    hubc_rejects_t *rejects; // the deliveries that cannot be written, beside the inbox
    hubc_columns_t *cols;    // CSV only
    hubc_record_t *rec;
    hubc_t *hub; // NULL while not connected
    hub_diag_t *diag;
    hub_buf_t line; // the record being written
    bool connected_once;
    uint64_t resumes; // hubc_resumes() of this connection, as logged
    bool gap_warned;
    uint64_t first_written; // the first seq written in this run (0: none)
    uint64_t dropped;       // redeliveries dropped
    uint64_t unmapped;      // CSV rows of types the columns file does not name
    char warned[SINK_WARN_TYPES][64];
    size_t nwarned;
} sink_t;

// Receives, writes and acknowledges until SIGTERM/SIGINT or --idle-exit.
// A delivery that cannot be read or written as a record goes to the
// rejected-deliveries report (hub_rejects.h) and the stream goes on.
// Returns the exit status: 0 (deliveries rejected included: like
// hub-adapter's rejected records, they are not a failure), or 1 after a
// failure (reported on stderr).
int
sink_run(sink_t *self);

// Installs the SIGTERM/SIGINT handlers (without SA_RESTART, so that a
// wait for the hub returns at once).
void
sink_signals(void);

#endif
