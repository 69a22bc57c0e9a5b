// fuzz_yaml: the YAML loader (configuration, schemas, code tables) on
// arbitrary text, then the document as a code table and as a schema.
//
// Each input:
//   1. hub_yaml_load_buffer; on success every node is visited directly by id
//      and the tree is walked from the root with a depth and visit budget
//      (aliases make DAGs and cycles: `&a [*a]`), through every accessor;
//      hub_yaml_check_keys runs on the mappings;
//   2. the document is added as a code table to a fresh hub_schemas_new();
//   3. it is added as a schema to a fresh set that first gets the real code
//      tables sex, ethnicity, division and department (parsed once per
//      process, re-added per input); a schema that loads is checked and used
//      to validate messages built from its own field specs.
// Everything made per input is destroyed (LeakSanitizer runs in `make fuzz`).
#include "fuzz_util.h"
#include "hub_codes.h"
#include "hub_yaml.h"

#include <stddef.h>
#include <stdint.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

// Bounds that keep one input fast whatever aliases and merges do.
#define S_MAX_DEPTH 24           // nesting followed by the walk
#define S_MAX_VISITS 20000       // nodes visited by the walk
#define S_MAX_PAIR_WORK 4000000u // sum of len^2 over maps given to check_keys
#define S_MAX_SUGGEST 32         // hub_yaml_suggest calls (edit distances are slow)
#define S_MAX_ALLOWED_CHECKS 64  // check_keys calls with an allow-list (they suggest)

// The name the input is loaded under: "<...>" marks a document from memory,
// which the schema loader exempts from "type must match the file name".
#define S_DOC_NAME "<fuzz>"

static const char *const s_allowed[] = {"type",   "version", "title", "sensitivity", "subject",
                                        "fields", "codes",   "table", "code",        NULL};

typedef struct {
    const hub_yaml_t *doc;
    hub_diag_t *diag;
    size_t visits;         // walk budget used
    size_t pair_work;      // check_keys budget used
    size_t suggests;       // hub_yaml_suggest budget used
    size_t allowed_checks; // check_keys-with-allow-list budget used
    size_t sink;           // keeps the reads from being optimised away
} s_walk_t;

// The code tables every schema may use, loaded once (NULL entries when a
// file is missing: then schemas naming that table simply fail to load).
static const char *const s_template_names[] = {"sex", "ethnicity", "division", "department"};
#define S_TEMPLATES (sizeof s_template_names / sizeof s_template_names[0])

static hub_yaml_t **
s_templates(void)
{
    static hub_yaml_t *docs[S_TEMPLATES];
    static bool tried;
    if (!tried) {
        tried = true;
        for (size_t i = 0; i < S_TEMPLATES; i++) {
            char path[512];
            snprintf(path, sizeof path, "%s/codes/%s.yaml", fu_schema_dir(), s_template_names[i]);
            if (hub_yaml_load_file(&docs[i], path, NULL) != HUB_OK) {
                fprintf(stderr, "fuzz_yaml: cannot load %s; schemas using it will not load\n",
                        path);
            }
        }
    }
    return docs;
}

// Touches one node through every reader, whatever its kind.
static void
s_touch(s_walk_t *w, int node)
{
    const hub_yaml_t *doc = w->doc;
    char where[HUB_DIAG_WHERE_MAX], tiny[8];
    hub_yaml_where(doc, node, where, sizeof where);
    hub_yaml_where(doc, node, tiny, sizeof tiny); // truncation
    w->sink += strlen(where) + strlen(tiny) + (size_t) hub_yaml_line(doc, node);
    size_t len = 0;
    const char *s = hub_yaml_str(doc, node, &len);
    if (s) {
        if (strlen(s) > len) {
            fu_fail("scalar at %s: strlen %zu > length %zu", where, strlen(s), len);
        }
        int64_t v;
        w->sink += hub_yaml_is_plain(doc, node) + hub_yaml_parse_int(s, &v);
        if (w->suggests < S_MAX_SUGGEST) {
            w->suggests++;
            const char *hint = hub_yaml_suggest(s, s_allowed);
            w->sink += hint ? strlen(hint) : 0;
        }
    }
    hub_yaml_kind_t kind = hub_yaml_kind(doc, node);
    if ((kind == HUB_YAML_SCALAR) != (s != NULL) ||
        (kind == HUB_YAML_SCALAR && hub_yaml_len(doc, node) != 0)) {
        fu_fail("node %d at %s: kind and readers disagree", node, where);
    }
}

