#!/usr/bin/env bash
# Sets up everything the README's commands need on a fresh machine, idempotently:
#   .venv (Python 3.11) with the package and its dev extras, and a pinned Azurite in .tools/azurite.
# A second run with nothing changed only compares stamps (a few seconds).
set -euo pipefail
cd "$(dirname "$0")/.."

AZURITE_VERSION="3.37.0"
VENV=".venv"
STAMP="$VENV/.bootstrap-stamp"

find_python() {
  for candidate in "${PYTHON:-}" python3.11 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  echo "bootstrap: Python 3.11 is required (set PYTHON=/path/to/python3.11)" >&2
  return 1
}

PY="$(find_python)"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)'; then
  echo "bootstrap: creating $VENV with $PY"
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
fi

want="$(cat pyproject.toml requirements.txt | sha256sum | cut -d' ' -f1)"
have="$(cat "$STAMP" 2>/dev/null || true)"
if [ "$want" != "$have" ]; then
  echo "bootstrap: installing Python packages"
  "$VENV/bin/python" -m pip install -q --upgrade pip setuptools wheel
  # torch first and pinned: 2.13.0 resolves to the CPU wheel available on this machine.
  "$VENV/bin/python" -m pip install -q "torch==2.13.0"
  "$VENV/bin/python" -m pip install -q -e ".[dev]"
  echo "$want" > "$STAMP"
fi

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "bootstrap: Node.js 20+ and npm are required for Azurite" >&2
  exit 1
fi
AZ_DIR=".tools/azurite"
installed="$(node -p "require('./$AZ_DIR/node_modules/azurite/package.json').version" 2>/dev/null || true)"
if [ "$installed" != "$AZURITE_VERSION" ]; then
  echo "bootstrap: installing Azurite $AZURITE_VERSION into $AZ_DIR"
  mkdir -p "$AZ_DIR"
  [ -f "$AZ_DIR/package.json" ] || echo '{"name":"azurite-local","private":true}' > "$AZ_DIR/package.json"
  npm install --prefix "$AZ_DIR" --no-audit --no-fund --loglevel=error --save-exact "azurite@$AZURITE_VERSION"
fi
echo "bootstrap: ready (.venv, Azurite $AZURITE_VERSION)"
