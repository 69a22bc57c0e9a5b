#!/usr/bin/python3
"""A client of the hub, written from docs/PROTOCOL.md and docs/SCHEMAS.md only.

It checks that the documents are enough to write a client in another
language. Library (import pyclient) and command line:

  pyclient.py publish URL SERVER_PUB KEY_DIR NAME FILE...
      Publishes each FILE (a JSON canonical message, docs/SCHEMAS.md) as the
      endpoint NAME (keys KEY_DIR/NAME.pub, KEY_DIR/NAME.key), with a window
      of publishes in flight. One line per FILE, in argument order:
          ack FILE log_seq N [duplicate]
          nack FILE CODE REASON
      and after a nack one line per problem:
          problem FILE WHERE REASON: MESSAGE
      Exit status 0 when every FILE was acknowledged, 1 otherwise.
      With PYCLIENT_BATCH=N the files go N to a PUBLISH_BATCH (docs/PROTOCOL.md,
      "Batches"; the hub must offer max_batch), answered by ACK_BATCH.

  pyclient.py consume URL SERVER_PUB KEY_DIR NAME COUNT TIMEOUT_MS [ENDPOINT]
      Subscribes to ENDPOINT (default: the identity WELCOME names) and takes
      up to COUNT deliveries, stopping after TIMEOUT_MS without one. Prints
          subscribed acked A last L
          deliver SEQ ID TYPE
      and acknowledges each delivery after checking that its `message` is a
      canonical message holding exactly the fields DELIVER.fields lists.
      A check that fails prints "bad SEQ WHAT" and stops (exit 1) without
      acknowledging; an ERROR prints "error CODE REASON" (exit 1).
      With PYCLIENT_BATCH=N it asks for up to N deliveries per frame
      (SUBSCRIBE batch) and also prints, before the deliveries of each
      frame, "frame DELIVER 1" or "frame DELIVER_BATCH K" (PYCLIENT_FRAMES=1
      prints those lines without asking for batches).
      PYCLIENT_CREDIT sets the credit (default: COUNT, at most 64).

  pyclient.py encode FILE         canonical msgpack of a JSON message, in hex
  pyclient.py token HUB_KEY NAME  the PLAIN token of endpoint NAME, derived as
                                  docs/PROTOCOL.md says from the hub's secret key
                                  (the Z85 file HUB_KEY)
  pyclient.py selftest            the 39-byte example of docs/PROTOCOL.md

Keys are Z85 text files (40 characters, a trailing newline allowed).
With PYCLIENT_SECURITY=plain, publish and consume connect to a hub whose
hub.yaml says security: plain: ZeroMQ PLAIN, username NAME, password the
token in KEY_DIR/NAME.token (64 hex digits); SERVER_PUB is not read.
Environment: PYCLIENT_FIELDS=1 (consume also prints "field SEQ PATH RULE
MASK" for each released field), PYCLIENT_HELLO_MS (how long to wait for WELCOME, default 5000),
PYCLIENT_WINDOW (publishes in flight, default 256), PYCLIENT_DEBUG=1 (trace
every frame on stderr).
"""

import hashlib
import json
import os
import struct
import sys
import time

import msgpack
import zmq
import zmq.utils.monitor
import zmq.utils.z85

PROTOCOL = 1
REQUIRED_ENVELOPE = ("id", "type", "schema_version", "source", "event_date")
# What a projected (delivered) message may carry besides subject and body.
PROJECTED_ENVELOPE = ("id", "type", "schema_version", "source", "event_date",
                      "recorded_at")
RETRYABLE = ("store_full", "unavailable", "internal")

DEBUG = os.environ.get("PYCLIENT_DEBUG", "") not in ("", "0")


def debug(*args):
    if DEBUG:
        print("pyclient:", *args, file=sys.stderr)


class HubError(Exception):
    """An ERROR from the hub, or a protocol failure."""

    def __init__(self, code, reason):
        super().__init__("%s: %s" % (code, reason))
        self.code = code
        self.reason = reason


class HubGone(Exception):
    """Nothing heard from the hub for three heartbeat intervals, or the
    connection was made again underneath (the hub restarted): either way
    the session is lost and must start again at HELLO."""


MONITOR_EVENTS = (zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_DISCONNECTED
                  | zmq.EVENT_HANDSHAKE_FAILED_AUTH
                  | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
                  | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL)


# ---------------------------------------------------------------------------
# The canonical msgpack encoding (docs/SCHEMAS.md "The msgpack encoding")

class Pairs(list):
    """A map as its (key, value) pairs in input order; keeps duplicate keys
    so that the hub, not this client, judges them."""


def _key_bytes(k):
    if not isinstance(k, str):
        raise TypeError("map key %r is not a string" % (k,))
    return k.encode("utf-8")


