#!/bin/sh
# deploy/install.sh: prepares a machine for the hub after `make install`
# (docs/OPERATIONS.md, "Deployment"). Run it as root, once; running it again
# is safe: it creates what is missing, puts modes and owners right, and never
# overwrites a file it finds (configuration or key).
#
#   - the `hub` system user and group (useradd --system)
#   - /etc/hub          hub.yaml, departments.yaml, rules.d/, tests/, adapters/
#                       (from the example configuration), keys/ (0700)
#   - /var/lib/hub      store/ (0700), adapters/ (the adapters' state)
#   - /var/spool/hub    in/<mapping> (export files in), out/<endpoint> (inboxes)
#   - /var/backups/hub  where deploy/backup.sh writes (0700)
#   - keys, with hubctl keygen: the hub's CURVE keypair (keys/hub.key,
#     keys/hub.pub), the keyed-hash secret (keys/hash.key), the audit signing
#     key (keys/audit.sign, keys/audit.sign.pub) and a CURVE keypair for every
#     endpoint of departments.yaml (keys/<endpoint>.key, .pub)
#
# usage: install.sh [--root DIR] [--share DIR] [--hubctl PATH] [--user NAME]
#                   [--listen URL] [--metrics HOST:PORT]
#   --root DIR      install into a staging root (an image, a test): every path
#                   above is made under DIR; no user is created and nothing is
#                   chowned. The configuration written still names the real
#                   paths (/var/lib/hub/store), as the installed machine sees them.
#   --share DIR     where schemas/ and the example config/ are (default: the
#                   directory above this script: $PREFIX/share/hub when
#                   installed, the repository when run from it)
#   --hubctl PATH   the hubctl to make keys with (default: $PREFIX/bin/hubctl,
#                   the repository's bin/hubctl, or hubctl on PATH)
#   --user NAME     the hub's user and group (default hub)
#   --listen URL    hubd's ZeroMQ endpoint in a new hub.yaml (default: the
#                   example's, tcp://127.0.0.1:7400; other machines need e.g.
#                   tcp://0.0.0.0:7400)
#   --metrics ADDR  /metrics and /healthz in a new hub.yaml (default
#                   127.0.0.1:9464; "" turns them off)
# Needs python3 with PyYAML (Debian: python3-yaml) to list the endpoints.
# Exit status: 0 done, 1 failure, 2 bad usage.
set -eu

here=$(cd "$(dirname "$0")" && pwd -P)
ROOT=
SHARE=$here/..
HUBCTL=
HUBUSER=hub
LISTEN=
METRICS=127.0.0.1:9464

usage() {
    echo "install.sh: $*" >&2
    echo "usage: install.sh [--root DIR] [--share DIR] [--hubctl PATH] [--user NAME]" \
        "[--listen URL] [--metrics HOST:PORT]" >&2
    exit 2
}

while [ $# -gt 0 ]; do
    case $1 in
    --root | --share | --hubctl | --user | --listen | --metrics)
        [ $# -ge 2 ] || usage "option $1 needs a value"
        case $1 in
        --root) ROOT=$2 ;;
        --share) SHARE=$2 ;;
        --hubctl) HUBCTL=$2 ;;
        --user) HUBUSER=$2 ;;
        --listen) LISTEN=$2 ;;
        --metrics) METRICS=$2 ;;
        esac
        shift 2
        ;;
    -h | --help)
        sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'
        exit 0
        ;;
    *) usage "unknown argument '$1'" ;;
    esac
done

die() {
    echo "install.sh: $*" >&2
    exit 1
}
say() {
    echo "install.sh: $*"
}

# ---- what is needed
if [ ! -d "$SHARE/schemas" ] || [ ! -f "$SHARE/config/hub.yaml" ]; then
    die "no schemas/ and config/hub.yaml under $SHARE (give --share DIR)"
fi
SHARE=$(cd "$SHARE" && pwd -P)
if [ -z "$HUBCTL" ]; then
    for c in "$here/../../../bin/hubctl" "$here/../bin/hubctl" "$(command -v hubctl || true)"; do
        if [ -n "$c" ] && [ -x "$c" ]; then
            HUBCTL=$c
            break
        fi
    done
fi
if [ -z "$HUBCTL" ] || [ ! -x "$HUBCTL" ]; then
    die "no hubctl found (run make install, or give --hubctl)"
fi
python3 -c 'import yaml' 2>/dev/null ||
    die "python3 with PyYAML is needed to read departments.yaml (apt-get install python3-yaml)"

CHOWN=no
if [ -z "$ROOT" ]; then
    [ "$(id -u)" -eq 0 ] || die "run as root (or give --root DIR to stage into a directory)"
    CHOWN=yes
