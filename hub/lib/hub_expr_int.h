// hub_expr_int: what the condition compiler's files share. Not part of the
// library's API. hub_expr_lex.c turns the source into tokens and places
// errors at "file:line:column"; hub_expr_parse.c parses and type-checks into
// the node array; hub_expr.c holds the public functions and evaluation.
//
// A compiled condition is one allocation: the header, the nodes, then the
// pool (the source text, NUL-terminated, followed by the unescaped string
// literals). Nodes refer to each other by index and to text by pool offset,
// so evaluation needs no memory of its own.
#ifndef HUB_EXPR_INT_H
#define HUB_EXPR_INT_H

#include "hub_expr.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    HE_OR = 0, // a or b: conditions
    HE_AND,    // a and b
    HE_NOT,    // not a
    HE_CMP,    // a OP b: operands of class CLS
    HE_IN,     // a in [nodes b .. b+n-1] (literals); OP 1 for "not in"
    HE_HAS,    // a in the list field b; OP 1 for "not in"
    HE_EXISTS, // the field a is present
    HE_STARTS, // the string field a starts with the literal b
    HE_LIT,    // a literal: I, or the string pool[off .. off+len)
    HE_PATH,   // a field: envelope or subject slot N, or body name pool[off .. off+len)
    HE_AGE,    // whole years from the date field a to the envelope's event_date
    HE_LISTED, // the string field a is a member of list N (hub_expr_lookup_t)
} he_kind_t;

// Classes of values. Conditions, true/false and bool fields are HE_C_BOOL.
typedef enum {
    HE_C_STR = 0, // string-like (string, enum, citizen_id, datetime, ...): == and != only
    HE_C_INT,
    HE_C_MONEY, // integer fen
    HE_C_DATE,  // a day number (hub_date_days)
    HE_C_YM,    // "YYYY-MM": fixed width, so bytewise order is time order
    HE_C_BOOL,
    HE_C_LIST,
} he_cls_t;

typedef enum { HE_EQ = 0, HE_NE, HE_LT, HE_LE, HE_GT, HE_GE } he_op_t;

typedef enum { HE_W_ENV = 0, HE_W_SUBJ, HE_W_BODY } he_where_t;

typedef struct {
    uint8_t kind;      // he_kind_t
    uint8_t cls;       // he_cls_t: of the value (operands) or of the values compared
    uint8_t op;        // HE_CMP: he_op_t; HE_IN, HE_HAS: 1 for "not in"
    uint8_t where;     // HE_PATH: he_where_t
    uint16_t a, b;     // operands or sub-conditions, as node indexes
    uint16_t n;        // HE_IN: number of items; HE_PATH: envelope or subject slot
    uint32_t off, len; // HE_LIT string, HE_PATH body name: bytes in the pool
    int64_t i;         // HE_LIT: integer, fen, day number or 0/1
} he_node_t;

struct hub_expr {
    size_t nnodes;
    size_t root;      // the condition's node (the last one: children come first)
    const char *pool; // right after the nodes, in the same allocation
    he_node_t nodes[];
};

typedef enum {
    HE_T_END = 0, // the end of the source (or of the tokens after an error)
    HE_T_WORD,    // a keyword, function name or field path: [A-Za-z_][A-Za-z0-9_.]*
    HE_T_STR,     // "..." (OFF, LEN include the quotes)
    HE_T_INT,     // I: the value
    HE_T_DEC,     // I: the value in hundredths (at most 2 decimals)
    HE_T_DATE,    // I: the day number of a valid YYYY-MM-DD
    HE_T_YM,      // a valid YYYY-MM
    HE_T_OP,      // a comparison: OP
    HE_T_LPAREN,
    HE_T_RPAREN,
    HE_T_LBRACK,
    HE_T_RBRACK,
    HE_T_COMMA,
} he_tok_kind_t;

typedef struct {
    he_tok_kind_t kind;
    he_op_t op;
    size_t off, len; // the token's bytes in the source
    int64_t i;
} he_tok_t;

// The compiler's state, for one compile.
typedef struct {
    const char *src;
    size_t len;
    const hub_expr_origin_t *origin; // may be NULL
    const hub_schema_t *const *schemas;
    size_t nschemas;
    hub_diag_t *diag;
    const char *const *lists; // the list ids listed() may name (index = list number)
    size_t nlists;
    size_t pos;   // the lexer's next byte
    he_tok_t tok; // the current token
    bool failed;  // an error was reported: everything stops
    int depth;    // nesting of parentheses and "not"
    char *pool;   // the source then string literals
    size_t pool_len, pool_cap;
    size_t nnodes;
    he_node_t nodes[HUB_EXPR_MAX_NODES];
} he_parser_t;

// An operand as the type checker sees it.
typedef struct {
    int node; // its node, or -1 after an error
    he_cls_t cls;
    he_cls_t item;            // HE_C_LIST: the items' class
    bool lit;                 // a literal
    bool path;                // a field path
    const hub_codes_t *codes; // an enum field (or a list of enums): its code table
    size_t off, len;          // its text in the source
} he_opnd_t;

// Reads the next token into p->tok. After an error (reported, p->failed
// set) the token is HE_T_END, so every loop of the parser ends.
void
he_next(he_parser_t *p);

// True when the current token is the word KW.
bool
he_is(const he_parser_t *p, const char *kw);

// The byte after the current token, skipping white space ('\0' at the end):
// tells a call "age(" from a field.
char
he_peek(const he_parser_t *p);

// Reports the compile's error (only the first one counts) at byte OFF of the
// source, as "file:line:column".
void
he_error(he_parser_t *p, size_t off, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

// How many bytes of the LEN at S fit in MAX without cutting a character.
int
he_clip(const char *s, size_t len, size_t max);

// "a string", "money", ... for messages.
const char *
he_cls_name(he_cls_t c);

// Checks that L OP R compares like with like (OP at byte AT); a literal
// side is checked against the other side's type (enum codes, months) and
// may be converted. False after reporting why not.
bool
he_check_pair(he_parser_t *p, he_opnd_t *l, he_opnd_t *r, he_op_t op, size_t at);

// Checks that the literal LIT may be compared with FIELD (as by ==).
bool
he_fit_lit(he_parser_t *p, const he_opnd_t *field, he_opnd_t *lit);

// Checks "X in LIST" where LIST should be a list field (NOT_IN: "not in").
bool
he_check_has(he_parser_t *p, he_opnd_t *x, const he_opnd_t *list, bool not_in);

// Checks that O is not a list (lists are only searched with "in").
bool
he_check_not_list(he_parser_t *p, const he_opnd_t *o);

// Parses and checks the whole source; the root node's index, or -1 after
// an error. P->pool must already hold the source.
int
he_parse(he_parser_t *p);

#endif
