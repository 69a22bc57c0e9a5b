#!/bin/sh
# Backup and restore as an operator does them (docs/OPERATIONS.md, "Backup
# and restore"), with the real hubd and the deploy/ scripts:
#
#   1. hubd runs; a consumer of education@513429 takes and acknowledges the
#      first ACKED deliveries; then a publisher loop sends chunks of new
#      dropouts in the background, slowly.
#   2. deploy/backup.sh runs while the publisher is at it (a hot backup).
#   3. The publisher finishes (the hub then holds more than the backup).
#      restore.sh refuses to touch a store hubd has open; with --pid it
#      stops hubd and restores into a new location.
#   4. hubd starts on the restored store. The audit chain verifies. A
#      consumer gets exactly the deliveries the backup held beyond the
#      acknowledged cursor: seqs ACKED+1..LAST, each a published id, the
#      ids of every chunk finished before the backup began among them.
#      Everything is published again (as publishers resend after a restore):
#      what the backup held is a duplicate, the rest is new, and the
#      consumer gets it with seqs continuing LAST+1..N. The chain verifies.
#   5. A second restore into the same place keeps the old store aside.
#
# Beside it a hub-sink on the other endpoint the dropouts reach takes the
# first chunks before the backup and the rest before the restore, so its
# inbox holds seqs above what the restored store issued. restore.sh gives
# the store a new id; the sink sees it in SUBSCRIBED and writes the
# deliveries after its restored cursor again, into new files, the messages
# published anew among them (without the id it would drop them all).
set -u
. "$REPO/tests/integration/lib.sh"
. "$REPO/tests/integration/hubd_lib.sh"

N=400          # messages
CHUNK=20       # per publisher run
ACKED=25       # acknowledged before the backup
PUBLISHER=education@513400
CONSUMER=education@513429   # the hukou county of the fixture's child
SINK_EP=public_security@513429   # the dropouts' other endpoint
HUBC_TIMEOUT_MS=5000
export HUBC_TIMEOUT_MS

hubd_setup
# Signed checkpoints every second, so that the backup holds some and the
# restored chain is checked against them.
"$HUB_BIN/hubctl" keygen --sign-key cfg/keys/audit.sign >/dev/null
printf 'checkpoint_seconds: 1\n' >>cfg/hub.yaml

# N distinct dropouts of the fixture's child: ids.txt lists the ids in
# order, m/ID.json are the messages.
gen_dropouts "$N" backup-test

# files FROM TO: the message files of ids FROM..TO.
files() {
    sed -n "$1,$2p" ids.txt | sed 's|.*|m/&.json|'
}

# audit_verify WHAT: the audit chain of the store in cfg verifies, and
# signed checkpoints were checked with it.
audit_verify() {
    hub audit verify --config cfg
    expect_rc 0
    expect_out_has "ok: "
    echo "# audit verify ($1): $(head -n 1 "$OUT")"
    check "signed checkpoints were verified ($1)" \
        test "$(sed -n 's/^ok: [0-9]* records, \([0-9]*\) checkpoints.*/\1/p' "$OUT")" -gt 0
}

# sink: one run of hub-sink for SINK_EP into sinkbox, until idle.
sink() {
    run "$HUB_BIN/hub-sink" -c cfg -e "$SINK_EP" --inbox sinkbox --idle-exit 800
}

# store_id: the id hubd (running) reports in its status.
store_id() {
    "$HUB_BIN/hubctl" status --config cfg --format json |
        sed -n 's/.*"store_id": *"\([0-9a-f]*\)".*/\1/p'
}

# same_records A B: the stores in directories A and B hold the same records
# in every database but meta and oplog (where the id and its reissue are).
same_records() {
    for db in log dedup dedup_seq queue endpoint audit audit_subject audit_runs audit_runs1 audit_runs2 audit_runs3 audit_tail dead checkpoint rulesets disclosure lists; do
        mdb_dump -s "$db" "$1" 2>/dev/null | sed '1,/^HEADER=END/d' >a.dump
        mdb_dump -s "$db" "$2" 2>/dev/null | sed '1,/^HEADER=END/d' >b.dump
        cmp -s a.dump b.dump || return 1
    done
}

hubd_start

