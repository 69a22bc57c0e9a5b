#!/bin/sh
# Crashes, with the real binaries: hubd, publishers and consumers killed
# with SIGKILL at random moments. Nothing acknowledged is lost, nothing is
# stored twice, and the consumer gets every message exactly once in
# endpoint sequence order (it drops redeliveries by their seq).
#
#   1. 10 rounds (HUB_CRASH_ROUNDS=n for a longer soak): hubd starts; a
#      publisher sends the next chunk of new messages plus every one never
#      acknowledged; a consumer of education@513429 runs beside it every
#      fourth round; hubd is killed (kill -9) after a random 0.01-0.3 s,
#      then the publisher and the consumer run out their timeouts.
#   2. 2 rounds: the publisher is killed mid-batch, then everything it had
#      is sent again.
#   3. 3 times: the consumer is killed mid-stream and restarted with the
#      last seq it processed (its own output is its durable state).
#   Every other hubd start commits every batch on the writer thread
#   (writer_inline_max: 0), the others small batches on the main thread.
#   The audit subject index is set to runs of 16 entries merged 4 at a
#   time (store_index_run, store_index_fanin), so the crashes land in runs
#   and merges being written.
#   4. Checks: a final publish of every message is all "duplicate", one
#      log seq per message (1..N), the store holds N log records and 2N
#      deliveries, and the consumer processed seqs 1..N without a gap or a
#      repeat, carrying exactly the N published ids; every redelivery it
#      dropped was one it had processed, with the same id; the child's
#      subject query names every audit record, ascending, through merged
#      runs.
set -u
. "$REPO/tests/integration/lib.sh"
. "$REPO/tests/integration/hubd_lib.sh"

ROUNDS=${HUB_CRASH_ROUNDS:-10}   # hubd crash rounds, CHUNK new messages each
CHUNK=25
PKILLS=2                         # publisher kills, CHUNK new messages each
CKILLS=3                         # consumer kills
N=$(((ROUNDS + PKILLS) * CHUNK)) # messages: 300
PUBLISHER=education@513400
CONSUMER=education@513429   # the hukou county of the fixture's child

# A random number 0..65535 and a random pause of 0.010-0.300 s.
rnd() {
    od -An -N2 -tu2 /dev/urandom | tr -d ' \n'
}
rsleep() {
    PAUSE=$(printf '0.%03d' $(($(rnd) % 291 + 10)))
    sleep "$PAUSE"
}

# The clients give up after 1.5 s of silence (a killed hub stays silent).
# The publishers that get killed send slices of 4 with 25 ms between them,
# and the consumer takes 5 ms over each delivery (between printing it and
# acknowledging it), so that a kill lands in the middle of things.
HUBC_TIMEOUT_MS=1500
export HUBC_TIMEOUT_MS
slow_pub() {
    pub_paced 25 "$PUBLISHER" "$@"
}

hubd_setup
printf 'store_index_run: 16\nstore_index_fanin: 4\n' >>cfg/hub.yaml

# N distinct dropouts of the fixture's child; ids.txt lists them.
gen_dropouts "$N" crash-test
hub msg validate m/"$(head -n 1 ids.txt)".json "m/$(tail -n 1 ids.txt).json"
expect_rc 0

: >issued.txt     # ids handed to a publisher so far
: >acked.txt      # ids acknowledged at least once
: >acks.txt       # "id log_seq" of every ACK
: >cons.out       # everything the consumer printed, across its runs
: >hubd.all.log

# hubd with a fresh log (hubd_start waits for "started" in hubd.log). Every
# other start sends every batch to the writer thread (writer_inline_max: 0),
# the others let the main thread commit small batches itself (the default):
# the crashes land in both ways of committing.
starts=0
start() {
    if [ -f hubd.log ]; then
        cat hubd.log >>hubd.all.log
        rm hubd.log
    fi
    sed -i '/^writer_inline_max:/d' cfg/hub.yaml
    if [ $((starts % 2)) -eq 0 ]; then
        echo "writer_inline_max: 0" >>cfg/hub.yaml
    fi
    starts=$((starts + 1))
    hubd_start
}

# files_of FILE: the message files of the ids in FILE.
files_of() {
    sed 's|.*|m/&.json|' "$1"
}

# The ids issued but never acknowledged, into unacked.txt.
unacked() {
    sort -u acked.txt >acked.sorted
    sort -u issued.txt | comm -23 - acked.sorted >unacked.txt
}

# issue FROM TO: ids FROM..TO of ids.txt join the issued ones; chunk.txt
# gets them and every issued one never acknowledged.
issue() {
    unacked
    sed -n "$1,$2p" ids.txt >new.txt
    cat new.txt >>issued.txt
    cat unacked.txt new.txt >chunk.txt
}

