// hubctl dlq: the dead letters, messages hubd refused and kept with their
// reason (the store's `dead` records, docs/STORE.md). list and show read
// the store; retry and drop ask hubd (admin `dlq.retry`, `dlq.drop`),
// which validates and routes a retried letter again under the rules in
// force, as its recorded source, and records who did it in the oplog.
#include "hubctl_ops.h"

#include "hub_codec.h"
#include "hub_error.h"
#include "hub_json.h"
#include "hub_mpr.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define S_DEFAULT_LIMIT 100 // dlq list shows the newest 100 unless told
#define S_CHUNK 256         // dead letters per request to hubd
#define S_HEX_MAX 256       // bytes shown of a letter that does not decode

static const char s_help[] =
    "usage: hubctl dlq list [--source D] [--code C] [--since TIME] [--limit N]\n"
    "       hubctl dlq show SEQ\n"
    "       hubctl dlq retry SEQ... | --all [--source D] [--code C] [--since TIME] [--limit N]\n"
    "       hubctl dlq drop SEQ... | --all [filters as for retry]\n"
    "  common: [--config DIR] [--timeout MS] [--format json]\n"
    "\n"
    "Dead letters are the messages hubd refused (malformed, invalid), kept with why.\n"
    "  list    the newest first N (default 100), shown oldest first, filtered by source\n"
    "          department, code word (malformed, invalid, ...) and time (TIME: 2026-11-27,\n"
    "          2026-11-27T08:00:00+08:00, yesterday, today, or an age such as 2h or 7d)\n"
    "  show    one dead letter: its reason, and the message as JSON when it decodes,\n"
    "          else a hex dump of its first bytes\n"
    "  retry   hubd validates and routes them again under the rules in force, as their\n"
    "          recorded source (fix the cause first, e.g. a schema or code table, and\n"
    "          hubctl reload); a stored (or duplicate) letter leaves the dead letters, a\n"
    "          refused one stays. Each outcome is printed.\n"
    "  drop    remove them for good\n"
    "retry and drop need hubd running; hubd records them in the operations log.\n"
    "Exit status: 0 done (every retry stored), 1 a failure or a letter refused again or\n"
    "missing, 2 bad usage.\n";

// One dead letter's fields, borrowed from its record.
typedef struct {
    uint64_t seq, time_ms;
    const char *source, *code, *reason; // NULL when nil
    size_t source_len, code_len, reason_len;
    const void *bytes;
    size_t len;
} dead_t;

// KEY of the map at REC as a string (NULL for nil or absent).
static void
s_str_at(const void *rec, size_t len, const char *key, const char **s, size_t *n)
{
    hub_mpr_t r;
    hub_mpr_init(&r, rec, len);
    *s = NULL;
    *n = 0;
    if (hub_mpr_find(&r, key) == HUB_OK && hub_mpr_str(&r, s, n) != HUB_OK) {
        *s = NULL;
    }
}

static bool
s_dead_read(const void *rec, size_t len, dead_t *d)
{
    hub_mpr_t r;
    hub_mpr_init(&r, rec, len);
    memset(d, 0, sizeof *d);
    s_str_at(rec, len, "source", &d->source, &d->source_len);
    s_str_at(rec, len, "code", &d->code, &d->code_len);
    s_str_at(rec, len, "reason", &d->reason, &d->reason_len);
    return hub_mpr_get_uint(rec, len, "seq", &d->seq) == HUB_OK &&
           hub_mpr_get_uint(rec, len, "time_ms", &d->time_ms) == HUB_OK &&
           hub_mpr_find(&r, "bytes") == HUB_OK && hub_mpr_bin(&r, &d->bytes, &d->len) == HUB_OK;
}

static bool
s_same(const char *want, const char *s, size_t n)
{
    return !want || (s && strlen(want) == n && memcmp(want, s, n) == 0);
}

static bool
s_matches(const hubctl_ops_opts_t *opts, const dead_t *d)
{
    return s_same(opts->source, d->source, d->source_len) &&
           s_same(opts->code, d->code, d->code_len) &&
           (!opts->since_given || d->time_ms >= opts->since_ms);
}

static json_t *
s_strn(const char *s, size_t n)
{
    json_t *j = s ? json_stringn(s, n) : NULL;
    return j ? j : json_null();
}

