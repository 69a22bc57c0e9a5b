// The durable store (hub_store) on a real LMDB environment in a temporary
// directory: messages of the shipped sample data routed by the shipped
// rules, then logged, deduplicated, queued per endpoint, acknowledged and
// audited; batches committed, aborted, broken by a full map; the store
// reopened, read from another process, and checked with LMDB's own tools.
#include "hub_codec.h"
#include "hub_config.h"
#include "hub_error.h"
#include "hub_json.h"
#include "hub_mpr.h"
#include "hub_mpw.h"
#include "hub_store.h"
#include "hub_store_int.h"
#include "suites.h"
#include "testutil.h"

#include <CUnit/CUnit.h>
#include <errno.h>
#include <lmdb.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static tu_store_fix_t s_f;

static const uint8_t s_key[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                  17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
static const uint8_t s_key2[32] = {99};

// ---------------------------------------------------------------- fixture

static int
s_init(void)
{
    return tu_store_init(&s_f, "store");
}

static int
s_cleanup(void)
{
    return tu_store_cleanup(&s_f);
}

// A fresh store directory path (not created) under the suite's root.
static const char *
s_dir(void)
{
    return tu_store_dir(&s_f);
}

static hub_store_t *
s_open(const char *dir, size_t map, const uint8_t *key)
{
    hub_store_t *st = NULL;
    hub_diag_t *diag = hub_diag_new();
    int rc = hub_store_open(&st, dir, map, 0, key, diag);
    hub_diag_print(diag, stderr);
    hub_diag_destroy(&diag);
    CU_ASSERT_EQUAL(rc, HUB_OK);
    return st;
}

// Loads tests/data/messages/NAME into s_f.msg.
static void
s_load(const char *name)
{
    tu_load_msg(s_f.msg, name);
}

// Gives s_f.msg the id made from N (32 hex digits), so copies differ.
static void
s_set_id(uint64_t n)
{
    char id[33];
    snprintf(id, sizeof id, "%016llx%016llx", 0xa11ce5ULL, (unsigned long long) n);
    hub_msg_set_env_str(s_f.msg, HUB_ENV_ID, id);
}

// Routes and ingests s_f.msg into the open batch of ST.
static int
s_ingest(hub_store_t *st, uint64_t now, hub_store_result_t *res)
{
    const hub_val_t *cid = hub_msg_subj(s_f.msg, HUB_SUBJ_CITIZEN_ID);
    return tu_store_ingest(&s_f, st, s_key, cid->kind == HUB_VAL_STR ? cid->u.s : NULL,
                           hub_rules_version(s_f.rules), now, res);
}

// Loads NAME and ingests N copies (ids FIRST, FIRST+1, ...) in one batch.
static void
s_batch(hub_store_t *st, const char *name, uint64_t first, size_t n)
{
    s_load(name);
    CU_ASSERT_EQUAL_FATAL(hub_store_begin(st), HUB_OK);
    for (size_t i = 0; i < n; i++) {
        hub_store_result_t res;
        s_set_id(first + i);
        CU_ASSERT_EQUAL_FATAL(s_ingest(st, 1700000000000 + i, &res), HUB_OK);
        CU_ASSERT_FALSE(res.duplicate);
    }
    CU_ASSERT_EQUAL_FATAL(hub_store_commit(st), HUB_OK);
}

static uint64_t
s_eps_last(hub_store_t *st, const char *ep, uint64_t *acked)
{
    uint64_t a = UINT64_MAX, l = UINT64_MAX;
    CU_ASSERT_EQUAL(hub_store_endpoint_state(st, ep, &a, &l), HUB_OK);
    if (acked) {
        *acked = a;
    }
    return l;
}

// True when the map REC holds exactly the keys KEYS (NULL-terminated), in
// that order, and they are in canonical order (bytewise, shorter first).
static bool
s_keys_are(const void *rec, size_t len, const char *const *keys)
{
    hub_mpr_t r;
    hub_mp_obj_t m;
    hub_mpr_init(&r, rec, len);
    if (hub_mpr_next(&r, &m) || m.kind != HUB_MP_MAP) {
        return false;
    }
    const char *prev = "";
    size_t prevlen = 0, i = 0;
    for (; i < m.len; i++) {
        const char *k;
        size_t n;
        if (!keys[i] || hub_mpr_str(&r, &k, &n) || n != strlen(keys[i]) || memcmp(k, keys[i], n) ||
            hub_bytes_cmp(prev, prevlen, k, n) >= 0 || hub_mpr_skip(&r)) {
            return false;
        }
        prev = k;
        prevlen = n;
    }
    return !keys[i] && hub_mpr_done(&r);
}

// The string at KEY of map REC, copied into BUF ("" when absent or not a string).
static const char *
s_str(const void *rec, size_t len, const char *key, char *buf, size_t size)
{
    hub_mpr_t r;
    const char *s;
    size_t n;
    hub_mpr_init(&r, rec, len);
    buf[0] = '\0';
    if (!hub_mpr_find(&r, key) && !hub_mpr_str(&r, &s, &n) && n < size) {
        memcpy(buf, s, n);
        buf[n] = '\0';
    }
    return buf;
}

// ---------------------------------------------------------------- opening

static void
test_a_new_store_is_private_to_its_owner(void)
{
    const char *dir = s_dir();
    hub_store_t *st = s_open(dir, 0, s_key);
    struct stat sb;
    char path[160];
    CU_ASSERT(stat(dir, &sb) == 0 && (sb.st_mode & 0777) == 0700);
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    CU_ASSERT(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600);
    snprintf(path, sizeof path, "%s/lock.mdb", dir);
    CU_ASSERT(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600);
    hub_store_destroy(&st);
    CU_ASSERT_PTR_NULL(st);
    hub_store_destroy(&st); // safe on NULL
}

static void
test_bad_opens_are_refused_and_create_nothing(void)
{
    const char *dir = s_dir();
    hub_store_t *st = (hub_store_t *) 1;
    hub_diag_t *diag = hub_diag_new();
    struct stat sb;
    CU_ASSERT_EQUAL(hub_store_open(&st, dir, 0, HUB_STORE_RDONLY, NULL, diag), HUB_EIO);
    CU_ASSERT_PTR_NULL(st);
    CU_ASSERT(stat(dir, &sb) != 0); // a reader creates nothing
    CU_ASSERT_EQUAL(hub_diag_errors(diag), 1);
    CU_ASSERT_EQUAL(hub_store_open(&st, dir, 0, 0, NULL, diag), HUB_EINVAL); // no key
    CU_ASSERT_EQUAL(hub_store_open(&st, dir, 4096, 0, s_key, diag), HUB_ECONFIG);
    CU_ASSERT(stat(dir, &sb) != 0);
    CU_ASSERT_EQUAL(hub_store_open(&st, "/dev/null", 0, 0, s_key, diag), HUB_EIO);
    hub_diag_destroy(&diag);
}

// ---------------------------------------------------------------- ingest

static void
test_every_sample_message_is_logged_queued_and_audited(void)
{
    static const char *const names[] = {
        "poverty.household_status.json",
        "person.residence_permit.json",
        "health.hospitalisation.json",
        "disability.certificate.json",
        "grid.incident.json",
        "person.death.json",
        "person.birth.json",
        "household.hukou_change.json",
        "student.enrolment_change.json",
        "alert.poverty_risk.json",
        "health.hiv_followup.json",
        "death_valid.json",
        "assistance.grant.json",
        "security.drug_control.json",
    };
    size_t n = sizeof names / sizeof names[0], total = 0;
    hub_store_t *st = s_open(s_dir(), 0, s_key);
    CU_ASSERT_EQUAL_FATAL(hub_store_begin(st), HUB_OK);
    for (size_t i = 0; i < n; i++) {
        hub_store_result_t res;
        s_load(names[i]);
        CU_ASSERT_EQUAL(s_ingest(st, 1000 + i, &res), HUB_OK);
        CU_ASSERT_EQUAL(res.log_seq, i + 1);
        CU_ASSERT_EQUAL(res.deliveries, hub_route_count(s_f.route));
        total += res.deliveries;
    }
    CU_ASSERT_EQUAL(hub_store_commit(st), HUB_OK);
    CU_ASSERT_EQUAL(tu_store_last(st, HUB_STORE_LOG), n);
    CU_ASSERT_EQUAL(tu_store_last(st, HUB_STORE_AUDIT), total);
    // Every endpoint's queue runs 1, 2, ... with no gap; together they hold
    // every delivery.
    size_t queued = 0;
    hub_store_delivery_t out[64];
    for (size_t e = 0; e < hub_depts_endpoint_count(s_f.depts); e++) {
        const char *ep = hub_depts_endpoint_at(s_f.depts, e)->id;
        size_t got;
        CU_ASSERT_EQUAL(hub_store_pending(st, ep, 0, out, 64, &got), HUB_OK);
        CU_ASSERT_EQUAL(got, s_eps_last(st, ep, NULL));
        for (size_t k = 0; k < got; k++) {
            CU_ASSERT_EQUAL(out[k].eseq, k + 1);
            CU_ASSERT(out[k].log_seq >= 1 && out[k].log_seq <= n);
        }
        queued += got;
    }
    CU_ASSERT_EQUAL(queued, total);
    uint64_t checked, bad;
    CU_ASSERT_EQUAL(hub_store_audit_verify(st, &checked, &bad, NULL), HUB_OK);
    CU_ASSERT_EQUAL(checked, total);
    hub_store_destroy(&st);
}

static const char *const s_queue_keys[] = {"eseq",    "fields",  "id",        "legal_bases",
                                           "log_seq", "msg",     "origin_id", "purposes",
                                           "rules",   "ruleset", "type",      NULL};
static const char *const s_audit_keys[] = {
    "endpoint",  "eseq",      "fields",   "hash",  "legal_bases", "message_id",
    "origin_id", "prev_hash", "purposes", "rules", "ruleset",     "seq",
    "source",    "subject",   "time_ms",  "type",  NULL};
static const char *const s_audit_raw_keys[] = {
    "disclosure", "endpoint", "eseq",    "hash",    "message_id", "origin_id", "prev_hash",
    "seq",        "source",   "subject", "time_ms", "type",       NULL};

// Checks the queue record REC against delivery D of the message ORIGIN.
static void
s_check_delivery(const void *rec, size_t len, const hub_delivery_t *d, const char *origin)
{
    char buf[128];
    hub_mpr_t r;
    hub_mp_obj_t o;
    CU_ASSERT(s_keys_are(rec, len, s_queue_keys));
    CU_ASSERT_STRING_EQUAL(s_str(rec, len, "id", buf, sizeof buf),
                           hub_msg_env_str(d->msg, HUB_ENV_ID));
    CU_ASSERT_STRING_EQUAL(s_str(rec, len, "origin_id", buf, sizeof buf), origin);
    CU_ASSERT_STRING_EQUAL(s_str(rec, len, "type", buf, sizeof buf),
                           hub_msg_env_str(d->msg, HUB_ENV_TYPE));
    CU_ASSERT_STRING_EQUAL(s_str(rec, len, "ruleset", buf, sizeof buf),
                           hub_rules_version(s_f.rules));
    // The projected message, exactly as the endpoint is to receive it.
    const void *bin;
    size_t blen;
    hub_msg_t *m = hub_msg_new();
    hub_mpr_init(&r, rec, len);
    CU_ASSERT_FATAL(hub_mpr_find(&r, "msg") == HUB_OK && hub_mpr_bin(&r, &bin, &blen) == HUB_OK);
    CU_ASSERT_EQUAL(hub_codec_decode(m, bin, blen, NULL, NULL), HUB_OK);
    CU_ASSERT(hub_msg_equal(m, d->msg));
    hub_msg_destroy(&m);
    // The rules, one purpose and legal basis each.
    hub_mpr_init(&r, rec, len);
    CU_ASSERT_FATAL(hub_mpr_find(&r, "rules") == HUB_OK && hub_mpr_next(&r, &o) == HUB_OK);
    CU_ASSERT_EQUAL_FATAL(o.len, d->nrules);
    for (size_t i = 0; i < d->nrules; i++) {
        CU_ASSERT(hub_mpr_next(&r, &o) == HUB_OK && o.len == strlen(d->rules[i]->id) &&
                  memcmp(o.data, d->rules[i]->id, o.len) == 0);
    }
    hub_mpr_init(&r, rec, len);
    CU_ASSERT(hub_mpr_find(&r, "purposes") == HUB_OK && hub_mpr_next(&r, &o) == HUB_OK &&
              o.len == d->nrules);
    CU_ASSERT(hub_mpr_next(&r, &o) == HUB_OK && o.kind == HUB_MP_STR &&
              o.len == strlen(d->rules[0]->purpose));
    // Each released field that the message carries, with its rule and mask.
    hub_mpr_init(&r, rec, len);
    CU_ASSERT_FATAL(hub_mpr_find(&r, "fields") == HUB_OK && hub_mpr_next(&r, &o) == HUB_OK);
    CU_ASSERT(o.len > 0 && o.len <= d->nfields);
    static const char *const fk[] = {"mask", "path", "rule", NULL};
    hub_mpr_t f = r; // the first field's map spans r.p .. f.p
    CU_ASSERT_FATAL(hub_mpr_skip(&f) == HUB_OK);
    CU_ASSERT(s_keys_are(r.p, (size_t) (f.p - r.p), fk));
    char path[64], rule[64];
    CU_ASSERT_STRING_EQUAL(s_str(r.p, (size_t) (f.p - r.p), "path", path, sizeof path),
                           d->fields[0].path);
    CU_ASSERT_STRING_EQUAL(s_str(r.p, (size_t) (f.p - r.p), "rule", rule, sizeof rule),
                           d->fields[0].rule->id);
}

static void
test_a_delivery_record_holds_the_projection_and_its_reasons(void)
{
    hub_store_t *st = s_open(s_dir(), 0, s_key);
    s_batch(st, "health.hospitalisation.json", 7, 1); // two derived alerts
    char origin[40];
    snprintf(origin, sizeof origin, "%s", hub_msg_env_str(s_f.msg, HUB_ENV_ID));
    CU_ASSERT_EQUAL_FATAL(hub_route_count(s_f.route), 2);
    for (size_t i = 0; i < hub_route_count(s_f.route); i++) {
        const hub_delivery_t *d = hub_route_at(s_f.route, i);
        hub_store_delivery_t out[4];
        size_t n;
        CU_ASSERT_EQUAL(hub_store_pending(st, d->endpoint->id, 0, out, 4, &n), HUB_OK);
        CU_ASSERT_EQUAL_FATAL(n, 1);
        CU_ASSERT_EQUAL(out[0].eseq, 1);
        CU_ASSERT_EQUAL(out[0].log_seq, 1);
        CU_ASSERT(d->derived != NULL);
        CU_ASSERT_STRING_NOT_EQUAL(hub_msg_env_str(d->msg, HUB_ENV_ID), origin);
        s_check_delivery(out[0].record, out[0].len, d, origin);
    }
    // The log keeps the message as it came.
    const void *rec;
    size_t len;
    char buf[64];
    CU_ASSERT_EQUAL_FATAL(hub_store_record(st, HUB_STORE_LOG, 1, &rec, &len), HUB_OK);
    static const char *const log_keys[] = {"id",     "msg",  "received_ms", "ruleset",
                                           "source", "type", NULL};
    CU_ASSERT(s_keys_are(rec, len, log_keys));
    CU_ASSERT_STRING_EQUAL(s_str(rec, len, "source", buf, sizeof buf), "health");
    CU_ASSERT_STRING_EQUAL(s_str(rec, len, "id", buf, sizeof buf), origin);
    hub_mpr_t r;
    const void *bin;
    size_t blen;
    hub_mpr_init(&r, rec, len);
    CU_ASSERT(hub_mpr_find(&r, "msg") == HUB_OK && hub_mpr_bin(&r, &bin, &blen) == HUB_OK &&
              blen == s_f.enc.len && memcmp(bin, s_f.enc.data, blen) == 0);
    CU_ASSERT_EQUAL(hub_store_record(st, HUB_STORE_LOG, 2, &rec, &len), HUB_ENOTFOUND);
    hub_store_destroy(&st);
}

static void
test_a_duplicate_writes_nothing_and_names_the_first_copy(void)
{
    hub_store_t *st = s_open(s_dir(), 0, s_key);
    hub_store_result_t res;
    s_batch(st, "student.enrolment_change.json", 1, 2);
    uint64_t audit = tu_store_last(st, HUB_STORE_AUDIT);
    CU_ASSERT_EQUAL(hub_store_begin(st), HUB_OK);
    s_set_id(3);
    CU_ASSERT(s_ingest(st, 5, &res) == HUB_OK && !res.duplicate && res.log_seq == 3);
    s_set_id(3); // again, in the same batch
    CU_ASSERT(s_ingest(st, 6, &res) == HUB_OK && res.duplicate && res.log_seq == 3);
    s_set_id(1); // from an earlier batch
    CU_ASSERT(s_ingest(st, 7, &res) == HUB_OK && res.duplicate && res.log_seq == 1);
    CU_ASSERT_EQUAL(res.deliveries, 0);
    CU_ASSERT_EQUAL(hub_store_commit(st), HUB_OK);
    CU_ASSERT_EQUAL(tu_store_last(st, HUB_STORE_LOG), 3);
    CU_ASSERT_EQUAL(tu_store_last(st, HUB_STORE_AUDIT), audit + audit / 2);
    CU_ASSERT_EQUAL(s_eps_last(st, "education@513429", NULL), 3);
    // The same id from another source is another message.
    CU_ASSERT_EQUAL(hub_store_begin(st), HUB_OK);
    hub_msg_set_env_str(s_f.msg, HUB_ENV_SOURCE, "health");
    CU_ASSERT(s_ingest(st, 8, &res) == HUB_OK && !res.duplicate && res.log_seq == 4);
    hub_store_abort(st);
    hub_store_destroy(&st);
}

static void
test_each_endpoint_numbers_its_deliveries_from_one(void)
{
    hub_store_t *st = s_open(s_dir(), 0, s_key);
    s_batch(st, "person.death.json", 100, 2);           // civil_affairs@513401, poverty@513401
    s_batch(st, "student.enrolment_change.json", 1, 5); // education@513429, public_security@513429
    s_batch(st, "person.death.json", 200, 1);
    CU_ASSERT_EQUAL(s_eps_last(st, "civil_affairs@513401", NULL), 3);
    CU_ASSERT_EQUAL(s_eps_last(st, "education@513429", NULL), 5);
    CU_ASSERT_EQUAL(s_eps_last(st, "public_security@513429", NULL), 5);
    CU_ASSERT_EQUAL(s_eps_last(st, "health@513400", NULL), 0); // never reached
    hub_store_delivery_t out[8];
    size_t n;
    CU_ASSERT_EQUAL(hub_store_pending(st, "civil_affairs@513401", 0, out, 8, &n), HUB_OK);
    CU_ASSERT_EQUAL_FATAL(n, 3);
    CU_ASSERT(out[0].log_seq == 1 && out[1].log_seq == 2 && out[2].log_seq == 8);
    CU_ASSERT_EQUAL(hub_store_pending(st, "education@513429", 2, out, 2, &n), HUB_OK);
    CU_ASSERT(n == 2 && out[0].eseq == 3 && out[1].eseq == 4 && out[0].log_seq == 5);
    CU_ASSERT_EQUAL(hub_store_pending(st, "education@513429", 5, out, 8, &n), HUB_OK);
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_EQUAL(hub_store_pending(st, "education@5134", 0, out, 8, &n), HUB_OK); // a prefix
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_EQUAL(hub_store_pending(st, "education@513429", UINT64_MAX, out, 8, &n), HUB_OK);
    CU_ASSERT_EQUAL(n, 0);
    hub_store_destroy(&st);
}

// The dedup window: entries older than it are forgotten a slice at a time,
// from the oldest; newer ones still catch resends.
static void
test_the_dedup_window_forgets_old_ids_a_slice_at_a_time(void)
{
    hub_store_t *st = s_open(s_dir(), 0, s_key);
    s_batch(st, "person.death.json", 1, 10); // received at 1700000000000 + i
    size_t purged = 0, total = 0;
    bool more = true;
    for (int slice = 0; slice < 10 && more; slice++) {
        CU_ASSERT_EQUAL_FATAL(hub_store_begin(st), HUB_OK);
        CU_ASSERT_EQUAL(hub_store_dedup_purge(st, 1700000000005, 3, &purged, &more), HUB_OK);
        CU_ASSERT(purged <= 3);
        CU_ASSERT(!more || purged == 3);
        total += purged;
        CU_ASSERT_EQUAL_FATAL(hub_store_commit(st), HUB_OK);
    }
    CU_ASSERT_EQUAL(total, 5); // the five older than the window
    CU_ASSERT_FALSE(more);
    s_load("person.death.json");
    hub_store_result_t res;
    CU_ASSERT_EQUAL_FATAL(hub_store_begin(st), HUB_OK);
    s_set_id(1); // forgotten: taken as new
    CU_ASSERT_EQUAL(s_ingest(st, 1800000000000, &res), HUB_OK);
    CU_ASSERT_FALSE(res.duplicate);
    s_set_id(9); // still inside the window: a duplicate
    CU_ASSERT_EQUAL(s_ingest(st, 1800000000000, &res), HUB_OK);
    CU_ASSERT_TRUE(res.duplicate);
    CU_ASSERT_EQUAL(hub_store_commit(st), HUB_OK);
    hub_store_destroy(&st);
}

static void
test_acks_move_the_cursor_forward_only(void)
{
    const char *dir = s_dir();
    const char *ep = "education@513429";
    hub_store_t *st = s_open(dir, 0, s_key);
    uint64_t acked;
    s_batch(st, "student.enrolment_change.json", 1, 5);
    CU_ASSERT_EQUAL(hub_store_ack(st, ep, 3), HUB_OK);
    CU_ASSERT(s_eps_last(st, ep, &acked) == 5 && acked == 3);
    hub_store_delivery_t out[8];
    size_t n;
    CU_ASSERT_EQUAL(hub_store_pending(st, ep, acked, out, 8, &n), HUB_OK);
    CU_ASSERT(n == 2 && out[0].eseq == 4 && out[1].eseq == 5);
    CU_ASSERT_EQUAL(hub_store_ack(st, ep, 2), HUB_OK); // late and harmless
    CU_ASSERT(s_eps_last(st, ep, &acked) == 5 && acked == 3);
    CU_ASSERT_EQUAL(hub_store_ack(st, ep, 6), HUB_EINVAL); // never written
    CU_ASSERT_EQUAL(hub_store_ack(st, "health@513400", 1), HUB_EINVAL);
    CU_ASSERT_EQUAL(hub_store_ack(st, "health@513400", 0), HUB_OK);
    // With a batch open, the ack rides in it: lost with it, kept with it.
    CU_ASSERT_EQUAL(hub_store_begin(st), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_ack(st, ep, 4), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_ack(st, ep, 6), HUB_EINVAL);
    hub_store_abort(st);
    CU_ASSERT(s_eps_last(st, ep, &acked) == 5 && acked == 3);
    CU_ASSERT_EQUAL(hub_store_begin(st), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_ack(st, ep, 4), HUB_OK);
    CU_ASSERT(s_eps_last(st, ep, &acked) == 5 && acked == 3); // not yet committed
    CU_ASSERT_EQUAL(hub_store_commit(st), HUB_OK);
    CU_ASSERT(s_eps_last(st, ep, &acked) == 5 && acked == 4);
    CU_ASSERT_EQUAL(hub_store_ack(st, ep, 5), HUB_OK);
    hub_store_destroy(&st);
    st = s_open(dir, 0, s_key);
    CU_ASSERT(s_eps_last(st, ep, &acked) == 5 && acked == 5);
    CU_ASSERT(s_eps_last(st, "public_security@513429", &acked) == 5 && acked == 0);
    hub_store_destroy(&st);
}

static void
test_an_aborted_batch_writes_nothing(void)
{
    hub_store_t *st = s_open(s_dir(), 0, s_key);
    hub_store_result_t res;
    s_load("student.enrolment_change.json");
    CU_ASSERT_EQUAL(hub_store_begin(st), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_begin(st), HUB_EINVAL); // one at a time
    for (int i = 0; i < 3; i++) {
        s_set_id((uint64_t) i);
        CU_ASSERT_EQUAL(s_ingest(st, 1, &res), HUB_OK);
    }
    CU_ASSERT_EQUAL(hub_store_dead(st, "health", "x", 1, "HUB_EDECODE", "truncated", 1), HUB_OK);
    hub_store_abort(st);
    hub_store_abort(st); // safe when none is open
    CU_ASSERT_EQUAL(tu_store_last(st, HUB_STORE_LOG), 0);
    CU_ASSERT_EQUAL(tu_store_last(st, HUB_STORE_AUDIT), 0);
    CU_ASSERT_EQUAL(tu_store_last(st, HUB_STORE_DEAD), 0);
    CU_ASSERT_EQUAL(s_eps_last(st, "education@513429", NULL), 0);
    CU_ASSERT_EQUAL(s_ingest(st, 1, &res), HUB_EINVAL); // no batch
    CU_ASSERT_EQUAL(hub_store_commit(st), HUB_EINVAL);
    CU_ASSERT_EQUAL(hub_store_begin(st), HUB_OK);
    s_set_id(0);
    CU_ASSERT(s_ingest(st, 1, &res) == HUB_OK && !res.duplicate && res.log_seq == 1);
    CU_ASSERT_EQUAL(hub_store_commit(st), HUB_OK);
    hub_store_destroy(&st);
}

static void
test_a_thousand_messages_commit_in_one_batch(void)
{
    hub_store_t *st = s_open(s_dir(), 0, s_key);
    s_batch(st, "student.enrolment_change.json", 1, 1000);
    CU_ASSERT_EQUAL(tu_store_last(st, HUB_STORE_LOG), 1000);
    CU_ASSERT_EQUAL(tu_store_last(st, HUB_STORE_AUDIT), 2000);
    CU_ASSERT_EQUAL(s_eps_last(st, "education@513429", NULL), 1000);
    CU_ASSERT_EQUAL(s_eps_last(st, "public_security@513429", NULL), 1000);
    uint64_t checked, bad;
    CU_ASSERT_EQUAL(hub_store_audit_verify(st, &checked, &bad, NULL), HUB_OK);
    CU_ASSERT_EQUAL(checked, 2000);
    hub_store_destroy(&st);
}

static void
test_dead_letters_keep_the_bytes_and_the_reason(void)
{
    hub_store_t *st = s_open(s_dir(), 0, s_key);
    CU_ASSERT_EQUAL(hub_store_dead(st, "health", "x", 1, "c", "r", 1), HUB_EINVAL); // no batch
    CU_ASSERT_EQUAL(hub_store_begin(st), HUB_OK);
    CU_ASSERT_EQUAL(
        hub_store_dead(st, "health", "\x81\xa1", 2, "HUB_EDECODE", "offset 2: truncated", 1234),
        HUB_OK);
    CU_ASSERT_EQUAL(hub_store_dead(st, "education", NULL, 0, "HUB_EINVALID", "required", 1235),
                    HUB_OK);
    CU_ASSERT_EQUAL(hub_store_commit(st), HUB_OK);
    const void *rec;
    size_t len;
    char buf[64];
    uint64_t u;
    CU_ASSERT_EQUAL_FATAL(hub_store_record(st, HUB_STORE_DEAD, 1, &rec, &len), HUB_OK);
    static const char *const keys[] = {"bytes", "code", "reason", "seq", "source", "time_ms", NULL};
    CU_ASSERT(s_keys_are(rec, len, keys));
    CU_ASSERT_STRING_EQUAL(s_str(rec, len, "reason", buf, sizeof buf), "offset 2: truncated");
    CU_ASSERT(hub_mpr_get_uint(rec, len, "time_ms", &u) == HUB_OK && u == 1234);
    CU_ASSERT_EQUAL(hub_store_record(st, HUB_STORE_DEAD, 2, &rec, &len), HUB_OK);
    CU_ASSERT(hub_mpr_get_uint(rec, len, "seq", &u) == HUB_OK && u == 2);
    CU_ASSERT_EQUAL(tu_store_last(st, HUB_STORE_DEAD), 2);
    hub_store_destroy(&st);
}

// ---------------------------------------------------------------- the audit chain

// Recomputes record REC's hash the documented way into WANT: BLAKE2b-256 over
// its prev_hash and the record re-encoded without its "hash" key. PREV_IN
// and HASH get what the record says.
static bool
s_recompute(const void *rec, size_t len, uint8_t prev_in[32], uint8_t hash[32], uint8_t want[32])
{
    hub_mpr_t r;
    hub_mp_obj_t m;
    hub_buf_t b = HUB_BUF_INIT;
    hub_mpw_t w;
    hub_mpw_init(&w, &b);
    hub_mpr_init(&r, rec, len);
    bool ok = hub_mpr_next(&r, &m) == HUB_OK && m.kind == HUB_MP_MAP;
    hub_mpw_map(&w, m.len - 1);
    for (uint32_t i = 0; ok && i < m.len; i++) {
        const uint8_t *start = r.p;
        const char *k;
        size_t n;
        ok = hub_mpr_str(&r, &k, &n) == HUB_OK && hub_mpr_skip(&r) == HUB_OK;
        if (ok && n == 4 && memcmp(k, "hash", 4) == 0) {
            continue;
        }
        hub_mpw_raw(&w, start, (size_t) (r.p - start));
    }
    ok = ok && hub_mpr_get_bin(rec, len, "hash", hash, 32) == HUB_OK &&
         hub_mpr_get_bin(rec, len, "prev_hash", prev_in, 32) == HUB_OK;
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, 32);
    crypto_generichash_update(&st, prev_in, 32);
    crypto_generichash_update(&st, b.data, b.len);
    crypto_generichash_final(&st, want, 32);
    hub_buf_free(&b);
    return ok;
}

