"""A function key is not root: the attacks of issue 15 items 1-2, replayed against a real devhost.

Each test sends what an attacker holding only the plain function key would send and asserts the
clear 4xx it now gets (and that no run started); the last one registers an env-dump script as an
admin and reads back, from the job's own output, the environment the script actually ran with.
"""

from __future__ import annotations

import copy
import hashlib
import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from cli.local import LocalStack
from shared.compute.base import job_name_for
from shared.settings import Settings
from shared.storage.factory import Storage

FUNCTION_KEY = secrets.token_urlsafe(24)
ROWS = 80

#: A "user" script that records the environment it was started with and writes a valid model.
ENV_DUMP = """
import json, os
ENV = dict(os.environ)
from pathlib import Path
import numpy as np
from onnx import TensorProto, helper, numpy_helper
data, out = Path(os.environ["MLOPS_DATA_DIR"]), Path(os.environ["MLOPS_OUTPUT_DIR"])
n = len(json.loads((data / "job.json").read_text())["features"])
w = numpy_helper.from_array(np.ones((n, 2), dtype=np.float32), "w")
graph = helper.make_graph(
    [helper.make_node("MatMul", ["input", "w"], ["z"]),
     helper.make_node("Softmax", ["z"], ["probabilities"])],
    "dump", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [None, n])],
    [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 2])], [w])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)
(out / "model.onnx").write_bytes(model.SerializeToString())
(out / "metrics.json").write_text(json.dumps({"env": ENV, "cwd": os.getcwd()}))
"""


def _csv(columns: tuple[str, ...] = ("a", "b", "c", "label")) -> bytes:
    rng = np.random.default_rng(3)
    lines = [",".join(columns)]
    for _ in range(ROWS):
        a, b, c = rng.normal(size=3)
        lines.append(f"{a:.4f},{b:.4f},{c:.4f},{int(a + b > 0)}")
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture(scope="module")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The one folder file sources may come from."""
    root = tmp_path_factory.mktemp("data-root")
    (root / "inside.csv").write_bytes(_csv())
    return root


@pytest.fixture(scope="module")
def stack(
    azurite_connection_string: str, tmp_path_factory: pytest.TempPathFactory, data_root: Path
) -> Iterator[LocalStack]:
    """devhost on the session's Azurite with a known function key and one data root."""
    tmp = tmp_path_factory.mktemp("security")
    env = {"DEVHOST_FUNCTION_KEY": FUNCTION_KEY, "MLOPS_DATA_ROOTS": str(data_root)}
    local = LocalStack(
        connection_string=azurite_connection_string,
        work_dir=tmp / "work",
        log_path=tmp / "devhost.log",
        extra_env=env,
    )
    local.start()
    try:
        yield local
    finally:
        local.stop()


@pytest.fixture(scope="module")
def storage(settings: Settings) -> Storage:
    """Direct storage access: the test plays the account owner to plant and tamper with blobs."""
    store = Storage.from_settings(settings)
    store.ensure_all()
    return store


def _call(stack: LocalStack, method: str, path: str, key: str, **kwargs: Any) -> httpx.Response:
    headers = {"x-functions-key": key, **kwargs.pop("headers", {})}
    return httpx.request(method, f"{stack.url}{path}", headers=headers, timeout=60, **kwargs)


def _spec(name: str, **changes: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": name,
        "source": "data/security/train.csv",
        "target": "label",
        "task": "classification",
        "trainer": {"kind": "sklearn", "model": "logistic_regression"},
    }
    spec.update(copy.deepcopy(changes))
    return spec


def _start(stack: LocalStack, spec: dict[str, Any], key: str = FUNCTION_KEY) -> httpx.Response:
    return _call(stack, "POST", f"/api/pipelines/{spec['name']}/runs", key, json={"spec": spec})


def _refused(resp: httpx.Response, field: str) -> str:
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert body["field"] == field, body
    return str(body["message"])


def _no_runs(stack: LocalStack, pipeline: str) -> None:
    runs = _call(stack, "GET", "/api/runs", FUNCTION_KEY, params={"pipeline": pipeline}).json()["runs"]
    assert runs == []


