#!/bin/sh
# hub-sink's DACK rule: it acknowledges a seq only once that seq and every
# one before it are durable in its inbox, or in its report of rejected
# deliveries, so the hub never forgets a record the department did not get;
# and a delivery it cannot read goes to that report instead of stopping the
# stream. hub-sink runs against sink_fake_hub.py (docs/PROTOCOL.md, the
# cursor kept across connections as hubd's store keeps it), which checks
# every DACK against the inbox and the report as it arrives; 12 deliveries
# for civil_affairs@513401:
#   1. A full disk: the file size limit (RLIMIT_FSIZE, SIGXFSZ ignored, so
#      that write() fails with EFBIG as it would with ENOSPC) lets 1..4 in
#      and fails the write of 5..8 (credit 4): no DACK past 4, exit 1.
#   2. The disk has room again; delivery 7 cannot be read (its message
#      carries an envelope key this build does not know, as a newer hub's
#      might). Killed (strace) at the first fdatasync: the report's, once
#      7 is written into it and before 5 and 6 are in the inbox: no DACK.
#      (Skipped when strace cannot inject signals.)
#   3. Restarted, 7 still unreadable, the hub holding 1..7 for now: 5 and
#      6 written, 7 dropped as in the report already (without step 2:
#      rejected into it now), DACK 7, exit 0; the report holds 7 once, with
#      its reason and the bytes the hub sent.
#   4. Restarted: the hub's cursor (7) is past the inbox (6), and the
#      report explains it: no warning, nothing written.
#   5. The hub has 8..12 too: written, DACK 12, exit 0, no warning of a
#      gap (7 is in the report). The inbox's finished files hold 1..6 and
#      8..12 exactly once, the gap explained by the report (sink_check.py
#      --rejected), each death once, and the hub's cursor is 12.
#   6. 13 unreadable, 14 not, and the inbox's part file empty (named 13):
#      killed (strace) right after adding 14 renamed the part file to 14,
#      which tells a restarted sink that the inbox goes up to 13. So 13
#      must be in the report by then, or the restarted sink drops it as
#      its own and acknowledges it: lost. Restarted: DACK 14, 13 reported
#      once, 14 written.
#   7. Delivery 15 carries no message at all: rejected by its seq into the
#      report, 16 written, DACK 16, exit 0, in one session (hub-sink once
#      took it for a lost session and reconnected forever: the hub resent
#      it first each time).
# Skipped when /usr/bin/python3 lacks zmq or msgpack (tools/deps.sh
# installs python3-zmq and python3-msgpack).
set -u
. "$REPO/tests/integration/lib.sh"
need_python_zmq
. "$REPO/tests/integration/sink_fake_lib.sh"

EP=civil_affairs@513401
N=12 # steps 1-5; 13 and 14 are for step 6, 15 and 16 for step 7
REPORT=inbox/$EP.rejected
echo "$N" >upto
fake_hub_start "$EP" $((N + 4)) unreadable upto

# sink [LIMIT | kill-at=CALL:K] ARGS...: one run of hub-sink into ./inbox
# ($RC, $OUT, $ERR), under a file size limit of LIMIT bytes when the first
# argument is a number, or killed (strace) at its K-th system call CALL;
# run.log gets the fake hub's lines of this run. --idle-exit ends the run
# that succeeds, and one that does not fail as it should.
sink() {
    from=$(($(wc -l <hub.log) + 1))
    byes=$(grep -c '^bye$' hub.log || true)
    limit=
    inject=
    case $1 in
    [0-9]*) limit=$1 && shift ;;
    kill-at=*) inject=${1#kill-at=} && shift ;;
    esac
    if [ -n "$limit" ]; then
        run "$PY" -c 'import os, resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # kept across exec: EFBIG, not a kill
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]), int(sys.argv[1])))
os.execv(sys.argv[2], sys.argv[2:])' "$limit" "$HUB_BIN/hub-sink" -c cfg -e "$EP" \
            --inbox inbox --idle-exit 500 "$@"
    elif [ -n "$inject" ]; then
        run strace -f -o /dev/null -e "trace=${inject%:*}" \
            -e "inject=${inject%:*}:signal=KILL:when=${inject#*:}" \
            "$HUB_BIN/hub-sink" -c cfg -e "$EP" --inbox inbox --idle-exit 500 "$@"
    else
        run "$HUB_BIN/hub-sink" -c cfg -e "$EP" --inbox inbox --idle-exit 500 "$@"
    fi
    # hub-sink's BYE follows its last DACK on the connection: once the hub
    # logged it, the run's DACKs are all in the log. A killed one says no
    # BYE, and sent no DACK after its deliveries came.
    i=0
    while [ $i -lt 100 ] && [ "$RC" -lt 128 ] &&
        [ "$(grep -c '^bye$' hub.log || true)" -le "$byes" ]; do
        sleep 0.05
        i=$((i + 1))
    done
    tail -n "+$from" hub.log >run.log
}

