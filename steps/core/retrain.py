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
    return decision
