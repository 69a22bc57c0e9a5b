// hubctl status: how the hub is doing. From hubd's admin `status` when it
// answers; else from the store, read-only, saying "hubd: not running" (the
// queues, cursors, dead letters and the last rule set recorded are all
// there; connections and rates are not).
#include "hubctl_ops.h"

#include "hub_error.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static const char s_help[] =
    "usage: hubctl status [--config DIR] [--endpoint E] [--timeout MS] [--format json]\n"
    "\n"
    "How the hub is doing: the rule-set version in force, the ingest rate and counts,\n"
    "dead letters, the store's size, map usage and id, and per endpoint its queue depth\n"
    "(deliveries not yet acknowledged), the age of the oldest of them, its delivery\n"
    "rate and how many consumers are connected. Asks hubd over its admin socket; when\n"
    "hubd does not answer, reads the store and says 'hubd: not running'.\n"
    "\n"
    "  --endpoint E   that endpoint only\n"
    "  --timeout MS   how long to wait for hubd (default 5000)\n"
    "Text output lists the endpoints that received something or have a consumer;\n"
    "JSON lists every configured endpoint.\n"
    "Exit status: 0 shown (hubd running or not), 1 the store or config cannot be read,\n"
    "2 bad usage.\n";

// The age of ENDPOINT's oldest unacknowledged delivery (ACKED + 1), from
// its source message's received_ms; 0 when it is gone (retention).
static uint64_t
s_oldest_ms(hub_store_t *store, const char *endpoint, uint64_t acked, uint64_t now)
{
    uint64_t received = 0;
    if (hub_store_delivery_time(store, endpoint, acked + 1, &received) != HUB_OK || !received) {
        return 0;
    }
    return now > received ? now - received : 0;
}

static json_t *
s_store_endpoints(hub_store_t *store, const hub_depts_t *depts, uint64_t now)
{
    json_t *a = json_array();
    for (size_t i = 0; i < hub_depts_endpoint_count(depts); i++) {
        const char *id = hub_depts_endpoint_at(depts, i)->id;
        uint64_t acked = 0, last = 0;
        if (hub_store_endpoint_state(store, id, &acked, &last) != HUB_OK) {
            fprintf(stderr, "hubctl: %s: cannot read its cursor: %s\n", id,
                    hub_store_last_error(store));
        }
        uint64_t depth = last > acked ? last - acked : 0;
        uint64_t oldest = depth ? s_oldest_ms(store, id, acked, now) : 0;
        json_array_append_new(a, json_pack("{s:s, s:i, s:I, s:I, s:I, s:I, s:f}", "endpoint", id,
                                           "consumers", 0, "acked", (json_int_t) acked, "last",
                                           (json_int_t) last, "depth", (json_int_t) depth,
                                           "oldest_unacked_ms", (json_int_t) oldest,
                                           "delivered_per_s", 0.0));
    }
    return a;
}

// Dead letters in the store (the numbers dropped ones leave are gaps).
static uint64_t
s_dead_count(hub_store_t *store)
{
    uint64_t last = 0, n = 0;
    const void *rec;
    size_t len;
    hub_store_last_seq(store, HUB_STORE_DEAD, &last);
    for (uint64_t s = 1; s <= last; s++) {
        n += hub_store_record(store, HUB_STORE_DEAD, s, &rec, &len) == HUB_OK;
    }
    return n;
}

// The rule set recorded last (the one in force when hubd last ran).
static void
s_last_ruleset(hub_store_t *store, json_t *st)
{
    uint64_t last = 0;
    hub_store_last_seq(store, HUB_STORE_RULESETS, &last);
    json_t *r = last ? hubctl_store_json(store, HUB_STORE_RULESETS, last, NULL) : NULL;
    json_object_set(st, "ruleset", r ? json_object_get(r, "version") : json_null());
    json_object_set(st, "ruleset_since_ms", r ? json_object_get(r, "time_ms") : json_null());
    json_decref(r);
}

