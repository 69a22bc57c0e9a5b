#!/bin/sh
# The audit as an auditor uses it, against a real hubd: a person's citizen
# ID in, the subject-access report out, every delivery of that person's
# data accounted for (compared with what the consumers received) and
# nothing else; queries by subject paged, each one in the operations log;
# then the store attacked with LMDB's own tools while hubd is stopped (one
# record altered, one removed, the tail cut off with the head rewritten)
# and each attack found and located by `hubctl audit verify`; an evidence
# bundle checked offline, and a forged one refused.
set -u
. "$REPO/tests/integration/lib.sh"
. "$REPO/tests/integration/hubd_lib.sh"

P=513431201001050019 # the person the auditor asks about
hubd_setup
run "$HUBCTL" keygen --sign-key cfg/keys/audit.sign
expect_rc 0
expect_out_has "cfg/keys/audit.sign.pub"
check "the signing key is mode 600" test "$(stat -c %a cfg/keys/audit.sign)" = 600
check "the secret is 128 hex digits" grep -Eqx '[0-9a-f]{128}' cfg/keys/audit.sign
check "the public key is 64 hex digits" grep -Eqx '[0-9a-f]{64}' cfg/keys/audit.sign.pub
run "$HUBCTL" keygen --sign-key cfg/keys/audit.sign
expect_rc 1
expect_err_has "never overwritten"
printf 'checkpoint_seconds: 1\n' >>cfg/hub.yaml
hubd_start

audit() {
    run "$HUBCTL" audit "$@" --config cfg
}

# ---------------------------------------------------------------- data
# Two messages about P besides the shipped death: a dropout and a
# suspension from school. Everything else is about other people, several
# of them reaching the same endpoints.
mk_student() { # ID CHANGE FILE
    sed -e "s/\"id\": \"[0-9a-f]*\"/\"id\": \"$1\"/" \
        -e "s/51342920140302046X/$P/g" -e 's/"2014-03-02"/"2010-01-05"/' \
        -e 's/"sex": "2"/"sex": "1"/' -e 's/"513429"/"513431"/' \
        -e 's/513429001207/513431000123/' \
        -e "s/\"change_type\": \"[a-z_]*\"/\"change_type\": \"$2\"/" \
        "$MSGS/student.enrolment_change.json" >"$3"
}
mk_student a1000000000000000000000000000001 dropout p_dropout.json
mk_student a1000000000000000000000000000002 suspend p_suspend.json
for f in "$MSGS"/*.json p_dropout.json p_suspend.json; do
    case $f in */alert.poverty_risk.json) continue ;; esac # derived only: nobody publishes it
    src=$(sed -n 's/^  "source": "\([a-z_]*\)".*/\1/p' "$f")
    pub "$src@513400" "$f"
    check "published $(basename "$f")" grep -q "^ack " "$OUT"
done
P_IDS="9f2c4e0a1b7d4c3e8a6f0b1c2d3e4f50 a1000000000000000000000000000001 a1000000000000000000000000000002"

# Everything the audit holds, and what each endpoint receives.
audit query --limit 100000 --format json
expect_rc 0
cp "$OUT" all.json
python3 - all.json >endpoints.txt <<'EOF'
import json, sys, collections
recs = json.load(open(sys.argv[1]))["records"]
for ep, n in sorted(collections.Counter(r["endpoint"] for r in recs).items()):
    print(ep, n)
EOF
check "deliveries were audited" test -s endpoints.txt
: >received.txt
while read -r ep n; do
    sub "$ep" "$n" 1500
    sed -n "s/^deliver \([0-9]*\) \([0-9a-f]*\) [^ ]* \([0-9a-f]*\)$/$ep \1 \2 \3/p" "$OUT" >>received.txt
done <endpoints.txt

