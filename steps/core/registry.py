"""Shared registry steps: read the production model, promote a new one only if it beats it."""

from __future__ import annotations

from typing import Annotated, Literal

from zenml import get_step_context, log_metadata, step
from zenml.enums import ModelStages
from zenml.logger import get_logger

import materializers.core  # noqa: F401  (registers the shared materializers)
from stackpipes.core.policy import promotion_verdict
from stackpipes.core.registry import mirror_to_model_registry, production_info
from stackpipes.core.run_record import record_promotion
from stackpipes.core.types import ModelEvaluation, ProductionInfo, PromotionResult
from stackpipes.platform.flavors.lazy_components import MLFLOW_RUN_ON_FIRST_LOG

logger = get_logger(__name__)


@step(enable_cache=False)
def fetch_production_model(
    model_name: str, model_artifact: str, metric: str
) -> Annotated[ProductionInfo, "production_model"]:
    """Never cached: the production version changes between runs."""
    return production_info(model_name, model_artifact, metric)


@step(enable_cache=False, experiment_tracker=True, extra=MLFLOW_RUN_ON_FIRST_LOG)
def promote_if_better(
    evaluation: ModelEvaluation, review: Literal["auto", "promotion", "retrain"] = "auto"
) -> Annotated[PromotionResult, "promotion"]:
    """Set this run's model version to production when the verdict says so; with `review:
    promotion` a winner waits in `staging` until `python run.py review approve` promotes it."""
    model = get_step_context().model
    promote, reason = promotion_verdict(evaluation)
    awaiting = promote and review == "promotion"
    if awaiting:
        promote = False
        label = f"{model.name}:{model.version}" if model is not None else "this version"
        reason += f"; awaiting review: python run.py review approve {label}"
    result = PromotionResult(
        promoted=promote,
        reason=reason,
        metric=evaluation.metric,
        challenger=evaluation.challenger,
        production=evaluation.production,
        model_version=str(model.version) if model else None,
        awaiting_review=awaiting,
    )
    if awaiting and model is not None:
        from zenml.client import Client

        from stackpipes.core.review import AWAITING

        model.set_stage(ModelStages.STAGING, force=True)
        Client().update_model_version(model.model_id, model.id, add_tags=[AWAITING])
        log_metadata({"review_state": "awaiting review"}, infer_model=True)
    if promote:
        if model is None:
            raise ValueError("promotion needs the pipeline to declare a ZenML Model")
        model.set_stage(ModelStages.PRODUCTION, force=True)
        result.registry_version = mirror_to_model_registry(model.name, evaluation, str(model.version))
    log_metadata({"promoted": promote, "promotion_reason": reason})
    record_promotion(result)
    if model is not None:
        log_metadata({"promoted": promote, "promotion_reason": reason, "trained": evaluation.retrained},
                     infer_model=True)
        if not evaluation.retrained:  # every run makes a model version: tell apart those that trained nothing
            from zenml.client import Client

            Client().update_model_version(model.model_id, model.id, add_tags=["no-training"],
                                          description="This run trained no model: " + reason)
    logger.info("Promotion: %s (%s)", promote, reason)
    return result
