#!/usr/bin/env bash
# Run Ferry on the embedded default (broker, Postgres, every service, the sandbox) with its demo.
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"
exec uv run ferry dev --demo "$@"
