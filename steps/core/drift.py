"""Shared drift step: an Evidently report between reference and current data, and its summary."""

from __future__ import annotations

from typing import Annotated, Optional

import pandas as pd
from pydantic import Field
from zenml import get_step_context, log_metadata, step

import materializers.core  # noqa: F401  (registers the shared materializers)
from stackpipes.core.types import DriftSummary, EvidentlyReport
from stackpipes.platform.bounds import MAX_COLUMNS, items
from stackpipes.platform.env import run_reports_dir


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
    time_column: Optional[str] = "timestamp",
) -> tuple[Annotated[DriftSummary, "drift_summary"], Annotated[EvidentlyReport, "drift_report"]]:
    """Compare `current` with `reference`. The summary renders in the dashboard (per-column scores
    against thresholds, the two distributions, the windows compared); the full Evidently report is
    kept per run under reports/<pipeline>/<run>/ and as the second view of `drift_report`.

    `method`/`threshold` pick Evidently's per-column test (default: its choice by column type and
    size, e.g. K-S p-value < 0.05); `text` columns get Evidently's text content drift (a
    reference-vs-current classifier, drift at ROC AUC >= `text_threshold`, default 0.55);
    `drift_share` is the share of drifted columns that counts as dataset drift; `time_column`
    (when the frames have it) gives the windows compared. An empty `reference` (nothing to compare
    with yet, e.g. before the first training) gives a summary with no drift and says so.
    """
    from stackpipes.core.drift import TEXT_THRESHOLD, drift_report, window

    context = get_step_context()
    pipeline, run = context.pipeline.name, context.pipeline_run.name
    windows = {"reference_window": window(reference, time_column), "current_window": window(current, time_column)}
    title = f"{pipeline} run {run}"
    if windows["current_window"]:
        title += f": current {windows['current_window']}" + (
            f" vs reference {windows['reference_window']}" if windows["reference_window"] else "")
    if reference.empty:
        summary = DriftSummary(
            dataset_drift=False, drifted_share=0.0, drifted_columns=0, total_columns=0, columns={},
            reference_rows=0, current_rows=len(current), note="no reference data yet: nothing to compare",
            title=title, **windows,
        )
        log_metadata({"dataset_drift": False, "drifted_share": 0.0, "note": summary.note})
        page = summary.to_html()
        return summary, EvidentlyReport(title=title, html=page, summary_html=page)

    html_path = run_reports_dir(pipeline, run) / f"{report_name}.html"
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
    summary = summary.model_copy(update={"title": title, "report_path": str(html_path), **windows})
    full = _titled(html_path.read_text(encoding="utf-8"), title)
    html_path.write_text(full, encoding="utf-8")
    log_metadata({
        "dataset_drift": summary.dataset_drift, "drifted_share": summary.drifted_share,
        "drifted_columns": ", ".join(c.column for c in summary.columns.values() if c.drifted) or "none",
        **{f"drift_score_{c.column}": c.score for c in summary.columns.values()},
        "report": str(html_path), **{k: v for k, v in windows.items() if v},
    })
    return summary, EvidentlyReport(title=title, html=full, summary_html=summary.to_html(), path=str(html_path))


def _titled(page: str, title: str) -> str:
    """The report's page with `title` as its document title (the name a browser tab shows)."""
    import html
    import re

    tag = f"<title>{html.escape(title)}</title>"
    if re.search(r"<title>.*?</title>", page, flags=re.S):
        return re.sub(r"<title>.*?</title>", lambda _: tag, page, count=1, flags=re.S)
    return page.replace("<head>", "<head>" + tag, 1)
