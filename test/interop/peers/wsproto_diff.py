"""Differential testing driver: feeds byte streams to Python wsproto's post-handshake
`wsproto.connection.Connection` and reports the events, one JSON line per case.

Input, one JSON object per line on stdin:
    {"id": ..., "role": "server" | "client", "chunks": [base64, ...], "eof": bool,
     "deflate": null | "permessage-deflate; params", "patched": bool}
"patched" runs permessage-deflate with the fixes of PatchedPerMessageDeflate below, so
the test can show that those wsproto bugs are the whole difference.
Output, one line per case, in order:
    {"id": ..., "events": [...]}
where each event is one of
    ["text", str, frame_finished, message_finished]
    ["bytes", hex, frame_finished, message_finished]
    ["ping", hex]  ["pong", hex]
    ["close", code, reason, "peer" | "failure" | "eof"]
    ["exception", "Type: message"]   (anything else wsproto raised)
    ["marker", name]  (not an event: see ObservedPerMessageDeflate)
A close is "peer" when the peer sent a close frame (wsproto moves to REMOTE_CLOSING),
"failure" when wsproto failed the connection (it stays OPEN), "eof" for the 1006 that
receive_data(None) makes.
"""
import base64
import json
import sys

from wsproto.connection import Connection, ConnectionState, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Ping, Pong, TextMessage
from wsproto.extensions import PerMessageDeflate
from wsproto.frame_protocol import CloseReason, RsvBits


class ObservedPerMessageDeflate(PerMessageDeflate):
    """wsproto 1.2's PerMessageDeflate, unchanged, noting the situations in which the
    test found it to differ from us (as markers, reported before the next event):

    deflate-interleaved: a control frame completed inside a compressed message.
    deflate-empty: a compressed message with an empty payload completed.
    deflate-eof: the decompressor reached the end of the DEFLATE stream (BFINAL).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.markers = []
        self._message_bytes = 0
        self._ended = None

    def frame_inbound_payload_data(self, proto, data):
        if self._inbound_compressed and self._inbound_is_compressible:
            self._message_bytes += len(data)
        return super().frame_inbound_payload_data(proto, data)

    def frame_inbound_complete(self, proto, fin):
        if not self._inbound_is_compressible and self._inbound_compressed:
            self.markers.append("deflate-interleaved")
        ending = fin and self._inbound_is_compressible and self._inbound_compressed
        if ending and self._message_bytes == 0:
            self.markers.append("deflate-empty")
        result = self._complete(proto, fin)
        if fin and self._inbound_is_compressible:
            self._message_bytes = 0
        decompressor = self._decompressor
        if decompressor is not None and decompressor.eof and decompressor is not self._ended:
            self._ended = decompressor
            self.markers.append("deflate-eof")
        return result

    def _complete(self, proto, fin):
        return super().frame_inbound_complete(proto, fin)


class PatchedPerMessageDeflate(ObservedPerMessageDeflate):
    """The same with three bugs fixed (for the differential test only).

    1. RFC 6455 5.4 / RFC 7692 6: a control frame between the fragments of a compressed
       message must not touch the message's compression state. wsproto 1.2 resets it in
       frame_inbound_complete (and sets it from the control frame's header between
       messages), so the fragments after a ping are taken as uncompressed.
    2. RFC 7692 7.2.3.4: a message may end with a DEFLATE block with BFINAL set; the
       next message then starts a new DEFLATE stream. wsproto 1.2 keeps the finished
       (flushed) decompressor and fails the next compressed message with 1007.
    3. RFC 7692 7.2.3.6: an empty message is sent as a single 0x00; a compressed
       message with no payload at all holds no DEFLATE data, and appending 00 00 ff ff
       to nothing leaves the decompressor inside a stored block's header, which garbles
       the next message. Deliver it as empty without touching the decompressor.
    """

    def frame_inbound_header(self, proto, opcode, rsv, payload_length):
        if opcode.iscontrol():
            if rsv.rsv1:
                return CloseReason.PROTOCOL_ERROR
            self._inbound_is_compressible = False
            return RsvBits(True, False, False)
        return super().frame_inbound_header(proto, opcode, rsv, payload_length)

    def _complete(self, proto, fin):
        if not self._inbound_is_compressible:
            return None  # a control frame: the message around it goes on
        if fin and self._inbound_compressed and self._message_bytes == 0:
            self._inbound_compressed = None
            return None
        result = super()._complete(proto, fin)
        if fin and self._decompressor is not None and self._decompressor.eof:
            self._decompressor = None
        return result


def run(case):
    role = ConnectionType.SERVER if case["role"] == "server" else ConnectionType.CLIENT
    extensions = []
    if case.get("deflate"):
        extension = PatchedPerMessageDeflate() if case.get("patched") else ObservedPerMessageDeflate()
        # The handshake is done elsewhere: configure the extension as it would have been.
        if role is ConnectionType.SERVER:
            extension.accept(case["deflate"])
        else:
            extension.finalize(case["deflate"])
        extensions.append(extension)
    conn = Connection(role, extensions=extensions)
    out = []
    def markers():
        for extension in extensions:
            out.extend(["marker", m] for m in extension.markers)
            extension.markers.clear()

    def drain(eof):
        for event in conn.events():
            markers()  # what the extension noted while this event was made
            if isinstance(event, TextMessage):
                out.append(["text", event.data, event.frame_finished, event.message_finished])
            elif isinstance(event, BytesMessage):
                out.append(["bytes", bytes(event.data).hex(), event.frame_finished, event.message_finished])
            elif isinstance(event, Ping):
                out.append(["ping", bytes(event.payload).hex()])
            elif isinstance(event, Pong):
                out.append(["pong", bytes(event.payload).hex()])
            elif isinstance(event, CloseConnection):
                if eof:
                    kind = "eof"
                elif conn.state is ConnectionState.REMOTE_CLOSING:
                    kind = "peer"
                else:
                    kind = "failure"
                out.append(["close", int(event.code), event.reason or "", kind])
            else:
                out.append(["exception", f"unexpected event {event!r}"])
        markers()

    try:
        for chunk in case["chunks"]:
            conn.receive_data(base64.b64decode(chunk))
            drain(False)
        if case.get("eof"):
            conn.receive_data(None)
            drain(True)
    except Exception as exc:  # anything but events is reported, not fatal
        out.append(["exception", f"{type(exc).__name__}: {exc}"])
    return out


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        case = json.loads(line)
        sys.stdout.write(json.dumps({"id": case["id"], "events": run(case)}) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
