#!/bin/sh
# The operators' commands against a real hubd (admin socket, real LMDB):
# status with a connected consumer; a dead letter listed, shown, fixed by a
# code-table change that `hubctl reload` brings in, retried, stored and
# delivered; a bad rule change refused with its reason and the old rule set
# kept; a good one live without a restart and stamped on the next
# deliveries; rules history and diff; replay with cursor rewind --to 0 and
# --to a time; every admin action in the operations log; status from the
# store once hubd is gone.
set -u
. "$REPO/tests/integration/lib.sh"
. "$REPO/tests/integration/hubd_lib.sh"

hubd_setup
# Schemas of our own, so that a code-table fix can be made and reloaded.
cp -r "$REPO/schemas" schemas
sed -i "s|^schemas:.*|schemas: $PWD/schemas|" cfg/hub.yaml
hubd_start
ME=$(id -un)

# ---- usage: every command answers --help; bad usage exits 2
for cmd in status "dlq" "cursor" "reload" "rules history" "rules diff"; do
    # shellcheck disable=SC2086 # two words for the subcommands
    hub $cmd --help
    expect_rc 0
    expect_out_has "usage: hubctl"
done
hub dlq
expect_rc 2
expect_err_has "dlq needs a subcommand"
hub dlq retry --config cfg
expect_rc 2
hub cursor rewind --endpoint education@513429 --config cfg
expect_rc 2
expect_err_has "needs --endpoint E and --to"
hub cursor rewind --endpoint education@513429 --to 'next tuesday' --config cfg
expect_rc 2
expect_err_has "--to takes an endpoint sequence or a time"
for t in soon 2026-02-30 2026-11-27T25:00 2026-11-27T08:00+8 2026-11-27x; do
    hub dlq list --since "$t" --config cfg
    expect_rc 2
    expect_err_has "--since takes a time"
done
for t in 2026-11-27 2026-11-27T08:00 "2026-11-27 08:00:00.25Z" 2026-11-27T08:00:00+08:00 \
    2026-11-27T08:00:00-0530 today yesterday now 90s 15m 2h 7d; do
    hub dlq list --since "$t" --config cfg
    expect_rc 0
done
hub rules diff onlyone --config cfg
expect_rc 2

# ---- status: depth and a connected consumer
sed 's/"change_type": "[a-z_]*"/"change_type": "dropout"/' \
    "$MSGS/student.enrolment_change.json" >dropout.json
pub education@513400 dropout.json
expect_out_has "ack dropout.json log_seq 1"
# A consumer that takes 3 s over its delivery before acknowledging it.
HUBC_PACE_MS=3000 "$HUB_TOOLS/hubc_tool" consume "$URL" cfg/keys/hub.pub cfg/keys \
    education@513429 1 1500 >consumer.out 2>&1 &
CONSUMER=$!
i=0
while [ $i -lt 100 ] && ! grep -q "event=subscribed peer=education@513429" hubd.log; do
    sleep 0.05
    i=$((i + 1))
