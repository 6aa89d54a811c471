#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing, then
#   1. main:  builds in build/ and runs every CTest suite (unit, integration against the loopback
#             FHIR test server, crash, the README demo end to end, the C ABI);
#   2. asan:  the same suites under ASan+UBSan in build-asan/;
#   3. fuzz:  every libFuzzer target for a short bounded run under ASan+UBSan (scripts/fuzz.sh).
# COUNTERSIGN_TEST_STAGES picks stages (default "main asan fuzz"); extra arguments go to ctest
# (e.g. `bash scripts/test.sh -L unit`, which then runs the main stage only).
# COUNTERSIGN_SANITIZE=1 runs only the asan stage (kept for compatibility).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

stages=${COUNTERSIGN_TEST_STAGES:-"main asan fuzz"}
if [ $# -gt 0 ]; then stages=main; fi
if [ "${COUNTERSIGN_SANITIZE:-0}" = "1" ]; then stages=asan; fi

bash scripts/install-deps.sh

run_ctest_stage() {  # build_dir, extra cmake args...
  local dir=$1; shift
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  cmake --build "$dir" -j "$(nproc)"
  (cd "$dir" && ctest --output-on-failure -j 2 "${ctest_args[@]}")
}

ctest_args=("$@")
for stage in $stages; do
  echo "== test stage: $stage"
  case "$stage" in
    main) run_ctest_stage build ;;
    asan)
      export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
      export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
      run_ctest_stage build-asan -DCOUNTERSIGN_SANITIZE=ON
      unset ASAN_OPTIONS UBSAN_OPTIONS ;;
    fuzz) bash scripts/fuzz.sh "${COUNTERSIGN_FUZZ_SECONDS:-10}" ;;
    *) echo "unknown stage $stage" >&2; exit 2 ;;
  esac
done
