"""Registry helpers every system shares: the production model, the promotion verdict, the MLflow mirror.

The ZenML Model Control Plane is the source of truth (stage `production`); when the stack has a
model registry (MLflow), the same model is registered there with the `champion` alias, so MLflow
users see the same champion. Steps call these; nothing here is a step.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Optional

from zenml.client import Client
from zenml.enums import ModelStages
from zenml.logger import get_logger

from stackpipes.core.types import ModelEvaluation, ProductionInfo, RetrainDecision

logger = get_logger(__name__)


def _trained_at(metadata: dict[str, Any]) -> Optional[datetime]:
    value = metadata.get("trained_at")
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def last_training(model_name: str, look_back: int = 20) -> Optional[datetime]:
    """When any version of `model_name` was last trained (a challenger that lost counts too)."""
    try:
        versions = Client().list_model_versions(
            model=model_name, sort_by="desc:number", size=look_back, hydrate=True
        )
    except KeyError:
        return None
    for version in versions.items:
        trained_at = _trained_at(version.run_metadata)
        if trained_at is not None:
            return trained_at
    return None


def production_info(model_name: str, model_artifact: str, metric: str) -> ProductionInfo:
    """Read the production version of `model_name`; `exists=False` when there is none."""
    last = last_training(model_name)
    try:
        version = Client().get_model_version(model_name, ModelStages.PRODUCTION)
    except KeyError:
        return ProductionInfo(exists=False, model_name=model_name, last_trained_at=last)
    artifact = version.get_artifact(model_artifact)
    if artifact is None:
        return ProductionInfo(exists=False, model_name=model_name, version=version.name, last_trained_at=last)
    metadata = version.run_metadata
    return ProductionInfo(
        exists=True,
        model_name=model_name,
        version=version.name,
        model_artifact_id=str(artifact.id),
        metric=_as_float(metadata.get(metric)),
        metric_name=metric,
        trained_at=_trained_at(metadata),
        last_trained_at=last,
    )


def _as_float(value: Any) -> Optional[float]:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def load_production_model(production: ProductionInfo) -> Any:
    """Load the production model artifact recorded in `production`."""
    if not production.exists or production.model_artifact_id is None:
        raise ValueError(f"model '{production.model_name}' has no production version to load")
    return Client().get_artifact_version(production.model_artifact_id).load()


def require_run_model(expected: str, dataset: str) -> None:
    """In a pipeline's body: the run configuration must name the model `expected` (a system whose
    model is per dataset); anything else fails before the first step, naming both."""
    from zenml import get_pipeline_context

    registered = get_pipeline_context().model
    if registered is None or registered.name != expected:
        raise ValueError(f"model.name: the run configuration must name the model '{expected}' for dataset "
                         f"'{dataset}' (got {registered.name if registered else 'none'!r})")


def load_production_artifact(production: ProductionInfo, artifact_name: str) -> Any:
    """Load another artifact of the production version's run by name (e.g. the data it was trained
    on, a drift reference)."""
    if not production.exists or production.version is None:
        raise ValueError(f"model '{production.model_name}' has no production version")
    artifact = Client().get_model_version(production.model_name, production.version).get_artifact(artifact_name)
    if artifact is None:
        raise ValueError(f"model '{production.model_name}' version {production.version} has no artifact "
                         f"'{artifact_name}'")
    return artifact.load()


def keep_production_model(decision: RetrainDecision, production: ProductionInfo) -> Optional[Any]:
    """What a training step returns when no retrain is due: the production model, unchanged.

    Training steps always run (static DAGs cannot skip one), so each calls this on `retrain=False`.
    While the history is still being collected and no model exists yet, there is nothing to keep:
    None, and the steps after it pass the run through without a model.
    """
    if not production.exists and decision.collecting:
        logger.info("No model yet (%s)", "; ".join(decision.reasons))
        return None
    if not production.exists:
        raise ValueError("no retrain is due but there is no production model to keep: " + "; ".join(decision.reasons))
    logger.info("No retrain (%s); keeping production version %s", "; ".join(decision.reasons), production.version)
    return load_production_model(production)


def mirror_to_model_registry(model_name: str, evaluation: ModelEvaluation, zenml_version: str) -> Optional[str]:
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
