"""Shared data check: validate any DataFrame against a Great Expectations suite (YAML or code)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Union

import pandas as pd
from zenml import log_metadata, save_artifact, step
from zenml.logger import get_logger

import materializers.core  # noqa: F401  (registers the shared materializers)
from stackpipes.core.types import ValidationReport
from stackpipes.platform.env import PROJECT_ROOT, reports_dir

logger = get_logger(__name__)


def resolve_suite(suite: Union[str, dict[str, Any]]):
    """A suite parameter is a YAML path (relative to the project root) or an inline dict."""
    from stackpipes.core.checks import load_suite

    if isinstance(suite, str):
        path = Path(suite)
        return load_suite(path if path.is_absolute() else PROJECT_ROOT / path)
    return load_suite(suite)


@step
def validate_dataset(
    dataset: pd.DataFrame,
    suite: Union[str, dict[str, Any]],
    dataset_name: str,
    fail_on_error: bool = True,
) -> Annotated[ValidationReport, "validation_report"]:
    """Validate `dataset`; fail the run with a readable summary when it breaks the contract.

    The report is kept even when the run fails: it is saved as an artifact of this step and as
    HTML under reports/validation/, and the error names both.
    """
    from stackpipes.core.checks import DataValidationError, validate_dataframe

    report = validate_dataframe(dataset, resolve_suite(suite), dataset_name)
    log_metadata({"suite": report.suite, "success": report.success, "failed": len(report.failed)})
    if report.success:
        logger.info(report.summary())
        return report
    html_path = reports_dir() / "validation" / f"{dataset_name}_{report.suite}_failed.html"
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(report.to_html(), encoding="utf-8")
    if not fail_on_error:
        logger.warning(report.summary())
        return report
    save_artifact(report, name=f"{dataset_name}_failed_validation")
    raise DataValidationError(report, extra=f"Report: {html_path}")
