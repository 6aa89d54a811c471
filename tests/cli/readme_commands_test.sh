#!/usr/bin/env bash
# Every command the README shows, run as written (only the config path, the daemon's URL, ids and
# tokens are substituted), against the loopback FHIR test server and a real daemon; then the
# command line's refusals (unknown command or option, extra arguments, unreadable files, bad
# ports, --json errors), the local operator's commands without a token, the API token reload
# on SIGHUP, and the worker's log line for a failed commit.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
build="${COUNTERSIGN_BUILD_DIR:?set COUNTERSIGN_BUILD_DIR to the build directory}"
cs="$build/plugin/cli/countersign"

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; curl -s "$fhir_admin/requests" | head -c 1500 >&2; echo >&2; [ -f "$work/daemon.err" ] && grep -v "^http " "$work/daemon.err" | tail -20 >&2; exit 1; }
wait_for_line() {  # file pattern -> the first matching line (20 s at most)
  for _ in $(seq 1 200); do
    if grep -q -- "$2" "$1" 2>/dev/null; then grep -m1 -- "$2" "$1"; return 0; fi
    sleep 0.1
  done
  echo "timed out waiting for '$2' in $1" >&2; cat "$1" >&2; return 1
}
# expect CODE CMD...: runs CMD, output in $work/out and $work/err, fails unless it exits CODE.
expect() {
  local want=$1; shift
  local rc=0
  "$@" >"$work/out" 2>"$work/err" || rc=$?
  if [ "$rc" != "$want" ]; then
    echo "--- stdout"; cat "$work/out"; echo "--- stderr"; cat "$work/err"
    fail "exit $rc, expected $want: $*"
  fi
}
json_field() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=JSON.parse(s);const r=process.argv[1].split(".").reduce((o,k)=>o==null?o:o[k],v);console.log(r===undefined?"":r)})' "$1"; }
admin() { curl -sf -X "$1" "$fhir_admin/$2" ${3:+-H 'Content-Type: application/json' -d "$3"} >/dev/null; }

# --- the FHIR test server and a config of our own (the README's my-config.json)
node tests/fhir-server/server.js --port 0 >"$work/fhir.out" 2>"$work/fhir.err" &
pids+=($!)
fhir_port=$(wait_for_line "$work/fhir.out" LISTENING | awk '{print $2}')
fhir="http://127.0.0.1:$fhir_port/fhir/R4"
fhir_admin="http://127.0.0.1:$fhir_port/\$admin"
mkdir -p "$work/conf"
cp fixtures/config/principals.json fixtures/config/approval-policy.json \
   fixtures/config/guardrails.json "$work/conf/"
sed -e "s#http://127.0.0.1:8103/fhir/R4#$fhir#" \
    -e "s#\"../../mappings/rules\"#\"$top/mappings/rules\"#" \
    -e "s#127.0.0.1:8400#127.0.0.1:0#" \
    fixtures/config/countersign.json >"$work/conf/my-config.json"
cfg="$work/conf/my-config.json"
mkdir "$work/drafts"
cp fixtures/drafts/note-create.json fixtures/drafts/appointment-create.json \
   fixtures/drafts/message-create.json "$work/drafts/"
AI_TOKEN=demo-ai-scribe-token
TOKEN=demo-dr-ada-token

echo "== countersign check-config fixtures/config/countersign.json (no side effects)"
had_db=no; [ -e fixtures/config/countersign.db ] && had_db=yes
expect 0 "$cs" check-config fixtures/config/countersign.json
grep -q ": ok" "$work/out" || fail "check-config did not say ok"
[ "$had_db" = yes ] || [ ! -e fixtures/config/countersign.db ] || fail "check-config created the store"

echo "== countersign check-config my-config.json --connect"
expect 0 "$cs" check-config "$cfg" --connect
grep -q "FHIR server:" "$work/out" || fail "--connect printed no server summary"
[ ! -e "$work/conf/countersign.db" ] || fail "check-config --connect created the store"

echo "== countersign serve --config my-config.json"
"$cs" serve --config "$cfg" >"$work/daemon.out" 2>"$work/daemon.err" &
daemon_pid=$!
pids+=($daemon_pid)
url=$(wait_for_line "$work/daemon.out" "serving on" | sed -E 's#.*serving on (http://[^ ]+).*#\1#')


