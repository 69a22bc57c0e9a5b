#!/bin/sh
# Batches (docs/PROTOCOL.md, "Batches") against a real hubd: PUBLISH_BATCH
# mixing a valid message, one that breaks its schema, a repeat and a type
# the department may not publish, answered in order by one ACK_BATCH; the
# invalid one kept as a dead letter; frames refused whole; DELIVER_BATCH
# in sequence order within the credit; a consumer that does not ask for
# batches still gets single DELIVERs; the C SDK (hubc_tool) publishing and
# consuming over batches; the largest batch the protocol allows. The
# Python client (pyclient.py, batch_check.py) is written from the protocol
# document. Skipped without python3-zmq and python3-msgpack.
set -u
. "$REPO/tests/integration/lib.sh"
need_python_zmq
. "$REPO/tests/integration/hubd_lib.sh"
PYC=$REPO/tests/integration/pyclient.py
CHK=$REPO/tests/integration/batch_check.py

# pyb NAME FILE...: publish in PUBLISH_BATCH frames of 16 (pyclient)
pyb() {
    name=$1
    shift
    run env PYCLIENT_BATCH=16 "$PY" "$PYC" publish "$URL" cfg/keys/hub.pub cfg/keys "$name" "$@"
}
endpoints_of() {
    "$HUB_BIN/hubctl" rules test --config cfg --message "$1" | sed -n 's/^-> \([^ ]*\).*/\1/p'
}
id_of() {
    sed -n 's/^ *"id": "\([^"]*\)".*/\1/p' "$1" | head -n 1
}

hubd_setup
hubd_start

sed 's/"change_type": "[a-z_]*"/"change_type": "dropout"/' \
    "$MSGS/student.enrolment_change.json" >dropout.json
sed 's/"id": "[^"]*"/"id": "b1d3f5a7c9b24e6f8a0c2e4d6f8a1b01"/' dropout.json >dropout2.json
# A wrong check character (X is right): breaks the schema.
sed -e 's/"id": "[^"]*"/"id": "b1d3f5a7c9b24e6f8a0c2e4d6f8a1b02"/' \
    -e 's/51342920140302046X/513429201403020461/' dropout.json >bad.json
# A death notice as if education had made it: education may not publish it.
sed 's/"source": "health"/"source": "education"/' "$MSGS/person.death.json" >notallowed.json

# ---- one PUBLISH_BATCH, one answer per message, in order
pyb education@513400 dropout.json bad.json dropout.json notallowed.json dropout2.json
expect_rc 1
grep -E '^(ack|nack) ' "$OUT" | awk '{ print $1, $2, ($1 == "nack" ? $3 : "") }' >got_order
printf '%s\n' "ack dropout.json " "nack bad.json invalid" "ack dropout.json " \
    "nack notallowed.json not_allowed" "ack dropout2.json " >want_order
check "results in message order: $(tr '\n' '|' <got_order)" cmp -s got_order want_order
expect_out_has "problem bad.json subject.citizen_id check_char:"
S1=$(sed -n '1s/^ack dropout.json log_seq \([0-9]*\)$/\1/p' "$OUT")
check "the first dropout is new (log_seq '$S1')" test -n "$S1"
expect_out_has "ack dropout.json log_seq $S1 duplicate"
S2=$(sed -n 's/^ack dropout2.json log_seq \([0-9]*\)$/\1/p' "$OUT")
check "the second dropout has its own log_seq ($S1, $S2)" test -n "$S2" -a "$S2" != "$S1"
# The invalid message is in the dead-letter store, with its reason.
hub dlq list --config cfg
expect_rc 0
expect_out_has "invalid"
expect_out_has "check character is 1, expected X"

# ---- consumers: one asks for batches, the other does not
EPS=$(endpoints_of dropout.json)
EP1=$(echo "$EPS" | sed -n 1p)
EP2=$(echo "$EPS" | sed -n 2p)
check "the dropout reaches two endpoints ($EP1, $EP2)" test -n "$EP1" -a -n "$EP2"
run env PYCLIENT_BATCH=64 PYCLIENT_FIELDS=1 "$PY" "$PYC" consume "$URL" cfg/keys/hub.pub \
    cfg/keys "$EP1" 5 1000
expect_rc 0
expect_out_has "frame DELIVER_BATCH 2"
expect_out_lacks "frame DELIVER 1"
expect_out_lacks "bad "
grep '^deliver ' "$OUT" | awk '{ print $2, $3 }' >got_del
printf '1 %s\n2 %s\n' "$(id_of dropout.json)" "$(id_of dropout2.json)" >want_del
check "$EP1: deliveries 1 and 2 in one frame, in order" cmp -s got_del want_del
run env PYCLIENT_FRAMES=1 PYCLIENT_FIELDS=1 "$PY" "$PYC" consume "$URL" cfg/keys/hub.pub \
    cfg/keys "$EP2" 5 1000
expect_rc 0
expect_out_lacks "DELIVER_BATCH"
check "$EP2 (no batch): two single DELIVERs" test "$(grep -c '^frame DELIVER 1$' "$OUT")" = 2
grep '^deliver ' "$OUT" | awk '{ print $2, $3 }' >got_del
check "$EP2: deliveries 1 and 2, in order" cmp -s got_del want_del

# ---- frames refused whole; results per message; prompt answers
run "$PY" "$CHK" frames "$URL" cfg/keys/hub.pub cfg/keys education@513400 dropout.json
expect_rc 0
expect_out_lacks "not ok"

