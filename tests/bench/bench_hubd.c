// Benchmark of the whole hub, end to end on loopback: the real bin/hubd as a
// child process on a temporary configuration (a copy of config/ with its own
// keys, a store in the temporary directory and a free port), publisher and
// consumer threads in this process, each with its own hubc_t (the C SDK,
// adapters/hub_client.c) and so its own ZeroMQ context. Publishers send
// dropout messages (student.enrolment_change, change_type dropout, hukou
// 513429, a unique id each) that the shipped rules route to two endpoints,
// education@513429 and public_security@513429; one consumer per endpoint
// subscribes, receives and DACKs (every 64 deliveries, and when idle).
//
// One line per run: ingest (acked messages/s, over the publishing time),
// deliveries/s (received by the consumers, from the first publish to the
// last delivery) and the publisher-to-consumer latency p50/p99 (the send
// time is stamped per message id in the publisher; the consumer matches the
// delivery's origin_id). Two workloads: the realistic one, ids in no
// order (as hub-adapter makes them, from a hash of the record's key) about
// 1,000,000 different children (each a valid ID, birth date and student
// no. patched in), which the main lines use; and one child with ids in
// sequence, whose dedup and audit subject index entries all go to the
// right-hand edge of their trees (flattering a store that keys them by id
// or person: docs/STORE.md "Performance"). Runs, in this order:
//   paced       10,000 msg/s over 2 publishers, small batches on a schedule
//               (each call publishes what is due, stamped at the call):
//               1,000,000 people, then one child
//   saturation  4 publishers, hubc_publish on chunks of 512 with window 512
//               (each chunk is stamped when it is handed to hubc_publish: a
//               message waits at most the send of the chunk before it
//               goes), 1,000,000 people; then the same about one child; 2
//               publishers about one child: two chunks in flight no longer
//               keep hubd's two threads busy (one prepares a batch while the
//               other commits the one before), four do. With 4 the consumers
//               fall behind, and the latency is then the backlog's. Last, 4
//               publishers about one child that keep their window full: 4096
//               messages per hubc_publish call, 512 in flight, the next sent
//               as each is answered (as hub-adapter publishes its outbox:
//               4096 a round, 1024 in flight); a message's time in the
//               publisher waiting for a window slot counts in its latency.
// Each run twice, each time against a fresh hubd and store: with CURVE
// (hub.yaml security: curve, the default) and without it (security: plain:
// ZeroMQ PLAIN, username the endpoint id, password its token from `hubctl
// token`; nothing encrypted, so loopback only). A connection's identity is
// the same either way (the endpoint ZAP admitted, hence its department, the
// source it may publish as and the queue it may read): everything after the
// handshake runs the same code, and the difference between the two lines
// is what CURVE's encryption of every frame costs, on both sides. The last
// parenthesis of a line says which: "CURVE, loopback" or "plain (no CURVE),
// loopback".
//
// The clients share the machine with hubd: their threads (and their CURVE
// work, in their ZeroMQ I/O threads) take CPU hubd would otherwise have.
// So under each line a second says what a message cost each party in CPU
// time (hubd's threads; this process's, the clients'), total CPU over the
// run divided by the messages acked, and how busy the whole machine was:
// on 2 cores, N msg/s leaves 2,000,000/N µs a message for everyone.
//
// Needs bin/hubd and bin/hubctl (`make`); run from the repository root.
// HUB_BENCH_BIN=DIR takes hubd and hubctl from DIR instead of bin (a build
// of one's own: make BUILD=build/x BIN=build/x/bin).
// HUB_BENCH_PERF=FILE also runs `perf record -g` on hubd during the
// saturation run (FILE is perf's output); HUB_BENCH_KEEP=1 keeps the
// temporary directory (configuration, stores, hubd-curve.log and
// hubd-plain.log); HUB_BENCH_ONLY=saturation or paced runs just that one,
// HUB_BENCH_SECURITY=curve or plain just that security.
// To measure something else (the lines keep their names):
// HUB_BENCH_SECONDS=S makes each saturation run S seconds long (a
// growing store's memory costs change after the first seconds: docs/STORE.md);
// HUB_BENCH_CHUNK=N publishes N messages per hubc_publish call with
// HUB_BENCH_WINDOW (default 512) in flight, so a publisher keeps its window
// full instead of waiting for a whole chunk's answers before the next (the
// first three saturation lines; the last is defined by its own);
// HUB_BENCH_HUB_YAML="key: value" adds lines to hub.yaml ("batch_max: 1024",
// "store_drop_behind: 67108864").
#include "hub_client.h"
#include "hub_error.h"
#include "hub_ids.h"
#include "hub_mpr.h"

