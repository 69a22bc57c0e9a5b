#include "hub_csv_int.h"

#include "hub_error.h"
#include "hub_utf8.h"
#include "hub_xform.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_MAX_RECORD (1u << 20)
#define S_CHUNK (256u << 10)
#define S_HEADER_ROWS 1000
#define S_SNIFF 65536 // bytes looked at to tell UTF-8 from GB18030

static void
s_classes(hubc_csv_t *self)
{
    memset(self->tab, HUBC_CSV_PLAIN, sizeof self->tab);
    for (int gb = 0; gb < 2; gb++) {
        uint8_t *cls = self->tab[gb][0], *qcls = self->tab[gb][1];
        for (int c = 0x81; gb && c <= 0xFE; c++) {
            cls[c] = qcls[c] = HUBC_CSV_LEAD;
        }
        cls['\r'] = qcls['\r'] = HUBC_CSV_CR;
        cls['\n'] = qcls['\n'] = HUBC_CSV_LF;
        qcls['"'] = HUBC_CSV_QUOTE;
        if (!self->opts.lines) {
            cls[(uint8_t) self->opts.delimiter] = HUBC_CSV_DELIM;
        }
    }
}

static int
s_new(hubc_csv_t **out, const char *name, const hubc_csv_opts_t *opts)
{
    *out = NULL;
    char d = opts && opts->delimiter ? opts->delimiter : ',';
    if (d == '"' || d == '\r' || d == '\n' || (uint8_t) d >= 0x80) {
        return HUB_EINVAL;
    }
    hubc_csv_t *self = calloc(1, sizeof *self);
    if (!self) {
        return HUB_ENOMEM;
    }
    self->opts = opts ? *opts : (hubc_csv_opts_t){0};
    self->opts.delimiter = d;
    self->opts.max_record = self->opts.max_record ? self->opts.max_record : S_MAX_RECORD;
    self->opts.header_rows = self->opts.header_rows ? self->opts.header_rows : S_HEADER_ROWS;
    self->opts.chunk = self->opts.chunk ? self->opts.chunk : S_CHUNK;
    self->enc = self->opts.encoding == HUBC_ENC_GBK ? HUBC_ENC_GB18030 : self->opts.encoding;
    self->fd = -1;
    self->line = 1;
    self->name = strdup(name ? name : "<csv>");
    self->marker = self->opts.header ? strdup(self->opts.header) : NULL;
    self->cap = self->opts.chunk < 4096 ? 4096 : self->opts.chunk;
    self->buf = malloc(self->cap);
    self->have_header = self->opts.lines;
    if (!self->name || !self->buf || (self->opts.header && !self->marker)) {
        hubc_csv_destroy(&self);
        return HUB_ENOMEM;
    }
    self->opts.header = self->marker;
    s_classes(self);
    *out = self;
    return HUB_OK;
}

int
hubc_csv_open(hubc_csv_t **out, const char *path, const hubc_csv_opts_t *opts, hub_diag_t *diag)
{
    int rc = s_new(out, path, opts);
    if (rc) {
        return rc;
    }
    hubc_csv_t *self = *out;
    struct stat st;
    self->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (self->fd < 0 || fstat(self->fd, &st) != 0) {
        hub_diag_add(diag, HUB_DIAG_ERROR, "io", path, "cannot read: %s", strerror(errno));
        hubc_csv_destroy(out);
        return HUB_EIO;
    }
    self->dev = (uint64_t) st.st_dev;
    self->ino = (uint64_t) st.st_ino;
    return HUB_OK;
}

int
hubc_csv_open_mem(hubc_csv_t **out, const char *name, const void *data, size_t len,
                  const hubc_csv_opts_t *opts)
{
    int rc = s_new(out, name, opts);
    if (rc == HUB_OK) {
        (*out)->mem = data;
        (*out)->mem_len = len;
    }
    return rc;
}

void
hubc_csv_destroy(hubc_csv_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    hubc_csv_t *self = *self_p;
    if (self->fd >= 0) {
        close(self->fd);
    }
    for (size_t i = 0; i < self->nnames; i++) {
        free(self->names[i]);
    }
    free(self->names);
    hubc_conv_destroy(&self->conv);
    hub_buf_free(&self->cells);
    hub_buf_free(&self->offs);
    hub_buf_free(&self->raw_offs);
    hub_buf_free(&self->utf8);
    free(self->cellv);
    free(self->lenv);
    free(self->buf);
    free(self->marker);
    free(self->name);
    free(self);
    *self_p = NULL;
}

