"""Microsoft's Python worker library indexes the app as Azure would, and devhost agrees with it.

The worker library (``azure-functions-runtime``, pinned in scripts/bootstrap.sh) runs in ``.venv-worker``
(Python 3.13) as a subprocess; devhost's start-up indexing runs in ``.venv``. Both index the unchanged
``function_app.py`` and each probe app under tests/apps/probes; they must accept the same apps and refuse
the others with the same message.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
PROBES = ROOT / "tests" / "apps" / "probes"
WORKER_PYTHON = ROOT / ".venv-worker" / "bin" / "python"
UNBOUND = "the following parameters are declared in Python but not in the function definition"


@dataclass(frozen=True)
class Probe:
    """One probe app and what Azure does with it: accepted, or refused by the worker or the host."""

    name: str
    refused_by: str | None = None  # "worker" (indexing) or "host" (host.json); None: accepted
    message: str = ""  # a part of the refusal every side must give
    names: str = ""  # a function the worker's words leave unnamed, which devhost's must name


PROBE_TABLE = (
    Probe("good_app"),
    Probe("typing_dict_activity"),
    Probe("plain_dict_activity"),
    Probe("no_host_json"),
    # The Durable decorator hands the worker a wrapper taking only the context, so an extra
    # orchestrator parameter is not seen at indexing (it fails when the orchestrator runs).
    Probe("extra_param_orchestrator"),
    Probe(
        "pep585_activity",
        "worker",
        "cannot load the start_run function: binding payload has invalid non-type annotation "
        "dict[str, typing.Any]",
    ),
    Probe("pep585_return", "worker", "cannot load the answer function: has invalid non-type return"),
    Probe("extra_param_activity", "worker", f"cannot load the step function: {UNBOUND}"),
    Probe("extra_param_timer", "worker", f"cannot load the tick function: {UNBOUND}"),
    Probe("extra_param_queue", "worker", f"cannot load the take function: {UNBOUND}"),
    Probe("extra_param_http", "worker", f"cannot load the answer function: {UNBOUND}"),
    Probe("binding_without_parameter", "worker", "declared as bindings but are not present in Python"),
    Probe("out_binding_not_out", "worker", 'binding out is declared to have the "out" direction'),
    Probe("wrong_trigger_type", "worker", "cannot load the take function: binding type \"'msg'\""),
    Probe("bad_context", "worker", 'the "context" parameter is expected to be of type azure.functions'),
    Probe("two_apps", "worker", "More than one FunctionApp or other top level function app instances are"),
    Probe("http_return_none", "worker", 'return annotation "NoneType" does not match binding type "http"'),
    Probe("optional_activity", "worker", "binding value has invalid non-type annotation typing.Optional"),
    Probe("out_pep585", "worker", "binding out has invalid non-type annotation azure.functions._abc.Out["),
    # DFApp hands the worker a wrapper whose parameter is `context`: other context names are refused.
    Probe("entity_context_name", "worker", "declared as bindings but are not present in Python: {'ctx'}"),
    Probe("unresolvable_annotation", "worker", "name 'Nope' is not defined", names="answer"),
    Probe("good_retry"),
    Probe("bad_retry", "worker", "time data '5s' does not match format '%H:%M:%S'", names="tick"),
    Probe("no_version", "host", "The host.json file is missing the required 'version' property."),
)


def _run(python: Path, script: str, app_dirs: list[Path]) -> dict[str, dict[str, Any]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [str(python), str(HERE / script), *map(str, app_dirs)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 0 and lines, f"{script} failed:\n{done.stdout}\n{done.stderr}"
    result: dict[str, dict[str, Any]] = json.loads(lines[-1])
    return {Path(folder).name: verdict for folder, verdict in result.items()}


def worker_index(app_dirs: list[Path]) -> dict[str, dict[str, Any]]:
    """The worker library's verdict on each folder, by folder name."""
    if not WORKER_PYTHON.exists():
        pytest.fail(f"{WORKER_PYTHON} is missing: run scripts/bootstrap.sh (it creates .venv-worker)")
    return _run(WORKER_PYTHON, "worker_index.py", app_dirs)


