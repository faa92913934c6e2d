"""Reading stored state from ZenML artifacts: only what a successful run produced counts.

A run that fails half way may already have saved some outputs; trusting only artifacts whose
producing run completed means a failed run never corrupts the stored history or forecasts.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Optional

from zenml.client import Client
from zenml.enums import ExecutionStatus

_OK = {ExecutionStatus.COMPLETED, ExecutionStatus.CACHED}


def successful_versions(name: str, limit: int = 50, page_size: int = 20) -> Iterator[Any]:
    """Artifact versions named `name` whose producing run succeeded, newest first."""
    client = Client()
    statuses: dict[Any, bool] = {}
    seen = 0
    page = 1
    while seen < limit:
        versions = client.list_artifact_versions(
            artifact=name, sort_by="desc:created", page=page, size=page_size, hydrate=True
        )
        for version in versions.items:
            seen += 1
            run_id = version.producer_pipeline_run_id
            if run_id is None:  # saved by hand outside a run: trust it
                yield version
                continue
            if run_id not in statuses:
                statuses[run_id] = client.get_pipeline_run(run_id, hydrate=False).status in _OK
            if statuses[run_id]:
                yield version
        if page >= versions.total_pages:
            return
        page += 1


def latest_successful(name: str) -> Optional[Any]:
    """The newest version of `name` from a successful run, or None."""
    return next(successful_versions(name), None)


def is_current_run(version: Any) -> bool:
    """True when `version` was produced by the pipeline run that is executing now."""
    from zenml import get_step_context

    return version.producer_pipeline_run_id == get_step_context().pipeline_run.id
