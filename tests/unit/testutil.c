#include "testutil.h"

#include "hub_diag.h"

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
    "a", "西昌", "吉克·阿依", "\xF0\xA0\x80\x80", "513431201001050019", "", "x y z",
    "line\nbreak", "ꆈꌠ", "2026-09-20",
};

static hub_val_t
s_scalar(hub_msg_t *msg, uint64_t *st)
{
    switch (tu_rand(st) % 3) {
    case 0:
        return hub_val_bool(tu_rand(st) & 1);
    case 1: {
        static const int64_t edges[] = {0, 1, -1, 127, 128, -32, -33, 255, 256, 65535, 65536,
                                        -129, INT64_MAX, INT64_MIN, 4294967296LL};
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