# ---- 1. the first chunk, partly consumed; then the publisher loop
# shellcheck disable=SC2046 # one argument per file
pub "$PUBLISHER" $(files 1 $((2 * CHUNK)))
expect_rc 0
cp "$OUT" pub.0.out
sub "$CONSUMER" "$ACKED" 3000
expect_rc 0
check "the first consumer acknowledged $ACKED deliveries" \
    test "$(grep -c '^deliver' "$OUT")" -eq "$ACKED"
awk '$1 == "deliver" { print $3 }' "$OUT" >acked.ids
# The sink takes the first two chunks and acknowledges them.
SINK_ACKED=$((2 * CHUNK))
sink
expect_rc 0
expect_err_has "$SINK_ACKED deliveries written (seq 1..$SINK_ACKED)"
OLD_ID=$(store_id)
check "hubd reports a store id ($OLD_ID)" sh -c "echo '$OLD_ID' | grep -q -x '[0-9a-f]\{32\}'"
check "the sink keeps the hub's store id" test "$(cat "sinkbox/.$SINK_EP.store_id")" = "$OLD_ID"
# The id is reissued only with hubd stopped (it keeps the id it read).
hub store reissue-id --config cfg
expect_rc 1
expect_err_has "is open in process $HUBD_PID (hubd?): stop it first"
check "the refused reissue changed nothing" test "$(store_id)" = "$OLD_ID"
# hubd signs the audit head within a second; the backup must hold that.
checkpoints() {
    mdb_stat -s checkpoint var/store 2>/dev/null | awk '/Entries:/ { n = $2 } END { print n + 0 }'
}
i=0
while [ "$(checkpoints)" = 0 ] && [ $i -lt 100 ]; do
    sleep 0.05
    i=$((i + 1))
done
check "hubd signed a checkpoint before the backup" test "$(checkpoints)" -gt 0

: >chunks.done
(
    c=3
    while [ $(((c - 1) * CHUNK)) -lt "$N" ]; do
        # shellcheck disable=SC2046
        pub_paced 15 "$PUBLISHER" $(files $(((c - 1) * CHUNK + 1)) $((c * CHUNK))) \
            >"pub.$c.out" 2>"pub.$c.err"
        echo "$c $?" >>chunks.done
        c=$((c + 1))
    done
) &
loop=$!

# ---- 2. the hot backup, a few chunks in
i=0
while [ "$(wc -l <chunks.done)" -lt 3 ] && [ $i -lt 200 ]; do
    sleep 0.05
    i=$((i + 1))
done
done_before=$(wc -l <chunks.done)
run sh "$REPO/deploy/backup.sh" --config cfg --dest "$PWD/backups" --keep 3
expect_rc 0
done_after=$(wc -l <chunks.done)
BACKUP=$(tail -n 1 "$OUT")
echo "# backup $BACKUP taken while chunks $((done_before + 2))..$((done_after + 2)) were published"
check "the backup ran while the publisher was publishing" \
    test "$done_after" -lt $((N / CHUNK - 2))
check "the backup directory is whole (no .partial left)" test -z "$(ls -d backups/*.partial 2>/dev/null)"
check "the backup is private (0700)" test "$(stat -c %a "$BACKUP")" = 700
check "the backup holds the store copy" test -s "$BACKUP/store/data.mdb"
check "the backup holds the keys" test -s "$BACKUP/config/keys/hub.key"
check "the backup keeps the keys' modes" test "$(stat -c %a "$BACKUP/config/keys/hash.key")" = 600
check "every file of the backup is in SHA256SUMS" \
    test "$(grep -c . "$BACKUP/SHA256SUMS")" -eq "$(cd "$BACKUP" && find store config -type f | wc -l)"
# The backup's log holds LAST messages; each went to the consumer's queue once.
LAST=$(awk '$1 == "log" { print $2 }' "$BACKUP/MANIFEST")
echo "# the backup holds $LAST messages"
check "the backup holds the chunks finished before it began" \
    test "${LAST:-0}" -ge $(((done_before + 2) * CHUNK))
check "the backup does not hold everything (the hub went on)" test "${LAST:-0}" -lt "$N"

