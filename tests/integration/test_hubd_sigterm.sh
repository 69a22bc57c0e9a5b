#!/bin/sh
# SIGTERM under load, with the real binaries: hubd finishes the batches in
# hand (the one at its writer thread and the one gathering behind it),
# sends their acks and exits 0 (docs/OPERATIONS.md). Checked on what hubd
# and the publisher say: every message hubd received it answered (its
# "stopped" line: published = acked + nacked), and every ack the publisher
# got names a log record that is in the store after hubd is gone; and the
# stop came in the middle of the load (fewer than all acked). Twice:
# once with every batch on the writer thread (writer_inline_max: 0), once
# with the default (small batches committed by the main thread).
set -u
. "$REPO/tests/integration/lib.sh"
. "$REPO/tests/integration/hubd_lib.sh"

HUBC_TIMEOUT_MS=2000 # the publisher gives up on a stopped hub after 2 s
export HUBC_TIMEOUT_MS

hubd_setup
N=20000
gen_dropouts $N term

# What hubd has acked so far (hubctl status; the publisher prints its
# answers only at the end).
acked_now() {
    "$HUB_BIN/hubctl" status --config cfg --format json 2>/dev/null |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["ingest"]["acked"])' 2>/dev/null ||
        echo 0
}

# round INLINE: hubd with writer_inline_max INLINE (or the default, ""),
# N publishes in slices of 1024 with 20 ms between them (within a slice,
# four frames in flight: one batch commits at the writer while the next
# gathers), so that the load lasts a good 0.4 s; SIGTERM once 300 are acked.
round() {
    sed -i '/^writer_inline_max:/d' cfg/hub.yaml
    [ -n "$1" ] && echo "writer_inline_max: $1" >>cfg/hub.yaml
    rm -rf var/store
    hubd_start
    HUBC_WINDOW=1024 HUBC_PACE_MS=20 "$HUB_TOOLS/hubc_tool" publish "$URL" cfg/keys/hub.pub \
        cfg/keys education@513400 m/*.json >pub.out 2>&1 &
    PUB=$!
    # Up to 60 s: one status call takes 0.4 s on a busy machine under ASan.
    until=$(($(date +%s) + 60))
    while [ "$(date +%s)" -lt $until ] && [ "$(acked_now)" -lt 300 ]; do
        sleep 0.01
    done
    hubd_stop TERM
    wait "$PUB"
    check "hubd exits 0 on SIGTERM under load (writer_inline_max '${1:-default}')" \
        test "$HUBD_RC" = 0
    stopped=$(grep 'event=stopped' hubd.log | tail -n 1)
    p=$(echo "$stopped" | sed -n 's/.* published=\([0-9]*\).*/\1/p')
    a=$(echo "$stopped" | sed -n 's/.* acked=\([0-9]*\).*/\1/p')
    n=$(echo "$stopped" | sed -n 's/.* nacked=\([0-9]*\).*/\1/p')
    check "every publish hubd received was answered ($stopped)" \
        test -n "$p" -a "$p" = "$((a + n))" -a "$n" = 0
    got=$(grep -c '^ack ' pub.out)
    check "the publisher got acks while hubd ran ($got of $N: $(grep -v '^ack ' pub.out | head -n 2))" \
        test "$got" -ge 300
    check "hubd's acks are the publisher's ($a, $got)" test "$a" = "$got"
    check "hubd stopped in the middle of the load ($got of $N acked)" test "$got" -lt "$N"
    # Every acked log seq is in the store hubd left behind.
    max=$(sed -n 's/^ack [^ ]* log_seq \([0-9]*\).*/\1/p' pub.out | sort -n | tail -n 1)
    entries=$(mdb_stat -s log var/store | sed -n 's/^ *Entries: //p')
    check "the store holds every acked message (log $entries, highest acked seq $max)" \
        test -n "$max" -a -n "$entries" -a "$entries" -ge "$max" -a "$entries" -ge "$got"
}

round 0
round ""

finish
