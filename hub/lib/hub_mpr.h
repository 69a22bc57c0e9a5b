// hub_mpr: a small bounded msgpack reader for the hub's own records (the
// store's records, docs/STORE.md), the reading half of hub_mpw. A cursor
// over bytes the caller owns: it never allocates, never reads outside the
// buffer, and any count a header claims is checked against the bytes that
// are really there, so hostile or damaged input costs at most one pass over
// its bytes. Messages are decoded by hub_codec (strict, with diagnostics),
// not with this reader.
//
// A reader is a plain value: copy it to remember a position (e.g. the
// start of a map, to look up several keys in it).
// Not thread-safe: one reader per cursor.
#ifndef HUB_MPR_H
#define HUB_MPR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    HUB_MP_NIL = 0,
    HUB_MP_BOOL,
    HUB_MP_UINT,  // a non-negative integer (any width, signed forms too)
    HUB_MP_INT,   // a negative integer
    HUB_MP_FLOAT, // float 32 or 64, widened to double
    HUB_MP_STR,
    HUB_MP_BIN,
    HUB_MP_ARRAY,
    HUB_MP_MAP,
    HUB_MP_EXT,
} hub_mp_kind_t;

// One msgpack object as read: for STR, BIN and EXT the payload too; for
// ARRAY and MAP only the header (the items or pairs follow in the input).
typedef struct {
    hub_mp_kind_t kind;
    uint32_t len;        // STR, BIN, EXT: bytes; ARRAY: items; MAP: pairs
    const uint8_t *data; // STR, BIN, EXT: the payload, borrowed from the input
    int8_t ext_type;     // EXT: its type
    union {
        bool b;     // BOOL
        uint64_t u; // UINT
        int64_t i;  // INT
        double f;   // FLOAT
    } v;
} hub_mp_obj_t;

typedef struct {
    const uint8_t *base; // the input's first byte (for offsets)
    const uint8_t *p;    // the next byte to read
    const uint8_t *end;  // one past the input's last byte
} hub_mpr_t;

// Reads the LEN bytes at DATA (borrowed: they must outlive the reader).
void
hub_mpr_init(hub_mpr_t *self, const void *data, size_t len);

// Bytes consumed so far, and whether all of them are.
size_t
hub_mpr_offset(const hub_mpr_t *self);
bool
hub_mpr_done(const hub_mpr_t *self);

// Reads the next object into OBJ and moves past it (for ARRAY and MAP,
// past the header only). Errors: HUB_EDECODE (the input ends inside the
// object, the reserved byte 0xc1, or an ARRAY/MAP claiming more items than
// there are bytes left). On error the cursor does not move.
int
hub_mpr_next(hub_mpr_t *self, hub_mp_obj_t *obj);

// Moves past the next whole value, nested arrays and maps included (no
// recursion, so no depth limit is needed). Errors: HUB_EDECODE; on error
// the cursor does not move.
int
hub_mpr_skip(hub_mpr_t *self);

// With the cursor at a map, finds the pair whose key is the string KEY and
// leaves the cursor at its value. Scalar keys that are not strings are
// passed over. Errors: HUB_ENOTFOUND (no such key), HUB_EDECODE (not a
// map, a key that is an array or map, or malformed); on any error the
// cursor does not move.
int
hub_mpr_find(hub_mpr_t *self, const char *key);

// With the cursor at a map, one pass over its pairs instead of a
// hub_mpr_find() per key: for each i < N (at most 32) whose string key
// KEYS[i] the map holds, VALS[i] becomes a cursor at that value and bit i
// of the result is set (a key the map repeats: its first pair). The
// cursor moves past the whole map. Scalar keys that are not strings are
// passed over. Errors (-1, the cursor does not move): not a map, a key
// that is an array or map, malformed, or N over 32.
int64_t
hub_mpr_pick(hub_mpr_t *self, const char *const *keys, size_t n, hub_mpr_t *vals);

// Typed reads of the next object; on a different kind HUB_EDECODE and the
// cursor does not move. hub_mpr_uint accepts only non-negative integers;
// hub_mpr_str and hub_mpr_bin lend the payload (borrowed from the input).
int
hub_mpr_uint(hub_mpr_t *self, uint64_t *out);
int
hub_mpr_str(hub_mpr_t *self, const char **s, size_t *n);
int
hub_mpr_bin(hub_mpr_t *self, const void **p, size_t *n);

// Looks up KEY in the map at the start of the LEN bytes at MAP and reads
// it as an unsigned integer / a binary of exactly N bytes (copied to OUT).
// Errors: HUB_ENOTFOUND, HUB_EDECODE (malformed, other kind, other size).
int
hub_mpr_get_uint(const void *map, size_t len, const char *key, uint64_t *out);
int
hub_mpr_get_bin(const void *map, size_t len, const char *key, void *out, size_t n);

#endif
