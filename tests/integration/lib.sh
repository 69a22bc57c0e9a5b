# lib.sh: helpers for the integration tests (POSIX sh). A test sources it:
#
#     . "$REPO/tests/integration/lib.sh"
#
# run.sh starts every test in a fresh, empty temporary directory with HUB_BIN
# (the directory holding hubctl) and REPO (the repository root) exported.
#
# Running a command:
#   run CMD ARGS...     runs CMD; its exit status goes to $RC, its standard
#                       output to the file $OUT, its standard error to $ERR.
#                       Never stops the test, whatever CMD does.
#   hub ARGS...         run "$HUB_BIN/hubctl" ARGS...
#
# Checking the last run (each prints "not ok: ..." with the command, its
# status and output when the check fails, and the test goes on):
#   expect_rc N                 exit status is N
#   expect_out_has TEXT         standard output holds TEXT (fixed string)
#   expect_out_lacks TEXT       standard output does not hold TEXT
#   expect_err_has TEXT         standard error holds TEXT
#   expect_err_lacks TEXT
#   expect_err_line_has A B     one line of standard error holds A and also B
#   expect_out_empty / expect_err_empty
#   expect_err_lines N          standard error has exactly N lines
# Other checks:
#   expect_same FILE1 FILE2     byte-identical (cmp)
#   expect_file FILE            FILE exists and is not empty
#   check WHAT CMD...           passes when CMD succeeds
#   fail WHAT                   records a failure
#
# finish                        last line of every test: prints a summary and
#                               exits 1 when a check failed.
#
# HUB_CONFIG is set to the shipped configuration so that hubctl finds the
# schemas from any directory; tests that want another pass --config/--schemas.

HUB_CONFIG=$REPO/config
export HUB_CONFIG
HUBCTL=$HUB_BIN/hubctl
# shellcheck disable=SC2034 # used by the tests that source this file
MSGS=$REPO/tests/data/messages

OUT=$PWD/.run.out
ERR=$PWD/.run.err
RC=0
CMD=
T_CHECKS=0
T_FAILED=0

run() {
    CMD=$*
    RC=0
    "$@" >"$OUT" 2>"$ERR" || RC=$?
}

hub() {
    run "$HUBCTL" "$@"
}

# Prints what the last run did, indented, for a failure report.
_t_context() {
    printf '      command: %s\n      exit status: %s\n' "$CMD" "$RC"
    if [ -s "$OUT" ]; then
        printf '      stdout:\n'
        head -n 15 "$OUT" | sed 's/^/        /'
    fi
    if [ -s "$ERR" ]; then
        printf '      stderr:\n'
        head -n 15 "$ERR" | sed 's/^/        /'
    fi
}

_t_pass() {
    T_CHECKS=$((T_CHECKS + 1))
}

# _t_fail WHAT [context]: records a failure; with "context", shows the last run.
_t_fail() {
    T_CHECKS=$((T_CHECKS + 1))
    T_FAILED=$((T_FAILED + 1))
    printf 'not ok: %s\n' "$1"
    if [ "${2:-}" = context ]; then
        _t_context
    fi
}

fail() {
    _t_fail "$*"
}

expect_rc() {
    if [ "$RC" -eq "$1" ]; then
        _t_pass
    else
        _t_fail "exit status $RC, expected $1" context
    fi
}

expect_out_has() {
    if grep -F -q -e "$1" "$OUT"; then
        _t_pass
    else
        _t_fail "stdout lacks '$1'" context
    fi
}

expect_out_lacks() {
    if grep -F -q -e "$1" "$OUT"; then
        _t_fail "stdout holds '$1'" context
    else
        _t_pass
    fi
}

expect_err_has() {
    if grep -F -q -e "$1" "$ERR"; then
        _t_pass
    else
        _t_fail "stderr lacks '$1'" context
    fi
}

expect_err_lacks() {
    if grep -F -q -e "$1" "$ERR"; then
        _t_fail "stderr holds '$1'" context
    else
        _t_pass
    fi
}

expect_err_line_has() {
    if grep -F -e "$1" "$ERR" | grep -F -q -e "$2"; then
        _t_pass
    else
        _t_fail "no stderr line holds both '$1' and '$2'" context
    fi
}

expect_out_empty() {
    if [ -s "$OUT" ]; then
        _t_fail "stdout is not empty" context
    else
        _t_pass
    fi
}

expect_err_empty() {
    if [ -s "$ERR" ]; then
        _t_fail "stderr is not empty" context
    else
        _t_pass
    fi
}

expect_err_lines() {
    n=$(wc -l <"$ERR" | tr -d ' ')
    if [ "$n" -eq "$1" ]; then
        _t_pass
    else
        _t_fail "stderr has $n lines, expected $1" context
    fi
}

expect_same() {
    if cmp -s "$1" "$2"; then
        _t_pass
    else
        _t_fail "$1 and $2 differ: $(cmp "$1" "$2" 2>&1 | head -n 1)"
    fi
}

expect_file() {
    if [ -s "$1" ]; then
        _t_pass
    else
        _t_fail "$1 is missing or empty"
    fi
}

# check WHAT CMD...: passes when CMD succeeds; else records WHAT.
check() {
    _c_what=$1
    shift
    if "$@"; then
        _t_pass
    else
        _t_fail "$_c_what"
    fi
}

# line_of FILE RE: the number of the first line of FILE matching the basic
# regular expression RE (nothing when none does).
line_of() {
    grep -n -e "$2" "$1" | head -n 1 | cut -d: -f1
}

# replace_line FILE N TEXT: line N of FILE becomes TEXT (written as is).
replace_line() {
    T_TEXT=$3 awk -v n="$2" 'NR == n { print ENVIRON["T_TEXT"]; next } { print }' "$1" \
        >"$1.tmp" && mv "$1.tmp" "$1"
}

# within CMD...: polls CMD (every 0.2 s, for at most 8 s: hubd's timers
# tick each second) until it succeeds.
within() {
    _w=0
    while [ $_w -lt 40 ]; do
        "$@" && return 0
        sleep 0.2
        _w=$((_w + 1))
    done
    return 1
}

# need_python_zmq: sets PY to /usr/bin/python3, or ends the test with a
# SKIP line (passing) when it cannot import zmq and msgpack (tools/deps.sh
# installs python3-zmq and python3-msgpack).
need_python_zmq() {
    PY=/usr/bin/python3
    if ! [ -x "$PY" ] || ! "$PY" -c 'import zmq, msgpack' >/dev/null 2>&1; then
        echo "SKIP: $PY cannot import zmq and msgpack (apt-get install python3-zmq python3-msgpack)"
        exit 0
    fi
}

finish() {
    if [ "$T_FAILED" -gt 0 ]; then
        printf '%s of %s checks failed\n' "$T_FAILED" "$T_CHECKS"
        exit 1
    fi
    printf 'all %s checks passed\n' "$T_CHECKS"
    exit 0
}
