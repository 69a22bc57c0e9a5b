#!/bin/sh
# deploy/restore.sh: puts a backup made by deploy/backup.sh back in place
# (docs/OPERATIONS.md, "Backup and restore"). Run it as root (or as the
# hub's user when the store is its own).
#
#   1. checks the backup: every file against SHA256SUMS
#   2. stops hubd: --pid PID (SIGTERM, then waits), else `systemctl stop
#      hubd` when that unit is active (not with --no-stop); then refuses to
#      go on while any process still has the target store open
#   3. with --with-config: the backup's configuration, keys included, into
#      --config DIR (the one there is moved aside to DIR.before-restore-STAMP)
#   4. moves the store there aside (STORE.before-restore-STAMP: nothing is
#      deleted) and puts the backup's store in its place (mode 0700/0600,
#      owned by the hub's user when run as root)
#   5. checks the restored store opens and holds what MANIFEST says
#   6. gives it a new store id (`hubctl store reissue-id`): the sequences
#      issued after the backup are issued again, and consumers that see the
#      new id take them as new instead of dropping them (hub-sink does)
#   7. with --start: `systemctl start hubd`
#
# usage: restore.sh BACKUP [--config DIR] [--store DIR] [--with-config]
#                   [--pid PID | --no-stop] [--service NAME] [--user NAME] [--start]
#                   [--hubctl PATH]
#   BACKUP         a backup directory (DEST/hub-YYYYMMDDTHHMMSSZ)
#   --config DIR   the hub's configuration directory (default /etc/hub)
#   --store DIR    where the store goes (default: `store` in DIR/hub.yaml)
#   --with-config  restore the configuration and keys too (a new machine)
#   --pid PID      the running hubd to stop (when it is not a systemd unit)
#   --no-stop      stop nothing (hubd is stopped already, or another hub's)
#   --service NAME the systemd unit to stop and start (default hubd)
#   --user NAME    the owner of the restored store when run as root (default hub)
#   --start        start the unit afterwards
#   --hubctl PATH  the hubctl to reissue the store id with (default: $PREFIX/bin/hubctl,
#                  the repository's bin/hubctl, or hubctl on PATH)
# Exit status: 0 restored, 1 failure (the store in place is untouched when
# the failure comes before step 4), 2 bad usage.
set -eu

BACKUP=
CONFIG=/etc/hub
STORE=
WITH_CONFIG=no
PID=
SERVICE=hubd
HUBUSER=hub
START=no
STOP=yes
HUBCTL=
here=$(cd "$(dirname "$0")" && pwd -P)

usage() {
    echo "restore.sh: $*" >&2
    echo "usage: restore.sh BACKUP [--config DIR] [--store DIR] [--with-config]" \
        "[--pid PID | --no-stop] [--service NAME] [--user NAME] [--start] [--hubctl PATH]" >&2
    exit 2
}
die() {
    echo "restore.sh: $*" >&2
    exit 1
}
say() {
    echo "restore.sh: $*"
}

while [ $# -gt 0 ]; do
    case $1 in
    --config | --store | --pid | --service | --user | --hubctl)
        [ $# -ge 2 ] || usage "option $1 needs a value"
        case $1 in
        --config) CONFIG=$2 ;;
        --store) STORE=$2 ;;
        --pid)
            case $2 in '' | *[!0-9]*) usage "--pid takes a process id, not '$2'" ;; esac
            PID=$2
            ;;
        --service) SERVICE=$2 ;;
        --user) HUBUSER=$2 ;;
        --hubctl) HUBCTL=$2 ;;
        esac
        shift 2
        ;;
    --with-config) WITH_CONFIG=yes && shift ;;
    --start) START=yes && shift ;;
    --no-stop) STOP=no && shift ;;
    -h | --help)
        sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'
        exit 0
        ;;
    -*) usage "unknown option '$1'" ;;
    *)
        [ -z "$BACKUP" ] || usage "one backup at a time ('$BACKUP', then '$1')"
        BACKUP=$1
        shift
        ;;
    esac
done
[ -n "$BACKUP" ] || usage "which backup? (a directory made by backup.sh)"
# The hubctl of this installation: step 6 needs it, so it is found first.
if [ -z "$HUBCTL" ]; then
    for c in "$here/../../../bin/hubctl" "$here/../bin/hubctl" "$(command -v hubctl || true)"; do
        if [ -n "$c" ] && [ -x "$c" ]; then
            HUBCTL=$c
            break
        fi
    done
fi
[ -n "$HUBCTL" ] && [ -x "$HUBCTL" ] || die "no hubctl found (give --hubctl PATH)"

# ---- 1. the backup is whole
for f in MANIFEST SHA256SUMS store/data.mdb; do
    [ -f "$BACKUP/$f" ] || die "$BACKUP/$f: no such file: not a backup made by backup.sh"
done
BACKUP=$(cd "$BACKUP" && pwd -P)
(cd "$BACKUP" && sha256sum --quiet -c SHA256SUMS) >&2 ||
    die "$BACKUP: files differ from SHA256SUMS (above): the backup is damaged"
say "backup $BACKUP: $(grep -c . "$BACKUP/SHA256SUMS") files match their checksums"