static void
test_the_audit_chain_links_every_record_to_the_one_before(void)
{
    hub_store_t *st = s_open(s_dir(), 0, s_key);
    s_batch(st, "student.enrolment_change.json", 1, 3);
    s_batch(st, "health.hospitalisation.json", 1, 2);
    uint64_t last = tu_store_last(st, HUB_STORE_AUDIT);
    CU_ASSERT_EQUAL_FATAL(last, 10);
    uint8_t prev[32] = {0};
    for (uint64_t seq = 1; seq <= last; seq++) {
        const void *rec;
        size_t len;
        uint8_t prev_in[32], hash[32], want[32];
        uint64_t u;
        // Readers get the whole record; the stored one names its descriptor.
        CU_ASSERT_EQUAL_FATAL(hub_store_record(st, HUB_STORE_AUDIT, seq, &rec, &len), HUB_OK);
        CU_ASSERT(s_keys_are(rec, len, s_audit_keys));
        CU_ASSERT_EQUAL_FATAL(hub_store_record_raw(st, HUB_STORE_AUDIT, seq, &rec, &len), HUB_OK);
        CU_ASSERT(s_keys_are(rec, len, s_audit_raw_keys));
        CU_ASSERT(hub_mpr_get_uint(rec, len, "seq", &u) == HUB_OK && u == seq);
        CU_ASSERT(hub_mpr_get_uint(rec, len, "eseq", &u) == HUB_OK &&
                  u == (seq + 1) / 2 - (seq > 6) * 3);
        CU_ASSERT_FATAL(s_recompute(rec, len, prev_in, hash, want));
        CU_ASSERT_EQUAL(memcmp(prev_in, prev, 32), 0);
        CU_ASSERT_EQUAL(memcmp(hash, want, 32), 0);
        memcpy(prev, hash, 32);
    }
    uint64_t checked, bad;
    CU_ASSERT_EQUAL(hub_store_audit_verify(st, &checked, &bad, NULL), HUB_OK);
    CU_ASSERT_EQUAL(checked, last);
    hub_store_destroy(&st);
}

