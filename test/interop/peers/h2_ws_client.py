"""A WebSocket-over-HTTP/2 client (RFC 8441) from Python h2 and wsproto (run with /usr/bin/python3).

usage: h2_ws_client.py sweep HOST PORT [options]   echo sweep on one or more WebSockets
       h2_ws_client.py bad HOST PORT [options]     malformed extended CONNECTs, one connection each

options:
  --tls                 TLS with ALPN h2 (else cleartext HTTP/2 with prior knowledge)
  --ca FILE             trust this CA file (TLS)      --insecure   no certificate check (TLS)
  --servername NAME     TLS server name (default HOST)
  --path PATH           :path (default /)            --authority A   (default HOST:PORT)
  --deflate             offer permessage-deflate (wsproto's PerMessageDeflate)
  --subprotocols a,b    offer these in sec-websocket-protocol
  --streams N           N WebSockets at once on the one HTTP/2 connection (default 1)
  --sizes a,b,...       message sizes (default common.SIZES: 0 B - 1 MiB)
  --close CODE REASON   the close this client sends (default 4000 "client done")
  --await-close         after the sweep send the text "please close" and wait for the
                        server's close instead of sending one
  --ignore-setting      send the CONNECT even without SETTINGS_ENABLE_CONNECT_PROTOCOL
  --abort WHAT          after the sweep, no close: RST_STREAM with the error code WHAT
                        (CANCEL, INTERNAL_ERROR ...), or WHAT = goaway: GOAWAY NO_ERROR

sweep: waits for the server's SETTINGS, checks SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441
3), sends the extended CONNECT (RFC 8441 4) on each stream, then over wsproto's frame-level
Connection sends text and binary messages of every size and one of each kind in 5 frames,
compares every echo with what it sent, pings, closes, and waits for the server's
END_STREAM. Prints one JSON report: {"alpn", "enable_connect_protocol", "streams": [...]}.

bad: each case is a valid extended CONNECT with one defect, sent on a fresh connection;
prints one JSON report {"cases": [{"case", "status", "headers", "body", "reset", "goaway"}]}.
"""
import asyncio
import ssl
import sys

import h2.config
import h2.errors
import h2.settings
from wsproto.connection import ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Ping, Pong, TextMessage
from wsproto.extensions import PerMessageDeflate

from common import SIZES, describe, make_bytes, make_text, report
from h2_link import Link, WebSocket, first, header_dict

DEADLINE = 110  # seconds for the whole run


def parse(argv):
    opts = {
        "mode": argv[1], "host": argv[2], "port": int(argv[3]), "tls": False, "ca": None,
        "insecure": False, "servername": None, "path": "/", "authority": None, "deflate": False,
        "subprotocols": [], "streams": 1, "sizes": list(SIZES), "close": (4000, "client done"),
        "await_close": False, "ignore_setting": False, "abort": None,
    }
    args = argv[4:]
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--tls":
            opts["tls"] = True
        elif a == "--ca":
            opts["ca"], i = args[i + 1], i + 1
        elif a == "--insecure":
            opts["insecure"] = True
        elif a == "--servername":
            opts["servername"], i = args[i + 1], i + 1
        elif a == "--path":
            opts["path"], i = args[i + 1], i + 1
        elif a == "--authority":
            opts["authority"], i = args[i + 1], i + 1
        elif a == "--deflate":
            opts["deflate"] = True
        elif a == "--subprotocols":
            opts["subprotocols"], i = args[i + 1].split(","), i + 1
        elif a == "--streams":
            opts["streams"], i = int(args[i + 1]), i + 1
        elif a == "--sizes":
            opts["sizes"], i = [int(s) for s in args[i + 1].split(",")], i + 1
        elif a == "--close":
            opts["close"], i = (int(args[i + 1]), args[i + 2]), i + 2
        elif a == "--await-close":
            opts["await_close"] = True
        elif a == "--abort":
            opts["abort"], i = args[i + 1], i + 1
        elif a == "--ignore-setting":
            opts["ignore_setting"] = True
        else:
            raise SystemExit(f"unknown option {a}")
        i += 1
    opts["authority"] = opts["authority"] or f"{opts['host']}:{opts['port']}"
    return opts


async def open_link(opts, validate=True):
    """Connect, start the reader task, wait for the server's SETTINGS."""
    context = None
    if opts["tls"]:
        context = ssl.create_default_context(cafile=opts["ca"])
        if opts["insecure"]:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        context.set_alpn_protocols(["h2"])
    reader, writer = await asyncio.open_connection(
        opts["host"], opts["port"], ssl=context,
        server_hostname=(opts["servername"] or opts["host"]) if context else None)
    alpn = None
    if context is not None:
        alpn = writer.get_extra_info("ssl_object").selected_alpn_protocol()
    config = h2.config.H2Configuration(
        client_side=True, header_encoding="utf-8",
        validate_outbound_headers=validate, normalize_outbound_headers=validate)
    link = Link(reader, writer, config, {h2.settings.SettingCodes.ENABLE_PUSH: 0})
    task = asyncio.ensure_future(link.run())
    await asyncio.wait_for(link.remote_settings.wait(), 10)
    return link, task, alpn