#include "hub_codec.h"
#include "hub_json.h"
#include "hub_msg.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define S_MAX_PUB 4
#define S_CAP 4000000 // messages a run may publish (latency stamps)
#define S_DACK_EVERY 64
#define S_CREDIT 1024
#define S_ID_PLACEHOLDER "0123456789abcdef0123456789abcdef"
#define S_CID "51342920140302046X" // the template child's ID (also in her student no.)
#define S_BIRTH "2014-03-02"

static const char *const s_consumers[] = {"education@513429", "public_security@513429"};
#define S_NCONS (sizeof s_consumers / sizeof s_consumers[0])
static const char *const s_publishers[S_MAX_PUB] = {"education@513400", "education@513401",
                                                    "education@513402", "education@513431"};

// The environment every thread shares (read-only once set up).
static struct {
    char dir[64]; // the temporary directory
    char url[64];
    char keys[128]; // DIR/cfg/keys
    char hub_pub[160];
    char hubd_bin[512];      // HUB_BENCH_BIN (default bin)/hubd
    char hubctl_bin[512];    // and hubctl
    hub_security_t security; // of the hubd running now, and of the clients
    pid_t hubd;
    uint8_t *tmpl; // the encoded message, id placeholder at tmpl + id_off
    size_t tmpl_len, id_off;
    size_t cid_off[4], ncid, birth_off; // the child's ID (and student no.), birth date
} G;

static int64_t
s_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

typedef struct {
    const char *name;
    double rate; // total msg/s; 0: saturation
    double secs;
    size_t window;   // saturation: messages in flight; paced: largest call
    size_t chunk;    // saturation: messages per hubc_publish call (0: WINDOW)
    uint64_t people; // >1: ids in no order, about that many people (else one child)
    int npub;
    uint64_t tag;             // the first 16 hex digits of every id of the run
    _Atomic int64_t *sent_ns; // per message index: when it was handed to the SDK
    atomic_size_t next_idx;
    atomic_int subscribed, pubs_done, failed;
    atomic_ullong acked, nacked;
    int64_t t_start; // when publishing starts
    atomic_llong t_pub_end, t_last_deliver;
} s_run_t;

typedef struct {
    s_run_t *run;
    const char *name;
    pthread_t thread;
    int32_t *lat_us; // one latency per delivery
    size_t nlat;
    uint64_t received;
} s_cons_t;

typedef struct {
    s_run_t *run;
    const char *name;
    double rate;
    pthread_t thread;
} s_pub_t;

// ---------------------------------------------------------------- setup

static int
s_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
s_sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    if (rc != 0) {
        fprintf(stderr, "bench hubd: failed (%d): %s\n", rc, cmd);
    }
    return rc;
}

// A free loopback port (the kernel's choice; free again once closed).
static int
s_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *) &a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *) &a, &alen) == 0) {
        port = ntohs(a.sin_port);
    }
    if (fd >= 0) {
        close(fd);
    }
    return port;
}

