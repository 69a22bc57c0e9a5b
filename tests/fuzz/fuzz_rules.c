// fuzz_rules: the rules loader (hub_rules) on arbitrary text, as an
// operator could write it in config/rules.d/, and every rule set it accepts
// routing the example messages.
//
// Once per process: a configuration directory under /tmp (hub.yaml naming
// the repository's schemas by absolute path, a copy of
// config/departments.yaml, an empty rules.d/), the schemas ($HUB_SCHEMAS or
// ./schemas), the departments, and the valid example messages of
// tests/data/messages (one per type). Each input is written to
// rules.d/fuzz.yaml and loaded with hub_rules_load. Invariants:
//   - failure: no rule set, at least one error, every entry well formed;
//   - success: no error; a 64-hex version, the same when loaded again;
//     the law holds for every rule (no share-none field released, nor
//     derived from one; sensitive fields only with purpose and legal basis;
//     restricted types only to their statutory endpoints); the index
//     (hub_rules_for) agrees with a scan of the rules;
//   - routing each example message never crashes, and every delivery holds
//     only fields its rules release (not dropped), none of share category
//     none, and a restricted type reaches only its statutory recipients.
// Everything made per input is destroyed (LeakSanitizer runs in `make fuzz`).
#include "fuzz_util.h"
#include "hub_config.h"
#include "hub_depts.h"
#include "hub_json.h"
#include "hub_route.h"
#include "hub_rules.h"

#include <dirent.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define S_MAX_MSGS 32

typedef struct {
    char dir[64];       // the configuration directory
    char rules_dir[96]; // DIR/rules.d
    char file[128];     // DIR/rules.d/fuzz.yaml
    hub_depts_t *depts;
    hub_msg_t *msgs[S_MAX_MSGS];
    size_t nmsgs;
    pid_t owner; // the process that made DIR removes it
} s_env_t;

static s_env_t s_env;

// The configuration to copy: $HUB_CONFIG, else "config" (from the repository root).
static const char *
s_config_dir(void)
{
    const char *dir = getenv("HUB_CONFIG");
    return dir && dir[0] ? dir : "config";
}

static void
s_remove_env(void)
{
    if (s_env.owner != getpid() || !s_env.dir[0]) {
        return; // a forked child (replay, -fork=N) leaves it to its parent
    }
    char path[160];
    unlink(s_env.file);
    snprintf(path, sizeof path, "%s/hub.yaml", s_env.dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/departments.yaml", s_env.dir);
    unlink(path);
    rmdir(s_env.rules_dir);
    rmdir(s_env.dir);
}

static char *
s_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = fu_need(malloc(cap + 1));
    while ((n += fread(buf + n, 1, cap - n, f)) == cap) {
        cap *= 2;
        buf = fu_need(realloc(buf, cap + 1));
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

static void
s_write(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fu_fail("cannot write %s", path);
    }
}

// The valid example messages (tests/data/messages/*.json), once.
static void
s_load_messages(const hub_schemas_t *schemas)
{
    DIR *d = opendir("tests/data/messages");
    struct dirent *e;
    hub_diag_t *diag = fu_need(hub_diag_new());
    while (d && (e = readdir(d)) != NULL && s_env.nmsgs < S_MAX_MSGS) {
        size_t n = strlen(e->d_name), len = 0;
        char path[PATH_MAX];
        if (n < 6 || strcmp(e->d_name + n - 5, ".json") != 0) {
            continue;
        }
        snprintf(path, sizeof path, "tests/data/messages/%s", e->d_name);
        char *text = s_read(path, &len);
        hub_msg_t *m = fu_need(hub_msg_new());
        hub_diag_reset(diag);
        if (text && hub_json_to_msg(m, text, len, path, diag) == HUB_OK &&
            hub_validate(schemas, m, HUB_VALIDATE_NORMALIZE, diag) == HUB_OK) {
            s_env.msgs[s_env.nmsgs++] = m;
        } else {
            hub_msg_destroy(&m);
        }
        free(text);
    }
    if (d) {
        closedir(d);
    }
    hub_diag_destroy(&diag);
}

// Makes the configuration directory and loads what stays (once).
static bool
s_setup(void)
{
    static bool tried, ok;
    if (tried) {
        return ok;
    }
    tried = true;
    const hub_schemas_t *schemas = fu_schemas();
    char cwd[PATH_MAX], src[PATH_MAX + 32];
    size_t len = 0;
    snprintf(s_env.dir, sizeof s_env.dir, "/tmp/fuzz_rules.XXXXXX");
    if (!schemas || !getcwd(cwd, sizeof cwd) || !mkdtemp(s_env.dir)) {
        fprintf(stderr, "fuzz_rules: no schemas or no temporary directory; nothing tested\n");
        return false;
    }
    s_env.owner = getpid();
    atexit(s_remove_env);
    snprintf(s_env.rules_dir, sizeof s_env.rules_dir, "%s/rules.d", s_env.dir);
    snprintf(s_env.file, sizeof s_env.file, "%s/fuzz.yaml", s_env.rules_dir);
    if (mkdir(s_env.rules_dir, 0700) != 0) {
        fu_fail("cannot make %s", s_env.rules_dir);
    }
    char hub[PATH_MAX + 64], path[160];
    const char *sd = fu_schema_dir();
    int n = snprintf(hub, sizeof hub, "schemas: %s%s%s\ndepartments: departments.yaml\n",
                     sd[0] == '/' ? "" : cwd, sd[0] == '/' ? "" : "/", sd);
    snprintf(path, sizeof path, "%s/hub.yaml", s_env.dir);
    s_write(path, hub, (size_t) n);
    snprintf(src, sizeof src, "%s/departments.yaml", s_config_dir());
    char *depts = s_read(src, &len);
    if (!depts) {
        fprintf(stderr, "fuzz_rules: cannot read %s (run from the repository root)\n", src);
        return false;
    }
    snprintf(path, sizeof path, "%s/departments.yaml", s_env.dir);
    s_write(path, depts, len);
    free(depts);
    hub_diag_t *diag = fu_need(hub_diag_new());
    if (hub_depts_load(&s_env.depts, path, schemas, diag) != HUB_OK) {
        hub_diag_print(diag, stderr);
        fu_fail("the shipped departments.yaml does not load");
    }
    hub_diag_destroy(&diag);
    s_load_messages(schemas);
    ok = true;
    return ok;
}

static bool
s_statutory(const char *type, const char *endpoint)
{
    size_t n = 0;
    const char *const *who = hub_depts_statutory(s_env.depts, type, &n);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(who[i], endpoint) == 0) {
            return true;
        }
    }
    return false;
}