static json_t *
s_dead_json(const dead_t *d)
{
    char t[64];
    hubctl_format_time(d->time_ms, t, sizeof t);
    return json_pack("{s:I, s:I, s:s, s:o, s:o, s:o, s:I}", "seq", (json_int_t) d->seq, "time_ms",
                     (json_int_t) d->time_ms, "time", t, "source", s_strn(d->source, d->source_len),
                     "code", s_strn(d->code, d->code_len), "reason",
                     s_strn(d->reason, d->reason_len), "size", (json_int_t) d->len);
}

// The dead letters matching OPTS' filters, newest first, at most LIMIT
// (0: all); *MORE gets how many more matched.
static json_t *
s_select(hub_store_t *store, const hubctl_ops_opts_t *opts, size_t limit, size_t *more)
{
    uint64_t last = 0;
    json_t *found = json_array();
    *more = 0;
    hub_store_last_seq(store, HUB_STORE_DEAD, &last);
    for (uint64_t seq = last; seq >= 1; seq--) {
        const void *rec;
        size_t len;
        dead_t d;
        int rc = hub_store_record(store, HUB_STORE_DEAD, seq, &rec, &len);
        if (rc == HUB_OK && !s_dead_read(rec, len, &d)) {
            fprintf(stderr, "hubctl: dead letter %llu: a damaged record (skipped)\n",
                    (unsigned long long) seq);
        } else if (rc == HUB_OK && s_matches(opts, &d)) {
            if (limit && json_array_size(found) == limit) {
                (*more)++;
            } else {
                json_array_append_new(found, s_dead_json(&d));
            }
        }
    }
    return found;
}

static void
s_print_list(const hubctl_ops_opts_t *opts, const json_t *found, size_t more)
{
    size_t n = json_array_size(found);
    if (n == 0) {
        bool filtered = opts->source || opts->code || opts->since_given;
        printf("no dead letters%s\n", filtered ? " match" : "");
        return;
    }
    printf("%-6s %-25s %-20s %-16s %9s  %s\n", "SEQ", "TIME", "SOURCE", "CODE", "SIZE", "REASON");
    for (size_t i = n; i-- > 0;) { // oldest first
        const json_t *d = json_array_get(found, i);
        char size[32];
        hubctl_format_bytes((uint64_t) json_integer_value(json_object_get(d, "size")), size,
                            sizeof size);
        const char *src = json_string_value(json_object_get(d, "source"));
        const char *code = json_string_value(json_object_get(d, "code"));
        const char *why = json_string_value(json_object_get(d, "reason"));
        printf("%-6lld %-25s %-20s %-16s %9s  %s\n",
               (long long) json_integer_value(json_object_get(d, "seq")),
               json_string_value(json_object_get(d, "time")), src ? src : "-", code ? code : "-",
               size, why ? why : "-");
    }
    if (more) {
        printf("(%zu older ones match too: --limit N shows more)\n", more);
    }
}

static int
s_list(const hubctl_ops_opts_t *opts, const hub_config_t *cfg)
{
    hub_store_t *store = hubctl_ops_store(cfg);
    if (!store) {
        return HUBCTL_INVALID;
    }
    size_t more;
    json_t *found = s_select(store, opts, opts->limit_given ? opts->limit : S_DEFAULT_LIMIT, &more);
    if (opts->json) {
        json_t *asc = json_array();
        for (size_t i = json_array_size(found); i-- > 0;) {
            json_array_append(asc, json_array_get(found, i));
        }
        hubctl_print_json(json_pack("{s:o, s:I}", "dead_letters", asc, "more", (json_int_t) more));
    } else {
        s_print_list(opts, found, more);
    }
    json_decref(found);
    hub_store_destroy(&store);
    return HUBCTL_OK;
}

// ------------------------------------------------------------------ show

// The letter's bytes as a message, JSON (new reference), or NULL with the
// decoder's first problem in WHY.
static json_t *
s_decode(const dead_t *d, char *why, size_t size)
{
    hub_msg_t *msg = hub_msg_new();
    hub_diag_t *diag = hub_diag_new();
    hub_buf_t out = HUB_BUF_INIT;
    json_t *j = NULL;
    if (hub_codec_decode(msg, d->bytes, d->len, NULL, diag) == HUB_OK &&
        hub_json_from_msg(msg, 0, &out) == HUB_OK) {
        j = json_loadb((const char *) out.data, out.len, 0, NULL);
    } else if (hub_diag_count(diag)) {
        const hub_diag_entry_t *e = hub_diag_at(diag, 0);
        snprintf(why, size, "%.160s: %.300s [%.40s]", e->where, e->text, e->reason);
    } else {
        snprintf(why, size, "it does not decode");
    }
    hub_buf_free(&out);
    hub_diag_destroy(&diag);
    hub_msg_destroy(&msg);
    return j;
}

