#!/usr/bin/env bash
# Sets up everything the README's commands need on a fresh machine, idempotently:
#   .venv (Python 3.11) with the package and its dev extras, a pinned Azurite in .tools/azurite, and
#   .venv-worker (Python 3.13) with Microsoft's Python worker library and the deploy-time
#   requirements.txt, so tests/worker can index the app exactly as Azure's worker does.
# A second run with nothing changed only compares stamps (a few seconds).
# `scripts/bootstrap.sh --worker` sets up .venv-worker alone.
set -euo pipefail
cd "$(dirname "$0")/.."

# The worker library the conformance tests run; bump together with the worker Azure runs.
WORKER_RUNTIME="azure-functions-runtime==1.3.0"
WORKER_VENV=".venv-worker"
WORKER_STAMP="$WORKER_VENV/.bootstrap-stamp"

find_worker_python() {
  # Python 3.13 as this machine ships it (pyenv or PATH); never downloaded.
  local candidate
  for candidate in "${WORKER_PYTHON:-}" python3.13 "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.13*/bin/python3.13 \
                   /usr/local/bin/python3.13 /usr/bin/python3.13; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 13) else 1)' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  echo "bootstrap: Python 3.13 is required for $WORKER_VENV (the Azure Functions worker library's Python);" \
       "none found on PATH or under pyenv - set WORKER_PYTHON=/path/to/python3.13" >&2
  return 1
}

setup_worker_venv() {
  local want have wpy
  want="$(printf '%s\n' "$WORKER_RUNTIME" | cat - requirements.txt | sha256sum | cut -d' ' -f1)"
  have="$(cat "$WORKER_STAMP" 2>/dev/null || true)"
  [ "$want" != "$have" ] || return 0
  wpy="$(find_worker_python)"
  if [ ! -x "$WORKER_VENV/bin/python" ] ||
     ! "$WORKER_VENV/bin/python" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 13) else 1)'; then
    echo "bootstrap: creating $WORKER_VENV with $wpy"
    rm -rf "$WORKER_VENV"
    "$wpy" -m venv "$WORKER_VENV"
  fi
  echo "bootstrap: installing $WORKER_RUNTIME and requirements.txt into $WORKER_VENV"
  # Only what Azure installs (no dev extras, no editable package): the app is imported from its folder.
  "$WORKER_VENV/bin/python" -m pip install -q --no-compile "$WORKER_RUNTIME" -r requirements.txt
  echo "$want" > "$WORKER_STAMP"
}

if [ "${1:-}" = "--worker" ]; then
  setup_worker_venv
  exit 0
fi

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
setup_worker_venv
bash scripts/browser_env.sh  # Debian's Chromium + pinned playwright-core for tests/browser
echo "bootstrap: ready (.venv, Azurite $AZURITE_VERSION, $WORKER_VENV)"