// The law, checked again on what the loader accepted.
static void
s_check_rule_law(const hub_rule_t *r)
{
    for (size_t i = 0; i < r->nfields; i++) {
        const hub_field_spec_t *f = r->fields[i].spec;
        if (f->share == HUB_SHARE_NONE) {
            fu_fail("rule '%s' loaded releasing share-none %s", r->id, f->path);
        }
        if (f->sensitivity >= HUB_SENS_SENSITIVE && (!r->purpose || !r->legal_basis)) {
            fu_fail("rule '%s' loaded releasing %s without purpose and legal basis", r->id,
                    f->path);
        }
        for (size_t k = 0; r->derive && k < r->nderive; k++) {
            const hub_derive_field_t *d = &r->derive_fields[k];
            for (size_t t = 0; d->from && strcmp(d->target, f->path) == 0 && t < r->ntypes; t++) {
                const hub_field_spec_t *src = hub_schema_path(r->types[t], d->from);
                if (src && src->share == HUB_SHARE_NONE) {
                    fu_fail("rule '%s' loaded deriving %s from share-none %s", r->id, f->path,
                            d->from);
                }
            }
        }
    }
    for (size_t t = 0; t < r->ntypes; t++) {
        if (r->types[t]->sensitivity != HUB_SENS_RESTRICTED) {
            continue;
        }
        for (size_t k = 0; k < r->nto; k++) {
            if (!r->to[k].endpoint || !s_statutory(r->types[t]->type, r->to[k].endpoint->id)) {
                fu_fail("rule '%s' loaded sending restricted %s to a non-statutory recipient",
                        r->id, r->types[t]->type);
            }
        }
    }
}

static bool
s_applies(const hub_rule_t *r, const char *source, const char *type)
{
    bool from = false, types = false;
    for (size_t i = 0; i < r->nfrom; i++) {
        from |= strcmp(r->from[i], source) == 0;
    }
    for (size_t i = 0; i < r->ntypes; i++) {
        types |= strcmp(r->types[i]->type, type) == 0;
    }
    return from && types;
}

static void
s_check_index(const hub_rules_t *rules, const hub_schemas_t *schemas)
{
    for (size_t d = 0; d < hub_depts_count(s_env.depts); d++) {
        const char *dept = hub_depts_at(s_env.depts, d)->id;
        for (size_t t = 0; t < hub_schemas_count(schemas); t++) {
            const char *type = hub_schemas_at(schemas, t)->type;
            size_t n = 0, want = 0;
            const hub_rule_t *const *got = hub_rules_for(rules, dept, type, &n);
            for (size_t i = 0; i < hub_rules_count(rules); i++) {
                want += s_applies(hub_rules_at(rules, i), dept, type);
            }
            for (size_t i = 0; i < n; i++) {
                if (!s_applies(got[i], dept, type)) {
                    fu_fail("hub_rules_for(%s, %s) returned rule '%s'", dept, type, got[i]->id);
                }
            }
            if (n != want) {
                fu_fail("hub_rules_for(%s, %s): %zu rules, a scan finds %zu", dept, type, n, want);
            }
        }
    }
}

static bool
s_released(const hub_delivery_t *d, const char *path)
{
    for (size_t i = 0; i < d->nfields; i++) {
        if (strcmp(d->fields[i].path, path) == 0) {
            return d->fields[i].mask != HUB_MASK_DROP;
        }
    }
    return false;
}

