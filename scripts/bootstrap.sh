# Shared by the two set-up commands: make sure uv exists and the environment is synced.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! command -v uv >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check uv
  export PATH="$HOME/.local/bin:$PATH"
fi
# Postgres: Ferry starts a throwaway cluster from Debian's binaries when nothing answers on 5432.
if [ -z "${FERRY_DATABASE_URL:-}" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
   && ! command -v initdb >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing PostgreSQL from Debian's packages..." >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >/dev/null
  else
    echo "PostgreSQL is missing: install it (apt-get install postgresql) or set FERRY_DATABASE_URL" >&2
  fi
fi
export UV_PYTHON_PREFERENCE=only-system UV_PYTHON_DOWNLOADS=never
uv sync --frozen --quiet
