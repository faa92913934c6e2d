"""Shared drift step: an Evidently report between reference and current data, and its summary."""

from __future__ import annotations

from typing import Annotated, Optional

import pandas as pd
from pydantic import Field
from zenml import log_metadata, step
from zenml.types import HTMLString

import materializers.core  # noqa: F401  (registers the shared materializers)
from stackpipes.core.types import DriftSummary
from stackpipes.platform.bounds import MAX_COLUMNS, items
from stackpipes.platform.env import reports_dir


@step
def detect_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    report_name: str,
    numerical: Optional[items(MAX_COLUMNS)] = None,
    categorical: Optional[items(MAX_COLUMNS)] = None,
    drift_share: Annotated[float, Field(ge=0, le=1)] = 0.5,
    method: Optional[str] = None,
    threshold: Optional[float] = None,
    text: Optional[items(MAX_COLUMNS)] = None,
    text_threshold: Optional[float] = None,
) -> tuple[Annotated[DriftSummary, "drift_summary"], Annotated[HTMLString, "drift_report"]]:
    """Compare `current` with `reference`; the HTML report shows in the dashboard and in reports/.

    `method`/`threshold` pick Evidently's per-column test (default: its choice by column type and
    size, e.g. K-S p-value < 0.05); `text` columns get Evidently's text content drift (a
    reference-vs-current classifier, drift at ROC AUC >= `text_threshold`, default 0.55);
    `drift_share` is the share of drifted columns that counts as dataset drift. An empty
    `reference` (nothing to compare with yet, e.g. before the first training) gives a summary
    with no drift and says so.
    """
    from stackpipes.core.drift import TEXT_THRESHOLD, drift_report

    if reference.empty:
        summary = DriftSummary(
            dataset_drift=False, drifted_share=0.0, drifted_columns=0, total_columns=0, columns={},
            reference_rows=0, current_rows=len(current), note="no reference data yet: nothing to compare",
        )
        log_metadata({"dataset_drift": False, "drifted_share": 0.0, "note": summary.note})
        return summary, HTMLString(summary.to_html())

    html_path = reports_dir() / "drift" / f"{report_name}.html"
    html_path.parent.mkdir(parents=True, exist_ok=True)
    summary = drift_report(
        reference,
        current,
        numerical=numerical,
        categorical=categorical,
        drift_share=drift_share,
        html_path=html_path,
        method=method,
        threshold=threshold,
        text=text,
        text_threshold=TEXT_THRESHOLD if text_threshold is None else text_threshold,
    )
    summary.report_path = str(html_path)
    log_metadata(
        {"dataset_drift": summary.dataset_drift, "drifted_share": summary.drifted_share}
    )
    return summary, HTMLString(html_path.read_text(encoding="utf-8"))
