// hub_xform: the value transforms of mapping files (docs/ADAPTERS.md, "as"):
// trimming, full-width to half-width, dates in the forms department
// exports use (2020.1.5, 2020/1/5, 20200105, 2020年1月5日, Excel serial
// numbers), year-months, date-times, yuan with decimals to integer fen,
// integers and yes/no. Pure functions, no allocation, any thread.
//
// The converters take text that is already trimmed and half-width. On
// failure they return the reason word of the rejected-records report
// ("bad_date", "bad_money", "bad_number", "bad_value") and write a sentence
// into DETAIL (may be NULL); on success they return NULL. They never guess:
// a value that could mean two things is refused.
#ifndef HUB_XFORM_H
#define HUB_XFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// Size for DETAIL buffers.
#define HUBC_XF_DETAIL_MAX 160

// Narrows *S / *LEN to the text without white space at either end: ASCII
// space, tab, CR, LF, U+3000 (ideographic space), U+00A0 and U+FEFF (a BOM).
void
hubc_trim(const char **s, size_t *len);

// Rewrites S (LEN bytes of UTF-8) in place: full-width ASCII U+FF01..U+FF5E
// becomes U+0021..U+007E and U+3000 a space. Returns the new length (never
// longer); a NUL is written after it when it got shorter.
size_t
hubc_halfwidth(char *s, size_t len);

// A date into OUT as "YYYY-MM-DD": 2020-01-05, 2020-1-5, 2020/1/5,
// 2020.1.5, 2020年1月5日, 20200105 (each may carry a time after a space or
// 'T', which is dropped), or an Excel serial number 1..2958465 (a fraction
// is the time of day). The year must be 1880..2199 (hub_date_check).
const char *
hubc_xf_date(const char *s, size_t len, char out[11], char *detail, size_t detail_size);

// A month into OUT as "YYYY-MM" (the hub's yearmonth): 202001, 2020-01,
// 2020-1, 2020.1, 2020/1, 2020年1月.
const char *
hubc_xf_yearmonth(const char *s, size_t len, char out[8], char *detail, size_t detail_size);

// A date-time into OUT as RFC 3339 "YYYY-MM-DDTHH:MM:SS+08:00": any date
// form of hubc_xf_date followed by a time "H:MM", "H:MM:SS" or with
// fractions (dropped), and an optional offset (Z, +08:00, +0800); without
// one the time is China time (+08:00). A date alone is midnight.
const char *
hubc_xf_datetime(const char *s, size_t len, char out[32], char *detail, size_t detail_size);

// An amount in yuan into integer fen: "12345.6", "12,345.60", "¥12345.6",
// "12345.6元", "-3.5". Thousands separators must group by three. More than
// two decimals (other than trailing zeros), anything else or an overflow:
// "bad_money".
const char *
hubc_xf_yuan(const char *s, size_t len, int64_t *fen, char *detail, size_t detail_size);

// An integer: optional sign, digits, optional thousands separators.
// Otherwise "bad_number".
const char *
hubc_xf_int(const char *s, size_t len, int64_t *v, char *detail, size_t detail_size);

// Yes or no: 是/否, 有/无, true/false, yes/no, y/n, t/f, 1/0 (any case).
// Otherwise "bad_value".
const char *
hubc_xf_bool(const char *s, size_t len, bool *v, char *detail, size_t detail_size);

// The date SERIAL days after Excel's epoch (serial 1 is 1900-01-01; 60 is
// Excel's non-existent 1900-02-29 and is refused). False when out of
// 1..2958465.
bool
hubc_excel_date(int64_t serial, int *y, int *m, int *d);

#endif
