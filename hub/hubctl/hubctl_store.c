// hubctl store reissue-id: the store gets a new id (meta "store_id") after
// it was restored from a backup (docs/OPERATIONS.md, "Backup and
// restore"). Unlike the other operations commands it writes the store
// itself: hubd keeps the id it read at its start, so it must not run on
// the store meanwhile. Refused while any process has the store open (the
// LMDB lock file says who) or hubd answers on its admin socket.
#include "hubctl_ops.h"

#include "hub_error.h"

#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static const char s_help[] =
    "usage: hubctl store reissue-id [--config DIR] [--store DIR] [--timeout MS]\n"
    "                               [--format json]\n"
    "\n"
    "Gives the store a new id, after it was restored from a backup. A restored store\n"
    "issues the endpoint sequences after the backup again, to other messages; a consumer\n"
    "that finds a new store_id in SUBSCRIBED takes the sequences after its acknowledged\n"
    "cursor as new instead of dropping them as redeliveries (docs/PROTOCOL.md,\n"
    "\"Consuming\"). deploy/restore.sh runs it. Refused while hubd, or any process, has\n"
    "the store open. Recorded in the operations log (action store.reissue_id), in the\n"
    "same transaction: a reissue that cannot be recorded (the store is full) is not made.\n"
    "\n"
    "  --store DIR    that store (default: hub.yaml's store)\n"
    "  --timeout MS   how long to wait for an answer on hubd's admin socket (default 5000)\n"
    "Exit status: 0 reissued, 1 refused or failed, 2 bad usage.\n";

// A process holding STORE's LMDB lock file: every process with the
// environment open holds a read lock on its first byte. 0 when none (or
// no lock file: nobody opened it since it was put there).
static pid_t
s_holder(const char *store)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/lock.mdb", store) >= (int) sizeof path) {
        return 0;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return 0;
    }
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
    pid_t pid = fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK ? fl.l_pid : 0;
    close(fd); // before this process opens the store: closing drops our own locks
    return pid;
}

// HUBCTL_OK when nothing has STORE open and (for hub.yaml's store) hubd
// does not answer on its admin socket; else says so.
static int
s_nobody_on(const hubctl_ops_opts_t *opts, const hub_config_t *cfg, const char *store)
{
    pid_t pid = s_holder(store);
    if (pid) {
        fprintf(stderr,
                "hubctl: %s is open in process %ld (hubd?): stop it first (systemctl stop "
                "hubd); the store id was not changed\n",
                store, (long) pid);
        return HUBCTL_INVALID;
    }
    if (strcmp(store, cfg->store) != 0) {
        return HUBCTL_OK; // another store than the one hubd of this configuration serves
    }
    hub_buf_t req = HUB_BUF_INIT;
    hub_mpw_t w;
    json_t *reply = NULL;
    hubctl_admin_begin(&w, &req, "status", 0);
    int rc = hub_mpw_error(&w) ? HUB_ENOMEM
                               : hubctl_admin_call(cfg->admin, opts->timeout_ms, &req, &reply);
    json_decref(reply);
    hub_buf_free(&req);
    if (rc == HUB_OK || rc == HUB_EDECODE) {
        fprintf(stderr,
                "hubctl: hubd answers on %s: stop it first (systemctl stop hubd); the store id "
                "was not changed\n",
                cfg->admin);
        return HUBCTL_INVALID;
    }
    return rc == HUB_ENOMEM || rc == HUB_EINVAL ? HUBCTL_INVALID : HUBCTL_OK;
}

// The id STORE has now, read-only (which also refuses a directory that
// holds no store, where a writable open would make one): "" when it has
// none yet. False when the store cannot be read (said).
static bool
s_current(const hub_config_t *cfg, const char *store, char id[33])
{
    hub_diag_t *diag = hub_diag_new();
    hub_store_t *st = NULL;
    int rc = hub_store_open(&st, store, cfg->store_map_size, HUB_STORE_RDONLY, NULL, diag);
    rc = rc ? rc : hub_store_id(st, id);
    if (rc && rc != HUB_ENOTFOUND) {
        hub_diag_print(diag, stderr);
        fprintf(stderr, "hubctl: cannot read the store %s%s%s\n", store, st ? ": " : "",
                st ? hub_store_last_error(st) : "");
    }
    id[rc ? 0 : 32] = '\0';
    hub_store_destroy(&st);
    hub_diag_destroy(&diag);
    return rc == HUB_OK || rc == HUB_ENOTFOUND;
}

