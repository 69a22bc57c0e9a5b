"""Checks a hub-sink inbox (JSON lines) as a department's software sees it.

    sink_check.py DIR ENDPOINT [--with-part] [--rejected REPORT]

Reads every finished file ENDPOINT-YYYYMMDDTHHMMSS-FIRST.jsonl in DIR (and,
with --with-part, the part file being written) in name order, and checks
that each name's FIRST is the first record's seq, that every line is one
JSON object ending in a line feed with the keys hub-sink writes, and that
the seqs run consecutively with no gap and no repeat. Prints

    files F records N first A last B

and exits 0, or prints what is wrong and exits 1. With --rejected, REPORT
is hub-sink's report of rejected deliveries (DIR/ENDPOINT.rejected; may be
missing: nothing was rejected): every line of it must be one JSON object
with the keys hub-sink writes, for ENDPOINT, its body base64, each seq
once and none that the inbox holds; a gap between two files of the inbox
is then allowed where every seq of it is in the report, and a second line
says

    rejected K: 7, 9..11

Used by test_sink.sh, test_sink_crash.sh and test_sink_dack.sh.
"""
import base64
import binascii
import json
import os
import re
import sys

KEYS = ["seq", "id", "origin_id", "type", "rules", "purposes", "legal_bases", "ruleset",
        "masked", "received_at", "message"]
REPORT_KEYS = ["seq", "store_id", "endpoint", "id", "origin_id", "type", "rejected_at",
               "reason", "body"]


def fail(why):
    print("bad inbox: " + why)
    sys.exit(1)


def ranges(seqs):
    """SEQS as "7, 9..11" ("none" when empty)."""
    out = []
    for q in sorted(seqs):
        if out and out[-1][1] == q - 1:
            out[-1][1] = q
        else:
            out.append([q, q])
    return ", ".join("%d..%d" % (a, b) if a < b else "%d" % a for a, b in out) or "none"


def read_report(path, endpoint):
    """The seqs of report PATH, each line checked."""
    if not os.path.exists(path):
        return set()
    seqs = set()
    with open(path, "rb") as f:
        data = f.read()
    if data and not data.endswith(b"\n"):
        fail(path + ": the last line is torn")
    for i, line in enumerate(data.split(b"\n")[:-1] if data else []):
        where = "%s:%d" % (path, i + 1)
        try:
            rec = json.loads(line.decode("utf-8"))
        except ValueError as e:
            fail("%s: not JSON: %s" % (where, e))
        if not isinstance(rec, dict) or list(rec.keys()) != REPORT_KEYS:
            fail("%s: keys %s" % (where, list(rec.keys()) if isinstance(rec, dict) else rec))
        if not isinstance(rec["seq"], int) or rec["seq"] < 1 or rec["endpoint"] != endpoint:
            fail("%s: seq %r, endpoint %r" % (where, rec["seq"], rec["endpoint"]))
        if not rec["reason"] or not rec["rejected_at"]:
            fail("%s: no reason or time" % where)
        try:
            base64.b64decode(rec["body"], validate=True)
        except (binascii.Error, TypeError) as e:
            fail("%s: body is not base64: %s" % (where, e))
        if rec["seq"] in seqs:
            fail("%s: seq %d is reported twice" % (where, rec["seq"]))
        seqs.add(rec["seq"])
    return seqs


def explained(frm, to, rejected):
    """True when every seq from FRM up to TO (excluded) was rejected."""
    return frm < to and all(q in rejected for q in range(frm, to))


def main():
    if len(sys.argv) < 3:
        fail("usage: sink_check.py DIR ENDPOINT [--with-part] [--rejected REPORT]")
    folder, endpoint = sys.argv[1], sys.argv[2]
    opts = sys.argv[3:]
    with_part = "--with-part" in opts
    report = opts[opts.index("--rejected") + 1] if "--rejected" in opts[:-1] else None
    rejected = read_report(report, endpoint) if report else set()
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
        if lines and expected is not None and start != expected and \
                not explained(expected, start, rejected):
            fail("%s: starts at %d, expected %d" % (name, start, expected))
        for i, line in enumerate(lines):
            try:
                rec = json.loads(line.decode("utf-8"))
            except ValueError as e:
                fail("%s:%d: not JSON: %s" % (name, i + 1, e))
            if list(rec.keys()) != KEYS:
                fail("%s:%d: keys %s" % (name, i + 1, list(rec.keys())))
            want = start + i if i == 0 or expected is None else expected
            if rec["seq"] != want:  # within a file never a gap: hub-sink starts a new one
                fail("%s:%d: seq %d, expected %d" % (name, i + 1, rec["seq"], want))
            if rec["seq"] in rejected:
                fail("%s:%d: seq %d is in the report too" % (name, i + 1, rec["seq"]))
            first = rec["seq"] if first is None else first
            expected = rec["seq"] + 1
            records += 1
    last = expected - 1 if expected is not None else 0
    print("files %d records %d first %d last %d" % (len(names), records, first or 0, last))
    if report:
        print("rejected %d: %s" % (len(rejected), ranges(rejected)))


if __name__ == "__main__":
    main()
