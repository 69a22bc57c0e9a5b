#!/bin/sh
# hub-sink killed (kill -9) at random moments while deliveries it cannot
# read come among the others, against sink_fake_hub.py (which checks every
# DACK against the inbox and the report of rejected deliveries as it
# arrives): 1,200 deliveries, every 8th unreadable (its message does not
# decode), every 24th of those without its message at all; twelve runs
# (credit 2: a commit every other delivery) killed 5-50 ms into their
# session, then one run to the end. Afterwards: no DACK ever named a seq
# that neither the inbox nor the report held; the hub's cursor is at
# 1,200; the inbox holds every readable delivery once, in order, its gaps
# explained by the report (sink_check.py --rejected); the report holds
# each of the 150 unreadable ones exactly once.
# Skipped when /usr/bin/python3 lacks zmq or msgpack (tools/deps.sh
# installs python3-zmq and python3-msgpack).
set -u
. "$REPO/tests/integration/lib.sh"
need_python_zmq
. "$REPO/tests/integration/sink_fake_lib.sh"

EP=civil_affairs@513401
N=1200
REPORT=inbox/$EP.rejected
: >unreadable
q=8
while [ $q -le $N ]; do
    if [ $((q % 24)) -eq 0 ]; then echo "$q envelope"; else echo "$q"; fi >>unreadable
    q=$((q + 8))
done

fake_hub_start "$EP" "$N" unreadable

# subscribes: how many sessions the fake hub has seen.
subscribes() {
    grep -c '^subscribe' hub.log || true
}

round=0
while [ $round -lt 12 ]; do
    had=$(subscribes)
    "$HUB_BIN/hub-sink" -c cfg -e "$EP" --inbox inbox --credit 2 >/dev/null 2>>sink.err &
    pid=$!
    # Killed 5-50 ms into its session, however long it took to start
    # (an ASan build takes longer).
    i=0
    while [ $i -lt 250 ] && [ "$(subscribes)" -le "$had" ] && kill -0 "$pid" 2>/dev/null; do
        sleep 0.02
        i=$((i + 1))
    done
    sleep "$(awk -v s="$$$round" 'BEGIN { srand(s); printf "%.3f", 0.005 + rand() * 0.045 }')"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    round=$((round + 1))
done
before=$(sed -n 's/^dack //p' hub.log | tail -n 1)
check "the killed runs got part of the way (cursor ${before:-none} of $N)" \
    test "${before:-0}" -gt 0 -a "${before:-0}" -lt "$N"
run "$HUB_BIN/hub-sink" -c cfg -e "$EP" --inbox inbox --credit 2 --idle-exit 1000
expect_rc 0

v=$(grep '^violation' hub.log | head -n 1)
check "no DACK named a seq the sink did not hold: $v" test -z "$v"
last=$(sed -n 's/^dack //p' hub.log | tail -n 1)
check "the hub's cursor is at $N (last DACK ${last:-none})" test "${last:-none}" = "$N"
check "thirteen sessions ($(grep -c '^subscribe' hub.log))" \
    test "$(grep -c '^subscribe' hub.log)" -ge 13
run "$PY" "$REPO/tests/integration/sink_check.py" inbox "$EP" --with-part --rejected "$REPORT"
expect_rc 0
# 1200 is among the unreadable: the inbox ends at 1199.
expect_out_has "records 1050 first 1 last 1199"
check "the report holds the 150 unreadable ones" grep -q "^rejected 150: " "$OUT"
sed -n 's/^{"seq":\([0-9]*\),.*/\1/p' "$REPORT" | sort -n >got.txt
awk '{ print $1 }' unreadable >want.txt
expect_same want.txt got.txt
finish
