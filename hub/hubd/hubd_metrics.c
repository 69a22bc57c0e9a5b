// hubd_metrics: /metrics and /healthz over HTTP (see hubd_metrics.h).
#include "hubd_metrics.h"

#include "hub_error.h"

#include <errno.h>
#include <math.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define S_CONTENT_PROM "text/plain; version=0.0.4; charset=utf-8"
#define S_CONTENT_TEXT "text/plain; charset=utf-8"

// A snapshot the server owns: the copied struct, its endpoints and one
// block holding every string the two point at.
typedef struct {
    hubd_metrics_snapshot_t snap;
    hubd_metrics_endpoint_t *eps;
    char *strings;
} s_owned_t;

struct hubd_metrics {
    struct MHD_Daemon *daemon;
    pthread_mutex_t lock; // guards everything below
    s_owned_t *cur;       // the last published snapshot; NULL before the first
    int64_t published_ms; // monotonic time of the last publish
    int64_t stale_ms;
};

static const char *const s_nack_names[HUBD_NACK_NCODES] = {
    "malformed",  "invalid",     "source_mismatch", "not_allowed", "too_large",
    "store_full", "unavailable", "internal",        "other",
};

static int64_t
s_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

// ---------------------------------------------------------------------------
// Histograms and NACK codes

int
hubd_metrics_histogram_init(hubd_metrics_histogram_t *hist, const double *le, size_t n)
{
    if (n > HUBD_METRICS_BUCKETS_MAX) {
        return HUB_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        if (isnan(le[i]) || (i > 0 && !(le[i] > le[i - 1]))) {
            return HUB_EINVAL;
        }
    }
    memset(hist, 0, sizeof *hist);
    memcpy(hist->le, le, n * sizeof *le);
    hist->nbuckets = n;
    return HUB_OK;
}

void
hubd_metrics_histogram_init_seconds(hubd_metrics_histogram_t *hist)
{
    static const double le[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1};
    hubd_metrics_histogram_init(hist, le, sizeof le / sizeof le[0]);
}

void
hubd_metrics_histogram_init_batch(hubd_metrics_histogram_t *hist)
{
    static const double le[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384, 65536};
    hubd_metrics_histogram_init(hist, le, sizeof le / sizeof le[0]);
}

void
hubd_metrics_histogram_observe(hubd_metrics_histogram_t *hist, double value)
{
    if (isnan(value)) {
        return;
    }
    // Few buckets: a linear walk beats a binary search's branches.
    for (size_t i = 0; i < hist->nbuckets; i++) {
        if (value <= hist->le[i]) {
            hist->counts[i]++;
            break;
        }
    }
    hist->count++;
    hist->sum += value;
}

hubd_nack_code_t
hubd_metrics_nack_index(const char *code)
{
    for (int i = 0; code && i < HUBD_NACK_OTHER; i++) {
        if (strcmp(code, s_nack_names[i]) == 0) {
            return (hubd_nack_code_t) i;
        }
    }
    return HUBD_NACK_OTHER;
}

const char *
hubd_metrics_nack_name(hubd_nack_code_t i)
{
    return (unsigned) i < HUBD_NACK_NCODES ? s_nack_names[i] : "other";
}

// ---------------------------------------------------------------------------
// The text format (https://prometheus.io/docs/instrumenting/exposition_formats/)

// Appends formatted text, remembering a failure so callers check once.
typedef struct {
    hub_buf_t *out;
    int rc;
} s_text_t;

static void
s_put(s_text_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
s_put(s_text_t *t, const char *fmt, ...)
{
    if (t->rc) {
        return;
    }
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        t->rc = HUB_EINVAL;
    } else if ((size_t) n < sizeof small) {
        t->rc = hub_buf_append(t->out, small, (size_t) n);
    } else {
        // Rare (long endpoint names): format again straight into the buffer.
        t->rc = hub_buf_reserve(t->out, (size_t) n + 1);
        if (!t->rc) {
            va_start(ap, fmt);
            vsnprintf((char *) t->out->data + t->out->len, (size_t) n + 1, fmt, ap);
            va_end(ap);
            t->out->len += (size_t) n;
        }
    }
}

