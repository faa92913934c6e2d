"""Chat series steps: hourly message counts with no gaps, and the reference/current split for drift."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from zenml import log_metadata, step
from zenml.logger import get_logger

import materializers.chat_forecast  # noqa: F401  (registers its materializers)
from stackpipes.chat_forecast.series import WindowHours

logger = get_logger(__name__)


@step
def hourly_series(
    history: pd.DataFrame, warn_gap_hours: WindowHours = 48
) -> tuple[Annotated[pd.DataFrame, "hourly_counts"], Annotated[int, "series_hours"]]:
    """Messages per hour from the first to the last message hour; silent hours count zero.

    Long silences are legitimate (a quiet chat) but worth knowing: each gap of at least
    `warn_gap_hours` is logged as a warning and recorded in the step's metadata.
    """
    from stackpipes.chat_forecast.series import find_gaps, hourly_counts

    counts = hourly_counts(history["timestamp"])
    gaps = find_gaps(history["timestamp"], min_gap_hours=warn_gap_hours)
    for start, end in gaps:
        logger.warning("No messages for %.1f days: %s to %s", (end - start).total_seconds() / 86400, start, end)
    log_metadata({"hours": len(counts), "messages": int(counts["count"].sum()), "gaps": len(gaps)})
    return counts, len(counts)


@step
def split_recent(
    hourly_counts: pd.DataFrame, current_hours: WindowHours = 168, reference_hours: WindowHours = 672
) -> tuple[Annotated[pd.DataFrame, "drift_reference"], Annotated[pd.DataFrame, "drift_current"]]:
    """The most recent `current_hours` against the `reference_hours` before them."""
    from stackpipes.chat_forecast.series import split_recent as split

    reference, current = split(hourly_counts, current_hours, reference_hours)
    return reference, current
