// hub_yaml: YAML files (configuration, rules, schemas, code tables) as a
// read-only tree of nodes, each knowing its "file:line:column". Only this
// module sees libyaml. Anchors and aliases load as written (an alias is the
// same node as its anchor); YAML 1.1 merge keys ("<<: *base") are expanded
// at load, explicit keys winning. Duplicate keys in a mapping are not an
// error here, because libyaml keeps both: hub_yaml_check_keys() reports them.
//
// Nodes are small integer ids; 0 means "no node". Strings handed out are
// borrowed until the document is destroyed. Not thread-safe.
#ifndef HUB_YAML_H
#define HUB_YAML_H

#include "hub_diag.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hub_yaml hub_yaml_t;

typedef enum {
    HUB_YAML_NONE = 0,
    HUB_YAML_SCALAR,
    HUB_YAML_SEQ,
    HUB_YAML_MAP,
} hub_yaml_kind_t;

// The largest file the loaders accept (configuration is small; this stops
// a runaway file from eating memory).
#define HUB_YAML_MAX_SIZE (16u << 20)

// Loads the first document of PATH. A syntax error goes to DIAG as
// "PATH:LINE:COL" with libyaml's problem and context, e.g. "mapping values
// are not allowed in this context". An empty file gives a document whose
// root is 0. Errors: HUB_EIO (cannot read), HUB_ECONFIG (bad YAML, more
// than one document, too large), HUB_ENOMEM.
int
hub_yaml_load_file(hub_yaml_t **out, const char *path, hub_diag_t *diag);

// The same from LEN bytes at DATA; NAME stands for the file in messages.
int
hub_yaml_load_buffer(hub_yaml_t **out, const char *name, const void *data, size_t len,
                     hub_diag_t *diag);

// Frees the document and sets *self_p to NULL. Safe on NULL.
void
hub_yaml_destroy(hub_yaml_t **self_p);

// The file name given at load.
const char *
hub_yaml_name(const hub_yaml_t *self);

// The root node, or 0 for an empty document.
int
hub_yaml_root(const hub_yaml_t *self);

hub_yaml_kind_t
hub_yaml_kind(const hub_yaml_t *self, int node);

// A scalar's text (NUL-terminated; *LEN its length when LEN non-NULL), or
// NULL when NODE is not a scalar.
const char *
hub_yaml_str(const hub_yaml_t *self, int node, size_t *len);

// True when the scalar was written without quotes (so `07` and `"07"` can
// be told apart, and `yes` is not taken for a string by accident).
bool
hub_yaml_is_plain(const hub_yaml_t *self, int node);

// Items of a sequence or pairs of a mapping; 0 for a scalar.
size_t
hub_yaml_len(const hub_yaml_t *self, int node);

// The I-th item of a sequence; the I-th key / value of a mapping.
int
hub_yaml_item(const hub_yaml_t *self, int node, size_t i);
int
hub_yaml_key(const hub_yaml_t *self, int node, size_t i);
int
hub_yaml_value(const hub_yaml_t *self, int node, size_t i);

// The value under scalar key KEY of mapping MAP (the first one, if given
// twice), or 0.
int
hub_yaml_get(const hub_yaml_t *self, int map, const char *key);

// The 1-based line of NODE, or 0.
int
hub_yaml_line(const hub_yaml_t *self, int node);

// Writes "file:line:column" of NODE (1-based) into BUF.
void
hub_yaml_where(const hub_yaml_t *self, int node, char *buf, size_t size);

// Reports an error at NODE into DIAG with REASON and formatted text.
void
hub_yaml_error(const hub_yaml_t *self, int node, hub_diag_t *diag, const char *reason,
               const char *fmt, ...) __attribute__((format(printf, 5, 6)));

// Reports as an error, at NODE, that it is not of KIND; WHAT names what was
// expected ("a mapping of field names to fields"). Returns true when NODE is
// of KIND (then nothing is reported).
bool
hub_yaml_expect(const hub_yaml_t *self, int node, hub_yaml_kind_t kind, const char *what,
                hub_diag_t *diag);

// Checks the keys of mapping MAP: each must be a scalar, given once, and
// one of ALLOWED (a NULL-terminated list), or begin with "x-" (keys that
// only hold anchors for reuse). Reports every offender with
// "unknown key 'dest' (did you mean 'to'?)" or "key 'x' given twice".
// Returns the number of problems reported.
size_t
hub_yaml_check_keys(const hub_yaml_t *self, int map, const char *const *allowed, hub_diag_t *diag);

// Typed readers of MAP's value under KEY. When the key is absent: with
// REQUIRED an error is reported and HUB_ENOTFOUND returned, else
// HUB_ENOTFOUND alone (OUT untouched). A value of the wrong form is reported
// ("'version' must be an integer") and gives HUB_ECONFIG.
// Strings: any scalar; booleans: true/false (also yes/no, on/off);
// integers: decimal, optional sign, within int64.
int
hub_yaml_get_str(const hub_yaml_t *self, int map, const char *key, bool required, const char **out,
                 hub_diag_t *diag);
int
hub_yaml_get_int(const hub_yaml_t *self, int map, const char *key, bool required, int64_t *out,
                 hub_diag_t *diag);
int
hub_yaml_get_bool(const hub_yaml_t *self, int map, const char *key, bool required, bool *out,
                  hub_diag_t *diag);

// Parses a scalar as an int64 (decimal, optional sign); false if it is not.
bool
hub_yaml_parse_int(const char *s, int64_t *out);

// The allowed word nearest to WORD (edit distance at most 2, or a third of
// its length), or NULL. For "did you mean" hints everywhere.
const char *
hub_yaml_suggest(const char *word, const char *const *allowed);

#endif
