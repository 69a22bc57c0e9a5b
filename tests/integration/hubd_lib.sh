# hubd_lib.sh: start and stop a real hubd for integration tests (sourced
# after lib.sh). hubd_setup makes ./cfg: a copy of the shipped
# configuration with its own keys, a store under ./var and a free port.
#   hubd_setup            config, keys (hub, hash key, every endpoint's)
#   hubd_start / hubd_stop [SIGNAL]   (logs to ./hubd.log)
#   pub NAME FILE...      publish as endpoint NAME (output in $OUT)
#   sub NAME COUNT [MS]   consume up to COUNT deliveries as NAME
#   gen_dropouts N TAG    N distinct dropout messages (m/ID.json, ids.txt)
#   pub_paced MS NAME FILE...  publish in slices of 4, MS ms apart
# HUBD_WRAP, when set, is put before hubd's command line (prlimit ...).
HUB_TOOLS=${HUB_TOOLS:-$REPO/build/tools}

hubd_setup() {
    cp -r "$REPO/config" cfg
    rm -rf cfg/keys var && mkdir -p cfg/keys var
    # Below Linux's ephemeral range (32768-60999), where an outgoing
    # connection of anything on the machine may hold a port at any time.
    PORT=$(( 21000 + $$ % 11000 ))
    sed -i "s|^schemas:.*|schemas: $REPO/schemas|" cfg/hub.yaml
    printf 'listen: tcp://127.0.0.1:%s\nstore: %s/var/store\nheartbeat_ms: 1000\nack_timeout_ms: 3000\n' \
        "$PORT" "$PWD" >>cfg/hub.yaml
    "$HUB_BIN/hubctl" keygen hub --dir cfg/keys >/dev/null
    "$HUB_BIN/hubctl" keygen --hash-key cfg/keys/hash.key >/dev/null
    for dept in civil_affairs public_security education health poverty_alleviation; do
        for div in 513400 513401 513402 513429 513431; do
            "$HUB_BIN/hubctl" keygen "$dept@$div" --dir cfg/keys >/dev/null
        done
    done
    "$HUB_BIN/hubctl" keygen education@513431101 --dir cfg/keys >/dev/null
    URL=tcp://127.0.0.1:$PORT
}

# How many times hubd.log says hubd started (0 before the first start).
_hubd_starts() {
    if [ -f hubd.log ]; then grep -c 'event=started' hubd.log || true; else echo 0; fi
}

# A free port for hubd, 21000-31999 (below the ephemeral range).
_hubd_new_port() {
    PORT=$(( 21000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 11000 ))
    sed -i "s|^listen: tcp://127.0.0.1:[0-9]*|listen: tcp://127.0.0.1:$PORT|" cfg/hub.yaml
    URL=tcp://127.0.0.1:$PORT
}

hubd_start() {
    # Count the starts so that a restart waits for its own "started" line.
    # A port someone else holds (another test's leftover, a busy machine)
    # gets another one, up to five tries.
    tries=0
    while :; do
        before=$(_hubd_starts)
        ${HUBD_WRAP:-} "$HUB_BIN/hubd" -c cfg 2>>hubd.log &
        HUBD_PID=$!
        i=0
        while [ $i -lt 200 ] && [ "$(_hubd_starts)" -le "$before" ] &&
            kill -0 "$HUBD_PID" 2>/dev/null; do
            sleep 0.05
            i=$((i + 1))
        done
        [ "$(_hubd_starts)" -gt "$before" ] && return 0
        tries=$((tries + 1))
        if [ $tries -lt 5 ] && tail -3 hubd.log | grep -q 'Address already in use'; then
            wait "$HUBD_PID" 2>/dev/null
            _hubd_new_port
            continue
        fi
        cat hubd.log
        fail "hubd did not start"
        return 0
    done
}

hubd_stop() {
    kill "-${1:-TERM}" "$HUBD_PID" 2>/dev/null
    HUBD_RC=0
    wait "$HUBD_PID" || HUBD_RC=$?
}

