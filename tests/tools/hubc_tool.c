// hubc_tool: a small command-line client for tests and benchmarks, built
// on the client SDK (adapters/hub_client.h). Not a user tool: the
// department-facing ones are hub-adapter and hub-sink.
//   hubc_tool publish URL SERVER_PUB KEY_DIR NAME FILE...   (JSON or msgpack messages)
//   hubc_tool consume URL SERVER_PUB KEY_DIR NAME COUNT [TIMEOUT_MS]
//   hubc_tool outbox URL SERVER_PUB KEY_DIR NAME OUTBOX_DIR FILE...
// outbox puts the files into a durable outbox (with the cursor "files" set
// to their count, in the same transaction), flushes it and prints
// "outbox acked A duplicate D rejected R retry T pending P cursor C".
// publish prints one line per message: "ack ID log_seq N [duplicate]" or
// "nack ID code reason"; consume prints "deliver SEQ ID TYPE" per delivery,
// acknowledging each, until COUNT arrived or nothing came for TIMEOUT_MS.
#include "hub_buf.h"
#include "hub_client.h"
#include "hub_codec.h"
#include "hub_error.h"
#include "hub_json.h"
#include "hub_outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static int
s_publish(hubc_t *c, int nfiles, char **files)
{
    hub_buf_t *bufs = calloc((size_t) nfiles, sizeof *bufs);
    const void **msgs = calloc((size_t) nfiles, sizeof *msgs);
    size_t *lens = calloc((size_t) nfiles, sizeof *lens);
    hubc_result_t *res = calloc((size_t) nfiles, sizeof *res);
    int status = 0;
    for (int i = 0; i < nfiles; i++) {
        if (!s_load(files[i], &bufs[i])) {
            fprintf(stderr, "hubc_tool: %s: not a message\n", files[i]);
            return 1;
        }
        msgs[i] = bufs[i].data;
        lens[i] = bufs[i].len;
    }
    if (hubc_publish(c, msgs, lens, (size_t) nfiles, 256, res, 10000) != HUB_OK) {
        fprintf(stderr, "hubc_tool: no answer from the hub\n");
        status = 1;
    }
    for (int i = 0; status == 0 && i < nfiles; i++) {
        if (res[i].acked) {
            printf("ack %s log_seq %llu%s\n", files[i], (unsigned long long) res[i].log_seq,
                   res[i].duplicate ? " duplicate" : "");
        } else {
            printf("nack %s %s %s\n", files[i], res[i].code, res[i].reason);
        }
    }
    for (int i = 0; i < nfiles; i++) {
        hub_buf_free(&bufs[i]);
    }
    free(bufs);
    free(msgs);
    free(lens);
    free(res);
    return status;
}

static int
s_consume(hubc_t *c, long count, int timeout_ms)
{
    uint64_t acked = 0, last = 0;
    if (hubc_subscribe(c, 64, &acked, &last, 5000) != HUB_OK) {
        fprintf(stderr, "hubc_tool: subscribe failed\n");
        return 1;
    }
    printf("subscribed acked %llu last %llu\n", (unsigned long long) acked,
           (unsigned long long) last);
    uint64_t done = acked;
    for (long i = 0; i < count; i++) {
        hubc_delivery_t d;
        if (hubc_recv(c, done, &d, timeout_ms) != HUB_OK) {
            break;
        }
        printf("deliver %llu %s %s\n", (unsigned long long) d.seq, d.id, d.type);
        fflush(stdout);
        done = d.seq;
        hubc_dack(c, d.seq);
    }
    return 0;
}

static int
s_outbox(hubc_t *c, const char *dir, int nfiles, char **files)
{
    hub_diag_t *diag = hub_diag_new();
    hubc_outbox_t *box = NULL;
    if (hubc_outbox_open(&box, dir, diag) != HUB_OK) {
        hub_diag_print(diag, stderr);
        hub_diag_destroy(&diag);
        return 1;
    }
    hub_buf_t *bufs = calloc((size_t) nfiles + 1, sizeof *bufs);
    const void **msgs = calloc((size_t) nfiles + 1, sizeof *msgs);
    size_t *lens = calloc((size_t) nfiles + 1, sizeof *lens);
    int status = 0;
    for (int i = 0; i < nfiles && !status; i++) {
        status = s_load(files[i], &bufs[i]) ? 0 : 1;
        msgs[i] = bufs[i].data;
        lens[i] = bufs[i].len;
    }
    char cursor[32];
    int clen = snprintf(cursor, sizeof cursor, "%d", nfiles);
    status = status ? status
                    : hubc_outbox_put(box, msgs, lens, (size_t) nfiles, "files", cursor,
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
    for (int i = 0; i < nfiles; i++) {
        hub_buf_free(&bufs[i]);
    }
    free(bufs);
    free(msgs);
    free(lens);
    hubc_outbox_destroy(&box);
    hub_diag_destroy(&diag);
    return status;
}

int
main(int argc, char **argv)
{
    bool known = argc >= 7 && (strcmp(argv[1], "publish") == 0 ||
                               strcmp(argv[1], "consume") == 0 || strcmp(argv[1], "outbox") == 0);
    if (!known) {
        fprintf(stderr, "usage: hubc_tool publish|consume|outbox URL SERVER_PUB KEY_DIR NAME ...\n");
        return 2;
    }
    hub_diag_t *diag = hub_diag_new();
    hubc_t *c = NULL;
    if (hubc_connect(&c, argv[2], argv[3], argv[4], argv[5], 5000, diag) != HUB_OK) {
        hub_diag_print(diag, stderr);
        hub_diag_destroy(&diag);
        return 1;
    }
    int rc = strcmp(argv[1], "outbox") == 0 ? s_outbox(c, argv[6], argc - 7, argv + 7)
             : strcmp(argv[1], "publish") == 0
                 ? s_publish(c, argc - 6, argv + 6)
                 : s_consume(c, strtol(argv[6], NULL, 10), argc > 7 ? (int) strtol(argv[7], NULL, 10) : 2000);
    hubc_destroy(&c);
    hub_diag_destroy(&diag);
    return rc;
}