def connect_headers(opts, scheme):
    headers = [
        (":method", "CONNECT"), (":protocol", "websocket"), (":scheme", scheme),
        (":path", opts["path"]), (":authority", opts["authority"]), ("sec-websocket-version", "13"),
    ]
    if opts["subprotocols"]:
        headers.append(("sec-websocket-protocol", ", ".join(opts["subprotocols"])))
    return headers


async def one_websocket(link, opts, index):
    """Handshake and sweep on one stream; returns its report."""
    out = {"stream": None, "status": None, "headers": None, "subprotocol": None, "extensions": None,
           "echoes": [], "pong": False, "close": None, "stream_ended": None}
    extension = PerMessageDeflate()
    headers = connect_headers(opts, "https" if opts["tls"] else "http")
    if opts["deflate"]:
        offer = extension.offer()
        headers.append(("sec-websocket-extensions", extension.name + ("" if offer is True else f"; {offer}")))
    stream = link.open_stream(headers)
    out["stream"] = stream.id
    item = await asyncio.wait_for(stream.next(), 30)
    if item[0] != "headers":
        out["error"] = f"no response headers: {item[0]} {item[1] if len(item) > 1 else ''}"
        return out
    response = item[1]
    out["status"] = first(response, ":status")
    out["headers"] = header_dict(response)
    if not out["status"].startswith("2"):
        # RFC 8441 5: a non-2xx response; the body (if any) follows.
        out["body"] = "" if item[2] else (await stream.read_body()).decode("utf-8", "replace")
        return out
    out["subprotocol"] = first(response, "sec-websocket-protocol")
    accepted = first(response, "sec-websocket-extensions")
    out["extensions"] = accepted
    extensions = []
    if accepted:
        for value in accepted.split(","):
            if value.split(";", 1)[0].strip() != extension.name or not opts["deflate"]:
                out["error"] = f"server accepted an extension not offered: {value}"
                return out
            extension.finalize(value.strip())
            extensions.append(extension)
    ws = WebSocket(link, stream, ConnectionType.CLIENT, extensions)

    seed = 100 + 1000 * index
    cases = [(kind, size, 1) for size in opts["sizes"] for kind in ("text", "bytes")]
    cases += [("text", 70000, 5), ("bytes", 70000, 5)]
    for kind, size, fragments in cases:
        seed += 1
        data = make_text(size, seed) if kind == "text" else make_bytes(size, seed)
        if fragments == 1:
            await ws.send(TextMessage(data=data) if kind == "text" else BytesMessage(data=data))
        else:
            cuts = [0, 1, 126, 5000, 65536, len(data)]
            for i, (a, b) in enumerate(zip(cuts, cuts[1:])):
                last = i == len(cuts) - 2
                piece = data[a:b]
                await ws.send(TextMessage(data=piece, message_finished=last) if kind == "text"
                              else BytesMessage(data=piece, message_finished=last))
        got = await ws.next_message()
        entry = describe(kind, size, fragments)
        entry["ok"] = isinstance(got, tuple) and got[0] == kind and got[1] == data
        if not isinstance(got, tuple):
            entry["got"] = repr(got)[:200]
        out["echoes"].append(entry)
        if not isinstance(got, tuple):
            break
    payload = b"ping over h2"
    await ws.send(Ping(payload=payload))
    event = await ws.next_event()
    out["pong"] = isinstance(event, Pong) and bytes(event.payload) == payload

    if opts["abort"] is not None:
        # No close handshake: the stream reset (RST_STREAM) or the connection given up (GOAWAY).
        if opts["abort"] == "goaway":
            link.conn.close_connection()
            link.flush()
        else:
            link.reset_stream(stream, h2.errors.ErrorCodes[opts["abort"]])
        out["aborted"] = opts["abort"]
        await asyncio.sleep(0.5)  # before the connection closes
        return out
    if opts["await_close"]:
        await ws.send(TextMessage(data="please close"))
        event = await ws.next_message()
        if isinstance(event, CloseConnection):
            out["close"] = [int(event.code), event.reason]
            await ws.send(event.response())
            link.end_stream(stream)
    else:
        code, reason = opts["close"]
        await ws.send(CloseConnection(code=code, reason=reason))
        event = await ws.next_message()
        if isinstance(event, CloseConnection):
            out["close"] = [int(event.code), event.reason]
        else:
            out["close_got"] = repr(event)[:200]
    out["state"] = ws.ws.state.name
    # RFC 8441 5 maps the TCP FIN of RFC 6455 to END_STREAM: the server ends its side
    # after the close; then this client ends its own.
    out["stream_ended"] = await ws.wait_stream_end(10)
    link.end_stream(stream)
    if ws.reset:
        out["reset"] = ws.reset
    return out