void
hubc_csv_resume(hubc_csv_t *self, uint64_t offset, uint64_t line, hubc_enc_t enc)
{
    if (self->enc == HUBC_ENC_AUTO && enc != HUBC_ENC_AUTO) {
        self->enc = enc == HUBC_ENC_GBK ? HUBC_ENC_GB18030 : enc;
    }
    self->resume = true;
    self->resume_off = offset;
    self->resume_line = line ? line : 1;
    if (self->have_header && self->started) {
        self->resume = false;
        if (offset > self->buf_off + self->pos) {
            hubc_csv_seek(self, offset, self->resume_line);
        }
    }
}

// ------------------------------------------------------------------ records

static void
s_defect(hubc_csv_rec_t *rec, const char *reason, size_t cell, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
s_defect(hubc_csv_rec_t *rec, const char *reason, size_t cell, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rec->detail, sizeof rec->detail, fmt, ap);
    va_end(ap);
    rec->reason = reason;
    rec->bad_cell = cell;
    rec->ncells = 0;
}

// The physical line of offset AT in the N bytes at P, which start on LINE.
static uint64_t
s_line_at(const uint8_t *p, size_t at, uint64_t line)
{
    for (size_t i = 0; i < at; i++) {
        line += p[i] == '\n' || (p[i] == '\r' && (i + 1 >= at || p[i + 1] != '\n'));
    }
    return line;
}

// The cell of the last scan holding raw offset AT.
static size_t
s_cell_at(const hubc_csv_t *self, size_t at)
{
    const size_t *raw = (const size_t *) self->raw_offs.data;
    size_t n = self->raw_offs.len / sizeof *raw, cell = 0;
    for (size_t i = 0; i < n && raw[i] <= at; i++) {
        cell = i;
    }
    return cell;
}

// Skips the rest of a line too long to be a record, up to its LF.
static int
s_skip(hubc_csv_t *self, hubc_csv_rec_t *rec, bool final)
{
    for (;;) {
        uint8_t *lf = memchr(self->buf + self->pos, '\n', self->len - self->pos);
        if (lf || (final && self->src_eof)) {
            self->pos = lf ? (size_t) (lf - self->buf) + 1 : self->len;
            rec->line = self->skip_line;
            rec->offset = self->skip_off;
            rec->end = self->buf_off + self->pos;
            rec->end_line = self->line = self->skip_line + 1;
            self->skipping = false;
            s_defect(rec, "bad_csv", SIZE_MAX,
                     "line %llu: a record longer than %zu bytes (a quote never closed?): the line "
                     "is skipped",
                     (unsigned long long) rec->line, self->opts.max_record);
            return HUB_OK;
        }
        self->pos = self->len;
        int rc = hubc_csv_fill(self);
        if (rc || (self->src_eof && !final)) {
            return rc ? rc : HUB_ENOTFOUND;
        }
    }
}

// A record that cannot be scanned (an unclosed quote, or too long):
// reported as its first physical line, and reading goes on after it.
static int
s_resync(hubc_csv_t *self, hubc_csv_rec_t *rec, hubc_csv_found_t what, bool final)
{
    uint8_t *lf = memchr(self->buf + self->pos, '\n', self->len - self->pos);
    if (!lf && what == HUBC_CSV_TOO_LONG) {
        self->skipping = true;
        self->skip_off = self->buf_off + self->pos;
        self->skip_line = self->line;
        return s_skip(self, rec, final);
    }
    rec->line = self->line;
    rec->offset = self->buf_off + self->pos;
    self->pos = lf ? (size_t) (lf - self->buf) + 1 : self->len;
    rec->end = self->buf_off + self->pos;
    rec->end_line = ++self->line;
    if (what == HUBC_CSV_TOO_LONG) {
        s_defect(rec, "bad_csv", SIZE_MAX,
                 "line %llu: a record longer than %zu bytes (a quote never closed?): the line is "
                 "skipped",
                 (unsigned long long) rec->line, self->opts.max_record);
    } else {
        s_defect(rec, "bad_csv", SIZE_MAX,
                 "line %llu: a quoted cell is never closed: the line is skipped",
                 (unsigned long long) rec->line);
    }
    return HUB_OK;
}

