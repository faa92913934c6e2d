"""Scoring yesterday's stored forecast against what actually happened (sMAPE), logged to MLflow."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from zenml import log_metadata, step
from zenml.logger import get_logger

import materializers.chat_forecast  # noqa: F401  (registers its materializers)
from stackpipes.chat_forecast import FORECAST_ARTIFACT
from stackpipes.chat_forecast.series import HorizonHours
from stackpipes.core import tracking
from stackpipes.core.artifacts import is_current_run, successful_versions
from stackpipes.core.types import MetricScore
from stackpipes.platform.flavors.lazy_components import MLFLOW_RUN_ON_FIRST_LOG

logger = get_logger(__name__)

@step(enable_cache=False, experiment_tracker=True, extra=MLFLOW_RUN_ON_FIRST_LOG)
def score_last_forecast(
    hourly_counts: pd.DataFrame, window_hours: HorizonHours = 24, min_points: HorizonHours = 12
) -> Annotated[MetricScore, "forecast_score"]:
    """Find the newest stored forecast that covers the last `window_hours` and score it."""
    from stackpipes.chat_forecast.plot import plot_forecast
    from stackpipes.chat_forecast.scoring import may_overlap, score_forecast

    stored = 0
    for version in successful_versions(FORECAST_ARTIFACT):
        if is_current_run(version):
            continue
        stored += 1
        if not may_overlap(version.run_metadata, hourly_counts, window_hours):
            continue  # decided from the artifact's metadata, without loading it
        forecast = version.load()
        if forecast is None:
            continue  # a run that was still collecting history made no forecast
        score = score_forecast(forecast.frame, hourly_counts, window_hours, min_points)
        if score is None:
            continue
        score.prediction_ref = f"{FORECAST_ARTIFACT}:{version.version}"
        score.detail = f"forecast made by {forecast.model} at {forecast.generated_at:%Y-%m-%d %H:%M}"
        joined = hourly_counts.merge(forecast.frame[["timestamp", "forecast"]], on="timestamp")
        tracking.log_metrics({"smape": score.value, "scored_points": float(score.points)})
        tracking.log_bytes(joined.to_csv(index=False).encode(), "scoring/actual_vs_predicted.csv")
        tracking.log_bytes(
            plot_forecast(hourly_counts, forecast.frame, title=f"Stored forecast vs actual (sMAPE {score.value:.1f}%)"),
            "scoring/actual_vs_predicted.png",
        )
        logger.info("Scored %s: sMAPE %.2f%% on %d hours", score.prediction_ref, score.value, score.points)
        log_metadata({"smape": score.value, "points": score.points, "prediction": score.prediction_ref})
        return score
    status = "no_overlap" if stored else "no_prediction"
    detail = (
        f"none of the {stored} stored forecasts covers the last {window_hours} hours"
        if stored
        else "no forecast has been stored yet"
    )
    logger.info("Nothing to score: %s", detail)
    log_metadata({"status": status})
    return MetricScore(metric="smape", status=status, detail=detail)
