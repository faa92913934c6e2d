"""MLflow logging helpers used inside steps that run with the stack's experiment tracker.

When a step has no active MLflow run (a stack without an experiment tracker, or a unit test
calling the step function directly) every helper is a no-op, so steps never branch on the stack.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
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


@contextlib.contextmanager
def nested_run(name: str, tags: Optional[dict[str, str]] = None) -> Iterator[Optional[Any]]:
    """A child MLflow run under the step's run (a sweep's trial under the sweep), or nothing when
    the step is not tracked; everything logged inside goes to the child."""
    if active_run() is None:
        yield None
        return
    import mlflow

    with mlflow.start_run(run_name=name, nested=True, tags=tags) as child:
        yield child


def log_table(table: Any, artifact_file: str) -> None:
    """A DataFrame as an MLflow table artifact (shown as a table in the MLflow UI)."""
    if active_run() is None:
        return
    import mlflow

    mlflow.log_table(table, artifact_file=artifact_file)
