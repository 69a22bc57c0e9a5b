// fuzz_disc: the store's expansion of a record that names a disclosure
// descriptor (hub_store_disc_merge, the merge hub_store_record and
// hub_store_pending do for every format-3 queue and audit record) on
// arbitrary bytes: a damaged record or descriptor read from disk.
//
// Input: two bytes (big-endian) giving the record's length, the record,
// then the descriptor. Invariants:
//   - success: the output is exactly one msgpack map, whose pairs are the
//     record's but its "disclosure" plus the descriptor's;
//   - failure: HUB_EDECODE and nothing appended.
#include "fuzz_util.h"
#include "hub_buf.h"
#include "hub_mpr.h"
#include "hub_store_int.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

// The pairs of the map at the start of P (N bytes), or -1.
static long
s_pairs(const uint8_t *p, size_t n)
{
    hub_mpr_t r;
    hub_mp_obj_t m;
    hub_mpr_init(&r, p, n);
    return hub_mpr_next(&r, &m) == HUB_OK && m.kind == HUB_MP_MAP ? (long) m.len : -1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) {
        return 0;
    }
    size_t len = ((size_t) data[0] << 8 | data[1]);
    len = len < size - 2 ? len : size - 2;
    const uint8_t *rec = data + 2, *desc = rec + len;
    size_t dlen = size - 2 - len;
    hub_buf_t out = HUB_BUF_INIT;
    hub_buf_append(&out, "x", 1); // something before: it must stay as it is
    int rc = hub_store_disc_merge(rec, len, desc, dlen, &out);
    if (rc == HUB_OK) {
        hub_mpr_t r;
        hub_mpr_init(&r, out.data + 1, out.len - 1);
        if (hub_mpr_skip(&r) != HUB_OK || !hub_mpr_done(&r)) {
            fu_fail("the merged record is not one msgpack value");
        }
        long got = s_pairs(out.data + 1, out.len - 1), a = s_pairs(rec, len),
             b = s_pairs(desc, dlen);
        if (got < 0 || a < 1 || b < 0 || got != a - 1 + b) {
            fu_fail("the merged map has %ld pairs, from %ld and %ld", got, a, b);
        }
    } else if (rc != HUB_EDECODE || out.len != 1) {
        fu_fail("a refusal is HUB_EDECODE and appends nothing (rc %d, %zu bytes)", rc,
                out.len - 1);
    }
    hub_buf_free(&out);
    return 0;
}
