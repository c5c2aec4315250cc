"""Ingest + validate as a Durable fan-out, one activity per part of the source (deterministic, no I/O).

plan -> survey every part (task_all) -> merge the surveys (types, row offsets) -> type and validate
every part (task_all) -> merge the parts. The plan may answer that one activity does it (Parquet,
``unique`` expectations, a source that fits one part): then the single-activity steps run. A part
that fails ends the run with a reason naming the part (its activity puts the part in its message).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import azure.durable_functions as df

from orchestrations import names
from orchestrations.steps import STEP_RETRY, Gen, call, unwrap
from shared.contracts import (
    Contract,
    DatasetPlan,
    DatasetRef,
    MergePartsInput,
    PartInput,
    PartOutput,
    PartSurvey,
    PartTyping,
    StepInput,
    SurveysInput,
    TypedPartInput,
    ValidateInput,
    ValidationResult,
)


def wants_parts(spec: dict[str, Any]) -> bool:
    """Whether the spec asks for a fan-out ingest (its ``ingest`` section)."""
    return bool(spec.get("ingest"))


def _each_part(
    context: df.DurableOrchestrationContext, name: str, inputs: Sequence[Contract], out: type[Any]
) -> Gen[list[Any]]:
    """Call ``name`` once per part in parallel; the replies in part order (a failed part raises)."""
    tasks = [context.call_activity_with_retry(name, STEP_RETRY, i.to_payload()) for i in inputs]
    replies = yield context.task_all(tasks)
    return [unwrap(raw, out) for raw in replies]


def ingest_and_validate(
    context: df.DurableOrchestrationContext, run: dict[str, Any], enter: Callable[..., None]
) -> Gen[ValidationResult]:
    """The validated dataset of a run whose spec asks for parts (``enter`` names the step in progress)."""
    enter("ingest")
    plan = yield from call(context, names.PLAN_DATASET_PARTS, StepInput(**run), DatasetPlan)
    if not plan.fan_out:
        dataset = yield from call(context, names.INGEST_DATASET, StepInput(**run), DatasetRef)
        enter("validate", dataset_version=dataset.version)
        checked = ValidateInput(**run, dataset=dataset)
        return (yield from call(context, names.VALIDATE_DATASET, checked, ValidationResult))
    parts = range(len(plan.parts))
    enter("ingest", dataset_version=plan.version, parts=len(plan.parts))
    surveyed = [PartInput(**run, plan=plan, index=i) for i in parts]
    surveys = yield from _each_part(context, names.SURVEY_DATASET_PART, surveyed, PartSurvey)
    merging = SurveysInput(**run, plan=plan, surveys=surveys)
    typing = yield from call(context, names.MERGE_DATASET_SURVEYS, merging, PartTyping)
    enter("validate", dataset_version=plan.version, parts=len(plan.parts))
    if typing.reused is not None:  # these bytes were typed the same way before: validate them as stored
        checked = ValidateInput(**run, dataset=typing.reused)
        return (yield from call(context, names.VALIDATE_DATASET, checked, ValidationResult))
    typed = [TypedPartInput(**run, plan=plan, typing=typing, index=i) for i in parts]
    outputs = yield from _each_part(context, names.VALIDATE_DATASET_PART, typed, PartOutput)
    merged = MergePartsInput(**run, plan=plan, typing=typing, parts=outputs)
    return (yield from call(context, names.MERGE_DATASET_PARTS, merged, ValidationResult))
