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

import materializers  # noqa: F401
from stackpipes import tracking
from stackpipes.forecasting import ForecastModel
from stackpipes.types import ModelEvaluation, ProductionInfo, RetrainDecision
from steps.registry.production import keep_production_model, load_production_model

logger = get_logger(__name__)

MODEL_ARTIFACT = "forecast_model"
HOLDOUT_METRIC = "smape_holdout"


def _log_to_mlflow(model: Any, series_hours: int) -> Optional[str]:
    """Log params, backtest metrics, the model and its plot; return the MLflow model URI."""
    if tracking.active_run() is None:
        return None
    import mlflow

    from stackpipes.forecasting import plot_forecast
    from stackpipes.mlflow_model import ForecastPyfunc

    tracking.log_params({"candidate": model.candidate, "series_hours": series_hours, **model.params})
    tracking.log_metrics({f"backtest_smape_{name}": value for name, value in model.backtest.items()})
    tracking.log_bytes(
        plot_forecast(model.history_tail, model.predict(24), title=f"{model.candidate} forecast"),
        "training/forecast.png",
    )
    info = mlflow.pyfunc.log_model(
        name="model",
        python_model=ForecastPyfunc(model),
        pip_requirements=["statsmodels==0.15.0", "pandas==2.3.3"],
    )
    return info.model_uri


@step(experiment_tracker=True)
def train_forecaster(
    hourly_counts: pd.DataFrame,
    decision: RetrainDecision,
    production: ProductionInfo,
    candidates: list[str],
    horizon: int = 24,
    folds: int = 3,
    train_window_hours: int = 24 * 7 * 6,
    params: Optional[dict[str, Any]] = None,
) -> Annotated[ForecastModel, ArtifactConfig(name=MODEL_ARTIFACT, artifact_type=ArtifactType.MODEL)]:
    """Pick the best candidate by rolling backtest and fit it, when the decision says so."""
    from stackpipes.forecasting import train_forecaster as fit

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
    model.tracking_model_uri = _log_to_mlflow(model, len(hourly_counts))
    log_metadata({"candidate": model.candidate, "trained_at": model.trained_at.isoformat(), **{
        f"backtest_smape_{k}": v for k, v in model.backtest.items()}}, infer_model=True)
    logger.info("Trained %s; backtest sMAPE %s", model.candidate, model.backtest)
    return model


@step(experiment_tracker=True)
def evaluate_forecaster(
    model: ForecastModel,
    hourly_counts: pd.DataFrame,
    decision: RetrainDecision,
    production: ProductionInfo,
    horizon: int = 24,
) -> Annotated[ModelEvaluation, "model_evaluation"]:
    """Score the new model and the production model on the same final `horizon` hours."""
    from stackpipes.forecasting import holdout_smape

    start = hourly_counts["timestamp"].iloc[-horizon]
    holdout = f"the last {horizon} hours from {start:%Y-%m-%d %H:%M}"
    if not decision.retrain:
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
