#!/bin/sh
# hubd's timers and operator-facing edges, against a real hubd (real
# sockets, real LMDB): signed audit checkpoints every checkpoint_seconds
# while audit records accumulate, none while the head stands still, and a
# signing key made after the start taken into use by `hubctl reload`;
# retention of a century (retention_*_days may reach back before 1970)
# purging nothing across a restart; /metrics and /healthz over HTTP with
# their counters moving as messages are published, refused and dropped; a
# reload while a consumer is connected, and a rewind it gets at once;
# malformed admin requests answered with a clean error (or ignored) while
# hubd keeps serving publishes; the dedup window's purge.
set -u
. "$REPO/tests/integration/lib.sh"
. "$REPO/tests/integration/hubd_lib.sh"

PY=/usr/bin/python3
EP=education@513429 # an endpoint the dropout reaches
hubd_setup
MPORT=$((PORT - 10000)) # 11000-21999: below the ephemeral range, apart from hubd's
cat >>cfg/hub.yaml <<EOF
checkpoint_seconds: 1
metrics: "127.0.0.1:$MPORT"
retention_messages_days: 36500
retention_audit_days: 36500
EOF
ADMIN=ipc://$PWD/var/store/admin.sock

# mk ID FILE: the dropout message with its own id.
mk() {
    sed -e "s/\"id\": \"[0-9a-f]*\"/\"id\": \"$1\"/" \
        -e 's/"change_type": "[a-z_]*"/"change_type": "dropout"/' \
        "$MSGS/student.enrolment_change.json" >"$2"
}

# http URL: prints the status code, then the body.
cat >fetch.py <<'EOF'
import sys, urllib.error, urllib.request
try:
    r = urllib.request.urlopen(sys.argv[1], timeout=5)
    code, body = r.status, r.read()
except urllib.error.HTTPError as e:
    code, body = e.code, e.read()
print(code)
sys.stdout.write(body.decode())
EOF
http() {
    run "$PY" fetch.py "http://127.0.0.1:$MPORT$1"
}

# metric NAME: its value in the last /metrics answer ($OUT), or "none".
metric() {
    awk -v n="$1" '$1 == n { v = $2 } END { print v == "" ? "none" : v }' "$OUT"
}

# wait_metric NAME VALUE: polls /metrics (a snapshot a second) until NAME
# is VALUE, for at most 5 s; NAME's last value in $GOT.
wait_metric() {
    i=0
    while [ $i -lt 25 ]; do
        http /metrics
        GOT=$(metric "$1")
        [ "$GOT" = "$2" ] && return 0
        sleep 0.2
        i=$((i + 1))
    done
    return 1
}


# checkpoints: how many checkpoints the store holds (mdb_dump prints each
# key and each value on a line of its own starting with a space).
checkpoints() {
    echo $(($(mdb_dump -s checkpoint var/store | grep -c '^ ') / 2))
}

more_checkpoints_than() {
    test "$(checkpoints)" -gt "$1"
}

# ---------------------------------------------------------------- metrics
hubd_start
check "without a signing key, hubd says checkpoints are off" \
    grep -q "event=audit_checkpoints_off" hubd.log
check "the metrics server came up" wait_metric hub_ingest_acked_total 0
http /healthz
expect_out_has "200"
expect_out_has "ok"
http /nowhere
expect_out_has "404"
mk a2000000000000000000000000000001 m1.json
mk a2000000000000000000000000000002 m2.json
mk a2000000000000000000000000000003 m3.json
pub education@513400 m1.json m2.json m3.json
expect_rc 0
check "the acks are counted" wait_metric hub_ingest_acked_total 3
check "$EP's queue depth is 3" wait_metric "hub_queue_depth{endpoint=\"$EP\"}" 3
check "received counts the publishes" test "$(metric hub_ingest_received_total)" = 3
printf '\223\001\002' >garbage.bin
pub education@513400 garbage.bin garbage.bin
expect_out_has "malformed"
check "the dead letters in the store are counted" wait_metric hub_dead_letters 2
check "the malformed NACKs are counted" \
    test "$(metric 'hub_ingest_nacked_total{code="malformed"}')" = 2
