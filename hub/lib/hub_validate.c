#include "hub_validate.h"

#include "hub_error.h"
#include "hub_ids.h"
#include "hub_utf8.h"
#include "hub_yaml.h"

#include <stdarg.h>
#include <string.h>

typedef struct {
    const hub_schemas_t *schemas;
    hub_msg_t *msg;
    unsigned flags;
    hub_diag_t *diag;
    size_t errors; // errors found so far
    const hub_codes_t *divisions;
} s_ctx_t;

// What checking one string found.
typedef enum {
    S_OK = 0,
    S_BAD, // reported
    S_FIX, // valid once rewritten into FIX (not reported yet)
} s_verdict_t;

#define S_FIX_MAX 256

static void
s_err(s_ctx_t *c, const char *reason, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
s_err(s_ctx_t *c, const char *reason, const char *path, const char *fmt, ...)
{
    c->errors++;
    if (!c->diag) {
        return;
    }
    char text[HUB_DIAG_TEXT_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    hub_diag_add(c->diag, HUB_DIAG_ERROR, reason, path, "%s", text);
}

static const char *
s_ids_reason(hub_ids_reason_t r)
{
    switch (r) {
    case HUB_IDS_CHECK:
        return "check_char";
    case HUB_IDS_LENGTH:
        return "bad_length";
    default:
        return "bad_value";
    }
}

static s_verdict_t
s_check_text(s_ctx_t *c, const hub_field_spec_t *f, hub_ftype_t t, const hub_val_t *v,
             const char *path)
{
    size_t bad, n;
    if (!hub_utf8_valid(v->u.s, v->len, &bad)) {
        s_err(c, "bad_value", path, "not valid UTF-8 (byte %zu)", bad);
        return S_BAD;
    }
    if (!hub_utf8_scan(v->u.s, v->len, t == HUB_FT_TEXT, &n)) {
        s_err(c, "bad_value", path, "holds a control character");
        return S_BAD;
    }
    size_t max = f->max_length ? f->max_length : 256;
    if (n > max) {
        s_err(c, "too_long", path, "%zu characters, at most %zu allowed", n, max);
        return S_BAD;
    }
    if (t == HUB_FT_STRING && f->pattern && regexec(f->pattern, v->u.s, 0, NULL, 0) != 0) {
        s_err(c, "pattern", path, "'%.64s' does not match the pattern %s", v->u.s, f->pattern_src);
        return S_BAD;
    }
    return S_OK;
}

static s_verdict_t
s_check_name(s_ctx_t *c, const hub_field_spec_t *f, const hub_val_t *v, const char *path, char *fix)
{
    if (s_check_text(c, f, HUB_FT_NAME, v, path) != S_OK) {
        return S_BAD;
    }
    if (v->len == 0) {
        s_err(c, "bad_value", path, "a name cannot be empty");
        return S_BAD;
    }
    for (uint32_t i = 0; i < v->len; i++) {
        // ASCII digits, and full-width digits (EF BC 90..99).
        bool digit =
            (v->u.s[i] >= '0' && v->u.s[i] <= '9') ||
            (i + 2 < v->len && (unsigned char) v->u.s[i] == 0xEF &&
             (unsigned char) v->u.s[i + 1] == 0xBC && (unsigned char) v->u.s[i + 2] >= 0x90 &&
             (unsigned char) v->u.s[i + 2] <= 0x99);
        if (digit) {
            s_err(c, "bad_value", path, "a name cannot hold digits ('%.64s')", v->u.s);
            return S_BAD;
        }
    }
    if (v->len >= S_FIX_MAX || !hub_utf8_may_have_middle_dots(v->u.s, v->len)) {
        return S_OK;
    }
    memcpy(fix, v->u.s, v->len);
    size_t n = hub_utf8_fix_middle_dots(fix, v->len);
    fix[n] = '\0';
    return n == v->len && memcmp(fix, v->u.s, n) == 0 ? S_OK : S_FIX;
}

static s_verdict_t
s_check_cid(s_ctx_t *c, const hub_val_t *v, const char *path, char *fix)
{
    char detail[HUB_IDS_DETAIL_MAX];
    hub_ids_reason_t r = hub_cid_check(v->u.s, v->len, detail, sizeof detail);
    if (r == HUB_IDS_OK) {
        return S_OK;
    }
    hub_ids_reason_t r2 = hub_cid_normalize(v->u.s, v->len, fix, NULL, 0);
    if (r2 == HUB_IDS_OK) {
        return S_FIX;
    }
    // A raw form that normalising explains better (scientific notation, a
    // disability number) gets normalising's sentence.
    if (r2 == HUB_IDS_SCIENTIFIC || r2 == HUB_IDS_NOT_ID || r == HUB_IDS_LENGTH ||
        r == HUB_IDS_CHARSET) {
        hub_cid_normalize(v->u.s, v->len, fix, detail, sizeof detail);
        r = r2;
    }
    s_err(c, s_ids_reason(r), path, "%s", detail);
    return S_BAD;
}

static s_verdict_t
s_check_phone(s_ctx_t *c, const hub_val_t *v, const char *path, char *fix)
{
    char detail[HUB_IDS_DETAIL_MAX];
    if (hub_phone_check(v->u.s, v->len, NULL, 0) == HUB_IDS_OK) {
        return S_OK;
    }
    hub_ids_reason_t r = hub_phone_normalize(v->u.s, v->len, fix, S_FIX_MAX, detail, sizeof detail);
    if (r == HUB_IDS_OK) {
        return S_FIX;
    }
    s_err(c, "bad_value", path, "%s", detail);
    return S_BAD;
}

static s_verdict_t
s_check_division(s_ctx_t *c, const hub_val_t *v, const char *path)
{
    char detail[HUB_IDS_DETAIL_MAX];
    if (hub_division_check(v->u.s, v->len, detail, sizeof detail) != HUB_IDS_OK) {
        s_err(c, "bad_value", path, "%s", detail);
        return S_BAD;
    }
    // Liangshan county codes are checked against GB/T 2260 (retired codes
    // stay valid): a typo in a county code would misroute a person.
    if (c->divisions && memcmp(v->u.s, "5134", 4) == 0 &&
        !hub_codes_find(c->divisions, v->u.s, 6)) {
        s_err(c, "unknown_code", path, "%.6s is not a Liangshan division code (GB/T 2260)", v->u.s);
        return S_BAD;
    }
    return S_OK;
}

static s_verdict_t
s_check_enum(s_ctx_t *c, const hub_field_spec_t *f, const hub_val_t *v, const char *path, char *fix)
{
    if (hub_codes_find(f->codes, v->u.s, v->len)) {
        return S_OK;
    }
    const hub_code_t *hit = hub_codes_match(f->codes, v->u.s, v->len);
    if (hit && strlen(hit->code) < S_FIX_MAX) {
        snprintf(fix, S_FIX_MAX, "%s", hit->code);
        return S_FIX;
    }
    s_err(c, "unknown_code", path, "'%.64s' is not a code of table '%s' (%s)", v->u.s,
          hub_codes_name(f->codes), hub_codes_file(f->codes));
    return S_BAD;
}

// Checks a format with a hub_ids checker.
static s_verdict_t
s_check_ids(s_ctx_t *c, hub_ids_reason_t (*check)(const char *, size_t, char *, size_t),
            const hub_val_t *v, const char *path)
{
    char detail[HUB_IDS_DETAIL_MAX];
    hub_ids_reason_t r = check(v->u.s, v->len, detail, sizeof detail);
    if (r == HUB_IDS_OK) {
        return S_OK;
    }
    s_err(c, s_ids_reason(r), path, "%s", detail);
    return S_BAD;
}

static s_verdict_t
s_check_when(s_ctx_t *c, hub_ftype_t t, const hub_val_t *v, const char *path)
{
    hub_ids_reason_t r = t == HUB_FT_DATE        ? hub_date_check(v->u.s, v->len, NULL, NULL, NULL)
                         : t == HUB_FT_YEARMONTH ? hub_yearmonth_check(v->u.s, v->len)
                                                 : hub_datetime_check(v->u.s, v->len);
    if (r == HUB_IDS_OK) {
        return S_OK;
    }
    static const char *const forms[] = {"YYYY-MM-DD", "YYYY-MM", "YYYY-MM-DDTHH:MM:SS+08:00"};
    int i = t == HUB_FT_DATE ? 0 : t == HUB_FT_YEARMONTH ? 1 : 2;
    s_err(c, "bad_value", path, "'%.40s' is not a valid %s (%s)", v->u.s, hub_ftype_name(t),
          forms[i]);
    return S_BAD;
}

// Checks a string value of type T; may propose a canonical form in FIX.
static s_verdict_t
s_check_str(s_ctx_t *c, const hub_field_spec_t *f, hub_ftype_t t, const hub_val_t *v,
            const char *path, char *fix)
{
    switch (t) {
    case HUB_FT_STRING:
    case HUB_FT_TEXT:
        return s_check_text(c, f, t, v, path);
    case HUB_FT_NAME:
        return s_check_name(c, f, v, path, fix);
    case HUB_FT_DATE:
    case HUB_FT_YEARMONTH:
    case HUB_FT_DATETIME:
        return s_check_when(c, t, v, path);
    case HUB_FT_ENUM:
        return s_check_enum(c, f, v, path, fix);
    case HUB_FT_CITIZEN_ID:
        return s_check_cid(c, v, path, fix);
    case HUB_FT_DIVISION:
        return s_check_division(c, v, path);
    case HUB_FT_STUDENT_NO:
        return s_check_ids(c, hub_student_no_check, v, path);
    case HUB_FT_USCC:
        return s_check_ids(c, hub_uscc_check, v, path);
    case HUB_FT_PHONE:
        return s_check_phone(c, v, path, fix);
    case HUB_FT_ICD10:
        return s_check_ids(c, hub_icd10_check, v, path);
    case HUB_FT_DISABILITY_NO:
        return s_check_ids(c, hub_disability_no_check, v, path);
    case HUB_FT_MSG_ID:
        if (!hub_msg_id_valid(v->u.s, v->len)) {
            s_err(c, "bad_value", path, "a message id is 1-64 of A-Z a-z 0-9 . _ : -");
            return S_BAD;
        }
        return S_OK;
    default:
        break;
    }
    return S_OK;
}

static hub_val_kind_t
s_kind_for(hub_ftype_t t)
{
    switch (t) {
    case HUB_FT_INT:
    case HUB_FT_MONEY:
        return HUB_VAL_INT;
    case HUB_FT_BOOL:
        return HUB_VAL_BOOL;
    case HUB_FT_LIST:
        return HUB_VAL_LIST;
    default:
        return HUB_VAL_STR;
    }
}

static s_verdict_t
s_check_number(s_ctx_t *c, const hub_field_spec_t *f, const hub_val_t *v, const char *path)
{
    if ((f->has_min && v->u.i < f->min) || (f->has_max && v->u.i > f->max)) {
        char range[64];
        if (f->has_min && f->has_max) {
            snprintf(range, sizeof range, "%lld..%lld", (long long) f->min, (long long) f->max);
        } else if (f->has_min) {
            snprintf(range, sizeof range, ">= %lld", (long long) f->min);
        } else {
            snprintf(range, sizeof range, "<= %lld", (long long) f->max);
        }
        s_err(c, "out_of_range", path, "%lld is out of range (%s%s)", (long long) v->u.i, range,
              f->type == HUB_FT_MONEY ? " fen" : "");
        return S_BAD;
    }
    return S_OK;
}

static s_verdict_t
s_check_value(s_ctx_t *c, const hub_field_spec_t *f, hub_ftype_t t, const hub_val_t *v,
              const char *path, char *fix);

static s_verdict_t
s_check_list(s_ctx_t *c, const hub_field_spec_t *f, const hub_val_t *v, const char *path)
{
    s_verdict_t worst = S_OK;
    for (uint32_t i = 0; i < v->len; i++) {
        char ipath[HUB_DIAG_WHERE_MAX], fix[S_FIX_MAX];
        snprintf(ipath, sizeof ipath, "%.160s[%u]", path, i);
        s_verdict_t r = s_check_value(c, f, f->item_type, &v->u.items[i], ipath, fix);
        if (r == S_FIX) { // list items are not rewritten
            s_err(c, "not_canonical", ipath, "write '%s' instead", fix);
            r = S_BAD;
        }
        worst = r > worst ? r : worst;
    }
    return worst;
}

static s_verdict_t
s_check_value(s_ctx_t *c, const hub_field_spec_t *f, hub_ftype_t t, const hub_val_t *v,
              const char *path, char *fix)
{
    hub_val_kind_t want = s_kind_for(t);
    if (v->kind != want) {
        s_err(c, "wrong_type", path, "expected %s (%s), found %s", hub_val_kind_name(want),
              hub_ftype_name(t), hub_val_kind_name(v->kind));
        return S_BAD;
    }
    switch (want) {
    case HUB_VAL_INT:
        return s_check_number(c, f, v, path);
    case HUB_VAL_LIST:
        return s_check_list(c, f, v, path);
    case HUB_VAL_STR:
        return s_check_str(c, f, t, v, path, fix);
    default:
        return S_OK;
    }
}

// Checks the value at PATH of field F; applies or reports a canonical form.
// SUBJ is the subject slot, or -1 for a body field.
static int
s_check_field(s_ctx_t *c, const hub_field_spec_t *f, const hub_val_t *v, int subj)
{
    char fix[S_FIX_MAX];
    s_verdict_t r = s_check_value(c, f, f->type, v, f->path, fix);
    if (r != S_FIX) {
        return HUB_OK;
    }
    if (!(c->flags & HUB_VALIDATE_NORMALIZE)) {
        s_err(c, "not_canonical", f->path, "'%.64s' is not in canonical form: write '%s'", v->u.s,
              fix);
        return HUB_OK;
    }
    hub_diag_add(c->diag, HUB_DIAG_NOTE, "normalised", f->path, "'%.64s' normalised to '%s'",
                 v->u.s, fix);
    hub_val_t nv = hub_val_str(fix, strlen(fix));
    return subj >= 0 ? hub_msg_set_subj(c->msg, (hub_subj_t) subj, &nv)
                     : hub_msg_body_set(c->msg, f->name, strlen(f->name), &nv);
}

// Envelope values are checked with ad-hoc specs of these types.
static int
s_check_env_str(s_ctx_t *c, hub_env_t which, hub_ftype_t t, bool required)
{
    const hub_val_t *v = hub_msg_env(c->msg, which);
    const char *path = hub_env_name(which);
    if (v->kind == HUB_VAL_NONE) {
        if (required) {
            s_err(c, "required", path, "missing; every message has one");
        }
        return HUB_OK;
    }
    hub_field_spec_t spec = {.name = path, .path = path, .type = t, .max_length = 256};
    char fix[S_FIX_MAX];
    s_check_value(c, &spec, t, v, path, fix);
    return HUB_OK;
}

static void
s_check_source(s_ctx_t *c)
{
    const hub_codes_t *depts = hub_schemas_codes(c->schemas, "department");
    const hub_val_t *v = hub_msg_env(c->msg, HUB_ENV_SOURCE);
    if (depts && v->kind == HUB_VAL_STR && !hub_codes_find(depts, v->u.s, v->len)) {
        s_err(c, "unknown_code", "source",
              "'%.64s' is not a department (schemas/codes/department.yaml)", v->u.s);
    }
}

static const hub_schema_t *
s_check_envelope(s_ctx_t *c)
{
    s_check_env_str(c, HUB_ENV_ID, HUB_FT_MSG_ID, true);
    s_check_env_str(c, HUB_ENV_SOURCE, HUB_FT_STRING, true);
    s_check_source(c);
    s_check_env_str(c, HUB_ENV_SOURCE_REF, HUB_FT_STRING, false);
    s_check_env_str(c, HUB_ENV_EVENT_DATE, HUB_FT_DATE, true);
    s_check_env_str(c, HUB_ENV_RECORDED_AT, HUB_FT_DATETIME, false);
    const hub_val_t *type = hub_msg_env(c->msg, HUB_ENV_TYPE);
    const hub_val_t *ver = hub_msg_env(c->msg, HUB_ENV_SCHEMA_VERSION);
    if (type->kind != HUB_VAL_STR) {
        s_err(c, "required", "type", "missing; every message has a type");
        return NULL;
    }
    const hub_schema_t *s = hub_schemas_find(c->schemas, type->u.s, type->len);
    if (!s) {
        const char *names[64] = {NULL};
        for (size_t i = 0; i < hub_schemas_count(c->schemas) && i < 63; i++) {
            names[i] = hub_schemas_at(c->schemas, i)->type;
        }
        const char *hint = hub_yaml_suggest(type->u.s, names);
        s_err(c, "unknown_type", "type", "no schema for type '%.64s'%s%s%s", type->u.s,
              hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
        return NULL;
    }
    if (ver->kind != HUB_VAL_INT) {
        s_err(c, "required", "schema_version", "missing; the schema version the message follows");
    } else if (ver->u.i < 1 || ver->u.i > s->version) {
        s_err(c, ver->u.i < 1 ? "bad_value" : "version_newer", "schema_version",
              "version %lld, but the hub knows %s version %lld", (long long) ver->u.i, s->type,
              (long long) s->version);
    }
    return s;
}

static int
s_check_subject(s_ctx_t *c, const hub_schema_t *s)
{
    int rc = HUB_OK;
    for (int i = 0; i < HUB_SUBJ_COUNT && !rc; i++) {
        const hub_val_t *v = hub_msg_subj(c->msg, (hub_subj_t) i);
        const char *path = s->subject[i].path;
        if (!s->has_subject[i]) {
            if (v->kind != HUB_VAL_NONE) {
                char p[64];
                snprintf(p, sizeof p, "subject.%s", hub_subj_name((hub_subj_t) i));
                path = p;
                s_err(c, "unknown_field", path, "%s carries no subject field '%s'", s->type,
                      hub_subj_name((hub_subj_t) i));
            }
        } else if (v->kind == HUB_VAL_NONE) {
            if (s->subject[i].required) {
                s_err(c, "required", path, "required by %s", s->type);
            }
        } else {
            rc = s_check_field(c, &s->subject[i], v, i);
        }
    }
    return rc;
}

static void
s_unknown_body(s_ctx_t *c, const hub_schema_t *s, const hub_field_t *bf)
{
    char path[96];
    snprintf(path, sizeof path, "body.%s", bf->name);
    const char *names[128] = {NULL};
    for (size_t i = 0; i < s->nfields && i < 127; i++) {
        names[i] = s->fields[i].name;
    }
    const char *hint = hub_yaml_suggest(bf->name, names);
    s_err(c, "unknown_field", path, "%s has no field '%s'%s%s%s", s->type, bf->name,
          hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
}

// Walks the message body and the schema's fields together: both are sorted
// by name, so one pass finds unknown, missing and present fields.
static int
s_check_body(s_ctx_t *c, const hub_schema_t *s)
{
    size_t i = 0, j = 0, n = hub_msg_body_count(c->msg);
    int rc = HUB_OK;
    while (!rc && (i < n || j < s->nfields)) {
        const hub_field_t *bf = hub_msg_body_at(c->msg, i);
        const hub_field_spec_t *f = j < s->nfields ? &s->fields[j] : NULL;
        int cmp = !bf ? 1 : !f ? -1 : strcmp(bf->name, f->name);
        if (cmp < 0) {
            s_unknown_body(c, s, bf);
            i++;
        } else if (cmp > 0) {
            if (f->required) {
                s_err(c, "required", f->path, "required by %s", s->type);
            }
            j++;
        } else {
            rc = s_check_field(c, f, &bf->val, -1);
            i++, j++;
        }
    }
    return rc;
}

// A citizen ID carries the birth date and the sex: when the subject gives
// them too they must agree, or one of them is wrong and routing by age
// would be wrong with it.
static void
s_check_consistency(s_ctx_t *c)
{
    const hub_val_t *id = hub_msg_subj(c->msg, HUB_SUBJ_CITIZEN_ID);
    if (id->kind != HUB_VAL_STR || hub_cid_check(id->u.s, id->len, NULL, 0) != HUB_IDS_OK) {
        return;
    }
    const hub_val_t *bd = hub_msg_subj(c->msg, HUB_SUBJ_BIRTH_DATE);
    if (bd->kind == HUB_VAL_STR && bd->len == 10) {
        const char *d = id->u.s + 6; // YYYYMMDD inside the ID
        char want[11] = {d[0], d[1], d[2], d[3], '-', d[4], d[5], '-', d[6], d[7], '\0'};
        if (memcmp(want, bd->u.s, 10) != 0) {
            s_err(c, "inconsistent", "subject.birth_date",
                  "%s disagrees with the birth date in the citizen ID (%s)", bd->u.s, want);
        }
    }
    const hub_val_t *sex = hub_msg_subj(c->msg, HUB_SUBJ_SEX);
    if (sex->kind == HUB_VAL_STR && sex->len == 1 && (sex->u.s[0] == '1' || sex->u.s[0] == '2')) {
        bool male = hub_cid_is_male(id->u.s);
        if (male != (sex->u.s[0] == '1')) {
            s_err(c, "inconsistent", "subject.sex",
                  "%s disagrees with the citizen ID, whose sequence digit says %s", sex->u.s,
                  male ? "male (1)" : "female (2)");
        }
    }
}

int
hub_validate(const hub_schemas_t *schemas, hub_msg_t *msg, unsigned flags, hub_diag_t *diag)
{
    s_ctx_t c = {schemas, msg, flags, diag, 0, hub_schemas_codes(schemas, "division")};
    const hub_schema_t *s = s_check_envelope(&c);
    int rc = HUB_OK;
    if (s) {
        rc = s_check_subject(&c, s);
        if (!rc) {
            rc = s_check_body(&c, s);
        }
        if (!rc) {
            s_check_consistency(&c);
        }
    }
    if (rc) {
        return rc;
    }
    return c.errors ? HUB_EINVALID : HUB_OK;
}

int
hub_validate_value(const hub_schemas_t *schemas, const hub_field_spec_t *spec, const hub_val_t *v,
                   const char *path, hub_diag_t *diag)
{
    s_ctx_t c = {schemas, NULL, 0, diag, 0, hub_schemas_codes(schemas, "division")};
    char fix[S_FIX_MAX];
    if (s_check_value(&c, spec, spec->type, v, path, fix) == S_FIX) {
        s_err(&c, "not_canonical", path, "not in canonical form: write '%s'", fix);
    }
    return c.errors ? HUB_EINVALID : HUB_OK;
}