// Rewrites (or deletes, when BYTE is negative) audit record SEQ of the
// store in DIR behind the store's back, with LMDB itself.
static void
s_tamper(const char *dir, uint64_t seq, int byte)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    uint8_t key[8];
    for (int i = 7; i >= 0; i--, seq >>= 8) {
        key[i] = (uint8_t) seq;
    }
    MDB_val k = {8, key}, v;
    CU_ASSERT_FATAL(mdb_env_create(&env) == 0 && mdb_env_set_maxdbs(env, 16) == 0 &&
                    mdb_env_open(env, dir, 0, 0600) == 0);
    CU_ASSERT_FATAL(mdb_txn_begin(env, NULL, 0, &txn) == 0 &&
                    mdb_dbi_open(txn, "audit", 0, &dbi) == 0);
    if (byte < 0) {
        CU_ASSERT(mdb_del(txn, dbi, &k, NULL) == 0);
    } else {
        CU_ASSERT_FATAL(mdb_get(txn, dbi, &k, &v) == 0);
        uint8_t *copy = malloc(v.mv_size);
        memcpy(copy, v.mv_data, v.mv_size);
        copy[v.mv_size - 1] = (uint8_t) byte; // the last byte of "type"
        v.mv_data = copy;
        CU_ASSERT(mdb_put(txn, dbi, &k, &v, 0) == 0);
        free(copy);
    }
    CU_ASSERT(mdb_txn_commit(txn) == 0);
    mdb_env_close(env);
}