def _enc_str(b, out):
    n = len(b)
    if n < 32:
        out.append(0xa0 | n)
    elif n < 0x100:
        out += b"\xd9" + struct.pack(">B", n)
    elif n < 0x10000:
        out += b"\xda" + struct.pack(">H", n)
    else:
        out += b"\xdb" + struct.pack(">I", n)
    out += b


def _enc_int(v, out):
    if v >= 0:
        if v < 0x80:
            out.append(v)
        elif v < 0x100:
            out += b"\xcc" + struct.pack(">B", v)
        elif v < 0x10000:
            out += b"\xcd" + struct.pack(">H", v)
        elif v < 0x100000000:
            out += b"\xce" + struct.pack(">I", v)
        elif v < 0x10000000000000000:
            out += b"\xcf" + struct.pack(">Q", v)
        else:
            raise OverflowError("integer %d does not fit msgpack" % v)
    else:
        if v >= -32:
            out += struct.pack(">b", v)
        elif v >= -0x80:
            out += b"\xd0" + struct.pack(">b", v)
        elif v >= -0x8000:
            out += b"\xd1" + struct.pack(">h", v)
        elif v >= -0x80000000:
            out += b"\xd2" + struct.pack(">i", v)
        elif v >= -0x8000000000000000:
            out += b"\xd3" + struct.pack(">q", v)
        else:
            raise OverflowError("integer %d does not fit msgpack" % v)


def _enc_len(n, fix, fixmax, c16, c32, out):
    if n <= fixmax:
        out.append(fix | n)
    elif n < 0x10000:
        out += bytes([c16]) + struct.pack(">H", n)
    else:
        out += bytes([c32]) + struct.pack(">I", n)


def _encode(v, out):
    if v is True:
        out.append(0xc3)
    elif v is False:
        out.append(0xc2)
    elif v is None:
        out.append(0xc0)          # not in the model: the hub will refuse it
    elif isinstance(v, int):
        _enc_int(v, out)
    elif isinstance(v, float):
        out += b"\xcb" + struct.pack(">d", v)   # likewise refused by the hub
    elif isinstance(v, str):
        _enc_str(v.encode("utf-8", "surrogatepass"), out)
    elif isinstance(v, (bytes, bytearray)):
        n = len(v)
        if n < 0x100:
            out += b"\xc4" + struct.pack(">B", n)
        elif n < 0x10000:
            out += b"\xc5" + struct.pack(">H", n)
        else:
            out += b"\xc6" + struct.pack(">I", n)
        out += v
    elif isinstance(v, (dict, Pairs)):
        items = list(v.items()) if isinstance(v, dict) else list(v)
        # Keys sorted by their UTF-8 bytes; a prefix sorts first (bytes
        # comparison does both). sorted() is stable: duplicates keep order.
        items.sort(key=lambda kv: _key_bytes(kv[0]))
        _enc_len(len(items), 0x80, 15, 0xde, 0xdf, out)
        for k, val in items:
            _enc_str(_key_bytes(k), out)
            _encode(val, out)
    elif isinstance(v, (list, tuple)):
        _enc_len(len(v), 0x90, 15, 0xdc, 0xdd, out)
        for item in v:
            _encode(item, out)
    else:
        raise TypeError("cannot encode %r" % (v,))


def encode(value):
    """Canonical msgpack of a value (maps with keys sorted, shortest forms)."""
    out = bytearray()
    _encode(value, out)
    return bytes(out)


def _get(m, key):
    for k, v in (m.items() if isinstance(m, dict) else m):
        if k == key:
            return v
    return None


def encode_message(msg):
    """Canonical msgpack of a canonical message (a dict or Pairs): the
    subject map is left out when empty, the body map is always there."""
    if not isinstance(msg, (dict, Pairs)):
        raise TypeError("a message is a map")
    pairs = Pairs(msg.items()) if isinstance(msg, dict) else Pairs(msg)
    pairs = Pairs((k, v) for k, v in pairs
                  if not (k == "subject" and isinstance(v, (dict, Pairs)) and len(v) == 0))
    if not any(k == "body" for k, _ in pairs):
        pairs.append(("body", Pairs()))
    return encode(pairs)


def load_json_message(path):
    """A JSON message file as Pairs (duplicate keys kept)."""
    with open(path, "rb") as f:
        text = f.read().decode("utf-8")
    return json.loads(text, object_pairs_hook=Pairs)


# ---------------------------------------------------------------------------
# Checking a delivered (projected) message

def _decode_pairs(data):
    """msgpack → Python with maps as Pairs (to see duplicate keys)."""
    return msgpack.unpackb(data, raw=False, object_pairs_hook=Pairs,
                           strict_map_key=False, use_list=True)


def _scalar_ok(v):
    return isinstance(v, (bool, int, str))


