"""Drift over time in Evidently's own UI: a local workspace with one project per pipeline.

Each executed drift step adds its Evidently snapshot (tagged with the ZenML run, pipeline and
model version); each retrain decision adds a small snapshot of the run's outcomes (retrain yes/no,
the scored metric), so the project's dashboard plots drifted share, per-column drift, the metric
and retraining over time. A cached rerun adds nothing (its step did not execute). The dashboard's
panels are added once, by title: later runs never duplicate them.

Where: by default a workspace under the state folder (`evidently/`), which `python run.py review
ui` serves on 127.0.0.1. A stack names a remote one in its `environment:` (set for every step and
read from the active stack by the review commands): STACKPIPES_EVIDENTLY_WORKSPACE, the URL of an
Evidently UI service (or another local folder), and STACKPIPES_EVIDENTLY_SECRET_NAME, the ZenML
secret whose `secret` value the service checks on writes (never the value itself).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Optional

METRIC = "evidently:metric_v2:"
WORKSPACE_VARIABLE = "STACKPIPES_EVIDENTLY_WORKSPACE"
SECRET_VARIABLE = "STACKPIPES_EVIDENTLY_SECRET_NAME"


def _setting(variable: str) -> Optional[str]:
    """A step sees the stack's environment in its own; a CLI process reads the active stack's."""
    import os

    if variable in os.environ:
        return os.environ[variable] or None
    try:
        from zenml.client import Client

        return (Client().active_stack_model.environment or {}).get(variable) or None
    except Exception:  # no store reachable: the local default
        return None


def remote_url() -> Optional[str]:
    """The Evidently UI service the stack names, or None for a workspace folder."""
    location = _setting(WORKSPACE_VARIABLE)
    if location and location.startswith(("http://", "https://")):
        return location.rstrip("/")
    return None


def workspace_path() -> Path:
    from stackpipes.platform.env import state_dir

    location = _setting(WORKSPACE_VARIABLE)
    if location and not location.startswith(("http://", "https://")):
        return Path(location).expanduser().resolve()
    return state_dir() / "evidently"


def _secret() -> Optional[str]:
    name = _setting(SECRET_VARIABLE)
    if name is None:
        return None
    from stackpipes.platform.secrets import secret_values

    values = secret_values(name)
    if values is None or not values.get("secret"):
        raise ValueError(f"{SECRET_VARIABLE} names the ZenML secret '{name}', which does not exist or has no "
                         "'secret' value (declare it under the stack file's secrets: and run stack up)")
    return str(values["secret"])


def _workspace() -> Any:
    url = remote_url()
    if url is not None:
        from evidently.ui.workspace import RemoteWorkspace

        return RemoteWorkspace(url, secret=_secret())
    from evidently.ui.workspace import Workspace

    path = workspace_path()
    path.mkdir(parents=True, exist_ok=True)
    return Workspace.create(str(path))


def snapshot_link(project_id: str, snapshot_id: str) -> str:
    """Where the UI shows one snapshot: the stack's service, else the local `review ui` server."""
    from stackpipes.platform.services import evidently_ui

    return f"{remote_url() or evidently_ui.url()}/projects/{project_id}/reports/{snapshot_id}"


def _panels(drift_columns: list[str], outcomes: list[str]) -> list[Any]:
    from evidently.sdk.models import PanelMetric
    from evidently.sdk.panels import counter_panel, line_plot_panel

    panels = [
        counter_panel(title="Share of drifted columns (last run)", size="half", aggregation="last", values=[
            PanelMetric(legend="share", metric=METRIC + "DriftedColumnsCount", metric_labels={"value_type": "share"})]),
        line_plot_panel(title="Drifted share over time", size="half", values=[
            PanelMetric(legend="share", metric=METRIC + "DriftedColumnsCount", metric_labels={"value_type": "share"})]),
    ]
    if drift_columns:
        panels.append(line_plot_panel(title="Drift score per column", values=[
            PanelMetric(legend=f"{column}", metric=METRIC + "ValueDrift", metric_labels={"column": column})
            for column in drift_columns]))
    for column in outcomes:
        panels.append(line_plot_panel(title=f"{column} over time", size="half", values=[
            PanelMetric(legend=column, metric=METRIC + "MeanValue", metric_labels={"column": column})]))
    return panels


def _project(workspace: Any, pipeline: str, drift_columns: list[str], outcomes: list[str]) -> Any:
    """The pipeline's project, created once; its dashboard gets the panels it does not have yet."""
    found = workspace.search_project(pipeline)
    project = found[0] if found else workspace.create_project(pipeline, description=f"ZenML pipeline {pipeline}")
    titles = {panel.title for panel in project.dashboard.model().panels}
    for panel in _panels(drift_columns, outcomes):
        if panel.title not in titles:
            project.dashboard.add_panel(panel)
    return project


def run_tags(pipeline: str, run_name: str, run_id: str, model_version: Optional[str]) -> tuple[list[str], dict[str, str]]:
    """The snapshot's tags and metadata that tie it to its ZenML run."""
    tags = [f"pipeline:{pipeline}", f"run:{run_name}"] + ([f"model_version:{model_version}"] if model_version else [])
    metadata = {"zenml_run_id": run_id, "zenml_run": run_name, "pipeline": pipeline,
                "model_version": model_version or ""}
    return tags, metadata


def add_drift_snapshot(snapshot: Any, pipeline: str, run_name: str, drift_columns: list[str]) -> tuple[str, str]:
    """Add an executed drift step's snapshot to the pipeline's project; returns (project id, snapshot id)."""
    from stackpipes.platform.locks import state_lock

    with state_lock("evidently"):
        workspace = _workspace()
        project = _project(workspace, pipeline, drift_columns, [])
        return str(project.id), str(workspace.add_run(project.id, snapshot, include_data=False, name=run_name).id)


def add_outcomes(values: dict[str, Optional[float]], pipeline: str, run_name: str, run_id: str,
                 model_version: Optional[str], timestamp: datetime) -> Optional[str]:
    """A one-row snapshot of the run's outcomes (retrain 1/0, the scored metric) for the trend panels."""
    import pandas as pd
    from evidently import Report
    from evidently.metrics import MeanValue

    from stackpipes.platform.locks import state_lock

    present = {k: float(v) for k, v in values.items() if v is not None}
    if not present:
        return None
    tags, metadata = run_tags(pipeline, run_name, run_id, model_version)
    snapshot = Report([MeanValue(column=c) for c in present], tags=tags + ["outcomes"], metadata=metadata).run(
        current_data=pd.DataFrame([present]), timestamp=timestamp)
    with state_lock("evidently"):
        workspace = _workspace()
        project = _project(workspace, pipeline, [], list(present))
        return str(workspace.add_run(project.id, snapshot, include_data=False, name=f"{run_name} outcomes").id)


def project_snapshots(pipeline: str) -> list[Any]:
    """The stored snapshots (with their tags and metadata) of a pipeline's project."""
    workspace = _workspace()
    found = workspace.search_project(pipeline)
    if not found:
        return []
    return [workspace.get_run(found[0].id, snapshot_id) for snapshot_id in workspace.list_runs(found[0].id)]


def panel_titles(pipeline: str) -> list[str]:
    workspace = _workspace()
    found = workspace.search_project(pipeline)
    return [panel.title for panel in found[0].dashboard.model().panels] if found else []