static void
s_expect_broken(const char *dir, uint64_t want_bad, const char *why)
{
    hub_store_t *st = s_open(dir, 0, s_key);
    hub_diag_t *diag = hub_diag_new();
    uint64_t checked, bad;
    CU_ASSERT_EQUAL(hub_store_audit_verify(st, &checked, &bad, diag), HUB_EINVALID);
    CU_ASSERT_EQUAL(bad, want_bad);
    CU_ASSERT_EQUAL(hub_diag_errors(diag), 1);
    const hub_diag_entry_t *e = hub_diag_at(diag, 0);
    CU_ASSERT(e && strcmp(e->reason, "audit_chain") == 0 && strstr(e->text, why));
    if (!e || !strstr(e->text, why)) {
        hub_diag_print(diag, stderr);
    }
    hub_diag_destroy(&diag);
    hub_store_destroy(&st);
}

static void
test_a_changed_or_missing_audit_record_breaks_the_chain(void)
{
    const char *dirs[3];
    for (int i = 0; i < 3; i++) {
        dirs[i] = strdup(s_dir());
        hub_store_t *st = s_open(dirs[i], 0, s_key);
        s_batch(st, "student.enrolment_change.json", 1, 3);
        hub_store_destroy(&st);
    }
    s_tamper(dirs[0], 4, 'X');
    s_expect_broken(dirs[0], 4, "hash does not match");
    s_tamper(dirs[1], 3, -1);
    s_expect_broken(dirs[1], 3, "gap");
    s_tamper(dirs[2], 6, -1);
    s_expect_broken(dirs[2], 6, "chain head");
    for (int i = 0; i < 3; i++) {
        free((void *) dirs[i]);
    }
}