hub status --format json --config cfg
expect_rc 0
per_s=$(sed -n 's/.*"per_s": *\([0-9.e+-]*\).*/\1/p' "$OUT")
check "small batches were committed by the main thread (writer_inline_max: 64)" \
    grep -Eq '"commits": *\{"main": *[1-9][0-9]*, *"writer": *0\}' "$OUT"
check "status: ingest per_s is above 0 and at most 3 (got '$per_s')" \
    "$PY" -c "import sys; sys.exit(not 0 < float('$per_s') <= 3)"
# Both dead letters dropped in one request, a missing one and a repeat
# among them.
hub dlq drop 1 1 2 99 --config cfg
expect_rc 1
expect_out_has "dropped 2 of 4 dead letters (the others were not there)"
check "the dead-letter gauge follows the drop" wait_metric hub_dead_letters 0

# ------------------------------------------- retention of a century: nothing goes
hub audit verify --config cfg
expect_rc 0
records=$(sed -n 's/^ok: \([0-9]*\) records.*/\1/p' "$OUT")
check "the three messages left audit records ($records)" test "${records:-0}" -ge 3
hubd_stop TERM
hubd_start
# Retention runs in the first tick after a start, right after the first
# metrics snapshot; an admin request answered after that snapshot was
# answered after the retention too (one thread does both, in that order).
check "the first tick after the restart came" wait_metric hub_ingest_acked_total 0
hub status --config cfg
expect_out_has "hubd: running since"
check "a century of retention purged nothing" sh -c '! grep -q "event=retention" hubd.log'
hub audit verify --config cfg
expect_rc 0
expect_out_has "ok: $records records"
sub "$EP" 3
expect_out_has "deliver 3 "

# ---------------------------------------------------------------- checkpoints
check "no checkpoint without a key" test "$(checkpoints)" -eq 0
run "$HUBCTL" keygen --sign-key cfg/keys/audit.sign
expect_rc 0
hub reload --config cfg
expect_rc 0
check "the reload took the new key into use: a checkpoint came" within more_checkpoints_than 0
hub audit verify --config cfg
expect_rc 0
head=$(sed -n 's/^ok: [0-9]* records, [0-9]* checkpoints, head \([0-9]*\)\/.*/\1/p' "$OUT")
check "the head $head is signed" \
    grep -q "last checkpoint: record $head," "$OUT"
n1=$(checkpoints)
sleep 2.2
check "no new checkpoint while the head stands still ($n1)" test "$(checkpoints)" -eq "$n1"
mk a2000000000000000000000000000004 m4.json
pub education@513400 m4.json
expect_rc 0
check "new audit records brought a new checkpoint" within more_checkpoints_than "$n1"
n2=$(checkpoints)
hub audit verify --config cfg
expect_rc 0
expect_out_has "$n2 checkpoints"
head2=$(sed -n 's/^ok: [0-9]* records, [0-9]* checkpoints, head \([0-9]*\)\/.*/\1/p' "$OUT")
check "the new head $head2 is past $head and signed" test "${head2:-0}" -gt "${head:-0}"
expect_out_has "last checkpoint: record $head2,"

# ------------------------------------ a consumer through a reload and a rewind
HUBC_TIMEOUT_MS=5000 "$HUB_TOOLS/hubc_tool" consume "$URL" cfg/keys/hub.pub cfg/keys "$EP" \
    100 4000 >consumer.out 2>&1 &
CONSUMER=$!
i=0
while [ $i -lt 100 ] && [ "$(grep -c "event=subscribed peer=$EP" hubd.log)" -lt 2 ]; do
    sleep 0.05
    i=$((i + 1))
done
hub reload --config cfg
expect_rc 0
hub status --format json --endpoint "$EP" --config cfg
expect_out_has '"consumers":1'
hub cursor rewind --endpoint "$EP" --to 2 --config cfg
expect_rc 0
# Its oplog record is canonical msgpack like every record: keys in order.
mdb_dump -p -s oplog var/store >oplog.txt
check "the rewind's oplog detail has its keys in order" \
    grep -q 'detail.*before.*endpoint.*education@513429.*to.*seq' oplog.txt