def _register(stack: LocalStack, name: str, source: str, key: str | None = None) -> httpx.Response:
    headers = {"content-type": "text/x-python"}
    return _call(
        stack, "POST", f"/api/scripts/{name}", key or stack.master_key, content=source, headers=headers
    )


def test_inline_python_through_the_command_trainer_is_refused(stack: LocalStack, storage: Storage) -> None:
    payload = "import os, json; print(json.dumps(dict(os.environ)))"
    spec = _spec("rce-inline", trainer={"kind": "command", "script": "-c", "args": [payload]})
    message = _refused(_start(stack, spec), "trainer.script")
    assert "no interpreter flags" in message
    _no_runs(stack, "rce-inline")


@pytest.mark.parametrize("script", ["not-registered.py", "/tmp/evil.py", "../function_app.py"])
def test_unregistered_or_path_scripts_are_refused(stack: LocalStack, storage: Storage, script: str) -> None:
    storage.blobs.put_bytes("data", "security/train.csv", _csv())
    spec = _spec("rce-path", trainer={"kind": "command", "script": script})
    _refused(_start(stack, spec), "trainer.script")
    _no_runs(stack, "rce-path")


def test_host_files_are_not_sources(stack: LocalStack) -> None:
    spec = _spec("read-passwd", source={"kind": "file", "location": "/etc/passwd", "format": "csv"})
    message = _refused(_start(stack, spec), "source.location")
    assert "root:" not in message and "MLOPS_DATA_ROOTS" in message
    _no_runs(stack, "read-passwd")


