// hub_buf: a growable byte buffer. A plain struct (like Redis' sds, the
// fields are public for speed): DATA holds LEN bytes and room for CAP.
// Appending may move DATA, so pointers into it are valid only until the next
// append. Not thread-safe.
#ifndef HUB_BUF_H
#define HUB_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *data; // NULL until the first append
    size_t len;    // bytes used
    size_t cap;    // bytes allocated
} hub_buf_t;

#define HUB_BUF_INIT                                                                               \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

// Frees the bytes; the buffer is empty and reusable afterwards.
void
hub_buf_free(hub_buf_t *self);

// Makes room for N more bytes. Errors: HUB_ENOMEM.
int
hub_buf_reserve(hub_buf_t *self, size_t n);

// Appends N bytes from P. Errors: HUB_ENOMEM (the buffer is unchanged).
int
hub_buf_append(hub_buf_t *self, const void *p, size_t n);

// Appends a NUL-terminated string without its NUL.
int
hub_buf_puts(hub_buf_t *self, const char *s);

// Appends formatted text (printf); the buffer stays without a NUL.
int
hub_buf_printf(hub_buf_t *self, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

// Ensures a NUL after the last byte (not counted in LEN) and returns DATA
// as a string; NULL when out of memory.
const char *
hub_buf_cstr(hub_buf_t *self);

#endif