# ---------------------------------------------------------------- the report
audit report --subject "$P" --format json
expect_rc 0
cp "$OUT" report.json
run python3 - all.json report.json received.txt "$P_IDS" <<'EOF'
import json, sys
recs = json.load(open(sys.argv[1]))["records"]
report = json.load(open(sys.argv[2]))
received = {tuple(l.split()) for l in open(sys.argv[3]) if l.strip()}
p_ids = set(sys.argv[4].split())
audited = {(r["endpoint"], str(r["eseq"]), r["message_id"], r["origin_id"]) for r in recs}
assert received == audited, ("consumers and audit differ", received ^ audited)
assert any(r[2] != r[3] for r in received), "no derived delivery (its own id) was received"
received = {r[:3] for r in received}
want = {(r["endpoint"], str(r["eseq"]), r["message_id"]) for r in recs if r["origin_id"] in p_ids}
got = {(r["endpoint"], str(r["eseq"]), r["message_id"]) for r in report["records"]}
assert got == want, ("report", sorted(got), "expected", sorted(want))
assert len(want) >= 6 and len(recs) > len(want) + 10, (len(want), len(recs))
assert {r["origin_id"] for r in report["records"]} == p_ids
assert report["subject"] == "513431********0019" and report["disclosures"] == len(want)
for r in report["records"]:
    assert r["recipient"]["zh"].endswith("局") and r["rules"][0]["purpose"], r
    assert all(f["path"] and f["mask"] for f in r["fields"]), r
print("report:", len(got), "of", len(recs), "deliveries; consumers received", len(received))
EOF
expect_rc 0
expect_out_has "report:"

audit report --subject "$P"
expect_rc 0
expect_out_has "个人信息提供记录查阅报告 / Subject access report"
expect_out_has "昭觉县教育局 / Education Bureau, Zhaojue County (education@513431)"
expect_out_has "目的 / Purpose: 控辍保学"
expect_out_has "法律依据 / Legal basis: 《中华人民共和国义务教育法》"
expect_out_has "学生姓名 / Name of the student (subject.name)"
expect_out_lacks "$P"
audit report --subject "$P" --lang en --format html -o report.html
expect_rc 0
check "the HTML report is a whole document" grep -q '</html>' report.html
check "the HTML report is in English only" sh -c '! grep -q "昭觉县教育局" report.html'
check "names in the HTML report are escaped" grep -q 'Bureau, Zhaojue County' report.html
audit report --subject 513431201001050018
expect_rc 1
expect_err_has "check character"

# ---------------------------------------------------------------- paged queries
audit query --subject "$P" --limit 100 --format json
cp "$OUT" p_all.json
after=0
: >pages.txt
pages=0
while :; do
    audit query --subject "$P" --limit 3 --after "$after" --format json
    expect_rc 0
    pages=$((pages + 1))
    python3 -c 'import json,sys; [print(r["seq"]) for r in json.load(open(sys.argv[1]))["records"]]' \
        "$OUT" >>pages.txt
    next=$(python3 -c 'import json,sys; n=json.load(open(sys.argv[1]))["next_after"]; print(n or "")' "$OUT")
    [ -n "$next" ] && [ $pages -lt 20 ] || break
    after=$next
done
python3 -c 'import json,sys; [print(r["seq"]) for r in json.load(open(sys.argv[1]))["records"]]' \
    p_all.json >p_all.txt
expect_same pages.txt p_all.txt
check "the pages were of 3" test "$pages" -eq $(( ($(wc -l <p_all.txt) + 2) / 3 ))
audit query --subject "$P" --limit 3
expect_out_has "SEQ  TIME"
expect_out_has "subject.citizen_id"
expect_out_has "more after seq"
audit query --subject "$P" --endpoint "education@513431" --type student.enrolment_change --format csv
expect_rc 0
check "the filtered CSV has the two school changes" test "$(grep -c 'education@513431,' "$OUT")" -eq 2
audit query --source health --since 2020-01-01 --until 2099-01-01 --limit 1
expect_rc 0
expect_out_has "health"
audit query --help
expect_rc 0
expect_out_has "--subject CITIZEN_ID"
audit query --format xml
expect_rc 2

