#!/usr/bin/env bash
# Creates .venv-bench: the peer tools the benchmarks compare against (Evidently, pandera), kept
# apart from .venv so their pins never touch the project's dependencies. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH=".venv-bench"
STAMP="$BENCH/.stamp"
WANT="evidently==0.7.23 pandas>=2.3,<2.4 pandera==0.35.0 numpy polars scipy pydantic pyyaml"
if [ "$(cat "$STAMP" 2>/dev/null || true)" != "$WANT" ]; then
  echo "bench: creating $BENCH (Evidently, pandera)"
  python3.11 -m venv "$BENCH"
  # shellcheck disable=SC2086
  "$BENCH/bin/python" -m pip install -q $WANT  # unquoted on purpose: one word per requirement
  echo "$WANT" > "$STAMP"
fi
