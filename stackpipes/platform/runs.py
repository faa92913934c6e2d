"""Runs an in-process orchestrator left `running` when their process died (killed, crashed machine).

A run on a stack whose orchestrator runs the steps in the calling process (`local`) lives exactly
as long as that process. Each such process holds a marker, an flock on a file in the state folder,
for its lifetime. The next start marks every run still `running` or `initializing` that began
before the oldest live marker as failed, with the reason, so the dashboard and the run lists tell
the truth. Runs of other orchestrators (Airflow, Kubernetes) are theirs to finish.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

from stackpipes.platform.env import secure_state

IN_PROCESS_ORCHESTRATORS = ("local",)
ABANDONED = (
    "the process that ran it ended before the run finished (killed or crashed); "
    "marked failed when the project next started a run"
)


def _folder() -> Path:
    folder = secure_state() / "runs"
    folder.mkdir(exist_ok=True)
    return folder


@contextlib.contextmanager
def live_run_marker() -> Iterator[float]:
    """Hold this process's marker while it runs pipelines; yields its start time (epoch seconds)."""
    started = time.time()
    path = _folder() / f"{os.getpid()}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, json.dumps({"pid": os.getpid(), "started": started}).encode())
        yield started
    finally:
        with contextlib.suppress(OSError):
            path.unlink()
        os.close(fd)


def _live_starts(own_start: float) -> list[float]:
    """Start times of the processes holding a marker now (this one included); stale markers go."""
    starts = [own_start]
    for path in _folder().glob("*.lock"):
        if path.name == f"{os.getpid()}.lock":
            continue
        try:
            fd = os.open(path, os.O_RDWR)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # held: that process is alive
            with contextlib.suppress(ValueError, OSError):
                starts.append(float(json.loads(path.read_text())["started"]))
            continue
        finally:
            os.close(fd)
        with contextlib.suppress(OSError):
            path.unlink()  # nobody holds it: its process is gone
    return starts


def _in_process(run: Any) -> bool:
    stack = getattr(run, "stack", None)
    orchestrators = (getattr(stack, "components", None) or {}).get("orchestrator") or []
    return bool(orchestrators) and orchestrators[0].flavor_name in IN_PROCESS_ORCHESTRATORS


def mark_abandoned_runs(own_start: float, client: Optional[Any] = None) -> list[str]:
    """Mark the abandoned runs (see the module docstring) failed; returns their names."""
    from zenml.client import Client
    from zenml.enums import ExecutionStatus
    from zenml.models import PipelineRunUpdate, StepRunUpdate

    client = client or Client()
    oldest_live = datetime.fromtimestamp(min(_live_starts(own_start)), tz=timezone.utc)
    marked = []
    for status in (ExecutionStatus.RUNNING, ExecutionStatus.INITIALIZING):
        for run in client.list_pipeline_runs(status=status, size=100, hydrate=True).items:
            started = run.start_time or run.created
            if started is not None and started.tzinfo is None:
                started = started.replace(tzinfo=timezone.utc)
            if started is None or started >= oldest_live or not _in_process(run):
                continue
            now = datetime.now(timezone.utc)
            for step in run.steps.values():
                if step.status in (ExecutionStatus.RUNNING, ExecutionStatus.INITIALIZING):
                    client.zen_store.update_run_step(step.id, StepRunUpdate(status=ExecutionStatus.FAILED, end_time=now))
            client.zen_store.update_run(run.id, PipelineRunUpdate(status=ExecutionStatus.FAILED, status_reason=ABANDONED))
            marked.append(run.name)
    return marked