async def run_sweep(opts):
    result = {"alpn": None, "enable_connect_protocol": None, "streams": []}
    link, task, result["alpn"] = await open_link(opts)
    try:
        if opts["tls"] and result["alpn"] != "h2":
            result["error"] = f"ALPN selected {result['alpn']!r}, not h2"
            return result
        enabled = link.conn.remote_settings.enable_connect_protocol
        result["enable_connect_protocol"] = bool(enabled)
        if not enabled and not opts["ignore_setting"]:
            result["error"] = ("server did not send SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 "
                               "(RFC 8441 3): extended CONNECT not allowed")
            return result
        outcomes = await asyncio.gather(
            *(one_websocket(link, opts, i) for i in range(opts["streams"])), return_exceptions=True)
        for o in outcomes:
            result["streams"].append(o if isinstance(o, dict) else {"error": f"{type(o).__name__}: {o}"})
        if link.goaway:
            result["goaway"] = link.goaway
        if link.error:
            result["error"] = link.error
        return result
    finally:
        await link.close()
        task.cancel()


# ---- bad requests ----

def bad_cases(opts, scheme):
    """(name, headers): a valid extended CONNECT with one thing wrong."""
    def good(**change):
        h = [(":method", "CONNECT"), (":protocol", "websocket"), (":scheme", scheme),
             (":path", opts["path"]), (":authority", opts["authority"]), ("sec-websocket-version", "13")]
        for name, value in change.items():
            name = name.replace("_", "-").replace("P-", ":")
            h = [(n, value if n == name else v) for n, v in h if not (n == name and value is None)]
        return h

    return [
        ("valid (control)", good()),
        ("missing :path", good(P_path=None)),
        ("missing :scheme", good(P_scheme=None)),
        ("missing :authority", good(P_authority=None)),
        (":protocol not websocket", good(P_protocol="chat")),
        ("sec-websocket-version 8", good(sec_websocket_version="8")),
        ("no sec-websocket-version", good(sec_websocket_version=None)),
        ("CONNECT without :protocol", [(":method", "CONNECT"), (":authority", opts["authority"])]),
        ("CONNECT without :protocol, with :scheme and :path", good(P_protocol=None)),
        ("GET with :protocol websocket", [(n, "GET" if n == ":method" else v) for n, v in good()]),
        ("upper-case header name", [(n.replace("sec-websocket-version", "Sec-WebSocket-Version"), v)
                                    for n, v in good()]),
        ("connection-specific header", good() + [("connection", "upgrade"), ("upgrade", "websocket")]),
        ("duplicate :path", good()[:4] + [(":path", opts["path"])] + good()[4:]),
        ("unknown pseudo-header", [(":method", "CONNECT"), (":protocol", "websocket"), (":foo", "bar")]
         + good()[2:]),
    ]


async def one_bad(opts, name, headers):
    out = {"case": name, "status": None, "headers": None, "body": None, "reset": None, "goaway": None}
    try:
        link, task, _ = await open_link(opts, validate=False)
    except Exception as exc:
        out["error"] = f"connect: {type(exc).__name__}: {exc}"
        return out
    try:
        stream = link.open_stream(headers)
        item = await asyncio.wait_for(stream.next(), 5)
        if item[0] == "headers":
            out["status"] = first(item[1], ":status")
            out["headers"] = {k: v for k, v in header_dict(item[1]).items() if k != "date"}
            if out["status"] and out["status"].startswith("2"):
                link.reset_stream(stream)  # the control case: no WebSocket wanted
            elif not item[2]:
                out["body"] = (await asyncio.wait_for(stream.read_body(), 5)).decode("utf-8", "replace")
            if stream.reset:
                out["reset"] = stream.reset
        elif item[0] == "reset":
            out["reset"] = item[1]
    except asyncio.TimeoutError:
        out["error"] = "no answer within 5 s"
    except Exception as exc:
        out["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        await asyncio.sleep(0.05)  # a GOAWAY that follows the reset
        out["goaway"] = link.goaway
        if link.error:
            out["protocol_error"] = link.error
        await link.close()
        task.cancel()
    return out


async def run_bad(opts):
    scheme = "https" if opts["tls"] else "http"
    return {"cases": [await one_bad(opts, name, headers) for name, headers in bad_cases(opts, scheme)]}


async def main(argv):
    opts = parse(argv)
    run = run_sweep if opts["mode"] == "sweep" else run_bad
    try:
        result = await asyncio.wait_for(run(opts), DEADLINE)
    except Exception as exc:
        result = {"error": f"{type(exc).__name__}: {exc}"}
    report(result)


if __name__ == "__main__":
    asyncio.run(main(sys.argv))
