"""Where training runs: the torch_mlp job takes CUDA when present (CPU here: CI has no GPU), and a
spec whose trainer cannot run inside the Function App is refused on Azure with local compute."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from shared.compute.placement import check_placement
from shared.errors import ValidationError
from shared.pipeline.spec import load_spec
from shared.settings import load_settings
from shared.training.job import run_job
from shared.training.trainers import torch_mlp
from shared.training.trainers.torch_mlp import pick_device


def test_auto_picks_cuda_exactly_when_torch_sees_a_device(monkeypatch: pytest.MonkeyPatch) -> None:
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert pick_device("auto").type == expected
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert pick_device("auto").type == "cuda" and pick_device("cpu").type == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert pick_device("auto").type == "cpu"
    with pytest.raises(ValidationError) as err:
        pick_device("cuda")
    assert err.value.field == "job.trainer.device"


def test_the_default_job_trains_on_the_device_auto_picks(make_job, breast_cancer, tmp_path: Path) -> None:
    trainer = {"type": "torch_mlp", "hidden": [8], "epochs": 1, "batch_size": 128}  # device: auto
    data = make_job(breast_cancer, "classification", trainer)
    result = run_job(data, tmp_path / "out", tmp_path / "ckpt")
    assert result.metrics["device"] == ("cuda" if torch.cuda.is_available() else "cpu")
    # What a GPU run checkpoints loads on a CPU-only machine (map_location): resume works anywhere.
    state = torch_mlp.load_checkpoint(tmp_path / "ckpt" / torch_mlp.CHECKPOINT, torch.device("cpu"))
    assert state is not None and all(t.device.type == "cpu" for t in state["model"].values())


def _spec(trainer: dict[str, object], compute: dict[str, object] | None = None):  # type: ignore[no-untyped-def]
    return load_spec(
        {
            "name": "placement",
            "source": "sklearn:breast_cancer",
            "target": "target",
            "task": "classification",
            "trainer": trainer,
            **({"compute": compute} if compute else {}),
        }
    )


WORKSPACE = {
    "MLOPS_AZUREML_SUBSCRIPTION_ID": "00000000-0000-0000-0000-000000000000",
    "MLOPS_AZUREML_RESOURCE_GROUP": "rg",
    "MLOPS_AZUREML_WORKSPACE": "ws",
}
ON_AZURE = load_settings(environ={"WEBSITE_INSTANCE_ID": "abc", "WEBSITE_SITE_NAME": "app", **WORKSPACE})
LOCALLY = load_settings(environ={})
AZUREML = {"kind": "azureml", "cluster": "gpu-cluster", "instance_type": "Standard_NC4as_T4_v3"}


def test_torch_and_scripts_with_local_compute_are_refused_on_azure_naming_why() -> None:
    assert ON_AZURE.on_azure and not LOCALLY.on_azure
    for trainer, why in (
        ({"kind": "torch_mlp"}, "torch is not deployed with the Function App"),
        ({"kind": "command", "script": "linear.py"}, "trainer scripts never run inside the Function App"),
    ):
        with pytest.raises(ValidationError) as err:
            check_placement(_spec(trainer), ON_AZURE)
        assert err.value.field == "compute.kind" and why in err.value.message
        assert "set compute.kind to azureml" in err.value.message
        check_placement(_spec(trainer), LOCALLY)  # the local machine has torch and may run scripts
        check_placement(_spec(trainer, AZUREML), ON_AZURE)  # Azure ML is where they belong
    check_placement(_spec({"kind": "sklearn", "model": "logistic_regression"}), ON_AZURE)


def test_azureml_compute_without_a_configured_workspace_is_refused() -> None:
    with pytest.raises(ValidationError) as err:
        check_placement(_spec({"kind": "torch_mlp"}, AZUREML), LOCALLY)
    assert err.value.field == "compute.kind" and "MLOPS_AZUREML_SUBSCRIPTION_ID" in err.value.message
    check_placement(_spec({"kind": "torch_mlp"}, AZUREML), load_settings(environ=WORKSPACE))


def test_the_azureml_section_is_one_config_with_defaults_and_limits() -> None:
    compute = _spec({"kind": "torch_mlp"}, AZUREML).compute
    assert compute.kind == "azureml"
    assert (compute.environment, compute.instance_count, compute.low_priority) == (
        "azureml:mlops-train:1",
        1,
        False,
    )
    assert (compute.max_preemption_retries, compute.timeout_s, compute.poll_seconds) == (3, 14400, 30)
    for bad, field in (
        ({"instance_count": 0}, "instance_count"),
        ({"environment": "/home/me/env"}, "environment"),
        ({"max_preemption_retries": 11}, "max_preemption_retries"),
        ({"cluster": "../x"}, "cluster"),
    ):
        with pytest.raises(ValidationError) as err:
            _spec({"kind": "torch_mlp"}, {**AZUREML, **bad})
        assert err.value.field == f"compute.{field}", err.value.field