mk a2000000000000000000000000000005 m5.json
pub education@513400 m5.json
expect_rc 0
wait $CONSUMER
check "the connected consumer got delivery 4" grep -q "^deliver 4 " consumer.out
check "it got the replay of 3 at once (processed already: dropped)" grep -q "^drop 3 " consumer.out
check "it got delivery 5 after the reload" grep -q "^deliver 5 " consumer.out

# ---------------------------------------------------------------- bad admin requests
cat >admin.py <<'EOF'
import sys, msgpack, zmq

ctx = zmq.Context.instance()
url = sys.argv[1]
ok = {"user": "tester"}

def req(name, frame, wait_ms=2000):
    s = ctx.socket(zmq.REQ)
    s.setsockopt(zmq.LINGER, 0)
    s.setsockopt(zmq.RCVTIMEO, wait_ms)
    s.connect(url)
    s.send(frame)
    try:
        r = msgpack.unpackb(s.recv(), raw=False)
        word = "ok" if r.get("ok") is True else r.get("code")
        print(name, word, "" if r.get("ok") is True or r.get("error") else "(no error sentence)")
        if name == "retry_missing":
            print(name, "outcomes", ",".join(x["outcome"] for x in r["results"]))
        if name == "drop_many":
            print(name, "dropped", r["dropped"])
    except zmq.Again:
        print(name, "noreply")
    s.close()

def dealer(name, frames):
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(url)
    s.send_multipart(frames)
    print(name, "reply" if s.poll(1000) else "noreply")
    s.close()

def m(d):
    return msgpack.packb(dict(ok, **d))

deep = b"\x83\xa1a" + b"\x91" * 50000 + b"\xc0" + msgpack.packb("cmd") + msgpack.packb("status") \
    + msgpack.packb("user") + msgpack.packb("tester")
req("garbage", b"\xc1\xc1 not msgpack")
req("empty", b"")
req("array", msgpack.packb([1, 2, 3]))
req("no_cmd", msgpack.packb(ok))
req("cmd_int", m({"cmd": 5}))
req("cmd_long", m({"cmd": "x" * 5000}))
req("no_user", msgpack.packb({"cmd": "status"}))
req("user_newline", msgpack.packb({"cmd": "status", "user": "a\nts=x level=error"}))
req("unknown", m({"cmd": "shutdown"}))
req("huge_seqs", m({"cmd": "dlq.drop", "seqs": list(range(100000))}))
req("seqs_types", m({"cmd": "dlq.retry", "seqs": ["1", -1]}))
req("seqs_empty", m({"cmd": "dlq.retry", "seqs": []}))
req("seqs_scalar", m({"cmd": "dlq.drop", "seqs": 5}))
req("rewind_types", m({"cmd": "cursor.rewind", "endpoint": 5, "to": "0"}))
req("rewind_float", m({"cmd": "cursor.rewind", "endpoint": "education@513429", "to": 1.0}))
req("rewind_negative", m({"cmd": "cursor.rewind", "endpoint": "education@513429", "to": -1}))
req("rewind_nul", m({"cmd": "cursor.rewind", "endpoint": "education@513429\0x", "to": 0}))
req("rewind_nobody", m({"cmd": "cursor.rewind", "endpoint": "nobody@1", "to": 0}))
req("rewind_beyond", m({"cmd": "cursor.rewind", "endpoint": "education@513429", "to": 2**64 - 1}))
req("rewind_unwritten", m({"cmd": "cursor.rewind", "endpoint": "health@513401", "to": 0}))
req("lying_map", b"\xdf\xff\xff\xff\xff\xa3cmd")
req("deep", deep)
req("retry_missing", m({"cmd": "dlq.retry", "seqs": [999999, 2**64 - 1]}))
req("drop_many", m({"cmd": "dlq.drop", "seqs": list(range(1000, 5096))}))
req("checkpoint", m({"cmd": "checkpoint"}))
req("oversized", m({"cmd": "status", "pad": b"x" * (2 << 20)}), 1000)
dealer("dealer_3_frames", [b"", b"x", b"y"])
dealer("dealer_no_delimiter", [m({"cmd": "status"})])
dealer("dealer_enveloped", [b"", m({"cmd": "status"})])
req("status_after", m({"cmd": "status"}))
EOF
run "$PY" admin.py "$ADMIN"
expect_rc 0
cp "$OUT" admin.out
for c in garbage empty array no_cmd cmd_int cmd_long no_user user_newline huge_seqs seqs_types \
    seqs_empty seqs_scalar rewind_types rewind_float rewind_negative rewind_nul lying_map; do
    check "admin: $c gets bad_request" grep -qx "$c bad_request " admin.out
