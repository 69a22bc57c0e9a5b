// The writer thread. LMDB has one writer, and a write transaction belongs
// to the thread that began it; so one thread of our own applies each
// batch to the store and commits it (the fsync), while the main thread
// goes on reading, decoding, validating, routing and preparing the next
// batch, and delivering what the last commit made durable. Group commit:
// while one commit is in flight, the next batch gathers.
//
// Hand-over: the main thread puts a batch in JOB and signals; the writer
// takes it, works with no lock held, puts it in DONE, signals and writes
// the eventfd (the main loop polls it). Between the hand-over and DONE
// only the writer touches the batch; the main thread never uses the
// store's write side while the writer has a batch (hubd_drain() first),
// and the writer never reads with the store's shared read transaction.
//
// Op payloads (native byte order: they never leave the process):
//   INGEST  hub_store_prepare()'s bytes
//   DEAD    source\0 code\0 reason\0 u64 now_ms, then the message's bytes
//   ACK     endpoint\0 u64 eseq
//   PURGE   u64 older_than_ms, u64 max
//   LIST    u8 member, u64 now_ms, list id\0, key (hubd_lists.c)
#include "hub_error.h"
#include "hub_mpw.h"
#include "hubd_int.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <unistd.h>

struct hubd_writer {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;      // JOB was set, or STOP
    pthread_cond_t done_cv; // DONE was set
    hubd_batch_t *job, *done;
    atomic_bool is_done; // DONE is set (read without the lock: hubd_writer_done())
    bool stop;
    int efd;
    hub_store_t *store;
};

// ---------------------------------------------------------------- batches

static int
s_batch_init(hubd_batch_t *b)
{
    memset(b, 0, sizeof *b);
    b->pending = calloc(HUBD_MAX_BATCH, sizeof *b->pending);
    b->reqs = calloc(HUBD_MAX_REQS, sizeof *b->reqs);
    b->slots = calloc(HUBD_MAX_SLOTS, sizeof *b->slots);
    return b->pending && b->reqs && b->slots ? HUB_OK : HUB_ENOMEM;
}

static void
s_batch_free(hubd_batch_t *b)
{
    free(b->pending);
    free(b->reqs);
    free(b->slots);
    hub_buf_free(&b->ops);
    hub_buf_free(&b->refusals);
    hub_buf_free(&b->late);
    memset(b, 0, sizeof *b);
}

size_t
hubd_op_open(hubd_t *self, hubd_op_t kind)
{
    hub_buf_t *ops = &self->fill->ops;
    size_t at = ops->len;
    uint8_t head[5] = {(uint8_t) kind, 0, 0, 0, 0};
    self->fill->op_bad = hub_buf_append(ops, head, sizeof head) != HUB_OK;
    return at;
}

bool
hubd_op_close(hubd_t *self, size_t at, bool ok)
{
    hub_buf_t *ops = &self->fill->ops;
    if (!ok || self->fill->op_bad || ops->len < at + 5 || ops->len - at - 5 > UINT32_MAX) {
        ops->len = at; // whatever of it was written goes
        self->fill->op_bad = false;
        return false;
    }
    uint32_t len = (uint32_t) (ops->len - at - 5);
    memcpy(ops->data + at + 1, &len, sizeof len);
    self->fill->nops++;
    return true;
}

// ---------------------------------------------------------------- applying

