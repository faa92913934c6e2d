"""Shared promotion: a new model becomes production only if it beats the current one.

The ZenML Model Control Plane is the source of truth (stage `production`); when the stack has a
model registry (MLflow), the same model is registered there and gets the `champion` alias, so
MLflow users see the same champion.
"""

from __future__ import annotations

import re
from typing import Annotated, Optional

from zenml import get_step_context, log_metadata, step
from zenml.client import Client
from zenml.enums import ModelStages
from zenml.logger import get_logger

import materializers  # noqa: F401
from stackpipes.policy import is_better
from stackpipes.types import ModelEvaluation, PromotionResult

logger = get_logger(__name__)


def promotion_verdict(evaluation: ModelEvaluation) -> tuple[bool, str]:
    """Pure rule: promote a retrained model with no production, or one strictly better."""
    if not evaluation.retrained:
        return False, "no new model was trained in this run"
    if evaluation.challenger is None:
        return False, "the new model could not be scored"
    if evaluation.production is None:
        return True, "no production model to beat"
    if is_better(evaluation.challenger, evaluation.production, evaluation.higher_is_better):
        return True, (
            f"{evaluation.metric} {evaluation.challenger:.4g} beats production "
            f"{evaluation.production:.4g} on {evaluation.holdout or 'the same holdout'}"
        )
    return False, (
        f"{evaluation.metric} {evaluation.challenger:.4g} does not beat production "
        f"{evaluation.production:.4g} on {evaluation.holdout or 'the same holdout'}"
    )


def _register_in_model_registry(model_name: str, evaluation: ModelEvaluation, zenml_version: str) -> Optional[str]:
    """Mirror the promotion into the stack's model registry, if it has one."""
    registry = Client().active_stack.model_registry
    if registry is None or not evaluation.tracking_model_uri:
        return None
    from zenml.model_registries.base_model_registry import (
        ModelRegistryModelMetadata,
        ModelVersionStage,
    )

    # ZenML's MLflow registry caches its client, but MLflow resolves `models:/` sources through
    # the global tracking URI, which the experiment tracker resets after each tracked step.
    if hasattr(registry, "configure_mlflow"):
        registry.configure_mlflow()
    description = f"ZenML model version {zenml_version}"
    metadata = ModelRegistryModelMetadata(
        zenml_model_version=zenml_version, **{evaluation.metric: str(evaluation.challenger)}
    )
    logged_model = re.fullmatch(r"models:/(m-[0-9a-f]+)", evaluation.tracking_model_uri)
    if logged_model and hasattr(registry, "mlflow_client"):
        # An MLflow 3 logged model: a tracking server (the local-s3 stack's) accepts this source
        # only with its model_id, which ZenML's register_model_version does not pass.
        try:
            registry.get_model(model_name)
        except KeyError:
            registry.register_model(name=model_name)
        version = registry.mlflow_client.create_model_version(
            name=model_name, source=evaluation.tracking_model_uri, model_id=logged_model.group(1),
            description=description, tags=metadata.model_dump(),
        ).version
    else:
        version = registry.register_model_version(
            name=model_name, model_source_uri=evaluation.tracking_model_uri,
            description=description, metadata=metadata,
        ).version
    registry.update_model_version(name=model_name, version=str(version), stage=ModelVersionStage.PRODUCTION)
    return str(version)


@step(enable_cache=False)
def promote_if_better(evaluation: ModelEvaluation) -> Annotated[PromotionResult, "promotion"]:
    """Set this run's model version to production when the verdict says so."""
    model = get_step_context().model
    promote, reason = promotion_verdict(evaluation)
    result = PromotionResult(
        promoted=promote,
        reason=reason,
        metric=evaluation.metric,
        challenger=evaluation.challenger,
        production=evaluation.production,
        model_version=str(model.version) if model else None,
    )
    if promote:
        if model is None:
            raise ValueError("promotion needs the pipeline to declare a ZenML Model")
        model.set_stage(ModelStages.PRODUCTION, force=True)
        result.registry_version = _register_in_model_registry(model.name, evaluation, str(model.version))
    log_metadata({"promoted": promote, "promotion_reason": reason})
    if model is not None:
        log_metadata({"promoted": promote, "promotion_reason": reason}, infer_model=True)
    logger.info("Promotion: %s (%s)", promote, reason)
    return result
