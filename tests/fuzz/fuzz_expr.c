// fuzz_expr: the condition compiler (hub_expr) on arbitrary text, as a rule
// author could write it in a `when:`, and every condition it accepts
// evaluated on messages.
//
// Each input is compiled three times, against student.enrolment_change and
// health.hospitalisation together, then against each alone (schemas from
// $HUB_SCHEMAS or ./schemas, loaded once). Invariants:
//   - success: a condition, no error reported, its source is the input;
//   - failure: no condition, exactly one error, with one of the five reason
//     words and a "fuzz:LINE:COLUMN" place inside the input;
//   - evaluation never crashes and gives the same answer twice, on a valid
//     message of each type, on an empty message (every field absent) and on
//     one whose values have the wrong kinds (a message that broke its
//     schema).
#include "fuzz_util.h"
#include "hub_expr.h"

#include <stddef.h>
#include <stdint.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { S_STUDENT, S_HOSPITAL, S_EMPTY, S_BROKEN, S_NMSGS };

static void
s_envelope(hub_msg_t *m, const char *type, const char *source, const char *date)
{
    hub_val_t one = hub_val_int(1);
    hub_msg_set_env_str(m, HUB_ENV_ID, "5f0c1e9a2b3d4c5e6f708192a3b4c5d6");
    hub_msg_set_env_str(m, HUB_ENV_TYPE, type);
    hub_msg_set_env(m, HUB_ENV_SCHEMA_VERSION, &one);
    hub_msg_set_env_str(m, HUB_ENV_SOURCE, source);
    hub_msg_set_env_str(m, HUB_ENV_EVENT_DATE, date);
    hub_msg_set_env_str(m, HUB_ENV_RECORDED_AT, "2026-09-21T09:00:00+08:00");
    hub_msg_set_subj_str(m, HUB_SUBJ_CITIZEN_ID, "513431201001050019");
    hub_msg_set_subj_str(m, HUB_SUBJ_NAME, "吉克·阿依");
    hub_msg_set_subj_str(m, HUB_SUBJ_SEX, "1");
    hub_msg_set_subj_str(m, HUB_SUBJ_ETHNICITY, "07");
    hub_msg_set_subj_str(m, HUB_SUBJ_BIRTH_DATE, "2010-01-05");
    hub_msg_set_subj_str(m, HUB_SUBJ_HUKOU_DIVISION, "513431");
}

static void
s_student(hub_msg_t *m)
{
    s_envelope(m, "student.enrolment_change", "education", "2026-09-20");
    hub_msg_body_set_str(m, "student_no", "G513431201001050019");
    hub_msg_body_set_str(m, "school_name", "西昌市第一中学");
    hub_msg_body_set_str(m, "school_division", "513401");
    hub_msg_body_set_str(m, "grade", "09");
    hub_msg_body_set_str(m, "change_type", "dropout");
    hub_msg_body_set_str(m, "change_date", "2026-09-20");
    hub_msg_body_set_str(m, "reason", "长期未到校");
    hub_msg_body_set_str(m, "guardian_phone", "13800138000");
}

static void
s_hospital(hub_msg_t *m)
{
    s_envelope(m, "health.hospitalisation", "health", "2026-08-10");
    hub_msg_body_set_str(m, "encounter_id", "ZY2026080001");
    hub_msg_body_set_str(m, "admit_date", "2026-08-01");
    hub_msg_body_set_str(m, "discharge_date", "2026-08-10");
    hub_msg_body_set_int(m, "total_cost", 6000050);
    hub_msg_body_set_int(m, "pooled_fund", 3000000);
    hub_msg_body_set_str(m, "diagnosis_icd10", "J18.9");
}

// Every value of a kind its schema does not allow, and dates that are not.
static void
s_broken(hub_msg_t *m)
{
    hub_val_t items[2] = {hub_val_int(7), hub_val_bool(true)};
    hub_val_t list = {HUB_VAL_LIST, 2, {.items = items}};
    hub_msg_set_env_str(m, HUB_ENV_EVENT_DATE, "2026-02-30");
    hub_msg_set_subj_str(m, HUB_SUBJ_BIRTH_DATE, "yesterday");
    hub_msg_set_subj_str(m, HUB_SUBJ_SEX, "");
    hub_msg_body_set_int(m, "change_type", 3);
    hub_msg_body_set_bool(m, "change_date", true);
    hub_msg_body_set(m, "school_name", 11, &list);
    hub_msg_body_set_str(m, "total_cost", "lots");
    hub_msg_body_set_str(m, "admit_date", "");
    hub_msg_body_set(m, "grade", 5, &list);
}

