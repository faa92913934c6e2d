"""Packaging the horoscope model: the best sampling strategy as its generation config, an MLflow model."""

from __future__ import annotations

import json
from typing import Annotated, Any, Optional

from zenml import ArtifactConfig, log_metadata, step
from zenml.enums import ArtifactType
from zenml.logger import get_logger

import materializers.horoscope  # noqa: F401  (registers its materializers)
from stackpipes.core import tracking
from stackpipes.core.types import RetrainDecision
from stackpipes.horoscope import MODEL_ARTIFACT
from stackpipes.lm.bundle import LanguageModel
from stackpipes.platform.flavors.lazy_components import MLFLOW_RUN_ON_FIRST_LOG

logger = get_logger(__name__)


@step(experiment_tracker=True, extra=MLFLOW_RUN_ON_FIRST_LOG)
def package_horoscope_lm(
    lm: Optional[LanguageModel],
    best_sampling: dict[str, Any],
    decision: RetrainDecision,
    log_model_to_mlflow: bool = True,
) -> Annotated[Optional[LanguageModel], ArtifactConfig(name=MODEL_ARTIFACT, artifact_type=ArtifactType.MODEL)]:
    """The trained model with the best strategy as its default generation config; logged to
    MLflow as a pyfunc model (what the MLflow registry entry points at)."""
    from stackpipes.horoscope.grid import generation_config_for

    if not decision.retrain:
        return lm  # the production model, generation config included
    lm.generation_config = generation_config_for(best_sampling, lm, int(best_sampling["max_new_tokens"]))
    lm.metadata["generation"] = {k: best_sampling[k] for k in ("top_p", "temperature", "max_new_tokens")}
    if log_model_to_mlflow and tracking.active_run() is not None:
        from stackpipes.horoscope.pyfunc import log_horoscope_model  # mlflow.pyfunc imports slowly

        lm.metadata["tracking_model_uri"] = log_horoscope_model(lm)
    log_metadata({"generation": json.dumps(lm.metadata["generation"])})
    return lm