def test_file_source_cannot_escape_the_root(stack: LocalStack, data_root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.csv"
    outside.write_bytes(_csv())
    (data_root / "link.csv").symlink_to(outside)
    for location in (str(data_root / ".." / outside.name), str(data_root / "link.csv"), "../outside.csv"):
        spec = _spec("escape", source={"kind": "file", "location": location})
        _refused(_start(stack, spec), "source.location")
    _no_runs(stack, "escape")


@pytest.mark.parametrize("container", ["models", "datasets", "trainer-scripts", "azure-webjobs-hosts"])
def test_internal_containers_are_not_sources(stack: LocalStack, storage: Storage, container: str) -> None:
    storage.blobs.put_bytes(container, "security/secret.csv", _csv())
    spec = _spec("read-internal", source=f"{container}/security/secret.csv")
    message = _refused(_start(stack, spec), "source.location")
    assert "MLOPS_DATA_CONTAINERS" in message
    _no_runs(stack, "read-internal")


def _wording(resp: httpx.Response, location: str) -> dict[str, Any]:
    body = resp.json()
    body["message"] = body["message"].replace(location, "<location>")
    return {"status": resp.status_code, **body}


def test_no_existence_oracle_for_files_or_blobs(stack: LocalStack, storage: Storage, data_root: Path) -> None:
    file_cases = ["/etc/hostname", "/etc/no-such-file-here", str(data_root / "missing.csv")]
    answers = [
        _wording(
            _start(stack, _spec("oracle", source={"kind": "file", "location": loc, "format": "csv"})), loc
        )
        for loc in file_cases
    ]
    assert answers[0] == answers[1] == answers[2], answers
    storage.blobs.put_bytes("models", "oracle/exists.csv", _csv())
    blob_cases = ["models/oracle/exists.csv", "models/oracle/missing.csv", "data/oracle/missing.csv"]
    answers = [_wording(_start(stack, _spec("oracle", source=loc)), loc) for loc in blob_cases]
    assert answers[0] == answers[1] == answers[2], answers
    assert answers[0]["status"] == 400 and answers[0]["field"] == "source.location"


def test_regex_expectation_cannot_probe_internal_data(stack: LocalStack, storage: Storage) -> None:
    storage.blobs.put_bytes("models", "oracle/rows.csv", _csv())
    answers = []
    for pattern in ("da.*", "dx.*"):
        expectations = {"columns": {"a": {"regex": pattern}}}
        spec = _spec("regex-oracle", source="models/oracle/rows.csv", expectations=expectations)
        answers.append(_refused(_start(stack, spec), "source.location"))
    assert answers[0] == answers[1]  # refused before any row is read: nothing to count
    _no_runs(stack, "regex-oracle")


def test_target_missing_from_the_header_is_refused_at_submission(stack: LocalStack, storage: Storage) -> None:
    storage.blobs.put_bytes("data", "security/train.csv", _csv())
    message = _refused(_start(stack, _spec("no-target", target="outcome")), "target")
    assert "'outcome'" in message and "label" in message
    _no_runs(stack, "no-target")


def test_function_key_cannot_register_scripts(stack: LocalStack) -> None:
    assert _register(stack, "fkey.py", "print(1)\n", key=FUNCTION_KEY).status_code == 401
    listed = _call(stack, "GET", "/api/scripts", FUNCTION_KEY).json()["scripts"]
    assert "fkey.py" not in [s["name"] for s in listed]


def test_script_registration_checks_name_and_body(stack: LocalStack) -> None:
    bad_syntax = _register(stack, "broken.py", "def (:\n")
    assert bad_syntax.status_code == 400 and bad_syntax.json()["field"] == "body"
    bad_name = _register(stack, "Evil.sh", "print(1)\n")
    assert bad_name.status_code == 400 and bad_name.json()["field"] == "name"
    assert _register(stack, "linear.py", "print(1)\n").status_code == 409  # shipped with the app


def test_registered_scripts_are_create_only_and_pinned(stack: LocalStack, storage: Storage) -> None:
    name = f"pinned-{secrets.token_hex(3)}.py"
    source = "print('trusted')\n"
    created = _register(stack, name, source)
    assert created.status_code == 201, created.text
    assert created.json()["sha256"] == hashlib.sha256(source.encode()).hexdigest()
    again = _register(stack, name, "print('replaced')\n")
    assert again.status_code == 409
    assert storage.blobs.get_bytes("trainer-scripts", name) == source.encode()

    storage.blobs.put_bytes("data", "security/train.csv", _csv())
    wrong_pin = _spec("pinned", trainer={"kind": "command", "script": name, "sha256": "0" * 64})
    _refused(_start(stack, wrong_pin), "trainer.sha256")

    # Someone with storage access swaps the bytes but cannot fix the recorded sha256.
    blob = storage.clients.blob.get_blob_client("trainer-scripts", name)
    metadata = blob.get_blob_properties().metadata
    blob.upload_blob(b"import os; os.system('id')\n", overwrite=True, metadata=metadata)
    message = _refused(
        _start(stack, _spec("pinned", trainer={"kind": "command", "script": name})), "trainer.script"
    )
    assert "sha256" in message
    _no_runs(stack, "pinned")


def test_training_script_runs_without_host_secrets(
    stack: LocalStack, storage: Storage, settings: Settings
) -> None:
    name = f"env-dump-{secrets.token_hex(3)}.py"
    assert _register(stack, name, ENV_DUMP).status_code == 201
    storage.blobs.put_bytes("data", "security/train.csv", _csv())
    started = _start(stack, _spec("env-dump", trainer={"kind": "command", "script": name}))
    assert started.status_code == 202, started.text
    # The job's outputs come back through Blob (training-jobs/<job>/out/), never the host's disk.
    metrics = f"{job_name_for(started.json()['run_id'])}/out/metrics.json"
    deadline = time.monotonic() + 180
    while not storage.blobs.exists("training-jobs", metrics) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert storage.blobs.exists("training-jobs", metrics), f"the job wrote no metrics; see {stack.log_path}"
    seen = json.loads(storage.blobs.get_bytes("training-jobs", metrics))["command_metrics"]
    env, cwd = seen["env"], Path(seen["cwd"])
    assert not [k for k in env if k.startswith(("AzureWebJobs", "DEVHOST_", "FUNCTIONS_", "WEBSITE_"))]
    assert {k for k in env if k.startswith("MLOPS_")} == {
        "MLOPS_DATA_DIR",
        "MLOPS_OUTPUT_DIR",
        "MLOPS_CHECKPOINT_DIR",
    }
    values = json.dumps(env)
    assert stack.master_key not in values and FUNCTION_KEY not in values
    assert str(settings.storage_connection_string) not in values and "AccountKey" not in values
    assert env["HOME"] == str(cwd) and not cwd.is_relative_to(Path(__file__).resolve().parents[2])
