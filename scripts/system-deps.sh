#!/usr/bin/env bash
# Installs what the suite drives for real and pip cannot provide. Idempotent; quiet when present.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v bwrap >/dev/null 2>&1 || need_apt+=(bubblewrap)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "system-deps: installing ${need_apt[*]} (apt)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "system-deps: missing ${need_apt[*]}; install with: sudo apt-get install -y ${need_apt[*]}" >&2
  fi
fi

if [ -f tests/peers/package.json ] && [ ! -d tests/peers/node_modules ]; then
  echo "system-deps: installing npm test peers (tests/peers)"
  (cd tests/peers && npm install --silent --no-audit --no-fund >/dev/null)
fi
