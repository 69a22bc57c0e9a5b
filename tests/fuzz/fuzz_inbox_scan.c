// fuzz_inbox_scan: hub-sink's reader of its own inbox files
// (hubc_inbox_scan_*, hub_inbox.h), which recovery trusts to say where the
// good records of a part file end after a crash, on arbitrary bytes.
//
// Input: one byte of options (bit 0: a CSV file; bits 1-7: the first
// sequence the file should carry, 0-127), then the file's bytes. Each input:
//   1. is scanned whole, and again fed in pieces whose sizes the bytes
//      themselves choose: the results are the same;
//   2. the results agree with each other: LAST is FIRST - 1 + RECORDS, the
//      good length lies within the file and ends at a line feed (or is 0),
//      a CSV header is within it, and a file the scanner stopped in has its
//      bad line at or after the good records;
//   3. the good prefix, scanned alone, gives the same records and no bad
//      line; every record in it begins with its sequence (checked apart:
//      {"seq":N, or {"seq":N} for JSON lines, N, or N\r for CSV; N in
//      decimal as the sink writes it, no leading zero).
#include "fuzz_util.h"
#include "hub_inbox.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
s_same(const hubc_inbox_scan_t *a, const hubc_inbox_scan_t *b, const char *what)
{
    if (a->records != b->records || a->last != b->last || a->good_len != b->good_len ||
        a->header_len != b->header_len || a->bad_line != b->bad_line) {
        fu_fail("%s: records %" PRIu64 "/%" PRIu64 " good %" PRIu64 "/%" PRIu64 " bad line %" PRIu64
                "/%" PRIu64,
                what, a->records, b->records, a->good_len, b->good_len, a->bad_line, b->bad_line);
    }
}

// Whether the record at P (up to END) begins with sequence SEQ.
static bool
s_begins_with(const uint8_t *p, const uint8_t *end, bool csv, uint64_t seq)
{
    char want[40];
    int n = snprintf(want, sizeof want, csv ? "%" PRIu64 : "{\"seq\":%" PRIu64, seq);
    if ((size_t) (end - p) < (size_t) n + 1 || memcmp(p, want, (size_t) n) != 0) {
        return false;
    }
    uint8_t after = p[n];
    return after == ',' || (csv ? after == '\r' : after == '}');
}

// Every record of the good prefix, one after the other from FIRST: a
// record ends at a line feed (CSV: outside double quotes).
static void
s_check_records(const uint8_t *file, const hubc_inbox_scan_t *s, bool csv, uint64_t first)
{
    const uint8_t *p = file + s->header_len, *end = file + s->good_len;
    uint64_t seq = first, count = 0;
    while (p < end) {
        if (!s_begins_with(p, end, csv, seq)) {
            fu_fail("record %" PRIu64 " of the good prefix does not begin with its sequence",
                    count + 1);
        }
        bool quoted = false;
        while (p < end && (*p != '\n' || quoted)) {
            quoted ^= csv && *p == '"';
            p++;
        }
        if (p == end) {
            fu_fail("the good prefix ends inside a record");
        }
        p++;
        seq++;
        count++;
    }
    if (count != s->records) {
        fu_fail("the good prefix holds %" PRIu64 " records, the scan says %" PRIu64, count,
                s->records);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    bool csv = data[0] & 1;
    uint64_t first = data[0] >> 1;
    size_t len = size - 1;
    uint8_t *file = fu_need(malloc(len ? len : 1)); // exact size: ASan sees overreads
    memcpy(file, data + 1, len);

    hubc_inbox_scan_t whole, pieces, again;
    hubc_inbox_scan_init(&whole, csv, first);
    hubc_inbox_scan_feed(&whole, file, len);
    hubc_inbox_scan_init(&pieces, csv, first);
    for (size_t at = 0, i = 0; at < len; i++) {
        size_t n = 1 + file[(i * 7) % len] % 13;
        n = n < len - at ? n : len - at;
        hubc_inbox_scan_feed(&pieces, file + at, n);
        at += n;
    }
    s_same(&whole, &pieces, "whole against pieces");

    if (whole.last != first - 1 + whole.records) {
        fu_fail("last %" PRIu64 " is not first - 1 + records", whole.last);
    }
    if (whole.good_len > len || (whole.good_len && file[whole.good_len - 1] != '\n')) {
        fu_fail("good length %" PRIu64 " of %zu does not end a line", whole.good_len, len);
    }
    if (whole.header_len > whole.good_len || (!csv && whole.header_len)) {
        fu_fail("header length %" PRIu64 " beyond the good length or in JSON lines",
                whole.header_len);
    }
    if (whole.bad_line && !whole.stopped) {
        fu_fail("a bad line, and the scanner did not stop");
    }
    if (first == 0 && whole.records) {
        fu_fail("records counted from sequence 0");
    }

    hubc_inbox_scan_init(&again, csv, first);
    hubc_inbox_scan_feed(&again, file, (size_t) whole.good_len);
    if (again.records != whole.records || again.good_len != whole.good_len || again.bad_line) {
        fu_fail("the good prefix alone scans differently");
    }
    s_check_records(file, &whole, csv, first);
    free(file);
    return 0;
}
