#!/bin/sh
# Security of hubd, with the real binaries: who may connect, what a
# connection may publish and read, and the keys the hub refuses to use.
# (test_hubd.sh has the basic unknown-key and not_allowed cases.)
set -u
. "$REPO/tests/integration/lib.sh"
. "$REPO/tests/integration/hubd_lib.sh"

HUBC_TIMEOUT_MS=1500   # an unknown key waits this long for a WELCOME that never comes
export HUBC_TIMEOUT_MS

hubd_setup

# ---- secret keys readable by others: hubd refuses to start
chmod 644 cfg/keys/hub.key
run timeout 20 "$HUB_BIN/hubd" -c cfg
expect_rc 1
expect_err_has "hub.key"
expect_err_has "secret key readable by others (mode 644): chmod 600 it"
expect_err_has "event=start_failed"
check "the refusal does not show the secret key" \
    test -z "$(grep -F -e "$(cat cfg/keys/hub.key)" "$ERR")"
chmod 640 cfg/keys/hub.key   # readable by the group is "by others" too
run timeout 20 "$HUB_BIN/hubd" -c cfg
expect_rc 1
expect_err_has "(mode 640): chmod 600 it"
chmod 600 cfg/keys/hub.key
chmod 644 cfg/keys/hash.key
run timeout 20 "$HUB_BIN/hubd" -c cfg
expect_rc 1
expect_err_has "hash.key"
expect_err_has "readable by others (mode 644): chmod 600 it"
chmod 600 cfg/keys/hash.key

hubd_start

sed 's/"change_type": "[a-z_]*"/"change_type": "dropout"/' \
    "$MSGS/student.enrolment_change.json" >dropout.json
DIV=$(sed -n 's/.*"hukou_division": "\([0-9]*\)".*/\1/p' dropout.json | head -1)

# ---- who may connect
# A key pair not in departments.yaml, with the right server key: no WELCOME.
"$HUB_BIN/hubctl" keygen stranger --dir . >/dev/null
mkdir -p strangers && mv stranger.pub stranger.key strangers/
run "$HUB_TOOLS/hubc_tool" publish "$URL" cfg/keys/hub.pub strangers stranger dropout.json
expect_rc 1
expect_err_has "no WELCOME"
check "hubd logged the refused key" \
    grep -F -q "event=auth_refused mechanism=CURVE key=$(cat strangers/stranger.pub)" hubd.log
# A listed public key with another secret (a stolen .pub): no WELCOME.
mkdir thief
"$HUB_BIN/hubctl" keygen education@513400 --dir thief >/dev/null
cp cfg/keys/education@513400.pub thief/
run "$HUB_TOOLS/hubc_tool" publish "$URL" cfg/keys/hub.pub thief education@513400 dropout.json
expect_rc 1
expect_err_has "no WELCOME"
expect_out_lacks "ack"
# A listed key pair that trusts another server key (a fake hub's): the
# handshake fails, nothing is sent.
mkdir fake
"$HUB_BIN/hubctl" keygen hub --dir fake >/dev/null
run "$HUB_TOOLS/hubc_tool" publish "$URL" fake/hub.pub cfg/keys education@513400 dropout.json
expect_rc 1
expect_err_has "no WELCOME"
# A client's own secret key readable by others: the SDK will not use it.
mkdir loose
cp cfg/keys/education@513400.pub cfg/keys/education@513400.key loose/
chmod 644 loose/education@513400.key
run "$HUB_TOOLS/hubc_tool" publish "$URL" cfg/keys/hub.pub loose education@513400 dropout.json
expect_rc 1
expect_err_has "secret key readable by others (mode 644)"
check "nothing was stored by the refused clients" test "$(grep -c 'event=hello' hubd.log)" -eq 0

# ---- what a connection may publish
# Not as another department: the source is who authenticated.
pub health@513400 dropout.json
expect_rc 0
expect_out_has "nack dropout.json source_mismatch"
expect_out_has "says source 'education', but this connection is health"
pub "education@$DIV" dropout.json   # the same department at another level: fine
expect_out_has "ack dropout.json log_seq 1"
# Only its own types, even when it names itself as the source.
sed 's/"source": "education"/"source": "civil_affairs"/' dropout.json >as_civil.json
pub civil_affairs@513400 as_civil.json
expect_out_has "nack as_civil.json not_allowed"
# A restricted type (drug control: public security only) from health.
sed 's/"source": "public_security"/"source": "health"/' \
    "$MSGS/security.drug_control.json" >drug_as_health.json
