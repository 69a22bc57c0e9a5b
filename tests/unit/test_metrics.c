// Tests of hubd_metrics: histograms, the Prometheus text (checked line by
// line against the exposition format 0.0.4), and the HTTP server itself,
// fetched over a real TCP socket on loopback.
#include "../../hub/hubd/hubd_metrics.h"

#include "hub_error.h"

#include <CUnit/CUnit.h>
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define S_COUNT(a) (sizeof(a) / sizeof((a)[0]))

// ---------------------------------------------------------------------------
// A small HTTP/1.0 client: one request, read to EOF.

typedef struct {
    int status; // 0 when no answer
    char *head; // status line and headers
    char *body;
} s_resp_t;

static void
s_resp_free(s_resp_t *r)
{
    free(r->head);
    free(r->body);
    memset(r, 0, sizeof *r);
}

static char *
s_read_all(int fd)
{
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    CU_ASSERT_FATAL(buf != NULL);
    for (;;) {
        if (cap - len < 1024) {
            cap *= 2;
            buf = realloc(buf, cap);
            CU_ASSERT_FATAL(buf != NULL);
        }
        ssize_t n = recv(fd, buf + len, cap - len - 1, 0);
        if (n <= 0) {
            break;
        }
        len += (size_t) n;
    }
    buf[len] = '\0';
    return buf;
}

// Sends REQUEST to 127.0.0.1:PORT and splits the answer.
static s_resp_t
s_http(unsigned port, const char *request)
{
    s_resp_t r = {0, NULL, NULL};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CU_ASSERT_FATAL(fd >= 0);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t) port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *) &sa, sizeof sa) != 0 ||
        send(fd, request, strlen(request), 0) != (ssize_t) strlen(request)) {
        close(fd);
        return r;
    }
    char *all = s_read_all(fd);
    close(fd);
    char *sep = strstr(all, "\r\n\r\n");
    if (sep && sscanf(all, "HTTP/1.%*d %d", &r.status) == 1) {
        r.body = strdup(sep + 4);
        *sep = '\0';
        r.head = all;
    } else {
        free(all);
    }
    return r;
}

static s_resp_t
s_get(unsigned port, const char *path)
{
    char req[256];
    snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
    return s_http(port, req);
}

// ---------------------------------------------------------------------------
// A checker of the text exposition format: every line is a HELP, a TYPE or
// a sample; each family has one HELP and one TYPE before its samples, and
// its samples are together; histogram buckets are cumulative, end with
// +Inf, and agree with _count.

typedef struct {
    char family[128]; // the family being read
    char type[16];
    char seen[64][128]; // families already closed
    size_t nseen;
    double last_le; // histogram state
    double last_bucket;
    double inf_count;
    bool has_inf, has_sum, has_count;
    double count;
    char err[256];
} s_check_t;

static bool
s_is_name(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (i > 0 && c >= '0' && c <= '9');
        if (!ok) {
            return false;
        }
    }
    return n > 0;
}

// Parses {a="x",b="y"} at *P; copies the value of label "le" into LE.
static bool
s_labels(const char **p, char *le, size_t lesize)
{
    const char *s = *p + 1;
    le[0] = '\0';
    while (*s != '}') {
        size_t n = strcspn(s, "=");
        if (!s_is_name(s, n) || s[n] != '=' || s[n + 1] != '"') {
            return false;
        }
        bool is_le = n == 2 && memcmp(s, "le", 2) == 0;
        size_t o = 0;
        for (s += n + 2; *s != '"'; s++) {
            if (*s == '\0' || *s == '\n') {
                return false;
            }
            if (*s == '\\' && !strchr("\\\"n", *++s)) {
                return false; // the only escapes the format has
            }
            if (is_le && o + 1 < lesize) {
                le[o++] = *s;
                le[o] = '\0';
            }
        }
        s++;
        if (*s == ',') {
            s++;
        } else if (*s != '}') {
            return false;
        }
    }
    *p = s + 1;
    return true;
}

