#include "hub_buf.h"

#include "hub_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
hub_buf_free(hub_buf_t *self)
{
    free(self->data);
    self->data = NULL;
    self->len = self->cap = 0;
}

int
hub_buf_reserve(hub_buf_t *self, size_t n)
{
    if (self->cap - self->len >= n) {
        return HUB_OK;
    }
    if (n > SIZE_MAX / 2 - self->len) {
        return HUB_ENOMEM;
    }
    size_t cap = self->cap ? self->cap : 256;
    while (cap - self->len < n) {
        cap *= 2;
    }
    uint8_t *p = realloc(self->data, cap);
    if (!p) {
        return HUB_ENOMEM;
    }
    self->data = p;
    self->cap = cap;
    return HUB_OK;
}

int
hub_buf_append(hub_buf_t *self, const void *p, size_t n)
{
    if (n == 0) {
        return HUB_OK;
    }
    if (hub_buf_reserve(self, n)) {
        return HUB_ENOMEM;
    }
    memcpy(self->data + self->len, p, n);
    self->len += n;
    return HUB_OK;
}

int
hub_buf_puts(hub_buf_t *self, const char *s)
{
    return hub_buf_append(self, s, strlen(s));
}

int
hub_buf_printf(hub_buf_t *self, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return HUB_EINVAL;
    }
    if (hub_buf_reserve(self, (size_t) n + 1)) {
        return HUB_ENOMEM;
    }
    va_start(ap, fmt);
    vsnprintf((char *) self->data + self->len, (size_t) n + 1, fmt, ap);
    va_end(ap);
    self->len += (size_t) n;
    return HUB_OK;
}

const char *
hub_buf_cstr(hub_buf_t *self)
{
    if (hub_buf_reserve(self, 1)) {
        return NULL;
    }
    self->data[self->len] = '\0';
    return (const char *) self->data;
}
