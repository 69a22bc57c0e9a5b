// hub_expr: the condition language of data-sharing rules (docs/RULES.md,
// "Conditions"). A condition is compiled once, when the rules load, against
// the schemas of the message types its rule applies to: every field path,
// literal and function is checked then, so a rule that loads cannot fail at
// run time. Evaluating a compiled condition never allocates and is bounded
// by the size of the condition (no loops, at most HUB_EXPR_MAX_NODES nodes).
//
// Grammar (precedence low to high):
//   expr    := or
//   or      := and ("or" and)*
//   and     := not ("and" not)*
//   not     := "not" not | cmp
//   cmp     := operand (("==" | "!=" | "<" | "<=" | ">" | ">=") operand
//                      | "not"? "in" (list | path))?
//   operand := path | literal | call | "(" expr ")"
//   list    := "[" (literal ("," literal)*)? "]"
//   call    := "exists" "(" path ")" | "startswith" "(" path "," string ")"
//            | "age" "(" path ")" | "listed" "(" string "," path ")"
//   path    := an envelope key ("type", "source", "event_date", ...) or
//              "subject." key or "body." name
//   literal := string "..." (\" and \\ escapes) | integer | money | date
//            | "true" | "false"
//   money   := number ("yuan" | "fen"), e.g. 5000 yuan, 5000.50 yuan, 12 fen
//   date    := YYYY-MM-DD (bare, not quoted)
// Types: a path has its field's type; string-like types (string, text,
// name, enum, citizen_id, division, ...) compare with strings; int with
// integers; money with money; date with dates; bool with true/false; an enum
// compared with a string that is not one of its codes is an error. `x in
// [..]` wants a list of literals of x's type; `"a" in body.list` tests a list
// field. age(date path) is an integer: whole years from that date to the
// message's event_date. A comparison in which a field is absent is false
// (so `body.x != "a"` is false when x is absent, and so are `body.x in
// [..]` and `body.x not in [..]`); exists() tests presence.
//
// Further: strings and true/false compare only with == and !=; int, money,
// dates and age() with all six operators. A yearmonth field is a month: it
// compares (all six operators, in time order) with a month written bare,
// 2024-03, or quoted, "2024-03", either checked to be a real month.
// startswith() takes any field held as a string (dates and months too). A
// path whose type (or code table) differs between the schemas is a
// `type_mismatch`; one missing from a schema is `unknown_field` naming it.
//
// listed("monitored_households", subject.household_no) is true when the
// string field is a member of the named list (docs/RULES.md, "Lists"). The
// list must be one of those given to hub_expr_compile_with() (else
// `unknown_list`); membership is asked at evaluation through a
// hub_expr_lookup_t, and without one nothing is listed (fail closed).
//
// A compiled condition is immutable: any number of threads may evaluate it.
#ifndef HUB_EXPR_H
#define HUB_EXPR_H

#include "hub_diag.h"
#include "hub_msg.h"
#include "hub_schema.h"

#include <stdbool.h>
#include <stddef.h>

#define HUB_EXPR_MAX_NODES 256 // a longer condition is refused at compile
#define HUB_EXPR_MAX_DEPTH 32  // nesting of parentheses / operators
#define HUB_EXPR_MAX_LEN 4096  // bytes of source

typedef struct hub_expr hub_expr_t;

// Where the condition's text starts in its file, so that errors can be
// reported at the exact "file:line:column" of the offending token. LINE and
// COLUMN are 1-based. For text that spans lines, a newline in the text moves
// to the next line at column 1.
typedef struct {
    const char *file;
    int line;
    int column;
} hub_expr_origin_t;

// Compiles the LEN bytes at SRC for messages of the NSCHEMAS types in
// SCHEMAS (a path must exist, with the same field type, in every one of
// them). Errors go to DIAG at the token's place with reason `expr_syntax`,
// `unknown_field`, `unknown_function`, `unknown_list`, `type_mismatch` or `limit`, and a
// sentence with the fix ("unknown field 'body.schol' in
// student.enrolment_change (did you mean 'body.school_name'?)",
// "cannot compare money with a string: write 5000 yuan"). Errors:
// HUB_ECONFIG, HUB_ENOMEM. On error *OUT stays NULL.
int
hub_expr_compile(hub_expr_t **out, const char *src, size_t len, const hub_schema_t *const *schemas,
                 size_t nschemas, const hub_expr_origin_t *origin, hub_diag_t *diag);

// As hub_expr_compile(), and listed() may name any of the NLISTS ids in
// LISTS (borrowed for the call); a listed() node keeps the id's index in
// LISTS, which is what hub_expr_lookup_t.listed receives.
int
hub_expr_compile_with(hub_expr_t **out, const char *src, size_t len,
                      const hub_schema_t *const *schemas, size_t nschemas,
                      const hub_expr_origin_t *origin, const char *const *lists, size_t nlists,
                      hub_diag_t *diag);

// Membership for listed(): LISTED(CTX, LIST, KEY, LEN) says whether the LEN
// bytes at KEY (not NUL-terminated) are in list number LIST. It must not
// allocate or block; it is called on the evaluating thread.
typedef struct {
    bool (*listed)(void *ctx, size_t list, const char *key, size_t len);
    void *ctx;
} hub_expr_lookup_t;

// Frees the condition and sets *self_p to NULL. Safe on NULL.
void
hub_expr_destroy(hub_expr_t **self_p);

// True when MSG satisfies the condition. MSG should have passed
// hub_validate() against its schema; a value of an unexpected kind makes
// the comparison it is in false, never a crash.
bool
hub_expr_eval(const hub_expr_t *self, const hub_msg_t *msg);

// The condition's source text, as compiled (NUL-terminated).
// As hub_expr_eval(), with list membership from LK (may be NULL: nothing
// is listed).
bool
hub_expr_eval_with(const hub_expr_t *self, const hub_msg_t *msg, const hub_expr_lookup_t *lk);

const char *
hub_expr_source(const hub_expr_t *self);

#endif