static bool
s_value(const char *s, double *v)
{
    if (strcmp(s, "+Inf") == 0 || strcmp(s, "-Inf") == 0 || strcmp(s, "NaN") == 0) {
        *v = strcmp(s, "NaN") == 0 ? NAN : (s[0] == '+' ? INFINITY : -INFINITY);
        return true;
    }
    char *end;
    *v = strtod(s, &end);
    return end != s && *end == '\0';
}

// Closes the family in hand (histogram totals must agree), opens NAME.
static bool
s_open_family(s_check_t *c, const char *name)
{
    if (c->family[0] && strcmp(c->type, "histogram") == 0 &&
        (!c->has_inf || !c->has_sum || !c->has_count || c->inf_count != c->count)) {
        snprintf(c->err, sizeof c->err, "histogram %s: +Inf/_sum/_count missing or disagree",
                 c->family);
        return false;
    }
    for (size_t i = 0; i <= c->nseen && i < S_COUNT(c->seen); i++) {
        if (strcmp(i < c->nseen ? c->seen[i] : c->family, name) == 0) {
            snprintf(c->err, sizeof c->err, "family %s appears twice", name);
            return false;
        }
    }
    if (c->family[0] && c->nseen < S_COUNT(c->seen)) {
        memcpy(c->seen[c->nseen++], c->family, sizeof c->family);
    }
    snprintf(c->family, sizeof c->family, "%s", name);
    c->type[0] = '\0';
    c->last_le = -INFINITY;
    c->last_bucket = 0;
    c->has_inf = c->has_sum = c->has_count = false;
    return true;
}

static bool
s_comment(s_check_t *c, const char *line)
{
    char name[128], word[16];
    if (sscanf(line, "# HELP %127s", name) == 1) {
        return s_open_family(c, name) &&
               strlen(line) > strlen("# HELP  ") + strlen(name); // a help text follows
    }
    if (sscanf(line, "# TYPE %127s %15s", name, word) == 2) {
        if (strcmp(name, c->family) != 0 || c->type[0]) {
            snprintf(c->err, sizeof c->err, "TYPE %s not right after its HELP", name);
            return false;
        }
        snprintf(c->type, sizeof c->type, "%s", word);
        return strcmp(word, "counter") == 0 || strcmp(word, "gauge") == 0 ||
               strcmp(word, "histogram") == 0;
    }
    return false;
}

static bool
s_has_suffix(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n > k && memcmp(s + n - k, suffix, k) == 0;
}

// One histogram sample: _bucket (cumulative, le ascending), _sum, _count.
static bool
s_hist_sample(s_check_t *c, const char *name, size_t n, const char *le, double v)
{
    size_t f = strlen(c->family);
    const char *suffix = name + f;
    if (n <= f || memcmp(name, c->family, f) != 0) {
        return false;
    }
    if (n - f == 7 && memcmp(suffix, "_bucket", 7) == 0) {
        double bound;
        if (!le[0] || !s_value(le, &bound) || !(bound > c->last_le) || v < c->last_bucket) {
            return false;
        }
        c->last_le = bound;
        c->last_bucket = v;
        c->has_inf = isinf(bound) != 0;
        c->inf_count = v;
        return true;
    }
    if (n - f == 4 && memcmp(suffix, "_sum", 4) == 0) {
        return (c->has_sum = true);
    }
    if (n - f == 6 && memcmp(suffix, "_count", 6) == 0) {
        c->count = v;
        return (c->has_count = true);
    }
    return false;
}

static bool
s_sample(s_check_t *c, const char *line)
{
    size_t n = strcspn(line, "{ ");
    const char *p = line + n;
    char le[64] = "";
    double v;
    if (!s_is_name(line, n) || !c->type[0] || (*p == '{' && !s_labels(&p, le, sizeof le)) ||
        *p != ' ' || !s_value(p + 1, &v)) {
        snprintf(c->err, sizeof c->err, "not a sample of family %.60s: %.150s", c->family, line);
        return false;
    }
    if (strcmp(c->type, "histogram") == 0) {
        return s_hist_sample(c, line, n, le, v);
    }
    if (strcmp(c->type, "counter") == 0 && !s_has_suffix(c->family, strlen(c->family), "_total")) {
        return false;
    }
    return strlen(c->family) == n && memcmp(line, c->family, n) == 0;
}

