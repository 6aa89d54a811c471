#!/usr/bin/env bash
# libcountersign.so must export the C ABI only (cs_*), nothing of its C++ insides.
set -euo pipefail
others=$(nm -D --defined-only "$1" | awk '{print $3}' | grep -v '^cs_' || true)
if [ -n "$others" ]; then
  echo "unexpected exported symbols:"; echo "$others" | head -20; exit 1
fi
count=$(nm -D --defined-only "$1" | awk '{print $3}' | grep -c '^cs_')
echo "exports: $count cs_* symbols, nothing else"
[ "$count" -ge 14 ]
