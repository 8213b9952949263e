"""`websockets` (asyncio server): an echo server for a client under test.

usage: websockets_server.py [--deflate]

Listens on 127.0.0.1, port 0, and prints {"port": N}. Echoes every message (fragmented
ones reassembled), answers pings (websockets does that itself), and after each
connection closes prints a JSON report: the negotiated extensions, the number of
messages echoed, the close code and reason the client sent. Exits after 120 s at most,
or when stdin closes.
"""
import asyncio
import sys

import websockets

from common import report


async def handler(ws, path=None):
    count = 0
    try:
        async for message in ws:
            await ws.send(message)
            count += 1
    except websockets.ConnectionClosed:
        pass
    report(
        {
            "extensions": ws.response_headers.get("Sec-WebSocket-Extensions"),
            "messages": count,
            "close": [ws.close_code, ws.close_reason],
        }
    )


async def main():
    deflate = "--deflate" in sys.argv
    server = await websockets.serve(
        handler,
        "127.0.0.1",
        0,
        compression="deflate" if deflate else None,
        max_size=None,
        ping_interval=None,
        close_timeout=10,
    )
    report({"port": server.sockets[0].getsockname()[1]})
    # Serve until the test closes our stdin (or 120 s pass).
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    try:
        await asyncio.wait_for(reader.read(), 120)
    except asyncio.TimeoutError:
        pass
    server.close()
    await server.wait_closed()


if __name__ == "__main__":
    asyncio.run(main())