// The oplog record's detail: {new_id: str, old_id: str / nil}.
static void
s_detail(hub_buf_t *out, const char *old_id, const char *new_id)
{
    hub_mpw_t w;
    hub_mpw_init(&w, out);
    hub_mpw_map(&w, 2);
    hub_mpw_cstr(&w, "new_id");
    hub_mpw_cstr(&w, new_id);
    hub_mpw_cstr(&w, "old_id");
    if (old_id[0]) {
        hub_mpw_cstr(&w, old_id);
    } else {
        hub_mpw_nil(&w);
    }
}

// Reissues the id of ST (writable) into NEW_ID and records that in the
// operations log, in one transaction: a reissue that cannot be recorded
// is not made (docs/OPERATIONS.md, "Backup and restore").
static int
s_reissue_recorded(hub_store_t *st, const char *old_id, char new_id[33])
{
    char was[33], user[128];
    hub_buf_t detail = HUB_BUF_INIT;
    int rc = hub_store_begin(st);
    if (rc) {
        return rc;
    }
    rc = hub_store_reissue_id(st, was, new_id);
    if (!rc) {
        s_detail(&detail, old_id, new_id);
        rc = hub_store_oplog_append(st, hubctl_now_ms(), hubctl_user(user, sizeof user),
                                    "store.reissue_id", detail.data, detail.len, NULL);
    }
    rc = rc ? rc : hub_store_commit(st);
    hub_store_abort(st); // after a failure: nothing of it is written
    hub_buf_free(&detail);
    if (rc) {
        new_id[0] = '\0';
    }
    return rc;
}

// Opens STORE writable, reissues its id into NEW_ID and records that.
static int
s_reissue(const hub_config_t *cfg, const char *store, const char *old_id, char new_id[33])
{
    uint8_t key[32];
    hub_diag_t *diag = hub_diag_new();
    hub_store_t *st = NULL;
    int rc = hub_config_read_key(cfg->hash_key, key, diag);
    rc = rc ? rc : hub_store_open(&st, store, cfg->store_map_size, 0, key, diag);
    rc = rc ? rc : s_reissue_recorded(st, old_id, new_id);
    if (rc) {
        hub_diag_print(diag, stderr);
        fprintf(stderr, "hubctl: the store id of %s was not changed: %s%s%s%s%s%s\n", store,
                hub_strerror(rc), st && *hub_store_last_error(st) ? ": " : "",
                st ? hub_store_last_error(st) : "", rc == HUB_EFULL ? " (" : "",
                rc == HUB_EFULL ? hub_store_full_remedy(st) : "",
                rc == HUB_EFULL ? ", then run it again)" : "");
    }
    sodium_memzero(key, sizeof key);
    hub_store_destroy(&st);
    hub_diag_destroy(&diag);
    return rc ? HUBCTL_INVALID : HUBCTL_OK;
}

static void
s_print(const hubctl_ops_opts_t *opts, const char *store, const char *old_id, const char *new_id)
{
    if (opts->json) {
        hubctl_print_json(json_pack("{s:s, s:s?, s:s}", "store", store, "old_id",
                                    old_id[0] ? old_id : NULL, "new_id", new_id));
        return;
    }
    printf("store %s: id %s -> %s\n", store, old_id[0] ? old_id : "(none)", new_id);
    printf("consumers that subscribe now take the sequences after their acknowledged cursor "
           "as new\n");
}

static int
s_reissue_id(const hubctl_ops_opts_t *opts)
{
    hub_config_t cfg = {0};
    char old_id[33] = "", new_id[33] = "";
    int status = hubctl_ops_config(opts, &cfg) ? HUBCTL_OK : HUBCTL_INVALID;
    const char *store = opts->store ? opts->store : cfg.store;
    status = status ? status : s_nobody_on(opts, &cfg, store);
    status = status ? status : s_current(&cfg, store, old_id) ? HUBCTL_OK : HUBCTL_INVALID;
    status = status ? status : s_reissue(&cfg, store, old_id, new_id);
    if (!status) {
        s_print(opts, store, old_id, new_id);
    }
    hub_config_free(&cfg);
    return status;
}

int
hubctl_store(int argc, char **argv)
{
    static const char *const allowed[] = {"config", "store", "timeout", "format", NULL};
    hubctl_ops_opts_t opts;
    if (hubctl_ops_help(argc, argv, s_help)) {
        return HUBCTL_OK;
    }
    if (argc < 1 || strcmp(argv[0], "reissue-id") != 0) {
        return hubctl_usage_error("store takes 'reissue-id'%s%s%s", argc ? ", not '" : "",
                                  argc ? argv[0] : "", argc ? "'" : "");
    }
    if (!hubctl_ops_parse(argc - 1, argv + 1, allowed, &opts)) {
        return HUBCTL_USAGE;
    }
    if (opts.nargs) {
        return hubctl_usage_error("store reissue-id takes no arguments ('%s')", opts.args[0]);
    }
    return s_reissue_id(&opts);
}