# ---------------------------------------------------------------- checkpoints, verify, export
sleep 1.5 # a checkpoint of the head (checkpoint_seconds: 1)
audit verify
expect_rc 0
expect_out_has "ok: "
head_seq=$(sed -n 's/^ok: \([0-9]*\) records.*/\1/p' "$OUT")
check "hubd signed checkpoints" grep -q "last checkpoint: record $head_seq" "$OUT"
audit export --subject "$P" -o p_bundle.jsonl
expect_rc 0
expect_out_has "p_bundle.jsonl: "
audit export -o all_bundle.jsonl
expect_rc 0

# Every reading of the audit is in the operations log: who, what, and the
# subject only as its keyed hash.
mdb_dump -p -s oplog var/store >oplog.txt
queries=$(grep -c 'audit\.query' oplog.txt)
check "each of the $((pages + 5)) queries left an oplog record ($queries)" test "$queries" -eq $((pages + 5))
check "each report left an oplog record" test "$(grep -c 'audit\.report' oplog.txt)" -eq 3
check "each export left an oplog record" test "$(grep -c 'audit\.export' oplog.txt)" -eq 2
check "the oplog names the OS user" grep -q "$(id -un)" oplog.txt
check "the oplog never holds the citizen ID" sh -c "! grep -q $P oplog.txt"
hubd_stop

# ---------------------------------------------------------------- attacks, with mdb_dump/mdb_load
mdb_dump -a var/store >store.dump
# edit.py CMD SEQ...: rewrites the dump of every database on stdin.
#   alter SEQ   one byte of audit record SEQ changed
#   remove SEQ  audit record SEQ left out
#   cut SEQ     the records after SEQ left out and the head rewritten to SEQ
cat >edit.py <<'EOF'
import sys
cmd, seq = sys.argv[1], int(sys.argv[2])
lines = sys.stdin.read().split("\n")
out, db, i, recs = [], None, 0, {}
while i < len(lines):
    l = lines[i]
    if l.startswith("database="):
        db = l[len("database="):]
    if db and l.startswith(" ") and i + 1 < len(lines) and lines[i + 1].startswith(" "):
        k, v = l[1:], lines[i + 1][1:]
        if db == "audit":
            recs[int(k, 16)] = v
            n = int(k, 16)
            if cmd == "alter" and n == seq:
                pos = len(v) // 2 & ~1  # a byte in the middle: one hex pair changed
                b = int(v[pos:pos + 2], 16) ^ 0x01
                v = v[:pos] + "%02x" % b + v[pos + 2:]
            if (cmd == "remove" and n == seq) or (cmd == "cut" and n > seq):
                i += 2
                continue
        if db == "meta" and k == "audit_head".encode().hex() and cmd == "cut":
            raw = bytes.fromhex(recs[seq])
            h = raw[raw.index(b"\xa4hash\xc4\x20") + 7:][:32]
            s = seq.to_bytes(8, "big").lstrip(b"\0") or b"\0"
            enc = bytes([s[0]]) if seq < 128 else bytes([{1: 0xcc, 2: 0xcd}[len(s)]]) + s
            v = (b"\x82\xa4hash\xc4\x20" + h + b"\xa3seq" + enc).hex()
        out += [" " + k, " " + v]
        i += 2
        continue
    out.append(l)
    i += 1
sys.stdout.write("\n".join(out))
EOF
reload_store() { # DUMP: the store rebuilt from it, as an outside tool would
    rm -f var/store/data.mdb var/store/lock.mdb
    # (mdb_load reads its own dumps but warns that it ignores db_pagesize)
    mdb_load -f "$1" var/store 2>mdb_load.err || fail "mdb_load $1: $(cat mdb_load.err)"
}

python3 edit.py alter 5 <store.dump >altered.dump
reload_store altered.dump
audit verify
expect_rc 1
expect_out_has "broken: audit record 5 is broken"
expect_out_has "first bad record: 5"

