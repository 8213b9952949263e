#!/usr/bin/env bash
# Run the Autobahn|Testsuite (the Python 3 port, unmodified) against our two testee agents
# and print a per-category summary. See compliance/README.md.
#
#   compliance/run.sh [SUITE_SRC] [server|client|both]
#
# SUITE_SRC (or $AUTOBAHN_SRC): root of an unpacked tree of the suite's repository
# (GitHub ricardo-valero/autobahn-testsuite), the folder holding
# autobahntestsuite/autobahntestsuite/wstest.py. The role defaults to both: first
# `wstest -m fuzzingclient` against our server agent (port 9001), then
# `wstest -m fuzzingserver` (port 9002) driving our client agent.
#
# Environment:
#   PYTHON        interpreter with Debian's python3-twisted, -autobahn ... (default /usr/bin/python3)
#   ROLE_TIMEOUT  seconds each role may take before it is killed (default 7200; a killed
#                 role leaves no report, the suite writes them all at the end)
#   CASES         JSON list replacing the specs' "cases" (default: the specs', i.e. ["*"])
#   SERVER_PORT   port of our server agent (default 9001), CLIENT_PORT: of the suite (default 9002)
#   SKIP_BUILD=1  do not run `npm run build` (dist/ must be current)
#
# Reports: compliance/reports/servers/ and compliance/reports/clients/ (index.json, index.html
# and a page per case); logs of the suite and the agents next to them.
# Exit status: 0 when both roles ran to the end, every case reported, and no case FAILED or
# closed UNCLEAN; 1 otherwise.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SRC=${1:-${AUTOBAHN_SRC:-}}
ROLE=${2:-both}
PYTHON=${PYTHON:-/usr/bin/python3}
ROLE_TIMEOUT=${ROLE_TIMEOUT:-7200}
SERVER_PORT=${SERVER_PORT:-9001}
CLIENT_PORT=${CLIENT_PORT:-9002}
WORK=$ROOT/compliance
REPORTS=$WORK/reports

die() {
  echo "run.sh: $*" >&2
  exit 1
}

[ -n "$SRC" ] || die "give the suite's source tree as the first argument or in AUTOBAHN_SRC (see compliance/README.md)"
SRC=$(cd "$SRC" && pwd) || die "no such folder: $SRC"
[ -f "$SRC/autobahntestsuite/autobahntestsuite/wstest.py" ] ||
  die "$SRC is not the suite's tree (no autobahntestsuite/autobahntestsuite/wstest.py)"
case $ROLE in server | client | both) ;; *) die "role must be server, client or both, not $ROLE" ;; esac
"$PYTHON" -c 'import twisted, autobahn, txaio, jinja2, OpenSSL, service_identity' 2>/dev/null ||
  die "$PYTHON lacks the suite's dependencies (apt-get install python3-twisted python3-autobahn ...)"

export AUTOBAHN_SRC=$SRC
mkdir -p "$REPORTS"

if [ "${SKIP_BUILD:-}" != 1 ]; then
  (cd "$ROOT" && npm run build) || die "npm run build failed"
fi

# The spec to run: the committed one, or a copy with CASES in place of its case list and
# the URL on another port.
spec() {
  local committed=$WORK/$1.json port=$2 default=$3
  if [ -z "${CASES:-}" ] && [ "$port" = "$default" ]; then
    echo "$committed"
    return
  fi
  local copy=$REPORTS/$1.json
  "$PYTHON" -c 'import json, sys
s = json.load(open(sys.argv[1]))
if sys.argv[2]: s["cases"] = json.loads(sys.argv[2])
url = "ws://127.0.0.1:%s" % sys.argv[3]
if "servers" in s: s["servers"][0]["url"] = url
else: s["url"] = url
json.dump(s, open(sys.argv[4], "w"), indent=2)' "$committed" "${CASES:-}" "$port" "$copy" || die "CASES is not a JSON list"
  echo "$copy"
}

# Refuse a port something else already listens on: the suite or agent would otherwise be
# talking to someone else's process.
port_taken() {
  if command -v ss >/dev/null; then
    ss -Hltn "sport = :$1" | grep -q .
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
  fi
}

wait_for_port() {
  local port=$1 pid=$2
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.2
  done
  return 1
}

stop() {
  local pid=$1
  kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  return 0
}

# Expected case count, from the suite's log line "will run N test cases".
planned() {
  grep -o 'will run [0-9]* test cases' "$1" | head -1 | grep -o '[0-9][0-9]*'
}

reported() {
  "$PYTHON" -c 'import json, sys
print(sum(len(v) for v in json.load(open(sys.argv[1])).values()))' "$1" 2>/dev/null || echo 0
}

