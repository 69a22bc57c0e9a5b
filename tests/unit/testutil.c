#include "testutil.h"

#include "hub_codec.h"
#include "hub_diag.h"
#include "hub_error.h"
#include "hub_json.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t
tu_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

int
tu_tmp_init(tu_tmp_t *t, const char *name)
{
    snprintf(t->root, sizeof t->root, "/tmp/hub-test-%s-XXXXXX", name);
    return mkdtemp(t->root) ? 0 : 1;
}

int
tu_tmp_cleanup(tu_tmp_t *t)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->root);
    return system(cmd) == 0 ? 0 : 1;
}

const char *
tu_tmp_dir(tu_tmp_t *t, const char *what)
{
    snprintf(t->dir, sizeof t->dir, "%s/%s%d", t->root, what, ++t->ndirs);
    return t->dir;
}

void
tu_load_msg(hub_msg_t *msg, const char *name)
{
    char path[256];
    static char text[65536];
    snprintf(path, sizeof path, "tests/data/messages/%s", name);
    FILE *f = fopen(path, "rb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    size_t n = fread(text, 1, sizeof text, f);
    fclose(f);
    CU_ASSERT_EQUAL_FATAL(hub_json_to_msg(msg, text, n, path, NULL), HUB_OK);
}

void
tu_dropout(hub_msg_t *msg)
{
    hub_msg_reset(msg);
    hub_msg_set_env_str(msg, HUB_ENV_ID, "5f0c1e9a2b3d4c5e6f708192a3b4c5d6");
    hub_msg_set_env_str(msg, HUB_ENV_TYPE, "student.enrolment_change");
    hub_val_t v = hub_val_int(1);
    hub_msg_set_env(msg, HUB_ENV_SCHEMA_VERSION, &v);
    hub_msg_set_env_str(msg, HUB_ENV_SOURCE, "education");
    hub_msg_set_env_str(msg, HUB_ENV_SOURCE_REF, "xueji/2026/000123");
    hub_msg_set_env_str(msg, HUB_ENV_EVENT_DATE, "2026-09-20");
    hub_msg_set_env_str(msg, HUB_ENV_RECORDED_AT, "2026-09-21T09:00:00+08:00");
    hub_msg_set_subj_str(msg, HUB_SUBJ_CITIZEN_ID, "513431201001050019");
    hub_msg_set_subj_str(msg, HUB_SUBJ_NAME, "吉克·阿依");
    hub_msg_set_subj_str(msg, HUB_SUBJ_SEX, "1");
    hub_msg_set_subj_str(msg, HUB_SUBJ_ETHNICITY, "07");
    hub_msg_set_subj_str(msg, HUB_SUBJ_BIRTH_DATE, "2010-01-05");
    hub_msg_set_subj_str(msg, HUB_SUBJ_HUKOU_DIVISION, "513431");
    hub_msg_body_set_str(msg, "student_no", "G513431201001050019");
    hub_msg_body_set_str(msg, "school_name", "西昌市第一中学");
    hub_msg_body_set_str(msg, "school_division", "513401");
    hub_msg_body_set_str(msg, "grade", "09");
    hub_msg_body_set_str(msg, "change_type", "dropout");
    hub_msg_body_set_str(msg, "change_date", "2026-09-20");
    hub_msg_body_set_str(msg, "reason", "长期未到校");
    hub_msg_body_set_str(msg, "guardian_name", "吉克·拉哈");
    hub_msg_body_set_str(msg, "guardian_phone", "13800138000");
}

static const char *const s_words[] = {
    "a",     "西昌",        "吉克·阿依", "\xF0\xA0\x80\x80", "513431201001050019", "",
    "x y z", "line\nbreak", "ꆈꌠ",      "2026-09-20",
};

static hub_val_t
s_scalar(hub_msg_t *msg, uint64_t *st)
{
    switch (tu_rand(st) % 3) {
    case 0:
        return hub_val_bool(tu_rand(st) & 1);
    case 1: {
        static const int64_t edges[] = {0,     1,    -1,        127,       128,
                                        -32,   -33,  255,       256,       65535,
                                        65536, -129, INT64_MAX, INT64_MIN, 4294967296LL};
        uint64_t r = tu_rand(st);
        return hub_val_int(r % 2 ? edges[r % 15] : (int64_t) (tu_rand(st) >> (r % 64)));
    }
    default: {
        // Concatenate a few words so lengths cross the msgpack size classes.
        char buf[400];
        size_t n = 0, parts = tu_rand(st) % 12;
        for (size_t i = 0; i < parts; i++) {
            const char *w = s_words[tu_rand(st) % 10];
            size_t wl = strlen(w);
            if (n + wl < sizeof buf) {
                memcpy(buf + n, w, wl);
                n += wl;
            }
        }
        char *s = hub_arena_strndup(hub_msg_arena(msg), buf, n);
        return hub_val_str(s, n);
    }
    }
}

void
tu_random_msg(hub_msg_t *msg, uint64_t seed)
{
    uint64_t st = seed * 0x9E3779B97F4A7C15ULL + 1;
    hub_msg_reset(msg);
    for (int i = 0; i < HUB_ENV_COUNT; i++) {
        if (tu_rand(&st) % 4 == 0) {
            continue;
        }
        hub_val_t v = i == HUB_ENV_SCHEMA_VERSION ? hub_val_int((int64_t) (tu_rand(&st) % 300))
                                                  : hub_val_str("id-1", 4);
        hub_msg_set_env(msg, (hub_env_t) i, &v);
    }
    for (int i = 0; i < HUB_SUBJ_COUNT; i++) {
        if (tu_rand(&st) % 2) {
            hub_val_t v = hub_val_str(s_words[tu_rand(&st) % 10], 0);
            v.len = (uint32_t) strlen(v.u.s);
            hub_msg_set_subj(msg, (hub_subj_t) i, &v);
        }
    }
    size_t nfields = tu_rand(&st) % 40;
    for (size_t i = 0; i < nfields; i++) {
        char name[16];
        snprintf(name, sizeof name, "f%llu", (unsigned long long) (tu_rand(&st) % 100));
        hub_val_t v;
        if (tu_rand(&st) % 5 == 0) {
            size_t n = tu_rand(&st) % 20;
            hub_val_t *items = hub_arena_alloc(hub_msg_arena(msg), sizeof *items * (n + 1));
            for (size_t k = 0; k < n; k++) {
                items[k] = s_scalar(msg, &st);
            }
            v = (hub_val_t){HUB_VAL_LIST, (uint32_t) n, {.items = items}};
        } else {
            v = s_scalar(msg, &st);
        }
        hub_msg_body_set(msg, name, strlen(name), &v);
    }
}

const hub_schemas_t *
tu_schemas(void)
{
    static hub_schemas_t *set;
    if (!set) {
        hub_diag_t *diag = hub_diag_new();
        if (hub_schemas_load(&set, "schemas", diag) != 0) {
            hub_diag_print(diag, stderr);
            fprintf(stderr, "unit tests: run from the repository root\n");
            exit(2);
        }
        hub_diag_destroy(&diag);
    }
    return set;
}

int
tu_store_init(tu_store_fix_t *f, const char *name)
{
    hub_diag_t *diag = hub_diag_new();
    snprintf(f->root, sizeof f->root, "/tmp/hub-test-%s-XXXXXX", name);
    int rc = mkdtemp(f->root) ? HUB_OK : HUB_EIO;
    rc = rc ? rc : hub_config_load(&f->cfg, "config", diag);
    rc = rc ? rc : hub_depts_load(&f->depts, f->cfg.departments, tu_schemas(), diag);
    rc = rc ? rc : hub_rules_load(&f->rules, "config", tu_schemas(), f->depts, diag);
    f->route = hub_route_new();
    f->msg = hub_msg_new();
    if (rc || hub_diag_errors(diag)) {
        hub_diag_print(diag, stderr);
    }
    hub_diag_destroy(&diag);
    return rc || !f->route || !f->msg;
}

int
tu_store_cleanup(tu_store_fix_t *f)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->root);
    int rc = system(cmd);
    hub_buf_free(&f->enc);
    hub_msg_destroy(&f->msg);
    hub_route_destroy(&f->route);
    hub_rules_destroy(&f->rules);
    hub_depts_destroy(&f->depts);
    hub_config_free(&f->cfg);
    return rc;
}

