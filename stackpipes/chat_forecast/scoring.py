"""Scoring a stored forecast against what happened: sMAPE over the hours both cover."""

from __future__ import annotations

import pandas as pd

from stackpipes.chat_forecast.metrics import smape
from stackpipes.core.types import MetricScore


def score_forecast(forecast: pd.DataFrame, actual: pd.DataFrame, window_hours: int, min_points: int) -> MetricScore | None:
    """sMAPE of `forecast` on the last `window_hours` of `actual`; None when they barely overlap."""
    recent = actual.iloc[-window_hours:]
    joined = recent.merge(forecast[["timestamp", "forecast"]], on="timestamp", how="inner")
    if len(joined) < min_points:
        return None
    value = smape(joined["count"].to_numpy(float), joined["forecast"].to_numpy(float))
    return MetricScore(metric="smape", value=value, points=len(joined), status="scored")


def may_overlap(metadata: dict, actual: pd.DataFrame, window_hours: int) -> bool:
    """False when the forecast's recorded span cannot meet the last `window_hours` of `actual`."""
    try:
        start, end = pd.Timestamp(metadata["start"]), pd.Timestamp(metadata["end"])
    except (KeyError, ValueError):
        return True  # no span recorded: load it and look
    window = actual["timestamp"].iloc[-window_hours:]
    return not (end < window.iloc[0] or start > window.iloc[-1])
