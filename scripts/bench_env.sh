#!/usr/bin/env bash
# Bench setup, idempotent:
# - .venv-bench: the peer tools the benchmarks compare against (Evidently, pandera), kept apart from
#   .venv so their pins never touch the project's dependencies;
# - wrk: a C HTTP load generator from the system's package manager, so the scoring benchmark's
#   client is not the bottleneck (the Python client saturates before devhost does).
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
if ! command -v wrk >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    echo "bench: installing wrk (apt-get)"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk >/dev/null
  else
    echo "bench: wrk not found and no apt-get; the scoring benchmark skips its wrk loads" >&2
  fi
fi
