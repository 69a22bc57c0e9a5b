// hub-sink's receive loop: connect and subscribe, then batch after batch
// take what the hub sends (up to the credit), write it into the inbox,
// make it durable with one fsync, and only then acknowledge the highest
// seq. A delivery that cannot be written as a record goes to the
// rejected-deliveries report instead, made durable before the inbox and
// acknowledged with the rest, so that it never stops the stream. A lost
// session (the hub restarted) is re-established; SIGTERM and
// SIGINT end the loop after the batch in hand.
#include "hub_error.h"
#include "sink.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define S_WAIT_MS 500     // the longest wait for the hub (rotation and signals)
#define S_DRAIN_MS 5      // the wait for the next delivery of a batch
#define S_PROBE_MS 3000   // idle this long: show the hub we are here (it may have restarted)
#define S_RESUB_MS 300000 // idle this long: subscribe again (the hub may be gone for good)
#define S_CONNECT_MS 5000 // wait for WELCOME / SUBSCRIBED
#define S_BACKOFF_MAX_MS 30000

static volatile sig_atomic_t s_stop; // the only mutable global: the signal flag

static void
s_on_signal(int sig)
{
    (void) sig;
    s_stop = 1;
}

void
sink_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal; // no SA_RESTART: zmq_poll returns on a signal
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN); // a file size limit: EFBIG, said, not a kill
}

static void
s_report(sink_t *self)
{
    hub_diag_print(self->diag, stderr);
    hub_diag_reset(self->diag);
}

// Compares the hub's store id (SUBSCRIBED) with the inbox's. None kept:
// this one is kept. Another: the hub's store was restored from a backup
// and issues the sequences after ACKED again, to other messages; the inbox
// goes on after ACKED in new files (docs/ADAPTERS.md, "hub-sink"). A hub
// that sends no id (older) changes nothing. HUB_EINVAL: the inbox failed
// (fatal, reported).
static int
s_store_check(sink_t *self, uint64_t acked)
{
    const char *id = hubc_store_id(self->hub), *had = hubc_inbox_store_id(self->inbox);
    if (!id[0] || strcmp(id, had) == 0) {
        return HUB_OK;
    }
    int rc = HUB_OK;
    if (had[0]) {
        fprintf(stderr,
                "hub-sink: %s: the hub's store was restored (store id %s -> %s): sequences "
                "after %llu (the hub's acked) are taken as new; the inbox goes on in new "
                "files\n",
                self->args.endpoint, had, id, (unsigned long long) acked);
        rc = hubc_inbox_restart(self->inbox, acked, self->diag);
    }
    rc = rc ? rc : hubc_inbox_set_store_id(self->inbox, id, self->diag);
    if (rc == HUB_OK) {
        hubc_rejects_set_store_id(self->rejects, id, had[0] != '\0');
    }
    if (rc) {
        s_report(self);
        fprintf(stderr, "hub-sink: %s: the inbox cannot take the hub's store id %s (%s)\n",
                self->args.endpoint, id, hub_strerror(rc));
        return HUB_EINVAL;
    }
    return HUB_OK;
}

// Connects and subscribes. HUB_EINVAL: the hub refused the subscription,
// or the inbox failed (fatal); another error: try again later.
static int
s_session(sink_t *self)
{
    const char *ep = self->args.endpoint;
    uint64_t acked = 0, last = 0;
    int rc = hubc_connect_auth(&self->hub, self->url, &self->auth, S_CONNECT_MS, self->diag);
    rc = rc ? rc : hubc_subscribe(self->hub, self->args.credit, &acked, &last, S_CONNECT_MS);
    if (rc == HUB_EINVAL) {
        fprintf(stderr, "hub-sink: %s: the hub refused the subscription: %s\n", ep,
                hubc_error(self->hub));
    } else if (rc) {
        s_report(self);
        fprintf(stderr, "hub-sink: %s: no session with the hub at %s yet (%s)\n", ep, self->url,
                hub_strerror(rc));
    }
    rc = rc ? rc : s_store_check(self, acked);
    if (rc) {
        hubc_destroy(&self->hub);
        return rc;
    }
    uint64_t have = hubc_inbox_last(self->inbox);
    uint64_t reach = hubc_rejects_reach(self->rejects, have); // rejected after the inbox's last
    fprintf(stderr,
            "hub-sink: %s: subscribed at %s: the hub has %llu, acknowledged %llu; the "
            "inbox has up to %llu\n",
            ep, self->url, (unsigned long long) last, (unsigned long long) acked,
            (unsigned long long) have);
    if (acked > reach && !self->gap_warned) {
        fprintf(stderr,
                "hub-sink: %s: warning: seqs %llu..%llu were acknowledged before and "
                "are neither in this inbox nor in its report of rejected deliveries "
                "(received elsewhere?)\n",
                ep, (unsigned long long) reach + 1, (unsigned long long) acked);
        self->gap_warned = true;
    }
    self->connected_once = true;
    self->resumes = 0;
    return HUB_OK;
}