// Settles the BOM question at the start of the file: a UTF-8 BOM means
// UTF-8, a GB18030 one GB18030. HUB_ENOTFOUND while too few bytes came.
static int
s_start(hubc_csv_t *self, bool final)
{
    static const uint8_t utf8_bom[3] = {0xEF, 0xBB, 0xBF}, gb_bom[4] = {0x84, 0x31, 0x95, 0x33};
    while (!self->started) {
        size_t n = self->len - self->pos;
        bool u_prefix = memcmp(self->buf + self->pos, utf8_bom, n < 3 ? n : 3) == 0;
        bool g_prefix = memcmp(self->buf + self->pos, gb_bom, n < 4 ? n : 4) == 0;
        if (n >= 3 && u_prefix) {
            self->pos += 3;
            self->enc = HUBC_ENC_UTF8;
        } else if (n >= 4 && g_prefix && self->enc != HUBC_ENC_UTF8) {
            self->pos += 4;
            self->enc = HUBC_ENC_GB18030;
        } else if ((u_prefix || g_prefix) && !(self->src_eof && final)) {
            int rc = hubc_csv_fill(self);
            if (rc || (self->src_eof && !final)) {
                return rc ? rc : HUB_ENOTFOUND;
            }
            continue;
        }
        self->started = true;
        if (self->resume && self->have_header) {
            hubc_csv_resume(self, self->resume_off, self->resume_line, HUBC_ENC_AUTO);
        }
    }
    return HUB_OK;
}

// Points the record's cell arrays at the cells of the last scan.
static int
s_cells(hubc_csv_t *self, hubc_csv_rec_t *rec)
{
    const size_t *offs = (const size_t *) self->offs.data;
    size_t n = self->offs.len / sizeof *offs;
    if (n > self->cellcap) {
        size_t cap = n * 2;
        const char **v = realloc(self->cellv, cap * sizeof *v);
        self->cellv = v ? v : self->cellv;
        size_t *l = v ? realloc(self->lenv, cap * sizeof *l) : NULL;
        self->lenv = l ? l : self->lenv;
        if (!v || !l) {
            return HUB_ENOMEM;
        }
        self->cellcap = cap;
    }
    for (size_t i = 0; i < n; i++) {
        size_t next = i + 1 < n ? offs[i + 1] : self->cells.len;
        self->cellv[i] = (const char *) self->cells.data + offs[i];
        self->lenv[i] = next - offs[i] - 1;
    }
    rec->ncells = n;
    rec->cells = self->cellv;
    rec->lens = self->lenv;
    return HUB_OK;
}

// Checks the record's encoding and, for GB18030, converts it and takes its
// cells again from the UTF-8 text. RAW holds its N bytes.
static int
s_decode(hubc_csv_t *self, const uint8_t *raw, size_t n, bool high, hubc_csv_rec_t *rec)
{
    size_t bad = 0;
    const uint8_t *zero = memchr(raw, 0, n);
    bool gb = self->enc == HUBC_ENC_GB18030;
    bool valid =
        !zero &&
        (!high || (gb ? hubc_gb_valid(raw, n, &bad) : hub_utf8_valid((const char *) raw, n, &bad)));
    bad = zero ? (size_t) (zero - raw) : bad;
    int rc = HUB_OK;
    if (valid && high && gb) {
        if (!self->conv && !(self->conv = hubc_conv_new())) {
            return HUB_ENOMEM;
        }
        self->utf8.len = 0;
        rc = hubc_conv_run(self->conv, raw, n, &self->utf8, &bad);
        valid = rc != HUB_EDECODE;
        rc = rc == HUB_EDECODE ? HUB_OK : rc;
    }
    if (rc) {
        return rc;
    }
    if (!valid) {
        s_defect(rec, "bad_encoding", s_cell_at(self, bad),
                 "line %llu, byte %llu: %s0x%02X is not %s%s",
                 (unsigned long long) s_line_at(raw, bad, rec->line),
                 (unsigned long long) (rec->offset + bad), zero ? "a zero byte " : "", raw[bad],
                 zero ? "text"
                 : gb ? "valid GB18030"
                      : "valid UTF-8",
                 zero || gb ? "" : " (is the file GB18030? say encoding: gb18030)");
        return HUB_OK;
    }
    if (high && gb) {
        hubc_csv_scan_t again;
        hubc_csv_in_t in = {self->utf8.data, self->utf8.len, true, true, false};
        hubc_csv_scan(self, &in, &again, &rc);
    }
    return rc ? rc : s_cells(self, rec);
}

