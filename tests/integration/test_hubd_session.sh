#!/bin/sh
# A session the hub lost is taken back by the client SDK, with the real
# binaries (docs/PROTOCOL.md "Sessions", adapters/hub_client.h): on ERROR
# hello_first it says HELLO again, subscribes again, and resends what was
# not answered (ids make that safe).
#   1. A publisher that sat silent for 3.5 s after its HELLO (heartbeat_ms
#      1000: the hub forgets a session after three silent intervals) has
#      its messages acked all the same.
#   2. So has a consumer silent as long after its SUBSCRIBE: it gets every
#      delivery.
#   3. hubd stopped and started again in the middle of a paced publish:
#      the publisher goes on, every message is acked, and the store holds
#      each once.
#   4. A waiting consumer whose hub comes back with another store is told
#      (HUB_EIO), not resubscribed blindly.
set -u
. "$REPO/tests/integration/lib.sh"
. "$REPO/tests/integration/hubd_lib.sh"

hubd_setup
hubd_start
gen_dropouts 205 session
head -n 5 ids.txt | sed 's|.*|m/&.json|' >first.txt
tail -n 200 ids.txt | sed 's|.*|m/&.json|' >rest.txt

# ---- 1. a silent publisher
HUBC_IDLE_MS=3500
export HUBC_IDLE_MS
# shellcheck disable=SC2046 # one word per file
pub education@513400 $(cat first.txt)
expect_rc 0
check "the silent publisher's 5 messages are acked ($(grep -c '^ack ' "$OUT"))" \
    test "$(grep -c '^ack ' "$OUT")" -eq 5
check "hubd dropped its session (peer_gone) and it said HELLO again" \
    sh -c "grep -q 'event=peer_gone peer=education@513400' hubd.log &&
           test \$(grep -c 'event=hello peer=education@513400' hubd.log) -ge 2"

# ---- 2. a silent consumer
sub education@513429 5 3000
expect_rc 0
check "the silent consumer got the 5 deliveries ($(grep -c '^deliver ' "$OUT"))" \
    test "$(grep -c '^deliver ' "$OUT")" -eq 5
unset HUBC_IDLE_MS

# ---- 3. hubd restarted under a paced publish (slices of 4, 10 ms apart)
HUBC_TIMEOUT_MS=10000 HUBC_WINDOW=4 HUBC_PACE_MS=10 "$HUB_TOOLS/hubc_tool" publish "$URL" \
    cfg/keys/hub.pub cfg/keys education@513400 $(cat rest.txt) >pub3.out 2>&1 &
PUB=$!
sleep 0.4
hubd_stop TERM
check "hubd stopped with 0" test "$HUBD_RC" = 0
hubd_start
rc=0
wait "$PUB" || rc=$?
acked=$(grep -c '^ack ' pub3.out)
check "the publisher went on across the restart (exit $rc; $(grep -v '^ack ' pub3.out | head -n 2))" \
    test "$rc" = 0
check "all 200 acked ($acked)" test "$acked" -eq 200
check "the restart came in the middle ($(grep -c 'event=started' hubd.log) starts; $(grep -c ' duplicate' pub3.out) duplicates)" \
    test "$(grep -c 'event=started' hubd.log)" -eq 2
hubd_stop TERM
entries=$(mdb_stat -s log var/store | sed -n 's/^ *Entries: //p')
check "the store holds each message once ($entries log records)" test "$entries" = 205

# ---- 4. a waiting consumer notices a hub restart by its own heartbeats,
# and a hub with another store (restored, or new: another store_id) is
# not taken back blindly: its seqs name other messages, so dropping by
# the consumer's last seq (205) would drop new ones. hubc_recv() returns
# HUB_EIO instead, and the new store's delivery 1 stays unacknowledged.
hubd_start
HUBC_SDK_DROPS=1 "$HUB_TOOLS/hubc_tool" consume "$URL" cfg/keys/hub.pub cfg/keys \
    education@513429 1 15000 205 >cons4.out 2>&1 &
CONS=$!
sleep 1.5 # it drops (and acknowledges) 6..205, then waits
hubd_stop TERM
mv var/store var/store.old
hubd_start
pub education@513400 "m/$(head -n 1 ids.txt).json"
expect_out_has "log_seq 1"
t0=$(date +%s)
wait "$CONS"
took=$(($(date +%s) - t0))
check "the consumer gave up on the other store within its heartbeats ($took s, not its 15 s wait)" \
    test "$took" -lt 10
check "it was handed nothing of the new store ($(grep -c '^deliver ' cons4.out))" \
    test "$(grep -c '^deliver ' cons4.out)" -eq 0
hub status --config cfg --format json --endpoint education@513429
check "the new store's delivery 1 is not acknowledged" grep -q '"acked":0' "$OUT"
hubd_stop TERM
finish
