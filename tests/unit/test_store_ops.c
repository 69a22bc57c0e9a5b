// The store's operations part (hub_store_ops.c) on a real LMDB environment
// in a temporary directory: the operations log, rule-set versions with
// their texts, dead letters dropped without reusing a sequence, cursors
// rewound and the time-to-sequence search behind "replay from a time";
// drop-behind (hub_store_cache.c), seen through mincore(2).
#define _DEFAULT_SOURCE // mincore
#include "hub_codec.h"
#include "hub_config.h"
#include "hub_error.h"
#include "hub_json.h"
#include "hub_mpr.h"
#include "hub_mpw.h"
#include "hub_route.h"
#include "hub_rules.h"
#include "hub_store.h"
#include "suites.h"
#include "testutil.h"

#include <CUnit/CUnit.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static tu_store_fix_t s_f;

static const uint8_t s_key[32] = {7};

static int
s_init(void)
{
    if (tu_store_init(&s_f, "ops")) {
        return 1;
    }
    tu_dropout(s_f.msg);
    return 0;
}

static int
s_cleanup(void)
{
    return tu_store_cleanup(&s_f);
}

static hub_store_t *
s_open(unsigned flags)
{
    const char *path = flags & HUB_STORE_RDONLY ? s_f.dir : tu_store_dir(&s_f);
    hub_store_t *st = NULL;
    CU_ASSERT_EQUAL(hub_store_open(&st, path, 0, flags, flags ? NULL : s_key, NULL), HUB_OK);
    return st;
}

// Ingests dropout message N (received at time NOW) in a batch of its own.
static void
s_ingest(hub_store_t *st, uint64_t n, uint64_t now)
{
    char id[33];
    snprintf(id, sizeof id, "%032llx", (unsigned long long) n);
    hub_msg_set_env_str(s_f.msg, HUB_ENV_ID, id);
    hub_store_result_t res;
    CU_ASSERT_EQUAL(hub_store_begin(st), HUB_OK);
    CU_ASSERT_EQUAL(tu_store_ingest(&s_f, st, s_key, NULL, "v1", now, &res), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_commit(st), HUB_OK);
}

// The first endpoint the dropout reaches.
static const char *
s_endpoint(void)
{
    const hub_delivery_t *d = hub_route_at(s_f.route, 0);
    return d ? d->endpoint->id : "";
}

static void
test_oplog_records_are_numbered_and_readable(void)
{
    hub_store_t *st = s_open(0);
    uint8_t detail[64];
    hub_buf_t b = {0};
    hub_mpw_t w;
    hub_mpw_init(&w, &b);
    hub_mpw_map(&w, 1);
    hub_mpw_cstr(&w, "endpoint");
    hub_mpw_cstr(&w, "education@513431");
    CU_ASSERT_FATAL(b.len < sizeof detail);
    memcpy(detail, b.data, b.len);
    uint64_t seq = 0;
    CU_ASSERT_EQUAL(hub_store_oplog_append(st, 1000, "alice", "cursor.rewind", detail, b.len, &seq),
                    HUB_OK);
    CU_ASSERT_EQUAL(seq, 1);
    CU_ASSERT_EQUAL(hub_store_oplog_append(st, 2000, "bob", "audit.query", NULL, 0, &seq), HUB_OK);
    CU_ASSERT_EQUAL(seq, 2);
    const void *rec;
    size_t len;
    uint64_t v = 0, last = 0;
    CU_ASSERT_EQUAL(hub_store_record(st, HUB_STORE_OPLOG, 1, &rec, &len), HUB_OK);
    CU_ASSERT_EQUAL(hub_mpr_get_uint(rec, len, "time_ms", &v), HUB_OK);
    CU_ASSERT_EQUAL(v, 1000);
    CU_ASSERT_EQUAL(hub_store_last_seq(st, HUB_STORE_OPLOG, &last), HUB_OK);
    CU_ASSERT_EQUAL(last, 2);
    // Inside an open batch it rides in the batch: gone with an abort.
    CU_ASSERT_EQUAL(hub_store_begin(st), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_oplog_append(st, 3000, "carol", "reload", NULL, 0, NULL), HUB_OK);
    hub_store_abort(st);
    CU_ASSERT_EQUAL(hub_store_last_seq(st, HUB_STORE_OPLOG, &last), HUB_OK);
    CU_ASSERT_EQUAL(last, 2);
    CU_ASSERT_EQUAL(hub_store_oplog_append(st, 1, NULL, "x", NULL, 0, NULL), HUB_EINVAL);
    hub_buf_free(&b);
    hub_store_destroy(&st);
}