static int
s_config(void)
{
    char cwd[512];
    const char *bin = getenv("HUB_BENCH_BIN");
    bin = bin && *bin ? bin : "bin";
    snprintf(G.dir, sizeof G.dir, "/tmp/hub-bench-hubd-XXXXXX");
    snprintf(G.hubd_bin, sizeof G.hubd_bin, "%s/hubd", bin);
    snprintf(G.hubctl_bin, sizeof G.hubctl_bin, "%s/hubctl", bin);
    int port = s_free_port();
    if (!getcwd(cwd, sizeof cwd) || !mkdtemp(G.dir) || port < 0 || access(G.hubd_bin, X_OK) != 0 ||
        access(G.hubctl_bin, X_OK) != 0) {
        fprintf(stderr,
                "bench hubd: needs %s and %s (make; HUB_BENCH_BIN names another "
                "directory), run from the repository root\n",
                G.hubd_bin, G.hubctl_bin);
        return -1;
    }
    snprintf(G.url, sizeof G.url, "tcp://127.0.0.1:%d", port);
    snprintf(G.keys, sizeof G.keys, "%s/cfg/keys", G.dir);
    snprintf(G.hub_pub, sizeof G.hub_pub, "%s/hub.pub", G.keys);
    int rc = s_sh("cp -r config '%s/cfg' && rm -rf '%s' && mkdir -p '%s' '%s/var' && "
                  "sed -i 's|^schemas:.*|schemas: %s/schemas|' '%s/cfg/hub.yaml' && "
                  "printf 'listen: %s\\nstore: %s/var/store\\nstore_map_size: 8589934592\\n' "
                  ">>'%s/cfg/hub.yaml'",
                  G.dir, G.keys, G.keys, G.dir, cwd, G.dir, G.url, G.dir, G.dir);
    rc = rc ? rc
            : s_sh("'%s' keygen hub --dir '%s' >/dev/null && "
                   "'%s' keygen --hash-key '%s/hash.key' >/dev/null",
                   G.hubctl_bin, G.keys, G.hubctl_bin, G.keys);
    for (size_t i = 0; !rc && i < S_NCONS; i++) {
        rc = s_sh("'%s' keygen '%s' --dir '%s' >/dev/null", G.hubctl_bin, s_consumers[i], G.keys);
    }
    for (size_t i = 0; !rc && i < S_MAX_PUB; i++) {
        rc = s_sh("'%s' keygen '%s' --dir '%s' >/dev/null", G.hubctl_bin, s_publishers[i], G.keys);
    }
    // HUB_BENCH_HUB_YAML: lines of one's own for hub.yaml (to measure a
    // setting: "batch_max: 1024", "store_drop_behind: 67108864").
    const char *extra = getenv("HUB_BENCH_HUB_YAML");
    if (!rc && extra && *extra) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/cfg/hub.yaml", G.dir);
        FILE *f = fopen(path, "a");
        rc = !f || fprintf(f, "%s\n", extra) < 0;
        rc |= f && fclose(f) != 0;
    }
    return rc ? -1 : 0;
}

static const char *
s_security_name(hub_security_t security)
{
    return security == HUB_SECURITY_PLAIN ? "plain" : "curve";
}

// hub.yaml's security SECURITY, with a store of its own (each security's
// runs start from an empty store); for plain, the endpoints' tokens.
static int
s_set_security(hub_security_t security)
{
    const char *name = s_security_name(security);
    G.security = security;
    int rc = s_sh("sed -i '/^security:/d; /^store:/d' '%s/cfg/hub.yaml' && "
                  "printf 'security: %s\\nstore: %s/var/store-%s\\n' >>'%s/cfg/hub.yaml'",
                  G.dir, name, G.dir, name, G.dir);
    for (size_t i = 0; !rc && security == HUB_SECURITY_PLAIN && i < S_NCONS + S_MAX_PUB; i++) {
        rc = s_sh("'%s' token '%s' -c '%s/cfg' >/dev/null", G.hubctl_bin,
                  i < S_NCONS ? s_consumers[i] : s_publishers[i - S_NCONS], G.dir);
    }
    return rc ? -1 : 0;
}

// The credentials of endpoint NAME for the hubd running now.
static hubc_auth_t
s_auth(const char *name)
{
    return (hubc_auth_t){G.security, G.hub_pub, G.keys, name, NULL};
}

// Starts bin/hubd on the temporary configuration; waits for "started".
static int
s_hubd_start(void)
{
    char cfg[128], log[128];
    snprintf(cfg, sizeof cfg, "%s/cfg", G.dir);
    snprintf(log, sizeof log, "%s/hubd-%s.log", G.dir, s_security_name(G.security));
    G.hubd = fork();
    if (G.hubd == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int null = open("/dev/null", O_WRONLY);
        if (fd < 0 || null < 0 || dup2(fd, 2) < 0 || dup2(null, 1) < 0) {
            _exit(126);
        }
        execl(G.hubd_bin, "hubd", "-c", cfg, (char *) NULL);
        _exit(127);
    }
    if (G.hubd < 0) {
        return -1;
    }
    for (int i = 0; i < 200; i++) {
        static char text[65536];
        FILE *f = fopen(log, "r");
        size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
        if (f) {
            fclose(f);
        }
        text[n] = '\0';
        if (strstr(text, "event=started")) {
            return 0;
        }
        int status;
        if (waitpid(G.hubd, &status, WNOHANG) == G.hubd) {
            fprintf(stderr, "bench hubd: hubd exited at start:\n%s\n", text);
            G.hubd = 0;
            return -1;
        }
        struct timespec ts = {0, 50000000};
        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "bench hubd: hubd did not start (see %s)\n", log);
    return -1;
}

