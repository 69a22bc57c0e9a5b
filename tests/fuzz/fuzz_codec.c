// fuzz_codec: the msgpack decoder on arbitrary bytes (what any department,
// or anyone on the network, can send), and the canonical-encoding promise of
// docs/SCHEMAS.md on whatever it accepts:
//   decode(x) = m  =>  decode(encode(m)) = m  and  encode(decode(encode(m))) = encode(m).
// Accepted messages are also validated against the repository's schemas
// ($HUB_SCHEMAS or ./schemas) and printed as JSON. And on the same bytes
// the msgpack reader's one-pass lookup agrees with its lookup by key:
// where hub_mpr_pick reads a map, it finds exactly the keys hub_mpr_find
// finds, at the same places.
#include "fuzz_util.h"
#include "hub_buf.h"
#include "hub_codec.h"
#include "hub_json.h"
#include "hub_mpr.h"

#include <stddef.h>
#include <stdint.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

// True when a string value of MSG holds a NUL byte (valid UTF-8, but JSON
// without JSON_ALLOW_NUL cannot carry it back).
static bool
s_val_has_nul(const hub_val_t *v)
{
    if (v->kind == HUB_VAL_STR) {
        return memchr(v->u.s, '\0', v->len) != NULL;
    }
    for (uint32_t i = 0; v->kind == HUB_VAL_LIST && i < v->len; i++) {
        if (s_val_has_nul(&v->u.items[i])) {
            return true;
        }
    }
    return false;
}

static bool
s_msg_has_nul(const hub_msg_t *m)
{
    for (int i = 0; i < HUB_ENV_COUNT; i++) {
        if (s_val_has_nul(hub_msg_env(m, (hub_env_t) i))) {
            return true;
        }
    }
    for (int i = 0; i < HUB_SUBJ_COUNT; i++) {
        if (s_val_has_nul(hub_msg_subj(m, (hub_subj_t) i))) {
            return true;
        }
    }
    for (size_t i = 0; i < hub_msg_body_count(m); i++) {
        if (s_val_has_nul(&hub_msg_body_at(m, i)->val)) {
            return true;
        }
    }
    return false;
}

// encode(M) decodes back to M, and re-encoding that gives the same bytes.
static void
s_check_round_trip(const hub_msg_t *m, hub_msg_t *scratch, hub_diag_t *diag)
{
    hub_buf_t first = HUB_BUF_INIT, second = HUB_BUF_INIT;
    if (hub_codec_encode(m, &first) != HUB_OK) {
        fu_fail("hub_codec_encode failed on a decoded message");
    }
    hub_diag_reset(diag);
    int rc = hub_codec_decode(scratch, first.data, first.len, NULL, diag);
    if (rc != HUB_OK) {
        hub_diag_print(diag, stderr);
        fu_fail("the canonical encoding (%zu bytes) does not decode: %s", first.len,
                hub_error_name(rc));
    }
    if (!hub_msg_equal(m, scratch)) {
        fu_fail("decode(encode(m)) != m");
    }
    if (hub_codec_encode(scratch, &second) != HUB_OK) {
        fu_fail("hub_codec_encode failed on a re-decoded message");
    }
    if (first.len != second.len || memcmp(first.data, second.data, first.len) != 0) {
        fu_fail("encoding is not canonical: %zu bytes, then %zu bytes", first.len, second.len);
    }
    hub_buf_free(&first);
    hub_buf_free(&second);
}

// The JSON form of M parses back to M, unless a string holds a NUL byte.
static void
s_check_json(const hub_msg_t *m, hub_msg_t *scratch, hub_diag_t *diag)
{
    hub_buf_t text = HUB_BUF_INIT;
    if (hub_json_from_msg(m, HUB_JSON_PRETTY, &text) != HUB_OK) {
        fu_fail("hub_json_from_msg failed on a decoded message");
    }
    hub_diag_reset(diag);
    int rc = hub_json_to_msg(scratch, (const char *) text.data, text.len, "codec.json", diag);
    if (rc == HUB_OK && !hub_msg_equal(m, scratch)) {
        fu_fail("JSON round trip changed the message");
    }
    bool too_big = rc == HUB_ELIMIT && text.len > hub_codec_limits_default().max_size;
    if (rc != HUB_OK && !s_msg_has_nul(m) && !too_big) {
        hub_diag_print(diag, stderr);
        fu_fail("the JSON form of a decoded message does not parse: %s", hub_error_name(rc));
    }
    hub_buf_free(&text);
}

// hub_mpr_pick and hub_mpr_find agree on DATA.
static void
s_check_pick(const uint8_t *data, size_t size)
{
    static const char *const keys[] = {"id", "type", "source", "subject", "body", "seq"};
    enum { N = sizeof keys / sizeof keys[0] };
    hub_mpr_t r, v[N];
    hub_mpr_init(&r, data, size);
    int64_t got = hub_mpr_pick(&r, keys, N, v);
    if (got < 0) {
        if (hub_mpr_offset(&r) != 0) {
            fu_fail("hub_mpr_pick failed and moved the cursor");
        }
        return;
    }
    for (int i = 0; i < N; i++) {
        hub_mpr_t f;
        hub_mpr_init(&f, data, size);
        bool found = hub_mpr_find(&f, keys[i]) == HUB_OK;
        if (found != ((got >> i) & 1) || (found && hub_mpr_offset(&f) != hub_mpr_offset(&v[i]))) {
            fu_fail("hub_mpr_pick and hub_mpr_find disagree on '%s'", keys[i]);
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s_check_pick(data, size);
    hub_msg_t *msg = fu_need(hub_msg_new());
    hub_msg_t *scratch = fu_need(hub_msg_new());
    hub_diag_t *diag = fu_need(hub_diag_new());

    // Tight limits first: every limit path, and a partial message on error
    // that the reset inside the next decode must cope with.
    hub_codec_limits_t tight = {512, 4, 32, 4, 2};
    int rc = hub_codec_decode(msg, data, size, &tight, diag);
    if (rc != HUB_OK) {
        fu_check_failure_reported(rc, diag, "hub_codec_decode (tight limits)");
    }

    hub_diag_reset(diag);
    rc = hub_codec_decode(msg, data, size, NULL, diag);
    fu_check_diag(diag);
    if (rc != HUB_OK) {
        fu_check_failure_reported(rc, diag, "hub_codec_decode");
    } else {
        if (hub_diag_errors(diag) != 0) {
            fu_fail("hub_codec_decode succeeded but reported errors");
        }
        s_check_round_trip(msg, scratch, diag);
        s_check_json(msg, scratch, diag);
        fu_validate(msg, diag); // may normalise MSG
        s_check_round_trip(msg, scratch, diag);
    }

    hub_diag_destroy(&diag);
    hub_msg_destroy(&scratch);
    hub_msg_destroy(&msg);
    return 0;
}
