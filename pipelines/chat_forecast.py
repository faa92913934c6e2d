"""chat_forecast: daily chat-activity forecast, from raw messages to tomorrow's 24 hourly counts.

ingest -> check -> merge into history -> check -> hourly series -> check -> score yesterday's
forecast -> drift (recent week vs reference weeks) -> retrain decision -> train (if due) ->
evaluate against production -> promote if better -> forecast the next 24 hours.
"""

from __future__ import annotations

from typing import Any, Optional

from zenml import Model, pipeline
from zenml.enums import ExecutionMode

from stackpipes.chat_forecast import (
    FORECAST_ARTIFACT,
    HOLDOUT_METRIC,
    MAX_CANDIDATES,
    MAX_LAST_N,
    MODEL_ARTIFACT,
    MODEL_NAME,
)
from stackpipes.chat_forecast.series import HorizonHours, WindowHours, hours_needed
from stackpipes.core.policy import RetrainPolicy, review_mode
from stackpipes.platform.bounds import count, items
from steps.chat_forecast import (
    evaluate_forecaster,
    forecast_next,
    hourly_series,
    ingest_telegram,
    merge_into_history,
    score_last_forecast,
    split_recent,
    train_forecaster,
)
from steps.core import (
    decide_retrain,
    detect_drift,
    fetch_production_model,
    promote_if_better,
    validate_dataset,
    write_review_page,
)

MESSAGES_SUITE = "configs/suites/telegram_messages.yaml"
SERIES_SUITE = "configs/suites/hourly_counts.yaml"


@pipeline(
    model=Model(name=MODEL_NAME, description="Hourly chat-activity forecaster", license="Apache-2.0"),
    execution_mode=ExecutionMode.FAIL_FAST,  # the first failure ends the run with its own error
)
def chat_forecast(
    source: str = "auto",
    export_path: Optional[str] = "data/samples/telegram_export.json",
    last_n: Optional[count(1, MAX_LAST_N)] = 500,
    horizon: HorizonHours = 24,
    candidates: Optional[items(MAX_CANDIDATES, low=1)] = None,
    retrain_policy: Optional[RetrainPolicy] = None,
    drift_current_hours: WindowHours = 168,
    drift_reference_hours: WindowHours = 672,
    drift_method: Optional[str] = "wasserstein",
    drift_threshold: Optional[float] = 0.5,
) -> None:
    raw, incoming = ingest_telegram(source=source, export_path=export_path, last_n=last_n)
    validate_dataset(incoming, suite=MESSAGES_SUITE, dataset_name="incoming_messages", id="check_incoming")
    history = merge_into_history(incoming, after="check_incoming")
    validate_dataset(history, suite=MESSAGES_SUITE, dataset_name="chat_history", id="check_history")
    hourly_counts, series_hours = hourly_series(history, after="check_history")
    validate_dataset(hourly_counts, suite=SERIES_SUITE, dataset_name="hourly_counts", id="check_series")

    score = score_last_forecast(hourly_counts, window_hours=horizon, after="check_series")
    reference, current = split_recent(
        hourly_counts, current_hours=drift_current_hours, reference_hours=drift_reference_hours, after="check_series"
    )
    drift, _ = detect_drift(
        reference, current, report_name="chat_forecast_drift", numerical=["count", "rolling_24h"],
        method=drift_method, threshold=drift_threshold,
    )
    production = fetch_production_model(model_name=MODEL_NAME, model_artifact=MODEL_ARTIFACT, metric=HOLDOUT_METRIC)
    decision = decide_retrain(
        score, drift, series_hours, production, policy=retrain_policy,
        required_samples=hours_needed(horizon, drift_current_hours), sample_unit="hours",
    )

    model = train_forecaster(
        hourly_counts, decision, production, candidates=candidates or ["seasonal_naive", "holt_winters"], horizon=horizon
    )
    evaluation = evaluate_forecaster(model, hourly_counts, decision, production, horizon=horizon)
    promotion = promote_if_better(evaluation, review=review_mode(retrain_policy))
    forecast_next(model, promotion, production, hourly_counts, horizon=horizon)
    write_review_page(promotion, products=[FORECAST_ARTIFACT], after="forecast_next")


def report(run: Any) -> str:
    """Where a finished run's results are, for run.py to print."""
    from stackpipes.core.summary import dashboard_line, mlflow_lines, review_lines

    lines = [f"Run '{run.name}': {run.status}"]
    steps = run.steps
    decision = steps["decide_retrain"].run_metadata if "decide_retrain" in steps else {}
    if decision.get("status") == "collecting":
        lines.append(f"  status:        {decision.get('reasons')}: no model and no forecast yet; "
                     "every run keeps its messages")
    if "forecast_next" in steps and "csv" in steps["forecast_next"].run_metadata:
        meta = steps["forecast_next"].run_metadata
        lines.append(f"  forecast CSV:  {meta['csv']}  (+ .png beside it)")
    lines += review_lines(run)
    lines += mlflow_lines(run)
    lines.append(dashboard_line(run))
    return "\n".join(lines)