static void
s_hubd_stop(void)
{
    if (G.hubd > 0) {
        int status;
        kill(G.hubd, SIGTERM);
        waitpid(G.hubd, &status, 0);
        G.hubd = 0;
    }
}

// The message template: the shipped dropout example, encoded, with a
// placeholder id to patch per message.
static int
s_template(void)
{
    FILE *f = fopen("tests/data/messages/student.enrolment_change.json", "rb");
    static char text[65536];
    size_t n = f ? fread(text, 1, sizeof text, f) : 0;
    if (f) {
        fclose(f);
    }
    hub_msg_t *m = hub_msg_new();
    hub_buf_t enc = {0};
    int rc = m ? hub_json_to_msg(m, text, n, NULL, NULL) : HUB_ENOMEM;
    rc = rc ? rc : hub_msg_set_env_str(m, HUB_ENV_ID, S_ID_PLACEHOLDER);
    rc = rc ? rc : hub_codec_encode(m, &enc);
    hub_msg_destroy(&m);
    size_t plen = strlen(S_ID_PLACEHOLDER);
    G.ncid = 0;
    G.birth_off = 0;
    for (size_t i = 0; !rc && i + 18 <= enc.len; i++) { // where a person is patched in
        if (memcmp(enc.data + i, S_CID, 18) == 0 && G.ncid < 4) {
            G.cid_off[G.ncid++] = i;
        } else if (memcmp(enc.data + i, S_BIRTH, 10) == 0) {
            G.birth_off = i;
        }
    }
    for (size_t i = 0; !rc && G.ncid && G.birth_off && i + plen <= enc.len; i++) {
        if (memcmp(enc.data + i, S_ID_PLACEHOLDER, plen) == 0) {
            G.tmpl = enc.data;
            G.tmpl_len = enc.len;
            G.id_off = i;
            return 0;
        }
    }
    hub_buf_free(&enc);
    fprintf(stderr, "bench hubd: cannot build the message template\n");
    return -1;
}

// splitmix64's finalizer, a bijection on 64 bits, and its inverse: ids in
// no order that still name their message's index.
static uint64_t
s_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t
s_unmix(uint64_t z)
{
    z = (z ^ (z >> 31) ^ (z >> 62)) * 0x319642b2d24d8ec3ULL;
    z = (z ^ (z >> 27) ^ (z >> 54)) * 0x96de1b173f119089ULL;
    return z ^ (z >> 30) ^ (z >> 60);
}

// Person K of G.people: a girl born K / 500 days after 2008-01-01 (the
// template's sex, 2), sequence (K % 500) * 2, her ID's check character
// computed; patched into the ID, the student no. (G + ID) and the birth
// date, so that the message still validates.
static void
s_put_person(uint8_t *msg, uint64_t k)
{
    int64_t z = 13879 + (int64_t) (k / 500) + 719468; // 2008-01-01 in days since 1970, shifted
    int64_t era = z / 146097, doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    int d = (int) (doy - (153 * mp + 2) / 5 + 1), m = (int) (mp < 10 ? mp + 3 : mp - 9);
    int y = (int) (yoe + era * 400 + (m <= 2));
    char cid[20], birth[12];
    snprintf(cid, sizeof cid, "513429%04d%02d%02d%03u", y, m, d, (unsigned) (k % 500) * 2);
    cid[17] = hub_cid_check_char(cid);
    snprintf(birth, sizeof birth, "%04d-%02d-%02d", y, m, d);
    for (size_t i = 0; i < G.ncid; i++) {
        memcpy(msg + G.cid_off[i], cid, 18);
    }
    memcpy(msg + G.birth_off, birth, 10);
}

// Message IDX of the run tagged TAG: its id (the index in the second half,
// in order, or mixed when the run is about many people) and its person.
static void
s_put_id(uint8_t *msg, uint64_t tag, uint64_t idx, uint64_t people)
{
    char id[40];
    snprintf(id, sizeof id, "%016llx%016llx", (unsigned long long) tag,
             (unsigned long long) (people > 1 ? s_mix(idx) : idx));
    memcpy(msg + G.id_off, id, 32);
    if (people > 1) {
        s_put_person(msg, s_mix(idx ^ tag) % people);
    }
}

static bool
s_hex64(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    for (int i = 0; i < 16; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0) {
            return false;
        }
        v = v << 4 | (uint64_t) d;
    }
    *out = v;
    return true;
}

// ---------------------------------------------------------------- threads

