"""A WebSocket-over-HTTP/2 server (RFC 8441) from Python h2 and wsproto (run with /usr/bin/python3).

usage: h2_ws_server.py [options]
  --port N                 listen on 127.0.0.1:N (default 0: any; printed as {"port": N})
  --tls CERT KEY           TLS with ALPN h2 (else cleartext HTTP/2, prior knowledge)
  --no-connect-protocol    do not send SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 (RFC 8441 3)
  --deflate                accept a permessage-deflate offer (wsproto's PerMessageDeflate)
  --subprotocols a,b       select the first offered subprotocol that is in this list
  --reject STATUS          answer every CONNECT with STATUS and a text body (--body TEXT)

Each stream with an extended CONNECT for websocket (`:method CONNECT`, `:protocol
websocket`, `sec-websocket-version: 13`) gets 200 and then an echo over wsproto's
frame-level Connection: every whole message is sent back, pings are answered, the text
"please close" makes the server close with 4001 "server done", a close from the client is
echoed; then the server ends its side of the stream (RFC 8441 5: END_STREAM stands for
the TCP FIN of RFC 6455). Anything else gets 400 with a body. Several streams on one
connection are served at once.

One JSON line per finished stream: {"connection", "stream", "headers", "status",
"extensions", "subprotocol", "messages", "pings", "close", "client_ended"}. Serves until
stdin closes (120 s at most).
"""
import asyncio
import os
import ssl
import sys

import h2.config
import h2.settings
from wsproto.connection import ConnectionState, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Ping, TextMessage
from wsproto.extensions import PerMessageDeflate

from common import describe, report
from h2_link import Link, WebSocket, first

DEADLINE = 120


def parse(argv):
    opts = {"port": 0, "tls": None, "connect_protocol": True, "deflate": False, "subprotocols": [],
            "reject": None, "body": "rejected by h2_ws_server"}
    i = 1
    while i < len(argv):
        a = argv[i]
        if a == "--port":
            opts["port"], i = int(argv[i + 1]), i + 1
        elif a == "--tls":
            opts["tls"], i = (argv[i + 1], argv[i + 2]), i + 2
        elif a == "--no-connect-protocol":
            opts["connect_protocol"] = False
        elif a == "--deflate":
            opts["deflate"] = True
        elif a == "--subprotocols":
            opts["subprotocols"], i = argv[i + 1].split(","), i + 1
        elif a == "--reject":
            opts["reject"], i = int(argv[i + 1]), i + 1
        elif a == "--body":
            opts["body"], i = argv[i + 1], i + 1
        else:
            raise SystemExit(f"unknown option {a}")
        i += 1
    return opts


def handshake_problem(headers, opts):
    """Why this request is not an extended CONNECT for websocket we can accept, or None."""
    if not opts["connect_protocol"]:
        return "SETTINGS_ENABLE_CONNECT_PROTOCOL was not sent, so extended CONNECT is not allowed"
    if first(headers, ":method") != "CONNECT":
        return f"method {first(headers, ':method')} is not CONNECT"
    if first(headers, ":protocol") != "websocket":
        return f":protocol {first(headers, ':protocol')} is not websocket"
    if first(headers, "sec-websocket-version") != "13":
        return "sec-websocket-version is not 13"
    return None


async def serve_stream(link, stream, opts, connection):
    out = {"connection": connection, "stream": stream.id, "headers": None, "status": None,
           "extensions": None, "subprotocol": None, "messages": [], "pings": [], "close": None,
           "client_ended": None}
    try:
        item = await stream.next()
        headers = item[1]
        out["headers"] = [[n, v] for n, v in headers]
        problem = handshake_problem(headers, opts)
        if problem or opts["reject"]:
            status = 400 if problem else opts["reject"]
            body = (problem or opts["body"]).encode("utf-8")
            out["status"] = status
            link.send_headers(stream, [(":status", str(status)), ("content-type", "text/plain; charset=utf-8"),
                                       ("content-length", str(len(body)))])
            await link.send_data(stream, body, end_stream=True)
            return
        response = [(":status", "200")]
        offered = [p.strip() for p in ",".join(v for n, v in headers if n == "sec-websocket-protocol").split(",")]
        chosen = next((p for p in offered if p and p in opts["subprotocols"]), None)
        if chosen:
            response.append(("sec-websocket-protocol", chosen))
            out["subprotocol"] = chosen
        extensions = []
        if opts["deflate"]:
            extension = PerMessageDeflate()
            for offer in ",".join(v for n, v in headers if n == "sec-websocket-extensions").split(","):
                if offer.split(";", 1)[0].strip() == extension.name:
                    accept = extension.accept(offer.strip())
                    if accept is not None and accept is not False:
                        value = extension.name + ("" if accept is True or accept == "" else f"; {accept}")
                        response.append(("sec-websocket-extensions", value))
                        out["extensions"] = value
                        extensions.append(extension)
                        break
        out["status"] = 200
        link.send_headers(stream, response)
        ws = WebSocket(link, stream, ConnectionType.SERVER, extensions)

        def control(event):
            if isinstance(event, Ping):
                out["pings"].append(bytes(event.payload).decode("latin-1"))
                asyncio.ensure_future(ws.send(event.response()))
                return True
            return False

        while True:
            got = await ws.next_message(control, timeout=DEADLINE)
            if isinstance(got, tuple):
                kind, data, frames = got
                if kind == "text" and data == "please close":
                    await ws.send(CloseConnection(code=4001, reason="server done"))
                    continue
                size = len(data) if kind == "bytes" else len(data.encode("utf-8"))
                out["messages"].append(describe(kind, size, frames))
                await ws.send(TextMessage(data=data) if kind == "text" else BytesMessage(data=data))
                continue
            if isinstance(got, CloseConnection):
                out["close"] = [int(got.code), got.reason]
                if ws.ws.state is ConnectionState.REMOTE_CLOSING:
                    await ws.send(got.response())
            elif got is None:
                out["close"] = None
                out["reset"] = ws.reset
            break
        # RFC 8441 5: END_STREAM after the close, as the TCP FIN (the server's first).
        link.end_stream(stream)
        out["client_ended"] = await ws.wait_stream_end(10)
    except Exception as exc:
        out["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        report(out)


async def serve_connection(reader, writer, opts, counter):
    counter[0] += 1
    connection = counter[0]
    config = h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
    settings = {h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL: 1 if opts["connect_protocol"] else 0}
    link = Link(reader, writer, config, settings)
    tasks = []
    link.on_request = lambda stream: tasks.append(asyncio.ensure_future(serve_stream(link, stream, opts, connection)))
    await link.run()
    if link.error:
        report({"connection": connection, "error": link.error})
    await asyncio.gather(*tasks, return_exceptions=True)
    writer.close()


async def main(argv):
    opts = parse(argv)
    context = None
    if opts["tls"]:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*opts["tls"])
        context.set_alpn_protocols(["h2"])
    counter = [0]
    server = await asyncio.start_server(
        lambda r, w: serve_connection(r, w, opts, counter), "127.0.0.1", opts["port"], ssl=context)
    report({"port": server.sockets[0].getsockname()[1]})
    loop = asyncio.get_running_loop()
    stdin_closed = asyncio.Event()

    def on_stdin():
        if os.read(sys.stdin.fileno(), 4096) == b"":
            loop.remove_reader(sys.stdin.fileno())
            stdin_closed.set()

    loop.add_reader(sys.stdin.fileno(), on_stdin)
    try:
        await asyncio.wait_for(stdin_closed.wait(), DEADLINE)
    except asyncio.TimeoutError:
        pass
    server.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv))
