"""`websockets` (asyncio client) against a server under test.

usage: websockets_client.py URL [--deflate] [--big]

Sends text and binary messages of every size (and each kind once in fragments), reads
each echo and compares it with what it sent, pings, then closes with 4000 "client done".
Prints one JSON report: the negotiated extensions, one entry per echo, the pong, and the
close frame the server answered with.
"""
import asyncio
import sys
import time

import websockets

from common import describe, make_bytes, make_text, report, sizes


async def main():
    url = sys.argv[1]
    deflate = "--deflate" in sys.argv
    result = {"extensions": None, "echoes": [], "pong": False, "close": None}
    ws = await websockets.connect(
        url,
        compression="deflate" if deflate else None,
        max_size=None,
        max_queue=4,
        ping_interval=None,
        open_timeout=10,
        close_timeout=10,
    )
    try:
        result["extensions"] = ws.response_headers.get("Sec-WebSocket-Extensions")
        seed = 0
        for size in sizes(sys.argv):
            for kind in ("text", "bytes"):
                seed += 1
                data = make_text(size, seed) if kind == "text" else make_bytes(size, seed)
                await ws.send(data)
                echo = await asyncio.wait_for(ws.recv(), 60)
                entry = describe(kind, size)
                entry["ok"] = type(echo) is type(data) and echo == data
                result["echoes"].append(entry)
        # One message of each kind sent as several frames (an iterable fragments it).
        for kind in ("text", "bytes"):
            seed += 1
            data = make_text(70000, seed) if kind == "text" else make_bytes(70000, seed)
            cuts = [0, 1, 126, 5000, 65536, 70000]
            pieces = [data[a:b] for a, b in zip(cuts, cuts[1:])]
            await ws.send(pieces)
            echo = await asyncio.wait_for(ws.recv(), 60)
            entry = describe(kind, len(data) if kind == "bytes" else len(data.encode()), len(pieces))
            entry["ok"] = type(echo) is type(data) and echo == data
            result["echoes"].append(entry)
        waiter = await ws.ping(b"ping from websockets")
        await asyncio.wait_for(waiter, 10)
        result["pong"] = True
        await ws.close(4000, "client done")
        result["close"] = [ws.close_code, ws.close_reason]
    except Exception as exc:  # reported, so the test shows what went wrong
        result["error"] = f"{type(exc).__name__}: {exc}"
        await ws.close()
    report(result)


if __name__ == "__main__":
    started = time.monotonic()
    asyncio.run(asyncio.wait_for(main(), 120))