// Reads the pairs of mapping NODE and checks its keys (within budget).
static void
s_touch_map(s_walk_t *w, int node)
{
    const hub_yaml_t *doc = w->doc;
    size_t n = hub_yaml_len(doc, node);
    for (size_t i = 0; i < n; i++) {
        int k = hub_yaml_key(doc, node, i), v = hub_yaml_value(doc, node, i);
        if (k <= 0 || v <= 0) {
            fu_fail("mapping %d pair %zu has no key or value", node, i);
        }
        const char *ks = hub_yaml_str(doc, k, NULL);
        if (ks && hub_yaml_get(doc, node, ks) == 0) {
            fu_fail("hub_yaml_get does not find key '%.40s' of mapping %d", ks, node);
        }
    }
    if (hub_yaml_key(doc, node, n) != 0 || hub_yaml_value(doc, node, n) != 0 ||
        hub_yaml_item(doc, node, 0) != 0) {
        fu_fail("mapping %d hands out nodes past its end", node);
    }
    if (n < 4096 && w->pair_work + n * n <= S_MAX_PAIR_WORK) {
        w->pair_work += n * n;
        size_t dups = hub_yaml_check_keys(doc, node, NULL, w->diag);
        if (w->allowed_checks < S_MAX_ALLOWED_CHECKS) {
            w->allowed_checks++;
            w->pair_work += n * n;
            if (hub_yaml_check_keys(doc, node, s_allowed, w->diag) < dups) {
                fu_fail("check_keys found fewer problems with an allow-list");
            }
        }
    }
    const char *str;
    int64_t i64;
    bool b;
    w->sink += (size_t) hub_yaml_get_str(doc, node, "type", false, &str, w->diag);
    w->sink += (size_t) hub_yaml_get_int(doc, node, "version", false, &i64, w->diag);
    w->sink += (size_t) hub_yaml_get_bool(doc, node, "required", true, &b, w->diag);
    w->sink += hub_yaml_expect(doc, node, HUB_YAML_SEQ, "a list", w->diag);
}

static void
s_touch_seq(s_walk_t *w, int node)
{
    size_t n = hub_yaml_len(w->doc, node);
    for (size_t i = 0; i < n; i++) {
        if (hub_yaml_item(w->doc, node, i) <= 0) {
            fu_fail("sequence %d item %zu is no node", node, i);
        }
    }
    if (hub_yaml_item(w->doc, node, n) != 0 || hub_yaml_key(w->doc, node, 0) != 0) {
        fu_fail("sequence %d hands out nodes past its end", node);
    }
}

// Walks from NODE down, following aliases, within the depth and visit budget
// (the by-id pass has already touched every node in full).
static void
s_walk(s_walk_t *w, int node, unsigned depth)
{
    if (depth > S_MAX_DEPTH || w->visits >= S_MAX_VISITS) {
        return;
    }
    w->visits++;
    size_t len = 0;
    const char *str = hub_yaml_str(w->doc, node, &len);
    w->sink += str ? len : (size_t) hub_yaml_line(w->doc, node);
    size_t n = hub_yaml_len(w->doc, node);
    hub_yaml_kind_t kind = hub_yaml_kind(w->doc, node);
    for (size_t i = 0; i < n && w->visits < S_MAX_VISITS; i++) {
        if (kind == HUB_YAML_SEQ) {
            s_walk(w, hub_yaml_item(w->doc, node, i), depth + 1);
        } else {
            s_walk(w, hub_yaml_key(w->doc, node, i), depth + 1);
            s_walk(w, hub_yaml_value(w->doc, node, i), depth + 1);
        }
    }
}