// Takes the scanned record out of the window into REC.
static int
s_take(hubc_csv_t *self, const hubc_csv_scan_t *sc, hubc_csv_rec_t *rec)
{
    const uint8_t *raw = self->buf + self->pos;
    rec->line = self->line;
    rec->offset = self->buf_off + self->pos;
    rec->end = rec->offset + sc->end;
    rec->end_line = self->line + sc->lines;
    self->pos += sc->end; // RAW stays valid: nothing is read until the next call
    self->line = rec->end_line;
    if (sc->err_at != SIZE_MAX) {
        s_defect(rec, "bad_csv", sc->err_cell,
                 "line %llu, byte %llu: text after the closing quote of cell %zu (a quote inside a "
                 "quoted cell is written \"\")",
                 (unsigned long long) s_line_at(raw, sc->err_at, rec->line),
                 (unsigned long long) (rec->offset + sc->err_at), sc->err_cell + 1);
        return HUB_OK;
    }
    return s_decode(self, raw, sc->end, sc->high, rec);
}

// Why the header may not have been found: the file is in another encoding.
static const char *
s_hint(const hubc_csv_t *self)
{
    if (!self->enc_trouble) {
        return "";
    }
    return self->enc == HUBC_ENC_UTF8 ? " (rows above had bytes that are not UTF-8: is the file "
                                        "GB18030? say encoding: gb18030)"
                                      : " (rows above had bytes that are not GB18030: is the "
                                        "encoding right?)";
}

static bool
s_blank(const hubc_csv_rec_t *rec)
{
    for (size_t i = 0; i < rec->ncells; i++) {
        const char *s = rec->cells[i];
        size_t len = rec->lens[i];
        hubc_trim(&s, &len);
        if (len) {
            return false;
        }
    }
    return true;
}

static bool
s_is_header(const hubc_csv_t *self, const hubc_csv_rec_t *rec)
{
    for (size_t i = 0; self->marker && i < rec->ncells; i++) {
        const char *s = rec->cells[i];
        size_t len = rec->lens[i];
        hubc_trim(&s, &len);
        if (len == strlen(self->marker) && memcmp(s, self->marker, len) == 0) {
            return true;
        }
    }
    return !self->marker;
}

// Keeps the header's names (trimmed; trailing empty ones dropped).
static int
s_set_header(hubc_csv_t *self, const hubc_csv_rec_t *rec)
{
    size_t n = rec->ncells;
    while (n > 1 && rec->lens[n - 1] == 0) {
        n--;
    }
    self->names = calloc(n, sizeof *self->names);
    if (!self->names) {
        return HUB_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        const char *s = rec->cells[i];
        size_t len = rec->lens[i];
        hubc_trim(&s, &len);
        self->names[i] = strndup(s, len);
        if (!self->names[i]) {
            return HUB_ENOMEM;
        }
        self->nnames++;
    }
    self->have_header = true;
    self->header_line = rec->line;
    if (self->resume) {
        hubc_csv_resume(self, self->resume_off, self->resume_line, HUBC_ENC_AUTO);
    }
    return HUB_OK;
}

// Decides what a scanned record is: a title row or the header (before the
// header), a blank row (skipped), a ragged row, or a record (*DONE).
static int
s_accept(hubc_csv_t *self, hubc_csv_rec_t *rec, bool *done)
{
    *done = false;
    bool blank = rec->reason == NULL && s_blank(rec);
    if (!self->have_header) {
        self->rows_seen++;
        self->enc_trouble |= rec->reason && strcmp(rec->reason, "bad_encoding") == 0;
        if (!rec->reason && !blank && s_is_header(self, rec)) {
            return s_set_header(self, rec);
        }
        if (self->rows_seen >= self->opts.header_rows) {
            self->failed = true;
            *done = true;
            s_defect(rec, "missing_column", SIZE_MAX,
                     "no header row: none of the first %zu rows has a cell '%s'%s",
                     self->opts.header_rows, self->marker ? self->marker : "", s_hint(self));
        }
        return HUB_OK;
    }
    if (blank) {
        return HUB_OK;
    }
    *done = true;
    if (rec->reason || self->opts.lines || rec->ncells == self->nnames) {
        return HUB_OK;
    }
    bool extra_blank = rec->ncells > self->nnames;
    for (size_t i = self->nnames; extra_blank && i < rec->ncells; i++) {
        extra_blank = rec->lens[i] == 0;
    }
    if (extra_blank) {
        rec->ncells = self->nnames;
        return HUB_OK;
    }
    s_defect(rec, "bad_csv", SIZE_MAX, "line %llu: %zu cells, but the header (line %llu) has %zu",
             (unsigned long long) rec->line, rec->ncells, (unsigned long long) self->header_line,
             self->nnames);
    return HUB_OK;
}