// One op of B at P (LEN payload bytes); INGEST ops fill B->pending in
// order (*K counts them).
static void
s_apply_op(hub_store_t *st, hubd_batch_t *b, uint8_t kind, const uint8_t *p, size_t len, size_t *k)
{
    if (kind == HUBD_OP_INGEST) {
        hubd_pending_t *q = &b->pending[(*k)++];
        hub_store_result_t res = {0};
        q->rc = hub_store_apply(st, p, len, &res);
        q->log_seq = res.log_seq;
        q->duplicate = res.duplicate;
        q->same_event = res.same_event;
        return;
    }
    if (kind == HUBD_OP_LIST) {
        hubd_lists_write(st, b, p, len, *k);
        return;
    }
    const uint8_t *end = p + len;
    const char *a = (const char *) p;
    const uint8_t *z = memchr(p, 0, len);
    if (kind == HUBD_OP_ACK && z && (size_t) (end - z - 1) == 8) {
        uint64_t eseq;
        memcpy(&eseq, z + 1, 8);
        hub_store_ack(st, a, eseq); // an old or impossible ack changes nothing
    } else if (kind == HUBD_OP_PURGE && len == 16) {
        uint64_t older, max;
        memcpy(&older, p, 8);
        memcpy(&max, p + 8, 8);
        b->purge = true;
        hub_store_dedup_purge(st, older, (size_t) max, &b->purged, &b->purge_more);
    } else if (kind == HUBD_OP_DEAD && z) {
        const char *code = (const char *) z + 1;
        const uint8_t *z2 = memchr(code, 0, (size_t) (end - (const uint8_t *) code));
        const uint8_t *z3 = z2 ? memchr(z2 + 1, 0, (size_t) (end - z2 - 1)) : NULL;
        if (z3 && end - z3 - 1 >= 8) {
            uint64_t now;
            memcpy(&now, z3 + 1, 8);
            hub_store_dead(st, a, z3 + 9, (size_t) (end - z3 - 9), code, (const char *) z2 + 1,
                           now);
        }
    }
}

// Applies batch B in one transaction and commits it.
static void
s_apply(hub_store_t *st, hubd_batch_t *b)
{
    int64_t t0 = hubd_mono_us();
    b->purge = b->purge_more = false;
    b->rc = hub_store_begin(st);
    size_t k = 0;
    for (size_t at = 0; !b->rc && at + 5 <= b->ops.len;) {
        uint32_t len;
        memcpy(&len, b->ops.data + at + 1, sizeof len);
        s_apply_op(st, b, b->ops.data[at], b->ops.data + at + 5, len, &k);
        at += 5 + (size_t) len; // after a failure the rest fail too; the commit says why
    }
    b->rc = b->rc ? b->rc : hub_store_commit(st);
    b->commit_us = hubd_mono_us() - t0;
    // Read here: the handle's error text belongs to the thread holding it.
    snprintf(b->why, sizeof b->why, "%s", b->rc ? hub_store_last_error(st) : "");
    b->panicked = b->rc && hub_store_panicked(st);
    b->dedup_ids = hub_store_dedup_size(st); // on the thread that holds the batch
    b->subject_pending = hub_store_subject_pending(st);
}

static void *
s_main(void *arg)
{
    // Named, so `top -H`, `ps -L` and perf tell it from the main thread.
    prctl(PR_SET_NAME, "hubd-writer", 0, 0, 0);
    struct hubd_writer *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->job && !w->stop) {
            pthread_cond_wait(&w->cv, &w->mu);
        }
        hubd_batch_t *b = w->job;
        if (!b) {
            break;
        }
        pthread_mutex_unlock(&w->mu);
        s_apply(w->store, b);
        pthread_mutex_lock(&w->mu);
        w->job = NULL;
        w->done = b;
        atomic_store(&w->is_done, true);
        pthread_cond_signal(&w->done_cv);
        uint64_t one = 1;
        ssize_t ignored = write(w->efd, &one, sizeof one);
        (void) ignored; // a full counter still reads as readable
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

// ---------------------------------------------------------------- the main thread's side

int
hubd_writer_start(hubd_t *self)
{
    struct hubd_writer *w = calloc(1, sizeof *w);
    if (!w || s_batch_init(&self->batches[0]) || s_batch_init(&self->batches[1]) ||
        hub_store_prep_new(&self->prep, self->store)) {
        free(w);
        return HUB_ENOMEM;
    }
    self->fill = &self->batches[0];
    self->flight = NULL;
    w->store = self->store;
    w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->efd < 0) {
        free(w);
        return HUB_EIO;
    }
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    pthread_cond_init(&w->done_cv, NULL);
    // Signals are the main thread's: SIGTERM and SIGHUP must interrupt its
    // zmq_poll(). The writer is made with every signal blocked.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int prc = pthread_create(&w->thread, NULL, s_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (prc != 0) {
        close(w->efd);
        free(w);
        return HUB_EIO;
    }
    self->writer = w;
    return HUB_OK;
}

