"""Shared drift step: an Evidently report between reference and current data, and its summary."""

from __future__ import annotations

from typing import Annotated, Optional

import pandas as pd
from pydantic import Field
from zenml import get_step_context, log_metadata, step
from zenml.logger import get_logger

import materializers.core  # noqa: F401  (registers the shared materializers)
from stackpipes.core.types import DriftSummary, EvidentlyReport
from stackpipes.platform.bounds import MAX_COLUMNS, items
from stackpipes.platform.env import run_reports_dir

logger = get_logger(__name__)


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
    with yet, e.g. before the first training), or fewer than `MIN_ROWS` rows on either side, gives
    a summary with no drift that says why.
    """
    from stackpipes.core.drift import MIN_ROWS, TEXT_THRESHOLD, drift_report, window

    context = get_step_context()
    pipeline, run = context.pipeline.name, context.pipeline_run.name
    windows = {"reference_window": window(reference, time_column), "current_window": window(current, time_column)}
    title = f"{pipeline} run {run}"  # the summary shows the windows itself; the full report's title names them
    full_title = title + (f": current {windows['current_window']}" + (
        f" vs reference {windows['reference_window']}" if windows["reference_window"] else "")
        if windows["current_window"] else "")
    note = None
    if reference.empty:
        note = "no reference data yet: nothing to compare"
    elif min(len(reference), len(current)) < MIN_ROWS:
        # A short lecture or a quiet day is not an error; too few rows say nothing about drift.
        note = (f"too few rows to compare: {len(reference)} reference, {len(current)} current "
                f"(at least {MIN_ROWS} each)")
    if note is not None:
        summary = DriftSummary(
            dataset_drift=False, drifted_share=0.0, drifted_columns=0, total_columns=0, columns={},
            reference_rows=len(reference), current_rows=len(current), note=note, title=title, **windows,
        )
        log_metadata({"dataset_drift": False, "drifted_share": 0.0, "note": summary.note})
        page = summary.to_html()
        return summary, EvidentlyReport(title=title, html=page, summary_html=page)

    html_path = run_reports_dir(pipeline, run) / f"{report_name}.html"
    from stackpipes.core.drift_history import run_tags

    model = _model_of(context)
    tags, metadata = run_tags(pipeline, run, str(context.pipeline_run.id), str(model.version) if model else None)
    snapshots: list = []
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
        tags=tags,
        metadata=metadata,
        on_snapshot=snapshots.append,
    )
    _add_to_history(snapshots[0], pipeline, run, [c for c in summary.columns if c in (numerical or [])])
    summary = summary.model_copy(update={"title": title, "report_path": str(html_path), **windows})
    full = _titled(html_path.read_text(encoding="utf-8"), full_title)
    html_path.write_text(full, encoding="utf-8")
    log_metadata({
        "dataset_drift": summary.dataset_drift, "drifted_share": summary.drifted_share,
        "drifted_columns": ", ".join(c.column for c in summary.columns.values() if c.drifted) or "none",
        **{f"drift_score_{c.column}": c.score for c in summary.columns.values()},
        "report": str(html_path), **{k: v for k, v in windows.items() if v},
    })
    return summary, EvidentlyReport(title=full_title, html=full, summary_html=summary.to_html(), path=str(html_path))


def _model_of(context):
    """The run's model version, or None for a pipeline that keeps no model (lecture_summary)."""
    from zenml.exceptions import StepContextError

    try:
        return context.model
    except StepContextError:
        return None


def _add_to_history(snapshot, pipeline: str, run: str, columns: list[str]) -> None:
    """This executed drift step's snapshot into the Evidently workspace (drift over time); a
    workspace that cannot be written is a warning: the run's own drift result stands."""
    from stackpipes.core.drift_history import add_drift_snapshot

    try:
        project_id, snapshot_id = add_drift_snapshot(snapshot, pipeline, run, columns)
    except Exception as exc:
        logger.warning("Drift history: could not add the snapshot to the Evidently workspace: %s", exc)
        return
    log_metadata({"evidently_project": project_id, "evidently_snapshot": snapshot_id})


def _titled(page: str, title: str) -> str:
    """The report's page with `title` as its document title (the name a browser tab shows)."""
    import html
    import re

    tag = f"<title>{html.escape(title)}</title>"
    if re.search(r"<title>.*?</title>", page, flags=re.S):
        return re.sub(r"<title>.*?</title>", lambda _: tag, page, count=1, flags=re.S)
    return page.replace("<head>", "<head>" + tag, 1)
