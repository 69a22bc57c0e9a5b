// hub_inbox: a receiving system's inbox directory, written durably and
// exactly once (docs/ADAPTERS.md, "hub-sink"). The deliveries of one
// endpoint are appended as records — JSON lines, or CSV rows under a
// header row — to the endpoint's one open part file
//
//     ENDPOINT-YYYYMMDDTHHMMSS-FIRST.EXT.part    (UTC time of its first record)
//
// and made durable (write, fdatasync) before the caller acknowledges them
// to the hub. A finished part file is renamed to the same name without
// ".part" (rotation by size or age), so software that takes only names
// ending in ".jsonl" / ".csv" never sees a file being written.
//
// The inbox is the sink's only memory. Every record begins with its
// endpoint sequence; the records of a file are consecutive from the FIRST
// of its name; and there is always exactly one part file (rotation makes
// the next one, empty, before it renames the finished one). So after a
// crash (kill -9 at any instruction) opening the inbox finds the last
// delivery made durable: the last complete record of the part file, or
// FIRST - 1 when it holds none. A torn last record is cut; a record that
// is not the next one (damage after a power loss) ends the good part, and
// the bytes from it on are kept aside in PART.OFFSET.damaged.
//
// Beside it the inbox keeps the id of the hub's store whose sequences it
// holds (.ENDPOINT.store_id; docs/PROTOCOL.md, "Consuming"). When the hub's
// store was restored from a backup, its sequences after its cursor are
// issued again: hubc_inbox_restart() then goes on from the cursor in new
// files, keeping every file written before (a new file never takes an old
// one's name; FIRST repeats, the time in the name tells them apart).
//
// One inbox object per endpoint and directory (a lock file,
// .ENDPOINT.lock, keeps a second writer out); one thread.
#ifndef HUB_INBOX_H
#define HUB_INBOX_H

#include "hub_diag.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef struct hubc_inbox hubc_inbox_t;

// How records are written and when a file is finished.
typedef struct {
    bool csv;                // CSV rows (".csv"), else JSON lines (".jsonl")
    const void *header;      // CSV: written first in every file (BOM and header row)
    size_t header_len;       // its bytes (0 for JSON lines)
    uint64_t rotate_bytes;   // finish a file before it would grow past this (0: never)
    uint64_t rotate_seconds; // finish a file this long after its first record (0: never)
} hubc_inbox_opts_t;

// Opens the inbox of ENDPOINT in directory DIR (created when missing; its
// parent must exist) and recovers it: every part file but the newest is
// finished, the newest has a torn tail cut (DIAG gets a note), and a part
// file is created when there is none, continuing after the newest finished
// file of ENDPOINT by FIRST (or at 1). The remembered store id is read. A CSV part file whose
// header differs from OPTS->header is finished (or, holding no record, rewritten). OPTS is copied.
// Errors: HUB_EIO (DIAG says which file and why; also when another process holds the inbox, or
// .ENDPOINT.store_id is damaged), HUB_EINVAL (an ENDPOINT that cannot be part of a file name),
// HUB_ENOMEM.
int
hubc_inbox_open(hubc_inbox_t **out, const char *dir, const char *endpoint,
                const hubc_inbox_opts_t *opts, hub_diag_t *diag);

// Makes what was added durable (hubc_inbox_commit), closes the inbox
// WITHOUT finishing the part file, and sets *self_p to NULL. Safe on NULL.
void
hubc_inbox_destroy(hubc_inbox_t **self_p);

// The last sequence added (pending or durable) and the last made durable:
// a delivery at or below hubc_inbox_last() is a redelivery.
uint64_t
hubc_inbox_last(const hubc_inbox_t *self);
uint64_t
hubc_inbox_durable(const hubc_inbox_t *self);

// Adds the record for delivery SEQ: the LEN bytes at REC, which must begin
// with the sequence as hubc_inbox_scan_feed() reads it and end with a line
// break (CSV: outside quotes). Nothing is durable before
// hubc_inbox_commit(). The part file is finished first when REC would take
// it past rotate_bytes, or when SEQ does not follow the last one (a gap:
// the hub's cursor was ahead of the inbox), so that every file stays
// consecutive. Errors: HUB_EINVAL (SEQ not above hubc_inbox_last()),
// HUB_EIO (with DIAG: writing or renaming failed; the inbox is then
// unusable and keeps only what was durable), HUB_ENOMEM.
int
hubc_inbox_add(hubc_inbox_t *self, uint64_t seq, const void *rec, size_t len, hub_diag_t *diag);

