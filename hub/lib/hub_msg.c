#include "hub_msg.h"

#include "hub_error.h"

#include <stdlib.h>
#include <string.h>

struct hub_msg {
    hub_arena_t *arena;             // every string, list and name
    hub_val_t env[HUB_ENV_COUNT];   // envelope slots
    hub_val_t subj[HUB_SUBJ_COUNT]; // subject slots
    hub_field_t *body;              // sorted by name; malloc'd, kept on reset
    size_t body_count;              // fields in BODY
    size_t body_cap;                // room in BODY
};

static const char *const s_env_names[HUB_ENV_COUNT] = {
    "id", "type", "schema_version", "source", "source_ref", "event_date", "recorded_at",
};

static const char *const s_subj_names[HUB_SUBJ_COUNT] = {
    "birth_date", "citizen_id", "ethnicity", "household_no", "hukou_division", "name", "sex",
};

static const hub_val_t s_none = {HUB_VAL_NONE, 0, {0}};

hub_msg_t *
hub_msg_new(void)
{
    hub_msg_t *self = calloc(1, sizeof *self);
    if (!self) {
        return NULL;
    }
    self->arena = hub_arena_new(0);
    if (!self->arena) {
        free(self);
        return NULL;
    }
    return self;
}

void
hub_msg_destroy(hub_msg_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    hub_msg_t *self = *self_p;
    hub_arena_destroy(&self->arena);
    free(self->body);
    free(self);
    *self_p = NULL;
}

void
hub_msg_reset(hub_msg_t *self)
{
    hub_arena_reset(self->arena);
    memset(self->env, 0, sizeof self->env);
    memset(self->subj, 0, sizeof self->subj);
    self->body_count = 0;
}

hub_arena_t *
hub_msg_arena(hub_msg_t *self)
{
    return self->arena;
}

const char *
hub_env_name(hub_env_t which)
{
    return (unsigned) which < HUB_ENV_COUNT ? s_env_names[which] : "?";
}

const char *
hub_subj_name(hub_subj_t which)
{
    return (unsigned) which < HUB_SUBJ_COUNT ? s_subj_names[which] : "?";
}

// Bytewise order, shorter first on a common prefix. Names are short, so a
// plain loop beats a call to memcmp.
int
hub_bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    for (size_t i = 0; i < n; i++) {
        if (a[i] != b[i]) {
            return (unsigned char) a[i] < (unsigned char) b[i] ? -1 : 1;
        }
    }
    return alen < blen ? -1 : alen > blen;
}

static const uint8_t s_env_lens[HUB_ENV_COUNT] = {2, 4, 14, 6, 10, 10, 11};
static const uint8_t s_subj_lens[HUB_SUBJ_COUNT] = {10, 10, 9, 12, 14, 4, 3};

// Keys are looked up on every decode: compare lengths before bytes.
static int
s_find(const char *const *names, const uint8_t *lens, int count, const char *name, size_t len)
{
    for (int i = 0; i < count; i++) {
        if (lens[i] == len && hub_bytes_cmp(names[i], len, name, len) == 0) {
            return i;
        }
    }
    return -1;
}

size_t
hub_env_name_len(hub_env_t which)
{
    return (unsigned) which < HUB_ENV_COUNT ? s_env_lens[which] : 1;
}

size_t
hub_subj_name_len(hub_subj_t which)
{
    return (unsigned) which < HUB_SUBJ_COUNT ? s_subj_lens[which] : 1;
}

int
hub_env_find(const char *name, size_t len)
{
    return s_find(s_env_names, s_env_lens, HUB_ENV_COUNT, name, len);
}

int
hub_subj_find(const char *name, size_t len)
{
    return s_find(s_subj_names, s_subj_lens, HUB_SUBJ_COUNT, name, len);
}

const hub_val_t *
hub_msg_env(const hub_msg_t *self, hub_env_t which)
{
    return (unsigned) which < HUB_ENV_COUNT ? &self->env[which] : &s_none;
}

const hub_val_t *
hub_msg_subj(const hub_msg_t *self, hub_subj_t which)
{
    return (unsigned) which < HUB_SUBJ_COUNT ? &self->subj[which] : &s_none;
}

const char *
hub_msg_env_str(const hub_msg_t *self, hub_env_t which)
{
    const hub_val_t *v = hub_msg_env(self, which);
    return v->kind == HUB_VAL_STR ? v->u.s : "";
}

