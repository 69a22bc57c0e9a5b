#!/bin/sh
# hubd without CURVE (hub.yaml security: plain; docs/PROTOCOL.md,
# "Transport"), with the real binaries on loopback: `hubctl token`, a
# publisher and consumers through the SDK (hubc_tool, hub-adapter, hub-sink,
# which read hub.yaml's security themselves) and the Python client; a
# wrong token, another endpoint's token, an unknown username and a CURVE
# client get no handshake (hubd logs the first three); security: plain
# with a listen address off this machine is refused by hubctl check and
# hubd; an ipc:// listen works; a PLAIN client cannot talk to a CURVE hub.
set -u
. "$REPO/tests/integration/lib.sh"
. "$REPO/tests/integration/hubd_lib.sh"

HUBC_TIMEOUT_MS=1500   # a refused client waits this long for a WELCOME that never comes
export HUBC_TIMEOUT_MS
PY=/usr/bin/python3
PYC=$REPO/tests/integration/pyclient.py

# ppub NAME FILE... / psub NAME COUNT: publish / consume with PLAIN.
ppub() {
    name=$1
    shift
    run env HUBC_SECURITY=plain "$HUB_TOOLS/hubc_tool" publish "$URL" - cfg/keys "$name" "$@"
}
psub() {
    run env HUBC_SECURITY=plain "$HUB_TOOLS/hubc_tool" consume "$URL" - cfg/keys "$1" "$2" 1500
}
# set_security WORD: hub.yaml's security line (none in the shipped file).
set_security() {
    sed -i '/^security:/d' cfg/hub.yaml
    echo "security: $1" >>cfg/hub.yaml
}

hubd_setup
set_security plain
sed 's/"change_type": "[a-z_]*"/"change_type": "dropout"/' \
    "$MSGS/student.enrolment_change.json" >dropout.json
DIV=$(sed -n 's/.*"hukou_division": "\([0-9]*\)".*/\1/p' dropout.json | head -1)

# ---- hubctl token
hub token education@513400 -c cfg
expect_rc 0
expect_out_has "education@513400: token written to cfg/keys/education@513400.token (mode 600)"
check "the token file is mode 600" test "$(stat -c %a cfg/keys/education@513400.token)" = 600
check "the token is 64 lowercase hex digits" \
    grep -q -x '[0-9a-f]\{64\}' cfg/keys/education@513400.token
for ep in "education@$DIV" "public_security@$DIV" public_security@513400 health@513400; do
    hub token "$ep" --config cfg
    expect_rc 0
done
if "$PY" -c 'import zmq, msgpack' >/dev/null 2>&1; then
    # The derivation of docs/PROTOCOL.md, computed by another implementation.
    run "$PY" "$PYC" token cfg/keys/hub.key education@513400
    expect_rc 0
    check "the token is keyed BLAKE2b-256 as PROTOCOL.md says" \
        test "$(cat "$OUT")" = "$(cat cfg/keys/education@513400.token)"
fi
hub token stranger@000000 -c cfg
expect_rc 1
expect_err_has "'stranger@000000' is not an endpoint of"
check "no token was written for an unknown endpoint" test ! -e cfg/keys/stranger@000000.token
hub token educaton@513400 -c cfg
expect_rc 1
expect_err_has "(did you mean 'education@513400'?)"
hub token
expect_rc 2
chmod 644 cfg/keys/hub.key
hub token education@513400 -c cfg
expect_rc 1
expect_err_has "secret key readable by others"
chmod 600 cfg/keys/hub.key
hub check --config cfg
expect_rc 0

# ---- plain on loopback: publish and consume through the SDK
hubd_start
check "hubd warns that CURVE is off" grep -q 'level=warn event=security_plain' hubd.log
ppub education@513400 dropout.json
expect_rc 0
expect_out_has "ack dropout.json log_seq 1"
psub "education@$DIV" 1
expect_rc 0
expect_out_has "deliver 1 "
check "the hub knows each connection as its username's endpoint" \
    grep -q "event=hello peer=education@513400" hubd.log

# hub-sink reads security: plain and the token from hub.yaml's keys dir.
run "$HUB_BIN/hub-sink" -c cfg -e "public_security@$DIV" --inbox box --idle-exit 800
expect_rc 0
check "hub-sink wrote the delivery" sh -c "cat box/*.jsonl | grep -q student.enrolment_change"

# hub-adapter too (a household-register export, one record).
printf '%s\n' '公民身份号码,姓名,性别,民族,变动类型,变动日期,迁出地区划,现住地区划,迁移原因,备注' \
    '513431201001050019,吉克·阿依,男,彝族,迁入,2024-01-05,513429,513401,务工,' >hukou_1.csv
run "$HUB_BIN/hub-adapter" -c cfg -m "$REPO/tests/data/adapters/hukou_test.yaml" --state st \
    hukou_1.csv
expect_rc 0
expect_out_has "published 1, duplicate 0"

# The Python client, written from docs/PROTOCOL.md: PLAIN with the token.
if "$PY" -c 'import zmq, msgpack' >/dev/null 2>&1; then
    run env PYCLIENT_SECURITY=plain "$PY" "$PYC" publish "$URL" - cfg/keys health@513400 \
        "$MSGS/person.death.json"
    expect_rc 0
    expect_out_has "ack $MSGS/person.death.json log_seq"
