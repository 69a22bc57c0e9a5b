# hub-adapter over the sample population (tools/genpop.py, docs/SAMPLE_DATA.md):
# for every department export and its mapping in config/adapters/, a dry run
# gives exactly the manifest's counts (published per message type,
# duplicate, skipped, rejected per reason), every rejected (line, reason) of
# the manifest is in the rejected-records report and nothing else is, and the
# scenario records are published.
set -eu
. "$REPO/tests/integration/lib.sh"

ADAPTER=$HUB_BIN/hub-adapter
POP=$PWD/pop

if [ ! -x "$ADAPTER" ]; then
    fail "no executable $ADAPTER (make $ADAPTER)"
    finish
fi

# ---------------------------------------------------------------------------
# The population: 2,000 people, 5 % of the records with a defect.

run python3 "$REPO/tools/genpop.py" --people 2000 --seed 5 --defect-rate 0.05 --out "$POP"
expect_rc 0
expect_err_has "genpop: 2000 people"
expect_file "$POP/manifest.json"

# Deterministic: the same arguments give the same bytes.
run python3 "$REPO/tools/genpop.py" --people 2000 --seed 5 --defect-rate 0.05 --out pop2 --quiet
expect_rc 0
check "genpop gives the same bytes twice" diff -r "$POP" pop2

# ---------------------------------------------------------------------------
# One dry run per export. The comparison is in Python (JSON on both sides).

cat >compare.py <<'EOF'
"""compare.py MANIFEST INDEX STDOUT REPORT: one export's dry run against the
manifest. Prints what differs; exit status 1 when anything does."""
import csv
import json
import sys

man = json.load(open(sys.argv[1], encoding="utf-8"))
exp = man["exports"][int(sys.argv[2])]
bad = []

messages, rejected, summary = [], [], None
for n, line in enumerate(open(sys.argv[3], encoding="utf-8"), 1):
    if not line.strip():
        continue
    try:
        obj = json.loads(line)
    except ValueError as e:
        bad.append("stdout line %d is not JSON: %s" % (n, e))
        continue
    if "dry_run" in obj:
        summary = obj
    elif isinstance(obj.get("rejected"), dict):
        rejected.append(obj["rejected"])
    else:
        messages.append(obj)
if summary is None:
    print("no summary line in the dry run's output")
    sys.exit(1)

def want(what, got, expected):
    if got != expected:
        bad.append("%s: got %r, the manifest says %r" % (what, got, expected))

want("published", summary["published"], sum(exp["published"].values()))
want("duplicate", summary["duplicate"], exp["duplicate"])
want("skipped", summary["skipped"], exp["skipped"])
want("rejected", summary["rejected"], sum(exp["rejected"].values()))
want("rejected per reason", dict(sorted(summary["reasons"].items())), exp["rejected"])
per_type = {}
for m in messages:
    per_type[m["type"]] = per_type.get(m["type"], 0) + 1
    if m.get("source") != exp["department"]:
        bad.append("message %s has source %r" % (m.get("id"), m.get("source")))
want("published per type", dict(sorted(per_type.items())), exp["published"])
want("distinct message ids", len({m["id"] for m in messages}), len(messages))

# The report: UTF-8 with a BOM, file,line,column,value,reason,message.
with open(sys.argv[4], encoding="utf-8", newline="") as f:
    head = f.read(1)
    if head != "\ufeff":
        bad.append("the report does not start with a BOM")
    rows = list(csv.reader(f))
if not rows or rows[0] != ["file", "line", "column", "value", "reason", "message"]:
    bad.append("the report's header is %r" % (rows[:1],))
report = {(int(r[1]), r[4]) for r in rows[1:] if len(r) >= 6}
columns = {(int(r[1]), r[4]): r[2] for r in rows[1:] if len(r) >= 6}
expected = {(r["line"], r["reason"]) for r in exp["rejects"]}
for r in exp["rejects"]:
    got = columns.get((r["line"], r["reason"]))
    if got is not None and got != r["column"]:
        bad.append("line %d: the report blames column %r, not %r" % (r["line"], got, r["column"]))
