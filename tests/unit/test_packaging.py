"""requirements.txt (what Azure installs) must list exactly pyproject's runtime dependencies."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _requirements() -> list[str]:
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.strip().startswith("#")]


def test_requirements_match_pyproject_dependencies() -> None:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert _requirements() == deps


def test_durable_sdk_is_pinned_below_2() -> None:
    assert "azure-functions-durable>=1.2,<2" in _requirements()


def test_funcignore_keeps_local_only_folders_out_of_the_deployment() -> None:
    ignored = set((ROOT / ".funcignore").read_text().split())
    assert {"tests", "bench", "devhost", ".venv", "local.settings.json"} <= ignored


def test_local_settings_example_holds_emulator_values_only() -> None:
    text = (ROOT / "local.settings.json.example").read_text()
    assert "UseDevelopmentStorage=true" in text
    assert "AccountKey" not in text