static void *
s_consumer(void *arg)
{
    s_cons_t *c = arg;
    s_run_t *run = c->run;
    hub_diag_t *diag = hub_diag_new();
    hubc_t *h = NULL;
    uint64_t acked = 0, last = 0;
    hubc_auth_t auth = s_auth(c->name);
    if (hubc_connect_auth(&h, G.url, &auth, 5000, diag) != HUB_OK ||
        hubc_subscribe(h, S_CREDIT, &acked, &last, 5000) != HUB_OK) {
        hub_diag_print(diag, stderr);
        fprintf(stderr, "bench hubd: consumer %s cannot subscribe\n", c->name);
        atomic_store(&run->failed, 1);
        atomic_fetch_add(&run->subscribed, 1);
        hubc_destroy(&h);
        hub_diag_destroy(&diag);
        return NULL;
    }
    atomic_fetch_add(&run->subscribed, 1);
    uint64_t done = acked, dacked = acked; // done: the last seq processed
    int64_t idle_since = 0;
    for (;;) {
        hubc_delivery_t d;
        int rc = hubc_recv(h, done, &d, 20);
        if (rc == HUB_OK) {
            int64_t now = s_ns();
            const char *oid = d.origin_id;
            uint64_t tag, idx;
            done = d.seq;
            // Only this run's messages count (a redelivery of an earlier
            // run's would be acknowledged and otherwise ignored).
            if (strlen(oid) == 32 && s_hex64(oid, &tag) && tag == run->tag &&
                s_hex64(oid + 16, &idx) && (idx = run->people > 1 ? s_unmix(idx) : idx) < S_CAP) {
                int64_t t0 = atomic_load_explicit(&run->sent_ns[idx], memory_order_relaxed);
                if (t0 > 0 && c->nlat < S_CAP) {
                    c->lat_us[c->nlat++] = (int32_t) ((now - t0) / 1000);
                }
                c->received++;
                int64_t seen = atomic_load(&run->t_last_deliver);
                while (seen < now &&
                       !atomic_compare_exchange_weak(&run->t_last_deliver, &seen, now)) {
                }
            }
            idle_since = 0;
            if (done - dacked >= S_DACK_EVERY) {
                hubc_dack(h, done);
                dacked = done;
            }
            continue;
        }
        if (rc != HUB_ENOTFOUND) {
            fprintf(stderr, "bench hubd: consumer %s: %s\n", c->name, hub_strerror(rc));
            atomic_store(&run->failed, 1);
            break;
        }
        if (done > dacked) { // idle: acknowledge the rest
            hubc_dack(h, done);
            dacked = done;
        }
        if (atomic_load(&run->pubs_done) == run->npub) {
            if (c->received >= atomic_load(&run->acked)) {
                break;
            }
            idle_since = idle_since ? idle_since : s_ns();
            if (s_ns() - idle_since > 5000000000LL || atomic_load(&run->failed)) {
                fprintf(stderr, "bench hubd: consumer %s: %llu of %llu deliveries\n", c->name,
                        (unsigned long long) c->received,
                        (unsigned long long) atomic_load(&run->acked));
                break;
            }
        }
    }
    hubc_destroy(&h);
    hub_diag_destroy(&diag);
    return NULL;
}

// Publishes COUNT messages from index BASE in one hubc_publish call.
static int
s_publish(s_run_t *run, hubc_t *h, uint8_t *buf, const void **ptrs, size_t *lens,
          hubc_result_t *res, size_t base, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        uint8_t *m = buf + i * G.tmpl_len;
        s_put_id(m, run->tag, base + i, run->people);
        ptrs[i] = m;
        lens[i] = G.tmpl_len;
    }
    int64_t now = s_ns();
    for (size_t i = 0; i < count; i++) {
        atomic_store_explicit(&run->sent_ns[base + i], now, memory_order_relaxed);
    }
    size_t window = run->rate > 0 ? count : run->window;
    if (hubc_publish(h, (const void *const *) ptrs, lens, count, window, res, 10000) != HUB_OK) {
        fprintf(stderr, "bench hubd: hubc_publish timed out\n");
        return -1;
    }
    uint64_t ok = 0;
    for (size_t i = 0; i < count; i++) {
        ok += res[i].acked;
        if (!res[i].acked && ok == i) { // the first NACK of the call
            fprintf(stderr, "bench hubd: NACK %s: %s\n", res[i].code, res[i].reason);
        }
    }
    atomic_fetch_add(&run->acked, ok);
    atomic_fetch_add(&run->nacked, count - ok);
    return 0;
}

