#!/usr/bin/env bash
# check_exports.sh LIB HEADER: libcountersign.so exports exactly the functions the header declares
# (CS_API ...), nothing of its C++ insides, and none of the header's functions is missing.
set -euo pipefail
lib=$1 header=$2
exported=$(nm -D --defined-only "$lib" | awk '{print $3}' | sort -u)
declared=$(grep -E '^CS_API ' "$header" | grep -oE '\bcs_[a-z0-9_]+\(' | tr -d '(' | sort -u)
others=$(comm -23 <(echo "$exported") <(echo "$declared"))
missing=$(comm -13 <(echo "$exported") <(echo "$declared"))
if [ -n "$others" ]; then
  echo "exported but not in the header:"; echo "$others" | head -20; exit 1
fi
if [ -n "$missing" ]; then
  echo "declared in the header but not exported:"; echo "$missing"; exit 1
fi
if [ "$(echo "$declared" | wc -l)" -lt 15 ]; then
  echo "too few functions parsed from $header"; exit 1
fi
echo "exports: exactly the header's $(echo "$declared" | wc -l) cs_* functions"
