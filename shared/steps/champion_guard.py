"""The identical-model guard: a retrain that adds nothing over the champion registers nothing."""

from __future__ import annotations

from shared.contracts import Evaluation
from shared.models.metrics import direction_of
from shared.pipeline.spec import PipelineSpec
from shared.storage.factory import Storage


def no_change_reason(
    storage: Storage, spec: PipelineSpec, candidate_sha256: str, evaluation: Evaluation
) -> str | None:
    """Why registering the candidate would add nothing (None when it is new and better).

    Nothing new: the candidate's ONNX is byte-identical (sha256) to the champion's, or the spec
    asks the candidate to beat the champion with ``min_improvement`` 0 and it only ties or loses
    (a zero margin admits ties, which would churn versions without a better model).
    """
    if evaluation.champion_version is None:
        return None
    champion = storage.models.try_get(spec.name, evaluation.champion_version)
    if champion is not None and champion.sha256 == candidate_sha256:
        return f"the candidate is byte-identical (sha256) to champion version {champion.version}"
    rule = spec.gates.champion_challenger
    if rule is None or rule.min_improvement != 0 or not evaluation.champion_metrics:
        return None
    value = evaluation.metrics.get(rule.metric)
    best = evaluation.champion_metrics.get(rule.metric)
    if value is None or best is None:
        return None
    better = value > best if direction_of(rule.metric) == "higher" else value < best
    if better:
        return None
    return (
        f"{rule.metric} {value:.6g} does not beat champion version {evaluation.champion_version} "
        f"({best:.6g}) and min_improvement is 0"
    )