// Every node by id (ids are 1..N), then the tree from the root.
static void
s_walk_document(const hub_yaml_t *doc, hub_diag_t *diag)
{
    s_walk_t w = {.doc = doc, .diag = diag};
    int root = hub_yaml_root(doc);
    if (root == 0 && hub_yaml_kind(doc, 1) != HUB_YAML_NONE) {
        fu_fail("no root, but node 1 exists");
    }
    if (strcmp(hub_yaml_name(doc), S_DOC_NAME) != 0) {
        fu_fail("document name changed");
    }
    int id = 1;
    for (; hub_yaml_kind(doc, id) != HUB_YAML_NONE; id++) {
        s_touch(&w, id);
        if (hub_yaml_kind(doc, id) == HUB_YAML_MAP) {
            s_touch_map(&w, id);
        } else if (hub_yaml_kind(doc, id) == HUB_YAML_SEQ) {
            s_touch_seq(&w, id);
        }
    }
    s_touch(&w, 0);
    s_touch(&w, -1);
    s_touch(&w, id); // one past the last node
    if (root) {
        s_walk(&w, root, 0);
    }
    fu_check_diag(diag);
}

// ------------------------------------------------------------ code tables

static void
s_check_codes(const hub_codes_t *codes)
{
    size_t n = hub_codes_count(codes);
    for (size_t i = 0; i < n; i++) {
        const hub_code_t *c = hub_codes_at(codes, i);
        if (!c || !c->code || !c->zh || !c->en) {
            fu_fail("code table '%s': entry %zu incomplete", hub_codes_name(codes), i);
        }
        if (i > 0 && strcmp(hub_codes_at(codes, i - 1)->code, c->code) >= 0) {
            fu_fail("code table '%s': codes not sorted or not unique", hub_codes_name(codes));
        }
        const hub_code_t *found = hub_codes_find(codes, c->code, strlen(c->code));
        if (found != c) {
            fu_fail("code table '%s': hub_codes_find misses '%.40s'", hub_codes_name(codes),
                    c->code);
        }
        if (!hub_codes_match(codes, c->zh, strlen(c->zh)) ||
            !hub_codes_match(codes, c->en, strlen(c->en))) {
            fu_fail("code table '%s': hub_codes_match misses a name", hub_codes_name(codes));
        }
        for (size_t a = 0; a < c->naliases; a++) {
            if (!c->aliases[a] || !hub_codes_match(codes, c->aliases[a], strlen(c->aliases[a]))) {
                fu_fail("code table '%s': hub_codes_match misses an alias", hub_codes_name(codes));
            }
        }
    }
    if (hub_codes_at(codes, n) != NULL) {
        fu_fail("code table hands out an entry past its end");
    }
    (void) hub_codes_standard(codes);
    (void) hub_codes_file(codes);
}

static void
s_try_codes(const hub_yaml_t *doc, hub_diag_t *diag)
{
    hub_schemas_t *set = fu_need(hub_schemas_new());
    hub_diag_reset(diag);
    int rc = hub_schemas_add_codes(set, doc, diag);
    fu_check_diag(diag);
    if (rc != HUB_OK) {
        fu_check_failure_reported(rc, diag, "hub_schemas_add_codes");
        if (hub_schemas_codes_count(set) != 0) {
            fu_fail("a failed hub_schemas_add_codes changed the set");
        }
    } else {
        hub_schemas_finish(set);
        const hub_codes_t *codes = hub_schemas_codes_at(set, 0);
        if (hub_schemas_codes_count(set) != 1 || !codes ||
            hub_schemas_codes(set, hub_codes_name(codes)) != codes) {
            fu_fail("an added code table cannot be found");
        }
        s_check_codes(codes);
        hub_diag_reset(diag);
        if (hub_schemas_add_codes(set, doc, diag) == HUB_OK) {
            fu_fail("the same code table was added twice");
        }
    }
    hub_schemas_destroy(&set);
}

// ------------------------------------------------------------ schemas

