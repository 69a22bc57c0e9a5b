// Benchmark of the auditors' question, "which departments received this
// person's data": the audit records of one subject among at least ten
// million, found through the keyed-hash subject index and read back, as
// `hubctl audit query --subject` does. The store is a real one, built once
// through hub_store_ingest() (deaths reported by health, routed by the
// shipped rules, 3 deliveries each, a million different people, so a person's
// records lie spread over the whole chain as they would over three years)
// in build/bench-data/audit and reused when it is there; retention has
// purged the bodies and acknowledged deliveries, as it would have done to
// all but the last 180 days, so the store holds mostly audit. Then 100
// random people are looked up on a read-only handle as hubctl opens it
// (subject key, index, every record read and its time decoded), first with
// the store's file dropped from the page cache, then again cached; prints
// one line: median and p99 of each.
// BENCH_AUDIT_RECORDS changes the size (for a quick run), BENCH_AUDIT_DIR
// the place. Run from the repository root.
#include "bench_util.h"
#include "hub_codec.h"
#include "hub_config.h"
#include "hub_depts.h"
#include "hub_error.h"
#include "hub_ids.h"
#include "hub_json.h"
#include "hub_mpr.h"
#include "hub_route.h"
#include "hub_rules.h"
#include "hub_schema.h"
#include "hub_store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define S_RECORDS 10000000ULL // audit records the store must hold
#define S_PEOPLE 1000000ULL   // different subjects
#define S_BATCH 8192          // messages per write transaction
#define S_LOOKUPS 100
#define S_MAX_HITS 4096

static const uint8_t s_key[32] = {0x5a, 0x17, 0x42};

// The citizen ID of person P: 昭觉 (513431), a birth date and sequence
// number made from P, and its check character (GB 11643).
static void
s_cid(uint64_t p, char out[19])
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    uint64_t day = p % 20000, seq = p / 20000; // 20000 days from 1950, then 0..49
    int y = 1950, m = 0;
    while (day >= (uint64_t) (365 + (y % 4 == 0))) {
        day -= 365 + (y % 4 == 0);
        y++;
    }
    while (day >= (uint64_t) (mdays[m] + (m == 1 && y % 4 == 0))) {
        day -= (uint64_t) (mdays[m] + (m == 1 && y % 4 == 0));
        m++;
    }
    char text[64];
    snprintf(text, sizeof text, "513431%04d%02d%02d%03llu", y, m + 1, (int) day + 1,
             (unsigned long long) (seq * 2 + 1) % 1000);
    memcpy(out, text, 17);
    out[17] = hub_cid_check_char(out);
    out[18] = '\0';
}

typedef struct {
    hub_config_t cfg;
    hub_schemas_t *schemas;
    hub_depts_t *depts;
    hub_rules_t *rules;
    hub_route_t *route;
    hub_msg_t *msg;
    hub_buf_t enc;
} s_bench_t;

static int
s_load(s_bench_t *b, hub_diag_t *diag)
{
    b->msg = hub_msg_new();
    b->route = hub_route_new();
    int rc = hub_config_load(&b->cfg, "config", diag);
    rc = rc ? rc : hub_schemas_load(&b->schemas, b->cfg.schemas_dir, diag);
    rc = rc ? rc : hub_depts_load(&b->depts, b->cfg.departments, b->schemas, diag);
    rc = rc ? rc : hub_rules_load(&b->rules, "config", b->schemas, b->depts, diag);
    // A death, which the shipped rules send to three endpoints.
    return rc || !b->msg || !b->route
               ? (rc ? rc : HUB_ENOMEM)
               : bench_load_msg(b->msg, "tests/data/messages/death_valid.json", diag);
}

