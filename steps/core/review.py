"""The shared review-page step: one self-contained page per run, from what the run stored."""

from __future__ import annotations

from typing import Annotated, Optional

from zenml import get_step_context, log_metadata, step
from zenml.logger import get_logger
from zenml.types import HTMLString

import materializers.core  # noqa: F401  (registers the shared materializers)
from stackpipes.core.types import PromotionResult
from stackpipes.platform.bounds import items

logger = get_logger(__name__)


@step(enable_cache=False)
def write_review_page(
    promotion: Optional[PromotionResult], products: Optional[items(20)] = None
) -> Annotated[HTMLString, "review_page"]:
    """Data checks, drift, the decision, challenger vs production, the promotion (a system that
    promotes no model passes none) and the system's
    `products` (artifact names: their pictures and script-free pages) of this run, in
    reports/<pipeline>/<run>/review.html and as this artifact. Runs last: it reads the run's steps."""
    from zenml.client import Client

    from stackpipes.core.review_page import RunReview, render, run_products
    from stackpipes.platform.env import run_reports_dir
    from stackpipes.platform.services.zenml_server import dashboard_run_url

    context = get_step_context()
    run = Client().get_pipeline_run(context.pipeline_run.id)
    review = RunReview(pipeline=context.pipeline.name, run=run.name, status="completed", promotion=promotion)
    for name, step_run in run.steps.items():
        outputs = step_run.outputs
        if "validation_report" in outputs:
            review.checks.append((name, outputs["validation_report"][0].load()))
        if "drift_summary" in outputs:
            review.drift = outputs["drift_summary"][0].load()
        if "retrain_decision" in outputs:
            review.decision = outputs["retrain_decision"][0].load()
        if "model_evaluation" in outputs:
            review.evaluation = outputs["model_evaluation"][0].load()
    review.products = run_products(run, products or [])
    awaiting = promotion is not None and promotion.awaiting_review
    if awaiting or (review.decision is not None and review.decision.awaiting_review):
        review.review_state = "awaiting review (python run.py review show " + run.name + ")"
    review.dashboard_url = dashboard_run_url(run.project.name, run.id)
    page = render(review)
    path = run_reports_dir(review.pipeline, run.name) / "review.html"
    path.write_text(page, encoding="utf-8")
    log_metadata({"review_page": str(path)})
    logger.info("Review page: %s", path)
    return HTMLString(page)