static void
s_files(hub_buf_t *b, const char *text)
{
    hub_mpw_t w;
    b->len = 0;
    hub_mpw_init(&w, b);
    hub_mpw_array(&w, 1);
    hub_mpw_map(&w, 2);
    hub_mpw_cstr(&w, "name");
    hub_mpw_cstr(&w, "rules.d/10.yaml");
    hub_mpw_cstr(&w, "text");
    hub_mpw_cstr(&w, text);
}

static void
test_ruleset_versions_keep_history_and_first_texts(void)
{
    hub_store_t *st = s_open(0);
    hub_buf_t b = {0};
    s_files(&b, "rules: []\n");
    CU_ASSERT_EQUAL(hub_store_ruleset_record(st, "aaaa", 10, "start", "hubd", b.data, b.len),
                    HUB_OK);
    s_files(&b, "rules: [x]\n");
    CU_ASSERT_EQUAL(hub_store_ruleset_record(st, "bbbb", 20, "reload", "alice", b.data, b.len),
                    HUB_OK);
    s_files(&b, "something else\n");
    CU_ASSERT_EQUAL(hub_store_ruleset_record(st, "aaaa", 30, "reload", "bob", b.data, b.len),
                    HUB_OK);
    uint64_t last = 0, first = 0;
    CU_ASSERT_EQUAL(hub_store_last_seq(st, HUB_STORE_RULESETS, &last), HUB_OK);
    CU_ASSERT_EQUAL(last, 3);
    const void *rec;
    size_t len;
    CU_ASSERT_EQUAL(hub_store_ruleset_texts(st, "aaaa", &rec, &len), HUB_OK);
    CU_ASSERT_EQUAL(hub_mpr_get_uint(rec, len, "first_ms", &first), HUB_OK);
    CU_ASSERT_EQUAL(first, 10); // the first texts stay
    bool found = false;
    for (size_t i = 0; i + 9 <= len && !found; i++) {
        found = memcmp((const char *) rec + i, "rules: []", 9) == 0;
    }
    CU_ASSERT(found);
    CU_ASSERT_EQUAL(hub_store_ruleset_texts(st, "cccc", &rec, &len), HUB_ENOTFOUND);
    hub_buf_free(&b);
    hub_store_destroy(&st);
}

static void
test_a_dropped_dead_letter_number_is_never_given_again(void)
{
    hub_store_t *st = s_open(0);
    CU_ASSERT_EQUAL(hub_store_begin(st), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_dead(st, "health", "ab", 2, "invalid", "bad", 1), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_dead(st, "health", "cd", 2, "invalid", "bad", 2), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_commit(st), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_dead_drop(st, 2), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_dead_drop(st, 2), HUB_ENOTFOUND);
    CU_ASSERT_EQUAL(hub_store_begin(st), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_dead(st, "health", "ef", 2, "invalid", "bad", 3), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_commit(st), HUB_OK);
    const void *rec;
    size_t len;
    CU_ASSERT_EQUAL(hub_store_record(st, HUB_STORE_DEAD, 2, &rec, &len), HUB_ENOTFOUND);
    CU_ASSERT_EQUAL(hub_store_record(st, HUB_STORE_DEAD, 3, &rec, &len), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_record(st, HUB_STORE_DEAD, 1, &rec, &len), HUB_OK);
    hub_store_destroy(&st);
}