done
hub status --config cfg
expect_rc 0
expect_out_has "hubd: running since"
expect_out_has "of the time; since start"
expect_out_has "dedup window: "
row=$(awk '$1 == "education@513429" { print $2, $5 }' "$OUT")
check "status: education@513429 has 1 consumer and depth 1 (got '$row')" test "$row" = "1 1"
V1=$(sed -n 's/^rule set: \([0-9a-f]*\)$/\1/p' "$OUT")
check "status names the rule set in force" test ${#V1} -eq 64
hub status --config cfg --format json --endpoint education@513429
check "status: the share of the time committing is above 0 and at most 1" python3 -c '
import json, sys
b = json.load(open(sys.argv[1]))["ingest"]["commit_busy"]
sys.exit(0 if 0 < b <= 1 else 1)' "$OUT"
check "status: the dedup window holds the ids published (as many as acked, none purged); the subject index's entries wait in memory for a run" \
    python3 -c '
import json, sys
i = json.load(open(sys.argv[1]))["ingest"]
sys.exit(0 if 0 < i["dedup_ids"] <= i["acked"] and 0 < i["subject_pending"] else 1)' "$OUT"
expect_out_has '"subject_runs":[0,0,0,0]'
expect_out_has '"consumers":1'
expect_out_has '"depth":1'
expect_out_has "\"ruleset\":\"$V1\""
wait $CONSUMER
check "the consumer got delivery 1" grep -q "deliver 1 " consumer.out

# ---- a dead letter, fixed by a code-table change and retried
# A school writes the grade as 小六 (colloquial for grade 6): not a code of
# the table 'grade', so hubd refuses it and keeps it as a dead letter.
sed 's/"grade": "06"/"grade": "小六"/; s/"id": "\([0-9a-f]*\)4"/"id": "\15"/' dropout.json \
    >xiaoliu.json
pub education@513400 xiaoliu.json
expect_out_has "nack xiaoliu.json invalid"
hub dlq list --config cfg
expect_rc 0
expect_out_has "not a code of table 'grade'"
expect_out_has "education"
hub dlq list --source health --config cfg
expect_out_has "no dead letters match"
hub dlq list --code invalid --since 1h --format json --config cfg
expect_out_has '"seq":1'
expect_out_has '"source":"education"'
hub dlq show 1 --config cfg
expect_rc 0
expect_out_has '"grade": "小六"'
expect_out_has "code:   invalid"
hub status --config cfg
expect_out_has "dead letters: 1 in the store (hubctl dlq list)"
# Retried as it is, it is refused again, and kept.
hub dlq retry 1 --config cfg
expect_rc 1
expect_out_has "dead letter 1: refused again: invalid"
# The fix: 小六 becomes an alias of grade 06; hubd reads the tables again.
sed -i 's/aliases: \[小学六年级\]/aliases: [小学六年级, 小六]/' schemas/codes/grade.yaml
hub reload --config cfg
expect_rc 0
expect_out_has "still in force"
hub dlq retry 1 --config cfg
expect_rc 0
expect_out_has "dead letter 1: stored as log 2"
hub dlq list --config cfg
expect_out_has "no dead letters"
# A malformed one, dropped.
printf '\223\001\002' >garbage.bin
pub education@513400 garbage.bin
expect_out_has "nack garbage.bin malformed"
hub dlq show 2 --config cfg
expect_out_has "does not decode"
expect_out_has "93 01 02"
hub dlq drop 2 --config cfg
expect_rc 0
expect_out_has "dropped 1 of 1 dead letter"
hub status --config cfg
expect_out_has "dead letters: 0 in the store"
expect_out_has "2 dead"

# ---- a bad rule change is refused with the reason; nothing changes
cp cfg/rules.d/10-dropout.yaml 10-dropout.orig
n=$(line_of cfg/rules.d/10-dropout.yaml '^    to:$')
replace_line cfg/rules.d/10-dropout.yaml "$n" "    dest:"
hub reload --config cfg
expect_rc 1
expect_err_line_has "10-dropout.yaml:$n:5: unknown_key:" "unknown key 'dest'"
expect_err_has "reload refused: config"
hub status --config cfg
expect_out_has "rule set: $V1"

# ---- a good one goes live without a restart, stamped on the next deliveries
cp 10-dropout.orig cfg/rules.d/10-dropout.yaml
n=$(line_of cfg/rules.d/10-dropout.yaml '^  - body.grade$')
sed -i "${n}d" cfg/rules.d/10-dropout.yaml
hub reload --config cfg
expect_rc 0
expect_out_has "now in force (a new version)"
V2=$(sed -n 's/^reloaded: rule set \([0-9a-f]*\) now.*/\1/p' "$OUT")
check "the new rule set differs" test -n "$V2" -a "$V2" != "$V1"
hub status --config cfg
expect_out_has "rule set: $V2"
# Deliveries 1 and 2 (before the change), then one after a pause: the
# time between them is where the replay by time starts.
sleep 1.2
T=$(TZ=Asia/Shanghai date +%Y-%m-%dT%H:%M:%S+08:00)
sed 's/"id": "\([0-9a-f]*\)4"/"id": "\16"/' dropout.json >after.json
pub education@513400 after.json
expect_out_has "ack after.json log_seq 3"
run "$HUB_TOOLS/hub_probe" "$URL" cfg/keys/hub.pub cfg/keys education@513429 -w 500 \
    "HELLO protocol=1 role=consumer" "SUBSCRIBE endpoint=education@513429 credit=8" "BYE"
check "delivery 2 (the retried letter) was stamped with the first rule set" \
    grep -q "< DELIVER .*seq=2 .*ruleset=$V1" "$OUT"
check "delivery 3 is stamped with the new rule set" \
    grep -q "< DELIVER .*seq=3 .*ruleset=$V2" "$OUT"

# ---- rules history and diff
hub rules history --config cfg
expect_rc 0
expect_out_has "start"
expect_out_has "$V1"
expect_out_has "reload  $ME"
expect_out_has "$V2"
hub rules diff "$(echo "$V1" | cut -c1-8)" "$(echo "$V2" | cut -c1-8)" --config cfg
expect_rc 0
expect_out_has "modified rules.d/10-dropout.yaml"
expect_out_has "-  - body.grade"
hub rules diff "$V1" "$V2" --format json --config cfg
expect_out_has '"change":"modified"'

# ---- replay: the consumer receives the deliveries again
sub education@513429 5
expect_out_has "deliver 3 "
hub cursor show --endpoint education@513429 --config cfg
expect_out_has "education@513429"
row=$(awk '$1 == "education@513429" { print $2, $3, $4 }' "$OUT")
check "cursor show: acked 3, last 3, pending 0 (got '$row')" test "$row" = "3 3 0"
hub cursor rewind --endpoint education@513429 --to 0 --config cfg
expect_rc 0
expect_out_has "acknowledged 3 -> 0: 3 deliveries (1..3) will be sent again"
sub education@513429 5
expect_out_has "subscribed acked 0 last 3"
expect_out_has "deliver 1 "
expect_out_has "deliver 3 "
hub cursor rewind --endpoint education@513429 --to "$T" --config cfg
expect_rc 0
expect_out_has "acknowledged 3 -> 2: 1 delivery (3..3) will be sent again"
sub education@513429 5
expect_out_has "subscribed acked 2 last 3"
expect_out_lacks "deliver 2 "
expect_out_has "deliver 3 "
hub cursor rewind --endpoint education@513429 --to yesterday --format json --config cfg
expect_out_has '"after":0'
expect_out_has '"replay":3'
sub education@513429 5
expect_out_has "deliver 1 "
hub cursor rewind --endpoint education@513429 --to 9 --config cfg
expect_rc 1
expect_err_has "a rewind only moves back"
hub cursor rewind --endpoint health@513401 --to 0 --config cfg
expect_rc 1
expect_err_has "has received nothing yet"

# ---- every admin action is in the operations log, with who did it
mdb_dump -p -s oplog var/store >oplog.txt
for action in dlq.retry dlq.drop reload cursor.rewind; do
    check "oplog holds $action" grep -q "$action" oplog.txt
done
check "oplog names the OS user" grep -q "user\\\\..$ME" oplog.txt
check "oplog: three rewinds" test "$(grep -c 'cursor.rewind' oplog.txt)" -eq 3

# ---- hubd gone: status reads the store, changes are refused
hubd_stop TERM
hub status --config cfg
expect_rc 0
expect_out_has "hubd: not running"
expect_out_has "rule set: $V2"
hub status --format json --config cfg
expect_out_has '"hubd":"not running"'
hub dlq retry 1 --config cfg
expect_rc 1
expect_err_has "hubd is not running (no answer on ipc://"
hub reload --config cfg
expect_rc 1
expect_err_has "hubd is not running"
finish