// Warns once per message type that the columns file does not name.
static void
s_unmapped(sink_t *self, const char *type)
{
    self->unmapped++;
    for (size_t i = 0; i < self->nwarned; i++) {
        if (strcmp(self->warned[i], type) == 0) {
            return;
        }
    }
    if (self->nwarned < SINK_WARN_TYPES) {
        snprintf(self->warned[self->nwarned++], sizeof self->warned[0], "%s", type);
    }
    fprintf(stderr,
            "hub-sink: %s: warning: the columns file names no columns for %s: its rows "
            "hold only the \"*\" columns\n",
            self->args.endpoint, type);
}

static void
s_now_utc(char out[32])
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

// Warns when SEQ does not follow what the sink has taken care of: the
// inbox's last, and the deliveries rejected after it.
static void
s_gap_check(sink_t *self, uint64_t seq)
{
    uint64_t reach = hubc_rejects_reach(self->rejects, hubc_inbox_last(self->inbox));
    if (seq != reach + 1 && reach > 0) {
        fprintf(stderr,
                "hub-sink: %s: warning: seq %llu follows %llu: the seqs between are neither "
                "in this inbox nor in its report of rejected deliveries\n",
                self->args.endpoint, (unsigned long long) seq, (unsigned long long) reach);
    }
}

// Why a delivery cannot be written, as one line for the report: the
// return code's name, then DIAG's entries ("HUB_EDECODE: WHERE: TEXT
// [REASON]; ...").
static int
s_reason(sink_t *self, int rc, hub_buf_t *out)
{
    int brc = hub_buf_printf(out, "%s: ", hub_error_name(rc));
    for (size_t i = 0; brc == HUB_OK && i < hub_diag_count(self->diag); i++) {
        const hub_diag_entry_t *e = hub_diag_at(self->diag, i);
        brc = hub_buf_printf(out, "%s%s%s%s [%s]", i ? "; " : "", e->where, e->where[0] ? ": " : "",
                             e->text, e->reason);
    }
    if (brc == HUB_OK && hub_diag_count(self->diag) == 0) {
        brc = hub_buf_puts(out, hub_strerror(rc));
    }
    return brc ? brc : hub_buf_cstr(out) ? HUB_OK : HUB_ENOMEM;
}

// Keeps delivery D, which cannot be written as a record (RC, DIAG says
// where and why), in the report: bad input never stops the stream. *ACK
// may then cover it: the report is made durable before the inbox.
static int
s_reject(sink_t *self, const hubc_delivery_t *d, const char *now, int rc, uint64_t *ack)
{
    hub_buf_t why = HUB_BUF_INIT;
    int arc = s_reason(self, rc, &why);
    arc = arc ? arc : hubc_rejects_add(self->rejects, d, now, (const char *) why.data);
    hub_buf_free(&why);
    fprintf(stderr, "hub-sink: %s: seq %llu cannot be written (%s)%s%s:\n", self->args.endpoint,
            (unsigned long long) d->seq, hub_strerror(rc), arc ? "" : ": rejected into ",
            arc ? "" : hubc_rejects_path(self->rejects));
    s_report(self);
    if (arc == HUB_OK) {
        *ack = d->seq > *ack ? d->seq : *ack;
    }
    return arc;
}

// Reads delivery D into the record and renders it into self->line;
// *KNOWN: whether the columns file names its type.
static int
s_render(sink_t *self, const hubc_delivery_t *d, const char *now, bool *known)
{
    self->line.len = 0;
    *known = true;
    int rc = hubc_record_read(self->rec, d->body, d->body_len, now, self->diag);
    if (rc == HUB_OK) {
        rc = self->cols ? hubc_record_csv(self->rec, self->cols, &self->line, known)
                        : hubc_record_json(self->rec, &self->line);
    }
    return rc;
}

