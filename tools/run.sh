#!/bin/sh
# make run: the hub end to end on the shipped configuration and a generated
# population (README, "make run"):
#   1. check the configuration;
#   2. generate PEOPLE synthetic people (default 2,000) as the five
#      departments' own exports, defects included (tools/genpop.py);
#   3. start hubd with its own keys and store under var/run;
#   4. run hub-adapter over every export with the shipped mappings
#      (config/adapters/), rejected records into var/run/rejected/;
#   5. run a hub-sink for every endpoint into var/run/inbox/<endpoint>/
#      until its queue is drained;
#   6. print what happened: per department published and rejected, per
#      endpoint deliveries by rule, one example of each scenario traced
#      through the audit, the hub's status; then stop hubd cleanly.
# Running it again publishes nothing twice: the ids come from the source
# records, and the adapters' state and the hub's store under var/run remember.
# PEOPLE=100000 make run runs the same on 100,000 people.
set -eu
cd "$(dirname "$0")/.."
BIN=${HUB_BIN:-bin}
PEOPLE=${PEOPLE:-2000}
RUN=var/run
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
mkdir -p "$RUN"

echo "== hubctl check"
"$BIN/hubctl" check --config config

if [ ! -d "$RUN/cfg" ]; then
    cp -r config "$RUN/cfg"
    rm -rf "$RUN/cfg/keys" && mkdir -p "$RUN/cfg/keys"
    printf 'schemas: %s/schemas\nlisten: tcp://127.0.0.1:7499\nstore: %s/%s/store\nmetrics: 127.0.0.1:7498\n' \
        "$PWD" "$PWD" "$RUN" >>"$RUN/cfg/hub.yaml"
    sed -i '0,/^schemas:/{/^schemas: \.\.\/schemas/d}' "$RUN/cfg/hub.yaml"
    "$BIN/hubctl" keygen hub --dir "$RUN/cfg/keys" >/dev/null
    "$BIN/hubctl" keygen --hash-key "$RUN/cfg/keys/hash.key" >/dev/null
    "$BIN/hubctl" keygen --sign-key "$RUN/cfg/keys/audit.sign" >/dev/null
    for dept in civil_affairs public_security education health poverty_alleviation; do
        for div in 513400 513401 513402 513429 513431; do
            "$BIN/hubctl" keygen "$dept@$div" --dir "$RUN/cfg/keys" >/dev/null
        done
    done
    "$BIN/hubctl" keygen education@513431101 --dir "$RUN/cfg/keys" >/dev/null
fi
CFG=$RUN/cfg

echo
echo "== a synthetic population of $PEOPLE people, as each department exports it"
$PY tools/genpop.py --people "$PEOPLE" --seed 1 --defect-rate 0.05 --out "$RUN/data"

echo
echo "== hubd"
"$BIN/hubd" -c "$CFG" 2>>"$RUN/hubd.log" &
HUBD=$!
trap 'kill $HUBD 2>/dev/null || true' EXIT
starts=$(grep -c event=started "$RUN/hubd.log" || true)
i=0
while [ $i -lt 200 ] && [ "$(grep -c event=started "$RUN/hubd.log" || true)" -le "$starts" ]; do
    sleep 0.05
    i=$((i + 1))
done
grep event=started "$RUN/hubd.log" | tail -1

echo
echo "== adapters: each department's exports through its mapping"
mkdir -p "$RUN/adapters" "$RUN/rejected"
$PY - "$RUN/data/manifest.json" >"$RUN/exports.txt" <<'EOF'
import json, sys
# Health's exports first: a birth is certified at the hospital before the
# police register it, so the certificate is the birth's first report (it
# reaches the police for registration) and the registration the second
# (same_event, delivered to nobody: docs/RULES.md, scenario 4).
exports = json.load(open(sys.argv[1], encoding="utf-8"))["exports"]
for e in sorted(exports, key=lambda e: not e["mapping"].split("/")[-1].startswith("health")):
    print(e["mapping"], e["file"])
EOF
while read -r mapping file; do
    name=$(basename "$mapping" .yaml)
    printf '%-28s %s\n' "$name" "$file"
    "$BIN/hub-adapter" -c "$CFG" -m "$mapping" --state "$RUN/adapters/$name" \
        --rejected "$RUN/rejected/$name.csv" --format json "$RUN/data/$file" \
        >"$RUN/adapters/$name.json" 2>>"$RUN/adapters.log" || {
        echo "hub-adapter failed for $mapping (see $RUN/adapters.log)"
        tail -5 "$RUN/adapters.log"
        exit 1
    }
done <"$RUN/exports.txt"

echo
echo "== sinks: every endpoint's deliveries into its inbox, until the queue is drained"
mkdir -p "$RUN/inbox"
depth() {
    "$BIN/hubctl" status --config "$CFG" --format json |
        $PY -c 'import json,sys; print(sum(e["depth"] for e in json.load(sys.stdin)["endpoints"]))'
}
round=0
while [ $round -lt 5 ]; do
    pids=
    for key in "$CFG/keys"/*@*.pub; do
        ep=$(basename "$key" .pub)
        "$BIN/hub-sink" -c "$CFG" -e "$ep" --inbox "$RUN/inbox/$ep" --idle-exit 1500 \
            2>>"$RUN/sinks.log" &
        pids="$pids $!"
    done
    for p in $pids; do
        wait "$p" || echo "a sink failed (see $RUN/sinks.log)"
    done
    left=$(depth)
    [ "$left" -eq 0 ] && break
    echo "$left deliveries still queued: the sinks run again"
    round=$((round + 1))
done
echo "sinks done (their log: $RUN/sinks.log)"

echo
$PY tools/run_report.py "$RUN" "$BIN/hubctl"

echo
echo "== hubctl status"
"$BIN/hubctl" status --config "$CFG" | head -40

echo
echo "== one audit query: who received data about the dropout example's subject"
cid=$($PY -c 'import json,sys; m=json.load(open(sys.argv[1], encoding="utf-8")); print(next(s["citizen_id"] for s in m["scenarios"] if s["scenario"] == "dropout"))' "$RUN/data/manifest.json")
"$BIN/hubctl" audit query --config "$CFG" --subject "$cid" | head -20

echo
echo "== metrics: http://127.0.0.1:7498/metrics (Prometheus) and /healthz, a few lines"
$PY - <<'EOF2' || echo "(metrics not reachable)"
import urllib.request
print("healthz:", urllib.request.urlopen("http://127.0.0.1:7498/healthz", timeout=5).read().decode().strip())
text = urllib.request.urlopen("http://127.0.0.1:7498/metrics", timeout=5).read().decode()
for line in text.splitlines():
    if line.startswith(("hub_publish", "hub_ingest", "hub_commit_seconds_count", "hub_ruleset")) \
            or (line.startswith("hub_queue_depth") and "513431\"" in line):
        print(" ", line)
EOF2

kill -TERM $HUBD
wait $HUBD || true
trap - EXIT
echo
echo "== hubd stopped: $(tail -1 "$RUN/hubd.log")"
echo "Inboxes: $RUN/inbox/   rejected records: $RUN/rejected/   store: $RUN/store"
