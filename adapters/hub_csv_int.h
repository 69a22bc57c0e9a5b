// Private to hub_csv*.c: the reader's insides, shared between the record
// logic (hub_csv.c: BOM, encodings, header, defects) and the window and
// scanner (hub_csv_scan.c: reading, finding where a record ends, taking its
// cells).
#ifndef HUB_CSV_INT_H
#define HUB_CSV_INT_H

#include "hub_buf.h"
#include "hub_csv.h"

// Byte classes for the scanner.
enum {
    HUBC_CSV_PLAIN = 0,
    HUBC_CSV_DELIM,
    HUBC_CSV_CR,
    HUBC_CSV_LF,
    HUBC_CSV_LEAD,
    HUBC_CSV_QUOTE
};

// What scanning one record found.
typedef enum { HUBC_CSV_DONE, HUBC_CSV_MORE, HUBC_CSV_UNCLOSED } hubc_csv_scan_rc_t;

typedef struct {
    size_t end;      // bytes of the record, its line end included
    uint64_t lines;  // line ends in it (and at its end)
    bool high;       // a byte >= 0x80
    size_t err_at;   // offset of the first structural defect, or SIZE_MAX
    size_t err_cell; // the cell it is in
    size_t ncells;
} hubc_csv_scan_t;

struct hubc_csv {
    hubc_csv_opts_t opts;
    char *name;
    char *marker;       // the header marker (copied)
    int fd;             // -1 for memory
    const uint8_t *mem; // memory source
    size_t mem_len, mem_pos;
    bool src_eof; // the last read found nothing more
    uint64_t dev, ino;
    uint8_t tab[2][2][256]; // byte classes: [GB18030?][quoted?]
    uint8_t *buf;           // the read window: file bytes [buf_off, buf_off + len)
    size_t cap, len, pos;   // pos: the next record's start in buf
    uint64_t buf_off;
    uint64_t line;  // the line at buf[pos]
    bool started;   // the BOM question is settled
    hubc_enc_t enc; // AUTO until decided
    hubc_conv_t *conv;
    bool have_header, failed;
    char **names;
    size_t nnames;
    uint64_t header_line, rows_seen;
    bool enc_trouble; // a row before the header had an encoding defect
    bool resume;
    uint64_t resume_off, resume_line;
    bool skipping; // discarding an over-long line up to its end
    uint64_t skip_off, skip_line;
    hub_buf_t cells;    // cell bytes, each followed by a NUL
    hub_buf_t offs;     // size_t: each cell's start in CELLS
    hub_buf_t raw_offs; // size_t: each cell's start in the raw record
    hub_buf_t utf8;     // a GB18030 record converted
    const char **cellv;
    size_t *lenv;
    size_t cellcap;
};

typedef struct {
    const uint8_t *p;
    size_t n;
    bool eof;  // no byte follows the N bytes at P
    bool want; // extract the cells
    bool gb;   // GB18030: skip over the second bytes of characters
} hubc_csv_in_t;

// What looking for the next record found.
typedef enum {
    HUBC_CSV_REC,            // a record was scanned
    HUBC_CSV_WAIT,           // no complete record now
    HUBC_CSV_UNCLOSED_QUOTE, // the data ended inside a quoted cell
    HUBC_CSV_TOO_LONG,       // longer than opts.max_record
} hubc_csv_found_t;

// Reads more bytes after what the window holds, compacting or growing it
// first. HUB_OK (perhaps nothing new: then src_eof is set), HUB_EIO,
// HUB_ENOMEM.
int
hubc_csv_fill(hubc_csv_t *self);

// Jumps to file offset OFF (line LINE), dropping the window.
void
hubc_csv_seek(hubc_csv_t *self, uint64_t off, uint64_t line);

// Scans the record at IN->p: where it ends and, when IN->want, its cells
// (into self->cells / offs / raw_offs). *RC gets HUB_ENOMEM if appending
// failed.
hubc_csv_scan_rc_t
hubc_csv_scan(hubc_csv_t *self, const hubc_csv_in_t *in, hubc_csv_scan_t *out, int *rc);

// Scans the record at the window's POS, reading more as needed; *WHAT says
// what was found (HUBC_CSV_WAIT: no complete record now).
int
hubc_csv_scan_next(hubc_csv_t *self, bool final, bool gb, hubc_csv_scan_t *sc,
                   hubc_csv_found_t *what);

#endif
