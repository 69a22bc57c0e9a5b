// hub_jsonl: one JSON Lines record (a line holding a JSON object, as the
// medical-insurance platform exports them) and its values by member path
// "a.b.c" (a number in a path indexes an array: "items.0.code"). The lines
// themselves come from hub_csv in lines mode, which gives them line
// numbers, byte offsets and UTF-8.
//
// Values come out as text, as a CSV cell would: strings as they are,
// integers in decimal, other numbers in their shortest exact form
// (5.13431e+17 stays recognisable as what Excel did to an ID), true /
// false, and an array of such values as its items joined by
// HUBC_JSONL_ITEM_SEP (hub_map splits it into a list). null, an absent
// member and an object are no value.
//
// One record object per reader, one thread at a time.
#ifndef HUB_JSONL_H
#define HUB_JSONL_H

#include <stdbool.h>
#include <stddef.h>

// Joins the items of an array value (a control character no text holds).
#define HUBC_JSONL_ITEM_SEP '\x1f'

typedef struct hubc_jsonl hubc_jsonl_t;

// A new, empty record. NULL when out of memory.
hubc_jsonl_t *
hubc_jsonl_new(void);

// Frees the record and sets *self_p to NULL. Safe on NULL.
void
hubc_jsonl_destroy(hubc_jsonl_t **self_p);

// Parses the LEN bytes at LINE (one line, UTF-8) as the current record,
// replacing the previous one. Duplicate member names are refused. On
// failure DETAIL (DETAIL_SIZE bytes) gets a sentence naming the column,
// e.g. "column 17: unexpected token near '}'". Errors: HUB_EDECODE (not
// JSON, or not an object), HUB_ENOMEM.
int
hubc_jsonl_parse(hubc_jsonl_t *self, const char *line, size_t len, char *detail,
                 size_t detail_size);

// The value at PATH in the current record as text (NUL-terminated; *LEN
// its length), borrowed until the next call on SELF. False when there is
// no value there (absent, null, an object, an array holding objects).
bool
hubc_jsonl_get(hubc_jsonl_t *self, const char *path, const char **s, size_t *len);

#endif
