#!/bin/sh
# The operators' commands on a full store (docs/OPERATIONS.md, "The admin
# socket"): an action that cannot be written to the operations log is never
# answered as a success. A cursor rewind and a dead-letter drop commit with
# their record, so they are refused and nothing changes; a retry refused
# again says that its record is missing; a reload takes effect first (it is
# how a full store gets room, and how a leaked key goes out of use) and is
# answered not_recorded: hubctl exits 1 with the reason. A retention purge
# is not made without its record (hubd logs it and counts it in
# /metrics). hubctl's own records: an audit query, report or export that
# cannot be recorded is not answered, a store id that cannot be recorded
# is not reissued. On a copy of the full store hubd does not start: the
# rule set it would disclose under cannot be recorded. Once the map is
# grown the same commands go through and are recorded.
set -u
. "$REPO/tests/integration/lib.sh"
. "$REPO/tests/integration/hubd_lib.sh"

hubd_setup
MPORT=$((PORT - 10000)) # 11000-21999: below the ephemeral range, apart from hubd's
printf 'store_map_size: 262144\nmetrics: "127.0.0.1:%s"\n' "$MPORT" >>cfg/hub.yaml
hubd_start

# metric NAME: its value on hubd's /metrics now ("none" when absent).
metric() {
    /usr/bin/python3 -c 'import sys, urllib.request
for line in urllib.request.urlopen(sys.argv[1], timeout=5).read().decode().splitlines():
    if line.split(" ")[0] == sys.argv[2]:
        print(line.split(" ")[1]); break
else:
    print("none")' "http://127.0.0.1:$MPORT/metrics" "$1"
}

# failures_counted: /metrics counts a failed retention purge.
failures_counted() {
    case $(metric hub_retention_failures_total 2>/dev/null) in
    [1-9]*) return 0 ;;
    *) return 1 ;;
    esac
}


# ---- before the store fills: a delivery acknowledged, two dead letters
sed 's/"change_type": "[a-z_]*"/"change_type": "dropout"/' \
    "$MSGS/student.enrolment_change.json" >dropout.json
pub education@513400 dropout.json
expect_out_has "ack dropout.json log_seq 1"
# Received two days ago: what retention_messages_days: 1 purges. hubd
# stamps the time itself, so the record is aged in place (mdb_dump's hex:
# its received_ms, a uint 64, less two days).
cat >age.py <<'EOF'
import sys
key, field = " %016x" % 1, "ab72656365697665645f6d73cf"
lines = sys.stdin.read().split("\n")
i = lines.index(key) + 1
at = lines[i].index(field) + len(field)
t = int(lines[i][at:at + 16], 16) - 2 * 86400000
lines[i] = lines[i][:at] + "%016x" % t + lines[i][at + 16:]
sys.stdout.write("\n".join(lines))
EOF
mdb_dump -s log var/store >log.dump
/usr/bin/python3 age.py <log.dump >log.aged && mdb_load -s log -f log.aged var/store 2>mdb_load.err
check "log 1 is two days old" sh -c 'mdb_dump -s log var/store | cmp -s - log.aged'
sub education@513429 1
expect_out_has "deliver 1 "
printf '\223\001\002' >garbage.bin
pub education@513400 garbage.bin garbage.bin
check "two dead letters" test "$(grep -c 'nack garbage.bin malformed' "$OUT")" -eq 2

# ---- fill it: messages, then dead letters ever smaller, one commit each,
# until none fits; then records of hubctl's own in the operations log
# (audit query: a smaller record than any admin command's) until one does
# not fit either, and that query is not answered. Small writes fit long
# after messages no longer do: LMDB reuses the pages the last commits
# freed; only a database that must grow a page finds none.
mkdir m
i=0
files=
while [ $i -lt 400 ]; do
    sed "s/\"id\": \"[0-9a-f]*\"/\"id\": \"$(printf '%032x' $((i + 1)))\"/" dropout.json >m/$i.json
    files="$files m/$i.json"
    i=$((i + 1))
done
for size in 16384 4096 1024 256 64; do
    { printf '\223' && head -c $((size - 1)) /dev/zero; } >junk$size.bin
    i=0
    while [ $i -lt 40 ]; do
        files="$files junk$size.bin"
        i=$((i + 1))
    done
done
# shellcheck disable=SC2086 # the file names have no spaces
HUBC_WINDOW=1 run "$HUB_TOOLS/hubc_tool" publish "$URL" cfg/keys/hub.pub cfg/keys \
    education@513400 $files
