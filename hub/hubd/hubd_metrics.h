// hubd_metrics: hubd's HTTP endpoint for monitoring (libmicrohttpd).
// `GET /metrics` answers the Prometheus text exposition format 0.0.4;
// `GET /healthz` answers 200 "ok" while the daemon's main loop has
// published a snapshot within the last 10 s, else 503 with the reason.
// docs/OPERATIONS.md ("Metrics") lists every metric.
//
// Threading: the server runs on its own thread (libmicrohttpd's internal
// polling thread). The main loop owns every number: it fills a
// hubd_metrics_snapshot_t of its own, about once a second, and hands it
// over with hubd_metrics_publish(), which copies it under a mutex. The
// HTTP thread reads only that copy; nothing else is shared. start,
// publish, set_stale_ms, port and destroy are for the one thread that owns
// SELF; the histogram, NACK and render helpers touch only what they are
// given.
#ifndef HUBD_METRICS_H
#define HUBD_METRICS_H

#include "hub_buf.h"
#include "hub_diag.h"
#include "hub_store.h"

#include <stddef.h>
#include <stdint.h>

#define HUBD_METRICS_BUCKETS_MAX 16
#define HUBD_METRICS_STALE_MS 10000 // /healthz fails when the last snapshot is older

// The NACK codes of docs/PROTOCOL.md, as indexes into
// hubd_metrics_snapshot_t.nacked; a code this list lacks counts as OTHER.
typedef enum {
    HUBD_NACK_MALFORMED = 0,
    HUBD_NACK_INVALID,
    HUBD_NACK_SOURCE_MISMATCH,
    HUBD_NACK_NOT_ALLOWED,
    HUBD_NACK_TOO_LARGE,
    HUBD_NACK_STORE_FULL,
    HUBD_NACK_UNAVAILABLE,
    HUBD_NACK_INTERNAL,
    HUBD_NACK_OTHER,
    HUBD_NACK_NCODES
} hubd_nack_code_t;

// A histogram with fixed upper bounds. COUNTS are per bucket (not
// cumulative): COUNTS[i] holds observations v with LE[i-1] < v <= LE[i];
// observations above the last bound are only in COUNT (the +Inf bucket).
// A plain struct, kept by the main loop for the process lifetime.
typedef struct {
    size_t nbuckets;                           // bounds in use
    double le[HUBD_METRICS_BUCKETS_MAX];       // upper bounds, strictly ascending
    uint64_t counts[HUBD_METRICS_BUCKETS_MAX]; // observations in each bucket
    uint64_t count;                            // all observations
    double sum;                                // their sum
} hubd_metrics_histogram_t;

// One configured endpoint, as the main loop sees it now.
typedef struct {
    const char *endpoint;    // its id ("education@513431"); borrowed, copied by publish
    uint64_t delivered;      // DELIVERs sent since start, resends included
    uint64_t redelivered;    // of those, resends after an ack timeout or a rewind
    uint64_t acks;           // deliveries acknowledged (DACK) since start
    uint64_t acked_seq;      // the endpoint's acknowledged sequence (its cursor)
    uint64_t last_seq;       // the last endpoint sequence written
    uint64_t depth;          // last_seq - acked_seq: deliveries not yet acknowledged
    double oldest_unacked_s; // age of the oldest unacknowledged delivery; 0 when none
    unsigned consumers;      // subscribed connections
} hubd_metrics_endpoint_t;