static json_t *
s_from_store(const hub_config_t *cfg)
{
    hub_depts_t *depts = hubctl_ops_depts(cfg);
    hub_store_t *store = depts ? hubctl_ops_store(cfg) : NULL;
    if (!store) {
        hub_depts_destroy(&depts);
        return NULL;
    }
    uint64_t now = hubctl_now_ms();
    size_t map = 0, used = 0;
    if (hub_store_usage(store, &map, &used) != HUB_OK) {
        fprintf(stderr, "hubctl: the store's size is unknown: %s\n", hub_store_last_error(store));
    }
    json_t *st =
        json_pack("{s:s, s:s, s:I, s:n, s:{s:s, s:I, s:I}, s:n, s:I}", "hubd", "not running",
                  "admin", cfg->admin, "now_ms", (json_int_t) now, "ingest", "store", "path",
                  cfg->store, "map_size", (json_int_t) map, "used_bytes", (json_int_t) used,
                  "dead_letters", "dead_letters_stored", (json_int_t) s_dead_count(store));
    s_last_ruleset(store, st);
    char id[33];
    // HUB_ENOTFOUND: a store older than the id that hubd has not opened yet.
    json_object_set_new(st, "store_id",
                        hub_store_id(store, id) == HUB_OK ? json_string(id) : json_null());
    json_object_set_new(st, "endpoints", s_store_endpoints(store, depts, now));
    hub_store_destroy(&store);
    hub_depts_destroy(&depts);
    return st;
}

static const char *
s_s(const json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v ? v : "?";
}

// Keeps only endpoint E in ST; false when it is not there.
static bool
s_only(json_t *st, const char *e)
{
    json_t *eps = json_object_get(st, "endpoints"), *keep = json_array(), *ep;
    size_t i;
    json_array_foreach(eps, i, ep)
    {
        if (strcmp(s_s(ep, "endpoint"), e) == 0) {
            json_array_append(keep, ep);
        }
    }
    bool found = json_array_size(keep) > 0;
    json_object_set_new(st, "endpoints", keep);
    return found;
}

static uint64_t
s_u(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t) json_integer_value(v) : 0;
}

static void
s_print_head(const json_t *st)
{
    char t[64], age[32], used[32], map[32];
    const json_t *in = json_object_get(st, "ingest");
    const char *rs = json_string_value(json_object_get(st, "ruleset"));
    if (json_is_object(in)) {
        hubctl_format_time(s_u(st, "started_ms"), t, sizeof t);
        hubctl_format_age(s_u(st, "now_ms") - s_u(st, "started_ms"), age, sizeof age);
        printf("hubd: running since %s (up %s)\n", t, age);
        printf("rule set: %s\n", rs ? rs : "(none)");
        printf("ingest: %.2f msg/s (last 60 s), the store committing %.0f%% of the time; since "
               "start %llu received, %llu acked, %llu nacked, %llu dead\n",
               json_number_value(json_object_get(in, "per_s")),
               100 * json_number_value(json_object_get(in, "commit_busy")),
               (unsigned long long) s_u(in, "received"), (unsigned long long) s_u(in, "acked"),
               (unsigned long long) s_u(in, "nacked"), (unsigned long long) s_u(in, "dead"));
        printf("dedup window: %llu message ids in memory; subject index: %llu entries in memory, "
               "not yet in a run\n",
               (unsigned long long) s_u(in, "dedup_ids"),
               (unsigned long long) s_u(in, "subject_pending"));
        json_t *runs = json_object_get(in, "subject_runs");
        if (json_is_array(runs)) { // a hubd older than merged runs sends none
            size_t all = 0, i;
            json_t *v;
            printf("subject index runs a query seeks:");
            json_array_foreach(runs, i, v)
            {
                all += (size_t) json_integer_value(v);
                printf(" %s%llu at level %zu", i ? "+ " : "",
                       (unsigned long long) json_integer_value(v), i);
            }
            printf(" = %zu\n", all);
        }
    } else {
        printf("hubd: not running (no answer on %s); read from the store\n", s_s(st, "admin"));
        hubctl_format_time(s_u(st, "ruleset_since_ms"), t, sizeof t);
        printf("rule set: %s%s%s%s\n", rs ? rs : "(none recorded)",
               rs ? " (the last in force, since " : "", rs ? t : "", rs ? ")" : "");
    }
    const json_t *store = json_object_get(st, "store");
    uint64_t u = s_u(store, "used_bytes"), m = s_u(store, "map_size");
    hubctl_format_bytes(u, used, sizeof used);
    hubctl_format_bytes(m, map, sizeof map);
    printf("store: %s: %s used of a %s map (%.1f%%)\n", s_s(store, "path"), used, map,
           m ? 100.0 * (double) u / (double) m : 0.0);
    const char *id = json_string_value(json_object_get(st, "store_id"));
    printf("store id: %s\n", id ? id : "(none yet: hubd gives it at its next start)");
    json_t *dead = json_object_get(st, "dead_letters_stored");
    if (json_is_integer(dead)) {
        printf("dead letters: %lld in the store%s\n", (long long) json_integer_value(dead),
               json_integer_value(dead) ? " (hubctl dlq list)" : "");
    }
}

