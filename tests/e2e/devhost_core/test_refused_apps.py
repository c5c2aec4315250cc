"""An app Azure would refuse is refused by devhost at start, with the worker's words; nothing starts."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

PROBES = Path(__file__).resolve().parents[2] / "apps" / "probes"


@pytest.mark.parametrize(
    ("probe", "message"),
    [
        (
            "pep585_activity",
            "devhost: error: cannot load the start_run function: binding payload has invalid non-type "
            "annotation dict[str, typing.Any]",
        ),
        ("two_apps", "devhost: error: More than one FunctionApp or other top level function app instances"),
        ("no_version", "devhost: error: The host.json file is missing the required 'version' property."),
    ],
)
def test_refused_app_stops_before_anything_starts(
    probe: str, message: str, tmp_path: Path, make_devhost: Callable[..., Any], wait_for: Callable[..., Any]
) -> None:
    app_dir = tmp_path / probe
    shutil.copytree(PROBES / probe, app_dir, ignore=shutil.ignore_patterns("__pycache__"))
    # No storage setting: a host that got past indexing would start its own Azurite and say so.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AzureWebJobs", "DEVHOST_"))}
    host = make_devhost(app_dir, env, start=False)
    host.start(wait=False)
    assert host.wait_exit(timeout=60) == 1
    wait_for(lambda: message in "".join(host.stderr), timeout=10)  # the reader threads drain the pipes
    assert "Azurite" not in host.output and "Host started" not in host.output
    assert not (app_dir / ".devhost").exists()  # no keys written: the host never got that far