pub health@513400 drug_as_health.json
expect_out_has "nack drug_as_health.json not_allowed"
expect_out_has "health may not publish security.drug_control"
# A message naming no source is stamped with the connection's department
# (the dropout rules take only education's messages: it is delivered).
sed -e '/"source": /d' -e 's/"id": "[0-9a-f]*"/"id": "00000000000000000000000000005002"/' \
    dropout.json >no_source.json
pub education@513400 no_source.json
expect_out_has "ack no_source.json log_seq 2"
# Ids are per source: another department cannot take an id first to make
# a department's message a "duplicate".
sed 's/"id": "[0-9a-f]*"/"id": "00000000000000000000000000005003"/' \
    "$MSGS/person.birth.json" >birth.json
sed 's/"id": "[0-9a-f]*"/"id": "00000000000000000000000000005003"/' dropout.json >same_id.json
pub health@513400 birth.json
expect_out_has "ack birth.json log_seq 3"
pub education@513400 same_id.json
expect_out_has "ack same_id.json log_seq 4"
expect_out_lacks "duplicate"
# Oversized and undecodable bytes are refused; the hub stays up.
head -c 1100000 /dev/zero | tr '\0' 'x' >big.bin
pub education@513400 big.bin
expect_out_has "nack big.bin too_large"
printf '\xc1\xc1\xc1 not msgpack' >junk.bin
pub education@513400 junk.bin
expect_out_has "nack junk.bin malformed"
# A frame over the cap (docs/PROTOCOL.md, "Frames": 1024 x (1 MiB + 5) bytes
# and 64 KiB, the largest PUBLISH_BATCH with room to spare) is never read:
# ZeroMQ drops the connection once it sees the size, even of a client
# with a session, and nothing answers the frame (read, it would get NACK
# malformed). The client's socket connects again by itself, without the
# session: what it sends next gets hello_first. (test_hubd_batch.sh: the
# largest batch the protocol allows is answered.)
probe() {
    name=$1
    shift
    run "$HUB_TOOLS/hub_probe" "$URL" cfg/keys/hub.pub cfg/keys "$name" "$@"
}
CAP=$((1024 * (1048576 + 5) + 65536))
probe education@513400 "HELLO protocol=1" "FRAME PUBLISH_BATCH $((CAP + 1))" "await 60000" \
    "HEARTBEAT"
expect_out_has "< WELCOME"
expect_out_has "! disconnected"
check "the oversized frame dropped the connection" \
    test "$(sed -n '/^> FRAME/{n;p;q;}' "$OUT")" = "! disconnected"
expect_out_lacks "< NACK"
check "the next message has no session" \
    test "$(sed -n '/^> HEARTBEAT/{n;p;q;}' "$OUT" | cut -d' ' -f1-3)" = "< ERROR code=hello_first"
check "hubd is still up after the oversized frame" kill -0 "$HUBD_PID"
pub education@513400 same_id.json   # and serves the others (a resend: nothing changes)
expect_out_has "ack same_id.json log_seq 4 duplicate"

# ---- what a connection may read: only its own endpoint's queue
run env HUBC_ENDPOINT="education@$DIV" "$HUB_TOOLS/hubc_tool" consume "$URL" cfg/keys/hub.pub \
    cfg/keys "public_security@$DIV" 5 500
expect_rc 1
expect_err_has "subscribe failed: forbidden: a connection reads only its own endpoint"
expect_out_lacks "deliver"
check "hubd logged the attempt" \
    grep -q "event=forbidden peer=public_security@$DIV asked=education@$DIV" hubd.log
# A township office asks for its county's queue; a county for the
# prefecture's; an endpoint that does not exist.
run env HUBC_ENDPOINT=education@513431 "$HUB_TOOLS/hubc_tool" consume "$URL" cfg/keys/hub.pub \
    cfg/keys education@513431101 5 500
expect_rc 1
expect_err_has "forbidden"
run env HUBC_ENDPOINT=education@513400 "$HUB_TOOLS/hubc_tool" consume "$URL" cfg/keys/hub.pub \
    cfg/keys "education@$DIV" 5 500
expect_rc 1
expect_err_has "forbidden"
run env HUBC_ENDPOINT=nobody@000000 "$HUB_TOOLS/hubc_tool" consume "$URL" cfg/keys/hub.pub \
    cfg/keys "education@$DIV" 5 500
expect_rc 1
expect_err_has "forbidden"
# Acknowledging or crediting another endpoint's queue, from a connection
# subscribed to its own, is refused too (hub_probe speaks raw frames).
probe "public_security@$DIV" "HELLO protocol=1" \
    "SUBSCRIBE endpoint=public_security@$DIV credit=0" \
    "DACK endpoint=education@$DIV seq=3" "CREDIT endpoint=education@$DIV credit=9"
