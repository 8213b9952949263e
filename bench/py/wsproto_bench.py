#!/usr/bin/env python3
"""Python wsproto on the same parse and serialize workloads as bench/run.ts.

- parse-16b-text: a server Connection receives masked 16-byte text frames in 64 KiB
  chunks (receive_data, then events()); a message counts when message_finished.
- parse-1k-binary: the same with 1 KiB binary frames (payload bytes per second).
- serialize-16b-text: a server Connection's send(TextMessage(data=...)) (unmasked).

Input is built once, outside the timed region; each repetition runs passes until
min_seconds of timed work. Prints JSON on stdout:
  {"wsproto": "1.2.0", "python": "3.x", "results": {name: {"unit": ..., "values": [...]}}}

Usage: python3 bench/py/wsproto_bench.py [--quick] [--only NAME]
"""

import json
import os
import platform
import sys
import time

import wsproto
from wsproto.connection import Connection, ConnectionType
from wsproto.events import BytesMessage, TextMessage

WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliett"]
CHUNK = 64 * 1024


def small_texts(count, size, seed=1):
    import random

    rand = random.Random(seed)
    out = []
    for _ in range(count):
        s = ""
        while len(s) < size:
            s += "%s %d " % (WORDS[rand.randrange(len(WORDS))], rand.randrange(1000))
        out.append(s[:size])
    return out


def mask(payload, key):
    n = len(payload)
    if n == 0:
        return b""
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(k, "big")).to_bytes(n, "big")


def frame(opcode, payload):
    n = len(payload)
    if n > 0xFFFF:
        header = bytes([0x80 | opcode, 0x80 | 127]) + n.to_bytes(8, "big")
    elif n > 125:
        header = bytes([0x80 | opcode, 0x80 | 126]) + n.to_bytes(2, "big")
    else:
        header = bytes([0x80 | opcode, 0x80 | n])
    key = os.urandom(4)
    return header + key + mask(payload, key)


def chunks(data):
    return [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)]


def rate(pass_fn, min_seconds):
    units = 0
    seconds = 0.0
    while seconds < min_seconds:
        u, s = pass_fn()
        units += u
        seconds += s
    return units / seconds


def parse_pass(input_chunks, expected, text):
    def run():
        conn = Connection(ConnectionType.SERVER)
        kind = TextMessage if text else BytesMessage
        messages = 0
        length = 0
        t0 = time.perf_counter()
        for c in input_chunks:
            conn.receive_data(c)
            for event in conn.events():
                if isinstance(event, kind):
                    length += len(event.data)
                    if event.message_finished:
                        messages += 1
                else:
                    raise RuntimeError("unexpected event %r" % (event,))
        seconds = time.perf_counter() - t0
        if messages != expected:
            raise RuntimeError("parsed %d of %d messages" % (messages, expected))
        return messages, seconds

    return run


def serialize_pass(texts, count):
    def run():
        conn = Connection(ConnectionType.SERVER)
        sink = 0
        t0 = time.perf_counter()
        for i in range(count):
            sink += len(conn.send(TextMessage(data=texts[i & 1023])))
        seconds = time.perf_counter() - t0
        if sink == 0:
            raise RuntimeError("nothing serialized")
        return count, seconds

    return run


def main():
    quick = "--quick" in sys.argv
    only = None
    if "--only" in sys.argv:
        only = sys.argv[sys.argv.index("--only") + 1]
    reps = 3 if quick else 5
    min_seconds = 0.08 if quick else 0.3

    workloads = {}

    def parse16():
        texts = [t.encode() for t in small_texts(1000, 16)]
        count = 5000
        data = b"".join(frame(0x1, texts[i % len(texts)]) for i in range(count))
        return "msg/s", parse_pass(chunks(data), count, True), 1

    def parse1k():
        payloads = [os.urandom(1024) for _ in range(8)]
        count = 1024
        data = b"".join(frame(0x2, payloads[i % len(payloads)]) for i in range(count))
        return "B/s", parse_pass(chunks(data), count, False), 1024

    def serialize16():
        return "msg/s", serialize_pass(small_texts(1024, 16), 10000), 1

    workloads["parse-16b-text"] = parse16
    workloads["parse-1k-binary"] = parse1k
    workloads["serialize-16b-text"] = serialize16

    results = {}
    for name, build in workloads.items():
        if only is not None and only != name:
            continue
        unit, pass_fn, scale = build()
        rate(pass_fn, min_seconds / 2)  # warm-up
        values = [rate(pass_fn, min_seconds) * scale for _ in range(reps)]
        results[name] = {"unit": unit, "values": values}

    json.dump(
        {
            "wsproto": getattr(wsproto, "__version__", "unknown"),
            "python": platform.python_version(),
            "results": results,
        },
        sys.stdout,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
