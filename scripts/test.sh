#!/usr/bin/env bash
# Run Ferry's test suite against a real broker and real Postgres (both started when absent).
# Arguments go to pytest; FERRY_TEST_BROKER=kafka runs the tests on Apache Kafka (default: tansu).
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"
# Beyond Python: Debian's chromium (the connect-page tests drive a real headless browser), and
# Java and Maven (Apache Kafka runs from jars that Maven fetches).
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
if [ ${#missing[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${missing[*]} from Debian's packages..." >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}") \
    >/dev/null
fi
# Apache Kafka's jars, into ~/.cache/ferry once.
if command -v mvn >/dev/null 2>&1; then
  uv run python -c "from ferry_kit.infra import kafka_jars; kafka_jars()"
else
  echo "Maven is missing (apt-get install maven): the tests on Apache Kafka will fail" >&2
fi
exec uv run pytest "$@"