# collect OUTFILE: files the publisher's answers. Every answer must be an
# ACK (a killed hub answers nothing; it never refuses).
collect() {
    awk '$1 == "ack" { f = $2; sub(/^m\//, "", f); sub(/\.json$/, "", f); print f, $4 }' "$1" \
        >>acks.txt
    awk '$1 == "ack" { f = $2; sub(/^m\//, "", f); sub(/\.json$/, "", f); print f }' "$1" \
        >>acked.txt
    if grep -q '^nack' "$1"; then
        fail "a publish was refused: $(grep '^nack' "$1" | head -n 1)"
    fi
}

# The last seq the consumer processed (printed): its durable state.
last_done() {
    awk '$1 == "deliver" && $2 > m { m = $2 } END { print m + 0 }' cons.out
}

# consumer TIMEOUT_MS: a consumer in the background (pid in $CPID).
consumer() {
    HUBC_PACE_MS=5 "$HUB_TOOLS/hubc_tool" consume "$URL" cfg/keys/hub.pub cfg/keys "$CONSUMER" \
        1000000 "$1" "$(last_done)" >>cons.out 2>>cons.err &
    CPID=$!
}

# ---- 1. hubd killed while publishing and delivering
mid_pub=0   # rounds where the kill left publishes unanswered
r=1
while [ $r -le "$ROUNDS" ]; do
    start
    issue $(((r - 1) * CHUNK + 1)) $((r * CHUNK))
    # shellcheck disable=SC2046 # one argument per file
    slow_pub $(files_of chunk.txt) >pub.$r.out 2>pub.$r.err &
    ppid=$!
    CPID=
    if [ $((r % 4)) -eq 0 ]; then
        consumer 800
    fi
    rsleep
    hubd_stop KILL 2>/dev/null
    wait "$ppid" 2>/dev/null
    if [ -n "$CPID" ]; then
        wait "$CPID" 2>/dev/null
    fi
    collect pub.$r.out
    noanswer=$(grep -c '^noanswer' pub.$r.out)
    if [ "$noanswer" -gt 0 ] || [ ! -s pub.$r.out ]; then
        mid_pub=$((mid_pub + 1))
    fi
    echo "# hubd round $r: killed after $PAUSE s; sent $(wc -l <chunk.txt)," \
        "acked $(grep -c '^ack' pub.$r.out)," \
        "unanswered $noanswer, consumer at seq $(last_done)"
    r=$((r + 1))
done

# ---- 2. the publisher killed mid-batch; then everything sent again
start
k=1
while [ $k -le $PKILLS ]; do
    from=$((ROUNDS * CHUNK + (k - 1) * CHUNK + 1))
    issue $from $((from + CHUNK - 1))
    # shellcheck disable=SC2046
    slow_pub $(files_of chunk.txt) >kill.$k.out 2>&1 &
    ppid=$!
    rsleep
    kill -9 "$ppid" 2>/dev/null
    wait "$ppid" 2>/dev/null
    # shellcheck disable=SC2046
    pub "$PUBLISHER" $(files_of chunk.txt)
    expect_rc 0
    cp "$OUT" resend.$k.out
    collect resend.$k.out
    check "every resent message is acknowledged" \
        test "$(grep -c '^ack' resend.$k.out)" -eq "$(wc -l <chunk.txt)"
    echo "# publisher kill $k: killed after $PAUSE s; resent $(wc -l <chunk.txt)," \
        "$(grep -c ' duplicate$' resend.$k.out) of them stored already"
    k=$((k + 1))
done
unacked
check "every message was acknowledged" test ! -s unacked.txt
check "every message was issued" test "$(sort -u issued.txt | wc -l)" -eq "$N"

# ---- 3. the consumer killed mid-stream, then run to the end
mid_cons=0
k=1
while [ $k -le $CKILLS ]; do
    before=$(last_done)
    consumer 1500
    rsleep
    kill -9 "$CPID" 2>/dev/null
    wait "$CPID" 2>/dev/null
    if [ "$(last_done)" -lt "$N" ]; then
        mid_cons=$((mid_cons + 1))
    fi
    echo "# consumer kill $k: killed after $PAUSE s; seq $before -> $(last_done)"
    k=$((k + 1))
done
consumer 1500
wait "$CPID" 2>/dev/null
echo "# hubd kills that left publishes unanswered: $mid_pub of $ROUNDS;" \
    "consumer kills mid-stream: $mid_cons of $CKILLS"