// Nothing more to read now. At the end of a file that never showed its
// header, says so once.
static int
s_at_end(hubc_csv_t *self, hubc_csv_rec_t *rec, bool final)
{
    if (self->have_header || !final || self->rows_seen == 0) {
        return HUB_ENOTFOUND;
    }
    self->failed = true;
    rec->line = 1;
    rec->offset = 0;
    rec->end = self->buf_off + self->pos;
    rec->end_line = self->line;
    s_defect(rec, "missing_column", SIZE_MAX,
             "no header row: none of the file's %llu rows has a cell '%s'%s",
             (unsigned long long) self->rows_seen, self->marker ? self->marker : "", s_hint(self));
    return HUB_OK;
}

// Decides what AUTO reads: the bytes from the record's first non-ASCII
// byte on, as many whole lines as fit in S_SNIFF bytes (whatever else
// comes later, and however it is read, the same bytes decide).
static int
s_decide(hubc_csv_t *self, const hubc_csv_scan_t *sc)
{
    size_t at = 0;
    while (at < sc->end && self->buf[self->pos + at] < 0x80) {
        at++;
    }
    while (self->len - self->pos - at < S_SNIFF && !self->src_eof) {
        int rc = hubc_csv_fill(self); // moves the window; offsets from pos hold
        if (rc) {
            return rc;
        }
    }
    const uint8_t *s = self->buf + self->pos + at;
    size_t have = self->len - self->pos - at, n = have < S_SNIFF ? have : S_SNIFF;
    size_t rec = sc->end - at, cut = n;
    while (cut > rec && s[cut - 1] != '\n') {
        cut--;
    }
    self->enc = hubc_enc_sniff(s, rec <= n ? cut : n, rec <= n);
    return HUB_OK;
}

int
hubc_csv_next(hubc_csv_t *self, hubc_csv_rec_t *rec, bool final)
{
    self->src_eof = false; // the file may have grown since: read to learn again
    for (;;) {
        memset(rec, 0, sizeof *rec);
        rec->bad_cell = SIZE_MAX;
        int rc = self->failed ? HUB_ENOTFOUND : s_start(self, final);
        if (rc || self->skipping) {
            return rc ? rc : s_skip(self, rec, final);
        }
        hubc_csv_scan_t sc;
        hubc_csv_found_t what;
        rc = hubc_csv_scan_next(self, final, self->enc == HUBC_ENC_GB18030, &sc, &what);
        if (rc || what == HUBC_CSV_WAIT) {
            return rc ? rc : s_at_end(self, rec, final);
        }
        if (what != HUBC_CSV_REC) {
            rc = s_resync(self, rec, what, final);
            self->rows_seen += !self->have_header;
            if (rc || self->have_header) {
                return rc;
            }
            continue;
        }
        if (sc.high && self->enc == HUBC_ENC_AUTO) {
            rc = s_decide(self, &sc);
            if (rc || self->enc == HUBC_ENC_GB18030) {
                if (rc) {
                    return rc;
                }
                continue; // scan it again, knowing the second bytes of characters
            }
        }
        bool done;
        rc = s_take(self, &sc, rec);
        rc = rc ? rc : s_accept(self, rec, &done);
        if (rc || done) {
            return rc;
        }
    }
}

const char *const *
hubc_csv_header(const hubc_csv_t *self, size_t *n, uint64_t *line)
{
    bool have = self->have_header && !self->opts.lines;
    if (n) {
        *n = have ? self->nnames : 0;
    }
    if (line) {
        *line = have ? self->header_line : 0;
    }
    return have ? (const char *const *) self->names : NULL;
}

hubc_enc_t
hubc_csv_encoding(const hubc_csv_t *self)
{
    return self->enc;
}

bool
hubc_csv_identity(const hubc_csv_t *self, uint64_t *dev, uint64_t *ino)
{
    *dev = self->dev;
    *ino = self->ino;
    return self->fd >= 0;
}