void
hubd_writer_stop(hubd_t *self)
{
    struct hubd_writer *w = self->writer;
    if (w) {
        hubd_drain(self);
        pthread_mutex_lock(&w->mu);
        w->stop = true;
        pthread_cond_signal(&w->cv);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->thread, NULL);
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->cv);
        pthread_cond_destroy(&w->done_cv);
        close(w->efd);
        free(w);
        self->writer = NULL;
    }
    s_batch_free(&self->batches[0]);
    s_batch_free(&self->batches[1]);
    hub_store_prep_destroy(&self->prep);
    self->fill = self->flight = NULL;
}

bool
hubd_writer_done(const hubd_t *self)
{
    return self->writer && atomic_load_explicit(&self->writer->is_done, memory_order_relaxed);
}

int
hubd_writer_fd(const hubd_t *self)
{
    return self->writer ? self->writer->efd : -1;
}

// B is committed (or failed): answer it and empty it for the next fill.
static void
s_answer(hubd_t *self, hubd_batch_t *b)
{
    hubd_lists_committed(self, b); // before the acks: a publisher acked sees its effect
    hubd_batch_answer(self, b);
    b->ops.len = 0;
    b->nops = 0;
    b->has_list = false;
    b->npending = 0;
}

// The main thread applied B itself: answer it, and send what its commit
// made durable at once.
static void
s_done(hubd_t *self, hubd_batch_t *b)
{
    s_answer(self, b);
    hubd_pump(self);
}

void
hubd_flush(hubd_t *self)
{
    struct hubd_writer *w = self->writer;
    hubd_batch_t *b = self->fill;
    if (!w || self->flight || b->nops == 0 || b->req_open) {
        return;
    }
    // A batch of fewer publishes than writer_inline_max (hub.yaml, 64), with
    // the writer idle, is applied and committed by the main thread itself:
    // at a light load a hand-over to the writer and back costs two thread
    // wake-ups on the way to the ack and the deliveries, and there is
    // nothing to gather behind the commit.
    if (b->npending < self->conf.cfg.writer_inline_max) {
        s_apply(w->store, b); // the writer is idle: the write side is ours
        self->stats_commits_main++;
        s_done(self, b);
        return;
    }
    hubd_batch_t *next = b == &self->batches[0] ? &self->batches[1] : &self->batches[0];
    self->flight = b;
    self->fill = next;
    pthread_mutex_lock(&w->mu);
    w->job = b;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

void
hubd_reap(hubd_t *self, bool wait)
{
    struct hubd_writer *w = self->writer;
    // Nothing at the writer, or not done and no waiting: no lock, no
    // system call (the main loop calls this every round).
    if (!w || !self->flight || (!wait && !atomic_load(&w->is_done))) {
        return;
    }
    pthread_mutex_lock(&w->mu);
    while (!w->done) {
        pthread_cond_wait(&w->done_cv, &w->mu);
    }
    hubd_batch_t *b = w->done;
    w->done = NULL;
    atomic_store(&w->is_done, false);
    pthread_mutex_unlock(&w->mu);
    // The writer wrote the eventfd before it let go of the lock: read now,
    // it is cleared for good (else the main loop's poll would wake for it
    // again and again).
    uint64_t count;
    ssize_t ignored = read(w->efd, &count, sizeof count);
    (void) ignored;
    self->flight = NULL;
    self->stats_commits_writer++;
    // The acks first; then what gathered goes to the writer before the
    // deliveries this commit made due are sent, so the writer works while
    // the main thread delivers instead of waiting for it.
    s_answer(self, b);
    hubd_flush(self);
    hubd_pump(self);
}

void
hubd_drain(hubd_t *self)
{
    hubd_reap(self, true); // which may hand the fill batch over: wait for that too
    while (self->flight || (self->fill && self->fill->nops && !self->fill->req_open)) {
        hubd_flush(self);
        hubd_reap(self, true);
    }
}

void
hubd_op_ack(hubd_t *self, const char *endpoint, uint64_t seq)
{
    size_t at = hubd_op_open(self, HUBD_OP_ACK);
    hub_buf_t *ops = &self->fill->ops;
    bool ok = hub_buf_append(ops, endpoint, strlen(endpoint) + 1) == HUB_OK &&
              hub_buf_append(ops, &seq, sizeof seq) == HUB_OK;
    hubd_op_close(self, at, ok);
}
