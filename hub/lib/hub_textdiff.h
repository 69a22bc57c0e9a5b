// hub_textdiff: a line diff of two texts in the unified format of
// `diff -u`, for `hubctl rules diff` (what changed between two rule-set
// versions). The lines kept are a longest common subsequence of the two
// texts: a dynamic-programming LCS over what lies between their common
// first and last lines, so a change in a long file costs only the lines
// it spans. When that middle part is too large for the table
// (HUB_TEXTDIFF_MAX_CELLS), its old lines are all shown removed and its
// new lines added: still a correct diff, only not the shortest.
// Thread-safe: no state between calls.
#ifndef HUB_TEXTDIFF_H
#define HUB_TEXTDIFF_H

#include "hub_buf.h"

#include <stdbool.h>
#include <stddef.h>

#define HUB_TEXTDIFF_MAX_CELLS ((size_t) 4 << 20) // LCS table: 4 Mi cells, 16 MiB

// Appends to OUT the unified diff from text A (ALEN bytes) to text B:
// "--- FROM" and "+++ TO" (the labels as given), then one "@@ -l,n +l,n @@"
// hunk per group of changes with CONTEXT unchanged lines around each.
// Lines end at '\n'; a last line without one is followed by
// "\ No newline at end of file", as diff does. Equal texts write nothing.
// *CHANGED (may be NULL) gets whether they differ. A NULL text with length
// 0 is the empty text (an added or removed file). Errors: HUB_ENOMEM
// (OUT may hold part of the diff).
int
hub_textdiff(const char *a, size_t alen, const char *b, size_t blen, unsigned context,
             const char *from, const char *to, hub_buf_t *out, bool *changed);

#endif
