"""chat_forecast's steps: ingest, history, hourly series, scoring, training and the forecast."""

from steps.chat_forecast.history import merge_into_history
from steps.chat_forecast.ingest import ingest_telegram
from steps.chat_forecast.predict import forecast_next
from steps.chat_forecast.score import score_last_forecast
from steps.chat_forecast.series import hourly_series, split_recent
from steps.chat_forecast.training import evaluate_forecaster, train_forecaster

__all__ = [
    "evaluate_forecaster", "forecast_next", "hourly_series", "ingest_telegram", "merge_into_history",
    "score_last_forecast", "split_recent", "train_forecaster",
]