// Message N (about person N mod S_PEOPLE, received at N ms) into the batch.
static int
s_ingest(s_bench_t *b, hub_store_t *st, uint64_t n)
{
    char id[33], cid[19];
    snprintf(id, sizeof id, "%016llx%016llx", 0xa0d17ULL, (unsigned long long) n);
    s_cid(n % S_PEOPLE, cid);
    hub_msg_set_env_str(b->msg, HUB_ENV_ID, id);
    hub_msg_set_subj_str(b->msg, HUB_SUBJ_CITIZEN_ID, cid);
    int rc = hub_route_run(b->route, b->rules, b->depts, b->schemas, b->msg, s_key, NULL);
    b->enc.len = 0;
    rc = rc ? rc : hub_codec_encode(b->msg, &b->enc);
    hub_store_ingest_t in = {"health",
                             id,
                             "person.death",
                             b->enc.data,
                             b->enc.len,
                             cid,
                             hub_rules_version(b->rules),
                             1700000000000ULL + n,
                             b->route,
                             NULL,
                             NULL};
    hub_store_result_t res;
    return rc ? rc : hub_store_ingest(st, &in, &res);
}

// Retention as it would have run: every delivery acknowledged, the bodies
// and acknowledged deliveries of messages up to the last one purged.
static int
s_retain(s_bench_t *b, hub_store_t *st, uint64_t last_ms)
{
    int rc = HUB_OK;
    for (size_t i = 0; i < hub_depts_endpoint_count(b->depts) && !rc; i++) {
        const char *ep = hub_depts_endpoint_at(b->depts, i)->id;
        uint64_t acked, last;
        rc = hub_store_endpoint_state(st, ep, &acked, &last);
        rc = rc || last == acked ? rc : hub_store_ack(st, ep, last);
    }
    hub_store_purged_t p = {0, 0, 0, true};
    while (!rc && p.more) {
        rc = hub_store_purge(st, last_ms + 1, 0, 1000000, last_ms, &p);
    }
    return rc;
}

// Adds messages until the audit holds WANT records.
static int
s_build(s_bench_t *b, hub_store_t *st, uint64_t want, uint64_t *built)
{
    uint64_t audit, log;
    int rc = hub_store_last_seq(st, HUB_STORE_AUDIT, &audit);
    rc = rc ? rc : hub_store_last_seq(st, HUB_STORE_LOG, &log);
    *built = 0;
    for (uint64_t batches = 1; !rc && audit < want; batches++) {
        rc = hub_store_begin(st);
        for (int i = 0; i < S_BATCH && !rc; i++) {
            rc = s_ingest(b, st, log + 1);
            log += !rc;
            *built += !rc;
        }
        rc = rc ? rc : hub_store_commit(st);
        rc = rc ? rc : hub_store_last_seq(st, HUB_STORE_AUDIT, &audit);
        if (!rc && (batches % 32 == 0 || audit >= want)) {
            rc = s_retain(b, st, 1700000000000ULL + log);
            fprintf(stderr, "\rbench audit: building the store: %llu / %llu audit records",
                    (unsigned long long) audit, (unsigned long long) want);
        }
    }
    if (*built) {
        fputc('\n', stderr);
    }
    return rc;
}

// One lookup: person P's records, each read and its time decoded.
static int
s_lookup(hub_store_t *st, uint64_t p, size_t *hits)
{
    char cid[19];
    uint8_t subject[HUB_STORE_HASH_SIZE];
    static uint64_t seqs[S_MAX_HITS];
    s_cid(p, cid);
    int rc = hub_store_subject_key(st, cid, subject);
    rc = rc ? rc : hub_store_audit_by_subject(st, subject, 0, seqs, S_MAX_HITS, hits);
    for (size_t i = 0; i < *hits && !rc; i++) {
        const void *rec;
        size_t len;
        uint64_t ms;
        rc = hub_store_record(st, HUB_STORE_AUDIT, seqs[i], &rec, &len);
        rc = rc ? rc : hub_mpr_get_uint(rec, len, "time_ms", &ms);
    }
    return rc ? rc : *hits ? HUB_OK : HUB_ENOTFOUND;
}

