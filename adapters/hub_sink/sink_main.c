// hub-sink: an endpoint's deliveries into a department's inbox directory,
// exactly once. See `hub-sink --help` and docs/ADAPTERS.md, "hub-sink".
#include "hub_config.h"
#include "hub_error.h"
#include "hub_schema.h"
#include "sink.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char s_help[] =
    "usage: hub-sink -e ENDPOINT --inbox DIR [options]\n"
    "Receives the deliveries of ENDPOINT from the hub and writes them into the inbox\n"
    "directory DIR, each made durable (fsync) before it is acknowledged, so that after\n"
    "a crash the inbox holds every delivery exactly once. A finished file is named\n"
    "ENDPOINT-YYYYMMDDTHHMMSS-FIRSTSEQ.jsonl (or .csv); the one being written ends in\n"
    ".part: take only names without it.\n"
    "  -c, --config DIR     configuration directory (default: config); its hub.yaml\n"
    "                       gives the hub's address (listen) and the keys directory\n"
    "  -e, --endpoint NAME  the endpoint to receive, e.g. education@513431; keys:\n"
    "                       KEYS/NAME.key, KEYS/NAME.pub and the hub's KEYS/hub.pub\n"
    "                       (hub.yaml security: plain: the token KEYS/NAME.token)\n"
    "  --inbox DIR          the inbox directory (created when missing)\n"
    "  --format jsonl|csv   one JSON line per delivery (default), or one CSV row\n"
    "  --columns FILE       with csv: the department's columns (docs/ADAPTERS.md)\n"
    "  --rotate-bytes N     finish a file before it grows past N bytes\n"
    "                       (default 16777216; 0: never)\n"
    "  --rotate-seconds N   finish a file N seconds after its first delivery\n"
    "                       (default 3600; 0: never)\n"
    "  --credit N           deliveries in flight, written with one fsync (default 256)\n"
    "  --idle-exit MS       exit 0 after MS milliseconds without a delivery\n"
    "  --url URL            the hub (default: hub.yaml listen)\n"
    "  --keys DIR           the keys directory (default: hub.yaml keys)\n"
    "  -h, --help           this text\n"
    "A delivery that cannot be read or written (a malformed one, one from a newer hub)\n"
    "is kept in DIR/ENDPOINT.rejected, one JSON line with the reason and its bytes,\n"
    "made durable before it is acknowledged; the stream goes on.\n"
    "SIGTERM/SIGINT: write, fsync and acknowledge what is in hand, finish the file,\n"
    "exit 0. At exit one line on stderr sums up. Exit status: 0 done (rejected\n"
    "deliveries included), 1 failure, 2 bad usage.\n";

static int
s_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
s_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("hub-sink: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs(" (see hub-sink --help)\n", stderr);
    va_end(ap);
    return 2;
}

// Parses decimal S into *OUT within MAX; false when it is not one.
static bool
s_number(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    if (!s || s[0] < '0' || s[0] > '9') {
        return false;
    }
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max) {
        return false;
    }
    *out = v;
    return true;
}

// Reads option NAME's numeric VALUE into *OUT (MIN..MAX).
static int
s_num_opt(const char *name, const char *value, uint64_t min, uint64_t max, uint64_t *out)
{
    if (!s_number(value, max, out) || *out < min) {
        fprintf(stderr,
                "hub-sink: %s takes a number from %llu to %llu, not '%s' (see hub-sink "
                "--help)\n",
                name, (unsigned long long) min, (unsigned long long) max, value ? value : "");
        return 2;
    }
    return 0;
}

static bool
s_is(const char *a, const char *shortname, const char *longname)
{
    return (shortname && strcmp(a, shortname) == 0) || strcmp(a, longname) == 0;
}

