"""What a run decided, recorded on the run itself: ZenML run metadata and tags, MLflow metrics.

The runs list of the dashboard shows tags; run metadata is searchable; MLflow charts the metrics
across runs (one MLflow run per pipeline run, as ZenML's tracker keeps it). Called from inside a
step; each part is skipped where it has nowhere to go (no step context, no tracker).
"""

from __future__ import annotations

from typing import Any, Optional

from stackpipes.core import tracking
from stackpipes.core.types import DriftSummary, PromotionResult, RetrainDecision


def _on_run(metadata: dict[str, Any], tags: list[str]) -> None:
    from zenml import get_step_context

    from stackpipes.core.review import record_on_run

    record_on_run(get_step_context().pipeline_run.id, metadata, tags)


def drift_figures(drift: Optional[DriftSummary]) -> dict[str, float]:
    if drift is None or not drift.total_columns:
        return {}
    return {"drifted_share": drift.drifted_share, "dataset_drift": float(drift.dataset_drift),
            **{f"drift_score_{c.column}": c.score for c in drift.columns.values()}}


def record_decision(decision: RetrainDecision, drift: Optional[DriftSummary]) -> None:
    """The drift figures and the decision: run metadata, a tag each, MLflow metrics."""
    figures = drift_figures(drift)
    tags = [decision.status]  # retrain | keep | collecting
    if figures:
        tags.append("drift" if drift is not None and drift.dataset_drift else "no-drift")
    metadata: dict[str, Any] = {**figures, "retrain": decision.retrain, "decision": decision.status,
                                "decision_reasons": "; ".join(decision.reasons)}
    if decision.awaiting_review:
        from stackpipes.core.review import AWAITING, RETRAIN_REQUESTED

        tags += [RETRAIN_REQUESTED, AWAITING]
        metadata["review_state"] = "awaiting review"
    _on_run(metadata, tags)
    tracking.log_metrics({**figures, "retrain": float(decision.retrain)})


def record_promotion(promotion: PromotionResult) -> None:
    metadata: dict[str, Any] = {"promoted": promotion.promoted, "promotion_reason": promotion.reason}
    tags = ["promoted" if promotion.promoted else "not-promoted"]
    if promotion.awaiting_review:
        from stackpipes.core.review import AWAITING

        tags.append(AWAITING)
        metadata["review_state"] = "awaiting review"
    _on_run(metadata, tags)
    tracking.log_metrics({"promoted": float(promotion.promoted)})