// One delivered field at PATH of D: released, and shareable.
static void
s_check_delivered(const hub_delivery_t *d, const hub_schema_t *type, const char *path)
{
    const hub_field_spec_t *f = type ? hub_schema_path(type, path) : NULL;
    if (!s_released(d, path)) {
        fu_fail("%s received %s, which no rule of its delivery releases", d->endpoint->id, path);
    }
    if (f && f->share == HUB_SHARE_NONE) {
        fu_fail("%s received share-none %s", d->endpoint->id, path);
    }
}

static void
s_check_delivery(const hub_delivery_t *d, const hub_schemas_t *schemas, const char *src_type)
{
    const char *type = hub_msg_env_str(d->msg, HUB_ENV_TYPE);
    const hub_schema_t *s = hub_schemas_find(schemas, type, strlen(type));
    if (d->nrules == 0 || !d->endpoint) {
        fu_fail("a delivery without rules or endpoint");
    }
    for (int i = 0; i < HUB_SUBJ_COUNT; i++) {
        if (hub_msg_subj(d->msg, (hub_subj_t) i)->kind != HUB_VAL_NONE) {
            char path[64];
            snprintf(path, sizeof path, "subject.%s", hub_subj_name((hub_subj_t) i));
            s_check_delivered(d, s, path);
        }
    }
    for (size_t i = 0; i < hub_msg_body_count(d->msg); i++) {
        char path[128];
        snprintf(path, sizeof path, "body.%s", hub_msg_body_at(d->msg, i)->name);
        s_check_delivered(d, s, path);
    }
    const hub_schema_t *from = hub_schemas_find(schemas, src_type, strlen(src_type));
    if (from && from->sensitivity == HUB_SENS_RESTRICTED &&
        !s_statutory(src_type, d->endpoint->id)) {
        fu_fail("restricted %s reached %s", src_type, d->endpoint->id);
    }
}

static void
s_route_all(const hub_rules_t *rules, const hub_schemas_t *schemas)
{
    static const uint8_t key[HUB_MASK_KEY_SIZE] = {7};
    hub_route_t *route = fu_need(hub_route_new());
    hub_diag_t *diag = fu_need(hub_diag_new());
    for (size_t m = 0; m < s_env.nmsgs; m++) {
        hub_diag_reset(diag);
        int rc = hub_route_run(route, rules, s_env.depts, schemas, s_env.msgs[m], key, diag);
        fu_check_diag(diag);
        if (rc != HUB_OK && rc != HUB_EINVALID && rc != HUB_ELIMIT && rc != HUB_ENOMEM) {
            fu_fail("hub_route_run returned %s", hub_error_name(rc));
        }
        const char *type = hub_msg_env_str(s_env.msgs[m], HUB_ENV_TYPE);
        for (size_t i = 0; rc == HUB_OK && i < hub_route_count(route); i++) {
            s_check_delivery(hub_route_at(route, i), schemas, type);
        }
    }
    hub_diag_destroy(&diag);
    hub_route_destroy(&route);
}

static void
s_check_success(const hub_rules_t *rules, const hub_schemas_t *schemas, const hub_diag_t *diag)
{
    const char *v = hub_rules_version(rules);
    if (hub_diag_errors(diag) != 0) {
        fu_fail("hub_rules_load succeeded with %zu errors", hub_diag_errors(diag));
    }
    if (strlen(v) != 64 || strspn(v, "0123456789abcdef") != 64) {
        fu_fail("rule-set version '%s' is not 64 hex digits", v);
    }
    for (size_t i = 0; i < hub_rules_count(rules); i++) {
        const hub_rule_t *r = hub_rules_at(rules, i);
        if (!r || !r->id || r->index != i || !r->file) {
            fu_fail("rule %zu is incomplete", i);
        }
        s_check_rule_law(r);
    }
    s_check_index(rules, schemas);
    hub_rules_t *again = NULL;
    if (hub_rules_load(&again, s_env.dir, schemas, s_env.depts, NULL) != HUB_OK ||
        strcmp(hub_rules_version(again), v) != 0 ||
        hub_rules_count(again) != hub_rules_count(rules)) {
        fu_fail("loading the same rules again gave another result");
    }
    hub_rules_destroy(&again);
    s_route_all(rules, schemas);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!s_setup()) {
        return 0;
    }
    const hub_schemas_t *schemas = fu_schemas();
    s_write(s_env.file, data, size);
    hub_diag_t *diag = fu_need(hub_diag_new());
    hub_rules_t *rules = NULL;
    int rc = hub_rules_load(&rules, s_env.dir, schemas, s_env.depts, diag);
    fu_check_diag(diag);
    if (rc == HUB_OK) {
        if (!rules) {
            fu_fail("hub_rules_load succeeded without a rule set");
        }
        s_check_success(rules, schemas, diag);
    } else {
        if (rules) {
            fu_fail("hub_rules_load failed with %s but handed out a rule set", hub_error_name(rc));
        }
        if (rc != HUB_ECONFIG && rc != HUB_ENOMEM) {
            fu_fail("hub_rules_load returned %s", hub_error_name(rc));
        }
        fu_check_failure_reported(rc, diag, "hub_rules_load");
    }
    hub_rules_destroy(&rules);
    hub_diag_destroy(&diag);
    return 0;
}
