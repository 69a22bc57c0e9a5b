// hub_route: what each endpoint receives, to the byte. Routes a dropout
// (merged rules, masks, a dropped field), a hospitalisation (a derived
// alert with a literal) and a grant in a retired county (routed by its
// successor) under a rule set written here, and compares each delivery's
// endpoint, released fields and encoded message (SHA-256 of its bytes)
// and each rule's trace note with what the router gave before it
// resolved its paths at load time. A change here changes what departments
// receive: it must be deliberate.
#include "hub_codec.h"
#include "hub_error.h"
#include "suites.h"
#include "testutil.h"

#include <CUnit/CUnit.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char s_rules[] =
    "x-edu: &edu {from: education, types: student.enrolment_change, purpose: 控辍保学,\n"
    "             legal_basis: 《义务教育法》第十四条, share: conditional}\n"
    "rules:\n"
    "  - <<: *edu\n"
    "    id: e1\n"
    "    to: [{department: education}]\n"
    "    fields: [subject.citizen_id, subject.name, subject.birth_date, body.change_type,\n"
    "             body.guardian_phone, body.school_name]\n"
    "    mask: {subject.citizen_id: partial, body.guardian_phone: drop, subject.birth_date: year,\n"
    "           body.school_name: drop}\n"
    "  - <<: *edu\n"
    "    id: e2\n"
    "    when: body.change_type in [\"dropout\", \"suspend\"]\n"
    "    to: [{department: education}, {department: public_security}]\n"
    "    fields: [subject.citizen_id, body.change_date, body.guardian_phone, "
    "subject.hukou_division,\n"
    "             body.grade]\n"
    "    mask: {subject.citizen_id: hash, body.guardian_phone: partial}\n"
    "  - <<: *edu\n"
    "    id: e3-never\n"
    "    when: body.change_type == \"enrol\"\n"
    "    to: [{department: health}]\n"
    "    fields: [subject.name]\n"
    "  - id: h1-alert\n"
    "    from: health\n"
    "    types: health.hospitalisation\n"
    "    when: body.compliant_out_of_pocket >= 10000 yuan\n"
    "    derive:\n"
    "      type: alert.poverty_risk\n"
    "      fields:\n"
    "        subject.citizen_id: subject.citizen_id\n"
    "        subject.name: subject.name\n"
    "        subject.hukou_division: subject.hukou_division\n"
    "        subject.household_no: subject.household_no\n"
    "        body.signal: {value: medical_bill}\n"
    "        body.amount: body.compliant_out_of_pocket\n"
    "        body.origin_message_id: id\n"
    "        body.origin_type: type\n"
    "        body.detected_date: event_date\n"
    "    to: [{department: poverty_alleviation}, {department: civil_affairs}]\n"
    "    fields: [subject.citizen_id, subject.name, subject.hukou_division, subject.household_no,\n"
    "             body.signal, body.amount, body.origin_message_id, body.detected_date]\n"
    "    mask: {subject.name: partial}\n"
    "    purpose: 防返贫动态监测\n"
    "    legal_basis: 《社会救助暂行办法》第二十八条\n"
    "    share: conditional\n"
    "  - id: c1-retired\n"
    "    from: civil_affairs\n"
    "    types: assistance.grant\n"
    "    to: [{department: poverty_alleviation}, {department: education, level: township, "
    "exact: true}]\n"
    "    fields: [subject.citizen_id, subject.name, subject.hukou_division, body.programme,\n"
    "             body.action]\n"
    "    mask: {subject.citizen_id: hash, subject.name: partial}\n"
    "    purpose: 救助核查\n"
    "    legal_basis: 《社会救助暂行办法》第十条\n"
    "    share: conditional\n";

// The suite's rule set: S_RULES written to ROOT/rules.d/x.yaml, loaded
// once with the shipped departments.
static tu_tmp_t s_t;
static hub_depts_t *s_depts;
static hub_rules_t *s_rules_set;

