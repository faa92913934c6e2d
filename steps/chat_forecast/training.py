"""Training and evaluation of the chat forecaster (statsmodels), tracked in MLflow.

The training step always runs in the DAG (static orchestrators such as Airflow cannot skip it);
it reads the retrain decision and returns the production model unchanged when no retrain is due.
"""

from __future__ import annotations

from typing import Annotated, Any, Optional

import pandas as pd
from zenml import ArtifactConfig, log_metadata, step
from zenml.enums import ArtifactType
from zenml.logger import get_logger

import materializers.chat_forecast  # noqa: F401  (registers its materializers)
from stackpipes.chat_forecast import HOLDOUT_METRIC, MAX_FOLDS, MODEL_ARTIFACT
from stackpipes.chat_forecast.model import ForecastModel
from stackpipes.chat_forecast.series import HorizonHours, WindowHours
from stackpipes.core import tracking
from stackpipes.core.registry import keep_production_model, load_production_model
from stackpipes.core.types import ModelEvaluation, ProductionInfo, RetrainDecision
from stackpipes.platform.bounds import count
from stackpipes.platform.flavors.lazy_components import MLFLOW_RUN_ON_FIRST_LOG

logger = get_logger(__name__)


@step(experiment_tracker=True, extra=MLFLOW_RUN_ON_FIRST_LOG)
def train_forecaster(
    hourly_counts: pd.DataFrame,
    decision: RetrainDecision,
    production: ProductionInfo,
    candidates: list[str],
    horizon: HorizonHours = 24,
    folds: count(1, MAX_FOLDS) = 3,
    train_window_hours: WindowHours = 24 * 7 * 6,
    params: Optional[dict[str, Any]] = None,
) -> Annotated[Optional[ForecastModel], ArtifactConfig(name=MODEL_ARTIFACT, artifact_type=ArtifactType.MODEL)]:
    """Pick the best candidate by rolling backtest and fit it, when the decision says so; while
    the history is still being collected and there is no production model: None."""
    from stackpipes.chat_forecast.model import train_forecaster as fit

    if not decision.retrain:
        return keep_production_model(decision, production)
    model = fit(
        hourly_counts,
        candidates=candidates,
        horizon=horizon,
        folds=folds,
        train_window_hours=train_window_hours,
        params=params,
    )
    if tracking.active_run() is not None:
        from stackpipes.chat_forecast.pyfunc import (
            log_trained_forecaster,  # mlflow.pyfunc imports slowly
        )

        model.tracking_model_uri = log_trained_forecaster(model, len(hourly_counts))
    log_metadata({"candidate": model.candidate, "trained_at": model.trained_at.isoformat(), **{
        f"backtest_smape_{k}": v for k, v in model.backtest.items()}}, infer_model=True)
    logger.info("Trained %s; backtest sMAPE %s", model.candidate, model.backtest)
    return model


@step(experiment_tracker=True, extra=MLFLOW_RUN_ON_FIRST_LOG)
def evaluate_forecaster(
    model: Optional[ForecastModel],
    hourly_counts: pd.DataFrame,
    decision: RetrainDecision,
    production: ProductionInfo,
    horizon: HorizonHours = 24,
) -> Annotated[ModelEvaluation, "model_evaluation"]:
    """Score the new model and the production model on the same final `horizon` hours."""
    from stackpipes.chat_forecast.model import holdout_smape

    start = hourly_counts["timestamp"].iloc[-min(horizon, len(hourly_counts))]
    holdout = f"the last {horizon} hours from {start:%Y-%m-%d %H:%M}"
    if not decision.retrain or model is None:
        return ModelEvaluation(metric=HOLDOUT_METRIC, retrained=False, holdout=holdout)
    challenger = holdout_smape(model, hourly_counts, horizon, reestimate=True)
    incumbent = None
    if production.exists:
        incumbent = holdout_smape(load_production_model(production), hourly_counts, horizon)
    tracking.log_params({"holdout": holdout, "challenger": model.candidate})
    tracking.log_metrics({f"{HOLDOUT_METRIC}_challenger": challenger, f"{HOLDOUT_METRIC}_production": incumbent})
    log_metadata({HOLDOUT_METRIC: challenger, "trained_at": model.trained_at.isoformat()}, infer_model=True)
    return ModelEvaluation(
        metric=HOLDOUT_METRIC,
        retrained=True,
        challenger=challenger,
        production=incumbent,
        holdout=holdout,
        tracking_model_uri=getattr(model, "tracking_model_uri", None),
    )