// A label value as the format wants it: backslash, double quote and line
// feed escaped (\\, \", \n). Endpoint ids come from departments.yaml, so
// they are never trusted to be plain.
static void
s_put_label(s_text_t *t, const char *s)
{
    for (const char *p = s ? s : ""; *p && !t->rc; p++) {
        if (*p == '\\') {
            t->rc = hub_buf_puts(t->out, "\\\\");
        } else if (*p == '"') {
            t->rc = hub_buf_puts(t->out, "\\\"");
        } else if (*p == '\n') {
            t->rc = hub_buf_puts(t->out, "\\n");
        } else {
            t->rc = hub_buf_append(t->out, p, 1);
        }
    }
}

// A float in the shortest form that reads back exactly ("0.0005", not
// "0.00050000000000000001"); the format's spellings for the specials.
static void
s_fmt_double(char *buf, size_t size, double v)
{
    if (isnan(v)) {
        snprintf(buf, size, "NaN");
    } else if (isinf(v)) {
        snprintf(buf, size, v > 0 ? "+Inf" : "-Inf");
    } else if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(buf, size, "%.0f", v); // counts read as counts: "1000000", not "1e+06"
    } else {
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(buf, size, "%.*g", prec, v);
            if (strtod(buf, NULL) == v) {
                break;
            }
        }
    }
}

static void
s_head(s_text_t *t, const char *name, const char *type, const char *help)
{
    s_put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
s_metric_u64(s_text_t *t, const char *name, const char *type, const char *help, uint64_t v)
{
    s_head(t, name, type, help);
    s_put(t, "%s %llu\n", name, (unsigned long long) v);
}

static void
s_metric_double(s_text_t *t, const char *name, const char *type, const char *help, double v)
{
    char num[40];
    s_fmt_double(num, sizeof num, v);
    s_head(t, name, type, help);
    s_put(t, "%s %s\n", name, num);
}

static void
s_histogram(s_text_t *t, const char *name, const char *help, const hubd_metrics_histogram_t *h)
{
    char num[40];
    uint64_t cum = 0;
    s_head(t, name, "histogram", help);
    for (size_t i = 0; i < h->nbuckets && i < HUBD_METRICS_BUCKETS_MAX; i++) {
        cum += h->counts[i];
        s_fmt_double(num, sizeof num, h->le[i]);
        s_put(t, "%s_bucket{le=\"%s\"} %llu\n", name, num, (unsigned long long) cum);
    }
    s_put(t, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long) h->count);
    s_fmt_double(num, sizeof num, h->sum);
    s_put(t, "%s_sum %s\n%s_count %llu\n", name, num, name, (unsigned long long) h->count);
}

// Which field of an endpoint a per-endpoint metric shows.
typedef enum {
    S_EP_DELIVERED,
    S_EP_REDELIVERED,
    S_EP_ACKS,
    S_EP_ACKED_SEQ,
    S_EP_LAST_SEQ,
    S_EP_DEPTH,
    S_EP_OLDEST,
    S_EP_CONSUMERS,
} s_ep_field_t;

typedef struct {
    const char *name;
    const char *type;
    s_ep_field_t field;
    const char *help;
} s_ep_metric_t;

static const s_ep_metric_t s_ep_metrics[] = {
    {"hub_deliveries_total", "counter", S_EP_DELIVERED,
     "DELIVER messages sent to the endpoint since start, resends included."},
    {"hub_redeliveries_total", "counter", S_EP_REDELIVERED,
     "Deliveries sent again (ack timeout, reconnect or rewind) since start."},
    {"hub_delivery_acks_total", "counter", S_EP_ACKS,
     "Deliveries the endpoint acknowledged (DACK) since start."},
    {"hub_endpoint_acked_seq", "gauge", S_EP_ACKED_SEQ,
     "The endpoint's acknowledged sequence (its cursor)."},
    {"hub_endpoint_last_seq", "gauge", S_EP_LAST_SEQ,
     "The last endpoint sequence written to the endpoint's queue."},
    {"hub_queue_depth", "gauge", S_EP_DEPTH,
     "Deliveries written for the endpoint and not yet acknowledged."},
    {"hub_queue_oldest_unacked_age_seconds", "gauge", S_EP_OLDEST,
     "Age of the oldest delivery not yet acknowledged; 0 when none."},
    {"hub_consumers_connected", "gauge", S_EP_CONSUMERS, "Connections subscribed to the endpoint."},
};