// Everything /metrics shows, as of one moment of the main loop.
typedef struct {
    int64_t start_ms;                  // when hubd started (wall clock, ms since the epoch)
    const char *ruleset;               // version of the rule set in force; borrowed, copied
    uint64_t received;                 // PUBLISHes received since start
    uint64_t acked;                    // ACKs sent (duplicates included)
    uint64_t duplicates;               // of those, ACKs with duplicate=true
    uint64_t nacked[HUBD_NACK_NCODES]; // NACKs sent, by code
    uint64_t dead_written;             // dead letters stored since start
    uint64_t dead_letters;             // dead letters in the store now
    uint64_t dedup_ids;                // ids the dedup window holds in memory
    uint64_t subject_pending;          // subject index entries in memory, not yet in a run
    size_t subject_runs[HUB_STORE_INDEX_LEVELS]; // whole runs a subject query seeks, by level
    unsigned peers;                              // connections with a session (HELLO done)
    const hubd_metrics_endpoint_t *endpoints;    // NENDPOINTS entries; borrowed, copied
    size_t nendpoints;
    hubd_metrics_histogram_t commit_seconds; // one observation per group commit
    hubd_metrics_histogram_t batch_size;     // publishes per group commit
    uint64_t store_map_size;                 // LMDB map size, bytes
    uint64_t store_used_bytes;               // pages in use times the page size
    uint64_t retention_failures;  // retention slices that failed (purged nothing) since start
    uint64_t checkpoint_failures; // audit checkpoints that could not be written since start
} hubd_metrics_snapshot_t;

typedef struct hubd_metrics hubd_metrics_t;

// Starts the HTTP server on ADDR, "host:port" (an IPv4 or IPv6 literal,
// "[::1]:9100", or a name such as "localhost"; port 0 picks a free port,
// see hubd_metrics_port()). It serves 503 until the first publish. On
// failure *OUT stays NULL and DIAG (may be NULL) says why, with ADDR as
// where. Errors: HUB_ECONFIG (ADDR is not host:port or does not resolve),
// HUB_EIO (cannot listen there), HUB_ENOMEM.
int
hubd_metrics_start(hubd_metrics_t **out, const char *addr, hub_diag_t *diag);

// Stops the server (waits for its thread) and sets *SELF_P to NULL. Safe
// on NULL.
void
hubd_metrics_destroy(hubd_metrics_t **self_p);

// The TCP port the server listens on (useful after port 0).
unsigned
hubd_metrics_port(const hubd_metrics_t *self);

// Copies SNAP (strings and endpoints too: nothing of SNAP is kept) as the
// numbers to serve from now on, and stamps the time of this call for
// /healthz. Errors: HUB_ENOMEM (the previous snapshot stays, and its
// time: /healthz goes stale if memory never comes back).
int
hubd_metrics_publish(hubd_metrics_t *self, const hubd_metrics_snapshot_t *snap);

// Makes /healthz fail when the last publish is older than MS milliseconds
// (default HUBD_METRICS_STALE_MS). For tests and slow machines.
void
hubd_metrics_set_stale_ms(hubd_metrics_t *self, int64_t ms);

// Sets HIST to the bounds LE[0..N) (ascending; N <= HUBD_METRICS_BUCKETS_MAX)
// with no observations. Errors: HUB_EINVAL (too many bounds, or not
// strictly ascending).
int
hubd_metrics_histogram_init(hubd_metrics_histogram_t *hist, const double *le, size_t n);

// HIST with the commit latency bounds, in seconds: 0.0005, 0.001, 0.0025,
// 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.
void
hubd_metrics_histogram_init_seconds(hubd_metrics_histogram_t *hist);

// HIST with the batch size bounds: 1, 2, 4, ... 512, 1024, 4096, 16384, 65536.
void
hubd_metrics_histogram_init_batch(hubd_metrics_histogram_t *hist);

// Counts one observation of VALUE (seconds, or a size). NaN is ignored.
void
hubd_metrics_histogram_observe(hubd_metrics_histogram_t *hist, double value);

// The index in snapshot.nacked of the NACK code CODE ("store_full");
// HUBD_NACK_OTHER for a code docs/PROTOCOL.md does not list.
hubd_nack_code_t
hubd_metrics_nack_index(const char *code);

// The protocol's word for index I ("store_full"); "other" for
// HUBD_NACK_OTHER.
const char *
hubd_metrics_nack_name(hubd_nack_code_t i);

// Appends the Prometheus text of SNAP to OUT (no NUL), as /metrics serves
// it. Errors: HUB_ENOMEM (OUT holds a part of it).
int
hubd_metrics_render(const hubd_metrics_snapshot_t *snap, hub_buf_t *out);

#endif