# ---- 3. the rest published; restore refused while hubd has the store open
wait "$loop"
check "every chunk was published" test "$(wc -l <chunks.done)" -eq $((N / CHUNK - 2))
check "every publisher run succeeded" test -z "$(awk '$2 != 0' chunks.done)"
cat pub.*.out >pub.all
check "every message was acknowledged" test "$(grep -c '^ack' pub.all)" -eq "$N"
check "no publish was refused" test "$(grep -c '^nack' pub.all)" -eq 0
# The sink takes the rest: its inbox goes beyond what the backup holds.
sink
expect_rc 0
expect_err_has "$((N - SINK_ACKED)) deliveries written (seq $((SINK_ACKED + 1))..$N)"
ls sinkbox/*.jsonl >sink.before
# shellcheck disable=SC2046 # one argument per file
sha256sum $(cat sink.before) >sink.before.sums

run sh "$REPO/deploy/restore.sh" "$BACKUP" --config cfg --no-stop --hubctl "$HUB_BIN/hubctl"
expect_rc 1
expect_err_has "is open in process"
check "the refused restore left the store in place" test -s var/store/data.mdb
check "the refused restore set nothing aside" test -z "$(ls -d var/store.before-restore-* 2>/dev/null)"

run sh "$REPO/deploy/restore.sh" "$BACKUP" --config cfg --store "$PWD/var2/store" --pid "$HUBD_PID" \
    --hubctl "$HUB_BIN/hubctl"
expect_rc 0
expect_out_has "files match their checksums"
expect_out_has "hubd (pid $HUBD_PID) stopped"
expect_out_has "store restored into $PWD/var2/store"
HUBD_RC=0
wait "$HUBD_PID" || HUBD_RC=$?
check "hubd stopped by restore.sh exits 0" test "$HUBD_RC" = 0
check "the restored store is private (0700)" test "$(stat -c %a var2/store)" = 700
expect_out_has "new store id"
NEW_ID=$(sed -n 's/^restore.sh: new store id \([0-9a-f]*\) (was .*/\1/p' "$OUT")
check "the restored store has a new id ($NEW_ID)" \
    sh -c "echo '$NEW_ID' | grep -q -x '[0-9a-f]\{32\}' && [ '$NEW_ID' != '$OLD_ID' ]"
mkdir bk && cp "$BACKUP/store/data.mdb" bk/
check "the restored records are the backup's" same_records bk var2/store
check "the reissue is in the operations log" \
    sh -c "mdb_dump -p -s oplog var2/store | grep -q store.reissue_id"

# ---- 4. hubd on the restored store
sed -i "s|^store:.*|store: $PWD/var2/store|" cfg/hub.yaml
hub status --config cfg
expect_rc 0
expect_out_has "store id: $NEW_ID"
hubd_start
audit_verify restored
check "hubd reports the new store id" test "$(store_id)" = "$NEW_ID"

sub "$CONSUMER" "$N" 2000
expect_rc 0
cp "$OUT" cons.restored
expect_out_has "subscribed acked $ACKED last $LAST"
awk '$1 == "deliver" { print $2 }' cons.restored >seqs.restored
awk '$1 == "deliver" { print $3 }' cons.restored >ids.restored
check "the consumer got the $((LAST - ACKED)) unacknowledged deliveries of the backup" \
    test "$(wc -l <seqs.restored)" -eq $((LAST - ACKED))
check "their seqs run $((ACKED + 1))..$LAST in order" \
    test "$(head -n 1 seqs.restored)-$(tail -n 1 seqs.restored)-$(sort -n -u seqs.restored | wc -l)" \
    = "$((ACKED + 1))-$LAST-$((LAST - ACKED))"
check "seqs come in order" sh -c 'sort -n -c seqs.restored'
sort ids.txt >ids.sorted
sort ids.restored >ids.restored.sorted
check "every delivery is a published id, once" \
    test "$(comm -12 ids.sorted ids.restored.sorted | wc -l)" -eq $((LAST - ACKED))
check "none of them was acknowledged before the backup" \
    test -z "$(sort acked.ids | comm -12 - ids.restored.sorted)"
sed -n "1,$(((done_before + 2) * CHUNK))p" ids.txt | sort >ids.before
check "every chunk finished before the backup began is there" \
    test -z "$(sort acked.ids ids.restored | comm -23 ids.before -)"

# Publishers send again what the restored hub lacks (here: everything).
# shellcheck disable=SC2046
pub "$PUBLISHER" $(files 1 "$N")
expect_rc 0
cp "$OUT" pub.again
check "what the backup held is a duplicate" \
    test "$(grep -c '^ack .* duplicate$' pub.again)" -eq "$LAST"