// True when TEXT is valid exposition text; *ERR says where it is not.
static bool
s_valid_exposition(const char *text, char *err, size_t errsize)
{
    static s_check_t c;
    memset(&c, 0, sizeof c);
    char line[1024];
    const char *p = text;
    bool ok = *p != '\0' && text[strlen(text) - 1] == '\n';
    while (ok && *p) {
        size_t n = strcspn(p, "\n");
        snprintf(line, sizeof line, "%.*s", (int) n, p);
        ok = line[0] == '#' ? s_comment(&c, line) : s_sample(&c, line);
        if (!ok && !c.err[0]) {
            snprintf(c.err, sizeof c.err, "bad line: %.200s", line);
        }
        p += n + (p[n] == '\n');
    }
    ok = ok && s_open_family(&c, "(end)");
    snprintf(err, errsize, "%s", c.err);
    return ok;
}

// ---------------------------------------------------------------------------
// A snapshot to publish

static hubd_metrics_endpoint_t s_eps[2];

static void
s_fill(hubd_metrics_snapshot_t *s, const char *ruleset)
{
    memset(s, 0, sizeof *s);
    memset(s_eps, 0, sizeof s_eps);
    s->start_ms = 1764284400123; // 2025-11-27T23:00:00.123Z
    s->ruleset = ruleset;
    s->received = 1000000;
    s->acked = 990;
    s->duplicates = 7;
    s->nacked[hubd_metrics_nack_index("store_full")] = 3;
    s->nacked[hubd_metrics_nack_index("invalid")] = 2;
    s->nacked[hubd_metrics_nack_index("no_such_code")] = 1;
    s->dead_written = 2;
    s->retention_failures = 1;
    s->checkpoint_failures = 2;
    s->dead_letters = 5;
    s->dedup_ids = 123456;
    s->subject_pending = 4321;
    s->subject_runs[0] = 12;
    s->subject_runs[1] = 3;
    s->peers = 4;
    s_eps[0] = (hubd_metrics_endpoint_t){"education@513431", 120, 4, 115, 115, 120, 5, 2.5, 1};
    s_eps[1] = (hubd_metrics_endpoint_t){"we\"ird\\name\nx", 0, 0, 0, 0, 1, 1, 0.25, 0};
    s->endpoints = s_eps;
    s->nendpoints = 2;
    hubd_metrics_histogram_init_seconds(&s->commit_seconds);
    const double obs[] = {0.0003, 0.0007, 0.002, 0.3, 5};
    for (size_t i = 0; i < S_COUNT(obs); i++) {
        hubd_metrics_histogram_observe(&s->commit_seconds, obs[i]);
    }
    hubd_metrics_histogram_init_batch(&s->batch_size);
    hubd_metrics_histogram_observe(&s->batch_size, 512);
    hubd_metrics_histogram_observe(&s->batch_size, 1);
    s->store_map_size = 1073741824;
    s->store_used_bytes = 4096 * 300;
}

static void
s_expect_line(const char *text, const char *line)
{
    if (!strstr(text, line)) {
        fprintf(stderr, "\n  missing line: %s", line);
    }
    CU_ASSERT(strstr(text, line) != NULL);
}

// ---------------------------------------------------------------------------
// Tests

static void
test_histogram_init_refuses_bad_bounds(void)
{
    hubd_metrics_histogram_t h;
    const double down[] = {1, 0.5};
    const double same[] = {1, 1};
    const double nan_bound[] = {NAN};
    double many[HUBD_METRICS_BUCKETS_MAX + 1];
    for (size_t i = 0; i < S_COUNT(many); i++) {
        many[i] = (double) i;
    }
    CU_ASSERT_EQUAL(hubd_metrics_histogram_init(&h, down, 2), HUB_EINVAL);
    CU_ASSERT_EQUAL(hubd_metrics_histogram_init(&h, same, 2), HUB_EINVAL);
    CU_ASSERT_EQUAL(hubd_metrics_histogram_init(&h, nan_bound, 1), HUB_EINVAL);
    CU_ASSERT_EQUAL(hubd_metrics_histogram_init(&h, many, S_COUNT(many)), HUB_EINVAL);
    CU_ASSERT_EQUAL(hubd_metrics_histogram_init(&h, many, HUBD_METRICS_BUCKETS_MAX), HUB_OK);
    CU_ASSERT_EQUAL(h.nbuckets, HUBD_METRICS_BUCKETS_MAX);
}