static int
s_init(void)
{
    char sub[128], file[160];
    if (tu_tmp_init(&s_t, "route")) {
        return 1;
    }
    snprintf(sub, sizeof sub, "%s/rules.d", s_t.root);
    snprintf(file, sizeof file, "%s/x.yaml", sub);
    FILE *out = mkdir(sub, 0700) == 0 ? fopen(file, "w") : NULL;
    if (!out) {
        return 1;
    }
    fputs(s_rules, out);
    fclose(out);
    hub_diag_t *diag = hub_diag_new();
    int rc = hub_depts_load(&s_depts, "config/departments.yaml", tu_schemas(), diag);
    rc = rc ? rc : hub_rules_load(&s_rules_set, s_t.root, tu_schemas(), s_depts, diag);
    if (rc) {
        hub_diag_print(diag, stdout);
    }
    hub_diag_destroy(&diag);
    return rc != HUB_OK;
}

static int
s_cleanup(void)
{
    hub_rules_destroy(&s_rules_set);
    hub_depts_destroy(&s_depts);
    return tu_tmp_cleanup(&s_t);
}

// Delivery D as one line: endpoint, derived type, each released field
// (path rule mask present), and the SHA-256 of the delivered bytes.
static void
s_describe(const hub_delivery_t *d, char *out, size_t size)
{
    hub_buf_t enc = {0};
    CU_ASSERT_EQUAL(hub_codec_encode(d->msg, &enc), HUB_OK);
    unsigned char h[crypto_hash_sha256_BYTES];
    char hex[2 * sizeof h + 1];
    crypto_hash_sha256(h, enc.data, enc.len);
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    size_t n =
        (size_t) snprintf(out, size, "%s %s", d->endpoint->id, d->derived ? d->derived->type : "-");
    for (size_t i = 0; i < d->nfields && n < size; i++) {
        const hub_release_t *f = &d->fields[i];
        n += (size_t) snprintf(out + n, size - n, " %s:%s:%s:%d", f->path, f->rule->id,
                               hub_mask_name(f->mask), f->present);
    }
    if (n < size) {
        snprintf(out + n, size - n, " %s", hex);
    }
    hub_buf_free(&enc);
}

// Compares GOT with the next line of WANT (*K; NULL ends WANT), printing
// it when it differs.
static void
s_expect(const char *const *want, size_t *k, const char *what, const char *got)
{
    const char *w = want[*k];
    CU_ASSERT(w && strcmp(got, w) == 0);
    if (!w || strcmp(got, w) != 0) {
        printf("\n  %s is\n    \"%s\"\n", what, got);
    }
    *k += w != NULL;
}

// Routes MSG and compares every delivery, then every trace note, with
// WANT (NULL ended).
static void
s_check(hub_msg_t *msg, const char *const *want)
{
    static const uint8_t key[HUB_MASK_KEY_SIZE] = {42};
    hub_route_t *route = hub_route_new();
    hub_route_set_explain(route, true);
    CU_ASSERT_EQUAL_FATAL(hub_route_run(route, s_rules_set, s_depts, tu_schemas(), msg, key, NULL),
                          HUB_OK);
    size_t k = 0;
    char got[2048];
    for (size_t i = 0; i < hub_route_count(route); i++) {
        s_describe(hub_route_at(route, i), got, sizeof got);
        s_expect(want, &k, "a delivery", got);
    }
    for (size_t i = 0; i < hub_route_trace_count(route); i++) {
        const hub_route_trace_t *t = hub_route_trace_at(route, i);
        snprintf(got, sizeof got, "trace %s %d %s", t->rule->id, t->matched, t->note);
        s_expect(want, &k, "a trace", got);
    }
    CU_ASSERT_PTR_NULL(want[k]);
    hub_route_destroy(&route);
}