def check_message(data):
    """Problems (strings) with `data` as a canonical message; [] when it is
    one. Returns (problems, decoded dict or None)."""
    problems = []
    try:
        m = _decode_pairs(data)
    except msgpack.ExtraData:
        return ["trailing bytes after the message"], None
    except Exception as e:  # noqa: BLE001 - any decoding failure
        return ["not decodable msgpack: %s" % e], None
    if not isinstance(m, Pairs):
        return ["the message is not a map"], None

    def check_map(pairs, where):
        keys = [k for k, _ in pairs]
        for k in keys:
            if not isinstance(k, str):
                problems.append("%s: key %r is not a string" % (where, k))
        if len(set(keys)) != len(keys):
            problems.append("%s: duplicate key" % where)

    check_map(m, "message")
    top = dict(m)
    for k in top:
        if k not in PROJECTED_ENVELOPE and k not in ("subject", "body"):
            problems.append("%s: not allowed in a delivered message" % k)
    for k in REQUIRED_ENVELOPE:
        if k not in top:
            problems.append("%s: missing" % k)
    for k in PROJECTED_ENVELOPE:
        if k in top:
            v = top[k]
            if k == "schema_version":
                if not (isinstance(v, int) and not isinstance(v, bool) and v >= 1):
                    problems.append("schema_version: not an integer >= 1")
            elif not isinstance(v, str):
                problems.append("%s: not a string" % k)
    if "body" not in top:
        problems.append("body: missing (always present, possibly empty)")
    for block in ("subject", "body"):
        if block not in top:
            continue
        b = top[block]
        if not isinstance(b, Pairs):
            problems.append("%s: not a map" % block)
            continue
        check_map(b, block)
        if block == "subject" and len(b) == 0:
            problems.append("subject: empty (an empty subject is left out)")
        for k, v in b:
            if isinstance(v, list):
                for i, item in enumerate(v):
                    if not _scalar_ok(item):
                        problems.append("%s.%s[%d]: wrong type %s" % (block, k, i, type(item).__name__))
            elif not _scalar_ok(v):
                problems.append("%s.%s: wrong type %s" % (block, k, type(v).__name__))
    if not problems:
        again = encode(m)
        if again != bytes(data):
            problems.append("not canonical: re-encoding gives other bytes (%d vs %d)"
                            % (len(again), len(data)))
    return problems, top


def message_fields(top):
    """The subject and body field paths of a decoded message."""
    paths = set()
    for block in ("subject", "body"):
        b = top.get(block)
        if isinstance(b, Pairs):
            for k, _ in b:
                paths.add("%s.%s" % (block, k))
    return paths


def check_delivery(d):
    """Problems with a DELIVER body: its message must be canonical and hold
    exactly the fields its `fields` list released."""
    problems, top = check_message(d.get("message", b""))
    if top is None:
        return problems
    released = set()
    for f in d.get("fields", []):
        if isinstance(f, dict) and isinstance(f.get("path"), str):
            released.add(f["path"])
        else:
            problems.append("fields: entry %r has no path" % (f,))
    have = message_fields(top)
    for p in sorted(have - released):
        problems.append("%s: in the message but not in fields" % p)
    for p in sorted(released - have):
        problems.append("%s: in fields but not in the message" % p)
    for k in ("id", "type"):
        if top.get(k) != d.get(k):
            problems.append("message %s %r differs from DELIVER.%s %r" % (k, top.get(k), k, d.get(k)))
    return problems


# ---------------------------------------------------------------------------
# Keys and the connection

def read_key(path):
    with open(path, "rb") as f:
        text = f.read().strip()
    if len(text) != 40:
        raise ValueError("%s: a Z85 key is 40 characters, found %d" % (path, len(text)))
    zmq.utils.z85.decode(text)   # raises on a character outside Z85
    return text


def load_endpoint_keys(key_dir, name):
    pub = read_key(os.path.join(key_dir, name + ".pub"))
    sec = read_key(os.path.join(key_dir, name + ".key"))
    try:
        derived = zmq.curve_public(sec)
    except Exception:  # noqa: BLE001 - old libzmq: no check
        derived = pub
    if derived != pub:
        raise ValueError("%s: %s.key is not the secret key of %s.pub" % (key_dir, name, name))
    return pub, sec


def plain_token(server_secret_z85, endpoint):
    """docs/PROTOCOL.md, "Transport": keyed BLAKE2b-256 of "hub plain token
    v1", a zero byte and the endpoint id, under the hub's 32-byte CURVE
    secret key; lowercase hex."""
    key = zmq.utils.z85.decode(server_secret_z85)
    msg = b"hub plain token v1\0" + endpoint.encode("utf-8")
    return hashlib.blake2b(msg, key=key, digest_size=32).hexdigest()


