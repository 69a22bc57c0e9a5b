#!/bin/sh
# A full store: hubd nacks "store_full", stays up, and recovers when the
# map is grown by a reload (SIGHUP) — no restart, nothing lost. Every
# batch goes through the writer thread (writer_inline_max: 0).
set -u
. "$REPO/tests/integration/lib.sh"
. "$REPO/tests/integration/hubd_lib.sh"

hubd_setup
# Every batch on the writer thread: the store fills under it.
printf 'store_map_size: 262144\nwriter_inline_max: 0\n' >>cfg/hub.yaml
hubd_start

# 400 distinct dropouts (the id differs; everything else is the fixture).
i=0
mkdir m
while [ $i -lt 400 ]; do
    id=$(printf '%032x' $((i + 1)))
    sed -e "s/\"id\": \"[0-9a-f]*\"/\"id\": \"$id\"/" \
        -e 's/"change_type": "[a-z_]*"/"change_type": "dropout"/' \
        "$MSGS/student.enrolment_change.json" >m/$i.json
    i=$((i + 1))
done
pub education@513400 m/*.json
expect_out_has "store_full"
check "hubd is still up after store_full" kill -0 "$HUBD_PID"
full=$(grep -c "store_full" "$OUT")

# Grow the map and reload: what was refused is now taken.
sed -i 's/^store_map_size: .*/store_map_size: 67108864/' cfg/hub.yaml
kill -HUP "$HUBD_PID"
sleep 0.5
check "the map grew" grep -q "event=map_size bytes=67108864" hubd.log
pub education@513400 m/*.json
expect_out_lacks "store_full"
expect_out_lacks "nack"
check "every refused message is stored now" test "$(grep -c 'ack .* log_seq [0-9]*$' "$OUT")" -eq "$full"
hub status --format json --config cfg
expect_rc 0
check "every batch was committed by the writer thread" \
    grep -Eq '"commits": *\{"main": *0, *"writer": *[1-9]' "$OUT"
hubd_stop TERM
check "hubd exits 0" test "$HUBD_RC" = 0
finish
