#!/bin/sh
# hub-sink end to end with a real hubd: the sample messages published, an
# endpoint's deliveries written into its inbox as JSON lines (with the
# rules, purposes and legal bases that released them, only the fields the
# rules release), rotation by size and by time, CSV with a department's own
# columns, SIGTERM, a second run that writes nothing, and bad usage.
set -u
. "$REPO/tests/integration/lib.sh"
. "$REPO/tests/integration/hubd_lib.sh"
PY=python3
CHECK=$REPO/tests/integration/sink_check.py

# sink ENDPOINT INBOX ARGS...: one run of hub-sink (output in $OUT/$ERR).
sink() {
    ep=$1
    box=$2
    shift 2
    run "$HUB_BIN/hub-sink" -c cfg -e "$ep" --inbox "$box" "$@"
}

# inbox_check DIR ENDPOINT [--with-part]: sink_check.py's verdict in $OUT.
inbox_check() {
    run "$PY" "$CHECK" "$@"
}

# deaths N: N more deaths into deaths/ (gen_deaths: each of its own
# person); they reach civil_affairs@513401 and poverty_alleviation@513401
# (the sample's hukou county is 513401).
deaths() {
    gen_deaths deaths "$(($(ls deaths 2>/dev/null | wc -l) + 1))" "$1" test >/dev/null
}

# ---- usage
run "$HUB_BIN/hub-sink" --help
expect_rc 0
expect_out_has "usage: hub-sink -e ENDPOINT --inbox DIR"
for args in "" "-e x@1" "--inbox d" "-e x@1 --inbox d --format xml" \
    "-e x@1 --inbox d --credit 0" "-e x@1 --inbox d --format csv" \
    "-e x@1 --inbox d --columns c.yaml" "-e x@1 --inbox d --bogus 1" \
    "-e x@1 --inbox d --rotate-bytes -5" "-e x@1 --inbox d extra"; do
    # shellcheck disable=SC2086 # the arguments split on purpose
    run "$HUB_BIN/hub-sink" $args
    expect_rc 2
    expect_err_lines 1
    expect_err_has "see hub-sink --help"
done

hubd_setup

# A missing key is named at once, not waited for.
sink nobody@513400 box0 --idle-exit 500
expect_rc 1
expect_err_has "nobody@513400.pub"

hubd_start
for f in "$MSGS"/*.json; do
    src=$(sed -n 's/^ *"source": "\([a-z_]*\)".*/\1/p' "$f" | head -n 1)
    pub "$src@513400" "$f"
done

# ---- JSON lines: civil affairs of the prefecture gets a disability
# certificate (its number masked), the large-bill alert derived from a
# hospitalisation (never the diagnosis) and a monitored household.
sink civil_affairs@513400 box1 --idle-exit 800
expect_rc 0
expect_err_has "civil_affairs@513400: 3 deliveries written (seq 1..3), 1 files finished"
inbox_check box1 civil_affairs@513400
expect_out_has "files 1 records 3 first 1 last 3"
run "$PY" - box1 <<'EOF'
import glob, json, sys
recs = [json.loads(l) for f in sorted(glob.glob(sys.argv[1] + "/*.jsonl")) for l in open(f)]
for r in recs:
    m = r["message"]
    print(r["seq"], r["type"], ",".join(r["rules"]), len(r["purposes"]), len(r["legal_bases"]),
          "masked=" + ",".join("%s:%s" % kv for kv in sorted(r["masked"].items())),
          "body=" + ",".join(sorted(m.get("body", {}))))
    assert m["type"] == r["type"] and m["id"] == r["id"], r
    assert len(r["purposes"]) == len(r["rules"]) == len(r["legal_bases"]) > 0, r
    assert r["ruleset"] and r["received_at"].endswith("Z"), r
    if "certificate_no" in m.get("body", {}):
        c = m["body"]["certificate_no"]
        print("certificate_no", c[:4], "masked", "*" in c and "51342819750930029642" != c)
EOF
expect_rc 0
expect_out_has "disability.certificate disability-to-civil-affairs 1 1"
expect_out_has "masked=body.certificate_no:partial"
expect_out_has "alert.poverty_risk medical-bill-alert"
expect_out_has "poverty.household_status"
expect_out_lacks "diagnosis"
expect_out_has "certificate_no 5134 masked True"
check "no diagnosis anywhere in the inbox" sh -c '! grep -q diagnosis box1/*.jsonl'