def read_token(path):
    with open(path, "rb") as f:
        text = f.read().strip().decode("ascii")
    if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
        raise ValueError("%s: a token is 64 lowercase hex digits (hubctl token)" % path)
    return text


class Connection:
    """One DEALER socket speaking protocol 1 to the hub. With plain =
    (username, token) it uses ZeroMQ PLAIN (hub.yaml security: plain)
    instead of CURVE, and server_pub, public and secret are unused."""

    def __init__(self, url, server_pub, public, secret, role, agent="pyclient/1",
                 hello_ms=None, linger_ms=2000, plain=None):
        self.plain = plain
        self.url = url
        self.server_pub = server_pub
        self.public = public
        self.secret = secret
        self.role = role
        self.agent = agent
        self.hello_ms = hello_ms if hello_ms is not None else \
            int(os.environ.get("PYCLIENT_HELLO_MS", "5000"))
        self.linger_ms = linger_ms
        self.ctx = zmq.Context.instance()
        self.sock = None
        self.welcome = None
        self.heartbeat_ms = 5000
        self.last_sent = 0.0
        self.last_heard = 0.0
        self.errors = []          # ERRORs received and not yet taken
        self.mon = None           # the socket's monitor (handshakes)
        self.handshakes = 0
        self.handshake_failure = None
        self.session_lost = False

    # -- frames -----------------------------------------------------------
    def send(self, command, body=None):
        payload = msgpack.packb(body if body is not None else {}, use_bin_type=True)
        debug("->", command, _show(body))
        self.sock.send_multipart([command.encode("ascii"), payload])
        self.last_sent = time.monotonic()

    def _recv_one(self):
        frames = self.sock.recv_multipart()
        self.last_heard = time.monotonic()
        if len(frames) != 2:
            debug("<- %d frames, ignored" % len(frames))
            return None
        try:
            command = frames[0].decode("ascii")
            body = msgpack.unpackb(frames[1], raw=False)
        except Exception as e:  # noqa: BLE001
            debug("<- undecodable message ignored:", e)
            return None
        if not isinstance(body, dict):
            debug("<-", command, "body is not a map, ignored")
            return None
        debug("<-", command, _show(body))
        return command, body

    def _drain_monitor(self):
        """Reads the socket's events. ZeroMQ reconnects by itself, and a
        restarted hub answers HEARTBEAT without a session, so a second
        successful handshake is the only sign that the session is gone."""
        while self.mon is not None and self.mon.poll(0, zmq.POLLIN):
            try:
                ev = zmq.utils.monitor.recv_monitor_message(self.mon)
            except zmq.ZMQError:
                return
            e = ev["event"]
            if e == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                self.handshakes += 1
                if self.handshakes > 1:
                    debug("handshake again: the session is lost")
                    self.session_lost = True
            elif e == zmq.EVENT_DISCONNECTED:
                debug("disconnected")
            elif e == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
                self.handshake_failure = "the hub refused this key (handshake failed, auth)"
            elif e in (zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL,
                       zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL):
                self.handshake_failure = "the CURVE handshake failed (wrong hub key?)"

    def _poll(self, timeout_ms):
        """True when a message from the hub is ready; reads monitor events."""
        poller = zmq.Poller()
        poller.register(self.sock, zmq.POLLIN)
        if self.mon is not None:
            poller.register(self.mon, zmq.POLLIN)
        ready = dict(poller.poll(timeout_ms))
        self._drain_monitor()
        return self.sock in ready

    def recv(self, timeout_ms):
        """The next message from the hub other than HEARTBEAT, or None after
        timeout_ms. Sends HEARTBEAT when this side has been silent for
        heartbeat_ms, answers the hub's HEARTBEAT (unless this side spoke
        within half an interval: the hub answers every HEARTBEAT, so
        answering its answers would never end) and raises HubGone after
        three intervals without hearing from the hub."""
        deadline = time.monotonic() + timeout_ms / 1000.0
        hb = self.heartbeat_ms / 1000.0
        while True:
            now = time.monotonic()
            if now - self.last_sent >= hb:
                self.send("HEARTBEAT")
                now = time.monotonic()
            if self.session_lost:
                raise HubGone("the connection was made again: the hub lost the session")
            if self.welcome is not None and now - self.last_heard > 3 * hb:
                raise HubGone("nothing heard from the hub for %d ms"
                              % int((now - self.last_heard) * 1000))
            if now >= deadline:
                return None
            wake = min(deadline, self.last_sent + hb, self.last_heard + 3 * hb + 0.001)
            if not self._poll(max(0, int((wake - now) * 1000)) + 1):
                continue
            msg = self._recv_one()
            if msg is None:
                continue
            if msg[0] == "HEARTBEAT":
                if time.monotonic() - self.last_sent >= hb / 2:
                    self.send("HEARTBEAT")
                continue
            return msg

    # -- session ----------------------------------------------------------
    def connect(self):
        s = self.ctx.socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, self.linger_ms)
        if self.plain:
            s.plain_username = self.plain[0].encode("utf-8")
            s.plain_password = self.plain[1].encode("ascii")
        else:
            s.curve_serverkey = self.server_pub
            s.curve_publickey = self.public
            s.curve_secretkey = self.secret
        self.mon = s.get_monitor_socket(MONITOR_EVENTS)
        self.handshakes = 0
        self.handshake_failure = None
        self.session_lost = False
        s.connect(self.url)
        self.sock = s
        self.welcome = None
        self.send("HELLO", {"protocol": PROTOCOL, "role": self.role, "agent": self.agent})
        self.last_heard = time.monotonic()
        deadline = time.monotonic() + self.hello_ms / 1000.0
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                why = self.handshake_failure or "unknown key or no hub"
                self.close(linger_ms=0)
                raise HubError("no_welcome", "no WELCOME from %s within %d ms (%s)"
                               % (self.url, self.hello_ms, why))
            if not self._poll(int(left * 1000) + 1):
                continue
            msg = self._recv_one()
            if msg is None or msg[0] == "HEARTBEAT":
                continue
            command, body = msg
            if command == "WELCOME":
                break
            if command == "ERROR":
                self.close(linger_ms=0)
                raise HubError(body.get("code", "?"), body.get("reason", ""))
            debug("before WELCOME: %s ignored" % command)
        if body.get("protocol") != PROTOCOL:
            self.close(linger_ms=0)
            raise HubError("protocol", "the hub answered protocol %r" % body.get("protocol"))
        self.welcome = body
        self.session_lost = False
        hb = body.get("heartbeat_ms")
        if isinstance(hb, int) and hb > 0:
            self.heartbeat_ms = hb
        return body

    def bye(self):
        if self.sock is not None:
            try:
                self.send("BYE")
            except zmq.ZMQError:
                pass

    def close(self, linger_ms=None):
        if self.mon is not None:
            try:
                self.sock.disable_monitor()
            except zmq.ZMQError:
                pass
            self.mon.close(linger=0)
            self.mon = None
        if self.sock is not None:
            self.sock.close(linger=self.linger_ms if linger_ms is None else linger_ms)
            self.sock = None

    def reconnect(self):
        self.close(linger_ms=0)
        return self.connect()


