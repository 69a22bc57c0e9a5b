#!/bin/sh
# An idle hub finishes its subject index's merges (hubd_index_idle: after a
# second without a publish, batches of nothing but the index's work). Runs
# of 16 entries; 300 dropouts published 4 at a time while hubd merges 64
# runs at a time (store_index_fanin: 64, so none: dozens of level-0 runs).
# Then hubd restarts merging 4 at a time and takes one message: its one
# small batch leaves most merges due (checked at once), and only idle
# batches can make them. Within a few seconds of quiet, `hubctl status`
# shows fewer than 4 whole runs at every level below the top, the subject
# query names every audit record of the child, and no idle batch failed.
set -u
. "$REPO/tests/integration/lib.sh"
. "$REPO/tests/integration/hubd_lib.sh"

hubd_setup
printf 'store_index_run: 16\nstore_index_fanin: 64\n' >>cfg/hub.yaml
hubd_start
gen_dropouts 301 idle
last=$(tail -n 1 ids.txt)
run pub_paced 2 education@513400 $(sed '$d' ids.txt | sed 's|.*|m/&.json|')
check "300 acked" test "$(grep -c '^ack ' "$OUT")" -eq 300
hubd_stop TERM
sed -i 's/^store_index_fanin: 64$/store_index_fanin: 4/' cfg/hub.yaml
hubd_start

# runs_below_top: the whole runs of levels 0-2, as "A B C".
runs_below_top() {
    "$HUBCTL" status --format json --config cfg 2>/dev/null | /usr/bin/python3 -c '
import json, sys
print(" ".join(str(n) for n in json.load(sys.stdin)["ingest"]["subject_runs"][:3]))'
}
# merged: every level below the top holds fewer than 4 whole runs.
merged() {
    set -- $(runs_below_top)
    [ $# -eq 3 ] && [ "$1" -lt 4 ] && [ "$2" -lt 4 ] && [ "$3" -lt 4 ]
}
pub education@513400 "m/$last.json"
expect_out_has "ack m/$last.json log_seq"
left=$(runs_below_top)
if merged; then was=merged; else was=left; fi
check "merges were left when traffic stopped (runs $left)" test "$was" = left
within merged
check "every merge made while idle (runs $(runs_below_top))" merged
CID=$(sed -n 's/.*"citizen_id": "\([0-9X]*\)".*/\1/p' "$MSGS/student.enrolment_change.json" | head -n 1)
hub audit query --subject "$CID" --format json --config cfg
expect_rc 0
audits=$("$HUBCTL" status --format json --config cfg | /usr/bin/python3 -c '
import json, sys
print(json.load(sys.stdin)["audit"]["records"])' 2>/dev/null)
check "the subject query names all $audits audit records" \
    test "$(grep -o '"audit_seq"' "$OUT" | wc -l)" -eq "${audits:-0}"
check "no idle index work failed" sh -c '! grep -q event=index_idle hubd.log'
hubd_stop TERM
check "hubd exits 0" test "$HUBD_RC" = 0
finish
