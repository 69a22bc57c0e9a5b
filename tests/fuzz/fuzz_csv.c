// fuzz_csv: the CSV reader (hub_csv, hub_enc) over arbitrary bytes, in
// every encoding mode, as CSV and as JSON Lines.
//
// The first byte chooses the options: bits 0-1 the delimiter (, ; | tab),
// bit 2 a header marker ("id") or the first row, bit 3 a tiny read size
// (so that every boundary falls across reads), bits 4-7 the record length
// limit. The rest is the file. For each encoding mode, each input:
//   1. is read to its end; records must come in order, each starting where
//      the last ended, with lines that never go back; good records hold
//      only valid UTF-8 cells without NUL; defects carry a reason and a
//      sentence;
//   2. is read again in one-byte reads: the same records must come out;
//   3. is read as a file still being written (not final): no record may
//      end past what a final reading returned, and none may differ;
//   4. is resumed at a record boundary from pass 1: the records after it
//      must be the same.
#include "fuzz_util.h"
#include "hub_csv.h"
#include "hub_utf8.h"

#include <stddef.h>
#include <stdint.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define S_MAX_RECORDS 4096

// What a reading saw: each record's start, end and lines, and a running
// hash of its cells, to compare readings.
typedef struct {
    uint64_t offset[S_MAX_RECORDS], end[S_MAX_RECORDS], line[S_MAX_RECORDS];
    uint64_t end_line[S_MAX_RECORDS];
    uint64_t hash[S_MAX_RECORDS];
    hubc_enc_t enc[S_MAX_RECORDS]; // the encoding after the record
    size_t n;
} s_reading_t;

static uint64_t
s_fnv(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ b[i]) * 1099511628211ull;
    }
    return h;
}

static void
s_check_record(const hubc_csv_rec_t *rec, uint64_t prev_end, uint64_t prev_line, size_t size)
{
    if (rec->offset < prev_end || rec->end <= rec->offset || rec->end > size) {
        fu_fail("record %llu-%llu after %llu (file of %zu bytes)", (unsigned long long) rec->offset,
                (unsigned long long) rec->end, (unsigned long long) prev_end, size);
    }
    if (rec->line < prev_line || rec->end_line < rec->line) {
        fu_fail("lines go back: %llu after %llu", (unsigned long long) rec->line,
                (unsigned long long) prev_line);
    }
    if (rec->reason) {
        if (!rec->detail[0] || rec->ncells != 0 ||
            !hub_utf8_valid(rec->detail, strlen(rec->detail), NULL)) {
            fu_fail("a defect (%s) without a sentence, or with cells", rec->reason);
        }
        return;
    }
    for (size_t i = 0; i < rec->ncells; i++) {
        if (strlen(rec->cells[i]) != rec->lens[i] ||
            !hub_utf8_valid(rec->cells[i], rec->lens[i], NULL)) {
            fu_fail("cell %zu of line %llu is not valid UTF-8 of its length", i,
                    (unsigned long long) rec->line);
        }
    }
}

// Reads everything R gives (FINAL or not) into OUT.
static void
s_read(hubc_csv_t *r, bool final, size_t size, s_reading_t *out)
{
    hubc_csv_rec_t rec;
    uint64_t prev_end = 0, prev_line = 1;
    int rc;
    out->n = 0;
    while ((rc = hubc_csv_next(r, &rec, final)) == HUB_OK) {
        s_check_record(&rec, prev_end, prev_line, size);
        if (out->n == S_MAX_RECORDS) {
            fu_fail("more records than bytes");
        }
        uint64_t h = s_fnv(14695981039346656037ull, rec.reason ? rec.reason : "", 1);
        for (size_t i = 0; i < rec.ncells; i++) {
            h = s_fnv(h, rec.cells[i], rec.lens[i] + 1);
        }
        out->offset[out->n] = rec.offset;
        out->end[out->n] = rec.end;
        out->line[out->n] = rec.line;
        out->enc[out->n] = hubc_csv_encoding(r);
        out->end_line[out->n] = rec.end_line;
        out->hash[out->n++] = h;
        prev_end = rec.end;
        prev_line = rec.end_line;
    }
    if (rc != HUB_ENOTFOUND) {
        fu_fail("hubc_csv_next returned %s", hub_error_name(rc));
    }
}

static void
s_same(const s_reading_t *a, size_t from_a, const s_reading_t *b, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        if (a->offset[from_a + i] != b->offset[i] || a->end[from_a + i] != b->end[i] ||
            a->line[from_a + i] != b->line[i] || a->hash[from_a + i] != b->hash[i]) {
            fu_fail("%s: record %zu differs (at %llu vs %llu)", what, i,
                    (unsigned long long) a->offset[from_a + i], (unsigned long long) b->offset[i]);
        }
    }
}

static hubc_csv_t *
s_open(const uint8_t *data, size_t size, const hubc_csv_opts_t *o)
{
    hubc_csv_t *r = NULL;
    if (hubc_csv_open_mem(&r, "fuzz.csv", data, size, o) != HUB_OK) {
        fu_fail("hubc_csv_open_mem failed");
    }
    return r;
}

static void
s_one_mode(const uint8_t *data, size_t size, const hubc_csv_opts_t *o, unsigned pick)
{
    static s_reading_t first, again;
    hubc_csv_t *r = s_open(data, size, o);
    s_read(r, true, size, &first);
    hubc_csv_destroy(&r);

    hubc_csv_opts_t tiny = *o;
    tiny.chunk = 1;
    r = s_open(data, size, &tiny);
    s_read(r, true, size, &again);
    hubc_csv_destroy(&r);
    if (again.n != first.n) {
        fu_fail("one-byte reads give %zu records, whole reads %zu", again.n, first.n);
    }
    s_same(&first, 0, &again, first.n, "one-byte reads");

    r = s_open(data, size, o);
    s_read(r, false, size, &again);
    hubc_csv_destroy(&r);
    if (again.n > first.n) {
        fu_fail("a growing file gives more records (%zu) than the whole (%zu)", again.n, first.n);
    }
    s_same(&first, 0, &again, again.n, "not final");

    if (first.n > 1) {
        size_t k = pick % (first.n - 1);
        r = s_open(data, size, o);
        hubc_csv_resume(r, first.end[k], first.end_line[k], first.enc[k]);
        s_read(r, true, size, &again);
        hubc_csv_destroy(&r);
        if (again.n != first.n - k - 1) {
            fu_fail("resumed after record %zu: %zu records, want %zu", k, again.n, first.n - k - 1);
        }
        s_same(&first, k + 1, &again, again.n, "resumed");
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    static const char delims[] = {',', ';', '|', '\t'};
    uint8_t opt = data[0];
    hubc_csv_opts_t o = {.delimiter = delims[opt & 3],
                         .header = (opt & 4) ? "id" : NULL,
                         .chunk = (opt & 8) ? 3 : 0,
                         .max_record = 16u + (opt >> 4) * 64u,
                         .header_rows = 50};
    for (int lines = 0; lines < 2; lines++) {
        for (int enc = HUBC_ENC_AUTO; enc <= HUBC_ENC_GBK; enc++) {
            o.encoding = (hubc_enc_t) enc;
            o.lines = lines;
            s_one_mode(data + 1, size - 1, &o, size);
        }
    }
    return 0;
}