static void
test_the_subject_index_finds_a_persons_records_by_keyed_hash(void)
{
    const char *dir = s_dir();
    hub_store_t *st = s_open(dir, 0, s_key);
    s_batch(st, "student.enrolment_change.json", 1, 2); // audit 1-4
    s_batch(st, "person.death.json", 1, 1);             // audit 5-6, someone else
    s_batch(st, "student.enrolment_change.json", 3, 1); // audit 7-8
    const char *cid = "51342920140302046X";
    uint8_t subj[32], other[32];
    uint64_t seqs[16];
    size_t n;
    CU_ASSERT_EQUAL(hub_store_subject_key(st, cid, subj), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_audit_by_subject(st, subj, 0, seqs, 16, &n), HUB_OK);
    CU_ASSERT_EQUAL_FATAL(n, 6);
    static const uint64_t want[] = {1, 2, 3, 4, 7, 8};
    for (size_t i = 0; i < n; i++) {
        CU_ASSERT_EQUAL(seqs[i], want[i]);
        const void *rec;
        size_t len;
        uint8_t s[32];
        CU_ASSERT_EQUAL(hub_store_record(st, HUB_STORE_AUDIT, seqs[i], &rec, &len), HUB_OK);
        CU_ASSERT(hub_mpr_get_bin(rec, len, "subject", s, 32) == HUB_OK &&
                  memcmp(s, subj, 32) == 0);
    }
    CU_ASSERT_EQUAL(hub_store_audit_by_subject(st, subj, 2, seqs, 3, &n), HUB_OK); // a page
    CU_ASSERT(n == 3 && seqs[0] == 3 && seqs[2] == 7);
    // Not the plain HMAC of the ID (what the `hash` mask gives departments).
    crypto_auth_hmacsha256(other, (const unsigned char *) cid, strlen(cid), s_key);
    CU_ASSERT_NOT_EQUAL(memcmp(other, subj, 32), 0);
    hub_store_destroy(&st);
    // Another key gives another index key, which finds nothing here.
    st = s_open(dir, 0, s_key2);
    CU_ASSERT_EQUAL(hub_store_subject_key(st, cid, other), HUB_OK);
    CU_ASSERT_NOT_EQUAL(memcmp(other, subj, 32), 0);
    CU_ASSERT_EQUAL(hub_store_audit_by_subject(st, other, 0, seqs, 16, &n), HUB_OK);
    CU_ASSERT_EQUAL(n, 0);
    hub_store_destroy(&st);
}

