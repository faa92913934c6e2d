"""The shared steps every pipeline uses: data checks, drift, the retrain decision, the registry."""

from steps.core.checks import validate_dataset
from steps.core.drift import detect_drift
from steps.core.registry import fetch_production_model, promote_if_better
from steps.core.retrain import decide_retrain
from steps.core.review import write_review_page

__all__ = ["decide_retrain", "detect_drift", "fetch_production_model", "promote_if_better", "validate_dataset", "write_review_page"]
