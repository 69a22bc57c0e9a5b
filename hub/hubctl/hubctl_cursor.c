// hubctl cursor: where each endpoint is (the store's `endpoint` records:
// the last delivery acknowledged and the last written), and replay: a
// rewind moves an endpoint's cursor back so that hubd sends the
// deliveries after it again (admin `cursor.rewind`; hubd records it in
// the operations log). --to takes an endpoint sequence or a time; a time
// becomes the last delivery whose source message the hub received before
// it (hub_store_eseq_before), so "--to yesterday" replays all since.
#include "hubctl_ops.h"

#include "hub_error.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char s_help[] =
    "usage: hubctl cursor show [--endpoint E] [--config DIR] [--format json]\n"
    "       hubctl cursor rewind --endpoint E --to SEQ|TIME [--config DIR] [--timeout MS]\n"
    "                            [--format json]\n"
    "\n"
    "  show    per endpoint: the last delivery it acknowledged, the last written, and\n"
    "          how many wait (read from the store)\n"
    "  rewind  replay: hubd sends endpoint E's deliveries after SEQ again (--to 0: all\n"
    "          of them), at once to a connected consumer. TIME (2026-11-27,\n"
    "          2026-11-27T08:00:00+08:00, yesterday, today, or an age such as 2h)\n"
    "          replays every delivery of a message the hub received at or after it.\n"
    "          Receivers see the endpoint sequences again and must treat them as\n"
    "          redeliveries. Needs hubd running; recorded in the operations log.\n"
    "Exit status: 0 done, 1 a failure, 2 bad usage.\n";

typedef struct {
    const char *id;
    uint64_t acked, last;
} cursor_t;

static json_t *
s_cursor_json(const cursor_t *c)
{
    return json_pack("{s:s, s:I, s:I, s:I}", "endpoint", c->id, "acked", (json_int_t) c->acked,
                     "last", (json_int_t) c->last, "pending",
                     (json_int_t) (c->last > c->acked ? c->last - c->acked : 0));
}

// The cursors of E, or of every configured endpoint, as a JSON array.
static json_t *
s_cursors(const hub_config_t *cfg, const char *e)
{
    hub_depts_t *depts = e ? NULL : hubctl_ops_depts(cfg);
    hub_store_t *store = e || depts ? hubctl_ops_store(cfg) : NULL;
    json_t *all = store ? json_array() : NULL;
    size_t n = e ? 1 : hub_depts_endpoint_count(depts);
    for (size_t i = 0; store && i < n; i++) {
        cursor_t c = {e ? e : hub_depts_endpoint_at(depts, i)->id, 0, 0};
        if (hub_store_endpoint_state(store, c.id, &c.acked, &c.last) != HUB_OK) {
            fprintf(stderr, "hubctl: %s: cannot read its cursor: %s\n", c.id,
                    hub_store_last_error(store));
            json_decref(all);
            all = NULL;
            break;
        }
        json_array_append_new(all, s_cursor_json(&c));
    }
    hub_store_destroy(&store);
    hub_depts_destroy(&depts);
    return all;
}

static int
s_show(const hubctl_ops_opts_t *opts, const hub_config_t *cfg)
{
    json_t *all = s_cursors(cfg, opts->endpoint), *c;
    size_t i, quiet = 0;
    if (all && opts->json) {
        hubctl_print_json(json_incref(all));
    } else if (all) {
        printf("%-28s %8s %8s %8s\n", "ENDPOINT", "ACKED", "LAST", "PENDING");
        json_array_foreach(all, i, c)
        {
            json_int_t last = json_integer_value(json_object_get(c, "last"));
            if (last == 0 && !opts->endpoint) {
                quiet++;
                continue;
            }
            printf("%-28s %8lld %8lld %8lld\n", json_string_value(json_object_get(c, "endpoint")),
                   (long long) json_integer_value(json_object_get(c, "acked")), (long long) last,
                   (long long) json_integer_value(json_object_get(c, "pending")));
        }
        if (quiet) {
            printf("(%zu more endpoint%s: nothing written yet)\n", quiet, quiet == 1 ? "" : "s");
        }
    }
    int status = all ? HUBCTL_OK : HUBCTL_INVALID;
    json_decref(all);
    return status;
}

