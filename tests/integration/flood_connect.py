#!/usr/bin/python3
"""flood_connect: opens N CURVE connections as one endpoint, each saying HELLO,
and prints one line per answer (WELCOME or ERROR code), then "other: ..." for
one more connection as ANOTHER endpoint while the N are still open.

    flood_connect.py URL SERVER_PUB KEY_DIR ENDPOINT N OTHER
"""
import sys
import time

import msgpack
import zmq


def key(path):
    with open(path, "rb") as f:
        return f.read().strip()


def hello(ctx, url, server, keys, name):
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.curve_serverkey = server
    s.curve_publickey = key("%s/%s.pub" % (keys, name))
    s.curve_secretkey = key("%s/%s.key" % (keys, name))
    s.connect(url)
    s.send_multipart([b"HELLO", msgpack.packb({"protocol": 1, "role": "consumer"})])
    return s


def answer(s, ms=3000):
    if not s.poll(ms):
        return "none"
    while True:
        frames = s.recv_multipart()
        cmd = frames[0].decode()
        if cmd == "HEARTBEAT":
            continue
        if cmd == "ERROR":
            return "ERROR " + msgpack.unpackb(frames[1], raw=False).get("code", "?")
        return cmd


def main():
    url, server_pub, keys, name, n, other = sys.argv[1:7]
    ctx = zmq.Context()
    server = key(server_pub)
    socks = []
    for _ in range(int(n)):
        socks.append(hello(ctx, url, server, keys, name))
        time.sleep(0.01)
    for s in socks:
        print(answer(s))
    o = hello(ctx, url, server, keys, other)
    print("other:", answer(o))
    for s in socks + [o]:
        s.close()
    ctx.term()


if __name__ == "__main__":
    main()
