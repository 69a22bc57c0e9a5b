#!/usr/bin/python3
"""Protocol checks of batches (docs/PROTOCOL.md, "Batches") that the
pyclient command line cannot make, with pyclient as the library:

  batch_check.py frames URL SERVER_PUB KEY_DIR NAME GOOD.json
      WELCOME offers max_batch 1024; PUBLISH_BATCH frames that are none
      (no messages, not an array, empty, over max_batch) are refused whole
      with one NACK carrying their ref; a frame mixing a good message, an
      item that is not bin and bytes that are no message is answered by
      one ACK_BATCH with a result per message, in order.
  batch_check.py full URL SERVER_PUB KEY_DIR NAME FILE...
      One PUBLISH_BATCH of every FILE into a hub whose store fills up on
      the way: one ACK_BATCH, every result store_full (those stored before
      the store filled are refused with it too, nothing is acknowledged).
  batch_check.py largest URL SERVER_PUB KEY_DIR NAME GOOD.json
      The largest PUBLISH_BATCH the protocol allows (docs/PROTOCOL.md,
      "Frames"): max_batch messages of exactly max_message bytes, a ref of
      8 bytes, about a GiB in one frame, passes hubd's frame-size cap and
      is answered by one ACK_BATCH (each message names another department
      as its source: refused source_mismatch, nothing stored); then the
      connection still takes a PUBLISH of GOOD.
  batch_check.py credit URL SERVER_PUB KEY_DIR NAME CREDIT
      Subscribes with CREDIT and batch 64 and acknowledges nothing: exactly
      CREDIT deliveries arrive, in order; after a DACK of them, CREDIT more.

Prints "ok WHAT" or "not ok WHAT" per check; exit status 1 when one failed.
"""

import os
import sys
import time

import msgpack

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pyclient  # noqa: E402

FAILED = []


def check(what, cond):
    print("%s %s" % ("ok" if cond else "not ok", what), flush=True)
    if not cond:
        FAILED.append(what)


def connect(url, server_pub, key_dir, name):
    pub, sec = pyclient.load_endpoint_keys(key_dir, name)
    conn = pyclient.Connection(url, pyclient.read_key(server_pub), pub, sec, "both")
    conn.connect()
    return conn


def answer(conn, want_ref, timeout_ms=5000):
    """The next ACK_BATCH/NACK/ERROR, skipping others; None after timeout."""
    deadline = time.monotonic() + timeout_ms / 1000.0
    while time.monotonic() < deadline:
        msg = conn.recv(int((deadline - time.monotonic()) * 1000) + 1)
        if msg and msg[0] in ("ACK_BATCH", "NACK", "ACK", "ERROR"):
            if msg[0] == "ERROR" or msg[1].get("ref") == want_ref:
                return msg
    return None


def cmd_frames(url, server_pub, key_dir, name, good_path):
    conn = connect(url, server_pub, key_dir, name)
    check("WELCOME max_batch is 1024 (got %r)" % conn.welcome.get("max_batch"),
          conn.welcome.get("max_batch") == 1024)
    good = pyclient.encode_message(pyclient.load_json_message(good_path))
    whole = [(1, {"ref": 1}, "malformed", "no messages"),
             (2, {"ref": 2, "messages": "x"}, "malformed", "messages not an array"),
             (3, {"ref": 3, "messages": []}, "malformed", "no message in messages"),
             (4, {"ref": 4, "messages": [good] * 1025}, "too_large", "1025 messages")]
    for ref, body, code, what in whole:
        conn.send("PUBLISH_BATCH", body)
        got = answer(conn, ref)
        check("%s: one NACK %s with ref %d (got %r)" % (what, code, ref, got and got[0]),
              got is not None and got[0] == "NACK" and got[1].get("code") == code)
    conn.send("PUBLISH_BATCH", {"ref": 5, "messages": [good, 7, b"\x93\x01\x02"]})
    got = answer(conn, 5)
    check("a mixed frame is answered by ACK_BATCH ref 5 (got %r)" % (got,),
          got is not None and got[0] == "ACK_BATCH")
    results = got[1].get("results", []) if got else []
    check("three results for three messages (got %d)" % len(results), len(results) == 3)
    if len(results) == 3:
        a, b, c = results
        check("results[0] acks the good message (%r)" % a,
              "code" not in a and isinstance(a.get("log_seq"), int) and
              isinstance(a.get("duplicate"), bool) and isinstance(a.get("id"), str))
        check("results[1]: an item that is not bin is malformed (%r)" % b,
              b.get("code") == "malformed" and b.get("reason") == "messages[1] is not bin")
        check("results[2]: bytes that are no message are malformed, with problems (%r)" % c,
              c.get("code") == "malformed" and len(c.get("problems") or []) >= 1)
        check("no result carries ref", all("ref" not in r for r in results))
    # A batch whose messages were all refused is answered at once, too.
    conn.send("PUBLISH_BATCH", {"ref": 6, "messages": [b"\x93\x01\x02"]})
    t0 = time.monotonic()
    got = answer(conn, 6)
    check("an all-refused batch is answered (%r) promptly" % (got and got[0]),
          got is not None and got[0] == "ACK_BATCH" and time.monotonic() - t0 < 2 and
          got[1]["results"][0].get("code") == "malformed")
    conn.bye()
    conn.close()


