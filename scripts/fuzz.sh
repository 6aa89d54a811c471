#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan) in build-fuzz/ and runs each for a bounded
# time, seeded from fixtures/. Exits non-zero on any finding (the crashing input is kept in
# build-fuzz/artifacts/; save it under fixtures/fuzz/<target>/<name> once fixed, as a regression).
#   bash scripts/fuzz.sh            # 20 s per target (what the test command runs)
#   bash scripts/fuzz.sh 3600       # long runs
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
seconds=${1:-20}

missing=()
for p in clang libclang-rt-14-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

build=build-fuzz
targets=(json_patch_fuzz draft_fuzz config_fuzz rules_fuzz api_fuzz)
CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCOUNTERSIGN_FUZZ=ON -DCOUNTERSIGN_SANITIZE=ON -DCOUNTERSIGN_WERROR=OFF >/dev/null
cmake --build "$build" --target "${targets[@]}"

seed() {  # target -> seed files from fixtures
  case "$1" in
    json_patch_fuzz)
      for f in fixtures/json-patch/*.json; do printf '{"a":1,"b":[1,2]}\n' | cat - "$f"; echo; done ;;
    draft_fuzz) cat fixtures/drafts/*.json fixtures/drafts/invalid/*.json ;;
    config_fuzz) cat fixtures/config/countersign.json ;;
    rules_fuzz) cat mappings/rules/note-documentreference.json ;;
    api_fuzz) printf 'POST\n/drafts\n\001\napplication/json\n'; cat fixtures/drafts/note-create.json ;;
  esac
}

status=0
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
for t in "${targets[@]}"; do
  corpus="$build/corpus/$t"; artifacts="$build/artifacts/$t/"
  mkdir -p "$corpus" "$artifacts"
  i=0
  case "$t" in
    draft_fuzz) for f in fixtures/drafts/*.json fixtures/drafts/invalid/*.json; do cp "$f" "$corpus/seed-$((i++))"; done ;;
    rules_fuzz) for f in mappings/rules/*.json; do cp "$f" "$corpus/seed-$((i++))"; done ;;
    json_patch_fuzz) for f in fixtures/json-patch/*.json; do { printf '{"a":1,"b":[1,2]}\n'; cat "$f"; } >"$corpus/seed-$((i++))"; done ;;
    *) seed "$t" >"$corpus/seed-0" ;;
  esac
  if [ -d "fixtures/fuzz/$t" ]; then cp fixtures/fuzz/$t/* "$corpus/" 2>/dev/null || true; fi
  log="$build/$t.log"
  dict=()
  case "$t" in draft_fuzz|api_fuzz) dict=(-dict=tests/fuzz/drafts.dict) ;; esac
  if "$build/tests/fuzz/$t" "${dict[@]}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$artifacts" -print_final_stats=1 "$corpus" >"$log" 2>&1; then
    execs=$(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}')
    echo "fuzz $t: ${execs:-?} executions in ${seconds}s, no findings"
  else
    echo "fuzz $t: FINDING (see $log and $artifacts)"; tail -30 "$log"; status=1
  fi
done
exit $status
