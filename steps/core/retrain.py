"""Shared retrain decision: applies the configured RetrainPolicy to score, drift and registry state.

Never cached: the cooldown rule depends on the time of the run. The decision is data, so it works
on orchestrators that run a static DAG (Airflow): the training step reads it and skips work.
"""

from __future__ import annotations

from typing import Annotated, Optional

from zenml import log_metadata, step
from zenml.logger import get_logger

import materializers.core  # noqa: F401  (registers the shared materializers)
from stackpipes.core.policy import RetrainPolicy
from stackpipes.core.run_record import record_decision
from stackpipes.core.types import DriftSummary, MetricScore, ProductionInfo, RetrainDecision
from stackpipes.platform.bounds import MAX_ROWS, count
from stackpipes.platform.flavors.lazy_components import MLFLOW_RUN_ON_FIRST_LOG

logger = get_logger(__name__)


@step(enable_cache=False, experiment_tracker=True, extra=MLFLOW_RUN_ON_FIRST_LOG)
def decide_retrain(
    score: Optional[MetricScore],
    drift: Optional[DriftSummary],
    n_samples: int,
    production: ProductionInfo,
    policy: Optional[RetrainPolicy] = None,
    required_samples: count(0, MAX_ROWS) = 0,
    sample_unit: str = "samples",
) -> Annotated[RetrainDecision, "retrain_decision"]:
    """`required_samples` is the system's own minimum (`sample_unit` names what is counted); below
    it, or below the policy's `min_samples`, the decision is "collecting history: N of M"."""
    from zenml import get_step_context

    policy = policy or RetrainPolicy()
    context = get_step_context()
    request = None
    if policy.review == "retrain":
        from stackpipes.core.review import pending_retrain_approval

        request = pending_retrain_approval(context.pipeline.name)
    decision = policy.decide(
        score, drift, n_samples, production, required=required_samples, unit=sample_unit,
        approval=request[1] if request else None,
    )
    if decision.retrain and request and any(r.rule == "review" for r in decision.rules):
        from stackpipes.core.review import mark_request_used

        mark_request_used(request[0], context.pipeline_run.name)
    logger.info("Retrain: %s (%s)", decision.retrain, "; ".join(decision.reasons))
    log_metadata({"retrain": decision.retrain, "status": decision.status, "reasons": "; ".join(decision.reasons)})
    record_decision(decision, drift)  # the run's metadata and tags, MLflow metrics
    _add_outcomes(decision, score, context)
    return decision


def _add_outcomes(decision: RetrainDecision, score: Optional[MetricScore], context) -> None:
    """Retrain yes/no and the scored metric into the Evidently workspace's trend panels, beside
    this run's drift snapshot: a run whose drift step came from the cache (the same data again)
    adds no point, and pays no Evidently import."""
    from stackpipes.core.drift_history import add_outcomes

    drift_inputs = context.inputs.get("drift") or []
    if not drift_inputs or drift_inputs[0].producer_pipeline_run_id != context.pipeline_run.id:
        return
    model = context.model
    values = {"retrain": float(decision.retrain)}
    if score is not None and score.value is not None:
        values[score.metric] = score.value
    try:
        add_outcomes(values, context.pipeline.name, context.pipeline_run.name, str(context.pipeline_run.id),
                     str(model.version) if model else None, decision.evaluated_at)
    except Exception as exc:  # the decision stands; only its trend point is missing
        logger.warning("Drift history: could not add the run's outcomes to the Evidently workspace: %s", exc)
