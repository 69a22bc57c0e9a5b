// hubc_tool: a small command-line client for tests and benchmarks, built
// on the client SDK (adapters/hub_client.h). Not a user tool: the
// department-facing ones are hub-adapter and hub-sink.
//   hubc_tool publish URL SERVER_PUB KEY_DIR NAME FILE...   (JSON or msgpack messages)
//   hubc_tool consume URL SERVER_PUB KEY_DIR NAME COUNT [TIMEOUT_MS [LAST_DONE]]
//   hubc_tool outbox URL SERVER_PUB KEY_DIR NAME OUTBOX_DIR FILE...
// outbox puts the files into a durable outbox (with the cursor "files" set
// to their count, in the same transaction), flushes it and prints
// "outbox acked A duplicate D rejected R retry T pending P cursor C".
// publish prints one line per message: "ack ID log_seq N [duplicate]
// [same_event M]",
// "nack ID code reason", or "noanswer ID" when the hub fell silent (then
// it exits 1); consume prints "deliver SEQ ID TYPE ORIGIN_ID" per delivery,
// acknowledging each, until COUNT arrived or nothing came for TIMEOUT_MS.
// A delivery at or below LAST_DONE (default: the hub's acknowledged seq)
// was processed already: consume prints "drop SEQ ID TYPE", acknowledges
// it and goes on; with HUBC_SDK_DROPS=1 hubc_recv() drops (and
// acknowledges) those itself, unseen. Environment: HUBC_TIMEOUT_MS bounds
// every wait for the hub (default 5000 to connect and subscribe, 10000 for
// publish answers);
// HUBC_ENDPOINT makes consume subscribe to that endpoint instead of its
// own (the hub refuses: a test of that). HUBC_PACE_MS slows the tool
// down for crash tests: publish sends slices of HUBC_WINDOW messages
// (default 256 in flight) with that pause between them; consume pauses
// that long after printing each new delivery, before acknowledging it.
// HUBC_IDLE_MS: the tool sits that long without calling the SDK after it
// connected (consume: after it subscribed), so that the hub drops the
// silent session and the SDK must take it back.
// HUBC_SECURITY=plain connects with PLAIN (a hub with hub.yaml security:
// plain): username NAME, the token in KEY_DIR/NAME.token (HUBC_TOKEN: that
// token instead); SERVER_PUB is not read then.
#include "hub_buf.h"
#include "hub_client.h"
#include "hub_codec.h"
#include "hub_error.h"
#include "hub_json.h"
#include "hub_outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

// Environment variable NAME as a number, else DEFAULT.
static long
s_env(const char *name, long def)
{
    const char *t = getenv(name);
    return t && *t ? strtol(t, NULL, 10) : def;
}

// HUBC_TIMEOUT_MS, else DEFAULT_MS.
static int
s_timeout(int default_ms)
{
    return (int) s_env("HUBC_TIMEOUT_MS", default_ms);
}

static void
s_pause(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    while (ms > 0 && nanosleep(&ts, &ts) != 0) {
    }
}

