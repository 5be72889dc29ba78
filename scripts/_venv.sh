# Shared by scripts/serve and scripts/test: create .venv with Python 3.11+ and install $1.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-python3}
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=".venv/.installed-$(cat "$1" requirements-local.txt requirements.txt | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r "$1"
  rm -f .venv/.installed-* && touch "$stamp"
fi
mkdir -p var staticfiles
# Without DATABASE_URL: the embedded PostgreSQL (scripts/embedded.py), started unless it runs.
if [ -z "${DATABASE_URL:-}" ]; then
  DATABASE_URL=$(.venv/bin/python scripts/embedded.py postgres)
  export DATABASE_URL
fi
