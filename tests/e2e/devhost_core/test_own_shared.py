"""devhost stands apart from the app it hosts: an app with its own ``shared`` package runs on it."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.e2e

OWN_SHARED = Path(__file__).resolve().parents[2] / "apps" / "own_shared"


def test_app_with_its_own_shared_package_answers(
    tmp_path: Path, app_env: dict[str, str], make_devhost: Callable[..., Any]
) -> None:
    app_dir = tmp_path / "own_shared"
    shutil.copytree(OWN_SHARED, app_dir, ignore=shutil.ignore_patterns("__pycache__", ".devhost"))
    host = make_devhost(app_dir, app_env)  # started from the project root, where another `shared` lives
    response = httpx.get(f"{host.url}/api/hello/ada", timeout=30)
    assert response.status_code == 200, host.output
    assert response.text == "hello ada from own_shared.shared.helpers"