def _show(body):
    if not DEBUG or body is None:
        return ""
    def short(v):
        if isinstance(v, bytes):
            return "<bin %d>" % len(v)
        if isinstance(v, dict):
            return {k: short(x) for k, x in v.items()}
        if isinstance(v, list):
            return [short(x) for x in v]
        return v
    return json.dumps(short(body), ensure_ascii=False)


# ---------------------------------------------------------------------------
# Publishing

class Result:
    def __init__(self, kind, body):
        self.kind = kind        # "ack" or "nack"
        self.body = body


def publish(conn, messages, window=None, max_retries=5):
    """Publishes `messages` (a list of bytes) over a connected Connection,
    keeping at most `window` unanswered. Returns a Result per message, in
    order. Resends a publish without an answer after ack_timeout_ms, and a
    publish NACKed with a retryable code (with backoff), on a reconnect too."""
    if window is None:
        window = int(os.environ.get("PYCLIENT_WINDOW", "256"))
    results = [None] * len(messages)
    refs = {}            # ref -> index
    sent_at = {}         # ref -> monotonic time of the last send
    retry_at = {}        # ref -> time a retryable NACK may be resent
    attempts = {}        # ref -> retryable NACKs so far
    ack_timeout = (conn.welcome.get("ack_timeout_ms") or 30000) / 1000.0
    nxt = 0
    ref_base = 1

    def send(ref):
        conn.send("PUBLISH", {"ref": ref, "message": messages[refs[ref]]})
        sent_at[ref] = time.monotonic()

    while any(r is None for r in results):
        while nxt < len(messages) and len(sent_at) + len(retry_at) < window:
            ref = ref_base + nxt
            refs[ref] = nxt
            send(ref)
            nxt += 1
        now = time.monotonic()
        for ref, t in list(retry_at.items()):
            if t <= now:
                del retry_at[ref]
                send(ref)
        for ref, t in list(sent_at.items()):
            if now - t >= ack_timeout:
                debug("ref %d unanswered after %d ms: resent" % (ref, ack_timeout * 1000))
                send(ref)
        deadlines = [t + ack_timeout for t in sent_at.values()] + list(retry_at.values())
        wait = max(0.0, min(deadlines) - time.monotonic()) if deadlines else 0.05
        try:
            msg = conn.recv(int(wait * 1000) + 1)
        except HubGone:
            debug("hub gone: reconnecting, resending %d" % len(sent_at))
            conn.reconnect()
            for ref in list(sent_at):
                send(ref)
            continue
        if msg is None:
            continue
        command, body = msg
        if command in ("ACK", "NACK"):
            ref = body.get("ref")
            if ref not in sent_at:
                debug("answer for ref %r not in flight: ignored" % (ref,))
                continue
            del sent_at[ref]
            i = refs[ref]
            if command == "NACK" and body.get("code") in RETRYABLE and \
                    attempts.get(ref, 0) < max_retries:
                attempts[ref] = attempts.get(ref, 0) + 1
                retry_at[ref] = time.monotonic() + min(30.0, 0.2 * 2 ** attempts[ref])
                continue
            results[i] = Result("ack" if command == "ACK" else "nack", body)
        elif command == "ERROR" and body.get("code") == "hello_first":
            # The hub forgot this session (it restarted, or took us for
            # gone): start again at HELLO and resend what is in flight.
            debug("hello_first: reconnecting, resending %d" % len(sent_at))
            conn.reconnect()
            for ref in list(sent_at):
                send(ref)
        elif command == "ERROR":
            conn.errors.append(body)
            debug("ERROR during publish:", body)
        else:
            debug("unexpected %s during publish: ignored" % command)
    return results


