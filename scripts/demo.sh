#!/usr/bin/env bash
# The README's "run" command: builds Countersign, starts the loopback FHIR test server and the
# daemon (embedded SQLite store), and walks one review round: the AI submits a note, an
# appointment and a message; a clinician approves two (one amended) and rejects one; the
# committed resources are fetched back from the FHIR server with their Provenance and AIAST
# label; the rejected one is shown absent; the audit chain is verified.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

# COUNTERSIGN_BUILD_DIR: use an existing build (the test suite runs this demo as a check).
if [ -n "${COUNTERSIGN_BUILD_DIR:-}" ]; then
  build="$COUNTERSIGN_BUILD_DIR"
else
  bash scripts/install-deps.sh
  build="$top/build"
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" --target countersign_cli
fi
cs="$build/plugin/cli/countersign"

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
wait_for_line() {  # file pattern -> the first matching line (20 s at most)
  for _ in $(seq 1 200); do
    if grep -q "$2" "$1" 2>/dev/null; then grep -m1 "$2" "$1"; return 0; fi
    sleep 0.1
  done
  echo "timed out waiting for '$2' in $1" >&2; cat "$1" >&2; return 1
}

step "Starting the loopback FHIR test server (Medplum FHIR router 4.5.2, in memory)"
node tests/fhir-server/server.js --port 0 >"$work/fhir.out" 2>"$work/fhir.err" &
pids+=($!)
fhir_port=$(wait_for_line "$work/fhir.out" LISTENING | awk '{print $2}')
fhir="http://127.0.0.1:$fhir_port/fhir/R4"
echo "FHIR server: $fhir"

step "Starting the Countersign daemon (SQLite store in $work)"
sed -e "s#http://127.0.0.1:8103/fhir/R4#$fhir#" \
    -e "s#\"principals.json\"#\"$top/fixtures/config/principals.json\"#" \
    -e "s#\"approval-policy.json\"#\"$top/fixtures/config/approval-policy.json\"#" \
    -e "s#\"guardrails.json\"#\"$top/fixtures/config/guardrails.json\"#" \
    -e "s#\"../../mappings/rules\"#\"$top/mappings/rules\"#" \
    -e "s#\"countersign.db\"#\"$work/countersign.db\"#" \
    -e "s#127.0.0.1:8400#127.0.0.1:0#" \
    fixtures/config/countersign.json >"$work/countersign.json"
"$cs" check-config "$work/countersign.json" --connect
"$cs" serve --config "$work/countersign.json" >"$work/daemon.out" 2>"$work/daemon.err" &
pids+=($!)
url=$(wait_for_line "$work/daemon.out" "serving on" | sed -E 's#.*serving on (http://[^ ]+).*#\1#')
echo "daemon: $url"

ai=(--url "$url" --token demo-ai-scribe-token)
ada=(--url "$url" --token demo-dr-ada-token)
id_of() { sed -nE 's/.*"id": *"([^"]+)".*/\1/p' | head -1; }

step "The AI submits three drafts (note, appointment, message)"
note=$("$cs" "${ai[@]}" --json submit fixtures/drafts/note-create.json | id_of)
appt=$("$cs" "${ai[@]}" --json submit fixtures/drafts/appointment-create.json | id_of)
msg=$("$cs" "${ai[@]}" --json submit fixtures/drafts/message-create.json | id_of)
echo "note $note, appointment $appt, message $msg"

step "The review queue: every item has a visible owner and status"
"$cs" "${ada[@]}" list

step "The AI cannot approve its own draft"
if "$cs" "${ai[@]}" approve "$note"; then echo "UNEXPECTED: the AI approved"; exit 1; else echo "refused (exit $?), as it must be"; fi

step "Dr. Ada amends the note (adds a sentence) and approves it"
printf '[{"op":"add","path":"/entry/0/resource/description","value":"Reviewed and amended by Dr. Ada Lovelace."}]' >"$work/amend.json"
"$cs" "${ada[@]}" amend "$note" "$work/amend.json" --note "clarified the summary"

step "Dr. Ada approves the appointment"
"$cs" "${ada[@]}" approve "$appt" --note "slot confirmed"

step "Dr. Ada rejects the message"
"$cs" "${ada[@]}" reject "$msg" --reason clinically-inaccurate --text "dosage wording is wrong"

step "The daemon commits what was approved"
for id in "$note" "$appt"; do
  for _ in $(seq 1 100); do
    status=$("$cs" "${ada[@]}" --json show "$id" | sed -nE 's/^  "status": *"([^"]+)".*/\1/p' | head -1)
    [ "$status" = committed ] && break
    case "$status" in failed|conflict) echo "$id ended $status"; "$cs" "${ada[@]}" show "$id"; exit 1;; esac
    sleep 0.2
  done
  echo "$id: $status"
done
"$cs" "${ada[@]}" list

step "Back from the FHIR server: the committed resources, their AIAST label and Provenance"
get() { node scripts/fhir-summary.js "$fhir" "$1"; }
for q in "DocumentReference?identifier=urn:countersign:proposal-entry|$note/0" \
         "Appointment?identifier=urn:countersign:proposal-entry|$appt/0" \
         "Provenance?_tag=urn:countersign:provenance|$note" \
         "Provenance?_tag=urn:countersign:provenance|$appt"; do
  echo "--- GET $q"
  get "$q" | tee "$work/got.txt"
  grep -q "security=AIAST" "$work/got.txt" || { echo "UNEXPECTED: no AIAST-labelled resource for $q"; exit 1; }
done

step "The rejected message never reached the server"
echo "--- GET Communication (all)"
get "Communication" | tee "$work/communications.txt"
grep -q "(none)" "$work/communications.txt" || { echo "UNEXPECTED: a Communication reached the server"; exit 1; }

step "The audit trail: verified, and one proposal's history"
"$cs" "${ada[@]}" audit verify
"$cs" "${ada[@]}" show "$note"
echo
echo "Done. Everything ran on 127.0.0.1 and is removed on exit."