// Writes the added records and fdatasyncs the part file: afterwards the
// hub may be acknowledged up to hubc_inbox_durable(). Errors: HUB_EIO
// (with DIAG; the part file is cut back to what was durable before, and
// the inbox is then unusable).
int
hubc_inbox_commit(hubc_inbox_t *self, hub_diag_t *diag);

// True when the part file holds a record and is rotate_seconds old at NOW.
bool
hubc_inbox_rotate_due(const hubc_inbox_t *self, time_t now);

// Commits, then finishes the part file if it holds any record: creates the
// next, empty part file, renames the finished one and fsyncs the
// directory. Errors: as hubc_inbox_commit().
int
hubc_inbox_rotate(hubc_inbox_t *self, hub_diag_t *diag);

// Files finished and records made durable since the inbox was opened.
uint64_t
hubc_inbox_files(const hubc_inbox_t *self);
uint64_t
hubc_inbox_written(const hubc_inbox_t *self);

// The name of the current part file (inside the directory). Borrowed
// until the next call that changes SELF.
const char *
hubc_inbox_part(const hubc_inbox_t *self);

// ---- the hub's store id

// The store id remembered with the inbox (32 lower-case hex digits), ""
// when none is. Borrowed until the next call that changes SELF.
const char *
hubc_inbox_store_id(const hubc_inbox_t *self);

// Remembers STORE_ID (32 lower-case hex digits) durably: written to a new
// file, fsynced, renamed over .ENDPOINT.store_id, the directory fsynced.
// Errors: HUB_EINVAL (not a store id), HUB_EIO (with DIAG).
int
hubc_inbox_set_store_id(hubc_inbox_t *self, const char *store_id, hub_diag_t *diag);

// A new generation, for a hub whose store was restored: commits and
// finishes the part file (nothing written is lost or rewritten), and goes
// on as if AFTER were the last delivery: hubc_inbox_last() is AFTER, and
// the next record, AFTER + 1 or later, begins a new file. Call it before
// remembering the new store id, so that a crash between the two only
// makes the next start do it again. Errors: as hubc_inbox_rotate().
int
hubc_inbox_restart(hubc_inbox_t *self, uint64_t after, hub_diag_t *diag);

// ---- reading an inbox file, for recovery (and tests)

// A scan of one file's bytes, fed in pieces of any size. The result
// fields are valid after every feed.
typedef struct {
    uint64_t records;    // complete records, consecutive from FIRST
    uint64_t last;       // the seq of the last of them (FIRST - 1 when none)
    uint64_t good_len;   // bytes up to the end of the last of them (with the header)
    uint64_t header_len; // CSV: bytes of the header record (0 until it is complete)
    uint64_t bad_line;   // 1-based line where the first record that is not the next
                         // one starts (0: none); nothing after it counts
    // the scanner's state
    bool csv, quoted, stopped;
    uint64_t at, line, rec_line;
    uint8_t head[32];
    size_t head_len;
} hubc_inbox_scan_t;

// Starts a scan of a file whose first record should carry FIRST (a CSV
// file begins with its header record). A JSON-lines record begins with
// {"seq":N, (or is {"seq":N}) and ends at a line feed; a CSV record begins
// with N, (or is N alone) and ends at a line feed outside double quotes.
void
hubc_inbox_scan_init(hubc_inbox_scan_t *self, bool csv, uint64_t first);

// Feeds the next LEN bytes of the file.
void
hubc_inbox_scan_feed(hubc_inbox_scan_t *self, const void *data, size_t len);

// Scans the open file FD from its start (pread: its offset stays) as a
// file whose first record should carry FIRST; *SIZE gets its bytes.
// Errors: HUB_EIO (a read failed).
int
hubc_inbox_scan_fd(int fd, bool csv, uint64_t first, hubc_inbox_scan_t *scan, uint64_t *size);

// Parses the name of an inbox file of ENDPOINT: "ENDPOINT-TS-FIRST.EXT"
// with ".part" or not. False when NAME is not one. TS gets the 15
// characters of the time (NUL-terminated), *CSV the format, *PART whether
// it is being written.
bool
hubc_inbox_parse_name(const char *name, const char *endpoint, char ts[16], uint64_t *first,
                      bool *csv, bool *part);

#endif
