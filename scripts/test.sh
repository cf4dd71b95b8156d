#!/usr/bin/env bash
# Run Ferry's test suite against a real broker and real Postgres (both started when absent).
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"
# The connect-page tests drive a real headless browser: Debian's chromium.
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null
fi
exec uv run pytest "$@"
