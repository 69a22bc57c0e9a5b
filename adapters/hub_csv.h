// hub_csv: a streaming reader of CSV files as department systems really
// export them (DOMAIN.md, "What department exports look like"): UTF-8 or
// GBK/GB18030, with or without a BOM, CRLF or LF line ends, quoted cells
// holding delimiters, doubled quotes and line breaks, title rows above the
// header, Chinese header names. Every cell comes out as UTF-8.
//
// A record knows the physical line where it starts and the byte offsets of
// its start and of what follows it, so an adapter can save a cursor and
// later resume exactly at a record boundary (hubc_csv_resume). Memory stays
// bounded whatever the file's size: one read window plus the longest
// record (at most opts.max_record bytes).
//
// A defect in one record never stops the file: the record comes out with
// a reason ("bad_csv", "bad_encoding") and a sentence naming the line and
// byte, and reading goes on with the next record.
//
// The same reader in "lines" mode reads JSON Lines: each non-empty line is
// a record of one cell, no quoting, no header (hub_jsonl).
//
// One reader per file, one thread at a time.
#ifndef HUB_CSV_H
#define HUB_CSV_H

#include "hub_diag.h"
#include "hub_enc.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hubc_csv hubc_csv_t;

typedef struct {
    hubc_enc_t encoding; // HUBC_ENC_AUTO: BOM -> UTF-8, valid UTF-8 -> UTF-8, else GB18030
    char delimiter;      // 0: ','
    const char *header;  // the header row is the first row with a cell equal to this
                         // (after trimming); NULL: the first non-empty row
    bool lines;          // JSON Lines mode: a record is a line (no quotes, no header)
    size_t max_record;   // bytes; a longer record is reported and skipped; 0: 1 MiB
    size_t header_rows;  // rows searched for the header; 0: 1,000
    size_t chunk;        // bytes per read; 0: 256 KiB (tests use tiny ones)
} hubc_csv_opts_t;

// One record. Everything is borrowed until the next call on the reader.
typedef struct {
    uint64_t line;            // physical line (1-based) where the record starts
    uint64_t offset;          // byte offset of its first byte in the file
    uint64_t end;             // byte offset just after it (after its line end)
    uint64_t end_line;        // the line where the next record starts
    size_t ncells;            // 0 for a defective record
    const char *const *cells; // UTF-8, each NUL-terminated
    const size_t *lens;       // their lengths in bytes
    const char *reason;       // NULL, or "bad_csv", "bad_encoding", "missing_column" (no header)
    size_t bad_cell;          // for a defect inside one cell: its index; else SIZE_MAX
    char detail[256];         // the defect, in a sentence naming line and byte
} hubc_csv_rec_t;

// Opens the file at PATH. Errors: HUB_EIO (DIAG says why), HUB_ENOMEM,
// HUB_EINVAL (a delimiter that is a quote, CR or LF).
int
hubc_csv_open(hubc_csv_t **out, const char *path, const hubc_csv_opts_t *opts, hub_diag_t *diag);

// The same over the LEN bytes at DATA, which must outlive the reader (for
// tests and fuzzing). NAME stands for the file in messages.
int
hubc_csv_open_mem(hubc_csv_t **out, const char *name, const void *data, size_t len,
                  const hubc_csv_opts_t *opts);

// Closes the file and sets *self_p to NULL. Safe on NULL.
void
hubc_csv_destroy(hubc_csv_t **self_p);

// The next record into REC. With FINAL the end of the file is the end of
// the data: a last line without a line end is a record, an unclosed quote
// a defect. Without it (a file still being written) the end of the file
// is where more may come: a record whose line end has not arrived yet is
// not returned, and a later call picks it up once it has.
// Returns HUB_OK (a record, perhaps a defective one: REC->reason),
// HUB_ENOTFOUND (no complete record now: at the end, or waiting), HUB_EIO
// (reading failed), HUB_ENOMEM.
int
hubc_csv_next(hubc_csv_t *self, hubc_csv_rec_t *rec, bool final);

// Continues at OFFSET, the start of the record on line LINE (a cursor
// saved from rec.end / rec.end_line), reading in encoding ENC: what
// hubc_csv_encoding() said when the cursor was saved (AUTO if it had not
// decided yet), so that the rest of the file is read as before. The header
// is still read from the top of the file first; an OFFSET not past the
// header is ignored.
void
hubc_csv_resume(hubc_csv_t *self, uint64_t offset, uint64_t line, hubc_enc_t enc);

// The header's names (trimmed), once the header row has been read, and
// its line; NULL / 0 before.
const char *const *
hubc_csv_header(const hubc_csv_t *self, size_t *n, uint64_t *line);

// The encoding being read: as configured, or as detected (AUTO until the
// first record with a byte that is not ASCII; then the bytes from that one
// on, whole lines of them up to 64 KiB, decide: valid UTF-8 or GB18030).
hubc_enc_t
hubc_csv_encoding(const hubc_csv_t *self);

// The file's identity (device, inode) as opened; false for memory.
bool
hubc_csv_identity(const hubc_csv_t *self, uint64_t *dev, uint64_t *ino);

#endif
