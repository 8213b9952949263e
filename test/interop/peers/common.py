"""Shared helpers of the Python interop peers (run with /usr/bin/python3).

Payloads are deterministic, so a peer can check an echo against what it sent without
the Node side knowing the data; reports are one JSON object per line on stdout.
"""
import json
import random
import sys

# The sizes every sweep uses (bytes on the wire, before compression).
SIZES = [0, 125, 126, 65535, 65536, 1 << 20]
BIG = 16 << 20

_ALPHABET = "abcdefghij klmnop QRSTUV 0123456789 .,;!? é ß ñ ✓ € 漢字 😀 🚀\n"


def make_text(size, seed):
    """A str whose UTF-8 encoding is exactly `size` bytes (ASCII, 2-, 3- and 4-byte)."""
    rnd = random.Random(seed)
    unit = "".join(rnd.choice(_ALPHABET) for _ in range(3000)).encode("utf-8")
    raw = (unit * (size // len(unit) + 1))[:size]
    text = raw.decode("utf-8", errors="ignore")  # drops a code point cut at the end
    text += "x" * (size - len(text.encode("utf-8")))
    assert len(text.encode("utf-8")) == size
    return text


def make_bytes(size, seed):
    """`size` pseudo-random bytes (incompressible, so deflate really works)."""
    return random.Random(seed).randbytes(size)


def sizes(argv):
    """SIZES, plus 16 MiB when the command line says --big."""
    return SIZES + ([BIG] if "--big" in argv else [])


def report(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def describe(kind, size, fragments=1):
    return {"kind": kind, "size": size, "fragments": fragments}