# ---- the C SDK publishes in PUBLISH_BATCH frames; credit holds for batches
gen_dropouts 20 batch
pub education@513400 $(sed 's|.*|m/&.json|' ids.txt)
expect_rc 0
check "hubc_tool: 20 acks" test "$(grep -c '^ack m/' "$OUT")" = 20
expect_out_lacks "duplicate"
run "$PY" "$CHK" credit "$URL" cfg/keys/hub.pub cfg/keys "$EP1" 3
expect_rc 0
expect_out_lacks "not ok"
expect_out_has "ok credit 3: exactly 3 deliveries in flight"
# The rest, 4 to a frame with 8 in flight: from 6 (5 was acknowledged; the
# 20 are 3 to 22) to 22, every frame within the batch asked for.
run env PYCLIENT_BATCH=4 PYCLIENT_CREDIT=8 "$PY" "$PYC" consume "$URL" cfg/keys/hub.pub \
    cfg/keys "$EP1" 17 1500
expect_rc 0
expect_out_lacks "bad "
grep '^deliver ' "$OUT" | awk '{ print $2, $3 }' >got_del
sed -n '4,20p' ids.txt | awk '{ printf "%d %s\n", NR + 5, $1 }' >want_del
check "$EP1: deliveries 6 to 22 in order" cmp -s got_del want_del
check "no frame over 4 deliveries" test -z "$(awk '$1 == "frame" && $3 > 4' "$OUT")"
check "some frames carried several" test -n "$(awk '$1 == "frame" && $3 > 1' "$OUT")"
# The SDK's consumer (batch 64): EP2's 20 new deliveries, 3 to 22.
HUB_ENDPOINT= run "$HUB_TOOLS/hubc_tool" consume "$URL" cfg/keys/hub.pub cfg/keys "$EP2" 20 1500
expect_rc 0
grep '^deliver ' "$OUT" | awk '{ print $2, $3 }' >got_del
awk '{ printf "%d %s\n", NR + 2, $1 }' ids.txt >want_del
check "hubc_tool: $EP2 deliveries 3 to 22 in order" cmp -s got_del want_del
check "hubc_tool subscribed with batch 64" grep -q "peer=$EP2 .*batch=64" hubd.log

# ---- redeliveries inside one DELIVER_BATCH: the SDK drops (and acks) those
# already processed one by one and hands out the rest
hub cursor rewind --endpoint "$EP2" --to 10 --config cfg
expect_rc 0
run env HUBC_SDK_DROPS=1 "$HUB_TOOLS/hubc_tool" consume "$URL" cfg/keys/hub.pub cfg/keys "$EP2" \
    3 1500 19
expect_rc 0
expect_out_has "subscribed acked 10 last 22"
expect_out_lacks "drop"
check "hubc_recv handed out 20, 21, 22 only" \
    test "$(awk '$1 == "deliver" { printf "%s ", $2 }' "$OUT")" = "20 21 22 "
hub cursor show --endpoint "$EP2" --config cfg
row=$(awk -v ep="$EP2" '$1 == ep { print $2, $3, $4 }' "$OUT")
check "$EP2 acknowledged up to 22 again (got '$row')" test "$row" = "22 22 0"

# ---- counters count messages, not frames: 5 + 4 refused frames + 3 + 1 + 20
hub status --format json --config cfg
expect_rc 0
for kv in '"received":33' '"acked":24' '"nacked":9'; do
    expect_out_has "$kv"
done

hubd_stop TERM
check "hubd exits 0 on SIGTERM" test "$HUBD_RC" = 0

# ---- a store that fills up in the middle of a PUBLISH_BATCH: the whole
# batch is refused store_full (none of it half-stored), and hubd stays up.
mkdir full && cd full || exit 1
hubd_setup
echo "store_map_size: 262144" >>cfg/hub.yaml
hubd_start
mkdir m400
i=0
while [ $i -lt 400 ]; do
    sed -e "s/\"id\": \"[0-9a-f]*\"/\"id\": \"$(printf '%032x' $((i + 1)))\"/" \
        ../dropout.json >m400/$i.json
    i=$((i + 1))
done
run "$PY" "$CHK" full "$URL" cfg/keys/hub.pub cfg/keys education@513400 m400/*.json
expect_rc 0
expect_out_lacks "not ok"
check "hubd is still up after store_full" kill -0 "$HUBD_PID"
hub status --format json --config cfg
expect_out_has '"acked":0'
expect_out_has '"nacked":400'
hubd_stop TERM
check "hubd exits 0 on SIGTERM" test "$HUBD_RC" = 0
cd .. || exit 1

# ---- the largest PUBLISH_BATCH the protocol allows, 1024 messages of 1 MiB
# (about a GiB in one frame), passes hubd's frame-size cap and is answered
# (test_hubd_security.sh: a larger frame drops the connection). Heartbeats
# of 30 s: encrypting and decrypting a GiB takes both sides seconds.
mkdir largest && cd largest || exit 1
hubd_setup
sed -i 's/^heartbeat_ms: .*/heartbeat_ms: 30000/' cfg/hub.yaml
hubd_start
run "$PY" "$CHK" largest "$URL" cfg/keys/hub.pub cfg/keys education@513400 ../dropout.json
expect_rc 0
expect_out_lacks "not ok"
expect_out_has "ok one ACK_BATCH"
check "hubd is still up after the largest batch" kill -0 "$HUBD_PID"
hubd_stop TERM
check "hubd exits 0 on SIGTERM" test "$HUBD_RC" = 0
finish
