#!/usr/bin/python3
"""A stand-in for hubd, at the protocol level (docs/PROTOCOL.md), that
watches what hub-sink acknowledges. Used by test_sink_dack.sh.

    sink_fake_hub.py KEY_DIR ENDPOINT N INBOX URL_FILE [UNREADABLE_FILE [UPTO_FILE]]

Binds a ROUTER socket on a free port of 127.0.0.1 (CURVE with the hub's
secret key KEY_DIR/hub.key; without a ZAP handler libzmq admits every
client key) and writes its address to URL_FILE once it listens. It serves
one endpoint, ENDPOINT, whose queue holds N deliveries (seq 1..N: deaths
made from the sample message, each its own id), as hubd does: HELLO,
SUBSCRIBE (answered with the cursor), DELIVER_BATCH within the credit,
DACK moving the cursor, which outlives connections as hubd's store does.

Every DACK is checked against the inbox directory INBOX at the moment it
arrives: hub-sink sends it only after the fsync, so every seq up to the one
it names must be in ENDPOINT's files there, or in its report of rejected
deliveries there (ENDPOINT.rejected, one JSON line per delivery, docs/
ADAPTERS.md "hub-sink"). Prints one line per event:

    subscribe acked A credit C
    deliver FIRST..LAST [unreadable K]
    violation: DACK S while the inbox lacks seq K (it holds 1..6, 8..12;
               the report 7)
    dack S                           (after its violation line, if any)
    bye                              (the client said BYE: after its last DACK,
                                      since ZeroMQ keeps a connection's order)

While the file UNREADABLE_FILE exists it holds a seq K per line ("K
envelope": the delivery itself then carries no message, as no hub should
send it): each delivery K is then
sent as one this hub-sink cannot read (its message carries an envelope
key that this build does not know, as a newer hub's might); removing the
file removes the cause, and K is sent readable from then on.

While the file UPTO_FILE exists it holds a seq U: the queue holds only
1..U for now (SUBSCRIBED last, deliveries), as if the rest were published
later; removing the file publishes them.

Stops by itself after 120 s; SIGTERM stops it at once.
"""

import json
import os
import re
import sys
import time

import msgpack
import zmq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pyclient  # noqa: E402
from sink_check import ranges  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SAMPLE = os.path.join(REPO, "tests", "data", "messages", "person.death.json")
STORE_ID = "5ca1ab1e0ddba11f00dfacade5eed001"
LIFETIME_S = 120
RULE = "death-civil-affairs"


def send(sock, rid, command, body):
    sock.send_multipart([rid, command.encode(), msgpack.packb(body, use_bin_type=True)])


def message(seq, unreadable):
    """The canonical msgpack of death SEQ (the sample with its own id)."""
    m = pyclient.load_json_message(SAMPLE)
    m = pyclient.Pairs((k, "dead%028x" % seq if k == "id" else v) for k, v in m)
    if unreadable:
        m.append(("trace_id", "t-%d" % seq))
    return pyclient.encode_message(m)


def delivery(endpoint, seq, unreadable, envelope=False):
    """Delivery SEQ; UNREADABLE: its message cannot be read; ENVELOPE too:
    the delivery itself carries no message (not as docs/PROTOCOL.md says)."""
    mid = "dead%028x" % seq
    d = {"endpoint": endpoint, "seq": seq, "eseq": seq, "log_seq": seq, "id": mid,
         "origin_id": mid, "type": "person.death", "rules": [RULE],
         "purposes": ["test"], "legal_bases": ["test"], "ruleset": "0" * 64,
         "fields": [{"path": "body.death_date", "rule": RULE, "mask": "none"}],
         "message": message(seq, unreadable)}
    if unreadable and envelope:
        del d["message"]
    return d


def file_seq(path):
    """The seq in file PATH (None: no file, or not a number)."""
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def inbox_seqs(folder, endpoint):
    """The seqs of every record in ENDPOINT's files in FOLDER (finished or
    being written)."""
    name_re = re.compile(re.escape(endpoint) + r"-\d{8}T\d{6}-\d+\.jsonl(\.part)?$")
    seqs = set()
    for name in os.listdir(folder) if os.path.isdir(folder) else []:
        if name_re.match(name):
            with open(os.path.join(folder, name), "rb") as f:
                for line in f:
                    m = re.match(rb'\{"seq":(\d+)[,}]', line)
                    if m and line.endswith(b"\n"):
                        seqs.add(int(m.group(1)))
    return seqs


def report_seqs(folder, endpoint):
    """The seqs of the complete lines of ENDPOINT's report of rejected
    deliveries in FOLDER (none when there is no report)."""
    seqs = set()
    try:
        with open(os.path.join(folder, endpoint + ".rejected"), "rb") as f:
            for line in f:
                try:
                    if line.endswith(b"\n"):
                        seqs.add(json.loads(line)["seq"])
                except (ValueError, KeyError, TypeError):
                    pass  # not a line hub-sink writes: its seq is not there
    except FileNotFoundError:
        pass
    return seqs