# The store directory hub.yaml names (as backup.sh reads it).
store_of() {
    v=$(sed -n 's/^store:[[:space:]]*//p' "$1/hub.yaml" | sed 's/[[:space:]]#.*$//; s/[[:space:]]*$//' |
        sed "s/^\"\(.*\)\"\$/\1/; s/^'\(.*\)'\$/\1/" | tail -n 1)
    v=${v:-../var/store}
    case $v in /*) echo "$v" ;; *) echo "$1/$v" ;; esac
}
stamp=$(date -u +%Y%m%dT%H%M%SZ)

# ---- 2. hubd stopped
# gone PID: true when PID has exited (a zombie waiting for its parent counts).
gone() {
    [ ! -r "/proc/$1/stat" ] && return 0
    state=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
    [ -z "$state" ] || [ "$state" = Z ] || [ "$state" = X ]
}
if [ "$STOP" = no ]; then
    [ -z "$PID" ] || usage "--pid and --no-stop contradict each other"
elif [ -n "$PID" ]; then
    if ! gone "$PID"; then
        kill -TERM "$PID" 2>/dev/null || die "cannot signal process $PID"
        i=0
        while ! gone "$PID" && [ $i -lt 600 ]; do
            sleep 0.1
            i=$((i + 1))
        done
        gone "$PID" || die "process $PID did not stop within 60 s of SIGTERM"
    fi
    say "hubd (pid $PID) stopped"
elif command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$SERVICE" 2>/dev/null; then
    systemctl stop "$SERVICE" || die "systemctl stop $SERVICE failed"
    say "stopped $SERVICE"
fi

# ---- 3. the configuration (only when asked)
if [ "$WITH_CONFIG" = yes ]; then
    if [ -e "$CONFIG" ]; then
        mv "$CONFIG" "$CONFIG.before-restore-$stamp"
        say "kept the configuration there as $CONFIG.before-restore-$stamp"
    fi
    mkdir -p "$CONFIG"
    (cd "$BACKUP/config" && tar -cf - .) | (cd "$CONFIG" && tar -xpf -) ||
        die "cannot copy the configuration into $CONFIG"
    say "configuration and keys restored into $CONFIG"
fi
[ -n "$STORE" ] || {
    [ -f "$CONFIG/hub.yaml" ] || die "$CONFIG/hub.yaml: no such file (give --config or --store)"
    STORE=$(store_of "$CONFIG")
}

# Who has FILE mapped (LMDB maps data.mdb): their pids, one a line.
users_of() {
    for m in /proc/[0-9]*/maps; do
        if grep -q -F -e "$1" "$m" 2>/dev/null; then
            p=${m#/proc/}
            echo "${p%/maps}"
        fi
    done
}
if [ -f "$STORE/data.mdb" ]; then
    real=$(cd "$STORE" && pwd -P)/data.mdb
    busy=$(users_of "$real" | tr '\n' ' ')
    [ -z "$busy" ] || die "$STORE is open in process(es) $busy: stop hubd (and hubctl) first"
fi

# ---- 4. the store: the old one aside, the backup's in place
if [ -e "$STORE" ] && [ -n "$(ls -A "$STORE" 2>/dev/null)" ]; then
    mv "$STORE" "$STORE.before-restore-$stamp"
    say "kept the store there as $STORE.before-restore-$stamp"
elif [ -d "$STORE" ]; then
    rmdir "$STORE"
fi
umask 077
mkdir -p "$STORE.restoring"
cp "$BACKUP/store/data.mdb" "$STORE.restoring/data.mdb"
chmod 0700 "$STORE.restoring"
chmod 0600 "$STORE.restoring/data.mdb"
sync
mv "$STORE.restoring" "$STORE"
if [ "$(id -u)" -eq 0 ] && getent passwd "$HUBUSER" >/dev/null 2>&1; then
    chown -R "$HUBUSER:$HUBUSER" "$STORE"
fi
say "store restored into $STORE"

# ---- 5. it opens and holds what the manifest says
db_entries() {
    mdb_stat -a "$1" | awk '/^Status of / { db = $3 } /Entries:/ && db != "" { print db, $2; db = "" }'
}
got=$(db_entries "$STORE") || die "the restored store does not open (mdb_stat -a $STORE)"
want=$(sed -n '/^databases/,$p' "$BACKUP/MANIFEST" | sed '1d; s/^  //')
[ "$got" = "$want" ] || die "the restored store's entries differ from MANIFEST: $got"
say "the store opens: $(printf '%s\n' "$got" | grep -E '^(log|queue|audit) ' | tr '\n' ' ')"

# ---- 6. a new store id: the endpoint sequences after the backup are issued
# again, to other messages; consumers that see the new id take them as new
ids=$("$HUBCTL" store reissue-id --config "$CONFIG" --store "$STORE" --timeout 2000) ||
    die "the store is restored, but its id was not reissued (above): run" \
        "'$HUBCTL store reissue-id --config $CONFIG --store $STORE' before starting hubd"
rm -f "$STORE/lock.mdb"   # mdb_stat and hubctl made one as this user; hubd makes its own
new_id=$(printf '%s\n' "$ids" | sed -n 's/^store .*: id .* -> //p')
old_id=$(printf '%s\n' "$ids" | sed -n 's/^store .*: id \(.*\) -> .*/\1/p')
say "new store id $new_id (was $old_id): consumers take the sequences after their" \
    "acknowledged cursor as new (hub-sink does so by itself)"

# ---- 7. started again (only when asked)
if [ "$START" = yes ]; then
    systemctl start "$SERVICE" || die "systemctl start $SERVICE failed"
    say "started $SERVICE"
else
    say "done; start hubd again (systemctl start $SERVICE)"
fi