python3 edit.py remove 7 <store.dump >removed.dump
reload_store removed.dump
audit verify
expect_rc 1
expect_out_has "audit record 7 is broken: a gap: the record before it is missing"
expect_out_has "first bad record: 7"
audit verify --format json
check "verify --format json names record 7" grep -q '"bad":7' "$OUT"

cut=$((head_seq - 4))
python3 edit.py cut "$cut" <store.dump >cut.dump
reload_store cut.dump
audit verify
expect_rc 1
expect_out_has "(the tail was cut off)"
expect_out_has "first bad record: $((cut + 1))"

reload_store store.dump
audit verify
expect_rc 0
expect_out_has "ok: $head_seq records"
run sh -c "'$HUBCTL' audit verify --config cfg --pub-key cfg/keys/hub.pub"
expect_rc 1
expect_err_has "not an Ed25519 public key"

# ---------------------------------------------------------------- the bundle, offline
mv var/store var/store.away
run "$HUBCTL" audit verify --bundle p_bundle.jsonl --pub-key cfg/keys/audit.sign.pub
expect_rc 0
expect_out_has "ok: "
expect_out_has "selected"
expect_out_lacks "warning"
run "$HUBCTL" audit verify --bundle all_bundle.jsonl
expect_rc 0
expect_out_has "ok: $head_seq records ($head_seq selected)"
python3 - p_bundle.jsonl forged.jsonl >forged_seq.txt <<'EOF'
import base64, json, sys
lines = open(sys.argv[1]).read().splitlines()
for i, l in enumerate(lines):
    j = json.loads(l)
    if j.get("selected"):
        raw = bytearray(base64.b64decode(j["raw"]))
        raw[raw.index(b"endpoint") + 10] ^= 0x01  # the recipient's name, changed
        j["raw"] = base64.b64encode(bytes(raw)).decode()
        lines[i] = json.dumps(j, ensure_ascii=False)
        print(j["seq"])
        break
open(sys.argv[2], "w").write("\n".join(lines) + "\n")
EOF
forged_seq=$(cat forged_seq.txt)
run "$HUBCTL" audit verify --bundle forged.jsonl
expect_rc 1
expect_out_has "first bad record: $forged_seq"
# The released fields and purposes live in the disclosure descriptors the
# records name (store format 3): one with a field's masking changed, or
# one left out, is refused.
python3 - p_bundle.jsonl desc_forged.jsonl desc_missing.jsonl <<'EOF'
import base64, json, sys
lines = open(sys.argv[1]).read().splitlines()
forged, missing = list(lines), list(lines)
for i, l in enumerate(lines):
    j = json.loads(l)
    if "disclosure" in j:
        raw = bytearray(base64.b64decode(j["raw"]))
        at = raw.index(b"none")  # a field released unmasked ...
        raw[at:at + 4] = b"hash"  # ... said to have been hashed
        j["raw"] = base64.b64encode(bytes(raw)).decode()
        forged[i] = json.dumps(j, ensure_ascii=False)
        del missing[i]
        break
open(sys.argv[2], "w").write("\n".join(forged) + "\n")
open(sys.argv[3], "w").write("\n".join(missing) + "\n")
EOF
check "the bundle holds disclosure descriptors" grep -q '"disclosure"' p_bundle.jsonl
run "$HUBCTL" audit verify --bundle desc_forged.jsonl
expect_rc 1
expect_out_has "disclosure descriptor was altered"
run "$HUBCTL" audit verify --bundle desc_missing.jsonl
expect_rc 1
expect_out_has "names a disclosure descriptor the bundle does not hold"
run "$HUBCTL" audit verify --bundle p_bundle.jsonl --pub-key cfg/keys/audit.sign.pub --format json
expect_rc 0
check "the bundle verdict in JSON" grep -q '"ok":true' "$OUT"
mv var/store.away var/store

finish