def publish_batch(conn, messages, per=None, window=None, max_retries=5):
    """Publishes `messages` (a list of bytes) in PUBLISH_BATCH frames of up
    to `per` messages (default and cap: WELCOME max_batch), keeping at most
    `window` messages unanswered. Returns a Result per message, in order:
    ACK_BATCH.results[i] answers the i-th message of its frame (a result
    with `code` is a refusal); a frame refused whole (NACK) gives each of
    its messages that NACK. Like publish(), it resends a frame without an
    answer after ack_timeout_ms (also after a reconnect), and messages
    refused with a retryable code (in a later frame, with backoff)."""
    max_batch = conn.welcome.get("max_batch")
    if not isinstance(max_batch, int) or max_batch < 1:
        raise HubError("no_batch", "the hub does not offer PUBLISH_BATCH (no max_batch)")
    per = min(per or max_batch, max_batch)
    if window is None:
        window = int(os.environ.get("PYCLIENT_WINDOW", "256"))
    window = max(window, per)
    results = [None] * len(messages)
    queue = list(range(len(messages)))   # message indices to send
    frames = {}          # ref -> [indices, monotonic time of the last send]
    retry_at = []        # (time, index): a retryable refusal to send again
    attempts = {}        # index -> retryable refusals so far
    ack_timeout = (conn.welcome.get("ack_timeout_ms") or 30000) / 1000.0
    next_ref = [1]

    def send(ref):
        frame = frames[ref]
        conn.send("PUBLISH_BATCH", {"ref": ref, "messages": [messages[i] for i in frame[0]]})
        frame[1] = time.monotonic()

    def settle(i, kind, body):
        if kind == "nack" and body.get("code") in RETRYABLE and attempts.get(i, 0) < max_retries:
            attempts[i] = attempts.get(i, 0) + 1
            retry_at.append((time.monotonic() + min(30.0, 0.2 * 2 ** attempts[i]), i))
        else:
            results[i] = Result(kind, body)

    while any(r is None for r in results):
        now = time.monotonic()
        queue.extend(i for t, i in retry_at if t <= now)
        retry_at[:] = [(t, i) for t, i in retry_at if t > now]
        while queue and sum(len(f[0]) for f in frames.values()) + min(per, len(queue)) <= window:
            ref = next_ref[0]
            next_ref[0] += 1
            frames[ref] = [queue[:per], 0.0]
            del queue[:per]
            send(ref)
        for ref, (_, t) in list(frames.items()):
            if now - t >= ack_timeout:
                debug("batch ref %d unanswered after %d ms: resent" % (ref, ack_timeout * 1000))
                send(ref)
        deadlines = [f[1] + ack_timeout for f in frames.values()] + [t for t, _ in retry_at]
        wait = max(0.0, min(deadlines) - time.monotonic()) if deadlines else 0.05
        try:
            msg = conn.recv(int(wait * 1000) + 1)
        except HubGone:
            conn.reconnect()
            for ref in list(frames):
                send(ref)
            continue
        if msg is None:
            continue
        command, body = msg
        ref = body.get("ref")
        if command in ("ACK_BATCH", "NACK") and ref in frames:
            indices = frames.pop(ref)[0]
            if command == "NACK":        # the frame refused whole
                for i in indices:
                    settle(i, "nack", body)
                continue
            answers = body.get("results")
            if not isinstance(answers, list) or len(answers) != len(indices):
                raise HubError("protocol", "ACK_BATCH ref %d: %r results for %d messages"
                               % (ref, answers if not isinstance(answers, list)
                                  else len(answers), len(indices)))
            for i, a in zip(indices, answers):
                settle(i, "nack" if isinstance(a, dict) and "code" in a else "ack",
                       a if isinstance(a, dict) else {})
        elif command == "ERROR" and body.get("code") == "hello_first":
            conn.reconnect()
            for ref in list(frames):
                send(ref)
        elif command == "ERROR":
            conn.errors.append(body)
            debug("ERROR during publish_batch:", body)
        else:
            debug("unexpected %s during publish_batch: ignored" % command)
    return results