static void *
s_publisher(void *arg)
{
    s_pub_t *p = arg;
    s_run_t *run = p->run;
    hub_diag_t *diag = hub_diag_new();
    hubc_t *h = NULL;
    size_t cap = run->chunk ? run->chunk : run->window;
    uint8_t *buf = malloc(cap * G.tmpl_len);
    const void **ptrs = calloc(cap, sizeof *ptrs);
    size_t *lens = calloc(cap, sizeof *lens);
    hubc_result_t *res = calloc(cap, sizeof *res);
    hubc_auth_t auth = s_auth(p->name);
    if (!buf || !ptrs || !lens || !res ||
        hubc_connect_auth(&h, G.url, &auth, 5000, diag) != HUB_OK) {
        hub_diag_print(diag, stderr);
        atomic_store(&run->failed, 1);
        goto out;
    }
    for (size_t i = 0; i < cap; i++) { // the ids are patched in per message
        memcpy(buf + i * G.tmpl_len, G.tmpl, G.tmpl_len);
    }
    // Start together (the connect took a moment).
    while (s_ns() < run->t_start) {
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
    int64_t end = run->t_start + (int64_t) (run->secs * 1e9);
    uint64_t mine = 0; // paced: messages published by this thread
    while (!atomic_load(&run->failed)) {
        int64_t now = s_ns();
        if (now >= end) {
            break;
        }
        size_t count = cap;
        if (run->rate > 0) {
            uint64_t due = (uint64_t) ((double) (now - run->t_start) * p->rate / 1e9) + 1;
            if (due <= mine) { // ahead of the schedule: sleep until the next one
                int64_t at = run->t_start + (int64_t) ((double) (mine) *1e9 / p->rate);
                struct timespec ts = {at / 1000000000, at % 1000000000};
                clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
                continue;
            }
            count = due - mine < cap ? due - mine : cap;
        }
        size_t base = atomic_fetch_add(&run->next_idx, count);
        if (base + count > S_CAP) {
            break;
        }
        if (s_publish(run, h, buf, ptrs, lens, res, base, count) != 0) {
            atomic_store(&run->failed, 1);
            break;
        }
        mine += count;
    }
out:
    atomic_store(&run->t_pub_end, s_ns()); // the last one to finish wins
    atomic_fetch_add(&run->pubs_done, 1);
    hubc_destroy(&h);
    free(buf);
    free(ptrs);
    free(lens);
    free(res);
    hub_diag_destroy(&diag);
    return NULL;
}

// ---------------------------------------------------------------- runs

static int
s_cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *) a, y = *(const int32_t *) b;
    return (x > y) - (x < y);
}

// CPU time, in µs, that the run's parties spent: hubd (all its threads, from
// /proc/PID/stat), this process (the clients: publishers, consumers and
// their ZeroMQ I/O threads) and the whole machine, busy and idle (/proc/stat).
typedef struct {
    double hubd, clients, busy, idle;
} s_cpu_t;

static void
s_cpu_read(s_cpu_t *out)
{
    double tick = 1e6 / (double) sysconf(_SC_CLK_TCK);
    *out = (s_cpu_t){0};
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int) G.hubd);
    FILE *f = fopen(path, "r");
    if (f && fgets(line, sizeof line, f)) {
        // Fields 14 and 15 (utime, stime) follow the command name's ')'.
        const char *p = strrchr(line, ')');
        unsigned long long ut = 0, st = 0;
        if (p &&
            sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) == 2) {
            out->hubd = (double) (ut + st) * tick;
        }
    }
    if (f) {
        fclose(f);
    }
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        out->clients = (double) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
                       (double) (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
    }
    f = fopen("/proc/stat", "r");
    unsigned long long v[8] = {0};
    if (f && fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                    &v[4], &v[5], &v[6], &v[7]) == 8) {
        out->idle = (double) (v[3] + v[4]) * tick; // idle, iowait
        out->busy = (double) (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) * tick;
    }
    if (f) {
        fclose(f);
    }
}

static pid_t
s_perf_start(void)
{
    const char *out = getenv("HUB_BENCH_PERF");
    if (!out || !*out) {
        return 0;
    }
    pid_t pid = fork();
    if (pid == 0) {
        char hubd[16];
        snprintf(hubd, sizeof hubd, "%d", (int) G.hubd);
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) {
            dup2(null, 1);
        }
        execlp("perf", "perf", "record", "-g", "-o", out, "-p", hubd, (char *) NULL);
        _exit(127);
    }
    struct timespec ts = {0, 300000000}; // perf attaches
    nanosleep(&ts, NULL);
    return pid;
}