for line, reason in sorted(expected - report):
    bad.append("line %d: not reported as %s" % (line, reason))
for line, reason in sorted(report - expected):
    bad.append("line %d: reported as %s, which the manifest does not expect" % (line, reason))
want("report rows", len(rows) - 1, len(exp["rejects"]))
want("rejected lines on stdout", sorted((r["line"], r["reason"]) for r in rejected),
     sorted(expected))

# The scenario records of this file are published, with their subject.
for s in man["scenarios"]:
    if s["file"] != exp["file"]:
        continue
    if any(r["line"] == s["line"] for r in exp["rejects"]):
        bad.append("scenario %s (line %d) is expected rejected" % (s["scenario"], s["line"]))
    ids = {m.get("subject", {}).get("citizen_id") for m in messages if m["type"] == s["type"]}
    ids |= {m.get("body", {}).get("mother_citizen_id") for m in messages if m["type"] == s["type"]}
    if s["citizen_id"] not in ids:
        bad.append("scenario %s: no %s message about %s" % (s["scenario"], s["type"],
                                                             s["citizen_id"]))

for b in bad:
    print("%s: %s" % (exp["file"], b))
sys.exit(1 if bad else 0)
EOF

exports=$(python3 -c '
import json, sys
for i, e in enumerate(json.load(open(sys.argv[1], encoding="utf-8"))["exports"]):
    print(i, e["mapping"], e["file"])
' "$POP/manifest.json")

count=0
printf '%s\n' "$exports" >exports.txt
while read -r i mapping file; do
    count=$((count + 1))
    check "the mapping $mapping exists" test -f "$REPO/$mapping"
    run "$ADAPTER" --dry-run --format json -c "$REPO/config" -m "$REPO/$mapping" \
        --rejected "report$i.csv" "$POP/$file"
    expect_rc 0
    cp "$OUT" "out$i.jsonl"
    check "$file: the dry run matches the manifest" \
        python3 compare.py "$POP/manifest.json" "$i" "out$i.jsonl" "report$i.csv"
done <exports.txt
check "nine department exports, one per mapping file" test "$count" -eq 9
for m in "$REPO"/config/adapters/*.yaml; do
    check "$m is used by an export of the manifest" grep -q "config/adapters/${m##*/}" exports.txt
done

# Every reason a defect of SAMPLE_DATA.md must produce occurs at least once.
for reason in scientific_notation check_char bad_value bad_money; do
    check "some record is rejected with $reason" grep -q "\"$reason\"" "$POP/manifest.json"
done
check "some record is a duplicate across 15/18-digit IDs" \
    python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["totals"]["duplicate"] == 0)' \
    "$POP/manifest.json"

# ---------------------------------------------------------------------------
# A clean export (rate 0): everything is published but the corrections
# (skipped); reasons with line breaks included (flattened to one line).

run python3 "$REPO/tools/genpop.py" --people 500 --seed 9 --defect-rate 0 --out clean --quiet
expect_rc 0
check "a clean population has no duplicates and no rejects" \
    python3 -c '
import json, sys
t = json.load(open(sys.argv[1]))["totals"]
sys.exit(not (t["duplicate"] == 0 and t["rejected"] == {}))' clean/manifest.json
python3 -c '
import json, sys
for e in json.load(open(sys.argv[1], encoding="utf-8"))["exports"]:
    print(e["mapping"], e["file"])
' clean/manifest.json >clean.txt
while read -r mapping file; do
    run "$ADAPTER" --dry-run --format json -c "$REPO/config" -m "$REPO/$mapping" "clean/$file"
    expect_rc 0
    expect_out_has '"duplicate":0,'
    expect_out_has '"rejected":0,'
done <clean.txt

finish