# ---- rotation by size: 3 sample deliveries and 40 deaths for
# poverty_alleviation@513401, files of at most 3000 bytes.
deaths 40
# shellcheck disable=SC2046 # one argument per file
pub health@513400 $(ls deaths/*.json)
expect_rc 0
sink poverty_alleviation@513401 box2 --rotate-bytes 3000 --credit 16 --idle-exit 800
expect_rc 0
expect_err_has "43 deliveries written (seq 1..43)"
inbox_check box2 poverty_alleviation@513401
expect_out_has "records 43 first 1 last 43"
nfiles=$(ls box2/*.jsonl | wc -l)
check "size rotation made several files ($nfiles)" test "$nfiles" -ge 5
big=$(find box2 -name '*.jsonl' -size +3000c | wc -l)
check "no file is over 3000 bytes ($big are)" test "$big" -eq 0
check "one empty part file remains" test "$(ls box2/*.part | wc -l)" -eq 1
check "the part file continues at 44" ls box2/*-000000000044.jsonl.part
check "no cause of death reaches poverty alleviation" sh -c '! grep -q cause_icd10 box2/*.jsonl'
check "no death certificate number either" sh -c '! grep -q certificate_no box2/*.jsonl'
run "$PY" -c 'import glob, json, sys
r = [json.loads(l) for f in glob.glob("box2/*.jsonl") for l in open(f)]
d = [x for x in r if x["type"] == "person.death"]
print(len(d), sorted(d[0]["message"]["body"]), d[0]["rules"])'
expect_out_has "41 ['death_date', 'reporting_source'] ['death-poverty']"
# The hub's cursor is where the inbox is.
run "$HUB_TOOLS/hubc_tool" consume "$URL" cfg/keys/hub.pub cfg/keys poverty_alleviation@513401 0 100
expect_out_has "subscribed acked 43 last 43"

# ---- a second run writes nothing and leaves the finished files alone.
(cd box2 && cksum ./*.jsonl) >before.txt
sink poverty_alleviation@513401 box2 --rotate-bytes 3000 --idle-exit 500
expect_rc 0
expect_err_has "0 deliveries written, 0 files finished, 0 redeliveries dropped, last seq 43"
(cd box2 && cksum ./*.jsonl) >after.txt
expect_same before.txt after.txt

# ---- CSV with the department's own column names (UTF-8 with a BOM);
# residence permits are not in the columns file: their rows hold the "*"
# columns, with a warning.
cat >cols.yaml <<'EOF'
"*":
  delivery.seq: 序号
  type: 消息类型
  subject.name: 姓名
  delivery.received_at: 接收时间
person.death:
  subject.citizen_id: 身份证号
  body.death_date: 死亡日期
  body.cause_icd10: 死因
  delivery.purposes: 用途
household.hukou_change:
  subject.citizen_id: 身份证号
  body.change_type: 变动类型
EOF
sink civil_affairs@513401 box3 --format csv --columns cols.yaml --idle-exit 800
expect_rc 0
expect_err_has "43 deliveries written (seq 1..43)"
expect_err_has "names no columns for person.residence_permit"
run "$PY" - box3 <<'EOF'
import csv, glob, sys
files = sorted(glob.glob(sys.argv[1] + "/civil_affairs@513401-*.csv"))
raw = open(files[0], "rb").read()
assert raw.startswith(b"\xef\xbb\xbf"), "no BOM"
rows = list(csv.reader(open(files[0], encoding="utf-8-sig", newline="")))
print("header", ",".join(rows[0]))
body = rows[1:]
print("rows", len(body), "seqs", body[0][0], "..", body[-1][0])
assert [int(r[0]) for r in body] == list(range(1, len(body) + 1))
h = rows[0]
deaths = [dict(zip(h, r)) for r in body if r[1] == "person.death"]
print("deaths", len(deaths), "dated", sum(1 for d in deaths if d["死亡日期"]),
      "with cause", sum(1 for d in deaths if d["死因"]), "purpose", deaths[0]["用途"])
EOF
expect_rc 0
expect_out_has "header 序号,消息类型,姓名,接收时间,身份证号,死亡日期,死因,用途,变动类型"
expect_out_has "rows 43 seqs 1 .. 43"
expect_out_has "deaths 41 dated 41 with cause 0 purpose 死亡人员社会救助待遇停发核查"

# A broken columns file is refused with its place.
printf 'person.death:\n  body.death_dat: 死亡日期\n' >bad.yaml
sink civil_affairs@513401 box4 --format csv --columns bad.yaml --idle-exit 500
expect_rc 1
expect_err_has "bad.yaml:2:3"
expect_err_has "did you mean 'death_date'"

# ---- rotation by time while idle; hubd restarts under the running sink
# (its SDK takes the lost session back; the sink says so); then SIGTERM: the sink
# finishes the file in hand and exits 0.
"$HUB_BIN/hub-sink" -c cfg -e poverty_alleviation@513401 --inbox box2 --rotate-seconds 1 \
    >sink.out 2>sink.err &
SINK=$!
# wait_file SUFFIX: up to 12 s for a file in box2 whose name ends so.
wait_file() {
    i=0
    while [ $i -lt 120 ] && ! ls box2/*"$1" >/dev/null 2>&1; do
        sleep 0.1
        i=$((i + 1))
    done
}
deaths 1
pub health@513400 deaths/0041.json
wait_file -000000000044.jsonl
check "a file was finished by age while the sink ran" ls box2/*-000000000044.jsonl
check "the sink is still running" kill -0 "$SINK"
hubd_stop
hubd_start
deaths 1
pub health@513400 deaths/0042.json
wait_file -000000000045.jsonl
check "after the hub's restart the sink received seq 45" ls box2/*-000000000045.jsonl
check "it said it took the session back" grep -q "lost the session.*taken back\|connecting again" sink.err
kill -TERM "$SINK"
rc=0
wait "$SINK" || rc=$?
check "SIGTERM: exit 0 (got $rc)" test "$rc" -eq 0
check "SIGTERM: the summary" grep -q "2 deliveries written (seq 44..45), 2 files finished" sink.err
inbox_check box2 poverty_alleviation@513401
expect_out_has "records 45 first 1 last 45"

# No hub: the sink says so and, with --idle-exit, gives up with status 1.
hubd_stop
sink poverty_alleviation@513401 box2 --idle-exit 1500
expect_rc 1
expect_err_has "never reached the hub"
finish
