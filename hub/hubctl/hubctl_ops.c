// What the operations commands share (hubctl_ops.h): their options, the
// configuration and the read-only store, times for people, and msgpack
// records as JSON.
#include "hubctl_ops.h"

#include "hub_error.h"
#include "hub_mpr.h"
#include "hub_utf8.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_MP_DEPTH 32

int
hubctl_ops_main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(int, char **);
    } cmds[] = {{"status", hubctl_status},
                {"dlq", hubctl_dlq},
                {"cursor", hubctl_cursor},
                {"reload", hubctl_reload},
                {"store", hubctl_store}};
    for (size_t i = 0; argc > 0 && i < sizeof cmds / sizeof cmds[0]; i++) {
        if (strcmp(argv[0], cmds[i].name) == 0) {
            return cmds[i].run(argc - 1, argv + 1);
        }
    }
    // rules history|diff here too, so that they answer their own --help
    // (`rules test` stays with hubctl_rules()).
    if (argc > 1 && strcmp(argv[0], "rules") == 0 && strcmp(argv[1], "history") == 0) {
        return hubctl_rules_history(argc - 2, argv + 2);
    }
    if (argc > 1 && strcmp(argv[0], "rules") == 0 && strcmp(argv[1], "diff") == 0) {
        return hubctl_rules_diff(argc - 2, argv + 2);
    }
    return -1;
}

bool
hubctl_ops_help(int argc, char **argv, const char *help)
{
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(help, stdout);
            return true;
        }
    }
    return false;
}

bool
hubctl_opt_allowed(const char *name, const char *const *allowed)
{
    for (size_t i = 0; allowed[i]; i++) {
        if (strcmp(allowed[i], name) == 0) {
            return true;
        }
    }
    return false;
}

bool
hubctl_opt_count(const char *name, const char *value, uint64_t max, uint64_t *n)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(value, &end, 10);
    if (value[0] < '0' || value[0] > '9' || *end || errno || v > max) {
        hubctl_usage_error("--%s takes a number up to %llu, not '%s'", name,
                           (unsigned long long) max, value);
        return false;
    }
    *n = v;
    return true;
}

static bool
s_set(hubctl_ops_opts_t *o, const char *name, const char *value)
{
    uint64_t n;
    if (strcmp(name, "format") == 0) {
        if (strcmp(value, "json") != 0 && strcmp(value, "text") != 0) {
            hubctl_usage_error("--format takes 'json' or 'text', not '%s'", value);
            return false;
        }
        o->json = strcmp(value, "json") == 0;
    } else if (strcmp(name, "timeout") == 0) {
        if (!hubctl_opt_count(name, value, 3600000, &n)) {
            return false;
        }
        if (n == 0) {
            hubctl_usage_error("--timeout must be above 0");
            return false;
        }
        o->timeout_ms = (int) n;
    } else if (strcmp(name, "limit") == 0) {
        if (!hubctl_opt_count(name, value, 100000000, &n)) {
            return false;
        }
        o->limit = (size_t) n;
        o->limit_given = true;
    } else if (strcmp(name, "since") == 0) {
        if (!hubctl_parse_time(value, hubctl_now_ms(), &o->since_ms)) {
            hubctl_usage_error("--since takes a time (2026-11-27, 2026-11-27T08:00:00+08:00, "
                               "yesterday, 2h), not '%s'",
                               value);
            return false;
        }
        o->since_given = true;
    } else {
        const char **slot = strcmp(name, "config") == 0     ? &o->config
                            : strcmp(name, "source") == 0   ? &o->source
                            : strcmp(name, "code") == 0     ? &o->code
                            : strcmp(name, "endpoint") == 0 ? &o->endpoint
                            : strcmp(name, "store") == 0    ? &o->store
                                                            : &o->to;
        *slot = value;
    }
    return true;
}

// One option at ARGV[*I] (advanced past its value).
static bool
s_option(int argc, char **argv, int *i, const char *const *allowed, hubctl_ops_opts_t *o)
{
    const char *a = argv[*i];
    const char *eq = strchr(a, '=');
    size_t nlen = eq ? (size_t) (eq - a - 2) : strlen(a + 2);
    char name[32];
    snprintf(name, sizeof name, "%.*s", (int) (nlen < 31 ? nlen : 31), a + 2);
    if (a[1] != '-' || nlen > 31 || !hubctl_opt_allowed(name, allowed)) {
        hubctl_usage_error("unknown option '%s'", a);
        return false;
    }
    if (strcmp(name, "all") == 0) {
        if (eq) {
            hubctl_usage_error("--all takes no value");
            return false;
        }
        o->all = true;
        return true;
    }
    const char *value = eq ? eq + 1 : (*i + 1 < argc ? argv[++*i] : NULL);
    if (!value) {
        hubctl_usage_error("option --%s needs a value", name);
        return false;
    }
    return s_set(o, name, value);
}

