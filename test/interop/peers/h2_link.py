"""HTTP/2 plumbing shared by h2_ws_client.py and h2_ws_server.py (run with /usr/bin/python3).

One `Link` drives an `h2.connection.H2Connection` over an asyncio stream pair: a reader
task feeds every received byte to h2 and routes its events to per-stream `Stream`
queues; `send_data` respects both flow-control windows (stream and connection) and the
peer's maximum frame size, waiting for WINDOW_UPDATE when a window is empty; every byte
received on a stream is acknowledged once the stream's reader has taken it, so a slow
reader holds the sender back instead of growing a buffer.

`WebSocket` runs Python wsproto's post-handshake `Connection` (frames only, RFC 8441 5:
after the extended CONNECT the stream carries RFC 6455 frames) over one `Stream`.
"""
import asyncio
import collections

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings
from wsproto.connection import Connection, ConnectionState
from wsproto.events import BytesMessage, CloseConnection, TextMessage


def error_name(code):
    """An HTTP/2 error code as its RFC 9113 7 name (or the number when unknown)."""
    try:
        return h2.errors.ErrorCodes(code).name
    except ValueError:
        return str(code)


class Stream:
    """One HTTP/2 stream: received headers, then data, end or reset, in arrival order."""

    def __init__(self, link, stream_id):
        self.link = link
        self.id = stream_id
        self.items = asyncio.Queue()  # ("headers", list, ended) | ("data", bytes) | ("end",) | ("reset", name)
        self.reset = None  # the error code name of a RST_STREAM either way
        self.remote_ended = False
        self.local_ended = False

    async def next(self):
        item = await self.items.get()
        if item[0] == "data":
            # Acknowledge only now: flow control then tracks what this reader has taken.
            self.link.acknowledge(self.id, item[2])
        return item

    async def read_body(self):
        """Everything up to the end of the stream (or its reset), as bytes."""
        body = bytearray()
        while True:
            item = await self.next()
            if item[0] == "data":
                body += item[1]
            else:
                return bytes(body)