# ---------------------------------------------------------------------------
# Consuming

def consume(conn, count, timeout_ms, endpoint=None, on_subscribed=None,
            on_deliver=None, credit=None, batch=None, on_frame=None):
    """Subscribes to `endpoint` (default: the connection's identity) and
    takes up to `count` deliveries, stopping after `timeout_ms` without one.
    on_deliver(body) returns True to acknowledge it, False to stop. With
    `batch` (>= 2) the hub may send DELIVER_BATCH frames: each of their
    deliveries is taken as a DELIVER would be; on_frame(command, n) is
    told of every frame. Raises HubError on an ERROR. Returns the
    deliveries taken."""
    endpoint = endpoint or conn.welcome["identity"]
    if credit is None:
        credit = max(1, min(count, 64))
    taken = []
    state = {"last_done": None, "subscribed": None}

    def subscribe():
        body = {"endpoint": endpoint, "credit": credit}
        if batch is not None:
            body["batch"] = batch
        conn.send("SUBSCRIBE", body)

    def take(d):
        """One delivery: False to stop."""
        if not isinstance(d, dict) or d.get("endpoint") != endpoint:
            return True
        seq = d.get("seq")
        last_done = state["last_done"]
        if state["subscribed"] is None or not isinstance(seq, int):
            return True
        if seq <= last_done:
            # Sent again (our DACK was lost or late): drop it, ack again.
            conn.send("DACK", {"endpoint": endpoint, "seq": last_done})
            return True
        if seq != last_done + 1:
            raise HubError("gap", "DELIVER seq %d after %d" % (seq, last_done))
        if on_deliver and not on_deliver(d):
            return False
        state["last_done"] = seq
        taken.append(d)
        conn.send("DACK", {"endpoint": endpoint, "seq": seq})
        return len(taken) < count

    subscribe()
    deadline = time.monotonic() + timeout_ms / 1000.0
    while len(taken) < count:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            msg = conn.recv(int(left * 1000) + 1)
        except HubGone:
            conn.reconnect()
            subscribe()
            continue
        if msg is None:
            break
        command, body = msg
        if command == "ERROR" and body.get("code") == "hello_first":
            debug("hello_first: reconnecting, subscribing again")
            conn.reconnect()
            subscribe()
            continue
        if command == "ERROR":
            raise HubError(body.get("code", "?"), body.get("reason", ""))
        if command == "SUBSCRIBED":
            if body.get("endpoint") != endpoint:
                continue
            state["subscribed"] = body
            if state["last_done"] is None:
                state["last_done"] = body.get("acked", 0)
            if on_subscribed:
                on_subscribed(body)
            continue
        if command == "DELIVER":
            deliveries = [body]
        elif command == "DELIVER_BATCH" and body.get("endpoint") == endpoint and \
                isinstance(body.get("deliveries"), list):
            deliveries = body["deliveries"]
        else:
            debug("unexpected %s while consuming: ignored" % command)
            continue
        if on_frame:
            on_frame(command, len(deliveries))
        for d in deliveries:
            if not take(d):
                return taken
        deadline = time.monotonic() + timeout_ms / 1000.0
    return taken


# ---------------------------------------------------------------------------
# Command line

def usage():
    sys.stderr.write(__doc__)
    return 2


def _connect(url, server_pub_path, key_dir, name, role):
    if os.environ.get("PYCLIENT_SECURITY") == "plain":
        token = read_token(os.path.join(key_dir, name + ".token"))
        conn = Connection(url, None, None, None, role, plain=(name, token))
        conn.connect()
        return conn
    server = read_key(server_pub_path)
    pub, sec = load_endpoint_keys(key_dir, name)
    conn = Connection(url, server, pub, sec, role)
    conn.connect()
    debug("welcome", conn.welcome)
    return conn


