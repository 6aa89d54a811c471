#!/usr/bin/env bash
# Every resource Countersign emits for the fixture drafts — with the default profiles and with the
# alternatives (Composition, CommunicationRequest) — passes Medplum's FHIR R4 validator.
# Usage: validate_mapped.sh <countersign CLI> <source dir>
set -euo pipefail
cli=$1; top=$2
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
config() {  # profiles-json -> config file
  sed -e "s#\"principals.json\"#\"$top/fixtures/config/principals.json\"#" \
      -e "s#\"approval-policy.json\"#\"$top/fixtures/config/approval-policy.json\"#" \
      -e "s#\"guardrails.json\"#\"$top/fixtures/config/guardrails.json\"#" \
      -e "s#\"../../mappings/rules\", \"profiles\": {}#\"$top/mappings/rules\", \"profiles\": $1#" \
      -e "s#\"countersign.db\"#\"$work/store.db\"#" \
      "$top/fixtures/config/countersign.json"
}
config '{}' >"$work/default.json"
config '{"note": "composition", "message": "communication-request"}' >"$work/alternative.json"
mkdir -p "$work/out"
n=0
for f in "$top"/fixtures/drafts/*.json; do
  "$cli" --config "$work/default.json" map "$f" >"$work/out/default-$(basename "$f")"
  n=$((n + 1))
done
for f in "$top"/fixtures/drafts/note-create.json "$top"/fixtures/drafts/message-*.json; do
  "$cli" --config "$work/alternative.json" map "$f" >"$work/out/alternative-$(basename "$f")"
  grep -q '"Composition"\|"CommunicationRequest"' "$work/out/alternative-$(basename "$f")"
done
echo "mapped $n fixture drafts (+ alternatives)"
cd "$top/tests/fhir-server" && node validate.js "$work"/out/*.json