bool
hubctl_ops_parse(int argc, char **argv, const char *const *allowed, hubctl_ops_opts_t *o)
{
    memset(o, 0, sizeof *o);
    const char *env = getenv("HUB_CONFIG");
    o->config = env && *env ? env : "config";
    o->timeout_ms = HUBCTL_ADMIN_TIMEOUT_MS;
    for (int i = 0; i < argc; i++) {
        if (argv[i][0] != '-' || argv[i][1] == '\0') {
            if (o->nargs == HUBCTL_OPS_MAX_ARGS) {
                hubctl_usage_error("too many arguments (at most %d)", HUBCTL_OPS_MAX_ARGS);
                return false;
            }
            o->args[o->nargs++] = argv[i];
        } else if (!s_option(argc, argv, &i, allowed, o)) {
            return false;
        }
    }
    return true;
}

bool
hubctl_ops_config(const hubctl_ops_opts_t *opts, hub_config_t *cfg)
{
    hub_diag_t *diag = hub_diag_new();
    bool ok = hub_config_load(cfg, opts->config, diag) == HUB_OK;
    if (!ok) {
        hub_diag_print(diag, stderr);
        fprintf(stderr, "hubctl: %s/hub.yaml does not load (run hubctl check)\n", opts->config);
    }
    hub_diag_destroy(&diag);
    return ok;
}

hub_depts_t *
hubctl_ops_depts(const hub_config_t *cfg)
{
    hub_diag_t *diag = hub_diag_new();
    hub_schemas_t *schemas = NULL;
    hub_depts_t *depts = NULL;
    if (hub_schemas_load(&schemas, cfg->schemas_dir, diag) != HUB_OK ||
        hub_depts_load(&depts, cfg->departments, schemas, diag) != HUB_OK) {
        hub_diag_print(diag, stderr);
        fprintf(stderr, "hubctl: the departments do not load, so the endpoints are unknown "
                        "(run hubctl check)\n");
        hub_depts_destroy(&depts);
    }
    hub_schemas_destroy(&schemas);
    hub_diag_destroy(&diag);
    return depts;
}

hub_store_t *
hubctl_ops_store(const hub_config_t *cfg)
{
    hub_diag_t *diag = hub_diag_new();
    hub_store_t *store = NULL;
    if (hub_store_open(&store, cfg->store, cfg->store_map_size, HUB_STORE_RDONLY, NULL, diag) !=
        HUB_OK) {
        hub_diag_print(diag, stderr);
        fprintf(stderr, "hubctl: cannot read the store %s\n", cfg->store);
    }
    hub_diag_destroy(&diag);
    return store;
}

uint64_t
hubctl_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}

bool
hubctl_parse_seq(const char *text, uint64_t *seq)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || *end || errno || v == 0) {
        return false;
    }
    *seq = v;
    return true;
}

// ---------------------------------------------------------------- times

// Exactly N digits at *P into *OUT; moves *P past them.
static bool
s_digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if ((*p)[i] < '0' || (*p)[i] > '9') {
            return false;
        }
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return true;
}

