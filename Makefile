# The README's commands. Each one bootstraps first, so a fresh machine needs only Python 3.11 + Node.
PY := .venv/bin/python
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: bootstrap test lint typecheck unit demo bench clean

bootstrap:
	@bash scripts/bootstrap.sh

lint: bootstrap
	$(PY) -m ruff check .

typecheck: bootstrap
	$(PY) -m mypy shared devhost cli functions orchestrations function_app.py

test: bootstrap lint typecheck
	$(PY) -m pytest

unit: bootstrap
	$(PY) -m pytest tests/unit

demo: bootstrap
	$(PY) -m scripts.demo

bench: bootstrap
	@bash scripts/bench_env.sh
	BENCH_PYTHON=$(CURDIR)/.venv-bench/bin/python $(PY) -m bench

clean:
	rm -rf .venv .venv-worker .tools .pytest_cache .mypy_cache .ruff_cache