done
check "admin: an unknown cmd gets unknown_cmd" grep -qx "unknown unknown_cmd " admin.out
check "admin: an endpoint not configured gets not_found" grep -qx "rewind_nobody not_found " admin.out
check "admin: a rewind past the last gets invalid" grep -qx "rewind_beyond invalid " admin.out
check "admin: a rewind of an endpoint never written gets invalid" \
    grep -qx "rewind_unwritten invalid " admin.out
check "admin: a deeply nested value is skipped, not recursed into" grep -qx "deep ok " admin.out
check "admin: missing dead letters are reported missing" \
    grep -qx "retry_missing outcomes missing,missing" admin.out
check "admin: 4096 missing dead letters: none dropped" grep -qx "drop_many dropped 0" admin.out
check "admin: checkpoint answers" grep -qx "checkpoint ok " admin.out
check "admin: a message over 1 MiB is not read" grep -qx "oversized noreply" admin.out
check "admin: a DEALER's 3 frames are ignored" grep -qx "dealer_3_frames noreply" admin.out
check "admin: a DEALER without the empty delimiter is ignored" \
    grep -qx "dealer_no_delimiter noreply" admin.out
check "admin: a DEALER with the delimiter is answered" grep -qx "dealer_enveloped reply" admin.out
check "admin: status still answers afterwards" grep -qx "status_after ok " admin.out
check "hubd is still running" kill -0 "$HUBD_PID"
check "the control characters of a user never reached the log" \
    sh -c '! grep -q "^ts=x level=error" hubd.log'
mk a2000000000000000000000000000006 m6.json
pub education@513400 m6.json
expect_rc 0
expect_out_has "ack "
hub status --config cfg
expect_rc 0
expect_out_has "hubd: running since"

hubd_stop TERM
check "hubd stopped cleanly" test "$HUBD_RC" -eq 0

# ---------------------------------------------------------------- the dedup window
# Entries older than dedup_days are forgotten, a slice at a time, by the
# writer thread with the batches. Age every entry by rewriting its
# received_ms (mdb_dump / mdb_load, as an operator's tools see the store),
# then start hubd: it purges them, and m1 is taken as new again.
mdb_dump -s dedup_seq var/store >dedup.txt
# received_ms is a uint64 (0xcf and 8 bytes): make it 1 ms after 1970.
sed 's/72656365697665645f6d73cf[0-9a-f]\{16\}/72656365697665645f6d73cf0000000000000001/' \
    dedup.txt >dedup_old.txt
check "the dump holds dedup entries to age" grep -q 72656365697665645f6d73cf0000000000000001 \
    dedup_old.txt
run mdb_load -s dedup_seq -f dedup_old.txt var/store
expect_rc 0
hubd_start
check "hubd purged the aged dedup entries" within grep -q "event=dedup_purged entries=" hubd.log
pub education@513400 m1.json
expect_rc 0
expect_out_has "ack m1.json log_seq"
expect_out_lacks "duplicate"
pub education@513400 m1.json
expect_out_has "duplicate"
check "the dedup window's memory holds m1 alone" wait_metric hub_dedup_ids 1
hubd_stop TERM
check "hubd stopped cleanly again" test "$HUBD_RC" -eq 0
finish
