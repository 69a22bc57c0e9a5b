#!/bin/sh
# hub-sink's DACK rule: it acknowledges a seq only once that seq and every
# one before it are durable in its inbox, never a delivery it could not
# write, so the hub never forgets a record the department did not get.
# hub-sink runs against sink_fake_hub.py (docs/PROTOCOL.md, the cursor kept
# across connections as hubd's store keeps it), which checks every DACK
# against the inbox as it arrives; 12 deliveries for civil_affairs@513401:
#   1. A full disk: the file size limit (RLIMIT_FSIZE, SIGXFSZ ignored, so
#      that write() fails with EFBIG as it would with ENOSPC) lets 1..4 in
#      and fails the write of 5..8 (credit 4): no DACK past 4, exit 1.
#   2. The disk has room again; delivery 7 cannot be read (its message
#      carries an envelope key this build does not know, as a newer hub's
#      might): 5 and 6 written, DACK 6, exit 1. (hub-sink once sent the
#      batch's DACK 7 here, and the hub forgot 7.)
#   3. Restarted, 7 still unreadable and now the first of the batch: no
#      DACK at all, exit 1.
#   4. The cause removed (7 readable): 7..12 written, DACK 12, exit 0.
# At the end the inbox's finished files hold 1..12 exactly once, with no
# gap (sink_check.py), each death once, and the hub's cursor is 12.
# Skipped when /usr/bin/python3 lacks zmq or msgpack (tools/deps.sh
# installs python3-zmq and python3-msgpack).
set -u
PY=/usr/bin/python3
if ! [ -x "$PY" ] || ! "$PY" -c 'import zmq, msgpack' >/dev/null 2>&1; then
    echo "SKIP: $PY cannot import zmq and msgpack (apt-get install python3-zmq python3-msgpack)"
    exit 0
fi
. "$REPO/tests/integration/lib.sh"

EP=civil_affairs@513401
N=12
mkdir -p cfg/keys
"$HUB_BIN/hubctl" keygen hub --dir cfg/keys >/dev/null
"$HUB_BIN/hubctl" keygen "$EP" --dir cfg/keys >/dev/null

"$PY" "$REPO/tests/integration/sink_fake_hub.py" cfg/keys "$EP" "$N" inbox hub.url unreadable \
    >hub.log 2>&1 &
HUB=$!
trap 'kill "$HUB" 2>/dev/null' EXIT
i=0
while [ $i -lt 100 ] && ! [ -s hub.url ] && kill -0 "$HUB" 2>/dev/null; do
    sleep 0.05
    i=$((i + 1))
done
if ! [ -s hub.url ]; then
    cat hub.log
    fail "the fake hub did not start"
    finish
fi
printf 'listen: %s\nkeys: keys\n' "$(cat hub.url)" >cfg/hub.yaml

# sink [LIMIT] ARGS...: one run of hub-sink into ./inbox ($RC, $OUT, $ERR),
# under a file size limit of LIMIT bytes when the first argument is a
# number; run.log gets the fake hub's lines of this run. --idle-exit ends
# the run that succeeds, and one that does not fail as it should.
sink() {
    from=$(($(wc -l <hub.log) + 1))
    byes=$(grep -c '^bye$' hub.log || true)
    limit=
    case $1 in
    [0-9]*) limit=$1 && shift ;;
    esac
    if [ -n "$limit" ]; then
        run "$PY" -c 'import os, resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # kept across exec: EFBIG, not a kill
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]), int(sys.argv[1])))
os.execv(sys.argv[2], sys.argv[2:])' "$limit" "$HUB_BIN/hub-sink" -c cfg -e "$EP" \
            --inbox inbox --idle-exit 500 "$@"
    else
        run "$HUB_BIN/hub-sink" -c cfg -e "$EP" --inbox inbox --idle-exit 500 "$@"
    fi
    # hub-sink's BYE follows its last DACK on the connection: once the hub
    # logged it, the run's DACKs are all in the log.
    i=0
    while [ $i -lt 100 ] && [ "$(grep -c '^bye$' hub.log || true)" -le "$byes" ]; do
        sleep 0.05
        i=$((i + 1))
    done
    tail -n "+$from" hub.log >run.log
}

# acked WHAT N: the run's DACKs never named a seq the inbox lacked, and the
# last one named N ("none": there was none).
acked() {
    v=$(grep '^violation' run.log | head -n 1)
    check "$1: $v: the hub would forget a record the department never got" test -z "$v"
    got=$(sed -n 's/^dack //p' run.log | tail -n 1)
    check "$1: the last DACK names ${2} (got ${got:-none})" test "${got:-none}" = "$2"
}

# inbox_has WHAT LAST: the inbox holds 1..LAST (finished or being written).
inbox_has() {
    run "$PY" "$REPO/tests/integration/sink_check.py" inbox "$EP" --with-part
    check "$1: the inbox holds 1..$2 ($(cat "$OUT"))" grep -q "first 1 last $2\$" "$OUT"
}

# ---- 1. a full disk: room for about 5.8 records of 860 bytes
sink 5000 --credit 4
expect_rc 1
expect_err_has "File too large"
check "1: 5..8 were delivered" grep -q '^deliver 5\.\.8$' run.log
acked "1 (full disk)" 4
inbox_has 1 4

# ---- 2. delivery 7 cannot be read (while ./unreadable names it)
echo 7 >unreadable
sink --credit 16
expect_rc 1
expect_err_has "seq 7 cannot be written"
check "2: 5..12 were delivered, 7 unreadable" grep -q '^deliver 5\.\.12 unreadable 7$' run.log
acked "2 (unreadable 7)" 6
inbox_has 2 6

# ---- 3. restarted, 7 still unreadable
sink --credit 16
expect_rc 1
expect_err_has "seq 7 cannot be written"
check "3: 7..12 were delivered again, 7 unreadable" \
    grep -q '^deliver 7\.\.12 unreadable 7$' run.log
acked "3 (unreadable 7 first)" none
inbox_has 3 6

# ---- 4. the cause removed
rm unreadable
sink --credit 16
expect_rc 0
expect_err_has "6 deliveries written (seq 7..12)"
check "4: 7..12 were delivered again, all readable" grep -q '^deliver 7\.\.12$' run.log
acked "4 (all readable)" "$N"

# ---- the inbox as the department's software sees it: finished files only
run "$PY" "$REPO/tests/integration/sink_check.py" inbox "$EP"
expect_out_has "records $N first 1 last $N"
seq 1 "$N" | awk '{ printf "dead%028x\n", $1 }' >want.txt
cat inbox/*.jsonl | sed 's/.*"id":"\([0-9a-z]*\)".*/\1/' | sort >got.txt
expect_same want.txt got.txt
check "no violation in the whole run" sh -c '! grep -q "^violation" hub.log'
finish