// One option with its value V; 2 (reported) when it is unknown or bad.
static int
s_option(sink_args_t *a, const char *o, const char *v)
{
    static const char *const known[] = {
        "-c",          "--config", "-e",     "--endpoint",     "--inbox",          "--format",
        "--columns",   "--url",    "--keys", "--rotate-bytes", "--rotate-seconds", "--credit",
        "--idle-exit", NULL};
    uint64_t ms = 0;
    int rc = 0;
    bool is_known = false;
    for (size_t i = 0; known[i] && !is_known; i++) {
        is_known = strcmp(o, known[i]) == 0;
    }
    if (!is_known) {
        return s_usage("unknown option '%s'", o);
    }
    if (!v) {
        return s_usage("option %s needs a value", o);
    } else if (s_is(o, "-c", "--config")) {
        a->config_dir = v;
    } else if (s_is(o, "-e", "--endpoint")) {
        a->endpoint = v;
    } else if (s_is(o, NULL, "--inbox")) {
        a->inbox = v;
    } else if (s_is(o, NULL, "--format")) {
        if (strcmp(v, "jsonl") != 0 && strcmp(v, "csv") != 0) {
            return s_usage("--format takes jsonl or csv, not '%s'", v);
        }
        a->csv = strcmp(v, "csv") == 0;
    } else if (s_is(o, NULL, "--columns")) {
        a->columns = v;
    } else if (s_is(o, NULL, "--url")) {
        a->url = v;
    } else if (s_is(o, NULL, "--keys")) {
        a->keys = v;
    } else if (s_is(o, NULL, "--rotate-bytes")) {
        rc = s_num_opt(o, v, 0, UINT64_MAX / 2, &a->rotate_bytes);
    } else if (s_is(o, NULL, "--rotate-seconds")) {
        rc = s_num_opt(o, v, 0, 100u * 365 * 86400, &a->rotate_seconds);
    } else if (s_is(o, NULL, "--credit")) {
        rc = s_num_opt(o, v, 1, 65536, &a->credit);
    } else if (s_is(o, NULL, "--idle-exit")) {
        rc = s_num_opt(o, v, 1, INT32_MAX, &ms);
        a->idle_exit_ms = (int64_t) ms;
    } else {
        return s_usage("unknown option '%s'", o);
    }
    return rc;
}

// 0: run; 1: --help was printed (exit 0); 2: bad usage (reported).
static int
s_args(sink_args_t *a, int argc, char **argv)
{
    *a = (sink_args_t){.config_dir = "config",
                       .rotate_bytes = 16u << 20,
                       .rotate_seconds = 3600,
                       .credit = 256,
                       .idle_exit_ms = -1};
    for (int i = 1; i < argc; i++) {
        if (s_is(argv[i], "-h", "--help")) {
            fputs(s_help, stdout);
            return 1;
        }
        if (argv[i][0] != '-') {
            return s_usage("unexpected argument '%s'", argv[i]);
        }
        int rc = s_option(a, argv[i], i + 1 < argc ? argv[i + 1] : NULL);
        if (rc) {
            return rc;
        }
        i++;
    }
    if (!a->endpoint || !a->inbox) {
        return s_usage("%s", !a->endpoint ? "missing -e ENDPOINT" : "missing --inbox DIR");
    }
    if (a->csv != (a->columns != NULL)) {
        return s_usage("%s", a->csv ? "--format csv needs --columns FILE"
                                    : "--columns is for --format csv");
    }
    return 0;
}

// Reads hub.yaml and checks the key files, so that a wrong path is told at
// once instead of as a hub that never answers.
static int
s_config(sink_t *self)
{
    hub_config_t cfg = {0};
    char path[1024];
    int rc = hub_config_load(&cfg, self->args.config_dir, self->diag);
    if (rc == HUB_OK) {
        self->url = self->args.url ? strdup(self->args.url) : hubc_listen_url(cfg.listen);
        self->keys = strdup(self->args.keys ? self->args.keys : cfg.keys_dir);
        snprintf(path, sizeof path, "%s/hub.pub", self->keys ? self->keys : "");
        self->server_pub = strdup(path);
        rc = self->url && self->keys && self->server_pub ? HUB_OK : HUB_ENOMEM;
    }
    self->auth =
        (hubc_auth_t){cfg.security, self->server_pub, self->keys, self->args.endpoint, NULL};
    rc = rc ? rc : hubc_check_auth(self->url, &self->auth, self->diag);
    if (rc == HUB_OK && self->args.csv) {
        hub_schemas_t *schemas = NULL;
        rc = hub_schemas_load(&schemas, cfg.schemas_dir, self->diag);
        rc = rc ? rc : hubc_columns_load(&self->cols, self->args.columns, schemas, self->diag);
        hub_schemas_destroy(&schemas);
    }
    hub_config_free(&cfg);
    return rc;
}