// Takes one delivery: drops a redelivery (in the inbox or the report),
// else adds its record to the inbox, or rejects it into the report when
// it cannot be read (HUB_EDECODE, HUB_ELIMIT: bad input, not a failure of
// this process). *ACK gets the highest seq to acknowledge once it is
// durable: a dropped one, one added, one rejected; never one that could
// not be written (the hub would forget it). RECV_RC is what hubc_recv()
// said of D: HUB_OK, or HUB_EDECODE for a delivery whose seq could be read
// but not its message (rejected too).
static int
s_take(sink_t *self, const hubc_delivery_t *d, int recv_rc, uint64_t *ack)
{
    if (d->seq <= hubc_inbox_last(self->inbox) || hubc_rejects_has(self->rejects, d->seq)) {
        self->dropped++;
        *ack = d->seq > *ack ? d->seq : *ack;
        return HUB_OK;
    }
    s_gap_check(self, d->seq);
    char now[32];
    bool known = true;
    s_now_utc(now);
    int rc = recv_rc;
    if (rc == HUB_EDECODE) {
        hub_diag_add(self->diag, HUB_DIAG_ERROR, "malformed", "delivery",
                     "seq %llu carries no message (a `message` bin): not a delivery this "
                     "hub-sink can read",
                     (unsigned long long) d->seq);
    } else {
        rc = s_render(self, d, now, &known);
    }
    if (rc == HUB_EDECODE || rc == HUB_ELIMIT) {
        return s_reject(self, d, now, rc, ack);
    }
    if (rc) {
        fprintf(stderr, "hub-sink: %s: seq %llu cannot be written (%s):\n", self->args.endpoint,
                (unsigned long long) d->seq, hub_strerror(rc));
        return rc;
    }
    if (!known) {
        s_unmapped(self, hubc_record_type(self->rec));
    }
    // The report before the inbox: after a gap (the seqs rejected before
    // this one) adding this record names the empty part file after its
    // seq, and that name tells a reopened inbox how far it goes. Were the
    // rejected seqs not in the report by then, a crash would lose them:
    // the inbox would drop them as its own when they come again.
    rc = hubc_rejects_commit(self->rejects, self->diag);
    rc = rc ? rc : hubc_inbox_add(self->inbox, d->seq, self->line.data, self->line.len, self->diag);
    if (rc == HUB_OK) {
        self->first_written = self->first_written ? self->first_written : d->seq;
        *ack = d->seq > *ack ? d->seq : *ack;
    }
    return rc;
}

// Waits up to WAIT_MS for a delivery, takes what else comes (up to the
// credit), makes it durable, then acknowledges it. HUB_ENOTFOUND: nothing
// came; HUB_EIO: the session is lost; others are fatal (reported).
static int
s_batch(sink_t *self, int wait_ms)
{
    uint64_t ack = 0, n = 0;
    int rc = HUB_OK;
    while (rc == HUB_OK && n < self->args.credit && !s_stop) {
        hubc_delivery_t d;
        rc = hubc_recv(self->hub, 0, &d, n ? S_DRAIN_MS : wait_ms);
        if (rc == HUB_OK || (rc == HUB_EDECODE && d.seq)) {
            n++;
            // A delivery that can be neither written nor rejected (the
            // disk, memory) is not acknowledged: the sink stops there
            // rather than skip it (fatal, reported).
            rc = s_take(self, &d, rc, &ack) ? HUB_EINVAL : HUB_OK;
        } else if (rc == HUB_EDECODE) {
            // Without a seq it can be neither kept aside nor acknowledged,
            // and a new session would bring it back first: stop (what came
            // before it is made durable and acknowledged below).
            fprintf(stderr,
                    "hub-sink: %s: the hub sent a delivery without a seq (not as "
                    "docs/PROTOCOL.md says): it can be neither kept nor acknowledged; "
                    "stopping\n",
                    self->args.endpoint);
            rc = HUB_EINVAL;
        }
    }
    if (n == 0) {
        return rc == HUB_OK ? HUB_ENOTFOUND : rc; // nothing came (or a signal)
    }
    // Durable first, then the ack: what the hub forgets must be on disk
    // here, in the report or the inbox (the report first, as in s_take).
    int crc = hubc_rejects_commit(self->rejects, self->diag);
    crc = crc ? crc : hubc_inbox_commit(self->inbox, self->diag);
    if (crc == HUB_OK && ack) {
        hubc_dack(self->hub, ack);
    }
    hubc_rejects_forget(self->rejects, hubc_inbox_durable(self->inbox));
    return crc ? HUB_EINVAL : rc == HUB_ENOTFOUND ? HUB_OK : rc;
}

