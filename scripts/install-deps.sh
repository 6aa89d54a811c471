#!/usr/bin/env bash
# Installs exactly what is missing on a Debian 12 machine: the C++ build dependencies (apt) and the
# loopback FHIR test server's node modules (npm ci). Safe to run again: does nothing when all is there.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)

packages=(build-essential cmake ninja-build ccache pkg-config
          libboost-dev rapidjson-dev libcurl4-openssl-dev libboost-test-dev
          libsqlite3-dev libssl-dev openssl nodejs npm clang libclang-rt-14-dev
          libpq-dev postgresql)  # postgresql: the server the PostgreSQL store's tests start
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# node/npm may come from elsewhere than Debian (nodesource, a preinstalled build): accept them.
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
fi
filtered=()
for p in "${missing[@]}"; do [ -n "$p" ] && filtered+=("$p"); done
if [ ${#filtered[@]} -gt 0 ]; then
  echo "install-deps: apt-get install ${filtered[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${filtered[@]}"
fi

server="$top/tests/fhir-server"
if [ -f "$server/package-lock.json" ]; then
  stamp="$server/node_modules/.countersign-lock"
  if [ ! -f "$stamp" ] || ! cmp -s "$server/package-lock.json" "$stamp"; then
    echo "install-deps: npm ci in tests/fhir-server"
    (cd "$server" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$server/package-lock.json" "$stamp"
  fi
fi