// ---------------------------------------------------------------- durability

static void
test_a_reopened_store_keeps_everything(void)
{
    const char *dir = s_dir();
    hub_store_t *st = s_open(dir, 0, s_key);
    s_batch(st, "student.enrolment_change.json", 1, 4);
    CU_ASSERT_EQUAL(hub_store_ack(st, "education@513429", 2), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_begin(st), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_dead(st, "health", "x", 1, "HUB_EDECODE", "truncated", 9), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_commit(st), HUB_OK);
    hub_store_destroy(&st);

    st = s_open(dir, 0, s_key);
    uint64_t acked, checked, bad;
    CU_ASSERT(s_eps_last(st, "education@513429", &acked) == 4 && acked == 2);
    CU_ASSERT_EQUAL(tu_store_last(st, HUB_STORE_LOG), 4);
    CU_ASSERT_EQUAL(tu_store_last(st, HUB_STORE_DEAD), 1);
    CU_ASSERT(hub_store_audit_verify(st, &checked, &bad, NULL) == HUB_OK && checked == 8);
    hub_store_result_t res;
    CU_ASSERT_EQUAL(hub_store_begin(st), HUB_OK);
    s_set_id(2);
    CU_ASSERT(s_ingest(st, 1, &res) == HUB_OK && res.duplicate && res.log_seq == 2);
    s_set_id(5);
    CU_ASSERT(s_ingest(st, 1, &res) == HUB_OK && !res.duplicate && res.log_seq == 5);
    CU_ASSERT_EQUAL(hub_store_commit(st), HUB_OK);
    CU_ASSERT_EQUAL(s_eps_last(st, "education@513429", NULL), 5);
    CU_ASSERT(hub_store_audit_verify(st, &checked, &bad, NULL) == HUB_OK && checked == 10);
    hub_store_destroy(&st);
}

