"""Checks a hub-sink inbox (JSON lines) as a department's software sees it.

    sink_check.py DIR ENDPOINT [--with-part]

Reads every finished file ENDPOINT-YYYYMMDDTHHMMSS-FIRST.jsonl in DIR (and,
with --with-part, the part file being written) in name order, and checks
that each name's FIRST is the first record's seq, that every line is one
JSON object ending in a line feed with the keys hub-sink writes, and that
the seqs run consecutively with no gap and no repeat. Prints

    files F records N first A last B

and exits 0, or prints what is wrong and exits 1. Used by test_sink.sh,
test_sink_crash.sh and test_sink_dack.sh.
"""
import json
import os
import re
import sys

KEYS = ["seq", "id", "origin_id", "type", "rules", "purposes", "legal_bases", "ruleset",
        "masked", "received_at", "message"]


def fail(why):
    print("bad inbox: " + why)
    sys.exit(1)


def main():
    if len(sys.argv) < 3:
        fail("usage: sink_check.py DIR ENDPOINT [--with-part]")
    folder, endpoint = sys.argv[1], sys.argv[2]
    with_part = "--with-part" in sys.argv[3:]
    name_re = re.compile(re.escape(endpoint) + r"-\d{8}T\d{6}-(\d+)\.jsonl(\.part)?$")
    names = []
    for name in os.listdir(folder):
        m = name_re.match(name)
        if m and (with_part or not m.group(2)):
            names.append((int(m.group(1)), name))
    names.sort()
    expected = None
    first = None
    records = 0
    for start, name in names:
        with open(os.path.join(folder, name), "rb") as f:
            data = f.read()
        if data and not data.endswith(b"\n"):
            fail(name + ": the last line is torn")
        lines = data.split(b"\n")[:-1] if data else []
        if lines and expected is not None and start != expected:
            fail("%s: starts at %d, expected %d" % (name, start, expected))
        for i, line in enumerate(lines):
            try:
                rec = json.loads(line.decode("utf-8"))
            except ValueError as e:
                fail("%s:%d: not JSON: %s" % (name, i + 1, e))
            if list(rec.keys()) != KEYS:
                fail("%s:%d: keys %s" % (name, i + 1, list(rec.keys())))
            want = start + i if i == 0 or expected is None else expected
            if rec["seq"] != want:
                fail("%s:%d: seq %d, expected %d" % (name, i + 1, rec["seq"], want))
            first = rec["seq"] if first is None else first
            expected = rec["seq"] + 1
            records += 1
    last = expected - 1 if expected is not None else 0
    print("files %d records %d first %d last %d" % (len(names), records, first or 0, last))


main()
