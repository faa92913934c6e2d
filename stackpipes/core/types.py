"""Typed results every pipeline shares across step boundaries: checks, drift, scores, decisions.

They are pydantic models so that they serialise to JSON, show their fields in the dashboard and
are checked on load. Each one has a materializer in `materializers/` that adds an HTML view.
"""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any, Optional

from pydantic import BaseModel, Field


class ExpectationOutcome(BaseModel):
    """One Great Expectations expectation and what it found."""

    expectation: str
    column: Optional[str] = None
    kwargs: dict[str, Any] = Field(default_factory=dict)
    success: bool
    observed_value: Any = None
    unexpected_count: Optional[int] = None
    unexpected_percent: Optional[float] = None
    unexpected_sample: list[Any] = Field(default_factory=list)
    exception: Optional[str] = None

    def describe(self) -> str:
        """One human line: which expectation, on which column, what was found."""
        target = f" on '{self.column}'" if self.column else ""
        if self.exception:
            return f"{self.expectation}{target}: raised {self.exception}"
        found = []
        if self.unexpected_count:
            found.append(f"{self.unexpected_count} unexpected")
        if self.unexpected_sample:
            found.append(f"e.g. {self.unexpected_sample[:5]}")
        if self.observed_value is not None and not self.unexpected_count:
            found.append(f"observed {self.observed_value!r}")
        detail = f" ({'; '.join(found)})" if found else ""
        return f"{self.expectation}{target}{detail}"


class ValidationReport(BaseModel):
    """The outcome of validating one dataset against one expectation suite."""

    suite: str
    dataset: str
    rows: int
    success: bool
    outcomes: list[ExpectationOutcome]
    validated_at: datetime

    @property
    def failed(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success]

    def summary(self) -> str:
        """Readable text used in errors and logs."""
        head = (
            f"Data check '{self.suite}' on '{self.dataset}' ({self.rows} rows): "
            f"{len(self.outcomes) - len(self.failed)}/{len(self.outcomes)} expectations passed"
        )
        if self.success:
            return head
        lines = [head, "Failed expectations:"]
        lines += [f"  - {o.describe()}" for o in self.failed]
        return "\n".join(lines)

    def to_html(self) -> str:
        rows = []
        for o in self.outcomes:
            colour = "#e7f6e7" if o.success else "#fde8e8"
            rows.append(
                f"<tr style='background:{colour}'><td>{'PASS' if o.success else 'FAIL'}</td>"
                f"<td>{html.escape(o.expectation)}</td><td>{html.escape(str(o.column or ''))}</td>"
                f"<td>{html.escape(str(o.unexpected_count if o.unexpected_count is not None else ''))}</td>"
                f"<td>{html.escape(str(o.unexpected_sample[:10] or o.observed_value or ''))}</td>"
                f"<td>{html.escape(o.exception or '')}</td></tr>"
            )
        status = "passed" if self.success else "FAILED"
        return (
            "<html><body style='font-family:sans-serif'>"
            f"<h3>Data check '{html.escape(self.suite)}' on '{html.escape(self.dataset)}': {status}</h3>"
            f"<p>{self.rows} rows, validated at {self.validated_at.isoformat()}</p>"
            "<table border='1' cellpadding='4' style='border-collapse:collapse'>"
            "<tr><th>result</th><th>expectation</th><th>column</th><th>unexpected</th>"
            "<th>observed / sample</th><th>error</th></tr>"
            + "".join(rows)
            + "</table></body></html>"
        )


class ColumnDrift(BaseModel):
    """Drift of one column: the test's score, its threshold and the verdict."""

    column: str
    method: str
    score: float
    threshold: float
    drifted: bool