status=0
ran_server=0
ran_client=0
summary_args=()

run_server_role() {
  local out=$REPORTS/servers spec_file
  spec_file=$(spec fuzzingclient "$SERVER_PORT" 9001) || exit 1
  if port_taken "$SERVER_PORT"; then
    echo "port $SERVER_PORT is already in use; not running the server role" >&2
    status=1
    return
  fi
  rm -rf "$out"
  mkdir -p "$out"
  ran_server=1
  echo "== server role: wstest -m fuzzingclient -> our server agent on ws://127.0.0.1:$SERVER_PORT ($(date -u +%FT%TZ))"
  node "$ROOT/dist/compliance/server-agent.js" "$SERVER_PORT" >"$out/server-agent.log" 2>&1 &
  local agent=$!
  wait_for_port "$SERVER_PORT" "$agent" || {
    stop "$agent"
    echo "server agent did not listen on $SERVER_PORT (see $out/server-agent.log)" >&2
    status=1
    return
  }
  local start=$SECONDS rc
  (cd "$WORK" && timeout "$ROLE_TIMEOUT" "$PYTHON" "$WORK/wstest.py" -m fuzzingclient -s "$spec_file") \
    >"$out/wstest.log" 2>&1
  rc=$?
  echo "   took $((SECONDS - start)) s, wstest exit status $rc"
  stop "$agent"
  check_role "$out" "$rc"
}

run_client_role() {
  local out=$REPORTS/clients spec_file
  spec_file=$(spec fuzzingserver "$CLIENT_PORT" 9002) || exit 1
  if port_taken "$CLIENT_PORT"; then
    echo "port $CLIENT_PORT is already in use; not running the client role" >&2
    status=1
    return
  fi
  rm -rf "$out"
  mkdir -p "$out"
  ran_client=1
  echo "== client role: wstest -m fuzzingserver on ws://127.0.0.1:$CLIENT_PORT <- our client agent ($(date -u +%FT%TZ))"
  # --webport 0: no embedded web server (the spec file has no say in it; the default is 8080).
  (cd "$WORK" && exec timeout "$ROLE_TIMEOUT" "$PYTHON" "$WORK/wstest.py" -m fuzzingserver --webport 0 \
    -s "$spec_file") >"$out/wstest.log" 2>&1 &
  local suite=$!
  wait_for_port "$CLIENT_PORT" "$suite" || {
    stop "$suite"
    echo "the suite did not listen on $CLIENT_PORT (see $out/wstest.log)" >&2
    status=1
    return
  }
  local start=$SECONDS rc
  timeout "$ROLE_TIMEOUT" node "$ROOT/dist/compliance/client-agent.js" "ws://127.0.0.1:$CLIENT_PORT" wsproto \
    >"$out/client-agent.log" 2>&1
  rc=$?
  echo "   took $((SECONDS - start)) s, client agent exit status $rc"
  [ $rc -eq 0 ] || sed 's/^/   /' "$out/client-agent.log" | grep -v '^   [0-9]*/[0-9]*$' | tail -20
  # The fuzzing server never exits by itself; it has written the reports when the agent's
  # /updateReports connection is answered, so stop it now.
  stop "$suite"
  check_role "$out" "$rc"
}

check_role() {
  local out=$1 rc=$2 want got
  want=$(planned "$out/wstest.log")
  if [ ! -f "$out/index.json" ]; then
    echo "   no $out/index.json" >&2
    status=1
    return
  fi
  got=$(reported "$out/index.json")
  echo "   $got of ${want:-?} cases reported"
  if [ "$rc" -ne 0 ] || [ -z "$want" ] || [ "$got" != "$want" ]; then status=1; fi
  if grep -q 'Traceback' "$out/wstest.log"; then
    echo "   the suite logged a Python traceback (see $out/wstest.log)" >&2
    status=1
  fi
}

if [ "$ROLE" != client ]; then
  run_server_role
  [ $ran_server = 1 ] && [ -f "$REPORTS/servers/index.json" ] && summary_args+=("$REPORTS/servers/index.json" "Our server (wstest -m fuzzingclient)")
fi
if [ "$ROLE" != server ]; then
  run_client_role
  [ $ran_client = 1 ] && [ -f "$REPORTS/clients/index.json" ] && summary_args+=("$REPORTS/clients/index.json" "Our client (wstest -m fuzzingserver)")
fi

if [ ${#summary_args[@]} -gt 0 ]; then
  node "$ROOT/dist/compliance/summary.js" "${summary_args[@]}" || status=1
fi
exit $status
