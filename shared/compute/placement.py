"""Where a spec's training may run: refused at submission (a 400 naming the field), not mid-run.

On Azure (the Function App: ``Settings.on_azure``) the ``local`` backend is a child process of the
Function App itself, whose deployed packages (requirements.txt) hold no torch and which must never
run trainer scripts; such specs belong on ``azureml`` compute. And ``azureml`` compute needs the
workspace settings (MLOPS_AZUREML_*, provisioned by infra) or every submit would fail.
"""

from __future__ import annotations

from shared.errors import ValidationError
from shared.pipeline.spec import PipelineSpec
from shared.settings import Settings

#: Trainers the Function App cannot run locally on Azure, and why.
_NOT_IN_FUNCTION_APP = {
    "torch_mlp": "torch is not deployed with the Function App (requirements.txt)",
    "command": "trainer scripts never run inside the Function App",
}


def check_placement(spec: PipelineSpec, settings: Settings) -> None:
    """ValidationError (field ``compute.kind``) when the spec's trainer cannot run on its compute here."""
    if spec.compute.kind == "azureml" and not (
        settings.azureml_subscription_id and settings.azureml_resource_group and settings.azureml_workspace
    ):
        raise ValidationError(
            "azureml compute is not configured on this deployment (MLOPS_AZUREML_SUBSCRIPTION_ID, "
            "_RESOURCE_GROUP and _WORKSPACE are unset): use compute.kind local, or deploy with infra/",
            field="compute.kind",
        )
    why = _NOT_IN_FUNCTION_APP.get(spec.trainer.kind)
    if why is not None and spec.compute.kind == "local" and settings.on_azure:
        raise ValidationError(
            f"on Azure, the {spec.trainer.kind} trainer cannot use local compute: {why}; "
            "set compute.kind to azureml (with cluster and instance_type)",
            field="compute.kind",
        )