// Deep-copies V into the arena as *OUT. Lists may not hold lists.
static int
s_copy_val(hub_arena_t *arena, const hub_val_t *v, hub_val_t *out, bool in_list)
{
    *out = *v;
    if (v->kind == HUB_VAL_STR) {
        char *s = hub_arena_strndup(arena, v->u.s, v->len);
        if (!s) {
            return HUB_ENOMEM;
        }
        out->u.s = s;
    } else if (v->kind == HUB_VAL_LIST) {
        if (in_list) {
            return HUB_EINVAL;
        }
        hub_val_t *items = hub_arena_alloc(arena, sizeof(hub_val_t) * (v->len ? v->len : 1));
        if (!items) {
            return HUB_ENOMEM;
        }
        for (uint32_t i = 0; i < v->len; i++) {
            int rc = s_copy_val(arena, &v->u.items[i], &items[i], true);
            if (rc) {
                return rc;
            }
        }
        out->u.items = items;
    }
    return HUB_OK;
}

int
hub_msg_set_env(hub_msg_t *self, hub_env_t which, const hub_val_t *v)
{
    if ((unsigned) which >= HUB_ENV_COUNT) {
        return HUB_EINVAL;
    }
    hub_val_kind_t want = which == HUB_ENV_SCHEMA_VERSION ? HUB_VAL_INT : HUB_VAL_STR;
    if (v->kind != HUB_VAL_NONE && v->kind != want) {
        return HUB_EINVAL;
    }
    return s_copy_val(self->arena, v, &self->env[which], false);
}

int
hub_msg_set_subj(hub_msg_t *self, hub_subj_t which, const hub_val_t *v)
{
    if ((unsigned) which >= HUB_SUBJ_COUNT) {
        return HUB_EINVAL;
    }
    if (v->kind != HUB_VAL_NONE && v->kind != HUB_VAL_STR) {
        return HUB_EINVAL;
    }
    return s_copy_val(self->arena, v, &self->subj[which], false);
}

void
hub_msg_set_env_owned(hub_msg_t *self, hub_env_t which, const hub_val_t *v)
{
    self->env[which] = *v;
}

void
hub_msg_set_subj_owned(hub_msg_t *self, hub_subj_t which, const hub_val_t *v)
{
    self->subj[which] = *v;
}

int
hub_msg_set_env_str(hub_msg_t *self, hub_env_t which, const char *s)
{
    hub_val_t v = hub_val_str(s, strlen(s));
    return hub_msg_set_env(self, which, &v);
}

int
hub_msg_set_subj_str(hub_msg_t *self, hub_subj_t which, const char *s)
{
    hub_val_t v = hub_val_str(s, strlen(s));
    return hub_msg_set_subj(self, which, &v);
}

size_t
hub_msg_body_count(const hub_msg_t *self)
{
    return self->body_count;
}

const hub_field_t *
hub_msg_body_at(const hub_msg_t *self, size_t i)
{
    return i < self->body_count ? &self->body[i] : NULL;
}

