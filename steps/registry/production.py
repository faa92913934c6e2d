"""Shared registry read: what the Model Control Plane knows about the current production model."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Optional

from zenml import step
from zenml.client import Client
from zenml.enums import ModelStages
from zenml.logger import get_logger

import materializers  # noqa: F401
from stackpipes.types import ProductionInfo, RetrainDecision

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


def keep_production_model(decision: RetrainDecision, production: ProductionInfo) -> Any:
    """What a training step returns when no retrain is due: the production model, unchanged.

    Training steps always run (static DAGs cannot skip one), so each calls this on `retrain=False`.
    """
    if not production.exists:
        raise ValueError("no retrain is due but there is no production model to keep: " + "; ".join(decision.reasons))
    logger.info("No retrain (%s); keeping production version %s", "; ".join(decision.reasons), production.version)
    return load_production_model(production)


@step(enable_cache=False)
def fetch_production_model(
    model_name: str, model_artifact: str, metric: str
) -> Annotated[ProductionInfo, "production_model"]:
    """Never cached: the production version changes between runs."""
    return production_info(model_name, model_artifact, metric)
