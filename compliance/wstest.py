"""Start the Autobahn|Testsuite's ``wstest`` (Python 3 port) with two start-up fixes.

Usage (from compliance/: the specs' "outdir" is relative, so reports land in compliance/reports/)::

    cd compliance
    AUTOBAHN_SRC=/path/to/autobahn-testsuite /usr/bin/python3 wstest.py -m fuzzingclient -s fuzzingclient.json

Every other argument is wstest's own. compliance/run.sh runs both roles this way.

``AUTOBAHN_SRC`` is the root of the suite's source tree (the folder that holds
``autobahntestsuite/autobahntestsuite/``); without it the package must already be importable.

Nothing in the suite's files is changed, and nothing that decides a case's outcome is
touched: the cases, the framing code and the UTF-8 validator are the suite's own. The two
fixes only concern writing the reports and ending the run:

1. The per-case JSON report writer (``json.dumps`` in ``autobahntestsuite.fuzzing``)
   raises on ``bytes`` values. Case 7.3.2 sends a close frame whose reason is ``b"a"``, so
   its ``localCloseReason`` is ``bytes``. Under Python 2 (the suite's original language) that
   value was a ``str`` and was written as text; here ``bytes`` are written the same way
   (decoded as UTF-8, undecodable octets as backslash escapes).
2. In ``fuzzingclient`` mode the suite calls ``createReports()`` and then
   ``reactor.stop()`` after the last case; when the report writer raised (fix 1), the stop
   was never reached and the process hung forever. Should a report still fail to be written,
   the reactor is now stopped anyway and the process exits with status 3, so a caller
   never waits on a hung suite and never mistakes a broken report for a good one.
"""

import json
import os
import sys
import traceback

_src = os.environ.get("AUTOBAHN_SRC")
if _src:
    sys.path.insert(0, os.path.join(os.path.abspath(_src), "autobahntestsuite"))

sys.argv[0] = "wstest"

# Must come first: installs the epoll reactor before Twisted is imported elsewhere.
from autobahntestsuite import choosereactor  # noqa: E402,F401
from autobahntestsuite import fuzzing  # noqa: E402
from autobahntestsuite.wstest import run  # noqa: E402
from twisted.internet import reactor  # noqa: E402


def _bytes_as_text(value):
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "backslashreplace")
    raise TypeError("Object of type %s is not JSON serializable" % type(value).__name__)


class _Json:
    """Stands in for the ``json`` module inside ``autobahntestsuite.fuzzing`` only."""

    loads = staticmethod(json.loads)

    @staticmethod
    def dumps(obj, **kwargs):
        kwargs.setdefault("default", _bytes_as_text)
        return json.dumps(obj, **kwargs)


fuzzing.json = _Json

_exit_status = 0


def _stop_on_error(method):
    def wrapper(self, *args, **kwargs):
        global _exit_status
        try:
            return method(self, *args, **kwargs)
        except Exception:
            traceback.print_exc()
            print("wstest.py: the suite raised while finishing the run; stopping", file=sys.stderr)
            _exit_status = 3
            if reactor.running:
                reactor.stop()

    return wrapper


for _name in ("clientConnectionLost", "clientConnectionFailed"):
    setattr(
        fuzzing.FuzzingClientFactory,
        _name,
        _stop_on_error(getattr(fuzzing.FuzzingClientFactory, _name)),
    )

if __name__ == "__main__":
    run()
    sys.exit(_exit_status)