// The index of NAME in the body, or where it would go (then *FOUND false).
// Appending in sorted order, the common case, costs one comparison.
static size_t
s_body_search(const hub_msg_t *self, const char *name, size_t len, bool *found)
{
    size_t lo = 0, hi = self->body_count;
    *found = false;
    if (hi > 0) {
        const hub_field_t *last = &self->body[hi - 1];
        if (hub_bytes_cmp(last->name, last->name_len, name, len) < 0) {
            return hi;
        }
    }
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const hub_field_t *f = &self->body[mid];
        int c = hub_bytes_cmp(f->name, f->name_len, name, len);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

const hub_val_t *
hub_msg_body_get(const hub_msg_t *self, const char *name, size_t len)
{
    bool found;
    size_t i = s_body_search(self, name, len, &found);
    return found ? &self->body[i].val : NULL;
}

static int
s_body_insert(hub_msg_t *self, size_t at, const char *name, size_t len, const hub_val_t *v)
{
    if (self->body_count == self->body_cap) {
        size_t cap = self->body_cap ? self->body_cap * 2 : 16;
        hub_field_t *p = realloc(self->body, cap * sizeof *p);
        if (!p) {
            return HUB_ENOMEM;
        }
        self->body = p;
        self->body_cap = cap;
    }
    memmove(&self->body[at + 1], &self->body[at], (self->body_count - at) * sizeof *self->body);
    self->body[at] = (hub_field_t){name, (uint32_t) len, *v};
    self->body_count++;
    return HUB_OK;
}

static void
s_body_remove_at(hub_msg_t *self, size_t at)
{
    memmove(&self->body[at], &self->body[at + 1], (self->body_count - at - 1) * sizeof *self->body);
    self->body_count--;
}

int
hub_msg_body_add_owned(hub_msg_t *self, const char *name, size_t len, const hub_val_t *v)
{
    bool found;
    size_t at = s_body_search(self, name, len, &found);
    if (found) {
        return HUB_EEXIST;
    }
    return s_body_insert(self, at, name, len, v);
}

int
hub_msg_body_set(hub_msg_t *self, const char *name, size_t len, const hub_val_t *v)
{
    bool found;
    size_t at = s_body_search(self, name, len, &found);
    if (v->kind == HUB_VAL_NONE) {
        if (found) {
            s_body_remove_at(self, at);
        }
        return HUB_OK;
    }
    hub_val_t copy;
    int rc = s_copy_val(self->arena, v, &copy, false);
    if (rc) {
        return rc;
    }
    if (found) {
        self->body[at].val = copy;
        return HUB_OK;
    }
    char *n = hub_arena_strndup(self->arena, name, len);
    if (!n) {
        return HUB_ENOMEM;
    }
    return s_body_insert(self, at, n, len, &copy);
}

int
hub_msg_body_set_str(hub_msg_t *self, const char *name, const char *s)
{
    hub_val_t v = hub_val_str(s, strlen(s));
    return hub_msg_body_set(self, name, strlen(name), &v);
}

int
hub_msg_body_set_int(hub_msg_t *self, const char *name, int64_t i)
{
    hub_val_t v = hub_val_int(i);
    return hub_msg_body_set(self, name, strlen(name), &v);
}

int
hub_msg_body_set_bool(hub_msg_t *self, const char *name, bool b)
{
    hub_val_t v = hub_val_bool(b);
    return hub_msg_body_set(self, name, strlen(name), &v);
}

int
hub_msg_copy(hub_msg_t *dst, const hub_msg_t *src)
{
    if (dst == src) {
        return HUB_OK;
    }
    hub_msg_reset(dst);
    int rc = HUB_OK;
    for (int i = 0; i < HUB_ENV_COUNT && !rc; i++) {
        rc = hub_msg_set_env(dst, (hub_env_t) i, &src->env[i]);
    }
    for (int i = 0; i < HUB_SUBJ_COUNT && !rc; i++) {
        rc = hub_msg_set_subj(dst, (hub_subj_t) i, &src->subj[i]);
    }
    for (size_t i = 0; i < src->body_count && !rc; i++) {
        const hub_field_t *f = &src->body[i];
        rc = hub_msg_body_set(dst, f->name, f->name_len, &f->val);
    }
    return rc;
}

bool
hub_val_equal(const hub_val_t *a, const hub_val_t *b)
{
    if (a->kind != b->kind) {
        return false;
    }
    switch (a->kind) {
    case HUB_VAL_NONE:
        return true;
    case HUB_VAL_BOOL:
        return a->u.b == b->u.b;
    case HUB_VAL_INT:
        return a->u.i == b->u.i;
    case HUB_VAL_STR:
        return a->len == b->len && memcmp(a->u.s, b->u.s, a->len) == 0;
    case HUB_VAL_LIST:
        if (a->len != b->len) {
            return false;
        }
        for (uint32_t i = 0; i < a->len; i++) {
            if (!hub_val_equal(&a->u.items[i], &b->u.items[i])) {
                return false;
            }
        }
        return true;
    }
    return false;
}

bool
hub_msg_equal(const hub_msg_t *a, const hub_msg_t *b)
{
    for (int i = 0; i < HUB_ENV_COUNT; i++) {
        if (!hub_val_equal(&a->env[i], &b->env[i])) {
            return false;
        }
    }
    for (int i = 0; i < HUB_SUBJ_COUNT; i++) {
        if (!hub_val_equal(&a->subj[i], &b->subj[i])) {
            return false;
        }
    }
    if (a->body_count != b->body_count) {
        return false;
    }
    for (size_t i = 0; i < a->body_count; i++) {
        const hub_field_t *fa = &a->body[i], *fb = &b->body[i];
        if (fa->name_len != fb->name_len || memcmp(fa->name, fb->name, fa->name_len) != 0 ||
            !hub_val_equal(&fa->val, &fb->val)) {
            return false;
        }
    }
    return true;
}

hub_path_t
hub_path_parse(const char *path)
{
    hub_path_t p = {HUB_PATH_NONE, -1, NULL, 0};
    if (strncmp(path, "subject.", 8) == 0) {
        p.slot = hub_subj_find(path + 8, strlen(path + 8));
        p.kind = p.slot < 0 ? HUB_PATH_NONE : HUB_PATH_SUBJ;
    } else if (strncmp(path, "body.", 5) == 0) {
        p = (hub_path_t){HUB_PATH_BODY, -1, path + 5, strlen(path + 5)};
    } else {
        p.slot = hub_env_find(path, strlen(path));
        p.kind = p.slot < 0 ? HUB_PATH_NONE : HUB_PATH_ENV;
    }
    return p;
}

const hub_val_t *
hub_msg_get_at(const hub_msg_t *self, const hub_path_t *p)
{
    switch (p->kind) {
    case HUB_PATH_ENV:
        return &self->env[p->slot];
    case HUB_PATH_SUBJ:
        return &self->subj[p->slot];
    case HUB_PATH_BODY: {
        const hub_val_t *v = hub_msg_body_get(self, p->name, p->len);
        return v ? v : &s_none;
    }
    default:
        return NULL;
    }
}

const hub_val_t *
hub_msg_get_at_hint(const hub_msg_t *self, const hub_path_t *p, size_t *hint)
{
    if (p->kind != HUB_PATH_BODY) {
        return hub_msg_get_at(self, p);
    }
    // Body names are unique: the field at the hint, if it has the name, is it.
    const hub_field_t *f = *hint < self->body_count ? &self->body[*hint] : NULL;
    if (f && f->name_len == p->len && memcmp(f->name, p->name, p->len) == 0) {
        return &f->val;
    }
    bool found;
    size_t i = s_body_search(self, p->name, p->len, &found);
    if (!found) {
        return &s_none;
    }
    *hint = i;
    return &self->body[i].val;
}

int
hub_msg_set_at(hub_msg_t *self, const hub_path_t *p, const hub_val_t *v)
{
    switch (p->kind) {
    case HUB_PATH_ENV:
        return hub_msg_set_env(self, (hub_env_t) p->slot, v);
    case HUB_PATH_SUBJ:
        return hub_msg_set_subj(self, (hub_subj_t) p->slot, v);
    case HUB_PATH_BODY:
        return hub_msg_body_set(self, p->name, p->len, v);
    default:
        return HUB_EINVAL;
    }
}

const hub_val_t *
hub_msg_get_path(const hub_msg_t *self, const char *path)
{
    hub_path_t p = hub_path_parse(path);
    return hub_msg_get_at(self, &p);
}

hub_val_t
hub_val_str(const char *s, size_t len)
{
    hub_val_t v = {HUB_VAL_STR, (uint32_t) len, {.s = s}};
    return v;
}

hub_val_t
hub_val_int(int64_t i)
{
    hub_val_t v = {HUB_VAL_INT, 0, {.i = i}};
    return v;
}

hub_val_t
hub_val_bool(bool b)
{
    hub_val_t v = {HUB_VAL_BOOL, 0, {.b = b}};
    return v;
}

const char *
hub_val_kind_name(hub_val_kind_t kind)
{
    static const char *const names[] = {"none", "bool", "int", "string", "list"};
    return (unsigned) kind < 5 ? names[kind] : "?";
}

// Bytes allowed in a field name: 1 = a-z, 2 = 0-9 and _.
static const uint8_t s_name_class[256] = {
    ['_'] = 2, ['0'] = 2, ['1'] = 2, ['2'] = 2, ['3'] = 2, ['4'] = 2, ['5'] = 2, ['6'] = 2,
    ['7'] = 2, ['8'] = 2, ['9'] = 2, ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1,
    ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1,
    ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1,
    ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

bool
hub_msg_field_name_valid(const char *s, size_t len)
{
    if (len == 0 || len > 64 || s_name_class[(unsigned char) s[0]] != 1) {
        return false;
    }
    for (size_t i = 1; i < len; i++) {
        if (!s_name_class[(unsigned char) s[i]]) {
            return false;
        }
    }
    return true;
}
