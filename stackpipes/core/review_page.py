"""One review page per run: checks, drift, decision, challenger vs production, promotion, products.

Written to reports/<pipeline>/<run>/review.html and kept as the run's `review_page` artifact. It
is one self-contained, script-free file: pictures are inlined, other pages are framed from
`srcdoc` with `sandbox`, and nothing is fetched, so it opens offline and inside the dashboard.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from stackpipes.core import views
from stackpipes.core.types import (
    DriftSummary,
    ModelEvaluation,
    PromotionResult,
    RetrainDecision,
    ValidationReport,
)


@dataclass
class Product:
    """Something the system made, shown as the dashboard shows it: a picture or a page."""

    name: str
    kind: str  # "image" | "html" | "text"
    value: Any


@dataclass
class RunReview:
    pipeline: str
    run: str
    status: str = ""
    checks: list[tuple[str, ValidationReport]] = field(default_factory=list)
    drift: Optional[DriftSummary] = None
    decision: Optional[RetrainDecision] = None
    evaluation: Optional[ModelEvaluation] = None
    promotion: Optional[PromotionResult] = None
    products: list[Product] = field(default_factory=list)
    review_state: str = "auto"
    dashboard_url: Optional[str] = None


def _report_link(review: RunReview) -> str:
    """The full Evidently report, linked relative to this page (both under reports/, so the link
    holds wherever the folder is copied; a cached drift step's report lies in its own run's folder)."""
    import os

    from stackpipes.platform.env import run_reports_dir

    path = str(review.drift.report_path)  # type: ignore[union-attr]
    relative = Path(os.path.relpath(path, run_reports_dir(review.pipeline, review.run))).as_posix()
    return (f"<p class='muted'>the run's full Evidently report (interactive, opens in a browser): "
            f"<a href=\"{views.esc(relative)}\">{views.esc(Path(path).name)}</a> ({views.esc(path)})</p>")


def _section(title: str, body: str) -> str:
    return f"<section><h2>{views.esc(title)}</h2>{body}</section>"


def _framed(page: str, height: int = 420) -> str:
    """Another page inside this one, as the dashboard frames it: no scripts, nothing fetched."""
    return (f"<iframe sandbox='' style='width:100%;height:{height}px;border:1px solid #ddd' "
            f"srcdoc=\"{views.esc(page)}\"></iframe>")


def render(review: RunReview) -> str:
    head = (f"<h1>Review: {views.esc(review.pipeline)} run {views.esc(review.run)}</h1>"
            f"<p>status {views.esc(review.status)}; review: <b>{views.esc(review.review_state)}</b></p>")
    if review.dashboard_url:
        head += f"<p class='muted'>dashboard: {views.esc(review.dashboard_url)}</p>"
    parts = [head]
    if review.checks:
        rows = [(step, r.dataset, r.suite, r.rows, "passed" if r.success else "FAILED",
                 "; ".join(o.describe() for o in r.failed)) for step, r in review.checks]
        parts.append(_section("Data checks", views.table(
            ["step", "dataset", "suite", "rows", "result", "failed expectations"], rows,
            shade=["pass" if r.success else "fail" for _, r in review.checks])))
    if review.drift is not None:
        report = _report_link(review) if review.drift.report_path else ""
        parts.append(_section("Drift", _framed(review.drift.to_html(), 620) + report))
    if review.decision is not None:
        parts.append(_section("Retrain decision", _framed(review.decision.to_html(), 460)))
    if review.evaluation is not None and review.evaluation.retrained:
        e = review.evaluation
        parts.append(_section("Challenger vs production", views.compare_bars(e.metric, e.challenger, e.production)
                              + views.table(["", "value"], [("metric", e.metric), ("holdout", e.holdout),
                                                            ("challenger", views.fmt(e.challenger)),
                                                            ("production", views.fmt(e.production))])))
    if review.promotion is not None:
        parts.append(_section("Promotion", _framed(review.promotion.to_html(), 260)))
    for product in review.products:
        if product.kind == "image":
            data = base64.b64encode(product.value).decode("ascii")
            body = f"<img alt='{views.esc(product.name)}' style='max-width:100%' src='data:image/png;base64,{data}'>"
        elif product.kind == "html":
            body = _framed(product.value, 640)
        else:
            body = f"<pre style='white-space:pre-wrap'>{views.esc(product.value)}</pre>"
        parts.append(_section(f"Produced: {product.name}", body))
    return views.page(f"Review {review.pipeline} {review.run}", "".join(parts))


def run_products(run: Any, names: list[str]) -> list[Product]:
    """The named artifacts of `run` as the dashboard shows them: PNG pictures, script-free pages
    and Markdown (shown as its text)."""
    from zenml.artifacts.utils import load_artifact_visualization
    from zenml.enums import VisualizationType

    found: list[Product] = []
    for step_run in run.steps.values():
        for name, versions in step_run.outputs.items():
            if name not in names:
                continue
            version = versions[0]
            for index, _ in enumerate(version.visualizations or []):
                try:
                    shown = load_artifact_visualization(version, index=index)
                except Exception:  # a product that cannot be shown is left out, not the page
                    continue
                if shown.type == VisualizationType.IMAGE and isinstance(shown.value, bytes):
                    found.append(Product(name, "image", shown.value))
                elif shown.type == VisualizationType.HTML and "<script" not in str(shown.value).lower():
                    found.append(Product(name, "html", str(shown.value)))
                elif shown.type == VisualizationType.MARKDOWN:
                    found.append(Product(name, "text", str(shown.value)))
    return found