// The messages, built once and kept (reachable, so LeakSanitizer is quiet).
static hub_msg_t **
s_msgs(void)
{
    static hub_msg_t *msgs[S_NMSGS];
    if (!msgs[0]) {
        for (int i = 0; i < S_NMSGS; i++) {
            msgs[i] = fu_need(hub_msg_new());
        }
        s_student(msgs[S_STUDENT]);
        s_hospital(msgs[S_HOSPITAL]);
        s_broken(msgs[S_BROKEN]);
    }
    return msgs;
}

static bool
s_known_reason(const char *r)
{
    static const char *const reasons[] = {"expr_syntax",   "unknown_field", "unknown_function",
                                          "type_mismatch", "limit",         "unknown_list"};
    for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++) {
        if (strcmp(r, reasons[i]) == 0) {
            return true;
        }
    }
    return false;
}

static void
s_check_failure(int rc, const hub_expr_t *e, const hub_diag_t *diag)
{
    fu_check_failure_reported(rc, diag, "hub_expr_compile");
    if (e) {
        fu_fail("hub_expr_compile failed with %s but handed out a condition", hub_error_name(rc));
    }
    if (rc != HUB_ECONFIG && rc != HUB_ENOMEM) {
        fu_fail("hub_expr_compile returned %s", hub_error_name(rc));
    }
    const hub_diag_entry_t *d = hub_diag_at(diag, 0);
    if (rc == HUB_ECONFIG && (hub_diag_errors(diag) != 1 || !s_known_reason(d->reason) ||
                              strncmp(d->where, "fuzz:", 5) != 0)) {
        fu_fail("a refused condition gave %zu errors, the first '%s' at '%s'",
                hub_diag_errors(diag), d->reason, d->where);
    }
}

static void
s_check_success(const hub_expr_t *e, const hub_diag_t *diag, const uint8_t *data, size_t size)
{
    if (!e || hub_diag_errors(diag) != 0) {
        fu_fail("hub_expr_compile succeeded without a condition or with errors");
    }
    const char *src = hub_expr_source(e);
    if (strlen(src) != size || memcmp(src, data, size) != 0) {
        fu_fail("the compiled condition's source differs from the input");
    }
    hub_msg_t **msgs = s_msgs();
    for (int i = 0; i < S_NMSGS; i++) {
        if (hub_expr_eval(e, msgs[i]) != hub_expr_eval(e, msgs[i])) {
            fu_fail("evaluating twice gave two answers");
        }
    }
}

static void
s_run(const hub_schema_t *const *schemas, size_t n, const uint8_t *data, size_t size,
      hub_diag_t *diag)
{
    hub_expr_origin_t origin = {"fuzz", 1, 1};
    hub_expr_t *e = NULL;
    hub_diag_reset(diag);
    int rc = hub_expr_compile(&e, (const char *) data, size, schemas, n, &origin, diag);
    fu_check_diag(diag);
    if (rc == HUB_OK) {
        s_check_success(e, diag, data, size);
    } else {
        s_check_failure(rc, e, diag);
    }
    hub_expr_destroy(&e);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const hub_schemas_t *set = fu_schemas();
    if (!set) {
        return 0;
    }
    const hub_schema_t *both[2] = {hub_schemas_find(set, "student.enrolment_change", 24),
                                   hub_schemas_find(set, "health.hospitalisation", 22)};
    if (!both[0] || !both[1]) {
        fu_fail("the schema set lacks student.enrolment_change or health.hospitalisation");
    }
    hub_diag_t *diag = fu_need(hub_diag_new());
    s_run(both, 2, data, size, diag);
    s_run(both, 1, data, size, diag);
    s_run(both + 1, 1, data, size, diag);
    hub_diag_destroy(&diag);
    return 0;
}
