// hubd: the lists (docs/RULES.md "Lists"). A message that changes a list
// carries the change to the writer as a LIST op right after its INGEST op;
// the writer stores it in the same transaction, only when that message was
// logged (not a duplicate); and the main thread, which routes, changes its
// in-memory members only once the batch committed. So membership takes
// effect for the messages routed after that commit: a dropout routed while
// the household report that lists it is still in the same or in the
// in-flight batch is routed as before the report (never ahead of what is
// durable), and a crash can never leave a membership without its message.
#include "hub_error.h"
#include "hub_rules.h"
#include "hubd_int.h"

#include <stdlib.h>
#include <string.h>

#define S_HEAD 9 // u8 member, u64 now_ms

static int
s_load_one(void *ctx, const hub_store_list_entry_t *e)
{
    hubd_t *self = ctx;
    const hub_list_t *l = hub_rules_list_find(self->conf.rules, e->list);
    if (!l) {
        return HUB_OK; // a list the rules no longer declare: kept in the store, unused
    }
    int rc = hub_listset_set(self->lists, l->index, e->key, e->len, true);
    return rc == HUB_EINVAL ? HUB_OK : rc; // a key too long is never a member
}

int
hubd_lists_load(hubd_t *self)
{
    int64_t t0 = hubd_mono_ms();
    hub_listset_clear(self->lists);
    int rc = hub_store_lists_each(self->store, s_load_one, self);
    hub_expr_lookup_t lk = hub_listset_lookup(self->lists);
    hub_route_set_lists(self->route, &lk);
    if (rc) {
        hub_listset_clear(self->lists); // none rather than some: listed() fails closed
        return rc;
    }
    hubd_log("info", "lists_loaded", "lists=%zu members=%zu ms=%lld",
             hub_rules_list_count(self->conf.rules), hub_listset_count(self->lists),
             (long long) (hubd_mono_ms() - t0));
    return HUB_OK;
}

bool
hubd_lists_note(hubd_t *self, const char *source)
{
    const char *type = hub_msg_env_str(self->msg, HUB_ENV_TYPE);
    uint64_t now = (uint64_t) hubd_now_ms();
    bool ok = true;
    for (size_t i = 0; i < hub_rules_list_count(self->conf.rules); i++) {
        const hub_list_t *l = hub_rules_list_at(self->conf.rules, i);
        const char *key;
        size_t len;
        bool member;
        if (!hub_list_applies(l, source, type) ||
            !hub_list_change(l, self->msg, &key, &len, &member)) {
            continue;
        }
        size_t at = hubd_op_open(self, HUBD_OP_LIST);
        uint8_t head[S_HEAD] = {member};
        memcpy(head + 1, &now, sizeof now);
        hub_buf_t *ops = &self->fill->ops;
        bool put = hub_buf_append(ops, head, sizeof head) == HUB_OK &&
                   hub_buf_append(ops, l->id, strlen(l->id) + 1) == HUB_OK &&
                   hub_buf_append(ops, key, len) == HUB_OK;
        ok &= hubd_op_close(self, at, put);
        self->fill->has_list = true; // after the commit, hubd_lists_committed() reads the ops
    }
    return ok;
}

int
hubd_lists_store(hubd_t *self, const char *source, uint64_t log_seq, uint64_t now_ms)
{
    const char *type = hub_msg_env_str(self->msg, HUB_ENV_TYPE);
    int rc = HUB_OK;
    for (size_t i = 0; i < hub_rules_list_count(self->conf.rules) && !rc; i++) {
        const hub_list_t *l = hub_rules_list_at(self->conf.rules, i);
        const char *key;
        size_t len;
        bool member;
        if (hub_list_applies(l, source, type) &&
            hub_list_change(l, self->msg, &key, &len, &member)) {
            rc = hub_store_list_set(self->store, l->id, key, len, member, log_seq, now_ms);
        }
    }
    return rc;
}

// A LIST op's parts; false when it is malformed.
static bool
s_parse(const uint8_t *p, size_t len, bool *member, uint64_t *now, const char **list,
        const char **key, size_t *klen)
{
    const uint8_t *z = len > S_HEAD ? memchr(p + S_HEAD, 0, len - S_HEAD) : NULL;
    if (!z) {
        return false;
    }
    *member = p[0] != 0;
    memcpy(now, p + 1, sizeof *now);
    *list = (const char *) p + S_HEAD;
    *key = (const char *) z + 1;
    *klen = len - (size_t) (z + 1 - p);
    return true;
}

// The INGEST before a LIST op (B->pending[K - 1]) was logged.
static bool
s_logged(const hubd_batch_t *b, size_t k)
{
    return k > 0 && b->pending[k - 1].rc == HUB_OK && !b->pending[k - 1].duplicate &&
           b->pending[k - 1].log_seq != 0;
}

void
hubd_lists_write(hub_store_t *st, const hubd_batch_t *b, const uint8_t *p, size_t len, size_t k)
{
    bool member;
    uint64_t now;
    const char *list, *key;
    size_t klen;
    if (s_logged(b, k) && s_parse(p, len, &member, &now, &list, &key, &klen)) {
        // an error breaks the batch: its commit fails and nothing of it is kept
        hub_store_list_set(st, list, key, klen, member, b->pending[k - 1].log_seq, now);
    }
}

void
hubd_lists_committed(hubd_t *self, const hubd_batch_t *b)
{
    if (b->rc != HUB_OK || !b->has_list) {
        return; // most batches: no pass over their ops
    }
    size_t k = 0;
    for (size_t at = 0; at + 5 <= b->ops.len;) {
        uint8_t kind = b->ops.data[at];
        uint32_t len;
        memcpy(&len, b->ops.data + at + 1, sizeof len);
        const uint8_t *p = b->ops.data + at + 5;
        bool member;
        uint64_t now;
        const char *list, *key;
        size_t klen;
        k += kind == HUBD_OP_INGEST;
        if (kind == HUBD_OP_LIST && s_logged(b, k) &&
            s_parse(p, len, &member, &now, &list, &key, &klen)) {
            const hub_list_t *l = hub_rules_list_find(self->conf.rules, list);
            if (l && hub_listset_set(self->lists, l->index, key, klen, member) == HUB_ENOMEM) {
                hubd_log("error", "list_change_lost", "list=%s (out of memory)", list);
            }
        }
        at += 5 + (size_t) len;
    }
}