static void
s_print_endpoints(const json_t *st, bool running)
{
    size_t i, quiet = 0;
    json_t *ep;
    printf("%-28s %9s %8s %8s %7s %14s %11s\n", "ENDPOINT", "CONSUMERS", "ACKED", "LAST", "DEPTH",
           "OLDEST UNACKED", "DELIVERED/S");
    json_array_foreach(json_object_get(st, "endpoints"), i, ep)
    {
        uint64_t consumers = s_u(ep, "consumers"), last = s_u(ep, "last");
        if (!consumers && !last && json_array_size(json_object_get(st, "endpoints")) > 1) {
            quiet++;
            continue;
        }
        char age[32] = "-", cons[16] = "-", rate[16] = "-";
        if (s_u(ep, "depth")) {
            hubctl_format_age(s_u(ep, "oldest_unacked_ms"), age, sizeof age);
        }
        if (running) {
            snprintf(cons, sizeof cons, "%llu", (unsigned long long) consumers);
            snprintf(rate, sizeof rate, "%.2f",
                     json_number_value(json_object_get(ep, "delivered_per_s")));
        }
        printf("%-28s %9s %8llu %8llu %7llu %14s %11s\n", s_s(ep, "endpoint"), cons,
               (unsigned long long) s_u(ep, "acked"), (unsigned long long) last,
               (unsigned long long) s_u(ep, "depth"), age, rate);
    }
    if (quiet) {
        printf("(%zu more endpoint%s: nothing received, no consumer)\n", quiet,
               quiet == 1 ? "" : "s");
    }
}

// hubd's answer, or NULL when it is not running (then *SILENT) or refused.
static json_t *
s_from_hubd(const hubctl_ops_opts_t *opts, const hub_config_t *cfg, bool *silent)
{
    hub_buf_t req = HUB_BUF_INIT;
    hub_mpw_t w;
    json_t *reply = NULL;
    hubctl_admin_begin(&w, &req, "status", 0);
    int rc = hub_mpw_error(&w) ? HUB_ENOMEM
                               : hubctl_admin_call(cfg->admin, opts->timeout_ms, &req, &reply);
    hub_buf_free(&req);
    *silent = rc == HUB_ENOTFOUND || rc == HUB_EIO;
    if (*silent || hubctl_admin_check(opts, cfg, "status", rc, &reply) != HUBCTL_OK) {
        return NULL;
    }
    json_object_del(reply, "ok");
    json_object_set_new(reply, "hubd", json_string("running"));
    json_object_set_new(reply, "admin", json_string(cfg->admin));
    // hubd counts the letters refused since it started; what waits in the
    // dead-letter store is counted here.
    hub_store_t *store = hubctl_ops_store(cfg);
    json_object_set_new(reply, "dead_letters_stored",
                        store ? json_integer((json_int_t) s_dead_count(store)) : json_null());
    hub_store_destroy(&store);
    return reply;
}

int
hubctl_status(int argc, char **argv)
{
    static const char *const allowed[] = {"config", "format", "timeout", "endpoint", NULL};
    hubctl_ops_opts_t opts;
    if (hubctl_ops_help(argc, argv, s_help)) {
        return HUBCTL_OK;
    }
    if (!hubctl_ops_parse(argc, argv, allowed, &opts)) {
        return HUBCTL_USAGE;
    }
    if (opts.nargs) {
        return hubctl_usage_error("status takes no arguments ('%s')", opts.args[0]);
    }
    hub_config_t cfg = {0};
    bool silent = false;
    json_t *st = hubctl_ops_config(&opts, &cfg) ? s_from_hubd(&opts, &cfg, &silent) : NULL;
    st = st ? st : (silent ? s_from_store(&cfg) : NULL);
    int status = st ? HUBCTL_OK : HUBCTL_INVALID;
    if (st && opts.endpoint && !s_only(st, opts.endpoint)) {
        fprintf(stderr, "hubctl: no endpoint '%s' in the configuration\n", opts.endpoint);
        status = HUBCTL_INVALID;
    } else if (st && opts.json) {
        hubctl_print_json(json_incref(st));
    } else if (st) {
        s_print_head(st);
        s_print_endpoints(st, json_is_object(json_object_get(st, "ingest")));
    }
    json_decref(st);
    hub_config_free(&cfg);
    return status;
}
