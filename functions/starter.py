"""Starting a pipeline run: the one place that writes the pending run row and starts the orchestration."""

from __future__ import annotations

from typing import TYPE_CHECKING

import azure.durable_functions as df

from orchestrations import names
from shared.contracts import ApprovalPolicy, RunRequest

if TYPE_CHECKING:
    from shared.pipeline.spec import PipelineSpec
    from shared.storage.factory import Storage


def run_request(spec: PipelineSpec, trigger: str) -> RunRequest:
    """The orchestration's typed input: the spec as JSON plus what the orchestrator itself needs."""
    return RunRequest(
        pipeline=spec.name,
        spec=spec.model_dump(mode="json"),
        trigger=trigger,
        approval=ApprovalPolicy(required=spec.approval.required, timeout_hours=spec.approval.timeout_hours),
        poll_seconds=spec.compute.poll_seconds,
    )


async def start_pipeline(
    client: df.DurableOrchestrationClient,
    storage: Storage,
    spec: PipelineSpec,
    instance_id: str,
    trigger: str,
) -> None:
    """Pending row first (so GET /api/runs/{id} answers at once), then the training orchestration."""
    from shared.steps import runs

    runs.create_pending(storage, spec.name, instance_id, trigger)
    await client.start_new(names.TRAINING_PIPELINE, instance_id, run_request(spec, trigger).to_payload())
