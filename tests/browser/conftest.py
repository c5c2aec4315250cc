"""A real devhost serving the project's function_app.py, seeded with real pipeline runs, for the browser."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from dashboard_seed import FUNCTION_KEY, seed  # noqa: E402

from cli.client import ApiClient  # noqa: E402
from cli.local import LocalStack  # noqa: E402


@pytest.fixture(scope="module")
def stack(azurite_connection_string: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """devhost with a known function key next to its master key."""
    tmp = tmp_path_factory.mktemp("dashboard-browser")
    local = LocalStack(
        connection_string=azurite_connection_string,
        work_dir=tmp / "work",
        log_path=tmp / "devhost.log",
        extra_env={"DEVHOST_FUNCTION_KEY": FUNCTION_KEY},
    )
    local.start()
    try:
        yield local
    finally:
        local.stop()


@pytest.fixture(scope="module")
def seeded(stack: LocalStack) -> dict[str, Any]:
    """Runs that succeeded, wait for approval and were gate-rejected, and a drift check."""
    return seed(stack, ApiClient(stack.url, stack.master_key))