class DriftSummary(BaseModel):
    """What an Evidently drift report concluded, in a form a decision can use."""

    dataset_drift: bool
    drifted_share: float
    drifted_columns: int
    total_columns: int
    columns: dict[str, ColumnDrift]
    reference_rows: int
    current_rows: int
    report_path: Optional[str] = None
    note: str = ""  # e.g. why nothing was compared (no reference data yet)

    def to_html(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(c.column)}</td><td>{html.escape(c.method)}</td>"
            f"<td>{c.score:.4g}</td><td>{c.threshold:.4g}</td><td>{'yes' if c.drifted else 'no'}</td></tr>"
            for c in self.columns.values()
        )
        return (
            "<html><body style='font-family:sans-serif'>"
            f"<h3>Drift: {'DATASET DRIFT' if self.dataset_drift else 'no dataset drift'}</h3>"
            f"<p>{self.drifted_columns}/{self.total_columns} columns drifted "
            f"(share {self.drifted_share:.2f}); reference {self.reference_rows} rows, "
            f"current {self.current_rows} rows.</p>"
            + (f"<p>{html.escape(self.note)}</p>" if self.note else "")
            + f"<p>Full report: {html.escape(self.report_path or 'not saved')}</p>"
            "<table border='1' cellpadding='4' style='border-collapse:collapse'>"
            "<tr><th>column</th><th>method</th><th>score</th><th>threshold</th><th>drifted</th></tr>"
            f"{rows}</table></body></html>"
        )


class MetricScore(BaseModel):
    """A stored prediction scored against what actually happened."""

    metric: str
    value: Optional[float] = None
    points: int = 0
    status: str  # "scored" | "no_prediction" | "no_overlap"
    detail: str = ""
    prediction_ref: Optional[str] = None


class ProductionInfo(BaseModel):
    """What the registry knows about the current production model, if any."""

    exists: bool
    model_name: str
    version: Optional[str] = None
    model_artifact_id: Optional[str] = None
    metric: Optional[float] = None
    trained_at: Optional[datetime] = None
    last_trained_at: Optional[datetime] = None  # the newest training of any version, promoted or not


class RetrainDecision(BaseModel):
    """Whether to retrain, and every reason that led there."""

    retrain: bool
    reasons: list[str]
    evaluated_at: datetime
    inputs: dict[str, Any] = Field(default_factory=dict)
    # fewer samples than training needs: not an error, the run says how far the history has come
    collecting: bool = False

    @property
    def status(self) -> str:
        """One word for run metadata and listings: retrain, keep or collecting."""
        return "collecting" if self.collecting else "retrain" if self.retrain else "keep"

    def to_html(self) -> str:
        items = "".join(f"<li>{html.escape(r)}</li>" for r in self.reasons)
        inputs = "".join(
            f"<tr><td>{html.escape(k)}</td><td>{html.escape(str(v))}</td></tr>"
            for k, v in self.inputs.items()
        )
        return (
            "<html><body style='font-family:sans-serif'>"
            f"<h3>Retrain: {'YES' if self.retrain else 'no'}"
            f"{' (collecting history)' if self.collecting else ''}</h3><ul>{items}</ul>"
            f"<table border='1' cellpadding='4' style='border-collapse:collapse'>{inputs}</table>"
            "</body></html>"
        )


class ModelEvaluation(BaseModel):
    """A freshly trained model and the production model scored on the same holdout data."""

    metric: str
    higher_is_better: bool = False
    retrained: bool
    challenger: Optional[float] = None
    production: Optional[float] = None
    holdout: str = ""
    tracking_model_uri: Optional[str] = None  # e.g. runs:/<id>/model, for the MLflow registry


class PromotionResult(BaseModel):
    """Whether a trained model became the production model, and why."""

    promoted: bool
    reason: str
    metric: str
    challenger: Optional[float] = None
    production: Optional[float] = None
    model_version: Optional[str] = None
    registry_version: Optional[str] = None

    def to_html(self) -> str:
        def fmt(value: Optional[float]) -> str:
            return "n/a" if value is None else f"{value:.4g}"

        return (
            "<html><body style='font-family:sans-serif'>"
            f"<h3>{'Promoted to production' if self.promoted else 'Not promoted'}</h3>"
            f"<p>{html.escape(self.reason)}</p>"
            f"<p>{html.escape(self.metric)}: challenger {fmt(self.challenger)}, "
            f"production {fmt(self.production)}</p>"
            f"<p>model version {html.escape(str(self.model_version))}, "
            f"registry version {html.escape(str(self.registry_version))}</p></body></html>"
        )
