"""Typed results every pipeline shares across step boundaries: checks, drift, scores, decisions.

They are pydantic models so that they serialise to JSON, show their fields in the dashboard and
are checked on load. Each one has a materializer in `materializers/` that adds an HTML view.
"""

from __future__ import annotations

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
        from stackpipes.core import views

        status = "passed" if self.success else "FAILED"
        failed = "".join(f"<li>{views.esc(o.describe())}</li>" for o in self.failed)
        rows = [("PASS" if o.success else "FAIL", o.expectation, o.column or "",
                 "" if o.unexpected_count is None else o.unexpected_count,
                 o.unexpected_sample[:10] or ("" if o.observed_value is None else o.observed_value), o.exception or "")
                for o in self.outcomes]
        body = (
            f"<h3>Data check '{views.esc(self.suite)}' on '{views.esc(self.dataset)}': "
            f"<span class='verdict'>{status}</span></h3>"
            f"<p>{self.rows} rows; {len(self.outcomes) - len(self.failed)}/{len(self.outcomes)} expectations "
            f"passed; validated at {self.validated_at:%Y-%m-%d %H:%M:%S} UTC</p>"
            + (f"<p>Failed:</p><ul>{failed}</ul>" if failed else "")
            + views.table(["result", "expectation", "column", "unexpected", "observed / sample", "error"], rows,
                          shade=["pass" if o.success else "fail" for o in self.outcomes])
        )
        return views.page(f"Data check {self.suite} on {self.dataset}", body)


class ColumnDrift(BaseModel):
    """Drift of one column: the test's score, its threshold and the verdict."""

    column: str
    method: str
    score: float
    threshold: float
    drifted: bool
    # the two distributions, as shares per bin over shared `bin_edges` (numerical columns)
    bin_edges: list[float] = Field(default_factory=list)
    reference_shares: list[float] = Field(default_factory=list)
    current_shares: list[float] = Field(default_factory=list)


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
    reference_window: Optional[str] = None  # e.g. "2026-10-01 00:00 to 2026-10-28 23:00"
    current_window: Optional[str] = None
    title: str = ""  # what was compared, e.g. "chat_forecast run X: hourly counts"

    @property
    def verdict(self) -> str:
        """One line: the drifted share, the columns that drifted, the windows."""
        if not self.total_columns:
            return f"no drift measured: {self.note or 'nothing compared'}"
        names = [c.column for c in self.columns.values() if c.drifted]
        windows = ""
        if self.reference_window and self.current_window:
            windows = f"; current {self.current_window} vs reference {self.reference_window}"
        return (f"{'DATASET DRIFT' if self.dataset_drift else 'no dataset drift'}: {self.drifted_columns}/"
                f"{self.total_columns} columns drifted (share {self.drifted_share:.2f})"
                + (f": {', '.join(names)}" if names else "") + windows)

    def to_html(self) -> str:
        from stackpipes.core import views

        body = [f"<h3>Drift{': ' + views.esc(self.title) if self.title else ''}</h3>",
                f"<p class='verdict'>{views.esc(self.verdict)}</p>",
                f"<p>reference: {self.reference_rows} rows"
                + (f", {views.esc(self.reference_window)}" if self.reference_window else "")
                + f"<br>current: {self.current_rows} rows"
                + (f", {views.esc(self.current_window)}" if self.current_window else "") + "</p>"]
        if self.note:
            body.append(f"<p>{views.esc(self.note)}</p>")
        columns = list(self.columns.values())
        body.append(views.score_bars([(c.column, c.score, c.threshold, c.drifted) for c in columns],
                                     "per-column drift score against its threshold"))
        body.append(views.table(
            ["column", "method", "score", "threshold", "drifted"],
            [(c.column, c.method, f"{c.score:.4g}", f"{c.threshold:.4g}", "yes" if c.drifted else "no") for c in columns],
            shade=["yes" if c.drifted else "no" for c in columns],
        ))
        for c in columns:
            body.append(views.histogram(c.bin_edges, c.reference_shares, c.current_shares,
                                        f"{c.column}: reference vs current (share of rows per bin)"))
        if self.report_path:
            body.append(f"<p class='muted'>Full Evidently report (interactive, opens in a browser): "
                        f"{views.esc(self.report_path)}</p>")
        return views.page(f"Drift {self.title}".strip(), "".join(body))


class EvidentlyReport(BaseModel):
    """A full Evidently report (a page of scripts: it opens in a browser, not inside the dashboard's
    sandboxed frame) with the script-free summary the dashboard shows first."""

    title: str
    html: str = Field(repr=False)
    summary_html: str = Field(repr=False)
    path: Optional[str] = None  # the copy under reports/


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
    metric_name: Optional[str] = None
    trained_at: Optional[datetime] = None
    last_trained_at: Optional[datetime] = None  # the newest training of any version, promoted or not


class RuleOutcome(BaseModel):
    """One rule of the retrain policy and what it said: retrain, hold (back), pass or n/a."""

    rule: str
    outcome: str
    detail: str


class RetrainDecision(BaseModel):
    """Whether to retrain, the reasons that decided, and every rule's outcome (overruled ones too)."""

    retrain: bool
    reasons: list[str]
    evaluated_at: datetime
    inputs: dict[str, Any] = Field(default_factory=dict)
    # fewer samples than training needs: not an error, the run says how far the history has come
    collecting: bool = False
    rules: list[RuleOutcome] = Field(default_factory=list)
    awaiting_review: bool = False  # a retrain was requested and waits for a person (review: retrain)

    @property
    def status(self) -> str:
        """One word for run metadata and listings: retrain, keep, collecting or awaiting-review."""
        if self.collecting:
            return "collecting"
        if self.awaiting_review:
            return "awaiting-review"
        return "retrain" if self.retrain else "keep"

    def to_html(self) -> str:
        from stackpipes.core import views

        verdict = "collecting history" if self.collecting else "retrain" if self.retrain else "no retrain"
        reasons = "".join(f"<li>{views.esc(r)}</li>" for r in self.reasons)
        body = (f"<h3>Retrain decision: <span class='verdict'>{verdict}</span></h3><ul>{reasons}</ul>"
                + (("<p>Every rule of the policy:</p>" + views.table(
                    ["rule", "outcome", "detail"], [(r.rule, r.outcome, r.detail) for r in self.rules],
                    shade=[r.outcome for r in self.rules])) if self.rules else "")
                + "<p>Inputs:</p>" + views.table(["input", "value"], list(self.inputs.items()))
                + f"<p class='muted'>evaluated at {self.evaluated_at:%Y-%m-%d %H:%M:%S} UTC</p>")
        return views.page(f"Retrain decision: {verdict}", body)


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
    awaiting_review: bool = False  # beat production, waits in staging for an approval (review: promotion)

    def to_html(self) -> str:
        from stackpipes.core import views

        verdict = ("Promoted to production" if self.promoted else "Awaiting review (staging)" if self.awaiting_review
                   else "Not promoted")
        body = (f"<h3 class='verdict'>{verdict}</h3><p>{views.esc(self.reason)}</p>"
                + views.compare_bars(self.metric, self.challenger, self.production)
                + views.table(["", "value"], [
                    (f"{self.metric}: challenger", views.fmt(self.challenger)),
                    (f"{self.metric}: production", views.fmt(self.production)),
                    ("ZenML model version", self.model_version or "n/a"),
                    ("MLflow registry version", self.registry_version or "n/a")]))
        return views.page(verdict, body)
