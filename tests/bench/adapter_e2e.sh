#!/bin/sh
# Benchmark: hub-adapter end to end — the generated population's nine
# exports (GB18030/UTF-8 CSV and JSON Lines) parsed, mapped, validated,
# put in the adapter's LMDB outbox and published to a real hubd on
# loopback (CURVE, fsync'd group commit, acked), one adapter run after the
# other. Prints one line: records read per second over all runs (rejected
# and skipped records included: they are read and mapped too), and the
# messages the hub acknowledged. Run by `make bench` from the repository
# root, after bin/ is built. PEOPLE (default 100000) sets the population.
set -eu
BIN=${HUB_BIN:-bin}
PEOPLE=${PEOPLE:-100000}
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
dir=$(mktemp -d "${TMPDIR:-/tmp}/hub-bench-adapter.XXXXXX")
hubd=
cleanup() {
    [ -n "$hubd" ] && kill "$hubd" 2>/dev/null && wait "$hubd" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT INT TERM

cp -r config "$dir/cfg"
rm -rf "$dir/cfg/keys" && mkdir -p "$dir/cfg/keys"
port=$((21000 + $$ % 11000)) # below the ephemeral range
printf 'schemas: %s/schemas\nlisten: tcp://127.0.0.1:%s\nstore: %s/store\n' \
    "$PWD" "$port" "$dir" >>"$dir/cfg/hub.yaml"
sed -i '0,/^schemas:/{/^schemas: \.\.\/schemas/d}' "$dir/cfg/hub.yaml"
"$BIN/hubctl" keygen hub --dir "$dir/cfg/keys" >/dev/null
"$BIN/hubctl" keygen --hash-key "$dir/cfg/keys/hash.key" >/dev/null
for dept in civil_affairs public_security education health poverty_alleviation; do
    "$BIN/hubctl" keygen "$dept@513400" --dir "$dir/cfg/keys" >/dev/null
done
$PY tools/genpop.py --people "$PEOPLE" --seed 7 --defect-rate 0.05 --out "$dir/data" >/dev/null 2>&1

"$BIN/hubd" -c "$dir/cfg" 2>"$dir/hubd.log" &
hubd=$!
i=0
while [ $i -lt 200 ] && ! grep -q event=started "$dir/hubd.log"; do
    sleep 0.05
    i=$((i + 1))
done

$PY - "$dir/data/manifest.json" >"$dir/exports.txt" <<'EOF'
import json, sys
for e in json.load(open(sys.argv[1], encoding="utf-8"))["exports"]:
    print(e["mapping"], e["file"], e["records"])
EOF
records=0
start=$(date +%s.%N)
while read -r mapping file n; do
    name=$(basename "$mapping" .yaml)
    "$BIN/hub-adapter" -c "$dir/cfg" -m "$mapping" --state "$dir/state/$name" \
        --rejected "$dir/$name.rejected.csv" --format json "$dir/data/$file" \
        >"$dir/$name.json" 2>>"$dir/adapters.log"
    records=$((records + n))
done <"$dir/exports.txt"
end=$(date +%s.%N)
kill -TERM "$hubd" && wait "$hubd" || true
hubd=
acked=$(grep -o 'event=stopped published=[0-9]* acked=[0-9]*' "$dir/hubd.log" | sed 's/.*acked=//')
$PY - "$records" "$start" "$end" "$acked" <<'EOF'
import sys
records, start, end, acked = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
t = end - start
print("bench adapter: end to end, 9 exports (CSV GB18030/UTF-8, JSON Lines) -> outbox -> hubd "
      "(CURVE, fsync'd, acked)   %d records/s  (%d records in %.1f s, %s messages acked)"
      % (records / t, records, t, acked))
EOF