// Days from 1970-01-01 to Y-M-D in the proleptic Gregorian calendar.
static int64_t
s_days(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

static int
s_month_days(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

// "HH:MM[:SS[.fff]]" at *P into TM and *FRAC_MS.
static bool
s_clock(const char **p, struct tm *tm, int *frac_ms)
{
    if (!s_digits(p, 2, &tm->tm_hour) || *(*p)++ != ':' || !s_digits(p, 2, &tm->tm_min)) {
        return false;
    }
    if (**p == ':') {
        (*p)++;
        if (!s_digits(p, 2, &tm->tm_sec)) {
            return false;
        }
        if (**p == '.' || **p == ',') {
            int scale = 100, n = 0;
            for ((*p)++; **p >= '0' && **p <= '9'; (*p)++, n++) {
                *frac_ms += (**p - '0') * scale;
                scale /= 10;
            }
            if (n == 0) {
                return false;
            }
        }
    }
    return tm->tm_hour <= 23 && tm->tm_min <= 59 && tm->tm_sec <= 60;
}

// The zone at P: "" (local), "Z", "+08:00", "+0800", "-05". *OFFSET_S is
// east of UTC in seconds; *LOCAL when there is none.
static bool
s_zone(const char *p, bool *local, long *offset_s)
{
    int h = 0, m = 0;
    *local = *p == '\0';
    *offset_s = 0;
    if (*local || (p[0] == 'Z' && p[1] == '\0')) {
        return true;
    }
    if (*p != '+' && *p != '-') {
        return false;
    }
    int sign = *p++ == '-' ? -1 : 1;
    if (!s_digits(&p, 2, &h)) {
        return false;
    }
    if (*p == ':') {
        p++;
    }
    if (*p && !s_digits(&p, 2, &m)) {
        return false;
    }
    *offset_s = sign * (h * 3600L + m * 60L);
    return *p == '\0' && h <= 23 && m <= 59;
}

static bool
s_iso(const char *p, uint64_t *ms)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    int y, frac = 0;
    if (!s_digits(&p, 4, &y) || *p++ != '-' || !s_digits(&p, 2, &tm.tm_mon) || *p++ != '-' ||
        !s_digits(&p, 2, &tm.tm_mday) || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
        tm.tm_mday > s_month_days(y, tm.tm_mon) || y < 1970) {
        return false;
    }
    if ((*p == 'T' || *p == ' ') && (p++, !s_clock(&p, &tm, &frac))) {
        return false;
    }
    bool local;
    long offset;
    if (!s_zone(p, &local, &offset)) {
        return false;
    }
    int64_t secs;
    if (local) {
        tm.tm_year = y - 1900;
        tm.tm_mon -= 1;
        tm.tm_isdst = -1;
        time_t t = mktime(&tm);
        if (t == (time_t) -1) {
            return false;
        }
        secs = (int64_t) t;
    } else {
        secs = s_days(y, tm.tm_mon, tm.tm_mday) * 86400 + tm.tm_hour * 3600 + tm.tm_min * 60 +
               tm.tm_sec - offset;
    }
    if (secs < 0) {
        return false;
    }
    *ms = (uint64_t) secs * 1000u + (uint64_t) frac;
    return true;
}

// Local midnight DAYS_BACK days before NOW_MS.
static bool
s_midnight(uint64_t now_ms, int days_back, uint64_t *ms)
{
    time_t now = (time_t) (now_ms / 1000);
    struct tm tm;
    if (!localtime_r(&now, &tm)) {
        return false;
    }
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    tm.tm_mday -= days_back;
    tm.tm_isdst = -1;
    time_t t = mktime(&tm);
    if (t == (time_t) -1 || t < 0) {
        return false;
    }
    *ms = (uint64_t) t * 1000u;
    return true;
}

// "90s", "15m", "2h", "7d": that long before NOW_MS.
static bool
s_age(const char *text, uint64_t now_ms, uint64_t *ms)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(text, &end, 10);
    uint64_t unit = *end == 's'   ? 1000u
                    : *end == 'm' ? 60000u
                    : *end == 'h' ? 3600000u
                    : *end == 'd' ? 86400000u
                                  : 0;
    if (text[0] < '0' || text[0] > '9' || errno || !unit || end[1] || n > now_ms / unit) {
        return false;
    }
    *ms = now_ms - n * unit;
    return true;
}

bool
hubctl_parse_time(const char *text, uint64_t now_ms, uint64_t *ms)
{
    if (strcmp(text, "now") == 0) {
        *ms = now_ms;
        return true;
    }
    if (strcmp(text, "today") == 0 || strcmp(text, "yesterday") == 0) {
        return s_midnight(now_ms, text[0] == 'y', ms);
    }
    return s_iso(text, ms) || s_age(text, now_ms, ms);
}

void
hubctl_format_time(uint64_t ms, char *buf, size_t size)
{
    time_t t = (time_t) (ms / 1000);
    struct tm tm;
    char zone[8] = "";
    if (!localtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm) == 0 ||
        strftime(zone, sizeof zone, "%z", &tm) != 5) {
        snprintf(buf, size, "@%llu", (unsigned long long) ms);
        return;
    }
    size_t n = strlen(buf);
    snprintf(buf + n, size - n, "%.3s:%s", zone, zone + 3);
}

void
hubctl_format_age(uint64_t ms, char *buf, size_t size)
{
    unsigned long long s = ms / 1000;
    if (ms < 1000) {
        snprintf(buf, size, "%llums", (unsigned long long) ms);
    } else if (s < 60) {
        snprintf(buf, size, "%llus", s);
    } else if (s < 3600) {
        snprintf(buf, size, "%llum%02llus", s / 60, s % 60);
    } else if (s < 86400) {
        snprintf(buf, size, "%lluh%02llum", s / 3600, s % 3600 / 60);
    } else {
        snprintf(buf, size, "%llud%02lluh", s / 86400, s % 86400 / 3600);
    }
}

