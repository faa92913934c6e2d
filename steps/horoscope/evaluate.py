"""Held-out scoring of the new horoscope model against production, on the same held-out horoscopes."""

from __future__ import annotations

from typing import Annotated, Optional

import pandas as pd
from zenml import log_metadata, step
from zenml.logger import get_logger

import materializers.horoscope  # noqa: F401  (registers its materializers)
from stackpipes.core import tracking
from stackpipes.core.registry import load_production_model
from stackpipes.core.types import ModelEvaluation, ProductionInfo, RetrainDecision
from stackpipes.horoscope import HELDOUT_METRIC
from stackpipes.lm.bundle import LanguageModel
from stackpipes.lm.config import LMTrainingConfig
from stackpipes.platform.flavors.lazy_components import MLFLOW_RUN_ON_FIRST_LOG

logger = get_logger(__name__)


@step(experiment_tracker=True, extra=MLFLOW_RUN_ON_FIRST_LOG)
def evaluate_horoscope_lm(
    lm: Optional[LanguageModel],
    corpus: pd.DataFrame,
    decision: RetrainDecision,
    production: ProductionInfo,
    training: Optional[LMTrainingConfig] = None,
) -> Annotated[ModelEvaluation, "model_evaluation"]:
    """Held-out loss of the new and the production model on the same held-out horoscopes (the
    ones fine-tuning left out of this run's corpus); lower is better."""
    from stackpipes.horoscope.generation import heldout_loss, heldout_pairs

    pairs = heldout_pairs(corpus, training or LMTrainingConfig())
    holdout = f"{len(pairs)} held-out horoscopes of this run's corpus"
    if not decision.retrain:
        return ModelEvaluation(metric=HELDOUT_METRIC, retrained=False, holdout=holdout)
    challenger = heldout_loss(lm, pairs)
    incumbent = heldout_loss(load_production_model(production), pairs) if production.exists else None
    tracking.log_metrics({f"{HELDOUT_METRIC}_challenger": challenger, f"{HELDOUT_METRIC}_production": incumbent})
    log_metadata({HELDOUT_METRIC: challenger, "trained_at": lm.metadata.get("trained_at")}, infer_model=True)
    return ModelEvaluation(
        metric=HELDOUT_METRIC, retrained=True, challenger=challenger, production=incumbent, holdout=holdout,
        tracking_model_uri=lm.metadata.get("tracking_model_uri"),
    )