static double
s_ep_value(const hubd_metrics_endpoint_t *e, s_ep_field_t f)
{
    switch (f) {
    case S_EP_DELIVERED:
        return (double) e->delivered;
    case S_EP_REDELIVERED:
        return (double) e->redelivered;
    case S_EP_ACKS:
        return (double) e->acks;
    case S_EP_ACKED_SEQ:
        return (double) e->acked_seq;
    case S_EP_LAST_SEQ:
        return (double) e->last_seq;
    case S_EP_DEPTH:
        return (double) e->depth;
    case S_EP_OLDEST:
        return e->oldest_unacked_s;
    case S_EP_CONSUMERS:
        return (double) e->consumers;
    }
    return 0;
}

static void
s_endpoint_metrics(s_text_t *t, const hubd_metrics_snapshot_t *s)
{
    char num[40];
    for (size_t m = 0; m < sizeof s_ep_metrics / sizeof s_ep_metrics[0]; m++) {
        const s_ep_metric_t *em = &s_ep_metrics[m];
        s_head(t, em->name, em->type, em->help);
        for (size_t i = 0; i < s->nendpoints; i++) {
            s_fmt_double(num, sizeof num, s_ep_value(&s->endpoints[i], em->field));
            s_put(t, "%s{endpoint=\"", em->name);
            s_put_label(t, s->endpoints[i].endpoint);
            s_put(t, "\"} %s\n", num);
        }
    }
}

static void
s_ingest_metrics(s_text_t *t, const hubd_metrics_snapshot_t *s)
{
    s_metric_u64(t, "hub_ingest_received_total", "counter",
                 "PUBLISH messages received since start.", s->received);
    s_metric_u64(t, "hub_ingest_acked_total", "counter",
                 "Publishes acknowledged (durable) since start, duplicates included.", s->acked);
    s_metric_u64(t, "hub_ingest_duplicates_total", "counter",
                 "Publishes acknowledged as duplicates of a stored message since start.",
                 s->duplicates);
    s_head(t, "hub_ingest_nacked_total", "counter",
           "Publishes refused (NACK) since start, by code.");
    for (int i = 0; i < HUBD_NACK_NCODES; i++) {
        s_put(t, "hub_ingest_nacked_total{code=\"%s\"} %llu\n", s_nack_names[i],
              (unsigned long long) s->nacked[i]);
    }
    s_metric_u64(t, "hub_dead_letters_written_total", "counter",
                 "Refused messages stored as dead letters since start.", s->dead_written);
    s_metric_u64(t, "hub_dead_letters", "gauge", "Dead letters in the store now.", s->dead_letters);
    s_metric_u64(t, "hub_dedup_ids", "gauge",
                 "Message ids the dedup window holds in memory (dedup_days).", s->dedup_ids);
    s_metric_u64(t, "hub_subject_index_pending", "gauge",
                 "Audit subject index entries in memory, not yet written as a run.",
                 s->subject_pending);
    s_put(t,
          "# HELP hub_subject_index_runs Whole runs of the audit subject index a query seeks, by "
          "level (docs/STORE.md, Merged runs).\n# TYPE hub_subject_index_runs gauge\n");
    for (int i = 0; i < HUB_STORE_INDEX_LEVELS; i++) {
        s_put(t, "hub_subject_index_runs{level=\"%d\"} %zu\n", i, s->subject_runs[i]);
    }
    s_metric_u64(t, "hub_peers_connected", "gauge", "Connections with a session (HELLO done).",
                 s->peers);
}

