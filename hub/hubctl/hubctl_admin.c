// The client of hubd's admin socket (docs/OPERATIONS.md, "Operating the
// hub"): a ZeroMQ REQ socket connected to hub.yaml's `admin`, one msgpack
// map out, one back, within a timeout. No CURVE: the socket is an ipc file
// in the store's directory (mode 0700), so the file permission is the
// authentication. Also `hubctl reload`, which is nothing but a request.
#include "hubctl_ops.h"

#include "hub_error.h"

#include <errno.h>
#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <zmq.h>

static const char s_reload_help[] =
    "usage: hubctl reload [--config DIR] [--timeout MS] [--format json]\n"
    "\n"
    "Asks hubd to load its configuration again (schemas, departments, rules, keys),\n"
    "exactly as SIGHUP does, and says what came of it: the rule-set version in force\n"
    "and whether it changed. A broken configuration is refused with every problem\n"
    "(where: reason: message), and nothing changes: the old rules stay in force.\n"
    "Check a change first with `hubctl check` and `hubctl rules test --suite`.\n"
    "\n"
    "  --timeout MS   how long to wait for hubd (default 5000)\n"
    "Exit status: 0 reloaded (or unchanged), 1 refused, reloaded but not recorded in the\n"
    "operations log (the store is full: the reason is printed), or hubd not running,\n"
    "2 bad usage.\n";

const char *
hubctl_user(char *buf, size_t size)
{
    struct passwd *pw = getpwuid(geteuid());
    if (pw && pw->pw_name && pw->pw_name[0]) {
        snprintf(buf, size, "%s", pw->pw_name);
    } else {
        snprintf(buf, size, "uid %lu", (unsigned long) geteuid());
    }
    return buf;
}

void
hubctl_admin_begin(hub_mpw_t *w, hub_buf_t *req, const char *cmd, size_t npairs)
{
    char user[128];
    req->len = 0;
    hub_mpw_init(w, req);
    hub_mpw_map(w, npairs + 2);
    hub_mpw_cstr(w, "cmd");
    hub_mpw_cstr(w, cmd);
    hub_mpw_cstr(w, "user");
    hub_mpw_cstr(w, hubctl_user(user, sizeof user));
}

// True when ADDRESS is an ipc file nobody listens on: no file, or a file
// no process accepts on (hubd gone). Saves waiting out the timeout.
static bool
s_nobody(const char *address)
{
    struct sockaddr_un sa;
    const char *path = address + 6;
    if (strncmp(address, "ipc://", 6) != 0 || path[0] == '@' ||
        strlen(path) >= sizeof sa.sun_path) {
        return false; // not a file we can try: let ZeroMQ wait
    }
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path));
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0) {
        return false;
    }
    bool nobody = connect(fd, (struct sockaddr *) &sa, sizeof sa) != 0 &&
                  (errno == ENOENT || errno == ECONNREFUSED || errno == ENOTDIR);
    close(fd);
    return nobody;
}

// The one-frame answer on SOCK into *REPLY (frames after it are dropped).
static int
s_receive(void *sock, json_t **reply)
{
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    if (zmq_msg_recv(&msg, sock, 0) < 0) {
        zmq_msg_close(&msg);
        return HUB_EIO;
    }
    *reply = hubctl_mp_json(zmq_msg_data(&msg), zmq_msg_size(&msg));
    while (zmq_msg_more(&msg)) {
        zmq_msg_close(&msg);
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, sock, 0) < 0) {
            break;
        }
    }
    zmq_msg_close(&msg);
    if (!json_is_object(*reply)) {
        json_decref(*reply);
        *reply = NULL;
        return HUB_EDECODE;
    }
    return HUB_OK;
}

int
hubctl_admin_call(const char *address, int timeout_ms, const hub_buf_t *req, json_t **reply)
{
    *reply = NULL;
    if (s_nobody(address)) {
        return HUB_ENOTFOUND;
    }
    void *ctx = zmq_ctx_new();
    void *sock = ctx ? zmq_socket(ctx, ZMQ_REQ) : NULL;
    int zero = 0, rc = sock ? HUB_EIO : HUB_ENOMEM;
    if (sock && (zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
                 zmq_setsockopt(sock, ZMQ_RCVTIMEO, &timeout_ms, sizeof timeout_ms) != 0 ||
                 zmq_setsockopt(sock, ZMQ_SNDTIMEO, &timeout_ms, sizeof timeout_ms) != 0 ||
                 zmq_connect(sock, address) != 0)) {
        fprintf(stderr, "hubctl: admin socket '%s': %s\n", address, zmq_strerror(zmq_errno()));
        rc = HUB_EINVAL;
    } else if (sock && zmq_send(sock, req->data, req->len, 0) == (int) req->len) {
        rc = s_receive(sock, reply);
    }
    if (sock) {
        zmq_close(sock);
    }
    if (ctx) {
        zmq_ctx_term(ctx);
    }
    return rc;
}

