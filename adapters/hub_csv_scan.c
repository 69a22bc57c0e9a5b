#include "hub_csv_int.h"

#include "hub_enc.h"
#include "hub_error.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// Reads more bytes after what the window holds, compacting or growing it
// first. Returns HUB_OK (maybe nothing new: then src_eof), HUB_EIO.
int
hubc_csv_fill(hubc_csv_t *self)
{
    if (self->pos > 0) {
        memmove(self->buf, self->buf + self->pos, self->len - self->pos);
        self->len -= self->pos;
        self->buf_off += self->pos;
        self->pos = 0;
    }
    if (self->len == self->cap) {
        uint8_t *bigger = realloc(self->buf, self->cap * 2);
        if (!bigger) {
            return HUB_ENOMEM;
        }
        self->buf = bigger;
        self->cap *= 2;
    }
    size_t want = self->cap - self->len;
    want = want < self->opts.chunk ? want : self->opts.chunk;
    ssize_t got;
    if (self->fd < 0) {
        size_t left = self->mem_len - self->mem_pos;
        got = (ssize_t) (left < want ? left : want);
        memcpy(self->buf + self->len, self->mem + self->mem_pos, (size_t) got);
        self->mem_pos += (size_t) got;
    } else {
        do {
            got = read(self->fd, self->buf + self->len, want);
        } while (got < 0 && errno == EINTR);
        if (got < 0) {
            return HUB_EIO;
        }
    }
    self->len += (size_t) got;
    self->src_eof = got == 0;
    return HUB_OK;
}

// Jumps to file offset OFF (line LINE), dropping the window.
void
hubc_csv_seek(hubc_csv_t *self, uint64_t off, uint64_t line)
{
    if (self->fd >= 0) {
        lseek(self->fd, (off_t) off, SEEK_SET);
    } else {
        self->mem_pos = off < self->mem_len ? (size_t) off : self->mem_len;
    }
    self->buf_off = off;
    self->len = self->pos = 0;
    self->line = line;
    self->src_eof = false;
}

// Appends N bytes at P to the current cell, when cells are wanted.
static int
s_put(hub_buf_t *cells, const uint8_t *p, size_t n)
{
    return cells ? hub_buf_append(cells, p, n) : HUB_OK;
}

// Ends a cell that started at RAW (offset in the record).
static int
s_end_cell(hubc_csv_t *self, bool want, size_t *start, size_t raw, hubc_csv_scan_t *out)
{
    out->ncells++;
    if (!want) {
        return HUB_OK;
    }
    size_t raw_at = raw;
    int rc = hub_buf_append(&self->cells, "", 1);
    rc = rc ? rc : hub_buf_append(&self->offs, start, sizeof *start);
    rc = rc ? rc : hub_buf_append(&self->raw_offs, &raw_at, sizeof raw_at);
    *start = self->cells.len;
    return rc;
}

// Length of a GB18030 character at P (N bytes there) for the scanner: 1
// for an invalid one (the encoding check reports it later), 0 when more
// bytes are needed.
static size_t
s_gb_len(const uint8_t *p, size_t n, bool eof)
{
    int k = hubc_gb_char_len(p, n);
    return k > 0 ? (size_t) k : k < 0 && !eof ? 0 : 1;
}

// Scans one quoted cell from P[*I] (at its opening quote).
static hubc_csv_scan_rc_t
s_quoted(hubc_csv_t *self, const hubc_csv_in_t *in, size_t *i, hubc_csv_scan_t *out, int *rc)
{
    hub_buf_t *cells = in->want ? &self->cells : NULL;
    const uint8_t *p = in->p, *qcls = self->tab[in->gb][1];
    for ((*i)++;;) {
        size_t from = *i;
        while (*i < in->n && qcls[p[*i]] == HUBC_CSV_PLAIN) {
            out->high |= p[*i] >= 0x80;
            (*i)++;
        }
        *rc = *rc ? *rc : s_put(cells, p + from, *i - from);
        if (*i >= in->n) {
            return in->eof ? HUBC_CSV_UNCLOSED : HUBC_CSV_MORE;
        }
        uint8_t c = p[*i];
        if (c == '"') {
            if (*i + 1 >= in->n && !in->eof) {
                return HUBC_CSV_MORE;
            }
            if (*i + 1 < in->n && p[*i + 1] == '"') {
                *rc = *rc ? *rc : s_put(cells, p + *i, 1);
                *i += 2;
                continue;
            }
            (*i)++;
            return HUBC_CSV_DONE;
        }
        size_t k = 1;
        if (qcls[c] == HUBC_CSV_LEAD) {
            k = s_gb_len(p + *i, in->n - *i, in->eof);
            out->high = true;
        } else if (c == '\r') {
            if (*i + 1 >= in->n && !in->eof) {
                return HUBC_CSV_MORE;
            }
            out->lines += *i + 1 >= in->n || p[*i + 1] != '\n';
        } else {
            out->lines++; // LF
        }
        if (k == 0) {
            return HUBC_CSV_MORE;
        }
        *rc = *rc ? *rc : s_put(cells, p + *i, k);
        *i += k;
    }
}