# ---- 4. checks
# Each id has one log seq, and no two ids share one: nothing stored twice.
sort -u acks.txt >acks.sorted
check "one log seq per id in every ACK" test -z "$(awk '{ print $1 }' acks.sorted | uniq -d)"
check "no log seq shared by two ids" test -z "$(awk '{ print $2 }' acks.sorted | sort | uniq -d)"

# A final publish of everything: all duplicates, log seqs exactly 1..N.
# shellcheck disable=SC2046
pub "$PUBLISHER" $(files_of ids.txt)
expect_rc 0
cp "$OUT" final.out
check "the final publish is all duplicates" \
    test "$(grep -c '^ack .* duplicate$' final.out)" -eq "$N"
awk '{ print $4 }' final.out | sort -n | uniq >final.seqs
check "the final publish names $N distinct log seqs" test "$(wc -l <final.seqs)" -eq "$N"
check "the log seqs are 1..$N" test "$(head -n 1 final.seqs)-$(tail -n 1 final.seqs)" = "1-$N"
collect final.out
sort -u acks.txt >acks.sorted
check "the final publish agrees with every earlier ACK" \
    test -z "$(awk '{ print $1 }' acks.sorted | uniq -d)"

# The consumer: seqs 1..N, each processed once, the N ids exactly.
awk '$1 == "deliver" { print $2 }' cons.out | sort -n >delivered.seqs
awk '$1 == "deliver" { print $3 }' cons.out | sort >delivered.ids
check "the consumer processed $N deliveries" test "$(wc -l <delivered.seqs)" -eq "$N"
check "no seq processed twice" test -z "$(uniq -d delivered.seqs)"
check "no id processed twice" test -z "$(uniq -d delivered.ids)"
check "seqs run 1..$N without a gap" \
    test "$(uniq delivered.seqs | wc -l)-$(head -n 1 delivered.seqs)-$(tail -n 1 delivered.seqs)" \
    = "$N-1-$N"
sort ids.txt >ids.sorted
check "the delivered ids are the published ids" cmp -s ids.sorted delivered.ids
# Every redelivery dropped was processed before, with the same id.
awk '$1 == "deliver" { print $2, $3 }' cons.out | sort -u >seen.pairs
awk '$1 == "drop" { print $2, $3 }' cons.out | sort -u >dropped.pairs
check "every dropped redelivery was processed before, same seq and id" \
    test -z "$(comm -13 seen.pairs dropped.pairs)"
echo "# consumer: $(grep -c '^deliver' cons.out) processed, $(grep -c '^drop' cons.out)" \
    "redeliveries dropped, $(grep -c '^subscribed' cons.out) subscriptions"

# The hub's cursor is at the end, and nothing more comes.
sub "$CONSUMER" 5 300
expect_out_has "subscribed acked $N last $N"
expect_out_lacks "deliver"

hubd_stop TERM
check "hubd exits 0 on SIGTERM" test "$HUBD_RC" = 0
cat hubd.log >>hubd.all.log

# The store: N log and dedup records; 2N queue entries and audit records
# (each dropout goes to education and public security of 513429).
mdb_stat -a var/store >stat.txt
entries() {
    awk -v db="$1" '/^Status of / { cur = $3 } cur == db && /Entries:/ { print $2 }' stat.txt
}
check "the log holds $N messages" test "$(entries log)" = "$N"
check "dedup_seq holds $N entries" test "$(entries dedup_seq)" = "$N"
check "the queues hold $((2 * N)) deliveries" test "$(entries queue)" = "$((2 * N))"
check "the audit holds $((2 * N)) records" test "$(entries audit)" = "$((2 * N))"
check "the subject index merged runs" \
    test "$(($(entries audit_runs1) + $(entries audit_runs2) + $(entries audit_runs3)))" -gt 0

# Every audit record is about the one child: her subject query names
# them all, 1..2N in order, whatever runs and merges the kills cut short.
hub audit query --config cfg --subject 51342920140302046X --limit 100000 --format json
expect_rc 0
python3 -c 'import json,sys; [print(r["seq"]) for r in json.load(open(sys.argv[1]))["records"]]' \
    "$OUT" >subject.seqs
seq 1 $((2 * N)) >all.seqs
check "the subject query names the $((2 * N)) audit records in order" cmp -s all.seqs subject.seqs

# No sanitizer report anywhere (the asan build), no crash of hubd itself.
check "no sanitizer report" test -z "$(grep -l 'Sanitizer\|runtime error' hubd.all.log ./*.err \
    ./*.out 2>/dev/null)"
check "hubd started $((ROUNDS + 1)) times" \
    test "$(grep -c 'event=started' hubd.all.log)" -eq $((ROUNDS + 1))
finish