// Dead letters FIRST..LAST, in one batch.
static void
s_dead_letters(hub_store_t *st, int first, int last)
{
    CU_ASSERT_EQUAL_FATAL(hub_store_begin(st), HUB_OK);
    for (int i = first; i <= last; i++) {
        CU_ASSERT_EQUAL(hub_store_dead(st, "health", "ab", 2, "invalid", "bad", (uint64_t) i),
                        HUB_OK);
    }
    CU_ASSERT_EQUAL(hub_store_commit(st), HUB_OK);
}

static void
test_dropping_from_the_top_down_never_lowers_the_highest_number(void)
{
    hub_store_t *st = s_open(0);
    s_dead_letters(st, 1, 3);
    // 3 goes (the last: 3 is remembered), then 2, which is the last now.
    CU_ASSERT_EQUAL(hub_store_dead_drop(st, 3), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_dead_drop(st, 2), HUB_OK);
    s_dead_letters(st, 4, 4);
    uint64_t last = 0, n = 0;
    CU_ASSERT_EQUAL(hub_store_last_seq(st, HUB_STORE_DEAD, &last), HUB_OK);
    CU_ASSERT_EQUAL(last, 4); // not 3 again
    CU_ASSERT_EQUAL(hub_store_count(st, HUB_STORE_DEAD, &n), HUB_OK);
    CU_ASSERT_EQUAL(n, 2);
    // And in a batch of the caller's, the same.
    CU_ASSERT_EQUAL(hub_store_begin(st), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_dead_drop(st, 4), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_dead_drop(st, 1), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_commit(st), HUB_OK);
    s_dead_letters(st, 5, 5);
    CU_ASSERT_EQUAL(hub_store_last_seq(st, HUB_STORE_DEAD, &last), HUB_OK);
    CU_ASSERT_EQUAL(last, 5);
    CU_ASSERT_EQUAL(hub_store_count(st, HUB_STORE_DEAD, &n), HUB_OK);
    CU_ASSERT_EQUAL(n, 1);
    hub_store_destroy(&st);
}

static void
test_a_cursor_rewinds_and_a_time_finds_its_sequence(void)
{
    hub_store_t *st = s_open(0);
    for (uint64_t i = 1; i <= 9; i++) {
        s_ingest(st, i, i * 1000);
    }
    const char *ep = s_endpoint();
    uint64_t acked, last, e;
    CU_ASSERT_EQUAL(hub_store_ack(st, ep, 9), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_cursor_set(st, ep, 3), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_endpoint_state(st, ep, &acked, &last), HUB_OK);
    CU_ASSERT_EQUAL(acked, 3);
    CU_ASSERT_EQUAL(last, 9);
    CU_ASSERT_EQUAL(hub_store_cursor_set(st, ep, 10), HUB_EINVAL);
    CU_ASSERT_EQUAL(hub_store_cursor_set(st, "nobody@513400", 0), HUB_EINVAL);
    CU_ASSERT_EQUAL(hub_store_cursor_set(st, ep, 0), HUB_OK);
    struct {
        uint64_t time, want;
    } cases[] = {{0, 0}, {1000, 0}, {1001, 1}, {5000, 4}, {5500, 5}, {9000, 8}, {99999, 9}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CU_ASSERT_EQUAL(hub_store_eseq_before(st, ep, cases[i].time, &e), HUB_OK);
        CU_ASSERT_EQUAL(e, cases[i].want);
    }
    CU_ASSERT_EQUAL(hub_store_eseq_before(st, "nobody@513400", 5000, &e), HUB_OK);
    CU_ASSERT_EQUAL(e, 0);
    hub_store_destroy(&st);
}

