#!/usr/bin/env python3
"""run_report: the readable summary at the end of `make run` (tools/run.sh).

    python3 tools/run_report.py RUN_DIR HUBCTL

RUN_DIR holds what run.sh made: data/manifest.json (the generator's
manifest), adapters/<mapping>.json (each hub-adapter run's JSON summary),
inbox/<endpoint>/*.jsonl (what each hub-sink wrote) and cfg/ (the
configuration). HUBCTL is the hubctl binary, used for the audit queries
that trace one example of each scenario. Standard library only.
"""

import glob
import json
import os
import subprocess
import sys
from collections import Counter, defaultdict


def load_json(path, default=None):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def adapters_part(run):
    print("== adapters: published and rejected, per department")
    per_dept = defaultdict(lambda: {"published": 0, "duplicate": 0, "skipped": 0,
                                    "rejected": 0, "reasons": Counter()})
    for path in sorted(glob.glob(os.path.join(run, "adapters", "*.json"))):
        name = os.path.basename(path)[:-5]
        s = load_json(path, {})
        dept = name.split("_")[0] if not name.startswith(("civil_affairs", "public_security",
                                                             "poverty_alleviation")) else \
            "_".join(name.split("_")[:2])
        d = per_dept[dept]
        for k in ("published", "duplicate", "skipped", "rejected"):
            d[k] += int(s.get(k, 0))
        d["reasons"].update(s.get("reasons", {}))
        print("  %-26s published %6d  duplicate %4d  skipped %4d  rejected %4d" % (
            name, s.get("published", 0), s.get("duplicate", 0), s.get("skipped", 0),
            s.get("rejected", 0)))
    print()
    for dept, d in sorted(per_dept.items()):
        top = ", ".join("%s %d" % (r, n) for r, n in d["reasons"].most_common(3)) or "-"
        print("  %-20s published %6d  rejected %4d  (top reasons: %s)" % (
            dept, d["published"], d["rejected"], top))
    print("  (rejected records, with file, line, column, value and reason: %s/rejected/)" % run)


def inbox_part(run):
    print()
    print("== deliveries, per endpoint and rule (from the department inboxes)")
    total = 0
    for epdir in sorted(glob.glob(os.path.join(run, "inbox", "*"))):
        ep = os.path.basename(epdir)
        by_rule = Counter()
        n = 0
        for f in sorted(glob.glob(os.path.join(epdir, "*.jsonl*"))):
            with open(f, encoding="utf-8") as fh:
                for line in fh:
                    line = line.strip()
                    if not line:
                        continue
                    try:
                        d = json.loads(line)
                    except ValueError:
                        continue
                    n += 1
                    by_rule[",".join(d.get("rules", []))] += 1
        if n == 0:
            continue
        total += n
        print("  %-26s %6d" % (ep, n))
        for rule, k in by_rule.most_common():
            print("      %-52s %6d" % (rule, k))
    print("  total deliveries in the inboxes: %d" % total)


def audit_query(hubctl, cfg, cid, extra=()):
    args = ["--subject", cid] if cid else list(extra)
    try:
        out = subprocess.run([hubctl, "audit", "query", "--config", cfg] + args +
                             ["--format", "json", "--limit", "50"],
                             capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, str(e)
    if out.returncode != 0:
        return None, out.stderr.strip()
    try:
        data = json.loads(out.stdout)
    except ValueError:
        return None, "hubctl audit query printed no JSON"
    if isinstance(data, dict):
        data = data.get("records", [])
    return data, None


def fields_text(rec):
    parts = []
    for f in rec.get("fields", []):
        if isinstance(f, dict):
            path, mask = f.get("path", "?"), f.get("mask", "none")
        else:
            path, mask = str(f), "none"
        parts.append(path if mask in ("none", None) else "%s[%s]" % (path, mask))
    return ", ".join(parts)


def scenarios_part(run, hubctl):
    manifest = load_json(os.path.join(run, "data", "manifest.json"), {})
    cfg = os.path.join(run, "cfg")
    print()
    print("== the five scenarios: one example each, traced through the audit")
    seen = set()
    for sc in manifest.get("scenarios", []):
        cid = sc.get("citizen_id")
        if not cid or (sc["scenario"], cid) in seen:
            continue
        seen.add((sc["scenario"], cid))
        print()
        print("  [%s] %s %s (%s, %s): %s" % (sc["scenario"], sc.get("name", ""),
                                           cid[:6] + "********" + cid[-4:],
                                           sc.get("department"), sc.get("type"),
                                           sc.get("what", "")))
        recs, err = audit_query(hubctl, cfg, cid)
        if err:
            print("      audit query failed: %s" % err)
            continue
        # This scenario's own disclosures: from its department, of its type
        # (a derived message, such as a poverty-risk alert, has its own type).
        same = [r for r in recs if r.get("type") == sc.get("type")
                and r.get("source") != sc.get("department")]
        recs = [r for r in recs if r.get("source") == sc.get("department")]
        if not recs and same:
            # One event, whoever reports it (one_event_per in the schema: a
            # death per person): a later report is stored, delivered to nobody.
            print("      one event: the same %s came first from %s and went out then; "
                  "this report was stored and delivered to nobody"
                  % (sc.get("type"), same[0].get("source")))
            continue
        if not recs:
            # A newborn has no citizen ID in the message (the certificate names
            # the mother): show the latest disclosures of that type instead.
            recs, err = audit_query(hubctl, cfg, None, ["--type", sc.get("type", ""),
                                                        "--source", sc.get("department", "")])
            recs = (recs or [])[-3:]
            if not recs:
                # A police birth registration after health's certificate is
                # the same birth (one event per certificate number) and has
                # no subject to find the certificate's disclosures by.
                print("      no %s from %s left the hub: each was a later report of an "
                      "event the hub had already (one event: stored, delivered to nobody), "
                      "or no rule shares it (default deny)"
                      % (sc.get("type"), sc.get("department")))
            else:
                print("      (the subject has no citizen ID of its own in these messages; "
                      "the last %d %s disclosures from %s:)" % (len(recs), sc.get("type"),
                                                               sc.get("department")))
        for r in recs[:8]:
            print("      -> %-24s %-24s rules %s" % (r.get("endpoint", "?"), r.get("type", "?"),
                                                     ",".join(r.get("rules", []))))
            print("         fields: %s" % fields_text(r))


def main():
    if len(sys.argv) != 3:
        print("usage: run_report.py RUN_DIR HUBCTL", file=sys.stderr)
        return 2
    run, hubctl = sys.argv[1], sys.argv[2]
    adapters_part(run)
    inbox_part(run)
    scenarios_part(run, hubctl)
    return 0


if __name__ == "__main__":
    sys.exit(main())
