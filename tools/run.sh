#!/bin/sh
# make run: the hub's job on the shipped configuration and sample data, as
# far as it is built today (see README "Status"): check the configuration,
# then validate, normalise and round-trip the sample messages of every
# canonical type through the canonical msgpack encoding.
set -eu
cd "$(dirname "$0")/.."
BIN=${HUB_BIN:-bin}
echo "== hubctl check (config/)"
"$BIN/hubctl" check --config config
echo
echo "== sample messages: validate (with normalisation) and msgpack round trip"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
for f in tests/data/messages/*.json; do
    "$BIN/hubctl" msg validate --config config --normalize "$f"
    "$BIN/hubctl" msg encode "$f" -o "$tmp/m.msgpack"
    "$BIN/hubctl" msg decode "$tmp/m.msgpack" > "$tmp/m.json"
    "$BIN/hubctl" msg encode "$tmp/m.json" -o "$tmp/m2.msgpack"
    cmp -s "$tmp/m.msgpack" "$tmp/m2.msgpack" || { echo "round trip changed $f"; exit 1; }
    n=$((n + 1))
done
echo
echo "== one message, as JSON from its canonical msgpack bytes"
"$BIN/hubctl" msg encode tests/data/messages/death_valid.json -o "$tmp/d.msgpack"
echo "$(wc -c < "$tmp/d.msgpack") bytes of msgpack:"
"$BIN/hubctl" msg decode "$tmp/d.msgpack"
echo
echo "run: $n sample messages valid and byte-identical after a round trip"