# acked WHAT N: the run's DACKs never named a seq that neither the inbox
# nor the report held, and the last one named N ("none": there was none).
acked() {
    v=$(grep '^violation' run.log | head -n 1)
    check "$1: $v: the hub would forget a record the department never got" test -z "$v"
    got=$(sed -n 's/^dack //p' run.log | tail -n 1)
    check "$1: the last DACK names ${2} (got ${got:-none})" test "${got:-none}" = "$2"
}

# inbox_has WHAT LAST: the inbox holds 1..LAST (finished or being written),
# its gaps explained by the report.
inbox_has() {
    run "$PY" "$REPO/tests/integration/sink_check.py" inbox "$EP" --with-part --rejected "$REPORT"
    check "$1: the inbox holds 1..$2 ($(head -n 1 "$OUT"))" grep -q "first 1 last $2\$" "$OUT"
}

# reported WHAT SEQS: the report holds SEQS ("none"), each once.
reported() {
    run "$PY" "$REPO/tests/integration/sink_check.py" inbox "$EP" --with-part --rejected "$REPORT"
    check "$1: the report holds $2 ($(tail -n 1 "$OUT"))" grep -q "^rejected .*: $2\$" "$OUT"
}

# ---- 1. a full disk: room for about 5.8 records of 860 bytes
sink 5000 --credit 4
expect_rc 1
expect_err_has "File too large"
check "1: 5..8 were delivered" grep -q '^deliver 5\.\.8$' run.log
acked "1 (full disk)" 4
inbox_has 1 4
reported 1 none

# ---- 2. delivery 7 cannot be read (while ./unreadable names it): killed
# once it is in the report, before 5 and 6 are in the inbox
echo 7 >unreadable
killed=false
if strace -f -o /dev/null -e trace=none true >/dev/null 2>&1; then
    sink kill-at=fdatasync:1 --credit 16
    check "2: strace killed hub-sink (status $RC)" test "$RC" -ge 128
    check "2: 5..12 were delivered, 7 unreadable" grep -q '^deliver 5\.\.12 unreadable 7$' run.log
    acked "2 (killed)" none
    inbox_has 2 4
    reported 2 7
    killed=true
else
    echo "note: strace cannot inject signals here: no kill between the report and the inbox"
fi

# ---- 3. restarted, 7 still unreadable; the hub has 1..7 for now
echo 7 >upto
sink --credit 16
expect_rc 0
check "3: 5..7 were delivered, 7 unreadable" grep -q '^deliver 5\.\.7 unreadable 7$' run.log
acked "3 (unreadable 7)" 7
if $killed; then
    expect_err_has "2 deliveries written (seq 5..6), 1 files finished, 1 redeliveries dropped, \
last seq 6"
    expect_err_lacks "cannot be written"
