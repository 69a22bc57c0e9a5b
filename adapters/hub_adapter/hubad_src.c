// A file's records as mapping sources: CSV cells found by header name, or
// JSON Lines members found by path.
#include "hubad.h"

#include "hub_error.h"
#include "hub_jsonl.h"

#include <stdlib.h>
#include <string.h>

struct hubad_src {
    const hubc_map_t *map;
    bool jsonl;
    hubc_csv_t *csv;
    hubc_jsonl_t *json;
    size_t *bind; // CSV: map column -> cell index (SIZE_MAX: absent)
    bool bound;
    hubc_csv_rec_t rec; // the current record
    hubc_map_src_t src;
};

static bool
s_csv_cell(void *ctx, size_t col, const char **s, size_t *len)
{
    hubad_src_t *self = ctx;
    size_t i = self->bind[col];
    if (i == SIZE_MAX) {
        return false;
    }
    *s = i < self->rec.ncells ? self->rec.cells[i] : "";
    *len = i < self->rec.ncells ? self->rec.lens[i] : 0;
    return true;
}

static bool
s_json_cell(void *ctx, size_t col, const char **s, size_t *len)
{
    hubad_src_t *self = ctx;
    if (!hubc_jsonl_get(self->json, hubc_map_column(self->map, col), s, len)) {
        *s = "";
        *len = 0;
    }
    return true; // an absent member is an empty cell
}

int
hubad_src_open(hubad_src_t **out, const char *path, const hubc_map_t *map, hub_diag_t *diag)
{
    *out = NULL;
    const hubc_map_input_t *in = hubc_map_input(map);
    hubad_src_t *self = calloc(1, sizeof *self);
    if (!self) {
        return HUB_ENOMEM;
    }
    self->map = map;
    self->jsonl = in->format == HUBC_MAP_JSONL;
    hubc_csv_opts_t opts = {.encoding = in->encoding,
                            .delimiter = in->delimiter,
                            .header = in->header,
                            .lines = self->jsonl};
    size_t ncols = hubc_map_ncolumns(map);
    self->bind = calloc(ncols ? ncols : 1, sizeof *self->bind);
    self->json = self->jsonl ? hubc_jsonl_new() : NULL;
    int rc = !self->bind || (self->jsonl && !self->json)
                 ? HUB_ENOMEM
                 : hubc_csv_open(&self->csv, path, &opts, diag);
    if (rc) {
        hubad_src_destroy(&self);
        return rc;
    }
    self->src.cell = self->jsonl ? s_json_cell : s_csv_cell;
    self->src.ctx = self;
    *out = self;
    return HUB_OK;
}

void
hubad_src_destroy(hubad_src_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    hubc_csv_destroy(&(*self_p)->csv);
    hubc_jsonl_destroy(&(*self_p)->json);
    free((*self_p)->bind);
    free(*self_p);
    *self_p = NULL;
}

void
hubad_src_resume(hubad_src_t *self, uint64_t offset, uint64_t line, hubc_enc_t enc)
{
    hubc_csv_resume(self->csv, offset, line, enc);
}

hubc_enc_t
hubad_src_encoding(const hubad_src_t *self)
{
    return hubc_csv_encoding(self->csv);
}

bool
hubad_src_identity(const hubad_src_t *self, uint64_t *dev, uint64_t *ino)
{
    return hubc_csv_identity(self->csv, dev, ino);
}

// Finds each column the mapping reads in the header (the first cell of
// that name).
static void
s_bind(hubad_src_t *self)
{
    size_t n = 0;
    const char *const *names = hubc_csv_header(self->csv, &n, NULL);
    for (size_t c = 0; c < hubc_map_ncolumns(self->map); c++) {
        const char *want = hubc_map_column(self->map, c);
        self->bind[c] = SIZE_MAX;
        for (size_t i = 0; i < n && self->bind[c] == SIZE_MAX; i++) {
            self->bind[c] = strcmp(names[i], want) == 0 ? i : SIZE_MAX;
        }
    }
    self->bound = true;
}

int
hubad_src_next(hubad_src_t *self, bool final, hubc_csv_rec_t *rec, const char **column)
{
    int rc = hubc_csv_next(self->csv, &self->rec, final);
    *column = "";
    if (rc) {
        return rc;
    }
    if (!self->jsonl && !self->bound && !self->rec.reason) {
        s_bind(self);
    }
    if (self->rec.reason && self->rec.bad_cell != SIZE_MAX && !self->jsonl) {
        size_t n = 0;
        const char *const *names = hubc_csv_header(self->csv, &n, NULL);
        *column = self->rec.bad_cell < n ? names[self->rec.bad_cell] : "";
    }
    if (self->jsonl && !self->rec.reason) {
        char detail[sizeof self->rec.detail - 32];
        rc = hubc_jsonl_parse(self->json, self->rec.cells[0], self->rec.lens[0], detail,
                              sizeof detail);
        if (rc == HUB_EDECODE) {
            snprintf(self->rec.detail, sizeof self->rec.detail, "line %llu, %s",
                     (unsigned long long) self->rec.line, detail);
            self->rec.reason = "bad_json";
            rc = HUB_OK;
        }
    }
    *rec = self->rec;
    return rc;
}

const hubc_map_src_t *
hubad_src_map(hubad_src_t *self)
{
    return &self->src;
}
