#!/bin/sh
# hub-sink killed with SIGKILL at random moments, and (when strace can
# inject signals) at chosen system calls: in the middle of a rotation
# (after the next part file was made, before the finished one was renamed)
# and between a batch's write and its fsync. Each time it is restarted.
# At the end the inbox holds every delivery exactly once — seqs 1..N, no
# gap, no repeat, each published message once — and hubd's cursor for the
# endpoint is N.
#
#   1. 10 random kill rounds (HUB_SINK_CRASH_ROUNDS=n for more), 25 new
#      deaths published before each: the sink (credit 4, files of about 3
#      records, so that it rotates all the time) runs 0.02-0.3 s, then
#      kill -9.
#   2. strace rounds, 10 new deaths before each: SIGKILL at the 2nd, 3rd,
#      4th renameat and at the 4th, 7th fdatasync.
#   3. A last run drains the queue and exits when idle.
#   4. CSV, for the other endpoint the deaths reach: 5 kills (at a random
#      fdatasync when strace can, else after a random pause), then a
#      last run; every file has the header, the rows run 1..N.
set -u
. "$REPO/tests/integration/lib.sh"
. "$REPO/tests/integration/hubd_lib.sh"

ROUNDS=${HUB_SINK_CRASH_ROUNDS:-10}
CHUNK=25                 # new messages before each random round
TRACED=10                # new messages before each strace round (5 of them)
N=$((ROUNDS * CHUNK + 5 * TRACED))
EP=civil_affairs@513401 # the hukou county of the sample death
PY=python3

rnd() {
    od -An -N2 -tu2 /dev/urandom | tr -d ' \n'
}

hubd_setup

# N deaths, each of its own person and id (gen_deaths); ids.txt lists them.
gen_deaths m 1 "$N" crash >ids.txt

published=0
# publish_next [COUNT]: the next COUNT (default CHUNK) messages.
publish_next() {
    k=${1:-$CHUNK}
    [ "$published" -lt "$N" ] || return 0
    to=$((published + k))
    [ "$to" -le "$N" ] || to=$N
    # shellcheck disable=SC2046 # one argument per file
    pub health@513400 $(seq "$((published + 1))" "$to" | awk '{ printf "m/%04d.json\n", $1 }')
    [ "$RC" -eq 0 ] || fail "publishing $((published + 1))..$to failed: $(head -n 3 "$ERR")"
    published=$to
}

SINK_ARGS="-c cfg -e $EP --inbox inbox --credit 4 --rotate-bytes 2500"
: >sink.log
: >parts.log

# After a kill: how many part files there are (a kill inside a rotation
# leaves two), and the inbox as it is (a torn last line is allowed).
after_kill() {
    n=$(find inbox -name '*.part' | wc -l)
    echo "$1 parts=$n" >>parts.log
}

hubd_start