static void
test_histogram_observe_counts_each_value_in_one_bucket(void)
{
    hubd_metrics_histogram_t h;
    hubd_metrics_histogram_init_seconds(&h);
    CU_ASSERT_EQUAL(h.nbuckets, 11);
    CU_ASSERT_DOUBLE_EQUAL(h.le[0], 0.0005, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(h.le[10], 1.0, 1e-12);
    hubd_metrics_histogram_observe(&h, 0.0005); // on a bound: that bucket (le is <=)
    hubd_metrics_histogram_observe(&h, 0.00051);
    hubd_metrics_histogram_observe(&h, 2.0); // above all bounds: +Inf only
    hubd_metrics_histogram_observe(&h, NAN); // ignored
    CU_ASSERT_EQUAL(h.counts[0], 1);
    CU_ASSERT_EQUAL(h.counts[1], 1);
    uint64_t in_buckets = 0;
    for (size_t i = 0; i < h.nbuckets; i++) {
        in_buckets += h.counts[i];
    }
    CU_ASSERT_EQUAL(in_buckets, 2);
    CU_ASSERT_EQUAL(h.count, 3);
    CU_ASSERT_DOUBLE_EQUAL(h.sum, 2.00101, 1e-9);
}

static void
test_nack_codes_map_both_ways(void)
{
    const char *codes[] = {"malformed", "invalid",    "source_mismatch", "not_allowed",
                           "too_large", "store_full", "unavailable",     "internal"};
    for (size_t i = 0; i < S_COUNT(codes); i++) {
        hubd_nack_code_t k = hubd_metrics_nack_index(codes[i]);
        CU_ASSERT_EQUAL(k, (hubd_nack_code_t) i);
        CU_ASSERT_STRING_EQUAL(hubd_metrics_nack_name(k), codes[i]);
    }
    CU_ASSERT_EQUAL(hubd_metrics_nack_index("STORE_FULL"), HUBD_NACK_OTHER);
    CU_ASSERT_EQUAL(hubd_metrics_nack_index(NULL), HUBD_NACK_OTHER);
    CU_ASSERT_STRING_EQUAL(hubd_metrics_nack_name(HUBD_NACK_OTHER), "other");
    CU_ASSERT_STRING_EQUAL(hubd_metrics_nack_name((hubd_nack_code_t) 99), "other");
}

static void
test_render_is_valid_exposition_text(void)
{
    hubd_metrics_snapshot_t s;
    s_fill(&s, "356bc688");
    hub_buf_t out = HUB_BUF_INIT;
    CU_ASSERT_EQUAL_FATAL(hubd_metrics_render(&s, &out), HUB_OK);
    const char *text = hub_buf_cstr(&out);
    char err[256];
    bool ok = s_valid_exposition(text, err, sizeof err);
    if (!ok) {
        fprintf(stderr, "\n  %s\n", err);
    }
    CU_ASSERT(ok);
    hub_buf_free(&out);
}

static void
test_render_shows_every_number_with_its_labels(void)
{
    hubd_metrics_snapshot_t s;
    s_fill(&s, "356bc688");
    hub_buf_t out = HUB_BUF_INIT;
    CU_ASSERT_EQUAL_FATAL(hubd_metrics_render(&s, &out), HUB_OK);
    const char *t = hub_buf_cstr(&out);
    const char *lines[] = {
        "# TYPE hub_start_time_seconds gauge\nhub_start_time_seconds 1764284400.123\n",
        "# TYPE hub_ruleset_info gauge\nhub_ruleset_info{version=\"356bc688\"} 1\n",
        "hub_ingest_received_total 1000000\n",
        "hub_ingest_acked_total 990\n",
        "hub_ingest_duplicates_total 7\n",
        "hub_ingest_nacked_total{code=\"store_full\"} 3\n",
        "hub_ingest_nacked_total{code=\"invalid\"} 2\n",
        "hub_ingest_nacked_total{code=\"other\"} 1\n",
        "hub_ingest_nacked_total{code=\"malformed\"} 0\n",
        "hub_dead_letters_written_total 2\n",
        "hub_dead_letters 5\n",
        "# TYPE hub_dedup_ids gauge\nhub_dedup_ids 123456\n",
        "# TYPE hub_subject_index_pending gauge\nhub_subject_index_pending 4321\n",
        "# TYPE hub_subject_index_runs gauge\nhub_subject_index_runs{level=\"0\"} 12\n"
        "hub_subject_index_runs{level=\"1\"} 3\nhub_subject_index_runs{level=\"2\"} 0\n",
        "hub_peers_connected 4\n",
        "hub_deliveries_total{endpoint=\"education@513431\"} 120\n",
        "hub_redeliveries_total{endpoint=\"education@513431\"} 4\n",
        "hub_delivery_acks_total{endpoint=\"education@513431\"} 115\n",
        "hub_endpoint_acked_seq{endpoint=\"education@513431\"} 115\n",
        "hub_endpoint_last_seq{endpoint=\"education@513431\"} 120\n",
        "hub_queue_depth{endpoint=\"education@513431\"} 5\n",
        "hub_queue_oldest_unacked_age_seconds{endpoint=\"education@513431\"} 2.5\n",
        "hub_consumers_connected{endpoint=\"education@513431\"} 1\n",
        "hub_queue_depth{endpoint=\"we\\\"ird\\\\name\\nx\"} 1\n",
        "hub_queue_oldest_unacked_age_seconds{endpoint=\"we\\\"ird\\\\name\\nx\"} 0.25\n",
        "hub_store_map_size_bytes 1073741824\n",
        "hub_store_used_bytes 1228800\n",
        "# TYPE hub_retention_failures_total counter\nhub_retention_failures_total 1\n",
        "# TYPE hub_checkpoint_failures_total counter\nhub_checkpoint_failures_total 2\n",
    };
    for (size_t i = 0; i < S_COUNT(lines); i++) {
        s_expect_line(t, lines[i]);
    }
    hub_buf_free(&out);
}

static void
test_render_histograms_are_cumulative_with_inf_sum_and_count(void)
{
    hubd_metrics_snapshot_t s;
    s_fill(&s, "v1");
    hub_buf_t out = HUB_BUF_INIT;
    CU_ASSERT_EQUAL_FATAL(hubd_metrics_render(&s, &out), HUB_OK);
    const char *t = hub_buf_cstr(&out);
    // Observed: 0.0003, 0.0007, 0.002, 0.3, 5.
    s_expect_line(t, "# TYPE hub_commit_duration_seconds histogram\n"
                     "hub_commit_duration_seconds_bucket{le=\"0.0005\"} 1\n"
                     "hub_commit_duration_seconds_bucket{le=\"0.001\"} 2\n"
                     "hub_commit_duration_seconds_bucket{le=\"0.0025\"} 3\n"
                     "hub_commit_duration_seconds_bucket{le=\"0.005\"} 3\n");
    s_expect_line(t, "hub_commit_duration_seconds_bucket{le=\"0.25\"} 3\n"
                     "hub_commit_duration_seconds_bucket{le=\"0.5\"} 4\n"
                     "hub_commit_duration_seconds_bucket{le=\"1\"} 4\n"
                     "hub_commit_duration_seconds_bucket{le=\"+Inf\"} 5\n"
                     "hub_commit_duration_seconds_sum 5.303\n"
                     "hub_commit_duration_seconds_count 5\n");
    s_expect_line(t, "hub_commit_batch_size_bucket{le=\"1\"} 1\n"
                     "hub_commit_batch_size_bucket{le=\"2\"} 1\n");
    s_expect_line(t, "hub_commit_batch_size_bucket{le=\"512\"} 2\n"
                     "hub_commit_batch_size_bucket{le=\"1024\"} 2\n");
    s_expect_line(t, "hub_commit_batch_size_bucket{le=\"65536\"} 2\n"
                     "hub_commit_batch_size_bucket{le=\"+Inf\"} 2\n"
                     "hub_commit_batch_size_sum 513\n"
                     "hub_commit_batch_size_count 2\n");
    hub_buf_free(&out);
}

static void
test_exposition_checker_refuses_broken_text(void)
{
    // The checker above must itself catch what it is there to catch.
    const char *bad[] = {
        "hub_x 1\n",                                                 // no HELP/TYPE
        "# HELP hub_x x\n# TYPE hub_x gauge\nhub_x{a=\"b\\q\"} 1\n", // bad escape
        "# HELP hub_x x\n# TYPE hub_x counter\nhub_x 1\n",           // counter without _total
        "# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"2\"} 1\n"
        "h_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 2\n", // not cumulative
        "# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_sum 1\nh_count 2\n", // no +Inf
        "# HELP hub_x x\n# TYPE hub_x gauge\nhub_x 1\n# HELP hub_x x\n", // family twice
        "# HELP hub_x x\n# TYPE hub_x gauge\nhub_x one\n",               // not a number
    };
    char err[256];
    for (size_t i = 0; i < S_COUNT(bad); i++) {
        bool ok = s_valid_exposition(bad[i], err, sizeof err);
        if (ok) {
            fprintf(stderr, "\n  accepted broken text %zu\n", i);
        }
        CU_ASSERT_FALSE(ok);
    }
}

static void
test_start_refuses_bad_addresses(void)
{
    const char *bad[] = {
        "",         "nonsense",     "127.0.0.1",       "127.0.0.1:", ":",
        "::1:9464", "127.0.0.1:x1", "127.0.0.1:99999", "[::1]9464",  "no-such-host.invalid:9464"};
    for (size_t i = 0; i < S_COUNT(bad); i++) {
        hub_diag_t *diag = hub_diag_new();
        static char sentinel;
        hubd_metrics_t *m = (hubd_metrics_t *) &sentinel; // must come back NULL
        int rc = hubd_metrics_start(&m, bad[i], diag);
        CU_ASSERT_EQUAL(rc, HUB_ECONFIG);
        CU_ASSERT_PTR_NULL(m);
        CU_ASSERT_EQUAL(hub_diag_errors(diag), 1);
        const hub_diag_entry_t *e = hub_diag_at(diag, 0);
        CU_ASSERT(e && strcmp(e->where, bad[i]) == 0 && strlen(e->text) > 0);
        hub_diag_destroy(&diag);
    }
}

static void
test_start_refuses_a_port_in_use(void)
{
    hubd_metrics_t *a = NULL, *b = NULL;
    CU_ASSERT_EQUAL_FATAL(hubd_metrics_start(&a, "127.0.0.1:0", NULL), HUB_OK);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", hubd_metrics_port(a));
    hub_diag_t *diag = hub_diag_new();
    CU_ASSERT_EQUAL(hubd_metrics_start(&b, addr, diag), HUB_EIO);
    CU_ASSERT_PTR_NULL(b);
    CU_ASSERT(hub_diag_count(diag) == 1 && strstr(hub_diag_at(diag, 0)->text, "in use"));
    hub_diag_destroy(&diag);
    hubd_metrics_destroy(&a);
    CU_ASSERT_PTR_NULL(a);
    hubd_metrics_destroy(&a); // safe on NULL
}

static void
test_server_answers_503_before_the_first_snapshot(void)
{
    hubd_metrics_t *m = NULL;
    CU_ASSERT_EQUAL_FATAL(hubd_metrics_start(&m, "127.0.0.1:0", NULL), HUB_OK);
    unsigned port = hubd_metrics_port(m);
    CU_ASSERT(port > 0);
    s_resp_t h = s_get(port, "/healthz");
    CU_ASSERT_EQUAL(h.status, 503);
    CU_ASSERT(h.body && strstr(h.body, "not published a snapshot yet"));
    s_resp_t r = s_get(port, "/metrics");
    CU_ASSERT_EQUAL(r.status, 503);
    s_resp_free(&h);
    s_resp_free(&r);
    hubd_metrics_destroy(&m);
}

static void
test_server_serves_the_published_snapshot(void)
{
    hubd_metrics_t *m = NULL;
    CU_ASSERT_EQUAL_FATAL(hubd_metrics_start(&m, "127.0.0.1:0", NULL), HUB_OK);
    unsigned port = hubd_metrics_port(m);
    char ruleset[] = "356bc688"; // publish copies it: overwritten below
    hubd_metrics_snapshot_t s;
    s_fill(&s, ruleset);
    CU_ASSERT_EQUAL_FATAL(hubd_metrics_publish(m, &s), HUB_OK);
    hub_buf_t want = HUB_BUF_INIT;
    CU_ASSERT_EQUAL_FATAL(hubd_metrics_render(&s, &want), HUB_OK);
    memcpy(ruleset, "XXXXXXXX", 8);
    s_eps[0].endpoint = "changed";
    s_resp_t r = s_get(port, "/metrics");
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT(r.head && strstr(r.head, "Content-Type: text/plain; version=0.0.4; charset=utf-8"));
    CU_ASSERT(r.body && strcmp(r.body, hub_buf_cstr(&want)) == 0);
    s_resp_t h = s_get(port, "/healthz");
    CU_ASSERT_EQUAL(h.status, 200);
    CU_ASSERT(h.body && strcmp(h.body, "ok\n") == 0);
    s_resp_free(&r);
    s_resp_free(&h);
    hub_buf_free(&want);
    hubd_metrics_destroy(&m);
}

static void
test_server_refuses_other_paths_and_methods(void)
{
    hubd_metrics_t *m = NULL;
    CU_ASSERT_EQUAL_FATAL(hubd_metrics_start(&m, "127.0.0.1:0", NULL), HUB_OK);
    unsigned port = hubd_metrics_port(m);
    s_resp_t a = s_get(port, "/metrics/../etc/passwd");
    CU_ASSERT_EQUAL(a.status, 404);
    s_resp_t b = s_http(port, "POST /metrics HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc");
    CU_ASSERT_EQUAL(b.status, 405);
    CU_ASSERT(b.head && strstr(b.head, "Allow: GET, HEAD"));
    s_resp_t c = s_http(port, "this is not http\r\n\r\n");
    CU_ASSERT(c.status == 400 || c.status == 0);
    s_resp_t d = s_http(port, "HEAD /healthz HTTP/1.0\r\n\r\n");
    CU_ASSERT_EQUAL(d.status, 503);
    CU_ASSERT(d.body && d.body[0] == '\0');
    s_resp_free(&a);
    s_resp_free(&b);
    s_resp_free(&c);
    s_resp_free(&d);
    hubd_metrics_destroy(&m);
}

static void
s_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void
test_healthz_fails_when_the_main_loop_stops_publishing(void)
{
    hubd_metrics_t *m = NULL;
    CU_ASSERT_EQUAL_FATAL(hubd_metrics_start(&m, "127.0.0.1:0", NULL), HUB_OK);
    unsigned port = hubd_metrics_port(m);
    hubd_metrics_set_stale_ms(m, 200);
    hubd_metrics_snapshot_t s;
    s_fill(&s, "v1");
    CU_ASSERT_EQUAL(hubd_metrics_publish(m, &s), HUB_OK);
    s_resp_t a = s_get(port, "/healthz");
    CU_ASSERT_EQUAL(a.status, 200);
    s_sleep_ms(400);
    s_resp_t b = s_get(port, "/healthz");
    CU_ASSERT_EQUAL(b.status, 503);
    CU_ASSERT(b.body && strstr(b.body, "stale: the main loop's last snapshot is"));
    s_resp_t c = s_get(port, "/metrics"); // the numbers stay readable
    CU_ASSERT_EQUAL(c.status, 200);
    CU_ASSERT_EQUAL(hubd_metrics_publish(m, &s), HUB_OK);
    s_resp_t d = s_get(port, "/healthz");
    CU_ASSERT_EQUAL(d.status, 200);
    s_resp_free(&a);
    s_resp_free(&b);
    s_resp_free(&c);
    s_resp_free(&d);
    hubd_metrics_destroy(&m);
}

typedef struct {
    unsigned port;
    int ok, bad;
} s_scraper_t;

static void *
s_scrape_loop(void *arg)
{
    s_scraper_t *sc = arg;
    char err[256];
    for (int i = 0; i < 100; i++) {
        s_resp_t r = s_get(sc->port, "/metrics");
        bool good = r.status == 200 && r.body && s_valid_exposition(r.body, err, sizeof err);
        if (good) {
            sc->ok++;
        } else {
            sc->bad++;
        }
        s_resp_free(&r);
    }
    return NULL;
}

static void
test_scrapes_while_the_main_loop_publishes_stay_whole(void)
{
    hubd_metrics_t *m = NULL;
    CU_ASSERT_EQUAL_FATAL(hubd_metrics_start(&m, "127.0.0.1:0", NULL), HUB_OK);
    hubd_metrics_snapshot_t s;
    s_fill(&s, "v1");
    CU_ASSERT_EQUAL(hubd_metrics_publish(m, &s), HUB_OK);
    s_scraper_t sc = {hubd_metrics_port(m), 0, 0};
    pthread_t th;
    CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, s_scrape_loop, &sc), 0);
    char version[32];
    for (int i = 0; i < 2000; i++) {
        snprintf(version, sizeof version, "v%d", i);
        s.ruleset = version;
        s.received++;
        s.nendpoints = (size_t) (i % 3); // endpoints come and go with reloads
        hubd_metrics_histogram_observe(&s.commit_seconds, 0.001 * (i % 7));
        CU_ASSERT_EQUAL(hubd_metrics_publish(m, &s), HUB_OK);
    }
    pthread_join(th, NULL);
    CU_ASSERT_EQUAL(sc.ok, 100);
    CU_ASSERT_EQUAL(sc.bad, 0);
    hubd_metrics_destroy(&m);
}