static int
s_cmp(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

static int
s_measure(hub_store_t *st, uint64_t people, double ms[S_LOOKUPS], size_t *hits_total)
{
    uint64_t r = 0x9e3779b97f4a7c15ULL;
    int rc = HUB_OK;
    *hits_total = 0;
    for (int i = 0; i < S_LOOKUPS && !rc; i++) {
        r ^= r >> 12;
        r ^= r << 25;
        r ^= r >> 27;
        size_t hits = 0;
        double t0 = bench_now();
        rc = s_lookup(st, (r * 2685821657736338717ULL) % people, &hits);
        ms[i] = (bench_now() - t0) * 1000;
        *hits_total += hits;
    }
    qsort(ms, S_LOOKUPS, sizeof ms[0], s_cmp);
    return rc;
}

// Drops the store's file from the page cache, so the first lookups read
// from the disk as an auditor's would on a hub that has not touched those
// records lately.
static void
s_evict(const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    int fd = open(path, O_RDONLY);
    if (fd >= 0) {
        posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        close(fd);
    }
}

// Builds (or finds) the store; *AUDIT and *PEOPLE get its size.
static int
s_prepare(const char *dir, uint64_t want, uint64_t *audit, uint64_t *people, double *build_s,
          hub_diag_t *diag)
{
    s_bench_t b;
    memset(&b, 0, sizeof b);
    hub_store_t *st = NULL;
    uint64_t built = 0, msgs = 0;
    int rc = s_load(&b, diag);
    // The map is sparse: only pages used take disk.
    rc = rc ? rc : hub_store_open(&st, dir, (size_t) 64 << 30, 0, s_key, diag);
    double t0 = bench_now();
    rc = rc ? rc : s_build(&b, st, want, &built);
    *build_s = built ? bench_now() - t0 : 0;
    rc = rc ? rc : hub_store_last_seq(st, HUB_STORE_AUDIT, audit);
    rc = rc ? rc : hub_store_last_seq(st, HUB_STORE_LOG, &msgs);
    *people = msgs < S_PEOPLE ? msgs : S_PEOPLE;
    if (rc && st) {
        fprintf(stderr, "bench audit: %s\n", hub_store_last_error(st));
    }
    hub_store_destroy(&st);
    hub_buf_free(&b.enc);
    hub_msg_destroy(&b.msg);
    hub_route_destroy(&b.route);
    hub_rules_destroy(&b.rules);
    hub_depts_destroy(&b.depts);
    hub_schemas_destroy(&b.schemas);
    hub_config_free(&b.cfg);
    return rc;
}

int
main(void)
{
    const char *env = getenv("BENCH_AUDIT_RECORDS"), *dir = getenv("BENCH_AUDIT_DIR");
    uint64_t want = env && *env ? strtoull(env, NULL, 10) : S_RECORDS, audit = 0, people = 0;
    dir = dir && *dir ? dir : "build/bench-data/audit";
    mkdir("build", 0755);
    mkdir("build/bench-data", 0755);
    hub_diag_t *diag = hub_diag_new();
    hub_store_t *st = NULL;
    double build_s = 0, cold[S_LOOKUPS], warm[S_LOOKUPS];
    size_t hits = 0;
    int rc = s_prepare(dir, want, &audit, &people, &build_s, diag);
    // As hubctl reads it: a read-only handle, first with nothing cached,
    // then the same people again.
    s_evict(dir);
    rc = rc ? rc : hub_store_open(&st, dir, 0, HUB_STORE_RDONLY, s_key, diag);
    rc = rc ? rc : s_measure(st, people ? people : 1, cold, &hits);
    rc = rc ? rc : s_measure(st, people ? people : 1, warm, &hits);
    if (rc) {
        hub_diag_print(diag, stderr);
        fprintf(stderr, "bench audit: %s %s\n", hub_error_name(rc),
                st ? hub_store_last_error(st) : "");
    } else {
        char build[64] = "reused";
        if (build_s > 0) {
            snprintf(build, sizeof build, "built in %.0f s", build_s);
        }
        printf("bench audit: one subject's records among %llu audit records (%llu people, "
               "%.1f each): from disk median %.3f ms p99 %.3f ms; cached median %.3f ms p99 "
               "%.3f ms  (store %s, %s)\n",
               (unsigned long long) audit, (unsigned long long) people, (double) hits / S_LOOKUPS,
               cold[S_LOOKUPS / 2], cold[S_LOOKUPS * 99 / 100 - 1], warm[S_LOOKUPS / 2],
               warm[S_LOOKUPS * 99 / 100 - 1], build, dir);
    }
    hub_store_destroy(&st);
    hub_diag_destroy(&diag);
    return rc ? 1 : 0;
}