// A sample string for type T: VARIANT 0 is meant to be valid, 1 is a
// non-canonical or wrong form.
static const char *
s_sample_str(const hub_field_spec_t *f, hub_ftype_t t, int variant)
{
    switch (t) {
    case HUB_FT_NAME:
        return variant ? "阿苏•拉且" : "阿苏·拉且";
    case HUB_FT_TEXT:
        return variant ? "a\x01" : "line one\nline two";
    case HUB_FT_DATE:
        return variant ? "2026-02-30" : "2026-09-15";
    case HUB_FT_YEARMONTH:
        return variant ? "2026-13" : "2026-09";
    case HUB_FT_DATETIME:
        return variant ? "2026-09-16 08:30" : "2026-09-16T08:30:00+08:00";
    case HUB_FT_ENUM: {
        const hub_code_t *c = f->codes ? hub_codes_at(f->codes, 0) : NULL;
        return c ? (variant ? c->zh : c->code) : "x";
    }
    case HUB_FT_CITIZEN_ID:
        return variant ? "513431100105001" : "513431201001050019";
    case HUB_FT_DIVISION:
        return variant ? "513499" : "513431";
    case HUB_FT_STUDENT_NO:
        return variant ? "G51343120100105001X" : "G513431201001050019";
    case HUB_FT_USCC:
        return variant ? "91510100MA61R2XW3" : "91513431MA62G0XW1Q";
    case HUB_FT_PHONE:
        return variant ? "+86 138-0013-8000" : "13800138000";
    case HUB_FT_ICD10:
        return variant ? "j18" : "J18.9";
    case HUB_FT_DISABILITY_NO:
        return variant ? "51343120100105001981" : "51343120100105001941";
    case HUB_FT_MSG_ID:
        return variant ? "no spaces allowed" : "9f2c4e0a1b7d4c3e8a6f0b1c2d3e4f50";
    default:
        return variant ? "\xe2\x80\xa8 tab\there" : "abc";
    }
}

static hub_val_t
s_sample_scalar(const hub_field_spec_t *f, hub_ftype_t t, int variant)
{
    if (t == HUB_FT_INT || t == HUB_FT_MONEY) {
        if (variant) {
            return hub_val_int(f->has_max ? INT64_MAX : INT64_MIN);
        }
        return hub_val_int(f->has_min ? f->min : f->has_max ? f->max : 1);
    }
    if (t == HUB_FT_BOOL) {
        return variant ? hub_val_str("yes", 3) : hub_val_bool(true);
    }
    const char *s = s_sample_str(f, t, variant);
    return hub_val_str(s, strlen(s));
}

static void
s_set_body(hub_msg_t *msg, const hub_field_spec_t *f, int variant)
{
    hub_val_t v;
    hub_val_t items[3];
    if (f->type == HUB_FT_LIST) {
        items[0] = s_sample_scalar(f, f->item_type, 0);
        items[1] = s_sample_scalar(f, f->item_type, variant);
        items[2] = hub_val_int(-1);
        v = (hub_val_t){HUB_VAL_LIST, variant ? 3 : 2, {.items = items}};
    } else {
        v = s_sample_scalar(f, f->type, variant);
    }
    if (hub_msg_body_set(msg, f->name, strlen(f->name), &v) != HUB_OK) {
        fu_fail("hub_msg_body_set failed for '%s'", f->name);
    }
}

// A message of SCHEMA's type filled from its own specs, validated as is
// and normalised.
static void
s_validate_samples(const hub_schemas_t *set, const hub_schema_t *schema, hub_diag_t *diag)
{
    hub_msg_t *msg = fu_need(hub_msg_new());
    for (int variant = 0; variant < 2; variant++) {
        hub_msg_reset(msg);
        hub_msg_set_env_str(msg, HUB_ENV_ID, "9f2c4e0a1b7d4c3e8a6f0b1c2d3e4f50");
        hub_msg_set_env_str(msg, HUB_ENV_TYPE, schema->type);
        hub_val_t ver = hub_val_int(variant ? schema->version + 1 : schema->version);
        hub_msg_set_env(msg, HUB_ENV_SCHEMA_VERSION, &ver);
        hub_msg_set_env_str(msg, HUB_ENV_SOURCE, variant ? "nobody" : "health");
        hub_msg_set_env_str(msg, HUB_ENV_EVENT_DATE, "2026-09-15");
        for (int i = 0; i < HUB_SUBJ_COUNT; i++) {
            const hub_field_spec_t *f = &schema->subject[i];
            if (schema->has_subject[i] || variant) {
                hub_msg_set_subj_str(msg, (hub_subj_t) i, s_sample_str(f, f->type, variant));
            }
        }
        for (size_t i = 0; i < schema->nfields; i++) {
            s_set_body(msg, &schema->fields[i], variant);
        }
        if (variant) {
            hub_msg_body_set_str(msg, "zzz_not_in_schema", "x");
        }
        hub_diag_reset(diag);
        int rc = hub_validate(set, msg, 0, diag);
        if (rc != HUB_OK && rc != HUB_EINVALID) {
            fu_fail("hub_validate returned %s", hub_error_name(rc));
        }
        fu_check_diag(diag);
        hub_diag_reset(diag);
        rc = hub_validate(set, msg, HUB_VALIDATE_NORMALIZE, diag);
        if (rc != HUB_OK && rc != HUB_EINVALID) {
            fu_fail("hub_validate (normalize) returned %s", hub_error_name(rc));
        }
        fu_check_normalised(set, msg, diag);
    }
    hub_msg_destroy(&msg);
}