void
test_metrics_register(void);

void
test_metrics_register(void)
{
    CU_pSuite s = CU_add_suite("metrics", NULL, NULL);
    CU_add_test(s, "histogram init refuses bad bounds", test_histogram_init_refuses_bad_bounds);
    CU_add_test(s, "histogram observe counts each value in one bucket",
                test_histogram_observe_counts_each_value_in_one_bucket);
    CU_add_test(s, "nack codes map both ways", test_nack_codes_map_both_ways);
    CU_add_test(s, "render is valid exposition text", test_render_is_valid_exposition_text);
    CU_add_test(s, "render shows every number with its labels",
                test_render_shows_every_number_with_its_labels);
    CU_add_test(s, "render histograms are cumulative with +Inf, _sum and _count",
                test_render_histograms_are_cumulative_with_inf_sum_and_count);
    CU_add_test(s, "exposition checker refuses broken text",
                test_exposition_checker_refuses_broken_text);
    CU_add_test(s, "start refuses bad addresses", test_start_refuses_bad_addresses);
    CU_add_test(s, "start refuses a port in use", test_start_refuses_a_port_in_use);
    CU_add_test(s, "server answers 503 before the first snapshot",
                test_server_answers_503_before_the_first_snapshot);
    CU_add_test(s, "server serves the published snapshot",
                test_server_serves_the_published_snapshot);
    CU_add_test(s, "server refuses other paths and methods",
                test_server_refuses_other_paths_and_methods);
    CU_add_test(s, "healthz fails when the main loop stops publishing",
                test_healthz_fails_when_the_main_loop_stops_publishing);
    CU_add_test(s, "scrapes while the main loop publishes stay whole",
                test_scrapes_while_the_main_loop_publishes_stay_whole);
}