const char *
tu_store_dir(tu_store_fix_t *f)
{
    snprintf(f->dir, sizeof f->dir, "%s/store%d", f->root, ++f->ndirs);
    return f->dir;
}

int
tu_store_ingest(tu_store_fix_t *f, hub_store_t *st, const uint8_t key[32], const char *cid,
                const char *version, uint64_t now, hub_store_result_t *res)
{
    const hub_msg_t *m = f->msg;
    CU_ASSERT_EQUAL_FATAL(hub_route_run(f->route, f->rules, f->depts, tu_schemas(), m, key, NULL),
                          HUB_OK);
    f->enc.len = 0;
    CU_ASSERT_EQUAL_FATAL(hub_codec_encode(m, &f->enc), HUB_OK);
    const char *event_field = NULL;
    const char *event = f->events ? hub_schemas_event(tu_schemas(), m, &event_field) : NULL;
    hub_store_ingest_t in = {
        hub_msg_env_str(m, HUB_ENV_SOURCE),
        hub_msg_env_str(m, HUB_ENV_ID),
        hub_msg_env_str(m, HUB_ENV_TYPE),
        f->enc.data,
        f->enc.len,
        cid,
        version,
        now,
        f->route,
        event_field,
        event,
    };
    return hub_store_ingest(st, &in, res);
}

uint64_t
tu_store_last(hub_store_t *st, hub_store_seqdb_t db)
{
    uint64_t seq = UINT64_MAX;
    CU_ASSERT_EQUAL(hub_store_last_seq(st, db, &seq), HUB_OK);
    return seq;
}