// The child's half of the reader test: returns the number of failures.
static int
s_reader_child(const char *dir)
{
    int fails = 0;
    hub_store_t *st = NULL;
    uint64_t acked = 9, last = 9, checked, bad;
    hub_store_delivery_t out[8];
    size_t n = 0;
    uint8_t subj[32];
    fails += hub_store_open(&st, dir, 0, HUB_STORE_RDONLY, NULL, NULL) != HUB_OK;
    if (!st) {
        return fails + 1;
    }
    // It sees what is committed, not the writer's open batch.
    fails += hub_store_endpoint_state(st, "education@513429", &acked, &last) != HUB_OK;
    fails += last != 2 || acked != 0;
    fails += hub_store_pending(st, "education@513429", 0, out, 8, &n) != HUB_OK || n != 2;
    fails += hub_store_audit_verify(st, &checked, &bad, NULL) != HUB_OK || checked != 4;
    // And it never writes.
    fails += hub_store_begin(st) != HUB_EINVAL;
    fails += hub_store_ack(st, "education@513429", 1) != HUB_EINVAL;
    fails += hub_store_subject_key(st, "51342920140302046X", subj) != HUB_EINVAL;
    hub_store_destroy(&st);
    return fails;
}

static void
test_a_reader_in_another_process_never_waits_for_the_writer(void)
{
    // LMDB allows one environment handle per process and path, so the
    // reader is a child process, as hubctl would be.
    const char *dir = s_dir();
    hub_store_t *st = s_open(dir, 0, s_key);
    s_batch(st, "student.enrolment_change.json", 1, 2);
    hub_store_result_t res;
    CU_ASSERT_EQUAL(hub_store_begin(st), HUB_OK); // the writer holds a batch open...
    s_set_id(3);
    CU_ASSERT_EQUAL(s_ingest(st, 1, &res), HUB_OK);
    // The writer's own reads see only what is committed, too.
    hub_store_delivery_t out[8];
    size_t n;
    CU_ASSERT_EQUAL(s_eps_last(st, "education@513429", NULL), 2);
    CU_ASSERT(hub_store_pending(st, "education@513429", 0, out, 8, &n) == HUB_OK && n == 2);
    fflush(NULL);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        alarm(20); // a reader that blocks fails the test instead of hanging it
        _exit(s_reader_child(dir));
    }
    int status = 0;
    CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CU_ASSERT_EQUAL(hub_store_commit(st), HUB_OK); // ...and commits after
    CU_ASSERT_EQUAL(s_eps_last(st, "education@513429", NULL), 3);
    hub_store_destroy(&st);
}

static void
test_a_writer_killed_mid_batch_loses_only_that_batch(void)
{
    const char *dir = s_dir();
    fflush(NULL);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        alarm(20);
        hub_store_t *st = NULL;
        hub_store_result_t res;
        if (hub_store_open(&st, dir, 0, 0, s_key, NULL) != HUB_OK) {
            _exit(1);
        }
        s_load("student.enrolment_change.json");
        for (uint64_t b = 0; b < 4; b++) {
            hub_store_begin(st);
            for (uint64_t i = 0; i < 25; i++) {
                s_set_id(b * 25 + i);
                s_ingest(st, 1, &res);
            }
            if (b < 3) {
                hub_store_commit(st);
            }
        }
        kill(getpid(), SIGKILL); // the fourth batch is open: a crash
        _exit(2);
    }
    int status = 0;
    CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
    CU_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    hub_store_t *st = s_open(dir, 0, s_key);
    uint64_t checked, bad;
    CU_ASSERT_EQUAL(tu_store_last(st, HUB_STORE_LOG), 75);
    CU_ASSERT_EQUAL(s_eps_last(st, "education@513429", NULL), 75);
    CU_ASSERT(hub_store_audit_verify(st, &checked, &bad, NULL) == HUB_OK && checked == 150);
    s_batch(st, "student.enrolment_change.json", 75, 25); // the lost batch, sent again
    CU_ASSERT_EQUAL(tu_store_last(st, HUB_STORE_LOG), 100);
    hub_store_destroy(&st);
}

// Ingests batches of 10 until the map is full; returns the log seq
// committed last.
static uint64_t
s_fill(hub_store_t *st, uint64_t *next_id)
{
    hub_store_result_t res;
    for (int batch = 0; batch < 10000; batch++) {
        CU_ASSERT_EQUAL_FATAL(hub_store_begin(st), HUB_OK);
        int rc = HUB_OK;
        for (int i = 0; i < 10 && !rc; i++) {
            s_set_id((*next_id)++);
            rc = s_ingest(st, 1, &res);
        }
        if (rc == HUB_EFULL) {
            s_set_id((*next_id)++);
            CU_ASSERT_EQUAL(s_ingest(st, 1, &res), HUB_EFULL); // the batch stays broken
            CU_ASSERT_EQUAL(hub_store_dead(st, "x", "", 0, "c", "r", 1), HUB_EFULL);
        }
        int crc = hub_store_commit(st);
        CU_ASSERT(rc == HUB_OK || crc == rc); // a broken batch stays broken to the end
        rc = rc ? rc : crc;
        if (rc) {
            CU_ASSERT_EQUAL(rc, HUB_EFULL);
            CU_ASSERT_PTR_NOT_NULL(strstr(hub_store_last_error(st), "MDB_MAP_FULL"));
            break;
        }
    }
    return tu_store_last(st, HUB_STORE_LOG);
}

static void
test_a_full_map_refuses_the_batch_until_it_grows(void)
{
    const char *dir = s_dir();
    hub_store_t *st = s_open(dir, 1 << 20, s_key);
    hub_store_result_t res;
    uint64_t id = 1;
    s_load("student.enrolment_change.json");
    uint64_t kept = s_fill(st, &id);
    CU_ASSERT(kept > 10 && kept % 10 == 0); // whole batches only
    uint64_t checked, bad;
    CU_ASSERT(hub_store_audit_verify(st, &checked, &bad, NULL) == HUB_OK && checked == 2 * kept);
    // Grown in place (hubd after a reload): the same batch now commits.
    CU_ASSERT_EQUAL(hub_store_set_map_size(st, 4 << 20), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_begin(st), HUB_OK);
    s_set_id(id++);
    CU_ASSERT_EQUAL(s_ingest(st, 1, &res), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_commit(st), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_set_map_size(st, 4096), HUB_ECONFIG);
    kept = s_fill(st, &id); // full again at 4 MiB
    hub_store_destroy(&st);
    // Reopened with a map smaller than its data: LMDB keeps what is there.
    st = s_open(dir, 1 << 20, s_key);
    CU_ASSERT_EQUAL(tu_store_last(st, HUB_STORE_LOG), kept);
    hub_store_destroy(&st);
    // Reopened larger (hubd restarted with a bigger map_size): the batch
    // of 10 that did not fit now commits.
    st = s_open(dir, 16 << 20, s_key);
    CU_ASSERT_EQUAL(hub_store_begin(st), HUB_OK);
    for (int i = 0; i < 10; i++) {
        s_set_id(id++);
        CU_ASSERT(s_ingest(st, 1, &res) == HUB_OK && res.log_seq == kept + 1 + (uint64_t) i);
    }
    CU_ASSERT_EQUAL(hub_store_commit(st), HUB_OK);
    CU_ASSERT(hub_store_audit_verify(st, &checked, &bad, NULL) == HUB_OK &&
              checked == 2 * (kept + 10));
    hub_store_destroy(&st);
}

