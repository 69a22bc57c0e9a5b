// hub_mpw: a generic msgpack writer into a hub_buf_t, for the hub's own
// records (the store's log, queue and audit records; docs/STORE.md). Every
// value is written in its shortest msgpack form, the forms msgpack-c's
// packer picks: non-negative integers in the unsigned forms, strings in
// fixstr/str8/str16/str32, binary in bin8/bin16/bin32. With map keys
// written in sorted order that is the hub's canonical encoding
// (docs/SCHEMAS.md, "The msgpack encoding"), so equal records give equal
// bytes and can be hashed.
//
// Errors are sticky, like a stdio stream's: the first failure is kept,
// later writes do nothing, and hub_mpw_error() reports it once at the end,
// so a record is written as a straight run of calls with one check.
// After an error the buffer holds a partial encoding: discard it.
// Messages themselves are encoded by hub_codec, not with this writer.
// Not thread-safe: one writer per buffer.
#ifndef HUB_MPW_H
#define HUB_MPW_H

#include "hub_buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    hub_buf_t *out; // where the bytes go (appended)
    int err;        // the first error (HUB_OK until then)
} hub_mpw_t;

// Starts writing at the end of OUT (what OUT holds is kept).
void
hub_mpw_init(hub_mpw_t *self, hub_buf_t *out);

// A map of N key/value pairs, or an array of N items: the header only; the
// caller writes the pairs (key, value, key, value, ...) or items next.
// N above UINT32_MAX is HUB_ELIMIT.
void
hub_mpw_map(hub_mpw_t *self, size_t n);
void
hub_mpw_array(hub_mpw_t *self, size_t n);

void
hub_mpw_nil(hub_mpw_t *self);
void
hub_mpw_bool(hub_mpw_t *self, bool b);
// A float 64 (big-endian IEEE 754): rates in status replies, never in messages.
void
hub_mpw_double(hub_mpw_t *self, double d);

// Integers: a non-negative value takes the unsigned forms whichever
// function writes it, so hub_mpw_int(w, 5) and hub_mpw_uint(w, 5) agree.
void
hub_mpw_uint(hub_mpw_t *self, uint64_t u);
void
hub_mpw_int(hub_mpw_t *self, int64_t i);

// A string of N bytes (not checked for UTF-8: the caller's business).
// N above UINT32_MAX is HUB_ELIMIT.
void
hub_mpw_str(hub_mpw_t *self, const char *s, size_t n);

// A NUL-terminated string, or nil when S is NULL.
void
hub_mpw_cstr(hub_mpw_t *self, const char *s);

// Binary data of N bytes (bin family). N above UINT32_MAX is HUB_ELIMIT.
void
hub_mpw_bin(hub_mpw_t *self, const void *p, size_t n);

// N bytes that are already msgpack (a value encoded elsewhere), copied as
// they are: the caller vouches for them.
void
hub_mpw_raw(hub_mpw_t *self, const void *p, size_t n);

// The first error, or HUB_OK: HUB_ENOMEM (the buffer could not grow),
// HUB_ELIMIT (a length msgpack cannot express).
int
hub_mpw_error(const hub_mpw_t *self);

#endif