else
    mkdir -p "$ROOT"
    ROOT=$(cd "$ROOT" && pwd -P)
fi
ETC=$ROOT/etc/hub
KEYS=$ETC/keys

# ---- the user
if [ "$CHOWN" = yes ]; then
    if getent passwd "$HUBUSER" >/dev/null; then
        say "user $HUBUSER exists"
    else
        useradd --system --user-group --home-dir /var/lib/hub --no-create-home \
            --shell /usr/sbin/nologin --comment "data-sharing hub" "$HUBUSER"
        say "created system user $HUBUSER"
    fi
fi

# own [-R] OWNER:GROUP PATH...: chown, when installing for real.
own() {
    if [ "$CHOWN" = yes ]; then
        chown "$@"
    fi
}

# dir PATH MODE OWNER:GROUP: PATH (under ROOT) exists with that mode and owner.
dir() {
    if [ ! -d "$ROOT$1" ]; then
        mkdir -p "$ROOT$1"
        say "created $1"
    fi
    chmod "$2" "$ROOT$1"
    own "$3" "$ROOT$1"
}

# file SRC DEST: DEST (under ROOT) copied from SRC when missing, mode 0640
# root:hub (hubd reads it; only root changes it).
file() {
    if [ -e "$ROOT$2" ]; then
        say "kept $2"
    else
        cp "$1" "$ROOT$2"
        say "created $2"
    fi
    chmod 0640 "$ROOT$2"
    own "root:$HUBUSER" "$ROOT$2"
}

# ---- the layout
dir /etc/hub 0750 "root:$HUBUSER"
dir /etc/hub/rules.d 0750 "root:$HUBUSER"
dir /etc/hub/adapters 0750 "root:$HUBUSER"
dir /etc/hub/keys 0700 "$HUBUSER:$HUBUSER"
dir /var/lib/hub 0700 "$HUBUSER:$HUBUSER"
dir /var/lib/hub/store 0700 "$HUBUSER:$HUBUSER"
dir /var/lib/hub/adapters 0700 "$HUBUSER:$HUBUSER"
dir /var/spool/hub 0750 "$HUBUSER:$HUBUSER"
dir /var/spool/hub/in 0750 "$HUBUSER:$HUBUSER"
dir /var/spool/hub/out 0750 "$HUBUSER:$HUBUSER"
dir /var/backups/hub 0700 "$HUBUSER:$HUBUSER"

# ---- the configuration (the example's, never over the operator's)
# hub.yaml: the example's, with the installed paths. A key the example
# has is set in its place (a key given twice is an error), others appended.
# setkey KEY VALUE FILE
setkey() {
    if grep -q "^$1:" "$3"; then
        V=$2 awk -v k="$1" 'index($0, k ":") == 1 { print k ": " ENVIRON["V"]; next } { print }' \
            "$3" >"$3.tmp" && mv "$3.tmp" "$3"
    else
        printf '%s: %s\n' "$1" "$2" >>"$3"
    fi
}
if [ -e "$ETC/hub.yaml" ]; then
    say "kept /etc/hub/hub.yaml"
else
    new=$ETC/hub.yaml.new
    cp "$SHARE/config/hub.yaml" "$new"
    printf '\n# Set by deploy/install.sh on %s (unless set above).\n' "$(date -u +%Y-%m-%d)" >>"$new"
    setkey schemas "$SHARE/schemas" "$new"
    setkey store /var/lib/hub/store "$new"
    setkey metrics "\"$METRICS\"" "$new"
    if [ -n "$LISTEN" ]; then
        setkey listen "$LISTEN" "$new"
    fi
    mv "$new" "$ETC/hub.yaml"
    say "created /etc/hub/hub.yaml"
fi
chmod 0640 "$ETC/hub.yaml"
own "root:$HUBUSER" "$ETC/hub.yaml"
file "$SHARE/config/departments.yaml" /etc/hub/departments.yaml
if [ -f "$SHARE/config/rules.yaml" ]; then
    file "$SHARE/config/rules.yaml" /etc/hub/rules.yaml
fi