// A schema that loaded must be consistent: fields sorted, findable by name
// and path, subject specs where has_subject says.
static void
s_check_schema(const hub_schema_t *s)
{
    if (!s->type || s->version < 1 || !s->title_zh || !s->title_en || !s->file) {
        fu_fail("schema head incomplete");
    }
    for (size_t i = 0; i < s->nfields; i++) {
        const hub_field_spec_t *f = &s->fields[i];
        if (!f->name || !f->path || !f->zh || !f->en || (unsigned) f->type >= HUB_FT_COUNT) {
            fu_fail("schema %s: field %zu incomplete", s->type, i);
        }
        if (i > 0 && strcmp(s->fields[i - 1].name, f->name) >= 0) {
            fu_fail("schema %s: fields not sorted or not unique", s->type);
        }
        if (hub_schema_field(s, f->name, strlen(f->name)) != f ||
            hub_schema_path(s, f->path) != f) {
            fu_fail("schema %s: field '%s' cannot be found", s->type, f->name);
        }
        hub_ftype_t base = f->type == HUB_FT_LIST ? f->item_type : f->type;
        if ((base == HUB_FT_ENUM) != (f->codes != NULL)) {
            fu_fail("schema %s: field '%s' enum without codes", s->type, f->name);
        }
        (void) hub_ftype_name(f->type);
        (void) hub_sens_name(f->sensitivity);
        (void) hub_share_name(f->share);
    }
    for (int i = 0; i < HUB_SUBJ_COUNT; i++) {
        if (s->has_subject[i] && (!s->subject[i].path || !s->subject[i].zh)) {
            fu_fail("schema %s: subject field %d incomplete", s->type, i);
        }
    }
}

static void
s_try_schema(const hub_yaml_t *doc, hub_diag_t *diag)
{
    hub_schemas_t *set = fu_need(hub_schemas_new());
    hub_yaml_t **templates = s_templates();
    for (size_t i = 0; i < S_TEMPLATES; i++) {
        if (templates[i] && hub_schemas_add_codes(set, templates[i], NULL) != HUB_OK) {
            fu_fail("a template code table does not load");
        }
    }
    hub_schemas_finish(set);
    hub_diag_reset(diag);
    int rc = hub_schemas_add_schema(set, doc, diag);
    fu_check_diag(diag);
    if (rc != HUB_OK) {
        fu_check_failure_reported(rc, diag, "hub_schemas_add_schema");
        if (hub_schemas_count(set) != 0) {
            fu_fail("a failed hub_schemas_add_schema changed the set");
        }
    } else {
        hub_schemas_finish(set);
        const hub_schema_t *s = hub_schemas_at(set, 0);
        if (hub_schemas_count(set) != 1 || !s ||
            hub_schemas_find(set, s->type, strlen(s->type)) != s) {
            fu_fail("an added schema cannot be found");
        }
        s_check_schema(s);
        s_validate_samples(set, s, diag);
        hub_diag_reset(diag);
        if (hub_schemas_add_schema(set, doc, diag) == HUB_OK) {
            fu_fail("the same schema type was added twice");
        }
    }
    hub_schemas_destroy(&set);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hub_diag_t *diag = fu_need(hub_diag_new());
    hub_yaml_t *doc = NULL;
    int rc = hub_yaml_load_buffer(&doc, S_DOC_NAME, data, size, diag);
    fu_check_diag(diag);
    if (rc != HUB_OK) {
        if (doc) {
            fu_fail("hub_yaml_load_buffer failed but handed out a document");
        }
        fu_check_failure_reported(rc, diag, "hub_yaml_load_buffer");
    } else {
        s_walk_document(doc, diag);
        s_try_codes(doc, diag);
        s_try_schema(doc, diag);
    }
    hub_yaml_destroy(&doc);
    hub_diag_destroy(&diag);
    return 0;
}
