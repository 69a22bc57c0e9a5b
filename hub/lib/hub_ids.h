// hub_ids: the domain's identifiers and value formats (DOMAIN.md,
// "Identifiers"). Pure functions: no allocation, no global state, safe from
// any thread.
//
// Checkers take a value that must already be in canonical form and return
// HUB_IDS_OK or a reason; normalisers take what a department wrote and make
// the canonical form of it. On failure the DETAIL buffer (may be NULL) gets
// one human sentence in English naming what is wrong and, where it can, the
// fix, e.g. "check character is 8, expected 9"; on success it gets "". A NULL
// input is read as empty.
#ifndef HUB_IDS_H
#define HUB_IDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// Reasons. Stable: a number never changes meaning (see docs/ERRORS.md).
typedef enum {
    HUB_IDS_OK = 0,
    HUB_IDS_LENGTH = 1,     // wrong length
    HUB_IDS_CHARSET = 2,    // a character not allowed at that position
    HUB_IDS_AREA = 3,       // area / province code not valid
    HUB_IDS_BIRTHDATE = 4,  // the birth date inside the ID is not a real date
    HUB_IDS_CHECK = 5,      // check character wrong
    HUB_IDS_SCIENTIFIC = 6, // number in scientific notation (Excel mangled it)
    HUB_IDS_NOT_ID = 7,     // something else in the ID column (e.g. a disability no.)
    HUB_IDS_DATE = 8,       // not a real date / time
    HUB_IDS_FORMAT = 9,     // does not have the required shape
} hub_ids_reason_t;

// Size for DETAIL buffers; longer sentences are truncated.
#define HUB_IDS_DETAIL_MAX 128

// Citizen ID, GB 11643-1999, canonical form: exactly 18 bytes, digits with
// the last one possibly 'X'; first two digits a valid province code (11-15,
// 21-23, 31-37, 41-46, 50-54, 61-65, 71, 81, 82, 83); birth date YYYYMMDD a real
// calendar date with year 1880..2199; check = "10X98765432"[S mod 11] with
// S = sum(a_i * W_i), W = 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2.
// Example detail on HUB_IDS_CHECK: "check character is 8, expected 9".
hub_ids_reason_t
hub_cid_check(const char *s, size_t len, char *detail, size_t detail_size);

// Makes the canonical 18-character ID of IN (IN_LEN bytes, UTF-8) into OUT
// (at least 19 bytes; NUL-terminated on success, "" on failure). Accepts and
// repairs: leading/trailing ASCII white space and full-width (U+3000)
// spaces; full-width digits (U+FF10..U+FF19) and full-width X/x (U+FF38,
// U+FF58); lower-case 'x'; a 15-digit legacy ID (insert "19" after position
// 6, append the computed check character). Refuses with a reason: scientific notation such as
// "5.13431E+17" (HUB_IDS_SCIENTIFIC: "scientific notation: the cell was
// formatted as a number; re-export the column as text"), a 20-character
// disability certificate number (HUB_IDS_NOT_ID; 20 characters that are not
// a valid one are HUB_IDS_LENGTH), and every hub_cid_check failure. Never
// guesses a digit.
hub_ids_reason_t
hub_cid_normalize(const char *in, size_t in_len, char out[19], char *detail, size_t detail_size);

// The check character for the first 17 digits of D (which must be digits;
// '?' if one is not).
char
hub_cid_check_char(const char d[17]);

// True when the ID's sequence digit (position 17) is odd, i.e. male.
bool
hub_cid_is_male(const char cid[18]);

// Unified social credit code, GB 32100-2015: 18 characters from
// "0123456789ABCDEFGHJKLMNPQRTUWXY" (no I, O, Z, S, V); weights 3^i mod 31
// (1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28); check = 31 - (S mod 31),
// 31 -> 0, written as the character with that index.
hub_ids_reason_t
hub_uscc_check(const char *s, size_t len, char *detail, size_t detail_size);