expect_out_has "< SUBSCRIBED acked=0 endpoint=public_security@$DIV"
check "DACK and CREDIT of another endpoint are forbidden" \
    test "$(grep -c '< ERROR code=forbidden' "$OUT")" -eq 2
# Nothing before HELLO; a protocol the hub does not speak.
probe "education@$DIV" "SUBSCRIBE endpoint=education@$DIV credit=5" \
    "DACK endpoint=education@$DIV seq=3" "HELLO protocol=0"
check "SUBSCRIBE and DACK before HELLO are refused" \
    test "$(grep -c '< ERROR code=hello_first' "$OUT")" -eq 2
expect_out_has "< ERROR code=protocol"
expect_out_lacks "< DELIVER"
expect_out_lacks "< WELCOME"

# A routing id is not an identity. A client could choose its ZeroMQ
# routing id and so step into a dead consumer's place (its entry lingers
# for three heartbeats, hello'd and subscribed). The hub serves only
# routing ids its ROUTER made itself: a chosen one gets no answer at all,
# whoever it is and whatever it sends or waits for.
probe "education@$DIV" -r "rid-education@$DIV" "HELLO protocol=1" \
    "SUBSCRIBE endpoint=education@$DIV credit=5"
expect_out_lacks "< WELCOME"
expect_out_lacks "< DELIVER"
probe health@513400 -r "rid-education@$DIV" "SUBSCRIBE endpoint=education@$DIV credit=5" \
    "DACK endpoint=education@$DIV seq=3" "HELLO protocol=1" \
    "SUBSCRIBE endpoint=education@$DIV credit=5" "DACK endpoint=education@$DIV seq=3"
expect_out_lacks "< DELIVER"
expect_out_lacks "< SUBSCRIBED"
expect_out_lacks "< WELCOME"
check "hubd logged the refused routing ids" \
    grep -q "event=routing_id_refused peer=health@513400" hubd.log
# A listener with a chosen routing id waits in vain for someone's deliveries.
sed 's/"id": "[0-9a-f]*"/"id": "00000000000000000000000000005009"/' dropout.json >later.json
(sleep 0.3 && "$HUB_TOOLS/hubc_tool" publish "$URL" cfg/keys/hub.pub cfg/keys \
    education@513400 later.json >/dev/null 2>&1) &
later=$!
probe health@513400 -r rid-victim "sleep 800"
wait "$later"
expect_out_lacks "< DELIVER"
# The refused subscriptions took nothing: the owner gets its whole queue
# (the dropout, the unsourced one, the one sharing an id with a birth).
sub "education@$DIV" 10 800
expect_out_has "subscribed acked 0 last 4"
expect_out_has "deliver 1 e1d3f5a7c9b24e6f8a0c2e4d6f8a1b04 student.enrolment_change"
expect_out_has "deliver 2 00000000000000000000000000005002 student.enrolment_change"
expect_out_has "deliver 3 00000000000000000000000000005003 student.enrolment_change"
expect_out_has "deliver 4 00000000000000000000000000005009 student.enrolment_change"
expect_out_lacks "person.birth"

# One department's key cannot fill the peer table: past 32 connections an
# endpoint is refused (ERROR too_many_connections), and others still get in.
if /usr/bin/python3 -c 'import zmq, msgpack' >/dev/null 2>&1; then
    run /usr/bin/python3 "$REPO/tests/integration/flood_connect.py" "$URL" cfg/keys/hub.pub \
        cfg/keys health@513401 34 civil_affairs@513401
    check "32 connections of one endpoint are welcome" test "$(grep -c '^WELCOME' "$OUT")" = 32
    check "the 33rd and 34th are refused" \
        test "$(grep -c '^ERROR too_many_connections' "$OUT")" = 2
    expect_out_has "other: WELCOME"
    check "hubd logged the refusal" grep -q "event=too_many_connections peer=health@513401" hubd.log
else
    echo "note: /usr/bin/python3 lacks zmq/msgpack: the connection-limit check is skipped"
fi

# The hub shrugged all of it off.
check "hubd is still up" kill -0 "$HUBD_PID"
hubd_stop TERM
check "hubd exits 0 on SIGTERM" test "$HUBD_RC" = 0
check "no sanitizer report" test -z "$(grep -l 'Sanitizer\|runtime error' hubd.log 2>/dev/null)"
finish