def cmd_full(url, server_pub, key_dir, name, files):
    conn = connect(url, server_pub, key_dir, name)
    msgs = [pyclient.encode_message(pyclient.load_json_message(f)) for f in files]
    conn.send("PUBLISH_BATCH", {"ref": 1, "messages": msgs})
    got = answer(conn, 1, 20000)
    check("one ACK_BATCH (got %r)" % (got and got[0]), got is not None and got[0] == "ACK_BATCH")
    results = got[1].get("results", []) if got else []
    codes = sorted(set(r.get("code", "ack") for r in results))
    check("%d results, all store_full (got %d, codes %r)" % (len(msgs), len(results), codes),
          len(results) == len(msgs) and codes == ["store_full"])
    conn.bye()
    conn.close()


def sized_message(good_path, size):
    """GOOD_PATH's message, with the health department as its source, grown
    to exactly SIZE bytes by body fields pad_NN of text (under 64 KiB each:
    the hub's limit for one string)."""
    msg = pyclient.load_json_message(good_path)
    msg = pyclient.Pairs((k, "health" if k == "source" else v) for k, v in msg)
    body = next(v for k, v in msg if k == "body")
    n = 0
    while len(pyclient.encode_message(msg)) + 60000 < size:
        body.append(("pad_%02d" % n, "x" * 60000))
        n += 1
    body.append(("pad_%02d" % n, ""))
    rest = size - len(pyclient.encode_message(msg)) + 1   # the last text with its header
    header = 3 if rest - 3 >= 256 else 2 if rest - 2 >= 32 else 1
    body[-1] = (body[-1][0], "x" * (rest - header))
    return pyclient.encode_message(msg)


def cmd_largest(url, server_pub, key_dir, name, good_path):
    conn = connect(url, server_pub, key_dir, name)
    max_batch, max_message = conn.welcome.get("max_batch"), conn.welcome.get("max_message")
    big = sized_message(good_path, max_message)
    check("a message of exactly max_message bytes (%d, got %d)" % (max_message, len(big)),
          len(big) == max_message)
    ref = 2 ** 64 - 1
    body = {"ref": ref, "messages": [big] * max_batch}
    frame = len(msgpack.packb(body, use_bin_type=True))
    check("the frame holds max_batch x (max_message + 5) bytes and more (%d)" % frame,
          frame > max_batch * (max_message + 5))
    conn.heartbeat_ms = 60000   # a GiB is encrypted and decrypted in seconds, not at once
    conn.send("PUBLISH_BATCH", body)
    body = None
    got = answer(conn, ref, 120000)
    check("one ACK_BATCH (got %r)" % (got and got[0]), got is not None and got[0] == "ACK_BATCH")
    results = got[1].get("results", []) if got else []
    codes = sorted(set(r.get("code", "ack") for r in results))
    check("%d results, all source_mismatch (got %d, codes %r)" % (max_batch, len(results), codes),
          len(results) == max_batch and codes == ["source_mismatch"])
    good = pyclient.encode_message(pyclient.load_json_message(good_path))
    conn.send("PUBLISH", {"ref": 2, "message": good})
    got = answer(conn, 2, 20000)
    check("the connection is still served: ACK of the good message (got %r)" % (got,),
          got is not None and got[0] == "ACK")
    conn.bye()
    conn.close()


def collect(conn, endpoint, seconds):
    """Deliveries received within SECONDS: [(command, [seq, ...]), ...]."""
    frames = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        msg = conn.recv(int((deadline - time.monotonic()) * 1000) + 1)
        if msg is None:
            continue
        command, body = msg
        if command == "DELIVER":
            frames.append((command, [body.get("seq")]))
        elif command == "DELIVER_BATCH":
            ds = body.get("deliveries", [])
            frames.append((command, [d.get("seq") for d in ds]))
            check("DELIVER_BATCH names the endpoint, and each delivery too",
                  body.get("endpoint") == endpoint and
                  all(d.get("endpoint") == endpoint for d in ds))
    return frames


def cmd_credit(url, server_pub, key_dir, name, credit):
    conn = connect(url, server_pub, key_dir, name)
    ep = conn.welcome["identity"]
    conn.send("SUBSCRIBE", {"endpoint": ep, "credit": credit, "batch": 64})
    sub = None
    while sub is None:
        msg = conn.recv(5000)
        if msg is None:
            check("SUBSCRIBED", False)
            return
        sub = msg[1] if msg[0] == "SUBSCRIBED" else None
    acked = sub["acked"]
    check("there are more than 2 x %d deliveries waiting (acked %d last %d)"
          % (credit, acked, sub["last"]), sub["last"] - acked > 2 * credit)
    frames = collect(conn, ep, 1.0)
    seqs = [s for _, f in frames for s in f]
    check("credit %d: exactly %d deliveries in flight, in order (got %r in %r)"
          % (credit, credit, seqs, [c for c, _ in frames]),
          seqs == list(range(acked + 1, acked + 1 + credit)))
    check("they came batched (%r)" % [c for c, _ in frames],
          any(c == "DELIVER_BATCH" for c, _ in frames))
    conn.send("DACK", {"endpoint": ep, "seq": acked + credit})
    frames = collect(conn, ep, 1.0)
    seqs = [s for _, f in frames for s in f]
    check("after the DACK: the next %d (got %r)" % (credit, seqs),
          seqs == list(range(acked + credit + 1, acked + 1 + 2 * credit)))
    conn.bye()
    conn.close()


def main(argv):
    if len(argv) == 7 and argv[1] == "frames":
        cmd_frames(*argv[2:])
    elif len(argv) >= 7 and argv[1] == "full":
        cmd_full(*argv[2:6], argv[6:])
    elif len(argv) == 7 and argv[1] == "largest":
        cmd_largest(*argv[2:])
    elif len(argv) == 7 and argv[1] == "credit":
        cmd_credit(*argv[2:6], int(argv[6]))
    else:
        sys.stderr.write(__doc__)
        return 2
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
