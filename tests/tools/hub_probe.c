// hub_probe: a raw protocol client for security tests. It speaks the
// frames of docs/PROTOCOL.md directly (no SDK: it sends exactly what it is
// told, in any order, HELLO included or not) and prints every answer.
//   hub_probe URL SERVER_PUB KEY_DIR NAME [-r RID] [-w MS] COMMAND...
// Each COMMAND is one argument, "WORD key=value ...": a command sent with
// a map of those pairs as its body (a value of digits is an unsigned
// integer, true/false a boolean, anything else a string); "sleep MS"
// waits. After each command it prints every message that comes until MS
// (-w, default 300) pass in silence, as "< WORD key=value ..." (top-level
// keys; a binary as <bin N>, an array as [N], a map as {N}), and
// "! disconnected" when ZeroMQ loses the connection (it connects again by
// itself). "FRAME WORD BYTES" sends WORD with a body of exactly BYTES
// bytes (at least 10): a map {pad: bin} of zeros, for the frame-size cap.
// "await MS" waits up to MS for a message other than HEARTBEAT or a lost
// connection (a large frame takes seconds to encrypt and send), printing
// "! nothing" when neither comes, then what follows as after a command.
// -r sets the connection's ZeroMQ routing id. It ends without BYE (unless
// told to send one) and without lingering, like a client that dies.
#include "hub_buf.h"
#include "hub_config.h"
#include "hub_error.h"
#include "hub_mpr.h"
#include "hub_mpw.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#define S_MAX_PAIRS 16
#define S_PAD_HEADER 10 // a FRAME body's bytes before its padding: 0x81, "pad", a bin 32 header

static int
s_keys(void *sock, const char *server_pub, const char *key_dir, const char *name)
{
    char path[512], spub[41], pub[41], sec[41];
    int rc = hub_config_read_z85(server_pub, false, NULL, spub, NULL);
    snprintf(path, sizeof path, "%s/%s.pub", key_dir, name);
    rc = rc ? rc : hub_config_read_z85(path, false, NULL, pub, NULL);
    snprintf(path, sizeof path, "%s/%s.key", key_dir, name);
    rc = rc ? rc : hub_config_read_z85(path, true, NULL, sec, NULL);
    if (rc == HUB_OK && (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, spub, 40) != 0 ||
                         zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, pub, 40) != 0 ||
                         zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, sec, 40) != 0)) {
        rc = HUB_EIO;
    }
    memset(sec, 0, sizeof sec);
    return rc;
}

static bool
s_digits(const char *s)
{
    size_t n = strspn(s, "0123456789");
    return n > 0 && s[n] == '\0' && n < 20;
}

// Sends "WORD k=v ..." (SPEC, modified in place).
static int
s_send(void *sock, char *spec)
{
    char *save = NULL, *word = strtok_r(spec, " ", &save), *pairs[S_MAX_PAIRS];
    size_t n = 0;
    for (char *t; n < S_MAX_PAIRS && (t = strtok_r(NULL, " ", &save)) != NULL;) {
        pairs[n++] = t;
    }
    hub_buf_t body = HUB_BUF_INIT;
    hub_mpw_t w;
    hub_mpw_init(&w, &body);
    hub_mpw_map(&w, n);
    for (size_t i = 0; i < n; i++) {
        char *eq = strchr(pairs[i], '=');
        const char *v = eq ? eq + 1 : "";
        if (eq) {
            *eq = '\0';
        }
        hub_mpw_cstr(&w, pairs[i]);
        if (s_digits(v)) {
            hub_mpw_uint(&w, strtoull(v, NULL, 10));
        } else if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0) {
            hub_mpw_bool(&w, v[0] == 't');
        } else {
            hub_mpw_cstr(&w, v);
        }
    }
    int rc = word && hub_mpw_error(&w) == HUB_OK &&
                     zmq_send(sock, word, strlen(word), ZMQ_SNDMORE) >= 0 &&
                     zmq_send(sock, body.data, body.len, 0) >= 0
                 ? 0
                 : -1;
    hub_buf_free(&body);
    return rc;
}

