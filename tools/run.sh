#!/bin/sh
# make run: the hub end to end on the shipped configuration and sample
# data, as far as it is built (README "Status"): check the configuration,
# start hubd with its own keys and store under var/run, publish a sample
# message of every type as its department, receive every endpoint's
# deliveries, print what went where, stop. Running it again publishes
# nothing twice (the store under var/run remembers).
set -eu
cd "$(dirname "$0")/.."
BIN=${HUB_BIN:-bin}
TOOLS=${HUB_TOOLS:-build/tools}
RUN=var/run
mkdir -p "$RUN"

echo "== hubctl check"
"$BIN/hubctl" check --config config

if [ ! -d "$RUN/cfg" ]; then
    cp -r config "$RUN/cfg"
    rm -rf "$RUN/cfg/keys" && mkdir -p "$RUN/cfg/keys"
    printf 'schemas: %s/schemas\nlisten: tcp://127.0.0.1:7499\nstore: %s/%s/store\n' \
        "$PWD" "$PWD" "$RUN" >>"$RUN/cfg/hub.yaml"
    sed -i '0,/^schemas:/{/^schemas: \.\.\/schemas/d}' "$RUN/cfg/hub.yaml"
    "$BIN/hubctl" keygen hub --dir "$RUN/cfg/keys" >/dev/null
    "$BIN/hubctl" keygen --hash-key "$RUN/cfg/keys/hash.key" >/dev/null
    for dept in civil_affairs public_security education health poverty_alleviation; do
        for div in 513400 513401 513402 513429 513431; do
            "$BIN/hubctl" keygen "$dept@$div" --dir "$RUN/cfg/keys" >/dev/null
        done
    done
    "$BIN/hubctl" keygen education@513431101 --dir "$RUN/cfg/keys" >/dev/null
fi
URL=tcp://127.0.0.1:7499
KEYS=$RUN/cfg/keys

echo
echo "== hubd"
"$BIN/hubd" -c "$RUN/cfg" 2>"$RUN/hubd.log" &
HUBD=$!
trap 'kill $HUBD 2>/dev/null || true' EXIT
i=0
while [ $i -lt 100 ] && ! grep -q event=started "$RUN/hubd.log"; do sleep 0.05; i=$((i + 1)); done
grep event=started "$RUN/hubd.log"

echo
echo "== publish: a sample message of every type, each as its own department"
for f in tests/data/messages/*.json; do
    src=$(sed -n 's/^ *"source": "\([a-z_]*\)".*/\1/p' "$f" | head -1)
    printf '%-22s %-44s ' "$src" "$(basename "$f")"
    "$TOOLS/hubc_tool" publish "$URL" "$KEYS/hub.pub" "$KEYS" "$src@513400" "$f" |
        sed 's/^\([a-z]*\) [^ ]* /\1 /'
done

echo
echo "== deliveries, per endpoint (each acknowledged after it is received)"
total=0
for key in "$KEYS"/*@*.pub; do
    ep=$(basename "$key" .pub)
    n=$("$TOOLS/hubc_tool" consume "$URL" "$KEYS/hub.pub" "$KEYS" "$ep" 1000 300 | grep -c '^deliver' || true)
    if [ "$n" -gt 0 ]; then
        printf '%-26s %s\n' "$ep" "$n"
        "$TOOLS/hubc_tool" consume "$URL" "$KEYS/hub.pub" "$KEYS" "$ep" 0 100 >/dev/null
    fi
    total=$((total + n))
done
echo "delivered this run: $total (a second run delivers 0: everything was acknowledged)"

echo
echo "== one dry run: where a dropout goes, and exactly what each endpoint receives"
sed 's/"change_type": "[a-z_]*"/"change_type": "dropout"/' \
    tests/data/messages/student.enrolment_change.json >"$RUN/dropout.json"
"$BIN/hubctl" rules test --config "$RUN/cfg" --message "$RUN/dropout.json"

kill -TERM $HUBD
wait $HUBD || true
trap - EXIT
echo
echo "== hubd stopped: $(tail -1 "$RUN/hubd.log")"