// While idle: an idle session may be one the hub has forgotten (it
// restarted). A DACK of what it has is harmless, and answered hello_first
// then. A hub that is gone answers nothing, and probes would pile up in
// the socket: now and then a new SUBSCRIBE, which must be answered.
static int
s_probe(sink_t *self, int64_t now, int64_t *probed, int64_t *resubscribed)
{
    if (now - *resubscribed >= S_RESUB_MS) {
        *resubscribed = *probed = now;
        // Another store id: a new session, which compares the ids first.
        int rc = hubc_subscribe(self->hub, self->args.credit, NULL, NULL, S_CONNECT_MS);
        const char *id = hubc_store_id(self->hub);
        bool moved = id[0] && strcmp(id, hubc_inbox_store_id(self->inbox)) != 0;
        return rc == HUB_OK && !moved ? HUB_ENOTFOUND : HUB_EIO;
    }
    if (now - *probed >= S_PROBE_MS) {
        hubc_dack(self->hub, hubc_inbox_durable(self->inbox));
        *probed = now;
    }
    return HUB_ENOTFOUND;
}

// One turn of the loop while connected: 0 to go on, else the exit status.
// TIMES: the last delivery, probe and subscription.
static int
s_turn(sink_t *self, int64_t times[3], int wait_ms)
{
    int rc = s_batch(self, wait_ms);
    int64_t now = hubc_mono_ms();
    if (hubc_resumes(self->hub) > self->resumes) {
        self->resumes = hubc_resumes(self->hub);
        fprintf(stderr, "hub-sink: %s: the hub had lost the session (a restart?): taken back\n",
                self->args.endpoint);
    }
    if (rc == HUB_OK) {
        times[0] = times[1] = times[2] = now;
    } else if (rc == HUB_ENOTFOUND) {
        rc = s_probe(self, now, &times[1], &times[2]);
    }
    if (rc == HUB_EIO || rc == HUB_EDECODE) {
        const char *why = hubc_error(self->hub);
        fprintf(stderr, "hub-sink: %s: the hub lost the session (%s): connecting again\n",
                self->args.endpoint, why[0] ? why : "no answer");
        hubc_destroy(&self->hub);
    } else if (rc != HUB_OK && rc != HUB_ENOTFOUND) {
        s_report(self);
        return 1;
    }
    return 0;
}

// Finishes the part file when it is old enough (also while the hub is away).
static int
s_rotate_by_age(sink_t *self)
{
    if (hubc_inbox_rotate_due(self->inbox, time(NULL)) &&
        hubc_inbox_rotate(self->inbox, self->diag) != HUB_OK) {
        s_report(self);
        return 1;
    }
    return 0;
}

int
sink_run(sink_t *self)
{
    int64_t start = hubc_mono_ms();
    int64_t times[3] = {start, start, start}; // the last delivery, probe, subscription
    int64_t idle = self->args.idle_exit_ms, backoff = 1000;
    while (!s_stop) {
        int64_t left = idle < 0 ? S_WAIT_MS : idle - (hubc_mono_ms() - times[0]);
        if (left <= 0) {
            if (!self->connected_once) {
                fprintf(stderr, "hub-sink: %s: never reached the hub\n", self->args.endpoint);
            }
            return self->connected_once ? 0 : 1;
        }
        int wait_ms = (int) (left < S_WAIT_MS ? left : S_WAIT_MS);
        if (!self->hub) {
            int rc = s_session(self);
            if (rc == HUB_EINVAL) {
                return 1;
            }
            if (rc && !s_stop) {
                hubc_sleep_ms(backoff < left ? backoff : left); // a signal cuts it short
                backoff = backoff * 2 < S_BACKOFF_MAX_MS ? backoff * 2 : S_BACKOFF_MAX_MS;
            } else if (rc == HUB_OK) {
                backoff = 1000;
                times[1] = times[2] = hubc_mono_ms();
            }
        }
        int status = self->hub && !s_stop ? s_turn(self, times, wait_ms) : 0;
        status = status ? status : s_rotate_by_age(self);
        if (status) {
            return status;
        }
    }
    return 0;
}