# copy_dir SUB: the example's SUB/*.yaml when /etc/hub/SUB has none yet
# (a rule set or a set of mappings is taken whole or not at all).
copy_dir() {
    [ -d "$SHARE/config/$1" ] || return 0
    if ls "$ETC/$1"/*.yaml >/dev/null 2>&1; then
        say "kept /etc/hub/$1 (it has files)"
        return 0
    fi
    dir "/etc/hub/$1" 0750 "root:$HUBUSER"
    for f in "$SHARE/config/$1"/*.yaml; do
        [ -f "$f" ] && file "$f" "/etc/hub/$1/${f##*/}"
    done
    return 0
}
copy_dir rules.d
copy_dir adapters
copy_dir tests
if [ -d "$SHARE/config/tests/messages" ] && [ ! -d "$ETC/tests/messages" ]; then
    cp -R "$SHARE/config/tests/messages" "$ETC/tests/messages"
    chmod -R u=rwX,g=rX,o= "$ETC/tests/messages"
    own -R "root:$HUBUSER" "$ETC/tests/messages"
fi

# ---- keys (keygen never overwrites; each is made only when missing)
# key WHAT FILE ARGS...: hubctl keygen ARGS when FILE is missing.
key() {
    what=$1
    f=$2
    shift 2
    if [ -e "$f" ]; then
        say "kept $what (${f#"$ROOT"})"
    else
        "$HUBCTL" keygen "$@" >/dev/null || die "hubctl keygen $* failed"
        say "created $what (${f#"$ROOT"})"
    fi
}
key "the hub's CURVE keypair" "$KEYS/hub.key" hub --dir "$KEYS"
key "the keyed-hash secret" "$KEYS/hash.key" --hash-key "$KEYS/hash.key"
if "$HUBCTL" --help 2>&1 | grep -q -e '--sign-key'; then
    key "the audit signing key" "$KEYS/audit.sign" --sign-key "$KEYS/audit.sign"
else
    say "WARNING: this hubctl cannot make the audit signing key (keygen --sign-key);" \
        "audit checkpoints stay unsigned until keys/audit.sign exists"
fi

# The endpoints of departments.yaml, one "ID KEYFILE" a line (KEYFILE empty:
# the default keys/ID.pub).
endpoints() {
    python3 - "$ETC/departments.yaml" <<'PY'
import sys, yaml
with open(sys.argv[1], encoding="utf-8") as f:
    doc = yaml.safe_load(f) or {}
for dept, entry in (doc.get("departments") or {}).items():
    for ep in (entry or {}).get("endpoints") or []:
        if isinstance(ep, dict):
            print("%s@%s %s" % (dept, ep.get("division"), ep.get("key") or ""))
        else:
            print("%s@%s " % (dept, ep))
PY
}
eps=$(endpoints) || die "cannot read /etc/hub/departments.yaml (hubctl check --config /etc/hub says why)"
for_endpoints() {
    printf '%s\n' "$eps" | while read -r id keyfile; do
        [ -n "$id" ] || continue
        if [ -n "$keyfile" ] && [ "$keyfile" != "keys/$id.pub" ]; then
            case $keyfile in /*) kf=$ROOT$keyfile ;; *) kf=$ETC/$keyfile ;; esac
            if [ ! -e "$kf" ]; then
                say "NOTE: $id names its own key file $keyfile: put the department's public key there"
            fi
        else
            key "$id's CURVE keypair" "$KEYS/$id.key" "$id" --dir "$KEYS"
        fi
        dir "/var/spool/hub/out/$id" 0700 "$HUBUSER:$HUBUSER" >/dev/null
    done
}
for_endpoints
n_eps=$(printf '%s\n' "$eps" | grep -c . || true)
own -R "$HUBUSER:$HUBUSER" "$KEYS"
chmod 0700 "$KEYS"

# Each adapter mapping gets its spool and state directories.
for m in "$ETC"/adapters/*.yaml; do
    [ -f "$m" ] || continue
    name=${m##*/}
    name=${name%.yaml}
    dir "/var/spool/hub/in/$name" 0700 "$HUBUSER:$HUBUSER" >/dev/null
    dir "/var/lib/hub/adapters/$name" 0700 "$HUBUSER:$HUBUSER" >/dev/null
done

# ---- the check hubd would make at start
if checked=$("$HUBCTL" check --config "$ETC" 2>&1); then
    say "hubctl check --config /etc/hub: ok ($n_eps endpoints)"
else
    printf '%s\n' "$checked" >&2
    die "the configuration in /etc/hub is refused (above); fix it and run install.sh again"
fi
cat <<EOF
install.sh: done. Next:
  systemctl daemon-reload
  systemctl enable --now hubd
  systemctl enable --now hub-sink@ENDPOINT      (one per endpoint served here)
  systemctl enable --now hub-adapter@MAPPING    (one per /etc/hub/adapters/MAPPING.yaml)
  systemctl enable --now hub-backup.timer
Endpoint secret keys (/etc/hub/keys/ENDPOINT.key) belong to their departments:
hand each over with keys/hub.pub and delete it here unless its sink or adapter
runs on this machine.
EOF