static void
s_perf_stop(pid_t pid)
{
    if (pid > 0) {
        int status;
        kill(pid, SIGINT);
        waitpid(pid, &status, 0);
    }
}

static int
s_run(s_run_t *run)
{
    static _Atomic int64_t sent_ns[S_CAP];
    static s_cons_t cons[S_NCONS];
    s_pub_t pubs[S_MAX_PUB];
    for (size_t i = 0; i < S_CAP; i++) {
        atomic_store_explicit(&sent_ns[i], 0, memory_order_relaxed);
    }
    run->sent_ns = sent_ns;
    for (size_t i = 0; i < S_NCONS; i++) {
        cons[i] = (s_cons_t){run, s_consumers[i], 0, cons[i].lat_us, 0, 0};
        if (!cons[i].lat_us && !(cons[i].lat_us = malloc(S_CAP * sizeof(int32_t)))) {
            return -1;
        }
        pthread_create(&cons[i].thread, NULL, s_consumer, &cons[i]);
    }
    while (atomic_load(&run->subscribed) < (int) S_NCONS) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    pid_t perf = run->rate > 0 ? 0 : s_perf_start();
    s_cpu_t cpu0, cpu1;
    s_cpu_read(&cpu0);
    run->t_start = s_ns() + 200000000; // the publishers connect meanwhile
    for (int i = 0; i < run->npub; i++) {
        pubs[i] = (s_pub_t){run, s_publishers[i], run->rate / run->npub, 0};
        pthread_create(&pubs[i].thread, NULL, s_publisher, &pubs[i]);
    }
    for (int i = 0; i < run->npub; i++) {
        pthread_join(pubs[i].thread, NULL);
    }
    s_perf_stop(perf);
    size_t nlat = 0;
    uint64_t delivered = 0;
    for (size_t i = 0; i < S_NCONS; i++) {
        pthread_join(cons[i].thread, NULL);
        delivered += cons[i].received;
        nlat += cons[i].nlat;
    }
    s_cpu_read(&cpu1);
    int32_t *lat = malloc((nlat ? nlat : 1) * sizeof *lat);
    if (!lat) {
        return -1;
    }
    nlat = 0;
    for (size_t i = 0; i < S_NCONS; i++) {
        memcpy(lat + nlat, cons[i].lat_us, cons[i].nlat * sizeof *lat);
        nlat += cons[i].nlat;
    }
    qsort(lat, nlat, sizeof *lat, s_cmp_i32);
    double pub_s = (double) (atomic_load(&run->t_pub_end) - run->t_start) / 1e9;
    double del_s = (double) (atomic_load(&run->t_last_deliver) - run->t_start) / 1e9;
    uint64_t acked = atomic_load(&run->acked), nacked = atomic_load(&run->nacked);
    double p50 = nlat ? lat[nlat / 2] / 1000.0 : 0, p99 = nlat ? lat[nlat * 99 / 100] / 1000.0 : 0;
    printf("bench hubd: %-44s %8.0f msg/s ingest (acked)  %8.0f deliveries/s  latency p50 "
           "%6.2f ms  p99 %7.2f ms  (%llu msgs, %llu deliveries, %s, loopback)\n",
           run->name, (double) acked / pub_s, (double) delivered / (del_s > 0 ? del_s : 1), p50,
           p99, (unsigned long long) acked, (unsigned long long) delivered,
           G.security == HUB_SECURITY_PLAIN ? "plain (no CURVE)" : "CURVE");
    // Where the machine's time went, per message acked: what a message costs
    // each party whatever the hour's speed, and what is left over.
    double per = acked ? 1.0 / (double) acked : 0;
    double busy = cpu1.busy - cpu0.busy, idle = cpu1.idle - cpu0.idle;
    printf("bench hubd: %-44s cpu per message: hubd %5.1f us, clients %5.1f us; machine "
           "%3.0f%% busy\n",
           "", (cpu1.hubd - cpu0.hubd) * per, (cpu1.clients - cpu0.clients) * per,
           busy + idle > 0 ? 100.0 * busy / (busy + idle) : 0);
    fflush(stdout);
    free(lat);
    int bad = atomic_load(&run->failed) || nacked || delivered != acked * S_NCONS;
    if (bad) {
        fprintf(stderr, "bench hubd: %s: %llu nacked, %llu of %llu deliveries\n", run->name,
                (unsigned long long) nacked, (unsigned long long) delivered,
                (unsigned long long) acked * S_NCONS);
    }
    return bad ? -1 : 0;
}