fi
HELLOS=$(grep -c 'event=hello' hubd.log)

# ---- refused: no handshake, so no WELCOME; hubd says why (never the token)
ppub_with() {   # ppub_with TOKEN NAME: publish dropout.json with that token
    run env HUBC_SECURITY=plain HUBC_TOKEN="$1" "$HUB_TOOLS/hubc_tool" publish "$URL" - cfg/keys \
        "$2" dropout.json
}
WRONG=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
ppub_with "$WRONG" education@513400
expect_rc 1
expect_err_has "no WELCOME"
expect_err_has "hubctl token"
expect_out_lacks "ack"
check "hubd logged the wrong token" \
    grep -q 'event=auth_refused mechanism=PLAIN user=education@513400 reason="wrong token"' hubd.log
check "hubd did not log the password" test -z "$(grep -F "$WRONG" hubd.log)"
# Another endpoint's (valid) token with this username.
ppub_with "$(cat cfg/keys/health@513400.token)" education@513400
expect_rc 1
expect_err_has "no WELCOME"
check "hubd refused the other endpoint's token" \
    test "$(grep -c 'mechanism=PLAIN user=education@513400 reason="wrong token"' hubd.log)" -eq 2
# A username that is no endpoint.
ppub_with "$(cat cfg/keys/education@513400.token)" stranger@000000
expect_rc 1
expect_err_has "no WELCOME"
check "hubd logged the unknown username" \
    grep -q 'event=auth_refused mechanism=PLAIN user=stranger@000000 reason="unknown endpoint"' \
    hubd.log
# What a stranger sends is not written to the log as it is.
ppub_with "$WRONG" 'evil"name=x'
expect_rc 1
check "a hostile username is logged defanged" \
    grep -q 'mechanism=PLAIN user=evil?name?x reason="unknown endpoint"' hubd.log
# A CURVE client (its keypair is in departments.yaml) cannot talk to a plain hub.
run "$HUB_TOOLS/hubc_tool" publish "$URL" cfg/keys/hub.pub cfg/keys education@513400 dropout.json
expect_rc 1
expect_err_has "no WELCOME"
check "the refused clients stored nothing and said no HELLO" \
    test "$(grep -c 'event=hello' hubd.log)" -eq "$HELLOS"
# The SDK tells a missing token at once, and sends no token off this machine.
rm cfg/keys/public_security@513400.token
run env HUBC_SECURITY=plain "$HUB_TOOLS/hubc_tool" publish "$URL" - cfg/keys \
    public_security@513400 dropout.json
expect_rc 1
expect_err_has "no token for public_security@513400: run hubctl token public_security@513400"
run "$HUB_BIN/hub-adapter" -c cfg -m "$REPO/tests/data/adapters/hukou_test.yaml" --state st2 \
    hukou_1.csv
expect_rc 1
expect_err_has "run hubctl token public_security@513400"
expect_err_has "the token of public_security@513400 is not usable"
run env HUBC_SECURITY=plain "$HUB_TOOLS/hubc_tool" publish tcp://192.0.2.1:7400 - cfg/keys \
    education@513400 dropout.json
expect_rc 1
expect_err_has "security plain sends the token in clear: only to a hub on this machine"
hubd_stop
check "hubd stopped cleanly" test "$HUBD_RC" -eq 0

# ---- plain with a listen address off this machine: refused
cp cfg/hub.yaml hub.yaml.keep
sed -i "s|^listen: .*|listen: tcp://0.0.0.0:$PORT|" cfg/hub.yaml
LINE=$(grep -n '^security:' cfg/hub.yaml | cut -d: -f1)
hub check --config cfg
expect_rc 1
expect_err_has "cfg/hub.yaml:$LINE:11: error: 'security: plain' needs 'listen' on this machine"
expect_err_has "not 'tcp://0.0.0.0:$PORT': PLAIN sends each endpoint's token in clear"
expect_err_has "benchmarks and local development only [plain_not_local]"
run timeout 20 "$HUB_BIN/hubd" -c cfg
expect_rc 1
expect_err_has "cfg/hub.yaml:$LINE:11: error: 'security: plain' needs 'listen' on this machine"
expect_err_has "event=start_failed"
set_security plane
hub check --config cfg
expect_rc 1
expect_err_has "'security' must be curve or plain, not 'plane' (did you mean 'plain'?)"

# ---- plain on ipc://
cp hub.yaml.keep cfg/hub.yaml
sed -i "s|^listen: .*|listen: ipc://$PWD/hub.sock|" cfg/hub.yaml
URL=ipc://$PWD/hub.sock
hubd_start
ppub education@513400 dropout.json
expect_rc 0
expect_out_has "ack dropout.json log_seq 1 duplicate"
hubd_stop

# ---- a CURVE hub: PLAIN clients get no handshake; CURVE ones still work
cp hub.yaml.keep cfg/hub.yaml
set_security curve
_hubd_new_port
hubd_start
ppub education@513400 dropout.json
expect_rc 1
expect_err_has "no WELCOME"
run "$HUB_TOOLS/hubc_tool" publish "$URL" cfg/keys/hub.pub cfg/keys education@513400 dropout.json
expect_rc 0
expect_out_has "ack dropout.json log_seq 1 duplicate"
check "the CURVE hub did not warn about plain" \
    test "$(grep -c 'event=security_plain' hubd.log)" -eq 2
hubd_stop

finish
