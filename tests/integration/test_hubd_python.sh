#!/bin/sh
# hubd end to end with a client written in Python from docs/PROTOCOL.md and
# docs/SCHEMAS.md alone (tests/integration/pyclient.py): CURVE, HELLO,
# PUBLISH/ACK/NACK, dedup, SUBSCRIBE/DELIVER/DACK at the endpoints the rules
# name, ERROR forbidden. Skipped when /usr/bin/python3 lacks zmq or msgpack
# (tools/deps.sh installs python3-zmq and python3-msgpack).
set -u
. "$REPO/tests/integration/lib.sh"
need_python_zmq
. "$REPO/tests/integration/hubd_lib.sh"
PYC=$REPO/tests/integration/pyclient.py

# pypub NAME FILE...: publish as endpoint NAME; pysub NAME COUNT [MS [ENDPOINT]]
pypub() {
    name=$1
    shift
    run "$PY" "$PYC" publish "$URL" cfg/keys/hub.pub cfg/keys "$name" "$@"
}
pysub() {
    if [ $# -ge 4 ]; then
        run env PYCLIENT_FIELDS=1 "$PY" "$PYC" consume "$URL" cfg/keys/hub.pub cfg/keys \
            "$1" "$2" "$3" "$4"
    else
        run env PYCLIENT_FIELDS=1 "$PY" "$PYC" consume "$URL" cfg/keys/hub.pub cfg/keys \
            "$1" "$2" "${3:-1500}"
    fi
}
# endpoints_of FILE: the endpoints `hubctl rules test` says FILE reaches.
endpoints_of() {
    "$HUB_BIN/hubctl" rules test --config cfg --message "$1" | sed -n 's/^-> \([^ ]*\).*/\1/p'
}
# fields_of FILE ENDPOINT: the field paths the dry run releases to ENDPOINT, sorted.
fields_of() {
    "$HUB_BIN/hubctl" rules test --config cfg --message "$1" |
        awk -v ep="$2" '/^-> / { on = ($2 == ep); next } on && NF > 0 { print $1 }' | sort
}
# id_of FILE: the message id of a JSON message.
id_of() {
    sed -n 's/^ *"id": "\([^"]*\)".*/\1/p' "$1" | head -n 1
}

# The encoder reproduces the 39-byte example of PROTOCOL.md.
run "$PY" "$PYC" selftest
expect_rc 0
expect_out_has "39 bytes, as documented"

hubd_setup
hubd_start

sed 's/"change_type": "[a-z_]*"/"change_type": "dropout"/' \
    "$MSGS/student.enrolment_change.json" >dropout.json
cp "$MSGS/person.death.json" death.json

# Publish each as its department's prefecture endpoint.
pypub education@513400 dropout.json
expect_rc 0
expect_out_has "ack dropout.json log_seq "
expect_out_lacks "duplicate"
DROP_SEQ=$(sed -n 's/^ack dropout.json log_seq \([0-9]*\).*/\1/p' "$OUT")
pypub health@513400 death.json
expect_rc 0
expect_out_has "ack death.json log_seq "
expect_out_lacks "duplicate"
DEATH_SEQ=$(sed -n 's/^ack death.json log_seq \([0-9]*\).*/\1/p' "$OUT")
check "two log sequences ($DROP_SEQ, $DEATH_SEQ)" \
    test -n "$DROP_SEQ" -a -n "$DEATH_SEQ" -a "$DROP_SEQ" != "$DEATH_SEQ"

# Resending is acknowledged as a duplicate with the original log_seq, also
# several in one window.
pypub education@513400 dropout.json
expect_rc 0
expect_out_has "ack dropout.json log_seq $DROP_SEQ duplicate"
pypub health@513400 death.json death.json death.json
expect_rc 0
n=$(grep -c "^ack death.json log_seq $DEATH_SEQ duplicate\$" "$OUT")
check "three duplicate acks in one window (got $n)" test "$n" = 3

# The deliveries, at the endpoints the rules name, each message checked by
# the client against the fields DELIVER lists, and those against the dry run.
for f in dropout.json death.json; do
    id=$(id_of "$f")
    type=$(sed -n 's/^ *"type": "\([^"]*\)".*/\1/p' "$f" | head -n 1)
    eps=$(endpoints_of "$f")
    check "the rules send $f somewhere" test -n "$eps"
    for ep in $eps; do
        pysub "$ep" 5
        expect_rc 0
        expect_out_has "subscribed acked 0 last 1"
        expect_out_has "deliver 1 $id $type"
        expect_out_lacks "bad "
        sed -n 's/^field 1 \([^ ]*\) .*/\1/p' "$OUT" | sort >got_fields
        fields_of "$f" "$ep" >want_fields
        check "$ep: fields released" test -s got_fields
        check "$ep: DELIVER.fields of $f match hubctl rules test" cmp -s got_fields want_fields
        # Acknowledged: a new subscription starts after it.
        pysub "$ep" 5 500
        expect_rc 0
        expect_out_has "subscribed acked 1 last 1"
        expect_out_lacks "deliver"
    done
done
# An endpoint the rules do not name receives nothing (default deny).
pysub education@513401 5 500
expect_rc 0
expect_out_has "subscribed acked 0 last 0"
expect_out_lacks "deliver"

# An invalid message is refused with every problem listed.
pypub health@513400 "$MSGS/invalid/cid_check_char.json"
expect_rc 1
expect_out_has "nack $MSGS/invalid/cid_check_char.json invalid"
expect_out_has "problem $MSGS/invalid/cid_check_char.json subject.citizen_id check_char:"
sed -e 's/"id": "[^"]*"/"id": "5d0a8e2f14b34c7d9e6f1a2b3c4d5e99"/' \
    -e 's/"death_date": "[^"]*"/"death_date": "2026-02-30"/' \
    -e 's/"place_type": "[^"]*"/"place_type": "6"/' death.json >two_defects.json
pypub health@513400 two_defects.json
expect_rc 1
expect_out_has "nack two_defects.json invalid"
expect_out_has "problem two_defects.json body.death_date bad_value:"
expect_out_has "problem two_defects.json body.place_type unknown_code:"
# A message that is no message (a null value) is malformed, with its offset.
pypub health@513400 "$MSGS/invalid/null_value.json"
expect_out_has "nack $MSGS/invalid/null_value.json malformed"
expect_out_has "wrong_type"
# Another department's message: refused, not rewritten.
pypub health@513400 dropout.json
expect_out_has "nack dropout.json source_mismatch"

# Another endpoint's queue is forbidden, and it stays untouched.
pysub education@513429 5 500 public_security@513429
expect_rc 1
expect_out_has "error forbidden"
expect_out_lacks "deliver"

# An unknown key never completes the handshake.
"$HUB_BIN/hubctl" keygen stranger --dir . >/dev/null
mkdir -p strangers && mv stranger.pub stranger.key strangers/
run env PYCLIENT_HELLO_MS=1500 "$PY" "$PYC" publish "$URL" cfg/keys/hub.pub strangers stranger \
    dropout.json
expect_rc 1
expect_err_has "no WELCOME"

# A second dropout (another id) is the next sequence at the same endpoints.
sed 's/"id": "[^"]*"/"id": "e1d3f5a7c9b24e6f8a0c2e4d6f8a1b05"/' dropout.json >dropout2.json
pypub education@513400 dropout2.json
expect_rc 0
expect_out_has "ack dropout2.json log_seq"
for ep in $(endpoints_of dropout2.json); do
    pysub "$ep" 5
    expect_out_has "subscribed acked 1 last 2"
    expect_out_has "deliver 2 e1d3f5a7c9b24e6f8a0c2e4d6f8a1b05 student.enrolment_change"
    expect_out_lacks "bad "
done

# A hub restart under a waiting consumer: ZeroMQ reconnects by itself and
# the new hub has no session for it; the client notices the new handshake,
# says HELLO and subscribes again, and gets what is published afterwards.
EP=$(endpoints_of dropout.json | head -n 1)
env PYCLIENT_FIELDS=1 "$PY" "$PYC" consume "$URL" cfg/keys/hub.pub cfg/keys "$EP" 1 15000 \
    >restart.out 2>restart.err &
CONS_PID=$!
i=0
while [ $i -lt 100 ] && ! grep -q "^subscribed" restart.out; do
    sleep 0.05
    i=$((i + 1))
done
check "the waiting consumer subscribed" grep -q "^subscribed acked 2 last 2" restart.out
hubd_stop TERM
check "hubd exits 0 on SIGTERM" test "$HUBD_RC" = 0
hubd_start
sed 's/"id": "[^"]*"/"id": "e1d3f5a7c9b24e6f8a0c2e4d6f8a1b06"/' dropout.json >dropout3.json
pypub education@513400 dropout3.json
expect_rc 0
expect_out_has "ack dropout3.json log_seq"
CONS_RC=0
wait "$CONS_PID" || CONS_RC=$?
check "the consumer across the restart exits 0 (got $CONS_RC: $(cat restart.err))" \
    test "$CONS_RC" = 0
# Whether it subscribes again before or after the publish is a race: either is right.
check "the consumer across the restart subscribed again" \
    test "$(grep -c "^subscribed acked 2 last [23]" restart.out)" -ge 2
check "the consumer across the restart got the new message" \
    grep -q "^deliver 3 e1d3f5a7c9b24e6f8a0c2e4d6f8a1b06 student.enrolment_change" restart.out

hubd_stop TERM
check "hubd exits 0 on SIGTERM" test "$HUBD_RC" = 0
finish