check "the store filled up (nack store_full)" grep -q "nack junk64.bin store_full" "$OUT"
# fill_oplog DIR: audit queries on DIR's store until one cannot be recorded.
fill_oplog() {
    n=0
    while [ $n -lt 2000 ]; do
        n=$((n + 1))
        hub audit query --limit 1 --config "$1"
        if grep -q "could not be recorded in the operations log (store full" "$ERR"; then
            break
        fi
    done
    check "the operations log of $1 is full after $n audit queries" \
        grep -q "could not be recorded in the operations log (store full" "$ERR"
}
fill_oplog cfg

# ---- the audit is not read out unrecorded
expect_rc 1
expect_out_empty
expect_err_has "hubctl: audit.query refused: this reading of the audit could not be recorded in the operations log (store full: "
expect_err_has "), so nothing of it is shown; raise store_map_size in hub.yaml, then reload"
CID=$(sed -n 's/.*"citizen_id": "\([0-9X]*\)".*/\1/p' dropout.json)
hub audit report --subject "$CID" --config cfg
expect_rc 1
expect_out_empty
expect_err_has "hubctl: audit.report refused: this reading of the audit could not be recorded"
mkdir other && "$HUBCTL" keygen --sign-key other/audit.sign >/dev/null
hub audit export -o bundle.jsonl --pub-key other/audit.sign.pub --config cfg
expect_rc 1
expect_err_has "hubctl: audit.export refused: this reading of the audit could not be recorded"
check "no bundle was written" test ! -e bundle.jsonl

# ---- a rewind is refused, and the cursor stays
hub cursor rewind --endpoint education@513429 --to 0 --config cfg
expect_rc 1
expect_err_has "hubctl: cursor.rewind refused: store: the cursor was not moved: store full"
expect_err_has "(raise store_map_size in hub.yaml, then reload)"
hub cursor show --endpoint education@513429 --config cfg
row=$(awk '$1 == "education@513429" { print $2 }' "$OUT")
check "the cursor did not move (acked '$row')" test "$row" = 1

# ---- a drop is refused, and the letter stays
hub dlq drop 1 --config cfg
expect_rc 1
expect_err_has "hubctl: dlq.drop refused: store: nothing was dropped: store full"
hub dlq show 1 --config cfg
expect_rc 0

# ---- a retry refused again says that it is not recorded either
hub dlq retry 2 --config cfg
expect_rc 1
expect_out_has "dead letter 2: refused again: malformed"
expect_out_has "this retry could not be recorded in the operations log: store full"

# ---- a reload takes effect, and says that it is not recorded; it puts
# retention at a day, and that purge (of log 1) fails as a whole
hub status --config cfg
V1=$(sed -n 's/^rule set: \([0-9a-f]*\)$/\1/p' "$OUT")
n=$(line_of cfg/rules.d/10-dropout.yaml '^  - body.grade$')
sed -i "${n}d" cfg/rules.d/10-dropout.yaml
printf 'retention_messages_days: 1\n' >>cfg/hub.yaml
hub reload --config cfg
expect_rc 1
expect_out_empty
expect_err_has "hubctl: reload done, but not recorded: rule set "
expect_err_has "is in force, but the reload could not be recorded in the operations log and the rule-set history: store full"
V2=$(sed -n 's/^hubctl: reload done, but not recorded: rule set \([0-9a-f]*\) is in force.*/\1/p' "$ERR")
check "the new rule set differs ($V1, $V2)" test -n "$V2" -a "$V2" != "$V1"
hub status --config cfg
expect_out_has "rule set: $V2"
hub rules history --config cfg
expect_out_lacks "$(echo "$V2" | cut -c1-12)"
hub reload --format json --config cfg
expect_rc 1
expect_out_has '"code":"not_recorded"'
expect_out_has '"ok":false'
expect_out_has "\"ruleset\":\"$V2\""
check "hubd logged it" grep -q "event=reloaded ruleset=$V2 .*recorded=no" hubd.log
check "the purge failed, and hubd says so" within grep -q \
    'level=error event=retention_failed purged=nothing reason="store full: .*(raise store_map_size in hub.yaml, then reload)"' hubd.log