def cmd_publish(args):
    if len(args) < 5:
        return usage()
    url, server_pub, key_dir, name = args[:4]
    files = args[4:]
    messages = []
    for f in files:
        try:
            messages.append(encode_message(load_json_message(f)))
        except (OSError, ValueError, TypeError, OverflowError) as e:
            print("pyclient: %s: %s" % (f, e), file=sys.stderr)
            return 1
    try:
        conn = _connect(url, server_pub, key_dir, name, "publisher")
    except (HubError, OSError, ValueError) as e:
        print("pyclient: %s" % e, file=sys.stderr)
        return 1
    batch = int(os.environ.get("PYCLIENT_BATCH", "0") or 0)
    try:
        results = publish_batch(conn, messages, per=batch) if batch else publish(conn, messages)
    except HubError as e:
        print("pyclient: %s" % e, file=sys.stderr)
        return 1
    finally:
        conn.bye()
        conn.close()
    status = 0
    for f, r in zip(files, results):
        b = r.body
        if r.kind == "ack":
            print("ack %s log_seq %s%s" % (f, b.get("log_seq"),
                                           " duplicate" if b.get("duplicate") else ""))
        else:
            status = 1
            print("nack %s %s %s" % (f, b.get("code"), b.get("reason", "")))
            for p in b.get("problems") or []:
                print("problem %s %s %s: %s" % (f, p.get("where", ""), p.get("reason", ""),
                                                p.get("message", "")))
    for e in conn.errors:
        status = 1
        print("error %s %s" % (e.get("code"), e.get("reason", "")))
    return status


def cmd_consume(args):
    if len(args) not in (6, 7):
        return usage()
    url, server_pub, key_dir, name = args[:4]
    try:
        count, timeout_ms = int(args[4]), int(args[5])
    except ValueError:
        return usage()
    endpoint = args[6] if len(args) == 7 else None
    try:
        conn = _connect(url, server_pub, key_dir, name, "consumer")
    except (HubError, OSError, ValueError) as e:
        print("pyclient: %s" % e, file=sys.stderr)
        return 1
    status = [0]
    show_fields = os.environ.get("PYCLIENT_FIELDS", "") not in ("", "0")

    def on_subscribed(b):
        print("subscribed acked %s last %s" % (b.get("acked"), b.get("last")), flush=True)

    def on_deliver(d):
        problems = check_delivery(d)
        if problems:
            for p in problems:
                print("bad %s %s" % (d.get("seq"), p), flush=True)
            status[0] = 1
            return False
        # "Durable on our side": the line is written and flushed.
        print("deliver %s %s %s" % (d.get("seq"), d.get("id"), d.get("type")), flush=True)
        if show_fields:
            for f in d.get("fields", []):
                print("field %s %s %s %s" % (d.get("seq"), f.get("path"), f.get("rule"),
                                             f.get("mask")), flush=True)
        return True

    batch = int(os.environ.get("PYCLIENT_BATCH", "0") or 0)
    credit = int(os.environ.get("PYCLIENT_CREDIT", "0") or 0) or None

    def on_frame(command, n):
        print("frame %s %d" % (command, n), flush=True)

    try:
        frames = batch or os.environ.get("PYCLIENT_FRAMES", "") not in ("", "0")
        consume(conn, count, timeout_ms, endpoint, on_subscribed, on_deliver, credit=credit,
                batch=batch or None, on_frame=on_frame if frames else None)
    except HubError as e:
        print("error %s %s" % (e.code, e.reason))
        status[0] = 1
    finally:
        conn.bye()
        conn.close()
    return status[0]


EXAMPLE = {"id": "x", "type": "t", "schema_version": 1, "body": {"n": 200}}
EXAMPLE_HEX = ("84 a4 62 6f 64 79 81 a1 6e cc c8 a2 69 64 a1 78 ae 73 63 68 65 6d 61 5f 76"
               " 65 72 73 69 6f 6e 01 a4 74 79 70 65 a1 74")


def cmd_selftest(_args):
    got = encode_message(EXAMPLE)
    want = bytes.fromhex(EXAMPLE_HEX)
    if got != want:
        print("selftest: example encodes to %d bytes %s, expected %s"
              % (len(got), got.hex(" "), EXAMPLE_HEX))
        return 1
    # (The example lacks source and event_date, so it is no valid message:
    # only check that decoding and re-encoding give the same bytes.)
    if encode(_decode_pairs(got)) != got:
        print("selftest: the example does not re-encode to itself")
        return 1
    print("selftest: example is %d bytes, as documented" % len(got))
    return 0


def cmd_encode(args):
    if len(args) != 1:
        return usage()
    print(encode_message(load_json_message(args[0])).hex())
    return 0


def cmd_token(args):
    if len(args) != 2:
        return usage()
    print(plain_token(read_key(args[0]), args[1]))
    return 0


def main(argv):
    if len(argv) < 2:
        return usage()
    cmds = {"publish": cmd_publish, "consume": cmd_consume,
            "selftest": cmd_selftest, "encode": cmd_encode, "token": cmd_token}
    if argv[1] not in cmds:
        return usage()
    return cmds[argv[1]](argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