pub() {
    name=$1
    shift
    run "$HUB_TOOLS/hubc_tool" publish "$URL" cfg/keys/hub.pub cfg/keys "$name" "$@"
}

sub() {
    run "$HUB_TOOLS/hubc_tool" consume "$URL" cfg/keys/hub.pub cfg/keys "$1" "$2" "${3:-1500}"
}

# gen_dropouts N TAG: N distinct dropouts of the fixture's child, in which
# only the id (a random prefix, then the number) and source_ref
# (xueji/TAG/i) differ: m/ID.json are the messages, ids.txt lists the ids
# in order.
gen_dropouts() {
    mkdir m
    prefix=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
    awk -v n="$1" -v pre="$prefix" -v tag="$2" '
        { line[NR] = $0 }
        END {
            for (i = 1; i <= n; i++) {
                id = sprintf("%s%024x", pre, i)
                f = "m/" id ".json"
                for (j = 1; j <= NR; j++) {
                    l = line[j]
                    if (l ~ /^  "id": /) {
                        l = "  \"id\": \"" id "\","
                    } else if (l ~ /^  "source_ref": /) {
                        l = "  \"source_ref\": \"xueji/" tag "/" i "\","
                    } else if (l ~ /"change_type": /) {
                        l = "    \"change_type\": \"dropout\","
                    }
                    print l > f
                }
                close(f)
                print id
            }
        }' "$MSGS/student.enrolment_change.json" >ids.txt
    check "generated $1 distinct ids" test "$(sort -u ids.txt | wc -l)" -eq "$1"
}

# gen_deaths DIR FIRST N TAG: deaths FIRST..FIRST+N-1 (person.death from
# health, the sample's hukou county 513401) into DIR/NNNN.json, each of its
# own person: a death is one event per person (schemas/person.death.yaml),
# so a second death of the same person would be delivered to nobody. Ids
# "dead" + the number; source_ref death_cert/TAG-i; the citizen ID keeps
# the sample's county and birth date, its sequence is the number's (odd:
# the sample is a man, and never the sample's own 021), so numbers up to
# 399 give distinct people. Prints the ids.
gen_deaths() {
    mkdir -p "$1"
    awk -v dir="$1" -v first="$2" -v n="$3" -v tag="$4" '
        function cid(i,    base, w, s, k) {  # GB 11643: MOD 11-2 check character
            base = sprintf("51340119580611%03d", 201 + 2 * (i % 400))
            split("7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2", w, " ")
            s = 0
            for (k = 1; k <= 17; k++) s += substr(base, k, 1) * w[k]
            return base substr("10X98765432", s % 11 + 1, 1)
        }
        { line[NR] = $0 }
        END {
            for (i = first; i < first + n; i++) {
                id = sprintf("dead%028x", i)
                f = sprintf("%s/%04d.json", dir, i)
                for (j = 1; j <= NR; j++) {
                    l = line[j]
                    if (l ~ /^  "id": /) {
                        l = "  \"id\": \"" id "\","
                    } else if (l ~ /^  "source_ref": /) {
                        l = "  \"source_ref\": \"death_cert/" tag "-" i "\","
                    } else if (l ~ /^    "citizen_id": /) {
                        l = "    \"citizen_id\": \"" cid(i) "\","
                    }
                    print l > f
                }
                close(f)
                print id
            }
        }' "$MSGS/person.death.json"
}

# pub_paced MS NAME FILE...: publish as endpoint NAME in slices of 4 with
# MS ms between them (a publisher under load; output on stdout/stderr).
pub_paced() {
    pace=$1
    name=$2
    shift 2
    HUBC_WINDOW=4 HUBC_PACE_MS=$pace "$HUB_TOOLS/hubc_tool" publish "$URL" cfg/keys/hub.pub \
        cfg/keys "$name" "$@"
}