static bool
s_read(const char *path, hub_buf_t *out)
{
    FILE *f = fopen(path, "rb");
    char chunk[65536];
    size_t n;
    while (f && (n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        hub_buf_append(out, chunk, n);
    }
    return f && fclose(f) == 0;
}

// A file's message as canonical msgpack in OUT (JSON files are converted).
static bool
s_load(const char *path, hub_buf_t *out)
{
    hub_buf_t raw = HUB_BUF_INIT;
    bool ok = s_read(path, &raw);
    if (ok && raw.len && raw.data[0] == '{') {
        hub_msg_t *m = hub_msg_new();
        ok = hub_json_to_msg(m, (const char *) raw.data, raw.len, path, NULL) == HUB_OK &&
             hub_codec_encode(m, out) == HUB_OK;
        hub_msg_destroy(&m);
    } else if (ok) {
        hub_buf_append(out, raw.data, raw.len);
    }
    hub_buf_free(&raw);
    return ok;
}

// The files' messages, loaded before the tool connects: loading thousands
// takes seconds under a sanitizer on a busy machine, and a connection
// silent that long loses its session (three heartbeat intervals).
typedef struct {
    int n;
    hub_buf_t *bufs;
    const void **msgs;
    size_t *lens;
} s_files_t;

static bool
s_files_load(s_files_t *f, int nfiles, char **files)
{
    f->n = nfiles;
    f->bufs = calloc((size_t) nfiles + 1, sizeof *f->bufs);
    f->msgs = calloc((size_t) nfiles + 1, sizeof *f->msgs);
    f->lens = calloc((size_t) nfiles + 1, sizeof *f->lens);
    for (int i = 0; i < nfiles; i++) {
        if (!s_load(files[i], &f->bufs[i])) {
            fprintf(stderr, "hubc_tool: %s: not a message\n", files[i]);
            return false;
        }
        f->msgs[i] = f->bufs[i].data;
        f->lens[i] = f->bufs[i].len;
    }
    return true;
}

static void
s_files_free(s_files_t *f)
{
    for (int i = 0; i < f->n; i++) {
        hub_buf_free(&f->bufs[i]);
    }
    free(f->bufs);
    free(f->msgs);
    free(f->lens);
}

static int
s_publish(hubc_t *c, const s_files_t *f, char **files)
{
    int nfiles = f->n;
    const void *const *msgs = f->msgs;
    const size_t *lens = f->lens;
    hubc_result_t *res = calloc((size_t) nfiles + 1, sizeof *res);
    int status = 0;
    long pace = s_env("HUBC_PACE_MS", 0), window = s_env("HUBC_WINDOW", 256);
    size_t n = (size_t) nfiles, step = pace > 0 && window > 0 ? (size_t) window : n;
    for (size_t at = 0; at < n && status == 0; at += step) {
        size_t k = n - at < step ? n - at : step;
        s_pause(at ? pace : 0);
        if (hubc_publish(c, msgs + at, lens + at, k, window > 0 ? (size_t) window : 256, res + at,
                         s_timeout(10000)) != HUB_OK) {
            fprintf(stderr, "hubc_tool: no answer from the hub\n");
            status = 1;
        }
    }
    // Every answer that came is printed, even after a timeout: a test that
    // kills the hub learns exactly which messages it must resend.
    for (int i = 0; i < nfiles; i++) {
        if (res[i].ref == 0) {
            printf("noanswer %s\n", files[i]);
        } else if (res[i].acked) {
            printf("ack %s log_seq %llu%s", files[i], (unsigned long long) res[i].log_seq,
                   res[i].duplicate ? " duplicate" : "");
            if (res[i].same_event) {
                printf(" same_event %llu", (unsigned long long) res[i].same_event);
            }
            printf("\n");
        } else {
            printf("nack %s %s %s\n", files[i], res[i].code, res[i].reason);
        }
    }
    free(res);
    return status;
}

static int
s_consume(hubc_t *c, long count, int timeout_ms, const char *last_done)
{
    uint64_t acked = 0, last = 0;
    const char *ep = getenv("HUBC_ENDPOINT");
    int rc =
        hubc_subscribe_to(c, ep && *ep ? ep : hubc_identity(c), 64, &acked, &last, s_timeout(5000));
    if (rc != HUB_OK) {
        fprintf(stderr, "hubc_tool: subscribe failed: %s\n",
                rc == HUB_EINVAL ? hubc_error(c) : hub_strerror(rc));
        return 1;
    }
    printf("subscribed acked %llu last %llu\n", (unsigned long long) acked,
           (unsigned long long) last);
    fflush(stdout);
    s_pause(s_env("HUBC_IDLE_MS", 0));
    uint64_t done = last_done ? strtoull(last_done, NULL, 10) : acked;
    for (long i = 0; i < count;) {
        hubc_delivery_t d;
        // Drops are done here, not by hubc_recv(), to show them (unless
        // HUBC_SDK_DROPS asks for the SDK's own).
        if (hubc_recv(c, s_env("HUBC_SDK_DROPS", 0) ? done : 0, &d, timeout_ms) != HUB_OK) {
            break;
        }
        bool again = d.seq <= done;
        printf("%s %llu %s %s %s\n", again ? "drop" : "deliver", (unsigned long long) d.seq, d.id,
               d.type, d.origin_id);
        fflush(stdout); // "durable on our side" before the DACK
        s_pause(again ? 0 : s_env("HUBC_PACE_MS", 0));
        done = again ? done : d.seq;
        i += !again;
        hubc_dack(c, d.seq);
    }
    return 0;
}

static int
s_outbox(hubc_t *c, const char *dir, const s_files_t *f)
{
    hub_diag_t *diag = hub_diag_new();
    hubc_outbox_t *box = NULL;
    if (hubc_outbox_open(&box, dir, diag) != HUB_OK) {
        hub_diag_print(diag, stderr);
        hub_diag_destroy(&diag);
        return 1;
    }
    int nfiles = f->n;
    char cursor[32];
    int clen = snprintf(cursor, sizeof cursor, "%d", nfiles);
    int status = hubc_outbox_put(box, f->msgs, f->lens, (size_t) nfiles, "files", cursor,
                                 (size_t) clen) != HUB_OK;
    hubc_flush_t st = {0};
    int rc = status ? HUB_OK : hubc_outbox_flush(box, c, 256, 10000, &st);
    size_t got = 0;
    char back[32] = "";
    hubc_outbox_cursor(box, "files", back, sizeof back - 1, &got);
    back[got < sizeof back ? got : sizeof back - 1] = '\0';
    printf("outbox acked %zu duplicate %zu rejected %zu retry %zu pending %zu cursor %s%s\n",
           st.acked, st.duplicate, st.rejected, st.retry, hubc_outbox_pending(box), back,
           rc ? " (no answer)" : "");
    hubc_outbox_destroy(&box);
    hub_diag_destroy(&diag);
    return status;
}

int
main(int argc, char **argv)
{
    bool known = argc >= 7 && (strcmp(argv[1], "publish") == 0 || strcmp(argv[1], "consume") == 0 ||
                               strcmp(argv[1], "outbox") == 0);
    if (!known) {
        fprintf(stderr,
                "usage: hubc_tool publish|consume|outbox URL SERVER_PUB KEY_DIR NAME ...\n");
        return 2;
    }
    bool outbox = strcmp(argv[1], "outbox") == 0, publish = strcmp(argv[1], "publish") == 0;
    s_files_t files = {0};
    if ((outbox || publish) && !s_files_load(&files, argc - 6 - outbox, argv + 6 + outbox)) {
        s_files_free(&files);
        return 1;
    }
    hub_diag_t *diag = hub_diag_new();
    hubc_t *c = NULL;
    const char *sec = getenv("HUBC_SECURITY"), *token = getenv("HUBC_TOKEN");
    hubc_auth_t auth = {sec && strcmp(sec, "plain") == 0 ? HUB_SECURITY_PLAIN : HUB_SECURITY_CURVE,
                        argv[3], argv[4], argv[5], token && *token ? token : NULL};
    int rc = 1;
    if (hubc_connect_auth(&c, argv[2], &auth, s_timeout(5000), diag) != HUB_OK) {
        hub_diag_print(diag, stderr);
    } else {
        s_pause(strcmp(argv[1], "consume") ? s_env("HUBC_IDLE_MS", 0) : 0);
        rc = outbox    ? s_outbox(c, argv[6], &files)
             : publish ? s_publish(c, &files, argv + 6)
                       : s_consume(c, strtol(argv[6], NULL, 10),
                                   argc > 7 ? (int) strtol(argv[7], NULL, 10) : 2000,
                                   argc > 8 ? argv[8] : NULL);
    }
    s_files_free(&files);
    hubc_destroy(&c);
    hub_diag_destroy(&diag);
    return rc;
}
