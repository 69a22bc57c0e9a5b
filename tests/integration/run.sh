#!/bin/sh
# Integration tests: runs every tests/integration/test_*.sh against the real
# binaries. `make test` runs it from the repository root as
#
#     HUB_BIN=/abs/path/to/bin sh tests/integration/run.sh [NAME...]
#
# Each test runs in a fresh temporary directory (removed afterwards) with
# HUB_BIN and REPO (the repository root) exported, and sources lib.sh. NAMEs
# (e.g. test_hubctl_msg) run only those tests. One line per test, "PASS name"
# or "FAIL name" (followed by the test's own report), then
# "integration: N passed, M failed"; the exit status is 1 when any failed.
# VERBOSE=1 shows the report of passing tests too.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$here/../.." && pwd)

if [ -z "${HUB_BIN:-}" ]; then
    echo "run.sh: set HUB_BIN to the directory holding hubctl" >&2
    exit 2
fi
if [ ! -x "$HUB_BIN/hubctl" ]; then
    echo "run.sh: no executable $HUB_BIN/hubctl (run make first)" >&2
    exit 2
fi
HUB_BIN=$(cd "$HUB_BIN" && pwd)
export HUB_BIN REPO

logs=$(mktemp -d "${TMPDIR:-/tmp}/hub-integration.XXXXXX")
work=
cleanup() {
    if [ -n "$work" ]; then
        rm -rf "$work"
    fi
    rm -rf "$logs"
}
trap cleanup EXIT
trap 'cleanup; exit 129' HUP
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 141' PIPE
trap 'cleanup; exit 143' TERM

# Stops a test that hangs (when coreutils' timeout is there).
limit=
if command -v timeout >/dev/null 2>&1; then
    limit="timeout ${HUB_TEST_TIMEOUT:-300}"
fi

wanted() {
    if [ $# -eq 0 ]; then
        return 0
    fi
    for w in "$@"; do
        if [ "$w" = "$name" ] || [ "$w" = "$name.sh" ]; then
            return 0
        fi
    done
    return 1
}

passed=0
failed=0
for t in "$here"/test_*.sh; do
    [ -f "$t" ] || continue
    name=$(basename "$t" .sh)
    wanted "$@" || continue
    work=$(mktemp -d "${TMPDIR:-/tmp}/hub-$name.XXXXXX")
    log=$logs/$name.log
    status=0
    (cd "$work" && exec $limit sh "$t") >"$log" 2>&1 </dev/null || status=$?
    rm -rf "$work"
    work=
    if [ "$status" -eq 0 ]; then
        passed=$((passed + 1))
        echo "PASS $name"
        if [ "${VERBOSE:-0}" != 0 ]; then
            sed 's/^/    /' "$log"
        fi
    else
        failed=$((failed + 1))
        echo "FAIL $name"
        if [ "$status" -eq 124 ] && [ -n "$limit" ]; then
            echo "    (timed out)"
        fi
        sed 's/^/    /' "$log"
    fi
done

echo "integration: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