// Sends WORD with a body of exactly BYTES bytes, {pad: bin of zeros}, made
// in the ZeroMQ message itself (BYTES may be a GiB). SPEC is "WORD BYTES".
static int
s_send_frame(void *sock, const char *spec)
{
    char word[64];
    const char *sp = strchr(spec, ' ');
    char *end = NULL;
    errno = 0;
    unsigned long long bytes = sp ? strtoull(sp + 1, &end, 10) : 0;
    size_t wlen = sp ? (size_t) (sp - spec) : 0;
    if (!sp || wlen == 0 || wlen >= sizeof word || errno || end == sp + 1 || *end != '\0' ||
        bytes < S_PAD_HEADER || bytes - S_PAD_HEADER > UINT32_MAX) {
        return -1;
    }
    memcpy(word, spec, wlen);
    word[wlen] = '\0';
    zmq_msg_t m;
    if (zmq_msg_init_size(&m, (size_t) bytes) != 0) {
        return -1;
    }
    uint8_t *p = zmq_msg_data(&m);
    uint32_t pad = (uint32_t) (bytes - S_PAD_HEADER);
    memcpy(p, "\x81\xa3pad\xc6", 6);
    for (int i = 0; i < 4; i++) {
        p[6 + i] = (uint8_t) (pad >> (24 - 8 * i));
    }
    memset(p + S_PAD_HEADER, 0, pad);
    if (zmq_send(sock, word, wlen, ZMQ_SNDMORE) < 0 || zmq_msg_send(&m, sock, 0) < 0) {
        zmq_msg_close(&m);
        return -1;
    }
    return 0;
}

// Prints one received message: "< WORD key=value ...".
static void
s_print(zmq_msg_t *cmd, zmq_msg_t *body)
{
    printf("< %.*s", (int) zmq_msg_size(cmd), (const char *) zmq_msg_data(cmd));
    hub_mpr_t r;
    hub_mp_obj_t o, k, v;
    hub_mpr_init(&r, zmq_msg_data(body), zmq_msg_size(body));
    if (hub_mpr_next(&r, &o) != HUB_OK || o.kind != HUB_MP_MAP) {
        printf(" (not a map)\n");
        return;
    }
    for (uint32_t i = 0; i < o.len; i++) {
        if (hub_mpr_next(&r, &k) != HUB_OK || k.kind != HUB_MP_STR) {
            break;
        }
        hub_mpr_t at = r;
        if (hub_mpr_next(&at, &v) != HUB_OK || hub_mpr_skip(&r) != HUB_OK) {
            break;
        }
        printf(" %.*s=", (int) k.len, (const char *) k.data);
        switch (v.kind) {
        case HUB_MP_STR:
            printf("%.*s", (int) v.len, (const char *) v.data);
            break;
        case HUB_MP_UINT:
            printf("%llu", (unsigned long long) v.v.u);
            break;
        case HUB_MP_BOOL:
            printf("%s", v.v.b ? "true" : "false");
            break;
        case HUB_MP_BIN:
            printf("<bin %u>", (unsigned) v.len);
            break;
        case HUB_MP_ARRAY:
            printf("[%u]", (unsigned) v.len);
            break;
        case HUB_MP_MAP:
            printf("{%u}", (unsigned) v.len);
            break;
        default:
            printf("?");
            break;
        }
    }
    printf("\n");
}

// Prints "! disconnected" for an event waiting on MON, the socket's
// monitor (it reports nothing else).
static void
s_event(void *mon)
{
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, mon, 0) >= 0) {
        printf("! disconnected\n");
        while (zmq_msg_more(&m) && zmq_msg_recv(&m, mon, 0) >= 0) {
        }
    }
    zmq_msg_close(&m);
}

// Takes one message from SOCK: a HEARTBEAT is answered, anything else
// printed. True for the latter.
static bool
s_take(void *sock)
{
    bool shown = false;
    zmq_msg_t cmd, body;
    zmq_msg_init(&cmd);
    zmq_msg_init(&body);
    if (zmq_msg_recv(&cmd, sock, 0) >= 0 && zmq_msg_more(&cmd) &&
        zmq_msg_recv(&body, sock, 0) >= 0) {
        if (zmq_msg_size(&cmd) == 9 && memcmp(zmq_msg_data(&cmd), "HEARTBEAT", 9) == 0) {
            zmq_send(sock, "HEARTBEAT", 9, ZMQ_SNDMORE);
            zmq_send(sock, "\x80", 1, 0);
        } else {
            s_print(&cmd, &body);
            shown = true;
        }
    }
    zmq_msg_close(&cmd);
    zmq_msg_close(&body);
    return shown;
}

