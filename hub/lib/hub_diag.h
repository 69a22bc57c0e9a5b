// hub_diag: a list of problems found in some input, each with where it is
// (a "file:line:column" or a field path such as "subject.citizen_id"), a
// stable reason word ("check_char", "unknown_key") and a sentence a person can
// act on. Parsers, loaders and the validator report every problem they find
// into one, and the caller decides how to print it.
//
// A diag holds at most HUB_DIAG_MAX entries; later ones are counted but not
// kept. Adding never allocates, so reporting works when memory is short.
// Every function accepts a NULL diag and then does nothing (adds) or answers
// zero (counts), so callers that do not want details pass NULL.
// Not thread-safe: one owner at a time.
#ifndef HUB_DIAG_H
#define HUB_DIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define HUB_DIAG_MAX 64
#define HUB_DIAG_WHERE_MAX 256
#define HUB_DIAG_TEXT_MAX 320

typedef enum {
    HUB_DIAG_ERROR = 0,
    HUB_DIAG_WARNING = 1,
    HUB_DIAG_NOTE = 2, // e.g. "a value was normalised"
} hub_diag_sev_t;

typedef struct {
    hub_diag_sev_t sev;
    const char *reason; // static string, stable across releases
    char where[HUB_DIAG_WHERE_MAX];
    char text[HUB_DIAG_TEXT_MAX];
} hub_diag_entry_t;

typedef struct hub_diag hub_diag_t;

// A new, empty diag. NULL when out of memory.
hub_diag_t *
hub_diag_new(void);

// Frees the diag and sets *self_p to NULL. Safe on NULL.
void
hub_diag_destroy(hub_diag_t **self_p);

// Forgets every entry, keeping the memory.
void
hub_diag_reset(hub_diag_t *self);

// Adds an entry. REASON must be a string with static lifetime; WHERE may be
// NULL or empty. Text longer than HUB_DIAG_TEXT_MAX is truncated.
void
hub_diag_add(hub_diag_t *self, hub_diag_sev_t sev, const char *reason, const char *where,
             const char *fmt, ...) __attribute__((format(printf, 5, 6)));

// Adds an error entry whose WHERE is PREFIX followed by SUFFIX (either may be
// NULL), e.g. ("body.", "risks[2]"); saves callers building paths.
void
hub_diag_errf(hub_diag_t *self, const char *reason, const char *prefix, const char *suffix,
              const char *fmt, ...) __attribute__((format(printf, 5, 6)));

// Writes "FILE:LINE:COLUMN" into BUF. When it does not fit, the start of
// FILE gives way ("...deep/dir/rules.yaml:12:7"): the line and column, and
// the file's own name, are what a person needs.
void
hub_diag_place(char *buf, size_t size, const char *file, long line, long column);

// Entries kept, and entries reported in all (kept or not).
size_t
hub_diag_count(const hub_diag_t *self);
size_t
hub_diag_total(const hub_diag_t *self);

// Number of entries of severity HUB_DIAG_ERROR reported (kept or not).
size_t
hub_diag_errors(const hub_diag_t *self);

// The I-th kept entry, or NULL past the end. Borrowed until the next change.
const hub_diag_entry_t *
hub_diag_at(const hub_diag_t *self, size_t i);

// Writes one line per entry: "WHERE: error: TEXT [REASON]", then a line
// "... and N more" when entries were dropped.
void
hub_diag_print(const hub_diag_t *self, FILE *out);

// "error", "warning" or "note".
const char *
hub_diag_sev_name(hub_diag_sev_t sev);

#endif
