// hub_arena: a bump allocator for the memory of one message (its strings and
// field arrays). Allocations are never freed one by one: hub_arena_reset()
// releases them all at once and keeps the first block for reuse, so a
// message decoded again and again allocates nothing after warm-up. Memory
// handed out never moves, so pointers stay valid until the reset.
// Not thread-safe.
#ifndef HUB_ARENA_H
#define HUB_ARENA_H

#include <stddef.h>

typedef struct hub_arena hub_arena_t;

// A new arena whose first block holds FIRST bytes (0: a default of 4 KiB).
// NULL when out of memory.
hub_arena_t *
hub_arena_new(size_t first);

// Frees every block and sets *self_p to NULL. Safe on NULL.
void
hub_arena_destroy(hub_arena_t **self_p);

// Releases every allocation; keeps the first block.
void
hub_arena_reset(hub_arena_t *self);

// N bytes aligned for any type; NULL when out of memory.
void *
hub_arena_alloc(hub_arena_t *self, size_t n);

// A NUL-terminated copy of the N bytes at P; NULL when out of memory.
char *
hub_arena_strndup(hub_arena_t *self, const char *p, size_t n);

// Bytes handed out since the last reset (for limits and statistics).
size_t
hub_arena_used(const hub_arena_t *self);

#endif
