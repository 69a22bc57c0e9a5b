// hub_probe: a raw protocol client for security tests. It speaks the
// frames of docs/PROTOCOL.md directly (no SDK: it sends exactly what it is
// told, in any order, HELLO included or not) and prints every answer.
//   hub_probe URL SERVER_PUB KEY_DIR NAME [-r RID] [-w MS] COMMAND...
// Each COMMAND is one argument, "WORD key=value ...": a command sent with
// a map of those pairs as its body (a value of digits is an unsigned
// integer, true/false a boolean, anything else a string); "sleep MS"
// waits. After each command it prints every message that comes until MS
// (-w, default 300) pass in silence, as "< WORD key=value ..." (top-level
// keys; a binary as <bin N>, an array as [N], a map as {N}). -r sets the
// connection's ZeroMQ routing id. It ends without BYE (unless told to
// send one) and without lingering, like a client that dies.
#include "hub_buf.h"
#include "hub_config.h"
#include "hub_error.h"
#include "hub_mpr.h"
#include "hub_mpw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define S_MAX_PAIRS 16

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

// Prints what arrives until WAIT_MS pass without anything (heartbeats are
// answered, not printed).
static void
s_drain(void *sock, int wait_ms)
{
    for (;;) {
        zmq_pollitem_t it = {sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, wait_ms) <= 0) {
            return;
        }
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
            }
        }
        zmq_msg_close(&cmd);
        zmq_msg_close(&body);
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
    void *ctx = zmq_ctx_new(), *sock = zmq_socket(ctx, ZMQ_DEALER);
    zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
    if (rid) {
        zmq_setsockopt(sock, ZMQ_ROUTING_ID, rid, strlen(rid));
    }
    int status = 0;
    if (s_keys(sock, argv[2], argv[3], argv[4]) != HUB_OK || zmq_connect(sock, argv[1]) != 0) {
        fprintf(stderr, "hub_probe: cannot use the keys of %s or connect to %s\n", argv[4],
                argv[1]);
        status = 1;
    }
    for (; status == 0 && i < argc; i++) {
        if (strncmp(argv[i], "sleep ", 6) == 0) {
            s_drain(sock, (int) strtol(argv[i] + 6, NULL, 10));
            continue;
        }
        printf("> %s\n", argv[i]);
        fflush(stdout);
        char *spec = strdup(argv[i]);
        if (!spec || s_send(sock, spec) != 0) {
            fprintf(stderr, "hub_probe: cannot send '%s'\n", argv[i]);
            status = 1;
        }
        free(spec);
        s_drain(sock, wait_ms);
    }
    zmq_close(sock);
    zmq_ctx_term(ctx);
    return status;
}