static int
s_open_inbox(sink_t *self)
{
    hub_buf_t header = HUB_BUF_INIT;
    int rc = self->cols ? hubc_columns_header(self->cols, &header) : HUB_OK;
    hubc_inbox_opts_t opts = {self->args.csv, header.data, header.len, self->args.rotate_bytes,
                              self->args.rotate_seconds};
    rc = rc ? rc
            : hubc_inbox_open(&self->inbox, self->args.inbox, self->args.endpoint, &opts,
                              self->diag);
    hub_buf_free(&header);
    // The report after the inbox: the inbox's lock covers it, and the
    // seqs it needs to know are those above the inbox's last.
    rc = rc ? rc
            : hubc_rejects_open(&self->rejects, self->args.inbox, self->args.endpoint,
                                hubc_inbox_store_id(self->inbox), hubc_inbox_last(self->inbox),
                                self->diag);
    if (rc == HUB_OK) {
        // What recovery did (a torn record cut, a damaged part kept aside).
        hub_diag_print(self->diag, stderr);
        hub_diag_reset(self->diag);
        fprintf(stderr, "hub-sink: %s: inbox %s: writing %s after seq %llu\n", self->args.endpoint,
                self->args.inbox, hubc_inbox_part(self->inbox),
                (unsigned long long) hubc_inbox_last(self->inbox));
    }
    return rc;
}

// The summary line, and the inbox's last file finished.
static int
s_finish(sink_t *self, int status)
{
    if (self->inbox && hubc_inbox_rotate(self->inbox, self->diag) != HUB_OK) {
        status = 1;
    }
    hub_diag_print(self->diag, stderr);
    hub_diag_reset(self->diag);
    if (self->inbox) {
        uint64_t n = hubc_inbox_written(self->inbox), last = hubc_inbox_durable(self->inbox);
        fprintf(stderr, "hub-sink: %s: %llu deliveries written", self->args.endpoint,
                (unsigned long long) n);
        if (n) {
            fprintf(stderr, " (seq %llu..%llu)", (unsigned long long) self->first_written,
                    (unsigned long long) last);
        }
        fprintf(stderr, ", %llu files finished, %llu redeliveries dropped",
                (unsigned long long) hubc_inbox_files(self->inbox),
                (unsigned long long) self->dropped);
        uint64_t rejected = self->rejects ? hubc_rejects_count(self->rejects) : 0;
        if (rejected) {
            fprintf(stderr, ", %llu rejected (in %s)", (unsigned long long) rejected,
                    hubc_rejects_path(self->rejects));
        }
        fprintf(stderr, "%s, last seq %llu\n", self->unmapped ? ", some rows unmapped" : "",
                (unsigned long long) last);
    }
    return status;
}

int
main(int argc, char **argv)
{
    static sink_t self; // one per process
    int rc = s_args(&self.args, argc, argv);
    if (rc) {
        return rc == 1 ? 0 : rc;
    }
    sink_signals();
    self.diag = hub_diag_new();
    self.rec = hubc_record_new();
    if (!self.diag || !self.rec) {
        fputs("hub-sink: out of memory\n", stderr);
        return 1;
    }
    rc = s_config(&self);
    rc = rc ? rc : s_open_inbox(&self);
    int status = rc ? 1 : sink_run(&self);
    if (rc) {
        hub_diag_print(self.diag, stderr);
        hub_diag_reset(self.diag);
        fprintf(stderr, "hub-sink: %s: cannot start (%s)\n", self.args.endpoint, hub_strerror(rc));
    } else {
        status = s_finish(&self, status);
    }
    hubc_destroy(&self.hub);
    hubc_rejects_destroy(&self.rejects);
    hubc_inbox_destroy(&self.inbox);
    hubc_columns_destroy(&self.cols);
    hubc_record_destroy(&self.rec);
    hub_buf_free(&self.line);
    hub_diag_destroy(&self.diag);
    free(self.url);
    free(self.keys);
    free(self.server_pub);
    return status;
}
