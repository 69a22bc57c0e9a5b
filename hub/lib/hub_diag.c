#include "hub_diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct hub_diag {
    size_t count;  // entries kept
    size_t total;  // entries reported
    size_t errors; // errors reported
    hub_diag_entry_t entries[HUB_DIAG_MAX];
};

hub_diag_t *
hub_diag_new(void)
{
    return calloc(1, sizeof(hub_diag_t));
}

void
hub_diag_destroy(hub_diag_t **self_p)
{
    if (self_p && *self_p) {
        free(*self_p);
        *self_p = NULL;
    }
}

void
hub_diag_reset(hub_diag_t *self)
{
    if (self) {
        self->count = self->total = self->errors = 0;
    }
}

static hub_diag_entry_t *
s_next(hub_diag_t *self, hub_diag_sev_t sev, const char *reason)
{
    self->total++;
    if (sev == HUB_DIAG_ERROR) {
        self->errors++;
    }
    if (self->count == HUB_DIAG_MAX) {
        return NULL;
    }
    hub_diag_entry_t *e = &self->entries[self->count++];
    e->sev = sev;
    e->reason = reason ? reason : "error";
    e->where[0] = '\0';
    e->text[0] = '\0';
    return e;
}

void
hub_diag_add(hub_diag_t *self, hub_diag_sev_t sev, const char *reason, const char *where,
             const char *fmt, ...)
{
    if (!self) {
        return;
    }
    hub_diag_entry_t *e = s_next(self, sev, reason);
    if (!e) {
        return;
    }
    snprintf(e->where, sizeof e->where, "%s", where ? where : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->text, sizeof e->text, fmt, ap);
    va_end(ap);
}

void
hub_diag_errf(hub_diag_t *self, const char *reason, const char *prefix, const char *suffix,
              const char *fmt, ...)
{
    if (!self) {
        return;
    }
    hub_diag_entry_t *e = s_next(self, HUB_DIAG_ERROR, reason);
    if (!e) {
        return;
    }
    snprintf(e->where, sizeof e->where, "%s%s", prefix ? prefix : "", suffix ? suffix : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->text, sizeof e->text, fmt, ap);
    va_end(ap);
}

size_t
hub_diag_count(const hub_diag_t *self)
{
    return self ? self->count : 0;
}

size_t
hub_diag_total(const hub_diag_t *self)
{
    return self ? self->total : 0;
}

size_t
hub_diag_errors(const hub_diag_t *self)
{
    return self ? self->errors : 0;
}

const hub_diag_entry_t *
hub_diag_at(const hub_diag_t *self, size_t i)
{
    if (!self || i >= self->count) {
        return NULL;
    }
    return &self->entries[i];
}

const char *
hub_diag_sev_name(hub_diag_sev_t sev)
{
    switch (sev) {
    case HUB_DIAG_ERROR:
        return "error";
    case HUB_DIAG_WARNING:
        return "warning";
    case HUB_DIAG_NOTE:
        return "note";
    }
    return "error";
}

void
hub_diag_print(const hub_diag_t *self, FILE *out)
{
    if (!self) {
        return;
    }
    for (size_t i = 0; i < self->count; i++) {
        const hub_diag_entry_t *e = &self->entries[i];
        fprintf(out, "%s%s%s: %s [%s]\n", e->where, e->where[0] ? ": " : "",
                hub_diag_sev_name(e->sev), e->text, e->reason);
    }
    if (self->total > self->count) {
        fprintf(out, "... and %zu more\n", self->total - self->count);
    }
}

void
hub_diag_place(char *buf, size_t size, const char *file, long line, long column)
{
    char tail[48];
    int tn = snprintf(tail, sizeof tail, ":%ld:%ld", line, column);
    size_t flen = strlen(file), room = size - 1 - (size_t) tn;
    if (size <= (size_t) tn + 8) {
        snprintf(buf, size, "%s", tail + 1);
    } else if (flen <= room) {
        snprintf(buf, size, "%s%s", file, tail);
    } else {
        snprintf(buf, size, "...%s%s", file + flen - (room - 3), tail);
    }
}
