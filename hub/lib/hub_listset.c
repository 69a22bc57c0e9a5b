// hub_listset: an open-addressing table of (list number, key) pairs,
// linear probing, removal by shifting the run back (no tombstones, so a
// set that churns never fills up with dead slots).
#include "hub_listset.h"

#include "hub_error.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *key; // NULL: an empty slot
    uint32_t len;
    uint32_t list;
    uint64_t hash;
} s_slot_t;

struct hub_listset {
    s_slot_t *slots; // CAP slots, a power of two, at most 3/4 full
    size_t cap, n;
};

// FNV-1a over the list number and the key. The keys come from
// authenticated departments' messages, not strangers, so an unkeyed hash
// is enough.
static uint64_t
s_hash(size_t list, const char *key, size_t len)
{
    uint64_t h = 1469598103934665603ull ^ (uint64_t) list;
    for (size_t i = 0; i < len; i++) {
        h = (h ^ (uint8_t) key[i]) * 1099511628211ull;
    }
    return h;
}

// The slot holding the pair, or the empty slot where it would go.
static size_t
s_find(const hub_listset_t *self, size_t list, const char *key, size_t len, uint64_t h)
{
    size_t mask = self->cap - 1, i = (size_t) h & mask;
    for (const s_slot_t *s = &self->slots[i]; s->key; s = &self->slots[i]) {
        if (s->hash == h && s->list == list && s->len == len && memcmp(s->key, key, len) == 0) {
            break;
        }
        i = (i + 1) & mask;
    }
    return i;
}

static int
s_grow(hub_listset_t *self)
{
    size_t cap = self->cap ? 2 * self->cap : 64;
    s_slot_t *old = self->slots, *slots = calloc(cap, sizeof *slots);
    if (!slots) {
        return HUB_ENOMEM;
    }
    size_t ocap = self->cap;
    self->slots = slots;
    self->cap = cap;
    for (size_t i = 0; i < ocap; i++) {
        if (old[i].key) {
            self->slots[s_find(self, old[i].list, old[i].key, old[i].len, old[i].hash)] = old[i];
        }
    }
    free(old);
    return HUB_OK;
}

// Empties slot I and moves back the entries of its run that belong before it.
static void
s_remove(hub_listset_t *self, size_t i)
{
    size_t mask = self->cap - 1;
    free(self->slots[i].key);
    self->slots[i].key = NULL;
    self->n--;
    for (size_t j = (i + 1) & mask; self->slots[j].key; j = (j + 1) & mask) {
        size_t home = (size_t) self->slots[j].hash & mask;
        // J's entry may move to I when I lies on its probe path: home..j (cyclic)
        if (((j - home) & mask) >= ((j - i) & mask)) {
            self->slots[i] = self->slots[j];
            self->slots[j].key = NULL;
            i = j;
        }
    }
}

hub_listset_t *
hub_listset_new(void)
{
    return calloc(1, sizeof(hub_listset_t));
}

void
hub_listset_clear(hub_listset_t *self)
{
    for (size_t i = 0; i < self->cap; i++) {
        free(self->slots[i].key);
        self->slots[i].key = NULL;
    }
    self->n = 0;
}

void
hub_listset_destroy(hub_listset_t **self_p)
{
    if (self_p && *self_p) {
        hub_listset_clear(*self_p);
        free((*self_p)->slots);
        free(*self_p);
        *self_p = NULL;
    }
}

int
hub_listset_set(hub_listset_t *self, size_t list, const char *key, size_t len, bool member)
{
    assert(self && (key || len == 0));
    if (len > HUB_LISTSET_KEY_MAX || list > UINT32_MAX) {
        return HUB_EINVAL;
    }
    uint64_t h = s_hash(list, key, len);
    if (!member) {
        size_t i = self->cap ? s_find(self, list, key, len, h) : 0;
        if (self->cap && self->slots[i].key) {
            s_remove(self, i);
        }
        return HUB_OK;
    }
    if ((self->n + 1) * 4 > self->cap * 3 && s_grow(self)) {
        return HUB_ENOMEM;
    }
    size_t i = s_find(self, list, key, len, h);
    if (self->slots[i].key) {
        return HUB_OK;
    }
    char *copy = malloc(len + 1);
    if (!copy) {
        return HUB_ENOMEM;
    }
    memcpy(copy, key, len);
    copy[len] = '\0';
    self->slots[i] = (s_slot_t){copy, (uint32_t) len, (uint32_t) list, h};
    self->n++;
    return HUB_OK;
}

bool
hub_listset_has(const hub_listset_t *self, size_t list, const char *key, size_t len)
{
    if (!self || !self->cap || len > HUB_LISTSET_KEY_MAX) {
        return false;
    }
    return self->slots[s_find(self, list, key, len, s_hash(list, key, len))].key != NULL;
}

size_t
hub_listset_count(const hub_listset_t *self)
{
    return self->n;
}

static bool
s_listed(void *ctx, size_t list, const char *key, size_t len)
{
    return hub_listset_has(ctx, list, key, len);
}

hub_expr_lookup_t
hub_listset_lookup(const hub_listset_t *self)
{
    // The lookup's context is not const (it is a general callback), but
    // s_listed only reads through it.
    return (hub_expr_lookup_t){s_listed, (void *) (uintptr_t) self};
}