static const char *
s_str(const json_t *o, const char *key, const char *def)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : def;
}

// hubd's ok: false, for people: each problem, then the code and error
// (not_recorded: the action took effect, but the operations log lacks it).
static void
s_print_refusal(const char *what, const json_t *reply)
{
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(reply, "problems"), i, p)
    {
        fprintf(stderr, "%s: %s: %s\n", s_str(p, "where", "?"), s_str(p, "reason", "?"),
                s_str(p, "message", "?"));
    }
    const char *code = s_str(reply, "code", "?");
    if (strcmp(code, "not_recorded") == 0) { // done, and no success all the same
        fprintf(stderr, "hubctl: %s done, but not recorded: %s\n", what,
                s_str(reply, "error", "(hubd gave no reason)"));
        return;
    }
    fprintf(stderr, "hubctl: %s refused: %s: %s%s\n", what, code,
            s_str(reply, "error", "(hubd gave no reason)"),
            strcmp(code, "config") == 0 ? "; nothing changed" : "");
}

int
hubctl_admin_check(const hubctl_ops_opts_t *opts, const hub_config_t *cfg, const char *what, int rc,
                   json_t **reply)
{
    if (rc == HUB_ENOTFOUND) {
        fprintf(stderr, "hubctl: hubd is not running (no answer on %s)\n", cfg->admin);
    } else if (rc == HUB_EIO) {
        fprintf(stderr,
                "hubctl: hubd is not running (no answer on %s in %d ms; --timeout MS "
                "waits longer)\n",
                cfg->admin, opts->timeout_ms);
    } else if (rc == HUB_EDECODE) {
        fprintf(stderr, "hubctl: %s: hubd's answer on %s is not a msgpack map\n", what, cfg->admin);
    } else if (rc == HUB_ENOMEM) {
        fprintf(stderr, "hubctl: %s: out of memory\n", what);
    }
    if (rc) {
        return HUBCTL_INVALID;
    }
    if (json_is_true(json_object_get(*reply, "ok"))) {
        return HUBCTL_OK;
    }
    if (opts->json) {
        hubctl_print_json(*reply);
    } else {
        s_print_refusal(what, *reply);
        json_decref(*reply);
    }
    *reply = NULL;
    return HUBCTL_INVALID;
}

int
hubctl_admin_run(const hubctl_ops_opts_t *opts, const hub_config_t *cfg, const char *what,
                 const hub_buf_t *req, json_t **reply)
{
    int rc = hubctl_admin_call(cfg->admin, opts->timeout_ms, req, reply);
    return hubctl_admin_check(opts, cfg, what, rc, reply);
}

int
hubctl_reload(int argc, char **argv)
{
    static const char *const allowed[] = {"config", "format", "timeout", NULL};
    hubctl_ops_opts_t opts;
    if (hubctl_ops_help(argc, argv, s_reload_help)) {
        return HUBCTL_OK;
    }
    if (!hubctl_ops_parse(argc, argv, allowed, &opts)) {
        return HUBCTL_USAGE;
    }
    if (opts.nargs) {
        return hubctl_usage_error("reload takes no arguments ('%s')", opts.args[0]);
    }
    hub_config_t cfg = {0};
    hub_buf_t req = HUB_BUF_INIT;
    hub_mpw_t w;
    json_t *reply = NULL;
    int status = HUBCTL_INVALID;
    if (hubctl_ops_config(&opts, &cfg)) {
        hubctl_admin_begin(&w, &req, "reload", 0);
        status = hub_mpw_error(&w) ? HUBCTL_INVALID
                                   : hubctl_admin_run(&opts, &cfg, "reload", &req, &reply);
    }
    if (reply && opts.json) {
        hubctl_print_json(reply);
    } else if (reply) {
        bool changed = json_is_true(json_object_get(reply, "changed"));
        printf(changed ? "reloaded: rule set %s now in force (a new version)\n"
                       : "reloaded: rule set %s still in force (the same rules; schemas, code "
                         "tables, departments and keys were read again)\n",
               s_str(reply, "ruleset", "?"));
        json_decref(reply);
    }
    hub_buf_free(&req);
    hub_config_free(&cfg);
    return status;
}
