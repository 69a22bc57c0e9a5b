#include "hub_arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct s_block {
    struct s_block *next; // older block, or NULL
    size_t size;          // bytes in DATA
    size_t used;          // bytes handed out from DATA
    alignas(max_align_t) unsigned char data[];
} s_block_t;

struct hub_arena {
    s_block_t *head;  // the block being filled
    s_block_t *first; // the block kept across resets
    size_t used;      // bytes handed out since the last reset
};

static s_block_t *
s_block_new(size_t size)
{
    s_block_t *b = malloc(sizeof(s_block_t) + size);
    if (b) {
        b->next = NULL;
        b->size = size;
        b->used = 0;
    }
    return b;
}

hub_arena_t *
hub_arena_new(size_t first)
{
    hub_arena_t *self = calloc(1, sizeof *self);
    if (!self) {
        return NULL;
    }
    self->first = s_block_new(first ? first : 4096);
    if (!self->first) {
        free(self);
        return NULL;
    }
    self->head = self->first;
    return self;
}

static void
s_free_chain(s_block_t *b, s_block_t *stop)
{
    while (b && b != stop) {
        s_block_t *next = b->next;
        free(b);
        b = next;
    }
}

void
hub_arena_destroy(hub_arena_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    hub_arena_t *self = *self_p;
    s_free_chain(self->head, NULL);
    free(self);
    *self_p = NULL;
}

void
hub_arena_reset(hub_arena_t *self)
{
    s_free_chain(self->head, self->first);
    self->head = self->first;
    self->first->used = 0;
    self->used = 0;
}

void *
hub_arena_alloc(hub_arena_t *self, size_t n)
{
    const size_t align = alignof(max_align_t);
    if (n > SIZE_MAX / 2) {
        return NULL;
    }
    size_t need = (n + align - 1) & ~(align - 1);
    s_block_t *b = self->head;
    if (b->size - b->used < need) {
        size_t size = b->size * 2 > need ? b->size * 2 : need;
        b = s_block_new(size);
        if (!b) {
            return NULL;
        }
        b->next = self->head;
        self->head = b;
    }
    void *p = b->data + b->used;
    b->used += need;
    self->used += need;
    return p;
}

char *
hub_arena_strndup(hub_arena_t *self, const char *p, size_t n)
{
    char *s = hub_arena_alloc(self, n + 1);
    if (s) {
        memcpy(s, p, n);
        s[n] = '\0';
    }
    return s;
}

size_t
hub_arena_used(const hub_arena_t *self)
{
    return self->used;
}
