#!/bin/sh
# A hub's subject index once traffic stops (hubd_index_idle: after a
# second without a publish, batches of nothing but the index's work):
# runs of 16 entries merged 4 at a time, 300 dropouts published 4 at a
# time (~900 audit records: dozens of runs, merges due at every level),
# then nothing. Within a few seconds of quiet `hubctl status` shows fewer
# than 4 whole runs at every level below the top (every merge made, by
# the traffic or after it), the subject query names every audit record of
# the child, and no idle batch failed. (The unit suite store_runs checks
# that the idle batches finish what plain ones would leave.)
set -u
. "$REPO/tests/integration/lib.sh"
. "$REPO/tests/integration/hubd_lib.sh"

hubd_setup
printf 'store_index_run: 16\nstore_index_fanin: 4\n' >>cfg/hub.yaml
hubd_start
gen_dropouts 300 idle
run pub_paced 2 education@513400 m/*.json
check "all 300 acked" test "$(grep -c '^ack ' "$OUT")" -eq 300

# merged: every level below the top holds fewer than 4 whole runs.
merged() {
    "$HUBCTL" status --format json --config cfg 2>/dev/null | /usr/bin/python3 -c '
import json, sys
runs = json.load(sys.stdin)["ingest"]["subject_runs"]
sys.exit(0 if all(n < 4 for n in runs[:3]) and sum(runs[1:]) > 0 else 1)'
}
i=0
while [ $i -lt 50 ] && ! merged; do
    sleep 0.2
    i=$((i + 1))
done
hub status --format json --config cfg
check "every merge made while idle ($(grep -o '"subject_runs":[^]]*]' "$OUT"))" merged
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
