"""Starting a pipeline run: the one place that writes the pending run row and starts the orchestration."""

from __future__ import annotations

import azure.durable_functions as df

from orchestrations import names
from shared.pipeline.spec import PipelineSpec
from shared.steps import runs
from shared.storage.factory import Storage


async def start_pipeline(
    client: df.DurableOrchestrationClient,
    storage: Storage,
    spec: PipelineSpec,
    instance_id: str,
    trigger: str,
) -> None:
    """Pending row first (so GET /api/runs/{id} answers at once), then the training orchestration."""
    runs.create_pending(storage, spec.name, instance_id, trigger)
    payload = {"pipeline": spec.name, "spec": spec.model_dump(mode="json"), "trigger": trigger}
    await client.start_new(names.TRAINING_PIPELINE, instance_id, payload)
