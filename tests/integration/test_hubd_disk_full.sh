#!/bin/sh
# A full disk, as hubd meets it: the store's file cannot grow (here a file
# size limit, RLIMIT_FSIZE, on hubd: its writes past the limit fail with
# EFBIG, as they would with ENOSPC on a full file system or EDQUOT over a
# quota). hubd nacks "store_full", stays up, keeps the store as its last
# commit left it, and takes everything once there is room again (the limit
# raised on the running process: space freed) — no restart, nothing lost,
# the audit chain whole.
set -u
. "$REPO/tests/integration/lib.sh"
. "$REPO/tests/integration/hubd_lib.sh"

hubd_setup
# Every batch on the writer thread, as under load (the main thread's
# inline commits take the same path otherwise).
printf 'writer_inline_max: 0\n' >>cfg/hub.yaml
# 1 MiB: a fresh store and hubd's log fit; 400 dropouts (~4 KB each) do not.
HUBD_WRAP="prlimit --fsize=1048576:unlimited" hubd_start
gen_dropouts 400 full
pub education@513400 m/*.json
expect_out_has "store_full"
check "hubd is still up after store_full" kill -0 "$HUBD_PID"
full=$(grep -c "store_full" "$OUT")
stored=$(grep -c 'ack .* log_seq [0-9]*$' "$OUT")
check "some were stored before the disk filled ($stored), some refused ($full)" \
    test "$stored" -gt 0 -a "$full" -gt 0
check "the refusal names the cause" grep -q "reached the file size limit" hubd.log "$OUT"

# Room again: what was refused is taken, by the same running hubd.
prlimit --pid "$HUBD_PID" --fsize=unlimited:unlimited
pub education@513400 m/*.json
expect_out_lacks "store_full"
expect_out_lacks "nack"
check "every refused message is stored now" \
    test "$(grep -c 'ack .* log_seq [0-9]*$' "$OUT")" -eq "$full"
check "the ones stored before are duplicates now" \
    test "$(grep -c 'duplicate' "$OUT")" -eq "$stored"
sub education@513429 400 3000
check "all 400 are delivered once" test "$(grep -c '^deliver ' "$OUT")" -eq 400
hubd_stop TERM
check "hubd exits 0" test "$HUBD_RC" = 0
hub audit verify --config cfg
expect_rc 0
finish
