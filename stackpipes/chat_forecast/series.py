"""The hourly message series: counts per hour with silent hours as zero, gaps, drift features."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from stackpipes.chat_forecast import MAX_HORIZON_HOURS
from stackpipes.platform.bounds import HOURS_PER_YEAR, count

WEEK = 24 * 7
DAY = 24

# Hour counts a user can set: a forecast horizon, and a window of the history.
HorizonHours = count(1, MAX_HORIZON_HOURS, "hours forecast or scored")
WindowHours = count(DAY, 2 * HOURS_PER_YEAR, "hours of history in a window")


def _utc(value: Any) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    # Naive bounds are taken as UTC, like naive message times; aware ones are converted so that
    # flooring to the hour happens on the UTC clock (zones with half-hour offsets exist).
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _as_utc_series(timestamps: Any) -> pd.Series:
    stamps = pd.to_datetime(pd.Series(timestamps), utc=True).dropna()
    return stamps.astype("datetime64[ns, UTC]")


def hourly_counts(timestamps: pd.Series, start: Any = None, end: Any = None) -> pd.DataFrame:
    """Messages per hour, every hour from start to end (default: first to last message), zero-filled.

    Messages outside [start, end] are not counted.
    """
    stamps = _as_utc_series(timestamps)
    if stamps.empty:
        raise ValueError("no timestamps to count")
    first = _utc(start if start is not None else stamps.min()).floor("h")
    last = _utc(end if end is not None else stamps.max()).floor("h")
    if last < first:
        raise ValueError(f"end {last} is before start {first}")
    hours = pd.date_range(first, last, freq="h").astype("datetime64[ns, UTC]")
    counts = stamps.dt.floor("h").value_counts().reindex(hours, fill_value=0)
    return pd.DataFrame({"timestamp": hours, "count": counts.to_numpy().astype("int64")})


def find_gaps(timestamps: pd.Series, min_gap_hours: int = 48) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """(last message before, first message after) for each silence of at least `min_gap_hours`."""
    stamps = _as_utc_series(timestamps).sort_values().reset_index(drop=True)
    if len(stamps) < 2:
        return []
    long = np.flatnonzero((stamps.diff() >= pd.Timedelta(hours=min_gap_hours)).to_numpy())
    return [(stamps[i - 1], stamps[i]) for i in long]


def check_series(series: pd.DataFrame) -> None:
    missing = {"timestamp", "count"} - set(series.columns)
    if missing:
        raise ValueError(f"the series needs columns timestamp and count; missing {sorted(missing)}")
    if series["count"].isna().any():
        raise ValueError("the series has missing counts; build it with hourly_counts")


def with_features(counts: pd.DataFrame) -> pd.DataFrame:
    """The columns compared for drift (the hourly level and its smoothed daily level), with the
    hour each row is (shown as the windows compared, not compared itself)."""
    features = pd.DataFrame({"timestamp": counts["timestamp"].to_numpy(), "count": counts["count"].astype(float).to_numpy()})
    features["rolling_24h"] = features["count"].rolling(24, min_periods=1).mean()
    return features


def hours_needed(horizon: int = DAY, current_hours: int = WEEK, folds: int = 3, period: int = DAY) -> int:
    """Hours of history before a run can compare and train: drift needs the current window and a
    day of reference before it, the backtest `folds` horizons after a season."""
    return max(current_hours + DAY, horizon * folds + period)


def split_recent(
    counts: pd.DataFrame, current_hours: int = 168, reference_hours: int = 672
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Drift features of the most recent `current_hours` and of the `reference_hours` before them.

    A series shorter than the current window and a day of reference has nothing to compare yet:
    the reference comes back empty (drift then reports no reference) and the current window
    holds what there is.
    """
    features = with_features(counts)
    if len(counts) < current_hours + DAY:
        return features.iloc[0:0].reset_index(drop=True), features.reset_index(drop=True)
    current = features.iloc[-current_hours:].reset_index(drop=True)
    reference = features.iloc[max(0, len(features) - current_hours - reference_hours) : -current_hours]
    return reference.reset_index(drop=True), current
