#!/bin/sh
# The operators' commands on a full store (docs/OPERATIONS.md, "The admin
# socket"): an action that cannot be written to the operations log is never
# answered as a success. A cursor rewind and a dead-letter drop commit with
# their record, so they are refused and nothing changes; a retry refused
# again says that its record is missing; a reload takes effect first (it is
# how a full store gets room, and how a leaked key goes out of use) and is
# answered not_recorded: hubctl exits 1 with the reason. Once the map is
# grown the same commands go through and are recorded.
set -u
. "$REPO/tests/integration/lib.sh"
. "$REPO/tests/integration/hubd_lib.sh"

hubd_setup
printf 'store_map_size: 262144\n' >>cfg/hub.yaml
hubd_start

# ---- before the store fills: a delivery acknowledged, two dead letters
sed 's/"change_type": "[a-z_]*"/"change_type": "dropout"/' \
    "$MSGS/student.enrolment_change.json" >dropout.json
pub education@513400 dropout.json
expect_out_has "ack dropout.json log_seq 1"
sub education@513429 1
expect_out_has "deliver 1 "
printf '\223\001\002' >garbage.bin
pub education@513400 garbage.bin garbage.bin
check "two dead letters" test "$(grep -c 'nack garbage.bin malformed' "$OUT")" -eq 2

# ---- fill it: messages, then dead letters ever smaller, one commit each,
# until none fits; then records of hubctl's own in the operations log
# (audit query: a smaller record than any admin command's) until one does
# not fit either. Small writes fit long after messages no longer do: LMDB
# reuses the pages the last commits freed; only a database that must grow
# a page finds none.
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
n=0
while [ $n -lt 2000 ]; do
    n=$((n + 1))
    hub audit query --limit 1 --config cfg
    if grep -q "could not be recorded in the operations log (store full" "$ERR"; then
        break
    fi
done
check "the operations log is full after $n audit queries" \
    grep -q "could not be recorded in the operations log (store full" "$ERR"

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

# ---- a reload takes effect, and says that it is not recorded
hub status --config cfg
V1=$(sed -n 's/^rule set: \([0-9a-f]*\)$/\1/p' "$OUT")
n=$(line_of cfg/rules.d/10-dropout.yaml '^  - body.grade$')
sed -i "${n}d" cfg/rules.d/10-dropout.yaml
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
# A broken configuration is refused as ever; its refusal is not recorded.
n=$(line_of cfg/rules.d/10-dropout.yaml '^    to:$')
cp cfg/rules.d/10-dropout.yaml 10-dropout.good
replace_line cfg/rules.d/10-dropout.yaml "$n" "    dest:"
hub reload --config cfg
expect_rc 1
expect_err_has "reload refused: config: the new configuration is broken; the old one stays in force, and the refusal could not be recorded in the operations log: store full"
cp 10-dropout.good cfg/rules.d/10-dropout.yaml

# ---- room again: the reload that grows the map is recorded, and so is
# everything after it
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
mdb_dump -p -s oplog var/store >oplog.txt
check "the oplog holds one rewind, one drop: those that were made" \
    test "$(grep -c 'cursor\.rewind' oplog.txt)-$(grep -c 'dlq\.drop' oplog.txt)" = 1-1
check "the oplog holds one reload, the last, and no refusal" \
    test "$(grep -c 'reload' oplog.txt)" -eq 1
hubd_stop TERM
check "hubd exits 0" test "$HUBD_RC" = 0
finish