class Hub:
    """The endpoint's queue, its cursor and the sessions of one ROUTER socket."""

    def __init__(self, sock, endpoint, n, inbox, unreadable_file, upto_file):
        self.sock = sock
        self.endpoint = endpoint
        self.n = n
        self.inbox = inbox
        self.unreadable_file = unreadable_file
        self.upto_file = upto_file
        self.cursor = 0        # the highest seq acknowledged (hubd's stored cursor)
        self.sessions = {}     # routing id -> {"credit", "batch", "next"} once subscribed

    def last(self):
        """The last seq in the queue: N, or less while UPTO_FILE says so."""
        upto = file_seq(self.upto_file) if self.upto_file else None
        return self.n if upto is None else min(self.n, upto)

    def unreadable(self):
        """{K: ENVELOPE} from UNREADABLE_FILE: a line "K" or "K envelope"
        per unreadable seq (empty when there is none)."""
        bad = {}
        try:
            with open(self.unreadable_file or "") as f:
                for line in f:
                    words = line.split()
                    if words:
                        bad[int(words[0])] = words[1:] == ["envelope"]
        except (OSError, ValueError):
            pass
        return bad

    def pump(self, rid):
        """Sends what the session's credit allows, in one DELIVER_BATCH."""
        s = self.sessions.get(rid)
        if not s:
            return
        room = s["credit"] - (s["next"] - 1 - self.cursor)
        last = min(self.last(), s["next"] + min(room, s["batch"]) - 1)
        if last < s["next"]:
            return
        bad = self.unreadable()
        ds = [delivery(self.endpoint, q, q in bad, bad.get(q, False))
              for q in range(s["next"], last + 1)]
        send(self.sock, rid, "DELIVER_BATCH", {"endpoint": self.endpoint, "deliveries": ds})
        note = "".join(" unreadable %d%s" % (q, " envelope" if bad[q] else "")
                       for q in sorted(bad) if s["next"] <= q <= last)
        print("deliver %d..%d%s" % (s["next"], last, note), flush=True)
        s["next"] = last + 1

    def dack(self, rid, seq):
        have = inbox_seqs(self.inbox, self.endpoint)
        rejected = report_seqs(self.inbox, self.endpoint)
        lacking = [q for q in range(1, seq + 1) if q not in have and q not in rejected]
        if lacking:
            print("violation: DACK %d while the inbox lacks seq %d (it holds %s; the report %s)"
                  % (seq, lacking[0], ranges(have), ranges(rejected)), flush=True)
        print("dack %d" % seq, flush=True)
        s = self.sessions.get(rid)
        # A DACK beyond what was delivered counts up to the last delivered.
        delivered = s["next"] - 1 if s else self.cursor
        self.cursor = max(self.cursor, min(seq, delivered))
        self.pump(rid)

    def handle(self, rid, command, body):
        if command == "HELLO":
            self.sessions.pop(rid, None)
            send(self.sock, rid, "WELCOME",
                 {"protocol": 1, "identity": self.endpoint, "department": "civil_affairs",
                  "heartbeat_ms": 1000, "ack_timeout_ms": 30000, "max_message": 1 << 20,
                  "ruleset": "0" * 64, "may_publish": [], "max_batch": 1024})
            self.sessions[rid] = None
        elif rid not in self.sessions:
            send(self.sock, rid, "ERROR", {"code": "hello_first", "reason": "say HELLO"})
        elif command == "SUBSCRIBE":
            credit = body.get("credit") or 64
            self.sessions[rid] = {"credit": credit, "batch": max(1, body.get("batch") or 1),
                                  "next": self.cursor + 1}
            print("subscribe acked %d credit %d" % (self.cursor, credit), flush=True)
            send(self.sock, rid, "SUBSCRIBED", {"endpoint": self.endpoint, "acked": self.cursor,
                                                "last": self.last(), "store_id": STORE_ID})
            self.pump(rid)
        elif command == "DACK" and isinstance(body.get("seq"), int):
            self.dack(rid, body["seq"])
        elif command == "BYE":
            self.sessions.pop(rid, None)
            print("bye", flush=True)


def main():
    if len(sys.argv) not in (6, 7, 8):
        sys.stderr.write(__doc__)
        return 2
    key_dir, endpoint, n, inbox, url_file = sys.argv[1:6]
    ctx = zmq.Context()
    sock = ctx.socket(zmq.ROUTER)
    sock.linger = 0
    sock.curve_server = True
    sock.curve_secretkey = pyclient.read_key(os.path.join(key_dir, "hub.key"))
    # Below Linux's ephemeral range, as hubd_lib.sh picks hubd's port.
    port = sock.bind_to_random_port("tcp://127.0.0.1", 21000, 32000)
    with open(url_file + ".tmp", "w") as f:
        f.write("tcp://127.0.0.1:%d\n" % port)
    os.rename(url_file + ".tmp", url_file)
    hub = Hub(sock, endpoint, int(n), inbox, sys.argv[6] if len(sys.argv) > 6 else None,
              sys.argv[7] if len(sys.argv) > 7 else None)
    deadline = time.monotonic() + LIFETIME_S
    while time.monotonic() < deadline:
        if not sock.poll(200):
            continue
        frames = sock.recv_multipart()
        if len(frames) != 3:
            continue
        try:
            body = msgpack.unpackb(frames[2], raw=False)
        except ValueError:
            body = None
        if isinstance(body, dict):
            hub.handle(frames[0], frames[1].decode("ascii", "replace"), body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