class Link:
    """An H2Connection over (reader, writer); `run()` must be running as a task."""

    def __init__(self, reader, writer, config, local_settings=None):
        self.reader = reader
        self.writer = writer
        self.conn = h2.connection.H2Connection(config=config)
        if local_settings:
            # In the first SETTINGS frame (RFC 8441 3: a client waits for it before CONNECT).
            self.conn.local_settings = h2.settings.Settings(client=config.client_side, initial_values=local_settings)
        self.streams = {}
        self.remote_settings = asyncio.Event()  # set at the peer's first SETTINGS
        self.closed = asyncio.Event()
        self.goaway = None  # {"error": name, "last_stream_id": n} once received
        self.error = None  # a protocol error h2 raised on what the peer sent
        self.on_request = None  # server: called with (stream, headers, ended)
        self._window = asyncio.Event()
        self.conn.initiate_connection()
        self.flush()

    # ---- output ----

    def flush(self):
        data = self.conn.data_to_send()
        if data and not self.writer.is_closing():
            self.writer.write(data)

    def acknowledge(self, stream_id, length):
        try:
            self.conn.acknowledge_received_data(length, stream_id)
        except (h2.exceptions.StreamClosedError, KeyError):
            self.conn.increment_flow_control_window(length)  # the stream is gone; keep the connection window
        self.flush()

    def open_stream(self, headers, end_stream=False):
        stream_id = self.conn.get_next_available_stream_id()
        stream = self.streams[stream_id] = Stream(self, stream_id)
        self.conn.send_headers(stream_id, headers, end_stream=end_stream)
        stream.local_ended = end_stream
        self.flush()
        return stream

    def send_headers(self, stream, headers, end_stream=False):
        self.conn.send_headers(stream.id, headers, end_stream=end_stream)
        stream.local_ended = stream.local_ended or end_stream
        self.flush()

    async def send_data(self, stream, data, end_stream=False):
        """Send `data` on `stream` as the windows allow; False if the stream went away."""
        view = memoryview(data)
        while len(view) > 0:
            if stream.reset is not None or self.closed.is_set():
                return False
            try:
                room = min(self.conn.local_flow_control_window(stream.id), self.conn.max_outbound_frame_size)
            except h2.exceptions.StreamClosedError:
                return False
            if room <= 0:
                self._window.clear()
                await self._window.wait()
                continue
            self.conn.send_data(stream.id, bytes(view[:room]))
            view = view[room:]
            self.flush()
            await self.writer.drain()
        if end_stream:
            self.end_stream(stream)
        return True

    def end_stream(self, stream):
        if stream.local_ended or stream.reset is not None:
            return
        try:
            self.conn.end_stream(stream.id)
            stream.local_ended = True
        except h2.exceptions.StreamClosedError:
            pass
        self.flush()

    def reset_stream(self, stream, code=h2.errors.ErrorCodes.CANCEL):
        try:
            self.conn.reset_stream(stream.id, code)
        except h2.exceptions.StreamClosedError:
            pass
        self.flush()

    async def close(self):
        if not self.closed.is_set():
            try:
                self.conn.close_connection()
                self.flush()
                await self.writer.drain()
            except Exception:
                pass
        self.writer.close()

    # ---- input ----

    async def run(self):
        frames = GoawayFilter(server_side=not self.conn.config.client_side)
        try:
            while True:
                data = await self.reader.read(65536)
                if not data:
                    break
                data, goaways = frames.feed(data)
                for code, last_stream_id in goaways:
                    self.goaway = {"error": error_name(code), "last_stream_id": last_stream_id}
                    self._window.set()
                try:
                    events = self.conn.receive_data(data)
                except h2.exceptions.ProtocolError as exc:
                    self.error = f"{type(exc).__name__}: {exc}"
                    self.flush()  # h2 queued a GOAWAY
                    break
                for event in events:
                    self._dispatch(event)
                self.flush()
        except (ConnectionError, OSError) as exc:
            self.error = self.error or f"{type(exc).__name__}: {exc}"
        finally:
            self.closed.set()
            self._window.set()
            for stream in self.streams.values():
                if not stream.remote_ended and stream.reset is None:
                    stream.items.put_nowait(("reset", "CONNECTION_CLOSED"))

    def _dispatch(self, event):
        stream = self.streams.get(getattr(event, "stream_id", None) or 0)
        if isinstance(event, h2.events.RequestReceived):
            stream = self.streams[event.stream_id] = Stream(self, event.stream_id)
            ended = event.stream_ended is not None
            stream.items.put_nowait(("headers", list(event.headers), ended))
            if self.on_request is not None:
                self.on_request(stream)
        elif isinstance(event, (h2.events.ResponseReceived, h2.events.InformationalResponseReceived,
                                h2.events.TrailersReceived)):
            if stream is not None:
                stream.items.put_nowait(("headers", list(event.headers), event.stream_ended is not None))
        elif isinstance(event, h2.events.DataReceived):
            if stream is not None:
                stream.items.put_nowait(("data", event.data, event.flow_controlled_length))
            else:
                self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2.events.StreamEnded):
            if stream is not None:
                stream.remote_ended = True
                stream.items.put_nowait(("end",))
        elif isinstance(event, h2.events.StreamReset):
            if stream is not None:
                stream.reset = error_name(event.error_code)
                stream.items.put_nowait(("reset", stream.reset))
            self._window.set()
        elif isinstance(event, h2.events.WindowUpdated):
            self._window.set()
        elif isinstance(event, h2.events.RemoteSettingsChanged):
            self._window.set()  # INITIAL_WINDOW_SIZE or MAX_FRAME_SIZE may have grown
            self.remote_settings.set()
        elif isinstance(event, h2.events.ConnectionTerminated):
            self.goaway = {"error": error_name(event.error_code), "last_stream_id": event.last_stream_id}
            self._window.set()