// --to as an endpoint sequence: digits only (0 allowed: replay it all).
static bool
s_to_seq(const char *text, uint64_t *seq)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || *end || errno) {
        return false;
    }
    *seq = v;
    return true;
}

// Resolves a TIME_MS (when not 0) into *TO; reads E's cursor (*NOW).
static int
s_resolve(hub_store_t *store, uint64_t time_ms, uint64_t *to, cursor_t *now)
{
    if (hub_store_endpoint_state(store, now->id, &now->acked, &now->last) != HUB_OK) {
        fprintf(stderr, "hubctl: %s: cannot read its cursor: %s\n", now->id,
                hub_store_last_error(store));
        return HUBCTL_INVALID;
    }
    if (time_ms && hub_store_eseq_before(store, now->id, time_ms, to) != HUB_OK) {
        fprintf(stderr, "hubctl: %s: cannot search its queue by time: %s\n", now->id,
                hub_store_last_error(store));
        return HUBCTL_INVALID;
    }
    if (now->last == 0) {
        fprintf(stderr, "hubctl: %s has received nothing yet: nothing to replay\n", now->id);
        return HUBCTL_INVALID;
    }
    if (*to > now->acked && !time_ms) {
        // Forward would skip deliveries never acknowledged: not a replay.
        fprintf(stderr,
                "hubctl: %s: --to %llu is past its acknowledged %llu (last %llu): a "
                "rewind only moves back\n",
                now->id, (unsigned long long) *to, (unsigned long long) now->acked,
                (unsigned long long) now->last);
        return HUBCTL_INVALID;
    }
    return HUBCTL_OK;
}

static void
s_print_rewind(const char *e, uint64_t before, uint64_t after, uint64_t last, uint64_t time_ms)
{
    if (time_ms) {
        char t[64];
        hubctl_format_time(time_ms, t, sizeof t);
        printf("%s: since %s means after delivery %llu (the last of a message received "
               "before then)\n",
               e, t, (unsigned long long) after);
    }
    printf("%s: acknowledged %llu -> %llu", e, (unsigned long long) before,
           (unsigned long long) after);
    if (before == after && after < last) {
        printf(": nothing rewound; %llu..%llu still wait to be acknowledged\n",
               (unsigned long long) after + 1, (unsigned long long) last);
    } else if (after >= last) {
        printf(": nothing to send again (the last delivery is %llu)\n", (unsigned long long) last);
    } else {
        printf(": %llu deliver%s (%llu..%llu) will be sent again\n",
               (unsigned long long) (last - after), last - after == 1 ? "y" : "ies",
               (unsigned long long) after + 1, (unsigned long long) last);
    }
}

// What the rewind did: REPLY is hubd's answer {endpoint, before, after}.
static void
s_report(const hubctl_ops_opts_t *opts, json_t *reply, uint64_t last, uint64_t time_ms)
{
    json_int_t before = json_integer_value(json_object_get(reply, "before"));
    json_int_t after = json_integer_value(json_object_get(reply, "after"));
    if (opts->json) {
        json_object_del(reply, "ok");
        json_object_set_new(reply, "last", json_integer((json_int_t) last));
        json_object_set_new(
            reply, "replay",
            json_integer((json_int_t) last > after ? (json_int_t) last - after : 0));
        json_object_set_new(reply, "to_time_ms",
                            time_ms ? json_integer((json_int_t) time_ms) : json_null());
        hubctl_print_json(json_incref(reply));
    } else {
        s_print_rewind(opts->endpoint, (uint64_t) before, (uint64_t) after, last, time_ms);
    }
}

