#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs every CTest suite (unit,
# integration against the loopback FHIR test server, crash). Extra arguments go to ctest
# (e.g. `-L unit`). COUNTERSIGN_SANITIZE=1 builds and tests under ASan+UBSan in build-asan/.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

bash scripts/install-deps.sh

build_dir=build
cmake_args=(-G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo)
if [ "${COUNTERSIGN_SANITIZE:-0}" = "1" ]; then
  build_dir=build-asan
  cmake_args+=(-DCOUNTERSIGN_SANITIZE=ON)
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fi

cmake -S . -B "$build_dir" "${cmake_args[@]}" >/dev/null
cmake --build "$build_dir" -j "$(nproc)"
cd "$build_dir"
ctest --output-on-failure -j 2 "$@"
