# Shared by the two set-up commands: make sure uv exists and the environment is synced.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! command -v uv >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check uv
  export PATH="$HOME/.local/bin:$PATH"
fi
export UV_PYTHON_PREFERENCE=only-system UV_PYTHON_DOWNLOADS=never
uv sync --frozen --quiet
