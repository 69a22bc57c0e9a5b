// Benchmark of the durable store, one core: hubd's ingest path with group
// commit. Batches of 256 dropout messages (each routed by the shipped rules
// to 2 endpoints: 1 log record, 1 dedup entry, 2 queue records, 2 audit
// records and 2 subject index entries) per write transaction, each commit
// fsync'd, for about 2 s on a temporary directory. Prints one line:
// messages/s and commits/s over the whole loop, and the share of the time
// spent in the store (the rest is routing and encoding). Run from the
// repository root. HUB_BENCH_SECONDS=N runs N seconds instead of 2 (a
// store that grows past the memory the kernel has just freed: see
// docs/STORE.md "Drop-behind"); HUB_BENCH_DROP_BEHIND=BYTES sets the
// store's drop-behind (default 0: off).
//
// Two lines, each on a fresh store: first every message about the same
// child with ids in sequence (as bench_hubd publishes); then ids as
// hub-adapter makes them (a hash of the record's key: in no order) about
// 1,000,000 different people. The dedup entry and the audit subject index
// entries are keyed by those, so there each lands on a leaf of its own: a
// page written per entry, at a scattered offset (docs/STORE.md
// "Performance"). HUB_BENCH_PEOPLE=N changes the second line's people.
#include "bench_util.h"
#include "hub_codec.h"
#include "hub_config.h"
#include "hub_depts.h"
#include "hub_error.h"
#include "hub_json.h"
#include "hub_route.h"
#include "hub_rules.h"
#include "hub_schema.h"
#include "hub_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define S_BATCH 256

static hub_msg_t *
s_message(void)
{
    hub_msg_t *m = hub_msg_new();
    return m && bench_load_msg(m, "tests/data/messages/student.enrolment_change.json", NULL) == 0
               ? m
               : NULL;
}

typedef struct {
    hub_schemas_t *schemas;
    hub_depts_t *depts;
    hub_rules_t *rules;
    hub_route_t *route;
    hub_msg_t *msg;
    hub_buf_t enc;
    double store_s;  // seconds inside hub_store_* calls
    uint64_t people; // distinct subjects; 1: every message about the same child, ids in order
} s_bench_t;