def devhost_index(app_dirs: list[Path]) -> dict[str, dict[str, Any]]:
    """devhost's verdict on each folder (the start-up steps before storage and port), by folder name."""
    return _run(Path(sys.executable), "devhost_index.py", app_dirs)


def test_worker_library_is_the_pinned_one() -> None:
    if not WORKER_PYTHON.exists():
        pytest.fail(f"{WORKER_PYTHON} is missing: run scripts/bootstrap.sh (it creates .venv-worker)")
    done = subprocess.run(
        [str(WORKER_PYTHON), "-c", "import importlib.metadata as m, sys; "
         "print(sys.version_info[:2] == (3, 13), m.version('azure-functions-runtime'))"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    script = (ROOT / "scripts" / "bootstrap.sh").read_text()
    pinned = script.split('WORKER_RUNTIME="azure-functions-runtime==')[1].split('"')[0]
    assert done.stdout.split() == ["True", pinned]


def test_worker_accepts_every_function_of_the_app() -> None:
    with ThreadPoolExecutor(2) as pool:
        worker, devhost = (v[ROOT.name] for v in pool.map(lambda f: f([ROOT]), (worker_index, devhost_index)))
    assert worker["ok"], f"the worker refuses the app (Azure would serve no function): {worker['error']}"
    assert devhost["ok"], devhost["error"]
    assert worker["functions"] == devhost["functions"]
    assert len(worker["functions"]) >= 20  # the whole app, not an empty or partial index


Verdicts = dict[str, tuple[dict[str, Any], dict[str, Any]]]


def test_apps_devhost_is_tested_with_are_apps_azure_accepts() -> None:
    apps = ROOT / "tests" / "apps"
    folders = [apps / "own_shared", apps / "durable_app", apps / "basic_app" / "durable"]
    verdicts = worker_index(folders)
    assert {name: v.get("error") for name, v in verdicts.items()} == dict.fromkeys(verdicts)
    assert len(verdicts) == len(folders)


@pytest.fixture(scope="module")
def verdicts() -> Verdicts:
    """(worker, devhost) verdict per probe: one process per side indexes every probe in turn."""
    folders = [PROBES / p.name for p in PROBE_TABLE]
    with ThreadPoolExecutor(2) as pool:
        worker, devhost = pool.map(lambda f: f(folders), (worker_index, devhost_index))
    return {p.name: (worker[p.name], devhost[p.name]) for p in PROBE_TABLE}


def test_every_probe_folder_is_in_the_table() -> None:
    folders = {p.name for p in PROBES.iterdir() if (p / "function_app.py").is_file()}
    assert folders == {p.name for p in PROBE_TABLE}


@pytest.mark.parametrize("probe", PROBE_TABLE, ids=lambda p: p.name)
def test_worker_and_devhost_agree(probe: Probe, verdicts: Verdicts) -> None:
    worker, devhost = verdicts[probe.name]
    if probe.refused_by == "worker":
        assert not worker["ok"], f"the worker library accepted {probe.name}"
        assert not devhost["ok"], f"devhost accepted {probe.name}; the worker says: {worker['error']}"
        assert probe.message in worker["error"]
        if probe.names:  # the worker's words, after the function's name
            assert devhost["error"].startswith(f"cannot load the {probe.names} function: ")
            assert devhost["error"].endswith(worker["error"])
        else:
            assert devhost["error"] == worker["error"]  # the worker's own words, naming the function
        return
    # Indexing accepts it; the host itself refuses a bad host.json (the worker never reads it).
    assert worker["ok"], f"the worker library refused {probe.name}: {worker['error']}"
    if probe.refused_by == "host":
        assert not devhost["ok"], f"devhost accepted {probe.name}, which the host refuses"
        assert probe.message in devhost["error"]
        return
    assert devhost["ok"], f"devhost refused {probe.name}, which Azure accepts: {devhost['error']}"
    assert devhost["functions"] == worker["functions"]