static int
s_ask(const hubctl_ops_opts_t *opts, const hub_config_t *cfg, const char *e, uint64_t to,
      json_t **reply)
{
    hub_buf_t req = HUB_BUF_INIT;
    hub_mpw_t w;
    hubctl_admin_begin(&w, &req, "cursor.rewind", 2);
    hub_mpw_cstr(&w, "endpoint");
    hub_mpw_cstr(&w, e);
    hub_mpw_cstr(&w, "to");
    hub_mpw_uint(&w, to);
    int status = hub_mpw_error(&w) ? HUBCTL_INVALID
                                   : hubctl_admin_run(opts, cfg, "cursor.rewind", &req, reply);
    hub_buf_free(&req);
    return status;
}

// Rewinds to TO, or (TIME_MS not 0) to the last delivery before TIME_MS.
static int
s_rewind(const hubctl_ops_opts_t *opts, const hub_config_t *cfg, uint64_t to, uint64_t time_ms)
{
    hub_store_t *store = hubctl_ops_store(cfg);
    cursor_t now = {opts->endpoint, 0, 0};
    json_t *reply = NULL;
    int status = store ? s_resolve(store, time_ms, &to, &now) : HUBCTL_INVALID;
    if (!status && to > now.acked) {
        // All since TIME still waits to be acknowledged: nothing to replay,
        // and moving forward would skip deliveries. hubd is not asked.
        reply = json_pack("{s:s, s:I, s:I}", "endpoint", now.id, "before", (json_int_t) now.acked,
                          "after", (json_int_t) now.acked);
    } else if (!status) {
        status = s_ask(opts, cfg, opts->endpoint, to, &reply);
        hub_store_endpoint_state(store, now.id, &now.acked, &now.last); // it may have grown
    }
    if (!status) {
        s_report(opts, reply, now.last, time_ms);
    }
    json_decref(reply);
    hub_store_destroy(&store);
    return status;
}

int
hubctl_cursor(int argc, char **argv)
{
    static const char *const allowed[] = {"config", "format", "timeout", "endpoint", "to", NULL};
    hubctl_ops_opts_t opts;
    if (hubctl_ops_help(argc, argv, s_help)) {
        return HUBCTL_OK;
    }
    if (!hubctl_ops_parse(argc, argv, allowed, &opts)) {
        return HUBCTL_USAGE;
    }
    const char *sub = opts.nargs ? opts.args[0] : "";
    bool show = strcmp(sub, "show") == 0, rewind = strcmp(sub, "rewind") == 0;
    if (!show && !rewind) {
        return hubctl_usage_error("cursor needs a subcommand: show or rewind");
    }
    if (opts.nargs > 1) {
        return hubctl_usage_error("cursor %s takes no arguments ('%s')", sub, opts.args[1]);
    }
    if (show && opts.to) {
        return hubctl_usage_error("cursor show takes no --to");
    }
    uint64_t to = 0, time_ms = 0;
    if (rewind && (!opts.endpoint || !opts.to)) {
        return hubctl_usage_error("cursor rewind needs --endpoint E and --to SEQ|TIME");
    }
    if (rewind && !s_to_seq(opts.to, &to) &&
        !hubctl_parse_time(opts.to, hubctl_now_ms(), &time_ms)) {
        return hubctl_usage_error("--to takes an endpoint sequence or a time (2026-11-27, "
                                  "2026-11-27T08:00:00+08:00, yesterday, 2h), not '%s'",
                                  opts.to);
    }
    hub_config_t cfg = {0};
    int status = HUBCTL_INVALID;
    if (hubctl_ops_config(&opts, &cfg)) {
        status = show ? s_show(&opts, &cfg) : s_rewind(&opts, &cfg, to, time_ms);
    }
    hub_config_free(&cfg);
    return status;
}