// splitmix64: ids in no order, as hashes of record keys are.
static uint64_t
s_mix(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

// Routes, encodes and ingests message number N into the open batch.
static int
s_one(s_bench_t *b, hub_store_t *st, uint64_t n, const uint8_t *key)
{
    char id[33], cid[32] = "51342920140302046X"; // room for any u64 (-Wformat-truncation)
    snprintf(id, sizeof id, "%016llx%016llx",
             b->people > 1 ? (unsigned long long) s_mix(n) : 0xbe7cULL, (unsigned long long) n);
    if (b->people > 1) { // another person's ID (its digits only: the store hashes it)
        snprintf(cid, sizeof cid, "51342920%010llu", (unsigned long long) (s_mix(~n) % b->people));
    }
    hub_msg_set_env_str(b->msg, HUB_ENV_ID, id);
    int rc = hub_route_run(b->route, b->rules, b->depts, b->schemas, b->msg, key, NULL);
    b->enc.len = 0;
    rc = rc ? rc : hub_codec_encode(b->msg, &b->enc);
    hub_store_ingest_t in = {"education",
                             id,
                             "student.enrolment_change",
                             b->enc.data,
                             b->enc.len,
                             cid,
                             hub_rules_version(b->rules),
                             (uint64_t) n,
                             b->route,
                             NULL,
                             NULL};
    hub_store_result_t res;
    double t0 = bench_now();
    rc = rc ? rc : hub_store_ingest(st, &in, &res);
    b->store_s += bench_now() - t0;
    return rc ? rc : res.deliveries == 2 ? HUB_OK : HUB_EINVAL;
}

static int
s_run(s_bench_t *b, hub_store_t *st, const uint8_t *key, uint64_t *msgs, uint64_t *commits,
      double *secs)
{
    double t0 = bench_now();
    int rc = HUB_OK;
    const char *env = getenv("HUB_BENCH_SECONDS");
    double limit = env && atof(env) > 0 ? atof(env) : 2.0;
    while (!rc && bench_now() - t0 < limit) {
        double s0 = bench_now();
        rc = hub_store_begin(st);
        b->store_s += bench_now() - s0;
        for (int i = 0; i < S_BATCH && !rc; i++) {
            rc = s_one(b, st, *msgs + (uint64_t) i, key);
        }
        s0 = bench_now();
        rc = rc ? rc : hub_store_commit(st);
        hub_store_drop_behind(st); // as hubd does, between commits
        b->store_s += bench_now() - s0;
        *msgs += rc ? 0 : S_BATCH;
        *commits += rc == HUB_OK;
    }
    *secs = bench_now() - t0;
    return rc;
}

// One line: ingest on a fresh store in a temporary directory, about
// PEOPLE people (1: one child, ids in order), removed afterwards.
static int
s_measure(s_bench_t *b, uint64_t people, const char *what, hub_diag_t *diag)
{
    static const uint8_t key[32] = {7};
    char dir[] = "/tmp/hub-bench-store-XXXXXX";
    hub_store_t *st = NULL;
    // A map big enough for 2 s of ingest on a fast disk; it is sparse.
    int rc = mkdtemp(dir) ? hub_store_open(&st, dir, (size_t) 16 << 30, 0, key, diag) : HUB_EIO;
    uint64_t msgs = 0, commits = 0;
    double secs = 1;
    const char *behind = getenv("HUB_BENCH_DROP_BEHIND");
    if (!rc && behind && *behind) {
        hub_store_set_drop_behind(st, (size_t) strtoull(behind, NULL, 10));
    }
    b->people = people;
    b->store_s = 0;
    rc = rc ? rc : s_run(b, st, key, &msgs, &commits, &secs);
    if (rc) {
        hub_diag_print(diag, stderr);
        fprintf(stderr, "bench store: %s %s\n", hub_error_name(rc),
                st ? hub_store_last_error(st) : "");
    } else {
        char label[64];
        snprintf(label, sizeof label, people > 1 ? "%s %llu" : "%s", what,
                 (unsigned long long) people);
        printf("bench store: ingest, group commit of %d msgs (2 deliveries + 2 audit records "
               "each), fsync'd, %-32s %8.0f msg/s  %5.0f commits/s  (%.0f%% of the time in the "
               "store, 1 core)\n",
               S_BATCH, label, (double) msgs / secs, (double) commits / secs,
               100 * b->store_s / secs);
    }
    hub_store_destroy(&st);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    int ignored = system(cmd);
    (void) ignored;
    return rc;
}

int
main(void)
{
    s_bench_t b = {0};
    hub_diag_t *diag = hub_diag_new();
    hub_config_t cfg = {0};
    if (hub_config_load(&cfg, "config", diag) ||
        hub_schemas_load(&b.schemas, cfg.schemas_dir, diag) ||
        hub_depts_load(&b.depts, cfg.departments, b.schemas, diag) ||
        hub_rules_load(&b.rules, "config", b.schemas, b.depts, diag) || !(b.msg = s_message())) {
        hub_diag_print(diag, stderr);
        fprintf(stderr,
                "bench store: cannot load the configuration (run from the repository root)\n");
        return 1;
    }
    b.route = hub_route_new();
    const char *people = getenv("HUB_BENCH_PEOPLE");
    int rc = s_measure(&b, 1, "one child, ids in order", diag);
    rc = rc ? rc
            : s_measure(&b, people && *people ? strtoull(people, NULL, 10) : 1000000,
                        "ids in no order, people", diag);
    hub_buf_free(&b.enc);
    hub_msg_destroy(&b.msg);
    hub_route_destroy(&b.route);
    hub_rules_destroy(&b.rules);
    hub_depts_destroy(&b.depts);
    hub_schemas_destroy(&b.schemas);
    hub_config_free(&cfg);
    hub_diag_destroy(&diag);
    return rc ? 1 : 0;
}