int
hubd_metrics_render(const hubd_metrics_snapshot_t *s, hub_buf_t *out)
{
    s_text_t t = {out, HUB_OK};
    s_metric_double(&t, "hub_start_time_seconds", "gauge",
                    "When hubd started, in seconds since the Unix epoch.",
                    (double) s->start_ms / 1000.0);
    s_head(&t, "hub_ruleset_info", "gauge", "The rule-set version in force (value always 1).");
    s_put(&t, "hub_ruleset_info{version=\"");
    s_put_label(&t, s->ruleset);
    s_put(&t, "\"} 1\n");
    s_ingest_metrics(&t, s);
    s_endpoint_metrics(&t, s);
    s_histogram(&t, "hub_commit_duration_seconds",
                "Time of one group commit (LMDB write transaction and sync).", &s->commit_seconds);
    s_histogram(&t, "hub_commit_batch_size", "Publishes in one group commit.", &s->batch_size);
    s_metric_u64(&t, "hub_store_map_size_bytes", "gauge", "The LMDB map size.", s->store_map_size);
    s_metric_u64(&t, "hub_store_used_bytes", "gauge", "LMDB pages in use, in bytes.",
                 s->store_used_bytes);
    s_metric_u64(&t, "hub_retention_failures_total", "counter",
                 "Retention purges that failed since start: nothing of them was purged.",
                 s->retention_failures);
    s_metric_u64(&t, "hub_checkpoint_failures_total", "counter",
                 "Audit checkpoints that could not be written since start.",
                 s->checkpoint_failures);
    return t.rc;
}

// ---------------------------------------------------------------------------
// Snapshots

static void
s_owned_free(s_owned_t *o)
{
    if (o) {
        free(o->eps);
        free(o->strings);
        free(o);
    }
}

// Copies the string S (NULL: "") to *AT and moves *AT past it.
static const char *
s_stash(char **at, const char *s)
{
    size_t n = strlen(s ? s : "") + 1;
    char *dst = *at;
    memcpy(dst, s ? s : "", n);
    *at += n;
    return dst;
}

static s_owned_t *
s_owned_copy(const hubd_metrics_snapshot_t *snap)
{
    size_t bytes = strlen(snap->ruleset ? snap->ruleset : "") + 1;
    for (size_t i = 0; i < snap->nendpoints; i++) {
        bytes += strlen(snap->endpoints[i].endpoint ? snap->endpoints[i].endpoint : "") + 1;
    }
    s_owned_t *o = calloc(1, sizeof *o);
    if (!o || !(o->strings = malloc(bytes)) ||
        !(o->eps = calloc(snap->nendpoints ? snap->nendpoints : 1, sizeof *o->eps))) {
        s_owned_free(o);
        return NULL;
    }
    char *at = o->strings;
    o->snap = *snap;
    o->snap.ruleset = s_stash(&at, snap->ruleset);
    for (size_t i = 0; i < snap->nendpoints; i++) {
        o->eps[i] = snap->endpoints[i];
        o->eps[i].endpoint = s_stash(&at, snap->endpoints[i].endpoint);
    }
    o->snap.endpoints = o->eps;
    return o;
}

int
hubd_metrics_publish(hubd_metrics_t *self, const hubd_metrics_snapshot_t *snap)
{
    // Copied before taking the lock, so a scrape never waits for malloc.
    s_owned_t *fresh = s_owned_copy(snap);
    if (!fresh) {
        return HUB_ENOMEM;
    }
    pthread_mutex_lock(&self->lock);
    s_owned_t *old = self->cur;
    self->cur = fresh;
    self->published_ms = s_mono_ms();
    pthread_mutex_unlock(&self->lock);
    s_owned_free(old);
    return HUB_OK;
}

void
hubd_metrics_set_stale_ms(hubd_metrics_t *self, int64_t ms)
{
    pthread_mutex_lock(&self->lock);
    self->stale_ms = ms;
    pthread_mutex_unlock(&self->lock);
}

// ---------------------------------------------------------------------------
// HTTP (runs on libmicrohttpd's thread)