# ---- 1. random kills
killed_running=0
r=1
while [ "$r" -le "$ROUNDS" ]; do
    publish_next
    # shellcheck disable=SC2086 # the arguments split on purpose
    "$HUB_BIN/hub-sink" $SINK_ARGS 2>>sink.log &
    pid=$!
    sleep "$(printf '0.%03d' $(($(rnd) % 281 + 20)))"
    if kill -0 "$pid" 2>/dev/null; then
        killed_running=$((killed_running + 1))
    fi
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    after_kill "random $r"
    if [ "$r" -eq 5 ]; then
        # A write torn by a system crash (a process kill never tears one):
        # half a record at the end of the part file.
        part=$(ls inbox/*.part | tail -n 1)
        next=$(($(sed -n 's/^{"seq":\([0-9]*\),.*/\1/p' "$part" | tail -n 1) + 1))
        printf '{"seq":%s,"id":"dead000000' "$next" >>"$part"
    fi
    r=$((r + 1))
done
check "the sink was running at most kills ($killed_running of $ROUNDS)" \
    test "$killed_running" -ge $((ROUNDS / 2))

# ---- 2. kills at chosen system calls (strace -e inject), when possible
have_strace=false
if command -v strace >/dev/null 2>&1 &&
    strace -f -o /dev/null -e trace=none true >/dev/null 2>&1; then
    have_strace=true
fi
if $have_strace; then
    for spec in renameat:2 renameat:3 renameat:4 fdatasync:4 fdatasync:7; do
        publish_next $TRACED
        call=${spec%:*}
        when=${spec#*:}
        [ "$call" = renameat ] && call=renameat,renameat2,rename
        # shellcheck disable=SC2086 # the arguments split on purpose
        strace -f -o /dev/null -e "trace=$call" -e "inject=$call:signal=KILL:when=$when" \
            "$HUB_BIN/hub-sink" $SINK_ARGS --idle-exit 3000 2>>sink.log &
        pid=$!
        wait "$pid"
        rc=$?
        check "strace killed the sink at $spec (status $rc)" test "$rc" -ne 0
        after_kill "strace $spec"
    done
    mid=$(grep -c 'strace renameat.*parts=2' parts.log || true)
    check "a kill inside a rotation left two part files ($mid times)" test "$mid" -ge 1
else
    echo "note: strace cannot inject signals here; only random kills were made"
fi
publish_next $((N - published))

# ---- 3. a last run drains the queue
run "$HUB_BIN/hub-sink" -c cfg -e "$EP" --inbox inbox --credit 4 --rotate-bytes 2500 \
    --idle-exit 2000
expect_rc 0
cat "$ERR" >>sink.log
expect_err_has "last seq $N"
check "published all $N" test "$published" -eq "$N"

# ---- checks
run "$PY" "$REPO/tests/integration/sink_check.py" inbox "$EP" --with-part
expect_out_has "records $N first 1 last $N"
files=$(ls inbox/*.jsonl | wc -l)
check "the inbox was rotated many times ($files files)" test "$files" -ge 50
check "exactly one part file at the end" test "$(find inbox -name '*.part' | wc -l)" -eq 1
# Every published message exactly once, and nothing else.
cat inbox/*.jsonl | sed 's/.*"id":"\([0-9a-z]*\)".*/\1/' | sort >got.txt
sort ids.txt >want.txt
expect_same want.txt got.txt
# The hub's cursor is N: every delivery acknowledged, after it was durable.
run "$HUB_TOOLS/hubc_tool" consume "$URL" cfg/keys/hub.pub cfg/keys "$EP" 0 100
expect_out_has "subscribed acked $N last $N"
# What the kills did (for the log): torn lines cut, redeliveries dropped.
torn=$(grep -c 'inbox_torn' sink.log || true)
check "the torn record was cut ($torn times)" test "$torn" -ge 1
# Restarts that found deliveries written but never acknowledged (killed
# between fsync and DACK, or before the fsync): the hub sent them again
# and the sink dropped them by their seq.
ahead=$(awk '/subscribed at/ { a = $(NF - 6); sub(/;/, "", a); if ($NF + 0 > a + 0) n++ }
    END { print n + 0 }' sink.log)
check "restarts found the inbox ahead of the hub's cursor ($ahead times)" test "$ahead" -ge 1
echo "kills: $ROUNDS random ($killed_running while running); torn records cut: $torn"
grep 'deliveries written' sink.log
cat parts.log

# ---- 4. the same for CSV (the header holds a quoted line break): the
# other endpoint that receives the deaths, one delivery per fsync and
# about 6 rows a file, killed 5 times, then drained.
cat >cols.yaml <<'EOF'
"*":
  delivery.seq: 序号
  subject.name: 姓名
  delivery.purposes: "用途\n(多行)"
person.death:
  body.death_date: 死亡日期
EOF
CSV_ARGS="-c cfg -e poverty_alleviation@513401 --inbox csvbox --credit 1 --rotate-bytes 800"
CSV_ARGS="$CSV_ARGS --format csv --columns cols.yaml"
csv_mid=0
r=1
while [ "$r" -le 5 ]; do
    if $have_strace; then
        # Killed at its 10th..49th fdatasync (one a delivery, one a file).
        # shellcheck disable=SC2086 # the arguments split on purpose
        strace -f -o /dev/null -e trace=fdatasync \
            -e "inject=fdatasync:signal=KILL:when=$(($(rnd) % 40 + 10))" \
            "$HUB_BIN/hub-sink" $CSV_ARGS --idle-exit 3000 2>>csv.log &
        pid=$!
    else
        # shellcheck disable=SC2086 # the arguments split on purpose
        "$HUB_BIN/hub-sink" $CSV_ARGS 2>>csv.log &
        pid=$!
        sleep "$(printf '0.%03d' $(($(rnd) % 131 + 20)))"
        kill -9 "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
    # Rows begin with their seq: fewer than N means killed mid-stream.
    rows=$(cat csvbox/*.csv csvbox/*.part 2>/dev/null | grep -c '^[0-9]' || true)
    [ "$rows" -lt "$N" ] && csv_mid=$((csv_mid + 1))
    r=$((r + 1))
done
if $have_strace; then
    check "the CSV sink was killed mid-stream each time ($csv_mid of 5)" test "$csv_mid" -eq 5
fi
# shellcheck disable=SC2086 # the arguments split on purpose
run "$HUB_BIN/hub-sink" $CSV_ARGS --idle-exit 2000
expect_rc 0
expect_err_has "last seq $N"
grep 'deliveries written' "$ERR"
run "$PY" - csvbox <<'EOF'
import csv, os, sys
names = sorted(n for n in os.listdir(sys.argv[1]) if n.endswith(".csv"))
seqs = []
for n in names:
    path = os.path.join(sys.argv[1], n)
    assert open(path, "rb").read().startswith(b"\xef\xbb\xbf"), n + ": no BOM"
    rows = list(csv.reader(open(path, encoding="utf-8-sig", newline="")))
    assert rows[0] == ["序号", "姓名", "用途\n(多行)", "死亡日期"], rows[0]
    assert int(n.rsplit("-", 1)[1].split(".")[0]) == int(rows[1][0]), n
    seqs += [int(r[0]) for r in rows[1:]]
print("files", len(names), "rows", len(seqs), "in order", seqs == list(range(1, len(seqs) + 1)))
EOF
expect_out_has "rows $N in order True"
run "$HUB_TOOLS/hubc_tool" consume "$URL" cfg/keys/hub.pub cfg/keys poverty_alleviation@513401 0 100
expect_out_has "subscribed acked $N last $N"
hubd_stop
finish