// A hex dump of the first bytes of P (at most S_HEX_MAX), 16 a line.
static void
s_hexdump(const uint8_t *p, size_t len)
{
    size_t n = len < S_HEX_MAX ? len : S_HEX_MAX;
    for (size_t off = 0; off < n; off += 16) {
        printf("  %08zx ", off);
        for (size_t i = off; i < off + 16; i++) {
            printf(i < n ? " %02x" : "   ", i < n ? p[i] : 0);
        }
        printf("  |");
        for (size_t i = off; i < off + 16 && i < n; i++) {
            putchar(p[i] >= 0x20 && p[i] < 0x7f ? p[i] : '.');
        }
        printf("|\n");
    }
}

static void
s_show_text(const dead_t *d, const json_t *msg, const char *why)
{
    char t[64];
    hubctl_format_time(d->time_ms, t, sizeof t);
    printf("dead letter %llu\n", (unsigned long long) d->seq);
    printf("  time:   %s\n", t);
    printf("  source: %.*s\n", (int) d->source_len, d->source ? d->source : "-");
    printf("  code:   %.*s\n", (int) d->code_len, d->code ? d->code : "-");
    printf("  reason: %.*s\n", (int) d->reason_len, d->reason ? d->reason : "-");
    printf("  size:   %zu bytes\n", d->len);
    if (msg) {
        char *text = json_dumps(msg, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("message:\n%s\n", text ? text : "?");
        free(text);
    } else {
        printf("message: does not decode (%s); its first %zu of %zu bytes:\n", why,
               d->len < S_HEX_MAX ? d->len : (size_t) S_HEX_MAX, d->len);
        s_hexdump(d->bytes, d->len);
    }
}

static json_t *
s_hex_json(const dead_t *d)
{
    static const char digits[] = "0123456789abcdef";
    char hex[2 * S_HEX_MAX + 1];
    size_t n = d->len < S_HEX_MAX ? d->len : S_HEX_MAX;
    for (size_t i = 0; i < n; i++) {
        hex[2 * i] = digits[((const uint8_t *) d->bytes)[i] >> 4];
        hex[2 * i + 1] = digits[((const uint8_t *) d->bytes)[i] & 15];
    }
    return json_stringn(hex, 2 * n);
}

static int
s_show(const hubctl_ops_opts_t *opts, const hub_config_t *cfg)
{
    uint64_t seq;
    if (opts->nargs != 2 || !hubctl_parse_seq(opts->args[1], &seq)) {
        return hubctl_usage_error("dlq show needs one dead-letter number (hubctl dlq list)");
    }
    hub_store_t *store = hubctl_ops_store(cfg);
    const void *rec;
    size_t len;
    dead_t d;
    int rc = store ? hub_store_record(store, HUB_STORE_DEAD, seq, &rec, &len) : HUB_EIO;
    if (rc == HUB_ENOTFOUND) {
        fprintf(stderr, "hubctl: no dead letter %llu\n", (unsigned long long) seq);
    } else if (!rc && !s_dead_read(rec, len, &d)) {
        fprintf(stderr, "hubctl: dead letter %llu: a damaged record\n", (unsigned long long) seq);
        rc = HUB_EIO;
    }
    if (!rc) {
        char why[512] = "";
        json_t *msg = s_decode(&d, why, sizeof why);
        if (opts->json) {
            json_t *o = s_dead_json(&d);
            json_object_set_new(o, "message", msg ? json_incref(msg) : json_null());
            json_object_set_new(o, "decode_error", msg ? json_null() : json_string(why));
            json_object_set_new(o, "hex", msg ? json_null() : s_hex_json(&d));
            hubctl_print_json(o);
        } else {
            s_show_text(&d, msg, why);
        }
        json_decref(msg);
    }
    hub_store_destroy(&store);
    return rc ? HUBCTL_INVALID : HUBCTL_OK;
}

// ---------------------------------------------------------- retry, drop

// The dead letters a retry or drop names: SEQ arguments, or --all with
// filters (from the store), as a JSON array of numbers; NULL on error,
// with *STATUS the exit status.
static json_t *
s_targets(const hubctl_ops_opts_t *opts, const hub_config_t *cfg, const char *verb, int *status)
{
    bool filters = opts->source || opts->code || opts->since_given || opts->limit_given;
    *status = HUBCTL_USAGE;
    if (opts->all == (opts->nargs > 1)) {
        hubctl_usage_error("dlq %s needs dead-letter numbers or --all (with filters)", verb);
        return NULL;
    }
    if (filters && !opts->all) {
        hubctl_usage_error("dlq %s: --source, --code, --since and --limit go with --all", verb);
        return NULL;
    }
    json_t *seqs = json_array();
    for (size_t i = 1; i < opts->nargs; i++) {
        uint64_t seq;
        if (!hubctl_parse_seq(opts->args[i], &seq)) {
            hubctl_usage_error("dlq %s: '%s' is not a dead-letter number", verb, opts->args[i]);
            json_decref(seqs);
            return NULL;
        }
        json_array_append_new(seqs, json_integer((json_int_t) seq));
    }
    if (opts->all) {
        hub_store_t *store = hubctl_ops_store(cfg);
        size_t more, i;
        json_t *found = store ? s_select(store, opts, opts->limit, &more) : NULL, *d;
        json_array_foreach(found, i, d)
        {
            json_array_insert(seqs, 0, json_object_get(d, "seq")); // oldest first
        }
        hub_store_destroy(&store);
        json_decref(found);
        *status = HUBCTL_INVALID;
        if (!found) {
            json_decref(seqs);
            return NULL;
        }
    }
    *status = HUBCTL_OK;
    return seqs;
}

// Asks hubd CMD for the SEQS [FROM, FROM + N); its answer in *REPLY.
static int
s_ask(const hubctl_ops_opts_t *opts, const hub_config_t *cfg, const char *cmd, const json_t *seqs,
      size_t from, size_t n, json_t **reply)
{
    hub_buf_t req = HUB_BUF_INIT;
    hub_mpw_t w;
    hubctl_admin_begin(&w, &req, cmd, 1);
    hub_mpw_cstr(&w, "seqs");
    hub_mpw_array(&w, n);
    for (size_t i = from; i < from + n; i++) {
        hub_mpw_uint(&w, (uint64_t) json_integer_value(json_array_get(seqs, i)));
    }
    int status = hub_mpw_error(&w) ? HUBCTL_INVALID : hubctl_admin_run(opts, cfg, cmd, &req, reply);
    hub_buf_free(&req);
    return status;
}

static const char *
s_s(const json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v ? v : "?";
}

// One retry outcome for people; true when the letter is stored now.
// True for the outcomes of a retry that took the letter out: stored.
static bool
s_retried(const char *outcome)
{
    return strcmp(outcome, "stored") == 0 || strcmp(outcome, "duplicate") == 0 ||
           strcmp(outcome, "same_event") == 0;
}

static bool
s_print_outcome(const json_t *r)
{
    long long seq = (long long) json_integer_value(json_object_get(r, "seq"));
    long long log = (long long) json_integer_value(json_object_get(r, "log_seq"));
    const char *outcome = s_s(r, "outcome");
    if (strcmp(outcome, "stored") == 0) {
        printf("dead letter %lld: stored as log %lld, routed under the rules in force\n", seq, log);
    } else if (strcmp(outcome, "duplicate") == 0) {
        printf("dead letter %lld: a duplicate of log %lld (stored before); removed\n", seq, log);
    } else if (strcmp(outcome, "same_event") == 0) {
        printf("dead letter %lld: stored as log %lld, a later report of an event stored before: "
               "delivered to nobody; removed\n",
               seq, log);
    } else if (strcmp(outcome, "refused") == 0) {
        printf("dead letter %lld: refused again: %s: %s (kept)\n", seq, s_s(r, "code"),
               s_s(r, "reason"));
    } else if (strcmp(outcome, "missing") == 0) {
        printf("dead letter %lld: no such dead letter\n", seq);
    } else {
        printf("dead letter %lld: %s\n", seq, outcome);
    }
    return s_retried(outcome);
}

static int
s_retry(const hubctl_ops_opts_t *opts, const hub_config_t *cfg, const json_t *seqs)
{
    json_t *all = json_array(), *reply = NULL, *r;
    int status = HUBCTL_OK;
    size_t total = json_array_size(seqs), done = 0, i;
    for (size_t from = 0; from < total && status == HUBCTL_OK; from += S_CHUNK) {
        size_t n = total - from < S_CHUNK ? total - from : S_CHUNK;
        status = s_ask(opts, cfg, "dlq.retry", seqs, from, n, &reply);
        json_array_foreach(json_object_get(reply, "results"), i, r)
        {
            json_array_append(all, r);
            done += opts->json ? s_retried(s_s(r, "outcome")) : s_print_outcome(r);
        }
        json_decref(reply);
        reply = NULL;
    }
    if (opts->json && status == HUBCTL_OK) {
        hubctl_print_json(json_pack("{s:O}", "results", all));
    } else if (status == HUBCTL_OK && total == 0) {
        printf("no dead letters match: nothing to retry\n");
    }
    json_decref(all);
    return status == HUBCTL_OK && done == total ? HUBCTL_OK : HUBCTL_INVALID;
}

static int
s_drop(const hubctl_ops_opts_t *opts, const hub_config_t *cfg, const json_t *seqs)
{
    json_t *reply = NULL;
    int status = HUBCTL_OK;
    size_t total = json_array_size(seqs), dropped = 0;
    for (size_t from = 0; from < total && status == HUBCTL_OK; from += S_CHUNK) {
        size_t n = total - from < S_CHUNK ? total - from : S_CHUNK;
        status = s_ask(opts, cfg, "dlq.drop", seqs, from, n, &reply);
        json_int_t got = json_integer_value(json_object_get(reply, "dropped"));
        dropped += got > 0 ? (size_t) got : 0;
        json_decref(reply);
        reply = NULL;
    }
    if (status == HUBCTL_OK && opts->json) {
        hubctl_print_json(
            json_pack("{s:I, s:I}", "dropped", (json_int_t) dropped, "asked", (json_int_t) total));
    } else if (status == HUBCTL_OK) {
        printf("dropped %zu of %zu dead letter%s%s\n", dropped, total, total == 1 ? "" : "s",
               dropped < total ? " (the others were not there)" : "");
    }
    return status == HUBCTL_OK && dropped == total ? HUBCTL_OK : HUBCTL_INVALID;
}

int
hubctl_dlq(int argc, char **argv)
{
    static const char *const allowed[] = {"config", "format", "timeout", "source", "code",
                                          "since",  "limit",  "all",     NULL};
    hubctl_ops_opts_t opts;
    if (hubctl_ops_help(argc, argv, s_help)) {
        return HUBCTL_OK;
    }
    if (!hubctl_ops_parse(argc, argv, allowed, &opts)) {
        return HUBCTL_USAGE;
    }
    const char *sub = opts.nargs ? opts.args[0] : "";
    bool list = strcmp(sub, "list") == 0, show = strcmp(sub, "show") == 0;
    bool retry = strcmp(sub, "retry") == 0, drop = strcmp(sub, "drop") == 0;
    if (!list && !show && !retry && !drop) {
        return hubctl_usage_error("dlq needs a subcommand: list, show, retry or drop");
    }
    if ((list || show) && opts.all) {
        return hubctl_usage_error("dlq %s takes no --all", sub);
    }
    if (list && opts.nargs > 1) {
        return hubctl_usage_error("dlq list takes no arguments ('%s')", opts.args[1]);
    }
    hub_config_t cfg = {0};
    int status = HUBCTL_INVALID;
    json_t *seqs = NULL;
    if (show && opts.nargs != 2) {
        status = hubctl_usage_error("dlq show needs one dead-letter number (hubctl dlq list)");
    } else if (hubctl_ops_config(&opts, &cfg)) {
        seqs = retry || drop ? s_targets(&opts, &cfg, sub, &status) : NULL;
        status = list    ? s_list(&opts, &cfg)
                 : show  ? s_show(&opts, &cfg)
                 : !seqs ? status
                 : retry ? s_retry(&opts, &cfg, seqs)
                         : s_drop(&opts, &cfg, seqs);
    }
    json_decref(seqs);
    hub_config_free(&cfg);
    return status;
}