// Pages of DIR/data.mdb in the page cache, out of *TOTAL, among those
// before byte END (mincore on a mapping of our own: it faults nothing in).
static size_t
s_cached_before(const char *dir, uint64_t end, size_t *total)
{
    char path[512];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    int fd = open(path, O_RDONLY);
    struct stat sb;
    CU_ASSERT_FATAL(fd >= 0 && fstat(fd, &sb) == 0);
    size_t len = (size_t) (end < (uint64_t) sb.st_size ? end : (uint64_t) sb.st_size);
    long page = sysconf(_SC_PAGESIZE);
    *total = len / (size_t) page;
    void *map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    CU_ASSERT_FATAL(map != MAP_FAILED);
    static unsigned char vec[1 << 16];
    CU_ASSERT_FATAL(*total <= sizeof vec);
    CU_ASSERT_EQUAL_FATAL(mincore(map, len, vec), 0);
    size_t n = 0;
    for (size_t i = 0; i < *total; i++) {
        n += vec[i] & 1;
    }
    munmap(map, len);
    return n;
}

// Fills a store with BATCHES batches of 200 dropouts, drop-behind BEHIND.
static void
s_fill(hub_store_t *st, size_t behind, int batches)
{
    hub_store_set_drop_behind(st, behind);
    for (int b = 0; b < batches; b++) {
        CU_ASSERT_EQUAL_FATAL(hub_store_begin(st), HUB_OK);
        for (uint64_t i = 0; i < 200; i++) {
            char id[33];
            snprintf(id, sizeof id, "%032llx", (unsigned long long) (b * 200 + i + 1));
            hub_msg_set_env_str(s_f.msg, HUB_ENV_ID, id);
            hub_store_result_t res;
            CU_ASSERT_EQUAL_FATAL(tu_store_ingest(&s_f, st, s_key, NULL, "v1", 1, &res), HUB_OK);
        }
        CU_ASSERT_EQUAL_FATAL(hub_store_commit(st), HUB_OK);
        hub_store_drop_behind(st);
    }
}

// Drop-behind: with it, the pages written more than BEHIND before the end
// that nobody read leave the page cache, and every record reads back the
// same (from the disk) as from a store filled the same way without it (0),
// whose pages all stay cached.
static void
test_drop_behind_hands_back_unread_pages_and_loses_nothing(void)
{
    const size_t behind = (size_t) 1 << 20;
    char dir[2][sizeof s_f.dir];
    size_t total[2], cached[2];
    for (int off = 0; off < 2; off++) {
        hub_store_t *st = s_open(0);
        memcpy(dir[off], s_f.dir, sizeof dir[off]);
        s_fill(st, off ? 0 : behind, 20); // 4,000 messages: ~12 MB
        hub_store_destroy(&st);
        struct stat sb;
        char path[512];
        snprintf(path, sizeof path, "%s/data.mdb", dir[off]);
        CU_ASSERT_FATAL(stat(path, &sb) == 0);
        cached[off] = s_cached_before(dir[off], (uint64_t) sb.st_size - behind, &total[off]);
    }
    CU_ASSERT(total[0] > 1000);
    // A third or more handed back: LMDB read the rest since it was written
    // (branch pages, the leaves a later put went to). Without: all kept.
    CU_ASSERT(cached[0] * 3 < total[0] * 2);
    CU_ASSERT(cached[1] * 10 > total[1] * 9);
    hub_store_t *a = NULL, *b = NULL;
    CU_ASSERT_EQUAL_FATAL(hub_store_open(&a, dir[0], 0, HUB_STORE_RDONLY, NULL, NULL), HUB_OK);
    CU_ASSERT_EQUAL_FATAL(hub_store_open(&b, dir[1], 0, HUB_STORE_RDONLY, NULL, NULL), HUB_OK);
    static const hub_store_seqdb_t dbs[] = {HUB_STORE_LOG, HUB_STORE_AUDIT};
    for (size_t d = 0; d < 2; d++) {
        for (uint64_t seq = 1; seq <= 4000; seq++) {
            const void *ra, *rb;
            size_t la, lb;
            CU_ASSERT_EQUAL_FATAL(hub_store_record(a, dbs[d], seq, &ra, &la), HUB_OK);
            uint8_t copy[4096];
            CU_ASSERT_FATAL(la <= sizeof copy);
            memcpy(copy, ra, la); // lent until the next call
            CU_ASSERT_EQUAL_FATAL(hub_store_record(b, dbs[d], seq, &rb, &lb), HUB_OK);
            CU_ASSERT_FATAL(la == lb && memcmp(copy, rb, la) == 0);
        }
    }
    hub_store_destroy(&a);
    hub_store_destroy(&b);
}

