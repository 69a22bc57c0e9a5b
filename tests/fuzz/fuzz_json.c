// fuzz_json: the JSON message parser (hubctl msg encode/validate, adapters'
// dry runs) on arbitrary text. Whatever it accepts must survive
//   JSON -> message -> JSON -> message   unchanged (and print the same twice),
//   message -> msgpack -> message        unchanged and canonical,
// and validation (also with HUB_VALIDATE_NORMALIZE) against the repository's
// schemas ($HUB_SCHEMAS or ./schemas) must not misbehave.
#include "fuzz_util.h"
#include "hub_buf.h"
#include "hub_codec.h"
#include "hub_json.h"

#include <stddef.h>
#include <stdint.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

// json(M) parses back to M, and printing that again gives the same text.
static void
s_check_json_round_trip(const hub_msg_t *m, hub_msg_t *scratch, unsigned flags, hub_diag_t *diag)
{
    hub_buf_t first = HUB_BUF_INIT, second = HUB_BUF_INIT;
    if (hub_json_from_msg(m, flags, &first) != HUB_OK) {
        fu_fail("hub_json_from_msg failed on a parsed message");
    }
    hub_diag_reset(diag);
    int rc = hub_json_to_msg(scratch, (const char *) first.data, first.len, "again.json", diag);
    if (rc != HUB_OK) {
        hub_diag_print(diag, stderr);
        fu_fail("printed JSON (%zu bytes) does not parse: %s", first.len, hub_error_name(rc));
    }
    if (!hub_msg_equal(m, scratch)) {
        fu_fail("JSON round trip changed the message");
    }
    if (hub_json_from_msg(scratch, flags, &second) != HUB_OK) {
        fu_fail("hub_json_from_msg failed on a re-parsed message");
    }
    if (first.len != second.len || memcmp(first.data, second.data, first.len) != 0) {
        fu_fail("printing JSON is not deterministic");
    }
    hub_buf_free(&first);
    hub_buf_free(&second);
}

// encode(M) decodes back to M, and re-encoding gives the same bytes.
static void
s_check_codec_round_trip(const hub_msg_t *m, hub_msg_t *scratch, hub_diag_t *diag)
{
    hub_buf_t first = HUB_BUF_INIT, second = HUB_BUF_INIT;
    if (hub_codec_encode(m, &first) != HUB_OK) {
        fu_fail("hub_codec_encode failed on a parsed message");
    }
    hub_diag_reset(diag);
    int rc = hub_codec_decode(scratch, first.data, first.len, NULL, diag);
    if (rc != HUB_OK) {
        hub_diag_print(diag, stderr);
        fu_fail("the msgpack form of a JSON message does not decode: %s", hub_error_name(rc));
    }
    if (!hub_msg_equal(m, scratch)) {
        fu_fail("decode(encode(m)) != m");
    }
    if (hub_codec_encode(scratch, &second) != HUB_OK || first.len != second.len ||
        memcmp(first.data, second.data, first.len) != 0) {
        fu_fail("encoding is not canonical");
    }
    hub_buf_free(&first);
    hub_buf_free(&second);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hub_msg_t *msg = fu_need(hub_msg_new());
    hub_msg_t *scratch = fu_need(hub_msg_new());
    hub_diag_t *diag = fu_need(hub_diag_new());

    // The name is NULL on odd sizes, to reach the "<json>" fallbacks too.
    const char *name = size % 2 ? NULL : "fuzz.json";
    int rc = hub_json_to_msg(msg, (const char *) data, size, name, diag);
    fu_check_diag(diag);
    if (rc != HUB_OK) {
        fu_check_failure_reported(rc, diag, "hub_json_to_msg");
    } else {
        if (hub_diag_errors(diag) != 0) {
            fu_fail("hub_json_to_msg succeeded but reported errors");
        }
        s_check_json_round_trip(msg, scratch, 0, diag);
        s_check_json_round_trip(msg, scratch, HUB_JSON_PRETTY, diag);
        s_check_codec_round_trip(msg, scratch, diag);
        fu_validate(msg, diag); // may normalise MSG
        s_check_json_round_trip(msg, scratch, 0, diag);
        s_check_codec_round_trip(msg, scratch, diag);
    }

    hub_diag_destroy(&diag);
    hub_msg_destroy(&scratch);
    hub_msg_destroy(&msg);
    return 0;
}