// Student number (学籍号): 19 characters; 'G' + a valid citizen ID;
// 'J' + 18 characters of digits with an optional final 'X' (no check);
// 'L' + 18 ASCII upper-case letters or digits.
hub_ids_reason_t
hub_student_no_check(const char *s, size_t len, char *detail, size_t detail_size);

// Division code (GB/T 2260 and the statistical division codes): 6, 9 or 12
// ASCII digits, the first two a valid province code. Whether a Liangshan
// county code is a known one is the code table's business, not this one's.
hub_ids_reason_t
hub_division_check(const char *s, size_t len, char *detail, size_t detail_size);

// Disability certificate number: 20 characters, a valid citizen ID then the
// category digit 1..7 then the grade digit 1..4.
hub_ids_reason_t
hub_disability_no_check(const char *s, size_t len, char *detail, size_t detail_size);

// Phone, canonical form: a mobile number "1[3-9]" + 9 digits, or a landline
// "0" + 2-3 digit area code + "-" + 7-8 digit number. The area code's length
// is fixed by its digits, so the form is unique: 3 characters for 010 and
// 02x, 4 for the rest (0834). No area code starts 00 (the international
// prefix) or 01 other than 010: HUB_IDS_AREA.
hub_ids_reason_t
hub_phone_check(const char *s, size_t len, char *detail, size_t detail_size);

// Normalises a phone number into OUT (OUT_SIZE >= 24, NUL-terminated; "" on
// failure): drops spaces (ASCII, U+3000) and dashes ('-', U+FF0D), so a
// canonical number normalises to itself; full-width digits and '+' become
// ASCII; a leading "+86" or "0086" is dropped and, for a landline, the
// trunk 0 it leaves off is put back (+86 834 5551234 -> 0834-5551234); a
// mobile dialled with a long-distance 0 (0138..., 12 digits) loses the 0; a
// landline gets a single '-' after its area code (area code length: 3 when
// it starts "010" or "02", else 4). Then hub_phone_check.
hub_ids_reason_t
hub_phone_normalize(const char *in, size_t in_len, char *out, size_t out_size, char *detail,
                    size_t detail_size);

// ICD-10 code: an upper-case letter, two digits, then optionally '.' and
// 1..4 upper-case letters or digits ("J18.9", "C34", "O80.000").
hub_ids_reason_t
hub_icd10_check(const char *s, size_t len, char *detail, size_t detail_size);

// Date "YYYY-MM-DD", a real calendar date (leap years), year 1880..2199.
// HUB_IDS_FORMAT for the shape, HUB_IDS_DATE for a date that does not exist.
// On success, stores the parts in those of Y/M/D that are non-NULL.
hub_ids_reason_t
hub_date_check(const char *s, size_t len, int *y, int *m, int *d);

// Month "YYYY-MM", year 1880..2199, month 01..12. HUB_IDS_FORMAT for the
// shape, HUB_IDS_DATE for a value out of range.
hub_ids_reason_t
hub_yearmonth_check(const char *s, size_t len);

// Datetime, RFC 3339 with a mandatory offset: "YYYY-MM-DDTHH:MM:SS",
// optional ".f" (1-9 digits), then "Z" or "+HH:MM" / "-HH:MM". The date part
// as hub_date_check; seconds 00..59 (no leap second); upper-case T and Z
// only. HUB_IDS_FORMAT for the shape, HUB_IDS_DATE for a field out of range.
hub_ids_reason_t
hub_datetime_check(const char *s, size_t len);

// True for a real calendar date (proleptic Gregorian, any year; the year
// range belongs to the string checkers).
bool
hub_date_valid(int y, int m, int d);

// Days since 1970-01-01 of a valid date (negative before), for age and
// interval arithmetic. For an invalid date the result is meaningless but
// computed without overflow.
int64_t
hub_date_days(int y, int m, int d);

// Message id: 1..64 bytes of A-Z a-z 0-9 . _ : -
bool
hub_msg_id_valid(const char *s, size_t len);

// Name of a reason, for messages: "length", "charset", "area", ...
const char *
hub_ids_reason_name(hub_ids_reason_t r);

#endif
