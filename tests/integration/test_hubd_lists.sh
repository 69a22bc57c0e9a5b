#!/bin/sh
# Lists (docs/RULES.md "Lists") end to end with the real binaries: a
# household report from poverty_alleviation makes a household monitored;
# a dropout of a child of that household then reaches the county's
# rural-revitalisation bureau, with the rule's fields only; a report that
# the risk is eliminated takes it out; membership survives a restart.
set -u
. "$REPO/tests/integration/lib.sh"
. "$REPO/tests/integration/hubd_lib.sh"

hubd_setup

# The dry run: with the household listed, the dropout reaches the county's
# rural-revitalisation bureau; without, it does not; an unknown list is bad usage.
hub rules test --config cfg --message "$REPO/config/tests/messages/student_dropout.json" \
    --listed monitored_households=513431000362
expect_rc 0
expect_out_has "poverty_alleviation@513431"
hub rules test --config cfg --message "$REPO/config/tests/messages/student_dropout.json"
expect_out_lacks "poverty_alleviation"
hub rules test --config cfg --message "$REPO/config/tests/messages/student_dropout.json" \
    --listed monitored=1
expect_rc 2
expect_err_has "the rule set declares no such list"

hubd_start
check "hubd logged its lists at the start" grep -q "event=lists_loaded lists=1 members=0" hubd.log

# The household of 昭觉 (513431) 户号 513431000777, monitored, risk not eliminated.
sed -e 's/"id": "[0-9a-f]*"/"id": "0000000000000000000000000000a001"/' \
    -e 's/"hukou_division": "[0-9]*"/"hukou_division": "513431"/' \
    -e 's/"household_no": "[0-9]*"/"household_no": "513431000777"/' \
    -e 's/"risk_eliminated": true/"risk_eliminated": false/' \
    "$MSGS/poverty.household_status.json" >monitored.json
# A dropout of a child of that household (hukou 昭觉).
sed -e 's/"change_type": "[a-z_]*"/"change_type": "dropout"/' \
    -e 's/"id": "[0-9a-f]*"/"id": "0000000000000000000000000000d001"/' \
    -e 's/"hukou_division": "[0-9]*"/"hukou_division": "513431"/' \
    "$MSGS/student.enrolment_change.json" >dropout0.json
if grep -q '"household_no"' dropout0.json; then
    sed 's/"household_no": "[0-9]*"/"household_no": "513431000777"/' dropout0.json >dropout1.json
else
    sed 's/"hukou_division": "513431"/"hukou_division": "513431", "household_no": "513431000777"/' \
        dropout0.json >dropout1.json
fi

# Before the household is listed: the dropout does not reach poverty_alleviation.
pub education@513400 dropout1.json
expect_out_has "ack dropout1.json log_seq"
sub poverty_alleviation@513431 5 700
expect_out_lacks "deliver"

# A report by anyone but poverty_alleviation changes nothing (default deny):
# civil affairs may not even publish the type.
pub civil_affairs@513400 monitored.json
expect_out_has "nack monitored.json"

pub poverty_alleviation@513400 monitored.json
expect_out_has "ack monitored.json log_seq"
sed 's/"id": "[0-9a-f]*"/"id": "0000000000000000000000000000d002"/' dropout1.json >dropout2.json
pub education@513400 dropout2.json
expect_out_has "ack dropout2.json log_seq"
run "$HUB_BIN/hub-sink" -c cfg -e poverty_alleviation@513431 --inbox box --idle-exit 800
expect_rc 0
expect_err_has "poverty_alleviation@513431: 1 deliveries written (seq 1..1)"
# only the rule's fields: no guardian phone, no reason, no citizen ID
run python3 - box <<'PY'
import glob, json, sys
recs = [json.loads(l) for f in sorted(glob.glob(sys.argv[1] + "/*.jsonl")) for l in open(f)]
for r in recs:
    m = r["message"]
    print(r["type"], ",".join(r["rules"]), "subject=" + ",".join(sorted(m["subject"])),
          "body=" + ",".join(sorted(m["body"])), m["subject"]["household_no"])
PY
expect_out_has "student.enrolment_change dropout-monitored-household subject=household_no,name body=change_date,change_type,grade,school_name 513431000777"
check "the membership is in the store's lists database" sh -c \
    "mdb_dump -s lists var/store | grep -q 6d6f6e69746f7265645f686f757365686f6c6473"

# Membership survives a restart.
hubd_stop TERM
hubd_start
check "hubd loaded the member again" grep -q "event=lists_loaded lists=1 members=1" hubd.log
sed 's/"id": "[0-9a-f]*"/"id": "0000000000000000000000000000d003"/' dropout1.json >dropout3.json
pub education@513400 dropout3.json
sub poverty_alleviation@513431 5 1500
expect_out_has "deliver 2 "

# The risk eliminated: the household leaves the list; a later dropout stays away.
sed -e 's/"id": "[0-9a-f]*"/"id": "0000000000000000000000000000a002"/' \
    -e 's/"risk_eliminated": false/"risk_eliminated": true/' monitored.json >cleared.json
pub poverty_alleviation@513400 cleared.json
expect_out_has "ack cleared.json log_seq"
sed 's/"id": "[0-9a-f]*"/"id": "0000000000000000000000000000d004"/' dropout1.json >dropout4.json
pub education@513400 dropout4.json
expect_out_has "ack dropout4.json log_seq"
sub poverty_alleviation@513431 5 700
expect_out_lacks "deliver"
# ... while education still gets every dropout.
sub education@513431 10 1500
expect_out_has "deliver 4 "
hubd_stop TERM
check "hubd exits 0 on SIGTERM" test "$HUBD_RC" = 0
finish