// Scans unquoted text from P[*I] to the cell's end (a delimiter, a line end
// or the end of the input); a cell that was quoted continues here when
// text follows its closing quote (a defect, kept as text).
static hubc_csv_scan_rc_t
s_unquoted(hubc_csv_t *self, const hubc_csv_in_t *in, size_t *i, hubc_csv_scan_t *out, int *rc)
{
    hub_buf_t *cells = in->want ? &self->cells : NULL;
    const uint8_t *p = in->p, *cls = self->tab[in->gb][0];
    for (;;) {
        size_t from = *i;
        while (*i < in->n && cls[p[*i]] == HUBC_CSV_PLAIN) {
            out->high |= p[*i] >= 0x80;
            (*i)++;
        }
        *rc = *rc ? *rc : s_put(cells, p + from, *i - from);
        if (*i >= in->n || cls[p[*i]] != HUBC_CSV_LEAD) {
            return *i >= in->n && !in->eof ? HUBC_CSV_MORE : HUBC_CSV_DONE;
        }
        size_t k = s_gb_len(p + *i, in->n - *i, in->eof);
        out->high = true;
        if (k == 0) {
            return HUBC_CSV_MORE;
        }
        *rc = *rc ? *rc : s_put(cells, p + *i, k);
        *i += k;
    }
}

// Scans the record at IN->p: where it ends, its cells (when IN->want).
hubc_csv_scan_rc_t
hubc_csv_scan(hubc_csv_t *self, const hubc_csv_in_t *in, hubc_csv_scan_t *out, int *rc)
{
    memset(out, 0, sizeof *out);
    out->err_at = SIZE_MAX;
    self->cells.len = self->offs.len = self->raw_offs.len = 0;
    const uint8_t *cls = self->tab[in->gb][0];
    size_t i = 0, start = 0;
    for (;;) {
        size_t cell_raw = i;
        hubc_csv_scan_rc_t r = HUBC_CSV_DONE;
        if (!self->opts.lines && i < in->n && in->p[i] == '"') {
            r = s_quoted(self, in, &i, out, rc);
            if (r == HUBC_CSV_DONE && i < in->n && cls[in->p[i]] != HUBC_CSV_DELIM &&
                cls[in->p[i]] != HUBC_CSV_CR && cls[in->p[i]] != HUBC_CSV_LF &&
                out->err_at == SIZE_MAX) {
                out->err_at = i;
                out->err_cell = out->ncells;
            }
        }
        r = r == HUBC_CSV_DONE ? s_unquoted(self, in, &i, out, rc) : r;
        if (r != HUBC_CSV_DONE) {
            return r;
        }
        *rc = *rc ? *rc : s_end_cell(self, in->want, &start, cell_raw, out);
        if (i >= in->n) {
            out->end = i; // the last line, without a line end (EOF)
            return HUBC_CSV_DONE;
        }
        uint8_t c = in->p[i];
        if (cls[c] == HUBC_CSV_DELIM) {
            i++;
            continue;
        }
        if (c == '\r' && i + 1 >= in->n && !in->eof) {
            return HUBC_CSV_MORE;
        }
        i += c == '\r' && i + 1 < in->n && in->p[i + 1] == '\n' ? 2 : 1;
        out->lines++;
        out->end = i;
        return HUBC_CSV_DONE;
    }
}

// Scans the record at the window's POS, reading more as needed. HUBC_CSV_WAIT:
// no complete record now (the end of the input, or of what has arrived).
int
hubc_csv_scan_next(hubc_csv_t *self, bool final, bool gb, hubc_csv_scan_t *sc,
                   hubc_csv_found_t *what)
{
    for (;;) {
        int rc = HUB_OK;
        if (self->pos == self->len) {
            rc = hubc_csv_fill(self);
            if (rc || self->pos == self->len) {
                *what = HUBC_CSV_WAIT;
                return rc;
            }
        }
        hubc_csv_in_t in = {self->buf + self->pos, self->len - self->pos, final && self->src_eof,
                            true, gb};
        hubc_csv_scan_rc_t r = hubc_csv_scan(self, &in, sc, &rc);
        if (rc || r != HUBC_CSV_MORE) {
            // However it was read, a record past the limit is too long.
            *what = r == HUBC_CSV_DONE
                        ? (sc->end > self->opts.max_record ? HUBC_CSV_TOO_LONG : HUBC_CSV_REC)
                        : HUBC_CSV_UNCLOSED_QUOTE;
            return rc;
        }
        if (in.n > self->opts.max_record) {
            *what = HUBC_CSV_TOO_LONG;
            return HUB_OK;
        }
        if (self->src_eof && !final) {
            *what = HUBC_CSV_WAIT;
            return HUB_OK;
        }
        rc = hubc_csv_fill(self);
        if (rc) {
            return rc;
        }
    }
}