class GoawayFilter:
    """Keeps the peer's GOAWAY frames from h2, which would end the connection at once.

    h2 4.1 moves its connection to CLOSED on a received GOAWAY and then refuses every
    frame (python-hyper/h2#1181), but RFC 9113 6.8 lets streams at or below the last
    stream id complete: node:http2's `session.close()` sends GOAWAY and then still ends
    its open streams. So complete frames go to h2 as they come, except GOAWAY, which is
    recorded here; the peer closes TCP when its streams are done.
    """

    PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
    GOAWAY = 0x7

    def __init__(self, server_side):
        self.buffer = bytearray()
        self.preface = len(self.PREFACE) if server_side else 0

    def feed(self, data):
        """(bytes for h2, [(error code, last stream id)] of the GOAWAYs withheld)."""
        self.buffer += data
        out, goaways = bytearray(), []
        if self.preface:
            take = min(self.preface, len(self.buffer))
            out += self.buffer[:take]
            del self.buffer[:take]
            self.preface -= take
        while len(self.buffer) >= 9:  # RFC 9113 4.1: length (24 bits), type, flags, stream id
            end = 9 + int.from_bytes(self.buffer[0:3], "big")
            if len(self.buffer) < end:
                break
            frame = bytes(self.buffer[:end])
            del self.buffer[:end]
            if frame[3] == self.GOAWAY and end >= 17:
                last = int.from_bytes(frame[9:13], "big") & 0x7FFFFFFF
                goaways.append((int.from_bytes(frame[13:17], "big"), last))
            else:
                out += frame
        return bytes(out), goaways


def header_dict(headers):
    """Headers as a dict of lists (names are lower case on the wire in HTTP/2)."""
    out = collections.OrderedDict()
    for name, value in headers:
        out.setdefault(name, []).append(value)
    return out


def first(headers, name):
    for key, value in headers:
        if key == name:
            return value
    return None


class WebSocket:
    """wsproto's frame-level Connection on an HTTP/2 stream (RFC 8441 5)."""

    def __init__(self, link, stream, role, extensions):
        self.link = link
        self.stream = stream
        self.ws = Connection(role, extensions=extensions)
        self.pending = collections.deque()
        self.stream_ended = False  # the peer sent END_STREAM
        self.reset = None

    async def send(self, event):
        return await self.link.send_data(self.stream, self.ws.send(event))

    async def next_event(self, timeout=60):
        """The next wsproto event, or None when the stream ended or was reset first."""
        while not self.pending:
            if self.ws.state is ConnectionState.CLOSED or self.reset is not None:
                return None
            if self.stream_ended:
                self.ws.receive_data(None)  # wsproto reports 1006
                self.pending.extend(self.ws.events())
                continue
            item = await asyncio.wait_for(self.stream.next(), timeout)
            if item[0] == "data":
                self.ws.receive_data(item[1])
                self.pending.extend(self.ws.events())
            elif item[0] == "end":
                self.stream_ended = True
            elif item[0] == "reset":
                self.reset = item[1]
        return self.pending.popleft()

    async def next_message(self, on_control=None, timeout=60):
        """A whole message as (kind, data, frames); any other event is returned as is
        (or given to on_control, which returns True to keep reading)."""
        parts, frames = [], 0
        while True:
            event = await self.next_event(timeout)
            if event is None:
                return None
            if isinstance(event, (TextMessage, BytesMessage)):
                kind = "text" if isinstance(event, TextMessage) else "bytes"
                parts.append(event.data)
                frames += 1 if event.frame_finished else 0
                if event.message_finished:
                    return kind, ("".join(parts) if kind == "text" else b"".join(parts)), frames
            elif on_control is not None and on_control(event):
                continue
            else:
                return event

    async def wait_stream_end(self, timeout=10):
        """Wait for the peer's END_STREAM (or a reset); returns "end", the reset code, or "timeout"."""
        try:
            while not self.stream_ended and self.reset is None:
                item = await asyncio.wait_for(self.stream.next(), timeout)
                if item[0] == "end":
                    self.stream_ended = True
                elif item[0] == "reset":
                    self.reset = item[1]
                # data after the close frame is dropped (RFC 6455 5.5.1)
        except asyncio.TimeoutError:
            return "timeout"
        return "end" if self.stream_ended else self.reset


def is_close(event):
    return isinstance(event, CloseConnection)
