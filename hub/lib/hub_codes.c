#include "hub_codes.h"

#include "hub_arena.h"
#include "hub_error.h"
#include "hub_msg.h"

#include <stdlib.h>
#include <string.h>

struct hub_codes {
    hub_arena_t *arena;   // every string and array below
    const char *name;     // table name
    const char *standard; // the standard it follows, or "hub"
    const char *file;     // where it was loaded from
    hub_code_t *codes;    // sorted by code
    size_t count;
};

static const char *const s_table_keys[] = {"table", "standard", "title", "codes", NULL};
static const char *const s_code_keys[] = {"code",    "zh",        "en", "aliases",
                                          "retired", "successor", NULL};

static const char *
s_dup(hub_codes_t *self, const char *s)
{
    return s ? hub_arena_strndup(self->arena, s, strlen(s)) : NULL;
}

static int
s_load_aliases(hub_codes_t *self, const hub_yaml_t *doc, int node, hub_code_t *c, hub_diag_t *diag)
{
    int list = hub_yaml_get(doc, node, "aliases");
    if (!list) {
        return HUB_OK;
    }
    if (!hub_yaml_expect(doc, list, HUB_YAML_SEQ, "a list of aliases", diag)) {
        return HUB_ECONFIG;
    }
    c->naliases = hub_yaml_len(doc, list);
    c->aliases = hub_arena_alloc(self->arena, sizeof(char *) * (c->naliases + 1));
    if (!c->aliases) {
        return HUB_ENOMEM;
    }
    for (size_t i = 0; i < c->naliases; i++) {
        int item = hub_yaml_item(doc, list, i);
        if (!hub_yaml_expect(doc, item, HUB_YAML_SCALAR, "an alias", diag)) {
            return HUB_ECONFIG;
        }
        c->aliases[i] = s_dup(self, hub_yaml_str(doc, item, NULL));
    }
    return HUB_OK;
}

static int
s_load_code(hub_codes_t *self, const hub_yaml_t *doc, int node, hub_code_t *c, hub_diag_t *diag)
{
    if (!hub_yaml_expect(doc, node, HUB_YAML_MAP, "a code entry {code, zh, en}", diag)) {
        return HUB_ECONFIG;
    }
    int bad = hub_yaml_check_keys(doc, node, s_code_keys, diag) ? HUB_ECONFIG : HUB_OK;
    const char *code = NULL, *zh = NULL, *en = NULL, *succ = NULL;
    int64_t retired = 0;
    int rc = hub_yaml_get_str(doc, node, "code", true, &code, diag);
    rc |= hub_yaml_get_str(doc, node, "zh", true, &zh, diag);
    rc |= hub_yaml_get_str(doc, node, "en", true, &en, diag);
    int rc2 = hub_yaml_get_int(doc, node, "retired", false, &retired, diag);
    int rc3 = hub_yaml_get_str(doc, node, "successor", false, &succ, diag);
    if (rc || bad || (rc2 && rc2 != HUB_ENOTFOUND) || (rc3 && rc3 != HUB_ENOTFOUND)) {
        return HUB_ECONFIG;
    }
    int cnode = hub_yaml_get(doc, node, "code");
    if (hub_yaml_is_plain(doc, cnode) && code[0] == '0' && code[1]) {
        hub_yaml_error(doc, cnode, diag, "unquoted_code",
                       "code %s has a leading zero: quote it (\"%s\") so it stays text", code,
                       code);
        return HUB_ECONFIG;
    }
    *c = (hub_code_t){s_dup(self, code), s_dup(self, zh),  s_dup(self, en), NULL, 0,
                      (int) retired,     s_dup(self, succ)};
    return s_load_aliases(self, doc, node, c, diag);
}

static int
s_code_cmp(const void *a, const void *b)
{
    return strcmp(((const hub_code_t *) a)->code, ((const hub_code_t *) b)->code);
}

// Codes are unique, and so are the words adapters map to them (an alias
// naming two codes would make the mapping depend on file order). Reported
// at the later entry, in file order, before the table is sorted.
static int
s_check_unique(hub_codes_t *self, const hub_yaml_t *doc, int list, hub_diag_t *diag)
{
    int rc = HUB_OK;
    for (size_t i = 0; i < self->count; i++) {
        const hub_code_t *c = &self->codes[i];
        for (size_t j = 0; j < i; j++) {
            const hub_code_t *o = &self->codes[j];
            const char *clash = strcmp(c->code, o->code) == 0     ? c->code
                                : hub_codes_match_entry(o, c->zh) ? c->zh
                                                                  : NULL;
            for (size_t a = 0; !clash && a < c->naliases; a++) {
                clash = hub_codes_match_entry(o, c->aliases[a]) ? c->aliases[a] : NULL;
            }
            int item = hub_yaml_item(doc, list, i);
            int first = hub_yaml_line(doc, hub_yaml_item(doc, list, j));
            if (clash == c->code) {
                hub_yaml_error(doc, item, diag, "duplicate_code",
                               "code '%s' appears twice (first at line %d)", clash, first);
            } else if (clash) {
                hub_yaml_error(doc, item, diag, "duplicate_code",
                               "'%s' names both code '%s' (line %d) and code '%s'", clash, o->code,
                               first, c->code);
            }
            if (clash) {
                rc = HUB_ECONFIG;
                break;
            }
        }
    }
    return rc;
}

// A retired code's successor must be a code of the same table.
static int
s_check_successors(hub_codes_t *self, const hub_yaml_t *doc, int list, hub_diag_t *diag)
{
    int rc = HUB_OK;
    for (size_t i = 0; i < self->count; i++) {
        const char *succ = self->codes[i].successor;
        if (succ && !hub_codes_find(self, succ, strlen(succ))) {
            hub_yaml_error(doc, list, diag, "unknown_code",
                           "code '%s' names successor '%s', which is not in the table",
                           self->codes[i].code, succ);
            rc = HUB_ECONFIG;
        }
    }
    return rc;
}