static void
test_lmdb_tools_read_the_store(void)
{
    if (system("command -v mdb_stat >/dev/null && command -v mdb_dump >/dev/null") != 0) {
        fprintf(stderr, "(mdb_stat/mdb_dump not installed: skipped) ");
        return;
    }
    const char *dir = s_dir();
    hub_store_t *st = s_open(dir, 0, s_key);
    s_batch(st, "student.enrolment_change.json", 1, 3);
    hub_store_destroy(&st);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "mdb_stat -a '%s' | grep -q 'Status of audit_subject'", dir);
    CU_ASSERT_EQUAL(system(cmd), 0);
    // Three log records, keys 1..3 as big-endian numbers.
    snprintf(cmd, sizeof cmd,
             "test \"$(mdb_dump -s log '%s' | grep -c '^ 000000000000000[123]$')\" = 3", dir);
    CU_ASSERT_EQUAL(system(cmd), 0);
}

// How LMDB's errors are said: a full map, and a file that cannot grow (a
// short write LMDB calls EIO, under a file size limit here), are
// HUB_EFULL with the cause and its remedy; MDB_PANIC is HUB_EIO and marks the handle as
// one whose environment must be reopened; a plain EIO with room to spare
// is HUB_EIO, not full.
static void
test_lmdb_errors_say_full_disk_and_panic(void)
{
    static const uint8_t key[32] = {3};
    hub_store_t *st = s_open(s_dir(), 0, key);
    CU_ASSERT_FATAL(st != NULL);
    CU_ASSERT_FALSE(hub_store_panicked(st));
    CU_ASSERT_EQUAL(hub_store_mdb_err(st, MDB_MAP_FULL, "mdb_put"), HUB_EFULL);
    CU_ASSERT(strstr(hub_store_full_remedy(st), "store_map_size") != NULL);
    CU_ASSERT_EQUAL(hub_store_mdb_err(st, ENOSPC, "mdb_txn_commit"), HUB_EFULL);
    CU_ASSERT(strstr(hub_store_full_remedy(st), "free space") != NULL);
    CU_ASSERT_EQUAL(hub_store_mdb_err(st, EIO, "mdb_txn_commit"), HUB_EIO);
    CU_ASSERT_FALSE(hub_store_panicked(st));
    struct rlimit was, low;
    CU_ASSERT_FATAL(getrlimit(RLIMIT_FSIZE, &was) == 0);
    low = was;
    low.rlim_cur = 4096; // below any store's file: it cannot grow
    CU_ASSERT_FATAL(setrlimit(RLIMIT_FSIZE, &low) == 0);
    int rc = hub_store_mdb_err(st, EIO, "mdb_txn_commit");
    CU_ASSERT_FATAL(setrlimit(RLIMIT_FSIZE, &was) == 0);
    CU_ASSERT_EQUAL(rc, HUB_EFULL);
    CU_ASSERT(strstr(hub_store_last_error(st), "file size limit") != NULL);
    CU_ASSERT(strstr(hub_store_full_remedy(st), "file size limit") != NULL);
    CU_ASSERT(strstr(hub_store_full_remedy(NULL), "store_map_size") != NULL);
    CU_ASSERT_EQUAL(hub_store_mdb_err(st, MDB_PANIC, "mdb_txn_commit"), HUB_EIO);
    CU_ASSERT(hub_store_panicked(st));
    hub_store_destroy(&st);
}

void
test_store_register(void)
{
    CU_pSuite s = CU_add_suite("store", s_init, s_cleanup);
    CU_add_test(s, "LMDB's errors say a full disk, and a panic",
                test_lmdb_errors_say_full_disk_and_panic);
    CU_add_test(s, "a new store is private to its owner", test_a_new_store_is_private_to_its_owner);
    CU_add_test(s, "the dedup window forgets old ids a slice at a time",
                test_the_dedup_window_forgets_old_ids_a_slice_at_a_time);
    CU_add_test(s, "bad opens are refused and create nothing",
                test_bad_opens_are_refused_and_create_nothing);
    CU_add_test(s, "every sample message is logged, queued and audited",
                test_every_sample_message_is_logged_queued_and_audited);
    CU_add_test(s, "a delivery record holds the projection and its reasons",
                test_a_delivery_record_holds_the_projection_and_its_reasons);
    CU_add_test(s, "a duplicate writes nothing and names the first copy",
                test_a_duplicate_writes_nothing_and_names_the_first_copy);
    CU_add_test(s, "each endpoint numbers its deliveries from one",
                test_each_endpoint_numbers_its_deliveries_from_one);
    CU_add_test(s, "acks move the cursor forward only", test_acks_move_the_cursor_forward_only);
    CU_add_test(s, "an aborted batch writes nothing", test_an_aborted_batch_writes_nothing);
    CU_add_test(s, "a thousand messages commit in one batch",
                test_a_thousand_messages_commit_in_one_batch);
    CU_add_test(s, "dead letters keep the bytes and the reason",
                test_dead_letters_keep_the_bytes_and_the_reason);
    CU_add_test(s, "the audit chain links every record to the one before",
                test_the_audit_chain_links_every_record_to_the_one_before);
    CU_add_test(s, "a changed or missing audit record breaks the chain",
                test_a_changed_or_missing_audit_record_breaks_the_chain);
    CU_add_test(s, "the subject index finds a person's records by keyed hash",
                test_the_subject_index_finds_a_persons_records_by_keyed_hash);
    CU_add_test(s, "a reopened store keeps everything", test_a_reopened_store_keeps_everything);
    CU_add_test(s, "a reader in another process never waits for the writer",
                test_a_reader_in_another_process_never_waits_for_the_writer);
    CU_add_test(s, "a writer killed mid-batch loses only that batch",
                test_a_writer_killed_mid_batch_loses_only_that_batch);
    CU_add_test(s, "a full map refuses the batch until it grows",
                test_a_full_map_refuses_the_batch_until_it_grows);
    CU_add_test(s, "LMDB's tools read the store", test_lmdb_tools_read_the_store);
}
