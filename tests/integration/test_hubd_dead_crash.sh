#!/bin/sh
# A refusal is an answer too: a publisher told "invalid" drops the message
# (resending it unchanged will not help), so the hub must have kept it as
# a dead letter by then. With the real binaries: a publisher sends
# messages that break their schema (a grade that is no code of its table)
# and hubd is killed (kill -9) at a random moment, six times: three with
# PUBLISH (one message in flight at a time, a NACK each), three with
# PUBLISH_BATCH frames of 8 (an ACK_BATCH each); every other start commits
# on the writer thread (writer_inline_max: 0). Then every message the
# publisher was told "invalid" is in the dead-letter store (hubctl dlq
# show, with hubd down: the store read as it was left).
set -u
. "$REPO/tests/integration/lib.sh"
. "$REPO/tests/integration/hubd_lib.sh"

ROUNDS=6
PER=60 # new messages a round
HUBC_TIMEOUT_MS=1500
export HUBC_TIMEOUT_MS

hubd_setup
gen_dropouts $((ROUNDS * PER)) dead-crash
# 小六 (colloquial for grade 6) is not a code of the table 'grade'.
sed -i 's/"grade": "06"/"grade": "小六"/' m/*.json
hub msg validate "m/$(head -n 1 ids.txt).json"
expect_rc 1
expect_err_has "not a code of table 'grade'"

: >nacked.txt
: >hubd.all.log
round=0
while [ $round -lt $ROUNDS ]; do
    sed -i '/^writer_inline_max:/d' cfg/hub.yaml
    [ $((round % 2)) -eq 0 ] && echo "writer_inline_max: 0" >>cfg/hub.yaml
    rm -f hubd.log
    hubd_start
    # Rounds 0-2: one PUBLISH at a time, 3 ms apart; 3-5: frames of 8,
    # 20 ms apart. Either way the load lasts a good 0.2 s.
    window=1 pace=3
    [ $round -ge 3 ] && window=8 pace=20
    files=$(sed -n "$((round * PER + 1)),$((round * PER + PER))p" ids.txt | sed 's|.*|m/&.json|')
    # shellcheck disable=SC2086 # one word per file
    HUBC_WINDOW=$window HUBC_PACE_MS=$pace "$HUB_TOOLS/hubc_tool" publish "$URL" \
        cfg/keys/hub.pub cfg/keys education@513400 $files >pub.out 2>&1 &
    PUB=$!
    sleep "$(printf '0.%03d' $(($(od -An -N2 -tu2 /dev/urandom | tr -d ' \n') % 191 + 10)))"
    hubd_stop KILL
    wait "$PUB"
    check "round $round: hubd was killed (status $HUBD_RC)" test "$HUBD_RC" -ne 0
    # (A kill before the publisher's HELLO was answered leaves no answer.)
    check "round $round: no answer but a refusal as invalid ($(grep '^ack \|^nack' pub.out | grep -v '^nack [^ ]* invalid' | head -n 2))" \
        test -z "$(grep '^ack \|^nack' pub.out | grep -v '^nack [^ ]* invalid')"
    sed -n 's|^nack m/\([0-9a-f]*\)\.json invalid.*|\1|p' pub.out >>nacked.txt
    cat hubd.log >>hubd.all.log
    round=$((round + 1))
done

nacked=$(wc -l <nacked.txt)
check "some refusals came before the kills ($nacked of $((ROUNDS * PER)))" test "$nacked" -gt 0
check "the kills came before the end ($nacked of $((ROUNDS * PER)) refused)" \
    test "$nacked" -lt $((ROUNDS * PER))

# The ids of every dead letter in the store.
: >kept.txt
seq=1
while "$HUB_BIN/hubctl" dlq show $seq --config cfg >show.out 2>/dev/null; do
    sed -n 's/^ *"id": "\([0-9a-f]*\)".*/\1/p' show.out | head -n 1 >>kept.txt
    seq=$((seq + 1))
done
lost=$(sort -u kept.txt | comm -13 - "$(sort -u nacked.txt >nacked.sorted && echo nacked.sorted)" |
    head -n 3)
check "every message refused as invalid is a dead letter ($(wc -l <kept.txt) kept; lost: ${lost:-none})" \
    test -z "$lost"
finish