void
hubctl_format_bytes(uint64_t n, char *buf, size_t size)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
    if (n < 1024) {
        snprintf(buf, size, "%llu B", (unsigned long long) n);
        return;
    }
    double v = (double) n / 1024.0;
    size_t u = 0;
    while (v >= 1024.0 && u + 1 < sizeof units / sizeof units[0]) {
        v /= 1024.0;
        u++;
    }
    snprintf(buf, size, "%.1f %s", v, units[u]);
}

// ------------------------------------------------------ msgpack as JSON

// S (N bytes) as a JSON string; bytes that are not UTF-8 become U+FFFD.
static json_t *
s_string(const char *s, size_t n)
{
    size_t bad;
    if (hub_utf8_valid(s, n, &bad)) {
        return json_stringn(s, n);
    }
    hub_buf_t b = HUB_BUF_INIT;
    while (n) {
        size_t ok = hub_utf8_valid(s, n, &bad) ? n : bad;
        hub_buf_append(&b, s, ok);
        if (ok < n) {
            hub_buf_append(&b, "\xef\xbf\xbd", 3);
            ok++;
        }
        s += ok;
        n -= ok;
    }
    json_t *j = json_stringn(b.data ? (const char *) b.data : "", b.len);
    hub_buf_free(&b);
    return j;
}

static json_t *
s_hex(const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char *text = malloc(2 * n + 1);
    if (!text) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        text[2 * i] = digits[p[i] >> 4];
        text[2 * i + 1] = digits[p[i] & 15];
    }
    json_t *j = json_stringn(text, 2 * n);
    free(text);
    return j;
}

static json_t *
s_value(hub_mpr_t *r, int depth);

// The LEN items (or pairs) of an array or map already started in R.
static json_t *
s_container(hub_mpr_t *r, const hub_mp_obj_t *o, int depth)
{
    bool map = o->kind == HUB_MP_MAP;
    json_t *j = map ? json_object() : json_array();
    for (uint32_t i = 0; j && i < o->len; i++) {
        const char *key = NULL;
        size_t klen = 0;
        bool str_key = map && hub_mpr_str(r, &key, &klen) == HUB_OK;
        if (map && !str_key && hub_mpr_skip(r) != HUB_OK) {
            json_decref(j);
            return NULL;
        }
        json_t *v = s_value(r, depth + 1);
        if (!v) {
            json_decref(j);
            return NULL;
        }
        if (!map) {
            json_array_append_new(j, v);
        } else if (str_key && memchr(key, 0, klen) == NULL) {
            char *k = strndup(key, klen);
            json_object_set_new(j, k ? k : "", v);
            free(k);
        } else {
            json_decref(v);
        }
    }
    return j;
}

static json_t *
s_value(hub_mpr_t *r, int depth)
{
    hub_mp_obj_t o;
    if (depth > S_MP_DEPTH || hub_mpr_next(r, &o) != HUB_OK) {
        return NULL;
    }
    switch (o.kind) {
    case HUB_MP_NIL:
        return json_null();
    case HUB_MP_BOOL:
        return json_boolean(o.v.b);
    case HUB_MP_UINT:
        return o.v.u <= INT64_MAX ? json_integer((json_int_t) o.v.u) : json_real((double) o.v.u);
    case HUB_MP_INT:
        return json_integer((json_int_t) o.v.i);
    case HUB_MP_FLOAT:
        return json_real(o.v.f);
    case HUB_MP_STR:
        return s_string((const char *) o.data, o.len);
    case HUB_MP_BIN:
    case HUB_MP_EXT:
        return s_hex(o.data, o.len);
    case HUB_MP_ARRAY:
    case HUB_MP_MAP:
        return s_container(r, &o, depth);
    }
    return NULL;
}

json_t *
hubctl_mp_json(const void *data, size_t len)
{
    hub_mpr_t r;
    hub_mpr_init(&r, data, len);
    json_t *j = s_value(&r, 0);
    if (j && !hub_mpr_done(&r)) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

json_t *
hubctl_store_json(hub_store_t *store, hub_store_seqdb_t db, uint64_t seq, bool *found)
{
    const void *rec;
    size_t len;
    int rc = hub_store_record(store, db, seq, &rec, &len);
    if (found) {
        *found = rc != HUB_ENOTFOUND;
    }
    return rc ? NULL : hubctl_mp_json(rec, len);
}