static const char *const s_want_dropout[] = {
    "education@513431 - subject.citizen_id:e1:partial:1 subject.name:e1:none:1 "
    "subject.birth_date:e1:year:1 body.change_type:e1:none:1 body.guardian_phone:e2:partial:1 "
    "body.school_name:e1:drop:0 body.change_date:e2:none:1 subject.hukou_division:e2:none:1 "
    "body.grade:e2:none:1 82c2646da91390c1dbc7b6820da41f022785824f95c9fb69255512564ef6286b",
    "public_security@513431 - subject.citizen_id:e2:hash:1 body.change_date:e2:none:1 "
    "body.guardian_phone:e2:partial:1 subject.hukou_division:e2:none:1 body.grade:e2:none:1 "
    "3fc4ff5ee87ac1d9ba349d519acaca2a559c3e1ecbae8762cb0ac672c84c64f9",
    "trace e1 1 ",
    "trace e2 1 ",
    "trace e3-never 0 condition is false: body.change_type == \"enrol\"",
    NULL,
};

static const char *const s_want_alert[] = {
    "poverty_alleviation@513400 alert.poverty_risk subject.citizen_id:h1-alert:none:1 "
    "subject.name:h1-alert:partial:1 subject.hukou_division:h1-alert:none:1 "
    "subject.household_no:h1-alert:none:1 body.signal:h1-alert:none:1 body.amount:h1-alert:none:1 "
    "body.origin_message_id:h1-alert:none:1 body.detected_date:h1-alert:none:1 "
    "97859c3978bb87a1aa237bfa11ad6ae2cd9899210e1030e26a03b0f2bbc67afb",
    "civil_affairs@513400 alert.poverty_risk subject.citizen_id:h1-alert:none:1 "
    "subject.name:h1-alert:partial:1 subject.hukou_division:h1-alert:none:1 "
    "subject.household_no:h1-alert:none:1 body.signal:h1-alert:none:1 body.amount:h1-alert:none:1 "
    "body.origin_message_id:h1-alert:none:1 body.detected_date:h1-alert:none:1 "
    "97859c3978bb87a1aa237bfa11ad6ae2cd9899210e1030e26a03b0f2bbc67afb",
    "trace h1-alert 1 ",
    NULL,
};

static const char *const s_want_retired[] = {
    "poverty_alleviation@513402 - subject.citizen_id:c1-retired:hash:1 "
    "subject.name:c1-retired:partial:1 subject.hukou_division:c1-retired:none:1 "
    "body.programme:c1-retired:none:1 body.action:c1-retired:none:1 "
    "cdcc1eeba330e494f3c6d810d1998c5496dbd810290aa6146dbbd98fa03902b9",
    "trace c1-retired 1 no education endpoint at township level serves division 513425",
    NULL,
};

// Routes tests/data/messages/NAME (the dropout of tu_dropout() when NULL)
// and checks it against WANT.
static void
s_route(const char *name, const char *const *want)
{
    hub_msg_t *msg = hub_msg_new();
    if (name) {
        tu_load_msg(msg, name);
    } else {
        tu_dropout(msg);
    }
    s_check(msg, want);
    hub_msg_destroy(&msg);
}

static void
test_merged_masked_and_dropped_fields_are_delivered_byte_for_byte(void)
{
    s_route(NULL, s_want_dropout);
}

static void
test_a_derived_alert_is_delivered_byte_for_byte(void)
{
    s_route("health.hospitalisation.json", s_want_alert);
}

static void
test_a_retired_county_routes_to_its_successor_byte_for_byte(void)
{
    s_route("retired_division_valid.json", s_want_retired);
}

void
test_route_register(void)
{
    CU_pSuite su = CU_add_suite("hub_route", s_init, s_cleanup);
    CU_add_test(su, "merged, masked and dropped fields are delivered byte for byte",
                test_merged_masked_and_dropped_fields_are_delivered_byte_for_byte);
    CU_add_test(su, "a derived alert is delivered byte for byte",
                test_a_derived_alert_is_delivered_byte_for_byte);
    CU_add_test(su, "a retired county routes to its successor, byte for byte",
                test_a_retired_county_routes_to_its_successor_byte_for_byte);
}
