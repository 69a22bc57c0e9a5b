#!/bin/sh
# Installs the Debian packages the hub needs, when any is missing.
# As root it runs apt-get (with one 'apt-get update' first); otherwise it
# prints the exact command to run and fails.
set -eu
PKGS="build-essential pkg-config libzmq3-dev libmsgpack-dev liblmdb-dev lmdb-utils \
libyaml-dev libcunit1-dev libjansson-dev libsodium-dev libmicrohttpd-dev clang python3-zmq python3-msgpack python3-yaml"
missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0
echo "deps: missing Debian packages:$missing"
if [ "$(id -u)" -ne 0 ]; then
    echo "deps: run as root: apt-get update && apt-get install -y$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends $missing
