"""MLflow logging helpers used inside steps that run with the stack's experiment tracker.

When a step has no active MLflow run (a stack without an experiment tracker, or a unit test
calling the step function directly) every helper is a no-op, so steps never branch on the stack.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Optional


def active_run() -> Optional[Any]:
    """The step's MLflow run, opened now if the step is tracked and has not logged before (runs
    open on first use, see platform.flavors.lazy_components); None where the step has no tracker.
    Call it only when about to log: a tracked step that never asks leaves no empty run."""
    import sys

    from stackpipes.platform.flavors.lazy_components import open_step_run

    open_step_run()
    if "mlflow" not in sys.modules:
        return None  # nothing imported MLflow, so no run can be active
    import mlflow

    return mlflow.active_run()


def log_params(params: dict[str, Any]) -> None:
    if active_run() is None:
        return
    import mlflow

    mlflow.log_params({k: str(v)[:500] for k, v in params.items()})


def log_metrics(metrics: dict[str, Optional[float]]) -> None:
    if active_run() is None:
        return
    import math

    import mlflow

    mlflow.log_metrics({k: float(v) for k, v in metrics.items() if v is not None and math.isfinite(v)})


def log_bytes(data: bytes, artifact_file: str) -> None:
    """Log raw bytes (a PNG, a CSV) as an MLflow artifact at `artifact_file` (may contain a folder)."""
    if active_run() is None:
        return
    import mlflow

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / Path(artifact_file).name
        path.write_bytes(data)
        folder = str(Path(artifact_file).parent)
        mlflow.log_artifact(str(path), artifact_path=None if folder == "." else folder)


def log_child_run(name: str, params: dict[str, Any], metrics: dict[str, Optional[float]],
                  tags: Optional[dict[str, str]] = None, started: Optional[float] = None,
                  ended: Optional[float] = None) -> Optional[str]:
    """A finished child MLflow run under the step's run (a sweep's trial under the sweep), with the
    times it really ran (`started`/`ended`, epoch seconds), logged in one batch; its id, or None
    when the step is not tracked. Work done elsewhere (another step, another pod) is recorded here
    by whoever gathers it, so the workers need no tracking client."""
    parent = active_run()
    if parent is None:
        return None
    import math
    import time

    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param

    client = MlflowClient()
    start_ms = int((started or time.time()) * 1000)
    child = client.create_run(parent.info.experiment_id, start_time=start_ms, run_name=name,
                              tags={"mlflow.parentRunId": parent.info.run_id, **(tags or {})})
    client.log_batch(
        child.info.run_id,
        metrics=[Metric(k, float(v), start_ms, 0) for k, v in metrics.items() if v is not None and math.isfinite(v)],
        params=[Param(k, str(v)[:500]) for k, v in params.items()],
    )
    client.set_terminated(child.info.run_id, end_time=int((ended or time.time()) * 1000))
    return child.info.run_id


def log_table(table: Any, artifact_file: str) -> None:
    """A DataFrame as an MLflow table artifact (shown as a table in the MLflow UI)."""
    if active_run() is None:
        return
    import mlflow

    mlflow.log_table(table, artifact_file=artifact_file)
