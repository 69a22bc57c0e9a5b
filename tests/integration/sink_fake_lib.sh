# sink_fake_lib.sh: hub-sink against sink_fake_hub.py (sourced after
# lib.sh, with $PY the Python that has zmq and msgpack).
#   fake_hub_start EP N [UNREADABLE_FILE [UPTO_FILE]]
#       keys for the hub and EP in cfg/keys; the fake hub serving EP's N
#       deliveries into ./inbox's checks, its lines in hub.log, stopped at
#       exit; cfg/hub.yaml pointing hub-sink at it. A fake hub that does not
#       start fails the test.
fake_hub_start() {
    _ep=$1
    _n=$2
    shift 2
    mkdir -p cfg/keys
    "$HUB_BIN/hubctl" keygen hub --dir cfg/keys >/dev/null
    "$HUB_BIN/hubctl" keygen "$_ep" --dir cfg/keys >/dev/null
    "$PY" "$REPO/tests/integration/sink_fake_hub.py" cfg/keys "$_ep" "$_n" inbox hub.url "$@" \
        >hub.log 2>&1 &
    HUB=$!
    trap 'kill "$HUB" 2>/dev/null' EXIT
    _i=0
    while [ $_i -lt 100 ] && ! [ -s hub.url ] && kill -0 "$HUB" 2>/dev/null; do
        sleep 0.05
        _i=$((_i + 1))
    done
    if ! [ -s hub.url ]; then
        cat hub.log
        fail "the fake hub did not start"
        finish
    fi
    printf 'listen: %s\nkeys: keys\n' "$(cat hub.url)" >cfg/hub.yaml
}