echo "== countersign --url URL --token \$AI_TOKEN submit drafts/"
expect 0 "$cs" --url "$url" --token "$AI_TOKEN" submit "$work/drafts/"
id_for() { sed -nE "s#^.*/$1: ([^ ]+) .*#\\1#p" "$work/out"; }
note=$(id_for note-create.json); appt=$(id_for appointment-create.json); msg=$(id_for message-create.json)
[ -n "$note" ] && [ -n "$appt" ] && [ -n "$msg" ] || { cat "$work/out"; fail "submit printed no ids"; }
cp "$work/out" "$work/submitted"

echo "== countersign --url URL --token \$TOKEN list --owner Practitioner/dr-ada --status pending"
expect 0 "$cs" --url "$url" --token "$TOKEN" list --owner Practitioner/dr-ada --status pending
grep -q "$note" "$work/out" || fail "the note is not in dr-ada's pending list"

echo "== countersign --url ... --token \$TOKEN show ID --diff"
expect 0 "$cs" --url "$url" --token "$TOKEN" show "$note" --diff
grep -q "status    pending" "$work/out" || fail "show printed no status"

echo "== approve ID | amend ID FILE | reject ID --reason CODE"
# The note's transaction is refused once (422 with the server's text), to exercise the worker's
# log line and retry.
admin POST faults '{"method":"POST","path":"^/fhir/R4/?$","status":422,"count":10}'
expect 0 "$cs" --url "$url" --token "$TOKEN" approve "$note"
printf '[{"op":"add","path":"/entry/0/resource/comment","value":"Room 2 & 3 — Clínica Pérez"}]' >"$work/amend.json"
expect 0 "$cs" --url "$url" --token "$TOKEN" reject "$msg" --reason clinically-inaccurate

wait_status() {  # id status
  local s=""
  for _ in $(seq 1 150); do
    s=$("$cs" --url "$url" --token "$TOKEN" --json show "$1" | json_field status)
    [ "$s" = "$2" ] && return 0
    sleep 0.2
  done
  fail "$1 is $s, expected $2"
}
wait_status "$note" failed
curl -sf -X DELETE "$fhir_admin/faults" >/dev/null
expect 0 "$cs" --url "$url" --token "$TOKEN" amend "$appt" "$work/amend.json"
wait_status "$appt" committed

echo "== the worker says why the commit failed (kind and HTTP status; no query, no token)"
wait_for_line "$work/daemon.err" "commit $note failed: " >"$work/logline"
grep -q "HTTP 422" "$work/logline" || { cat "$work/logline"; fail "the failed commit's log line has no HTTP status"; }
grep -q "failed: invalid" "$work/logline" || { cat "$work/logline"; fail "the failed commit's log line has no error kind"; }
! grep -q "demo-.*-token" "$work/daemon.err" || fail "a token reached the daemon's log"

echo "== countersign --url ... --token \$TOKEN retry ID --reason \"EHR outage over\""
curl -sf -X DELETE "$fhir_admin/faults" >/dev/null
expect 0 "$cs" --url "$url" --token "$TOKEN" retry "$note" --reason "EHR outage over"
wait_status "$note" committed

echo "== countersign --config my-config.json audit verify (no token: the local operator)"
expect 0 "$cs" --config "$cfg" audit verify
grep -q "audit chain intact" "$work/out" || fail "audit verify did not say intact"
echo "== audit export and ledger on the store, without a token"
expect 0 "$cs" --config "$cfg" audit export --out "$work/trail.ndjson"
[ "$(stat -c %a "$work/trail.ndjson")" = 600 ] || fail "the exported trail is not 0600"
grep -q '"resourceType":"AuditEvent"' "$work/trail.ndjson" || fail "the export holds no AuditEvent"
expect 0 "$cs" --config "$cfg" ledger
expect 0 "$cs" --config "$cfg" --token "$TOKEN" list --status committed
expect 0 "$cs" --url "$url" --token "$TOKEN" ledger
echo "== the operator's export is itself audited under the operator's name"
expect 0 "$cs" --url "$url" --token demo-admin-kim-token audit export
grep -q "operator:" "$work/out" || fail "the export audit record does not name the operator"
echo "== proposal commands still name a person: no token, no approval, no list"
expect 3 "$cs" --config "$cfg" approve "$note"
grep -q "give --token" "$work/err" || fail "no hint to give --token"
expect 3 "$cs" --config "$cfg" list