check "the rest is stored anew" \
    test "$(grep '^ack' pub.again | grep -c -v 'duplicate$')" -eq $((N - LAST))
sub "$CONSUMER" "$N" 2000
expect_rc 0
cp "$OUT" cons.resumed
expect_out_has "subscribed acked $LAST last $N"
awk '$1 == "deliver" { print $2 }' cons.resumed >seqs.resumed
check "delivery resumes with seqs $((LAST + 1))..$N" \
    test "$(head -n 1 seqs.resumed)-$(tail -n 1 seqs.resumed)-$(wc -l <seqs.resumed)" \
    = "$((LAST + 1))-$N-$((N - LAST))"
awk '$1 == "deliver" { print $3 }' cons.resumed | sort >ids.resumed
check "every id is delivered once in all" \
    test "$(sort acked.ids ids.restored ids.resumed | uniq | wc -l)-$(sort acked.ids ids.restored \
        ids.resumed | uniq -d | wc -l)" = "$N-0"
audit_verify resumed

# The sink: its inbox holds seqs up to N of the store before the restore;
# the restored hub issues those after the sink's restored cursor again.
sink
expect_rc 0
expect_err_has "the hub's store was restored (store id $OLD_ID -> $NEW_ID): sequences after \
$SINK_ACKED (the hub's acked) are taken as new"
expect_err_has "$((N - SINK_ACKED)) deliveries written (seq $((SINK_ACKED + 1))..$N)"
check "the sink keeps the new store id" test "$(cat "sinkbox/.$SINK_EP.store_id")" = "$NEW_ID"
check "every file the sink wrote before is there, unchanged" sha256sum --quiet -c sink.before.sums
ls sinkbox/*.jsonl | sort | comm -13 sink.before - >sink.after
grep '^ack' pub.again | grep -v 'duplicate$' | awk '{ print $2 }' | sed 's|^m/||; s|\.json$||' |
    sort >ids.anew
run python3 - "$SINK_ACKED" "$N" ids.anew sink.after <<'EOF'
import json, sys
first, last = int(sys.argv[1]) + 1, int(sys.argv[2])
anew = set(open(sys.argv[3]).read().split())
recs = [json.loads(l) for f in open(sys.argv[4]).read().split() for l in open(f)]
seqs = [r["seq"] for r in recs]
ids = set(r["id"] for r in recs)
print("new files", len(open(sys.argv[4]).read().split()), "records", len(recs))
print("seqs", "run" if seqs == list(range(first, last + 1)) else "do not run", first, "..", last)
print("anew", len(anew), "all written" if anew and anew <= ids else "MISSING %d" % len(anew - ids))
EOF
expect_rc 0
expect_out_has "records $((N - SINK_ACKED))"
expect_out_has "seqs run $((SINK_ACKED + 1)) .. $N"
expect_out_has "anew $((N - LAST)) all written"

hubd_stop TERM
check "hubd exits 0 on SIGTERM" test "$HUBD_RC" = 0

# ---- 5. restoring again over a store keeps the old one aside
cp var2/store/data.mdb resumed.mdb
run sh "$REPO/deploy/restore.sh" "$BACKUP" --config cfg --no-stop --hubctl "$HUB_BIN/hubctl"
expect_rc 0
aside=$(ls -d var2/store.before-restore-* 2>/dev/null | head -n 1)
check "the old store is kept aside" test -n "$aside"
check "the store set aside is the one hubd wrote" cmp -s resumed.mdb "$aside/data.mdb"
check "the store holds the backup's records again" same_records bk var2/store

# A damaged backup is refused before anything is touched.
cp var2/store/data.mdb restored.mdb
cp -r "$BACKUP" damaged
printf 'x' >>damaged/config/departments.yaml
run sh "$REPO/deploy/restore.sh" damaged --config cfg --no-stop --hubctl "$HUB_BIN/hubctl"
expect_rc 1
expect_err_has "the backup is damaged"
check "the damaged backup changed nothing" cmp -s restored.mdb var2/store/data.mdb

check "no sanitizer report" test -z "$(grep -l 'Sanitizer\|runtime error' hubd.log ./*.err \
    2>/dev/null)"
finish