static int64_t
s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

// Prints what arrives until WAIT_MS pass without anything (heartbeats are
// answered, not printed), and the connection's losses (MON). With
// FIRST_MS, first waits up to that long for something to print, and says
// "! nothing" when nothing comes.
static void
s_drain(void *sock, void *mon, int wait_ms, int first_ms)
{
    int64_t deadline = first_ms > 0 ? s_now_ms() + first_ms : 0;
    for (;;) {
        zmq_pollitem_t it[] = {{sock, 0, ZMQ_POLLIN, 0}, {mon, 0, ZMQ_POLLIN, 0}};
        int64_t left = deadline ? deadline - s_now_ms() : wait_ms;
        if (left <= 0 || zmq_poll(it, 2, (long) left) <= 0) {
            if (deadline) {
                printf("! nothing\n");
                fflush(stdout);
            }
            return;
        }
        bool shown = false;
        if (it[1].revents & ZMQ_POLLIN) {
            s_event(mon);
            shown = true;
        }
        if (it[0].revents & ZMQ_POLLIN) {
            shown = s_take(sock) || shown;
        }
        deadline = shown ? 0 : deadline;
        fflush(stdout);
    }
}

int
main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: hub_probe URL SERVER_PUB KEY_DIR NAME [-r RID] [-w MS] "
                        "COMMAND...\n");
        return 2;
    }
    int wait_ms = 300, zero = 0, i = 5;
    const char *rid = NULL;
    for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
        if (strcmp(argv[i], "-r") == 0) {
            rid = argv[i + 1];
        } else if (strcmp(argv[i], "-w") == 0) {
            wait_ms = (int) strtol(argv[i + 1], NULL, 10);
        } else {
            fprintf(stderr, "hub_probe: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    void *ctx = zmq_ctx_new(), *sock = zmq_socket(ctx, ZMQ_DEALER),
         *mon = zmq_socket(ctx, ZMQ_PAIR);
    zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(mon, ZMQ_LINGER, &zero, sizeof zero);
    if (rid) {
        zmq_setsockopt(sock, ZMQ_ROUTING_ID, rid, strlen(rid));
    }
    int status = 0;
    if (zmq_socket_monitor(sock, "inproc://hub_probe.monitor", ZMQ_EVENT_DISCONNECTED) != 0 ||
        zmq_connect(mon, "inproc://hub_probe.monitor") != 0) {
        fprintf(stderr, "hub_probe: cannot monitor the socket: %s\n", zmq_strerror(zmq_errno()));
        status = 1;
    } else if (s_keys(sock, argv[2], argv[3], argv[4]) != HUB_OK ||
               zmq_connect(sock, argv[1]) != 0) {
        fprintf(stderr, "hub_probe: cannot use the keys of %s or connect to %s\n", argv[4],
                argv[1]);
        status = 1;
    }
    for (; status == 0 && i < argc; i++) {
        if (strncmp(argv[i], "sleep ", 6) == 0) {
            s_drain(sock, mon, (int) strtol(argv[i] + 6, NULL, 10), 0);
            continue;
        }
        if (strncmp(argv[i], "await ", 6) == 0) {
            s_drain(sock, mon, wait_ms, (int) strtol(argv[i] + 6, NULL, 10));
            continue;
        }
        printf("> %s\n", argv[i]);
        fflush(stdout);
        char *spec = strdup(argv[i]);
        bool frame = strncmp(argv[i], "FRAME ", 6) == 0;
        if (!spec || (frame ? s_send_frame(sock, argv[i] + 6) : s_send(sock, spec)) != 0) {
            fprintf(stderr, "hub_probe: cannot send '%s'\n", argv[i]);
            status = 1;
        }
        free(spec);
        s_drain(sock, mon, wait_ms, 0);
    }
    zmq_socket_monitor(sock, NULL, 0);
    zmq_close(mon);
    zmq_close(sock);
    zmq_ctx_term(ctx);
    return status;
}
