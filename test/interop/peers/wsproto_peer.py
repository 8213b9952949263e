"""Python `wsproto` (the library we port) driven over a real socket, in either role.

usage: wsproto_peer.py client HOST PORT [--deflate] [--big]
       wsproto_peer.py server [--deflate]

client: opens a connection to HOST:PORT, sends text and binary messages of every size
(and one of each kind in several frames), compares every echo with what it sent, pings,
closes with 4000 "client done", and prints one JSON report.

server: listens on 127.0.0.1 port 0 and prints {"port": N}; echoes each whole message
back, answers pings, echoes the close, closes TCP first (RFC 6455 7.1.1), and prints a
JSON report per connection: the messages it received (kind, size, number of frames),
the pings, and the close code and reason. Serves until stdin closes (120 s at most).
"""
import collections
import select
import socket
import sys
import threading
import time

from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    Pong,
    RejectConnection,
    Request,
    TextMessage,
)
from wsproto.extensions import PerMessageDeflate

from common import describe, make_bytes, make_text, report, sizes

DEADLINE = 120  # seconds, for every loop below


class Peer:
    """A WSConnection over a blocking socket, with a queue of received events."""

    def __init__(self, sock, role):
        self.sock = sock
        self.ws = WSConnection(role)
        self.pending = collections.deque()
        self.eof = False
        self.deadline = time.monotonic() + DEADLINE

    def send(self, event):
        self.sock.sendall(self.ws.send(event))

    def next_event(self):
        while not self.pending:
            if self.eof or time.monotonic() > self.deadline:
                return None
            data = self.sock.recv(1 << 16)
            if not data:
                self.eof = True
                self.ws.receive_data(None)
            else:
                self.ws.receive_data(data)
            self.pending.extend(self.ws.events())
        return self.pending.popleft()

    def next_message(self, on_other=None):
        """The next whole message as (kind, data, frames); control events go to on_other."""
        parts, frames, kind = [], 0, None
        while True:
            event = self.next_event()
            if event is None:
                return None
            if isinstance(event, (TextMessage, BytesMessage)):
                kind = "text" if isinstance(event, TextMessage) else "bytes"
                parts.append(event.data)
                frames += 1 if event.frame_finished else 0
                if event.message_finished:
                    joined = "".join(parts) if kind == "text" else b"".join(parts)
                    return kind, joined, frames
            elif on_other is not None:
                if on_other(event) is False:
                    return event
            else:
                return event


def run_client(host, port, deflate, argv):
    result = {"extensions": None, "echoes": [], "pong": False, "close": None, "server_closed_tcp": False}
    sock = socket.create_connection((host, port), timeout=30)
    peer = Peer(sock, ConnectionType.CLIENT)
    extension = PerMessageDeflate()
    peer.send(Request(host=f"{host}:{port}", target="/wsproto", extensions=[extension] if deflate else []))
    event = peer.next_event()
    if not isinstance(event, AcceptConnection):
        result["error"] = f"handshake: {event!r}"
        report(result)
        return
    result["extensions"] = [e.name for e in event.extensions if e.enabled()]
    seed = 100
    cases = [(kind, size, 1) for size in sizes(argv) for kind in ("text", "bytes")]
    cases += [("text", 70000, 5), ("bytes", 70000, 5)]
    for kind, size, fragments in cases:
        seed += 1
        data = make_text(size, seed) if kind == "text" else make_bytes(size, seed)
        if fragments == 1:
            peer.send(TextMessage(data=data) if kind == "text" else BytesMessage(data=data))
        else:
            cuts = [0, 1, 126, 5000, 65536, len(data)]
            for i, (a, b) in enumerate(zip(cuts, cuts[1:])):
                last = i == len(cuts) - 2
                piece = data[a:b]
                peer.send(TextMessage(data=piece, message_finished=last) if kind == "text" else BytesMessage(data=piece, message_finished=last))
        got = peer.next_message()
        entry = describe(kind, size, fragments)
        entry["ok"] = isinstance(got, tuple) and got[0] == kind and got[1] == data
        result["echoes"].append(entry)
    payload = b"ping from wsproto"
    peer.send(Ping(payload=payload))
    event = peer.next_event()
    result["pong"] = isinstance(event, Pong) and bytes(event.payload) == payload
    peer.send(CloseConnection(code=4000, reason="client done"))
    event = peer.next_event()
    if isinstance(event, CloseConnection):
        result["close"] = [int(event.code), event.reason]
    result["state"] = peer.ws.state.name
    # RFC 6455 7.1.1: the server closes the TCP connection first.
    sock.settimeout(10)
    try:
        result["server_closed_tcp"] = sock.recv(1) == b""
    except OSError:
        pass
    sock.close()
    report(result)


def serve_one(sock, deflate):
    peer = Peer(sock, ConnectionType.SERVER)
    result = {"extensions": None, "messages": [], "pings": [], "close": None}
    try:
        event = peer.next_event()
        if not isinstance(event, Request):
            result["error"] = f"handshake: {event!r}"
            return
        extension = PerMessageDeflate()
        peer.send(AcceptConnection(extensions=[extension] if deflate else []))
        result["extensions"] = [extension.name] if extension.enabled() else []

        def control(event):
            if isinstance(event, Ping):
                result["pings"].append(bytes(event.payload).decode("latin-1"))
                peer.send(event.response())
                return True
            return False

        while True:
            got = peer.next_message(control)
            if isinstance(got, tuple):
                kind, data, frames = got
                entry = describe(kind, len(data) if kind == "bytes" else len(data.encode("utf-8")), frames)
                result["messages"].append(entry)
                peer.send(TextMessage(data=data) if kind == "text" else BytesMessage(data=data))
                continue
            if isinstance(got, CloseConnection):
                result["close"] = [int(got.code), got.reason]
                if peer.ws.state.name == "REMOTE_CLOSING":
                    peer.send(got.response())
            break
    except Exception as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        sock.close()
        report(result)


def run_server(deflate):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    report({"port": listener.getsockname()[1]})
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        ready, _, _ = select.select([listener, sys.stdin], [], [], 1)
        if sys.stdin in ready and sys.stdin.read(1) == "":
            break  # the test closed our stdin: done
        if listener in ready:
            sock, _ = listener.accept()
            sock.settimeout(30)
            threading.Thread(target=serve_one, args=(sock, deflate), daemon=True).start()
    listener.close()


if __name__ == "__main__":
    deflate = "--deflate" in sys.argv
    if sys.argv[1] == "client":
        run_client(sys.argv[2], int(sys.argv[3]), deflate, sys.argv)
    else:
        run_server(deflate)