// The runs HUB_BENCH_ONLY asks for against a fresh hubd with SECURITY;
// TAG tells this security's messages from the other's.
static int
s_runs(hub_security_t security, uint64_t tag)
{
    // Saturation: publishers, chunk (0: the window), people (0: one child).
    s_run_t sat[] = {
        {.name = "saturation, 4 publishers, 1,000,000 people", .npub = 4, .people = 1000000},
        {.name = "saturation, 4 publishers, one child", .npub = 4},
        {.name = "saturation, 2 publishers, one child", .npub = 2},
        {.name = "saturation, 4 publishers, one child, window kept full", .npub = 4, .chunk = 4096},
    };
    s_run_t paced[] = {
        {.name = "paced 10000 msg/s, 2 publishers, 1,000,000 people",
         .people = 1000000,
         .tag = tag | 2},
        {.name = "paced 10000 msg/s, 2 publishers, one child", .tag = tag | 6},
    };
    for (size_t i = 0; i < sizeof paced / sizeof paced[0]; i++) {
        paced[i].rate = 10000;
        paced[i].secs = 3;
        paced[i].window = 256;
        paced[i].npub = 2;
    }
    const char *secs = getenv("HUB_BENCH_SECONDS"); // the saturation runs' length
    const char *chunk = getenv("HUB_BENCH_CHUNK"), *window = getenv("HUB_BENCH_WINDOW");
    for (size_t i = 0; i < sizeof sat / sizeof sat[0]; i++) {
        s_run_t *r = &sat[i];
        r->secs = secs && *secs ? strtod(secs, NULL) : 3;
        r->window = 512;
        r->tag = tag | (i == 0 ? 1 : 2 + i); // 1, 3, 4, 5: never paced's 2 and 6
        if (i < 3 && chunk && *chunk) {      // the knobs change the first three lines only
            r->chunk = strtoul(chunk, NULL, 10);
        }
        if (i < 3 && window && *window) {
            r->window = strtoul(window, NULL, 10);
        }
    }
    const char *only = getenv("HUB_BENCH_ONLY");
    int rc = s_set_security(security) || s_hubd_start();
    // Paced first, on a young store, as a hub mostly runs; then saturation.
    for (size_t i = 0; i < sizeof paced / sizeof paced[0]; i++) {
        rc = rc || (only && strcmp(only, "paced") != 0) ? rc : s_run(&paced[i]);
    }
    for (size_t i = 0; i < sizeof sat / sizeof sat[0]; i++) {
        rc = rc || (only && strcmp(only, "saturation") != 0) ? rc : s_run(&sat[i]);
    }
    s_hubd_stop();
    // Its store goes, and its pages reach the disk, before the next
    // security's runs: the kernel writing them back would be charged to
    // those.
    if (!getenv("HUB_BENCH_KEEP")) {
        s_sh("rm -rf '%s/var/store-%s'", G.dir, s_security_name(security));
    }
    s_sh("sync");
    return rc;
}

int
main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const char *sec = getenv("HUB_BENCH_SECURITY");
    if (sec && *sec && strcmp(sec, "curve") != 0 && strcmp(sec, "plain") != 0) {
        fprintf(stderr, "bench hubd: HUB_BENCH_SECURITY is curve or plain, not '%s'\n", sec);
        return 1;
    }
    int rc = s_template() || s_config();
    uint64_t tag = (uint64_t) time(NULL) << 16;
    static const hub_security_t securities[] = {HUB_SECURITY_CURVE, HUB_SECURITY_PLAIN};
    for (size_t i = 0; !rc && i < 2; i++) {
        if (!sec || !*sec || strcmp(sec, s_security_name(securities[i])) == 0) {
            rc = s_runs(securities[i], tag | (uint64_t) (i + 1) << 4);
        }
    }
    if (G.dir[0] && strcmp(G.dir, "/tmp/hub-bench-hubd-XXXXXX") != 0) {
        if (getenv("HUB_BENCH_KEEP")) {
            fprintf(stderr, "bench hubd: kept %s\n", G.dir);
        } else {
            s_sh("rm -rf '%s'", G.dir);
        }
    }
    free(G.tmpl);
    return rc ? 1 : 0;
}