// Queues BODY (taken: its bytes belong to the response from now on).
static enum MHD_Result
s_reply(struct MHD_Connection *conn, unsigned status, const char *type, hub_buf_t *body)
{
    struct MHD_Response *r;
    if (body->len > 0) {
        r = MHD_create_response_from_buffer(body->len, body->data, MHD_RESPMEM_MUST_FREE);
    } else {
        r = MHD_create_response_from_buffer(0, (void *) "", MHD_RESPMEM_PERSISTENT);
    }
    if (!r) {
        hub_buf_free(body);
        return MHD_NO;
    }
    *body = (hub_buf_t) HUB_BUF_INIT;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED) {
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    }
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static unsigned
s_healthz(hubd_metrics_t *self, hub_buf_t *body)
{
    pthread_mutex_lock(&self->lock);
    bool have = self->cur != NULL;
    int64_t age = s_mono_ms() - self->published_ms, limit = self->stale_ms;
    pthread_mutex_unlock(&self->lock);
    if (!have) {
        hub_buf_puts(body, "starting: the main loop has not published a snapshot yet\n");
        return MHD_HTTP_SERVICE_UNAVAILABLE;
    }
    if (age > limit) {
        hub_buf_printf(body, "stale: the main loop's last snapshot is %.1f s old (limit %.1f s)\n",
                       (double) age / 1000.0, (double) limit / 1000.0);
        return MHD_HTTP_SERVICE_UNAVAILABLE;
    }
    hub_buf_puts(body, "ok\n");
    return MHD_HTTP_OK;
}

static unsigned
s_metrics(hubd_metrics_t *self, hub_buf_t *body)
{
    pthread_mutex_lock(&self->lock);
    int rc = self->cur ? hubd_metrics_render(&self->cur->snap, body) : HUB_ENOTFOUND;
    pthread_mutex_unlock(&self->lock);
    if (rc == HUB_OK) {
        return MHD_HTTP_OK;
    }
    body->len = 0;
    hub_buf_puts(body, rc == HUB_ENOTFOUND
                           ? "starting: the main loop has not published a snapshot yet\n"
                           : "out of memory while writing the metrics\n");
    return rc == HUB_ENOTFOUND ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_INTERNAL_SERVER_ERROR;
}

static enum MHD_Result
s_on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
             const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
    (void) version;
    (void) upload_data;
    (void) con_cls;
    hubd_metrics_t *self = cls;
    hub_buf_t body = HUB_BUF_INIT;
    *upload_size = 0; // a body, if any, is not read: nothing here takes one
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
        hub_buf_puts(&body, "only GET and HEAD are served\n");
        return s_reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, S_CONTENT_TEXT, &body);
    }
    if (strcmp(url, "/metrics") == 0) {
        unsigned status = s_metrics(self, &body);
        return s_reply(conn, status, status == MHD_HTTP_OK ? S_CONTENT_PROM : S_CONTENT_TEXT,
                       &body);
    }
    if (strcmp(url, "/healthz") == 0) {
        unsigned status = s_healthz(self, &body);
        return s_reply(conn, status, S_CONTENT_TEXT, &body);
    }
    hub_buf_puts(&body, "not found: this server has /metrics and /healthz\n");
    return s_reply(conn, MHD_HTTP_NOT_FOUND, S_CONTENT_TEXT, &body);
}

// libmicrohttpd's own errors (accept failures and the like), as one
// structured line in hubd's log format.
static void
s_on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void) cls;
    char msg[256], ts[32];
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    vsnprintf(msg, sizeof msg, fmt, ap);
#pragma GCC diagnostic pop
    for (char *p = msg; *p; p++) {
        *p = (*p == '\n' || *p == '"') ? ' ' : *p;
    }
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    fprintf(stderr, "ts=%s level=warn event=metrics_http msg=\"%s\"\n", ts, msg);
}

// ---------------------------------------------------------------------------
// Start and stop