check "/metrics counts it" within failures_counted
mdb_dump -p -s oplog var/store >oplog.txt
check "no purge is recorded" sh -c '! grep -q purge oplog.txt'
check "and no body was purged" sh -c '! mdb_dump -p -s meta var/store | grep -q purged_log'
# A broken configuration is refused as ever; its refusal is not recorded.
n=$(line_of cfg/rules.d/10-dropout.yaml '^    to:$')
cp cfg/rules.d/10-dropout.yaml 10-dropout.good
replace_line cfg/rules.d/10-dropout.yaml "$n" "    dest:"
hub reload --config cfg
expect_rc 1
expect_err_has "reload refused: config: the new configuration is broken; the old one stays in force, and the refusal could not be recorded in the operations log: store full"
cp 10-dropout.good cfg/rules.d/10-dropout.yaml

# ---- a copy of the full store (with V2, whose texts it lacks) and a
# configuration of its own: hubd does not start on it, nor is its id
# reissued, until its map grows
mkdir full && mdb_copy var/store full
cp -r cfg cfg2
sed -i -e "s|^store: .*|store: $PWD/full|" -e '/^metrics:/d' \
    -e "s|^listen: tcp://127.0.0.1:[0-9]*|listen: tcp://127.0.0.1:$((PORT + 1))|" cfg2/hub.yaml
fill_oplog cfg2
run timeout 30 "$HUB_BIN/hubd" -c cfg2
expect_rc 1
expect_err_has "$PWD/full: error: rule set $(echo "$V2" | cut -c1-12) cannot be recorded in the rule-set history, so hubd does not start: store full: "
expect_err_has "(raise store_map_size in hub.yaml, then start hubd) [not_recorded]"
expect_err_has 'level=error event=start_failed reason="store full"'
expect_err_lacks "event=started"
ID=$(mdb_dump -p -s meta full | sed -n '/^ store_id$/{n;p}')
hub store reissue-id --config cfg2
expect_rc 1
expect_out_empty
expect_err_has "hubctl: the store id of $PWD/full was not changed: store full: "
expect_err_has "(raise store_map_size in hub.yaml, then run it again)"
check "the id stays ($ID)" test -n "$ID" -a "$(mdb_dump -p -s meta full | sed -n '/^ store_id$/{n;p}')" = "$ID"
check "no reissue is recorded" sh -c '! mdb_dump -p -s oplog full | grep -q store.reissue_id'
hub rules history --config cfg2
expect_out_lacks "$(echo "$V2" | cut -c1-12)"
sed -i 's/^store_map_size: .*/store_map_size: 67108864/' cfg2/hub.yaml
hub store reissue-id --config cfg2
expect_rc 0
check "the reissue is recorded" sh -c 'mdb_dump -p -s oplog full | grep -q store.reissue_id'
"$HUB_BIN/hubd" -c cfg2 2>hubd2.log &
HUBD2_PID=$!
check "hubd starts on the grown copy" within grep -q "event=started" hubd2.log
kill -TERM "$HUBD2_PID"
wait "$HUBD2_PID"
hub rules history --config cfg2
check "the start is recorded, with V2" grep -q "start  *hubd  *$V2" "$OUT"

# ---- room again: the reload that grows the map is recorded, and so is
# everything after it (the purge that failed, at once)
sed -i 's/^store_map_size: .*/store_map_size: 67108864/' cfg/hub.yaml
hub reload --config cfg
expect_rc 0
expect_out_has "reloaded: rule set $V2 still in force"
hub rules history --config cfg
expect_out_has "$(echo "$V2" | cut -c1-12)"
hub cursor rewind --endpoint education@513429 --to 0 --config cfg
expect_rc 0
expect_out_has "acknowledged 1 -> 0"
hub dlq drop 1 --config cfg
expect_rc 0
expect_out_has "dropped 1 of 1 dead letter"
check "the purge that failed went, once the map grew" within grep -q "event=retention bodies=" hubd.log
hub audit query --limit 1 --config cfg
expect_rc 0
expect_out_has "records"
mdb_dump -p -s oplog var/store >oplog.txt
check "the oplog holds the purge" test "$(grep -c 'purge' oplog.txt)" -eq 1
check "the oplog holds one rewind, one drop: those that were made" \
    test "$(grep -c 'cursor\.rewind' oplog.txt)-$(grep -c 'dlq\.drop' oplog.txt)" = 1-1
check "the oplog holds one reload, the last, and no refusal" \
    test "$(grep -c 'reload' oplog.txt)" -eq 1
hubd_stop TERM
check "hubd exits 0" test "$HUBD_RC" = 0
finish
