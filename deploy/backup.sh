#!/bin/sh
# deploy/backup.sh: a hot backup of the hub; hubd keeps running
# (docs/OPERATIONS.md, "Backup and restore"). Run it as the hub's user.
#
#   DEST/hub-YYYYMMDDTHHMMSSZ/
#     store/data.mdb   `mdb_copy -c` of the store: one LMDB read transaction,
#                      so a consistent moment of it (every message, queue
#                      entry, cursor and audit record committed before that
#                      moment, nothing after), compacted
#     config/          the configuration directory, keys included, modes kept
#     MANIFEST         when, from where, and the entries of every database
#     SHA256SUMS       a checksum of every file (restore.sh checks them)
#
# The backup is made under the name hub-....partial and renamed only when
# complete, so a directory named hub-YYYYMMDDTHHMMSSZ is always whole. It
# holds the hub's secret keys: keep DEST as private as /etc/hub/keys (the
# directories are made 0700).
#
# usage: backup.sh [--config DIR] [--store DIR] [--dest DIR] [--keep N]
#   --config DIR   the configuration directory (default /etc/hub)
#   --store DIR    the store (default: `store` in DIR/hub.yaml, relative to
#                  DIR; ../var/store when hub.yaml has none)
#   --dest DIR     where backups go (default /var/backups/hub)
#   --keep N       then remove all but the N newest backups (default: keep all)
# Prints the backup's directory on the last line. Exit status: 0 done,
# 1 failure (nothing is left behind but the .partial directory, removed),
# 2 bad usage.
set -eu

CONFIG=/etc/hub
STORE=
DEST=/var/backups/hub
KEEP=

usage() {
    echo "backup.sh: $*" >&2
    echo "usage: backup.sh [--config DIR] [--store DIR] [--dest DIR] [--keep N]" >&2
    exit 2
}
die() {
    echo "backup.sh: $*" >&2
    exit 1
}

while [ $# -gt 0 ]; do
    case $1 in
    --config | --store | --dest | --keep)
        [ $# -ge 2 ] || usage "option $1 needs a value"
        case $1 in
        --config) CONFIG=$2 ;;
        --store) STORE=$2 ;;
        --dest) DEST=$2 ;;
        --keep)
            case $2 in '' | *[!0-9]* | 0) usage "--keep takes a number from 1, not '$2'" ;; esac
            KEEP=$2
            ;;
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

command -v mdb_copy >/dev/null 2>&1 || die "mdb_copy not found (Debian: apt-get install lmdb-utils)"
[ -f "$CONFIG/hub.yaml" ] || die "$CONFIG/hub.yaml: no such file (give --config DIR)"
CONFIG=$(cd "$CONFIG" && pwd -P)

# The store directory hub.yaml names (a plain scalar, quotes allowed).
store_of() {
    v=$(sed -n 's/^store:[[:space:]]*//p' "$1/hub.yaml" | sed 's/[[:space:]]#.*$//; s/[[:space:]]*$//' |
        sed "s/^\"\(.*\)\"\$/\1/; s/^'\(.*\)'\$/\1/" | tail -n 1)
    v=${v:-../var/store}
    case $v in /*) echo "$v" ;; *) echo "$1/$v" ;; esac
}
[ -n "$STORE" ] || STORE=$(store_of "$CONFIG")
[ -f "$STORE/data.mdb" ] || die "$STORE/data.mdb: no such file: not a hub store (give --store DIR)"
STORE=$(cd "$STORE" && pwd -P)

umask 077
mkdir -p "$DEST"
DEST=$(cd "$DEST" && pwd -P)
stamp=$(date -u +%Y%m%dT%H%M%SZ)
name=hub-$stamp
# Two backups in one second: the second waits for its own name.
while [ -e "$DEST/$name" ] || [ -e "$DEST/$name.partial" ]; do
    sleep 1
    stamp=$(date -u +%Y%m%dT%H%M%SZ)
    name=hub-$stamp
done
work=$DEST/$name.partial
cleanup() {
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$work/store"
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
mdb_copy -c "$STORE" "$work/store" || die "mdb_copy -c $STORE failed"
# The configuration with its keys, modes kept; the store is not in it
# even when hub.yaml puts it inside (it was copied above, consistently).
case $STORE in
"$CONFIG"/*) skip=./${STORE#"$CONFIG"/} ;;
*) skip=./.hub-no-such-path ;;
esac
mkdir "$work/config"
(cd "$CONFIG" && tar -cf - --exclude="$skip" .) | (cd "$work/config" && tar -xpf -) ||
    die "cannot copy $CONFIG"

# Entries per database of the copy: "name entries" lines (mdb_stat -a).
db_entries() {
    mdb_stat -a "$1" | awk '/^Status of / { db = $3 } /Entries:/ && db != "" { print db, $2; db = "" }'
}
entries=$(db_entries "$work/store") || die "the copy does not open: mdb_stat -a $work/store"
{
    echo "hub backup $name"
    echo "created: $started"
    echo "host: $(uname -n)"
    echo "config: $CONFIG"
    echo "store: $STORE"
    echo "method: mdb_copy -c (one read transaction; hubd kept running)"
    echo "store_bytes: $(wc -c <"$work/store/data.mdb" | tr -d ' ')"
    echo "databases (name entries):"
    printf '%s\n' "$entries" | sed 's/^/  /'
} >"$work/MANIFEST"
(cd "$work" && find store config -type f | LC_ALL=C sort | xargs -r sha256sum) >"$work/SHA256SUMS"
sync
mv "$work" "$DEST/$name"
trap - EXIT
sync

if [ -n "$KEEP" ]; then
    # Only whole backups count (never a .partial), oldest first by name.
    old=$(find "$DEST" -mindepth 1 -maxdepth 1 -type d -name 'hub-*' ! -name '*.partial' |
        LC_ALL=C sort | head -n "-$KEEP")
    printf '%s\n' "$old" | while IFS= read -r d; do
        if [ -n "$d" ]; then
            rm -rf "$d"
            echo "backup.sh: removed old backup $d"
        fi
    done
fi
echo "backup.sh: $(grep -c . "$DEST/$name/SHA256SUMS") files," \
    "store $(sed -n 's/^store_bytes: //p' "$DEST/$name/MANIFEST") bytes"
echo "$DEST/$name"