// Splits "host:port" / "[v6]:port" / ":port" into HOST (may come out
// empty: every interface) and PORT. False when ADDR is none of those.
static bool
s_split_addr(const char *addr, char *host, size_t hsize, char *port, size_t psize)
{
    const char *colon;
    size_t hlen;
    const char *hstart = addr;
    if (addr[0] == '[') {
        const char *close = strchr(addr, ']');
        if (!close || close[1] != ':') {
            return false;
        }
        hstart = addr + 1;
        hlen = (size_t) (close - hstart);
        colon = close + 1;
    } else {
        colon = strrchr(addr, ':');
        if (!colon || memchr(addr, ':', (size_t) (colon - addr))) {
            return false; // no port, or an IPv6 literal without brackets
        }
        hlen = (size_t) (colon - addr);
    }
    size_t plen = strlen(colon + 1);
    if (hlen >= hsize || plen == 0 || plen >= psize || strspn(colon + 1, "0123456789") != plen) {
        return false;
    }
    memcpy(host, hstart, hlen);
    host[hlen] = '\0';
    memcpy(port, colon + 1, plen + 1);
    errno = 0;
    unsigned long p = strtoul(port, NULL, 10);
    return errno == 0 && p <= 65535;
}

static int
s_resolve(const char *addr, struct sockaddr_storage *sa, hub_diag_t *diag)
{
    char host[256], port[8];
    if (!s_split_addr(addr, host, sizeof host, port, sizeof port)) {
        hub_diag_add(diag, HUB_DIAG_ERROR, "metrics_addr", addr,
                     "not host:port (e.g. 127.0.0.1:9464, [::1]:9464, :9464)");
        return HUB_ECONFIG;
    }
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int gai = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
    if (gai != 0 || !res || res->ai_addrlen > sizeof *sa) {
        hub_diag_add(diag, HUB_DIAG_ERROR, "metrics_addr", addr, "cannot resolve '%s': %s", host,
                     gai ? gai_strerror(gai) : "no address");
        if (res) {
            freeaddrinfo(res);
        }
        return HUB_ECONFIG;
    }
    memset(sa, 0, sizeof *sa);
    memcpy(sa, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return HUB_OK;
}

// Starts the daemon with the hub's signals blocked: its thread inherits
// the mask, so SIGTERM and SIGHUP always reach the main loop, whose
// zmq_poll() they must interrupt.
static struct MHD_Daemon *
s_daemon(hubd_metrics_t *self, const struct sockaddr_storage *sa)
{
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGHUP);
    sigaddset(&block, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (sa->ss_family == AF_INET6) {
        flags |= MHD_USE_IPv6;
    }
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, 0, NULL, NULL, s_on_request, self, MHD_OPTION_EXTERNAL_LOGGER, s_on_mhd_log, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *) sa, MHD_OPTION_CONNECTION_LIMIT, (unsigned) 32,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) 10, MHD_OPTION_END);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return d;
}

int
hubd_metrics_start(hubd_metrics_t **out, const char *addr, hub_diag_t *diag)
{
    *out = NULL;
    struct sockaddr_storage sa;
    int rc = s_resolve(addr ? addr : "", &sa, diag);
    if (rc) {
        return rc;
    }
    hubd_metrics_t *self = calloc(1, sizeof *self);
    if (!self || pthread_mutex_init(&self->lock, NULL) != 0) {
        free(self);
        return HUB_ENOMEM;
    }
    self->stale_ms = HUBD_METRICS_STALE_MS;
    errno = 0;
    self->daemon = s_daemon(self, &sa);
    if (!self->daemon) {
        hub_diag_add(diag, HUB_DIAG_ERROR, "metrics_listen", addr, "cannot serve HTTP there: %s",
                     errno ? strerror(errno) : "libmicrohttpd refused");
        pthread_mutex_destroy(&self->lock);
        free(self);
        return HUB_EIO;
    }
    *out = self;
    return HUB_OK;
}

unsigned
hubd_metrics_port(const hubd_metrics_t *self)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(self->daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info ? info->port : 0;
}

void
hubd_metrics_destroy(hubd_metrics_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    hubd_metrics_t *self = *self_p;
    MHD_stop_daemon(self->daemon); // joins its thread: nothing reads CUR after this
    s_owned_free(self->cur);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}