echo "== countersign map DRAFT: a dry run with the shipped rules, no config"
expect 0 env -u COUNTERSIGN_CONFIG "$cs" map fixtures/drafts/note-create.json
[ "$(json_field resourceType <"$work/out")" = Bundle ] || fail "map printed no Bundle"
expect 0 "$cs" map fixtures/drafts/note-create.json --rules "$top/mappings/rules"
expect 2 "$cs" map fixtures/drafts/invalid/bad-fields.json

echo "== command line refusals"
expect 1 "$cs" frobnicate
grep -q "unknown command frobnicate" "$work/err" || fail "no 'unknown command'"
expect 1 "$cs" --url "$url" --token "$TOKEN" lst
grep -q "did you mean list" "$work/err" || fail "no suggestion for lst"
expect 1 "$cs" --url "$url" --token "$TOKEN" list --stauts pending
grep -q "unknown option --stauts for list (did you mean --status?)" "$work/err" || fail "no suggestion for --stauts"
expect 1 "$cs" --url "$url" --token "$TOKEN" show "$note" extra
grep -q "unexpected argument 'extra'" "$work/err" || fail "extra argument not named"
expect 1 "$cs" --url "$url" --token "$TOKEN" approve
expect 1 "$cs" --url "$url" --config "$cfg" --token "$TOKEN" list
expect 2 "$cs" --url "$url" --token "$AI_TOKEN" submit /nonexistent.json
grep -q "/nonexistent.json" "$work/err" || fail "the unreadable path is not named"
expect 1 "$cs" serve --config "$cfg" --port abc
expect 1 "$cs" serve --config "$cfg" --port 70000
echo "== --json: errors are OperationOutcomes on stdout"
expect 1 "$cs" --json frobnicate
[ "$(json_field resourceType <"$work/out")" = OperationOutcome ] || fail "usage error without OperationOutcome"
expect 4 "$cs" --json --url "$url" --token "$TOKEN" show no-such-proposal
[ "$(json_field resourceType <"$work/out")" = OperationOutcome ] || fail "404 without OperationOutcome"
expect 3 "$cs" --json --url "$url" --token wrong-token list
[ "$(json_field issue.0.code <"$work/out")" != "" ] || fail "401 OperationOutcome has no issue code"
expect 2 "$cs" --json --url "$url" --token "$AI_TOKEN" submit /nonexistent.json
[ "$(json_field issue.0.code <"$work/out")" = invalid ] || fail "unreadable file is not an invalid-input OperationOutcome"

echo "== SIGHUP reloads the API tokens: a revoked token answers 401, a new one works"
new_token="rotated token & Clínica+%"
new_hash=$(printf %s "$new_token" | sha256sum | awk '{print $1}')
node -e '
  const fs=require("fs"); const [f,h]=process.argv.slice(1); const c=JSON.parse(fs.readFileSync(f));
  c.tokens=c.tokens.filter(t=>t.principal!=="Practitioner/dr-ada");
  c.tokens.push({principal:"Practitioner/dr-ada",sha256:h}); fs.writeFileSync(f,JSON.stringify(c));
' "$cfg" "$new_hash"
expect 0 "$cs" --url "$url" --token "$TOKEN" list
kill -HUP "$daemon_pid"
wait_for_line "$work/daemon.err" "tokens reloaded" >/dev/null
grep "tokens reloaded" "$work/daemon.err" | grep -q "1 new, 1 revoked" || { cat "$work/daemon.err"; fail "reload summary"; }
expect 3 "$cs" --url "$url" --token "$TOKEN" list
expect 0 "$cs" --url "$url" --token "$new_token" list
! grep -q "rotated token\|$new_hash" "$work/daemon.err" || fail "a token or its hash reached the log"
echo "== a bad config on SIGHUP keeps the current tokens"
printf '{"not": "a config"' >"$cfg"
kill -HUP "$daemon_pid"
wait_for_line "$work/daemon.err" "tokens not reloaded" >/dev/null
expect 0 "$cs" --url "$url" --token "$new_token" list
kill -0 "$daemon_pid" || fail "the daemon died on a bad reload"

echo "ok: every README command and the command line's refusals"