// Loads tests/data/messages/NAME into s_f.msg, with id N and source SOURCE.
static void
s_load_as(const char *name, uint64_t n, const char *source)
{
    char id[33];
    tu_load_msg(s_f.msg, name);
    snprintf(id, sizeof id, "%032llx", (unsigned long long) n);
    hub_msg_set_env_str(s_f.msg, HUB_ENV_ID, id);
    hub_msg_set_env_str(s_f.msg, HUB_ENV_SOURCE, source);
}

// Ingests s_f.msg (its citizen ID as the subject) in a batch of its own.
static hub_store_result_t
s_ingest_one(hub_store_t *st)
{
    const hub_val_t *cid = hub_msg_subj(s_f.msg, HUB_SUBJ_CITIZEN_ID);
    hub_store_result_t res;
    CU_ASSERT_EQUAL_FATAL(hub_store_begin(st), HUB_OK);
    CU_ASSERT_EQUAL_FATAL(tu_store_ingest(&s_f, st, s_key, cid->u.s, "v1", 5, &res), HUB_OK);
    CU_ASSERT_EQUAL_FATAL(hub_store_commit(st), HUB_OK);
    return res;
}

// Whether the store in DIR (closed) holds the event entry 0x01 TYPE 0 KEY
// in `dedup`, read with LMDB itself.
static bool
s_has_event_entry(const char *dir, const char *type, const uint8_t key[HUB_STORE_HASH_SIZE])
{
    uint8_t k[128];
    size_t tlen = strlen(type);
    k[0] = 0x01;
    memcpy(k + 1, type, tlen + 1);
    memcpy(k + 2 + tlen, key, HUB_STORE_HASH_SIZE);
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_val mk = {2 + tlen + HUB_STORE_HASH_SIZE, k}, v;
    CU_ASSERT_EQUAL_FATAL(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 32);
    CU_ASSERT_EQUAL_FATAL(mdb_env_open(env, dir, MDB_RDONLY, 0600), 0);
    CU_ASSERT_EQUAL_FATAL(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
    bool found = mdb_dbi_open(txn, "dedup", 0, &dbi) == 0 && mdb_get(txn, dbi, &mk, &v) == 0;
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return found;
}

// One event per subject: the second report of a death about the same
// person, from the other department, is logged with "same_event" and
// delivered to nobody, and the dedup purge keeps the event's entry; another
// person's death, and a message not ingested as an event, go on as before.
// The event entry's key is the one stores written before one_event_per
// hold: the type and the person's subject key.
static void
test_a_second_report_of_the_same_death_is_logged_not_delivered(void)
{
    hub_store_t *st = s_open(0);
    s_f.events = true;
    s_load_as("person.death.json", 1, "health");
    hub_store_result_t first = s_ingest_one(st);
    CU_ASSERT(first.deliveries >= 2 && !first.same_event && !first.duplicate);
    s_load_as("person.death.json", 2, "public_security");
    hub_store_result_t second = s_ingest_one(st);
    CU_ASSERT_FALSE(second.duplicate);
    CU_ASSERT_EQUAL(second.same_event, first.log_seq);
    CU_ASSERT_EQUAL(second.deliveries, 0);
    CU_ASSERT_EQUAL(second.log_seq, first.log_seq + 1);
    const void *rec;
    size_t len;
    uint64_t v = 0;
    CU_ASSERT_EQUAL(hub_store_record(st, HUB_STORE_LOG, second.log_seq, &rec, &len), HUB_OK);
    CU_ASSERT_EQUAL(hub_mpr_get_uint(rec, len, "same_event", &v), HUB_OK);
    CU_ASSERT_EQUAL(v, first.log_seq);
    CU_ASSERT_EQUAL(hub_store_record(st, HUB_STORE_LOG, first.log_seq, &rec, &len), HUB_OK);
    CU_ASSERT_NOT_EQUAL(hub_mpr_get_uint(rec, len, "same_event", &v), HUB_OK);
    // The purge of old dedup entries leaves the event's.
    size_t purged = 0;
    bool more = true;
    CU_ASSERT_EQUAL(hub_store_begin(st), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_dedup_purge(st, UINT64_MAX, 100, &purged, &more), HUB_OK);
    CU_ASSERT_FALSE(more);
    CU_ASSERT_EQUAL(hub_store_commit(st), HUB_OK);
    CU_ASSERT_EQUAL(purged, 2); // the two messages' ids, not the event
    s_load_as("person.death.json", 3, "health");
    CU_ASSERT_EQUAL(s_ingest_one(st).same_event, first.log_seq);
    // Another person: a death of its own.
    s_load_as("person.death.json", 4, "health");
    hub_val_t other = hub_val_str("513401195806110238", 18);
    CU_ASSERT_EQUAL(hub_msg_set_subj(s_f.msg, HUB_SUBJ_CITIZEN_ID, &other), HUB_OK);
    hub_store_result_t third = s_ingest_one(st);
    CU_ASSERT(third.deliveries >= 2 && !third.same_event);
    // Not ingested as an event, the same person's second report is delivered again.
    s_f.events = false;
    s_load_as("person.death.json", 5, "public_security");
    hub_store_result_t fourth = s_ingest_one(st);
    CU_ASSERT(fourth.deliveries >= 2 && !fourth.same_event);
    s_load_as("person.death.json", 6, "health");
    const char *cid = hub_msg_subj(s_f.msg, HUB_SUBJ_CITIZEN_ID)->u.s;
    uint8_t subject[HUB_STORE_HASH_SIZE], event[HUB_STORE_HASH_SIZE];
    CU_ASSERT_EQUAL(hub_store_subject_key(st, cid, subject), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_event_key(st, "subject.citizen_id", cid, event), HUB_OK);
    CU_ASSERT_EQUAL(memcmp(subject, event, sizeof event), 0);
    hub_store_destroy(&st);
    CU_ASSERT(s_has_event_entry(s_f.dir, "person.death", subject));
}

// Ingests s_f.msg, a birth from SOURCE with id N, about the child CID
// (NULL: the certificate names no child ID yet), certificate CERT, in a
// batch of its own, as hubd would: its event is its certificate number.
static hub_store_result_t
s_birth(hub_store_t *st, uint64_t n, const char *source, const char *cid, const char *cert)
{
    hub_val_t none = {0};
    s_load_as("person.birth.json", n, source);
    if (cid) {
        hub_msg_set_subj_str(s_f.msg, HUB_SUBJ_CITIZEN_ID, cid);
    } else {
        hub_msg_set_subj(s_f.msg, HUB_SUBJ_CITIZEN_ID, &none);
    }
    hub_msg_body_set_str(s_f.msg, "certificate_no", cert);
    hub_store_result_t res;
    CU_ASSERT_EQUAL_FATAL(hub_store_begin(st), HUB_OK);
    CU_ASSERT_EQUAL_FATAL(tu_store_ingest(&s_f, st, s_key, cid, "v1", 5, &res), HUB_OK);
    CU_ASSERT_EQUAL_FATAL(hub_store_commit(st), HUB_OK);
    return res;
}

// One event per certificate (schemas/person.birth.yaml, one_event_per:
// body.certificate_no): health's certificate (no child ID) then the
// police's registration of the same certificate number (the child's new
// ID) is one birth, whichever comes first; another certificate is another
// birth. The store keeps the number only as a keyed hash, apart from
// subject keys.
static void
test_a_birth_is_one_event_per_certificate_number(void)
{
    hub_store_t *st = s_open(0);
    s_f.events = true;
    // Health first: police, civil affairs and rural revitalisation.
    hub_store_result_t cert = s_birth(st, 11, "health", NULL, "R513108124");
    CU_ASSERT(cert.deliveries == 3 && !cert.same_event && !cert.duplicate);
    hub_store_result_t reg = s_birth(st, 12, "public_security", "513431202608120022", "R513108124");
    CU_ASSERT_FALSE(reg.duplicate);
    CU_ASSERT_EQUAL(reg.same_event, cert.log_seq);
    CU_ASSERT_EQUAL(reg.deliveries, 0);
    // Police first (a home birth): civil affairs and rural revitalisation;
    // the certificate after it, about nobody yet, is the same birth.
    hub_store_result_t home =
        s_birth(st, 13, "public_security", "513431202608120030", "R513108125");
    CU_ASSERT(home.deliveries == 2 && !home.same_event);
    hub_store_result_t late = s_birth(st, 14, "health", NULL, "R513108125");
    CU_ASSERT_EQUAL(late.same_event, home.log_seq);
    CU_ASSERT_EQUAL(late.deliveries, 0);
    // The same child ID on another certificate is another birth (the key is
    // the certificate, not the subject).
    hub_store_result_t other =
        s_birth(st, 15, "public_security", "513431202608120022", "R513108126");
    CU_ASSERT(other.deliveries == 2 && !other.same_event);
    // The key: a keyed hash of field and number, not the subject key of
    // the number, nor of another field with that value.
    uint8_t event[HUB_STORE_HASH_SIZE], subject[HUB_STORE_HASH_SIZE], again[HUB_STORE_HASH_SIZE];
    CU_ASSERT_EQUAL(hub_store_event_key(st, "body.certificate_no", "R513108124", event), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_subject_key(st, "R513108124", subject), HUB_OK);
    CU_ASSERT_NOT_EQUAL(memcmp(event, subject, sizeof event), 0);
    CU_ASSERT_EQUAL(hub_store_event_key(st, "body.other_no", "R513108124", again), HUB_OK);
    CU_ASSERT_NOT_EQUAL(memcmp(event, again, sizeof event), 0);
    CU_ASSERT_EQUAL(hub_store_event_key(st, "body.certificate_no", NULL, again), HUB_EINVAL);
    s_f.events = false;
    hub_store_destroy(&st);
    CU_ASSERT(s_has_event_entry(s_f.dir, "person.birth", event));
    CU_ASSERT_FALSE(s_has_event_entry(s_f.dir, "person.birth", subject));
    // A read-only handle has no key: no event key either.
    CU_ASSERT_EQUAL(hub_store_open(&st, s_f.dir, 0, HUB_STORE_RDONLY, NULL, NULL), HUB_OK);
    CU_ASSERT_EQUAL(hub_store_event_key(st, "body.certificate_no", "R513108124", again),
                    HUB_EINVAL);
    hub_store_destroy(&st);
}

void
test_store_ops_register(void)
{
    CU_pSuite s = CU_add_suite("store_ops", s_init, s_cleanup);
    CU_add_test(s, "the operations log numbers its records and rides in an open batch",
                test_oplog_records_are_numbered_and_readable);
    CU_add_test(s, "rule-set versions keep their history and their first texts",
                test_ruleset_versions_keep_history_and_first_texts);
    CU_add_test(s, "a dropped dead letter's number is never given again",
                test_a_dropped_dead_letter_number_is_never_given_again);
    CU_add_test(s, "dropping from the top down never lowers the highest number given",
                test_dropping_from_the_top_down_never_lowers_the_highest_number);
    CU_add_test(s, "a second report of the same death is logged, not delivered",
                test_a_second_report_of_the_same_death_is_logged_not_delivered);
    CU_add_test(s, "a birth is one event per certificate number",
                test_a_birth_is_one_event_per_certificate_number);
    CU_add_test(s, "drop-behind hands back unread pages and loses nothing",
                test_drop_behind_hands_back_unread_pages_and_loses_nothing);
    CU_add_test(s, "a cursor rewinds, and a time finds the sequence to replay from",
                test_a_cursor_rewinds_and_a_time_finds_its_sequence);
}