static int
s_load_codes(hub_codes_t *self, const hub_yaml_t *doc, int list, hub_diag_t *diag)
{
    if (!hub_yaml_expect(doc, list, HUB_YAML_SEQ, "a list of codes", diag)) {
        return HUB_ECONFIG;
    }
    self->count = hub_yaml_len(doc, list);
    self->codes = hub_arena_alloc(self->arena, sizeof(hub_code_t) * (self->count + 1));
    if (!self->codes) {
        return HUB_ENOMEM;
    }
    int rc = HUB_OK;
    for (size_t i = 0; i < self->count; i++) {
        int r = s_load_code(self, doc, hub_yaml_item(doc, list, i), &self->codes[i], diag);
        rc = rc ? rc : r;
    }
    if (rc) {
        return rc;
    }
    rc = s_check_unique(self, doc, list, diag);
    qsort(self->codes, self->count, sizeof(hub_code_t), s_code_cmp);
    return rc ? rc : s_check_successors(self, doc, list, diag);
}

int
hub_codes_load(hub_codes_t **out, const hub_yaml_t *doc, hub_diag_t *diag)
{
    *out = NULL;
    int root = hub_yaml_root(doc);
    if (!hub_yaml_expect(doc, root, HUB_YAML_MAP, "a code table {table, standard, title, codes}",
                         diag)) {
        return HUB_ECONFIG;
    }
    hub_codes_t *self = calloc(1, sizeof *self);
    if (!self || !(self->arena = hub_arena_new(0))) {
        free(self);
        return HUB_ENOMEM;
    }
    int rc = hub_yaml_check_keys(doc, root, s_table_keys, diag) ? HUB_ECONFIG : HUB_OK;
    const char *name = NULL, *standard = NULL;
    rc |= hub_yaml_get_str(doc, root, "table", true, &name, diag) ? HUB_ECONFIG : 0;
    rc |= hub_yaml_get_str(doc, root, "standard", true, &standard, diag) ? HUB_ECONFIG : 0;
    int codes = hub_yaml_get(doc, root, "codes");
    if (!codes) {
        hub_yaml_error(doc, root, diag, "missing_key", "missing required key 'codes'");
        rc = HUB_ECONFIG;
    }
    if (rc == HUB_OK) {
        self->name = s_dup(self, name);
        self->standard = s_dup(self, standard);
        self->file = s_dup(self, hub_yaml_name(doc));
        rc = s_load_codes(self, doc, codes, diag);
    }
    if (rc) {
        hub_codes_destroy(&self);
        return rc;
    }
    *out = self;
    return HUB_OK;
}

void
hub_codes_destroy(hub_codes_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    hub_arena_destroy(&(*self_p)->arena);
    free(*self_p);
    *self_p = NULL;
}

const char *
hub_codes_name(const hub_codes_t *self)
{
    return self->name;
}

const char *
hub_codes_standard(const hub_codes_t *self)
{
    return self->standard;
}

const char *
hub_codes_file(const hub_codes_t *self)
{
    return self->file;
}

// hub_bytes_cmp(Z, strlen(Z), B, LEN) in one pass: validation and routing
// look codes up for every message, and a strlen per probe was half the cost.
static int
s_cmp_z(const char *z, const char *b, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (z[i] == '\0') {
            return -1; // Z is the shorter
        }
        if (z[i] != b[i]) {
            return (unsigned char) z[i] < (unsigned char) b[i] ? -1 : 1;
        }
    }
    return z[len] != '\0';
}

const hub_code_t *
hub_codes_find(const hub_codes_t *self, const char *code, size_t len)
{
    size_t lo = 0, hi = self->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *c = self->codes[mid].code;
        int cmp = s_cmp_z(c, code, len);
        if (cmp == 0) {
            return &self->codes[mid];
        }
        if (cmp < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return NULL;
}

static bool
s_same(const char *a, const char *text, size_t len)
{
    return a && hub_bytes_cmp(a, strlen(a), text, len) == 0;
}

bool
hub_codes_match_entry(const hub_code_t *c, const char *text)
{
    size_t len = strlen(text);
    if (s_same(c->code, text, len) || s_same(c->zh, text, len) || s_same(c->en, text, len)) {
        return true;
    }
    for (size_t a = 0; a < c->naliases; a++) {
        if (s_same(c->aliases[a], text, len)) {
            return true;
        }
    }
    return false;
}

const hub_code_t *
hub_codes_match(const hub_codes_t *self, const char *text, size_t len)
{
    while (len && (text[0] == ' ' || text[0] == '\t')) {
        text++, len--;
    }
    while (len && (text[len - 1] == ' ' || text[len - 1] == '\t')) {
        len--;
    }
    const hub_code_t *hit = hub_codes_find(self, text, len);
    for (size_t i = 0; !hit && i < self->count; i++) {
        const hub_code_t *c = &self->codes[i];
        if (s_same(c->zh, text, len) || s_same(c->en, text, len)) {
            hit = c;
        }
        for (size_t a = 0; !hit && a < c->naliases; a++) {
            hit = s_same(c->aliases[a], text, len) ? c : NULL;
        }
    }
    return hit;
}

size_t
hub_codes_count(const hub_codes_t *self)
{
    return self->count;
}

const hub_code_t *
hub_codes_at(const hub_codes_t *self, size_t i)
{
    return i < self->count ? &self->codes[i] : NULL;
}
