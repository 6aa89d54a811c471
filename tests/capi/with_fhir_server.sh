#!/usr/bin/env bash
# with_fhir_server.sh SERVER_JS COMMAND...: runs COMMAND with the loopback FHIR test server
# (tests/fhir-server/server.js) up on a free port, its base URL in COUNTERSIGN_TEST_FHIR_URL.
# The server is stopped however COMMAND ends. Used by the plain-C ABI test, which has no C++
# test harness to start it.
set -euo pipefail
server_js=$1
shift
log=$(mktemp)
node "$server_js" --port 0 >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -f "$log"' EXIT
port=
for _ in $(seq 1 200); do
  port=$(awk '/^LISTENING /{print $2; exit}' "$log")
  [ -n "$port" ] && break
  if ! kill -0 "$pid" 2>/dev/null; then break; fi
  sleep 0.1
done
if [ -z "$port" ]; then
  echo "the FHIR test server did not start:"; cat "$log"; exit 1
fi
COUNTERSIGN_TEST_FHIR_URL="http://127.0.0.1:$port/fhir/R4" "$@"