else
    expect_err_has "seq 7 cannot be written"
    expect_err_has "rejected into $REPORT"
    expect_err_has "2 deliveries written (seq 5..6), 1 files finished, 0 redeliveries dropped, \
1 rejected (in $REPORT), last seq 6"
fi
expect_err_lacks "warning"
inbox_has 3 6
reported 3 7
# The line: what the hub sent, and why it could not be written.
run "$PY" - "$REPORT" "$EP" <<'PYEOF'
import base64, json, os, sys
sys.path.insert(0, os.path.join(os.environ["REPO"], "tests", "integration"))
import msgpack, sink_fake_hub
rec = json.loads(open(sys.argv[1], "rb").read())
sent = msgpack.packb(sink_fake_hub.delivery(sys.argv[2], 7, True), use_bin_type=True)
print("seq", rec["seq"], "id", rec["id"], "origin", rec["origin_id"], "type", rec["type"])
print("store", rec["store_id"], "at", rec["rejected_at"])
print("reason", rec["reason"])
print("body", "same" if base64.b64decode(rec["body"]) == sent else "differs")
PYEOF
expect_rc 0
expect_out_has "seq 7 id dead$(printf '%028x' 7) origin dead$(printf '%028x' 7) type person.death"
expect_out_has "store 5ca1ab1e0ddba11f00dfacade5eed001 at 20"
expect_out_has "trace_id"
expect_out_has "body same"

# ---- 4. restarted: the hub's cursor (7) is past the inbox (6): the report says why
sink --credit 16
expect_rc 0
expect_err_has "acknowledged 7; the inbox has up to 6"
expect_err_lacks "warning"
acked "4 (nothing new)" none
reported 4 7

# ---- 5. the hub has 8..12 too
echo "$N" >upto
sink --credit 16
expect_rc 0
check "5: 8..12 were delivered" grep -q '^deliver 8\.\.12$' run.log
acked "5 (after the rejected 7)" "$N"
expect_err_has "5 deliveries written (seq 8..12)"
expect_err_lacks "warning"
reported 5 7

# ---- the inbox as the department's software sees it: finished files only
run "$PY" "$REPO/tests/integration/sink_check.py" inbox "$EP" --rejected "$REPORT"
expect_out_has "records $((N - 1)) first 1 last $N"
expect_out_has "rejected 1: 7"
run "$PY" "$REPO/tests/integration/sink_check.py" inbox "$EP"
expect_out_has "bad inbox"
seq 1 "$N" | grep -vx 7 | awk '{ printf "dead%028x\n", $1 }' >want.txt
cat inbox/*.jsonl | sed 's/.*"id":"\([0-9a-z]*\)".*/\1/' | sort >got.txt
expect_same want.txt got.txt

# ---- 6. 13 unreadable, 14 readable; killed once adding 14 renamed the
# empty part file (its first fsync is the inbox's at start, the second the
# report's directory, owed once per process, the third the inbox's
# directory after that rename)
echo 13 >unreadable
echo 14 >upto
if $killed; then
    sink kill-at=fsync:3 --credit 16
    check "6: strace killed hub-sink (status $RC)" test "$RC" -ge 128
    check "6: 13..14 were delivered, 13 unreadable" \
        grep -q '^deliver 13\.\.14 unreadable 13$' run.log
    check "6: the part file was renamed to 14" \
        sh -c 'ls inbox/*-000000000014.jsonl.part >/dev/null'
    reported 6 "7, 13"
    sink --credit 16
    expect_rc 0
    expect_err_has "1 deliveries written (seq 14..14), 1 files finished, 1 redeliveries dropped"
    acked "6 (restarted)" 14
    reported 6 "7, 13"
    run "$PY" "$REPO/tests/integration/sink_check.py" inbox "$EP" --with-part --rejected "$REPORT"
    expect_out_has "records 12 first 1 last 14"
fi
# ---- 7. delivery 15 has no message at all (the delivery itself is not
# as docs/PROTOCOL.md says): rejected by its seq, the stream goes on (it
# used to make hub-sink reconnect forever: the hub resent it first)
echo "15 envelope" >unreadable
rm upto
sink --credit 16
expect_rc 0
check "7: 15 came without its message" grep -q 'unreadable 15 envelope$' run.log
check "7: one session" test "$(grep -c '^subscribe' run.log)" -eq 1
acked "7 (15 has no message)" 16
if $killed; then
    reported 7 "7, 13, 15"
else
    reported 7 "7, 15"
fi
check "7: the report says why" grep -q '"seq":15,.*carries no message' "$REPORT"
check "no violation in the whole run" sh -c '! grep -q "^violation" hub.log'
finish
