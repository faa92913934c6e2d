"""MLflow components built on first use and MLflow runs opened only when a step logs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.pipeline


def _mlflow_runs(experiment: str):
    import mlflow
    from mlflow import MlflowClient
    from zenml.client import Client

    mlflow.set_tracking_uri(Client().active_stack.experiment_tracker.get_tracking_uri())
    found = MlflowClient().get_experiment_by_name(experiment)
    return [] if found is None else MlflowClient().search_runs([found.experiment_id])


def test_only_a_step_that_logs_opens_an_mlflow_run(fresh_project):
    from zenml.client import Client
    from zenml.constants import METADATA_EXPERIMENT_TRACKER_URL

    from tests.platform.tracked_steps import tracked_probe

    run = Client().get_pipeline_run(tracked_probe(log=True).id)
    assert str(run.status.value) == "completed"
    runs = [r for r in _mlflow_runs("tracked_probe") if r.data.tags.get("mlflow.runName") == run.name]
    assert len(runs) == 1, "one MLflow run per pipeline run, as with ZenML's tracker"
    # the opted-in step's metric (run opened on its first log) and the direct caller's (run opened
    # before it started, since it did not opt in)
    assert runs[0].data.metrics == {"probe_value": 0.25, "direct_value": 0.5}
    # ZenML's own tracker code opened it: its tags, and the link in the step's metadata.
    assert any(key.startswith("zenml") for key in runs[0].data.tags)
    assert METADATA_EXPERIMENT_TRACKER_URL in run.steps["logs_a_metric"].run_metadata
    assert METADATA_EXPERIMENT_TRACKER_URL not in run.steps["logs_nothing"].run_metadata
    assert METADATA_EXPERIMENT_TRACKER_URL in run.steps["calls_mlflow_itself"].run_metadata
    assert runs[0].info.status == "FINISHED"


def test_a_run_where_nothing_logs_never_imports_mlflow(state_dir, zenml_local_stack):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "tests.platform.tracked_steps"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "mlflow imported: False" in proc.stdout


def test_the_stand_ins_answers_match_the_mlflow_implementations():
    """What an unbuilt tracker or registry answers without importing MLflow must be what the
    real class would answer (checked against the installed ZenML)."""
    from zenml.integrations.mlflow.experiment_trackers.mlflow_experiment_tracker import (
        MLFlowExperimentTracker,
    )
    from zenml.integrations.mlflow.model_registries.mlflow_model_registry import MLFlowModelRegistry
    from zenml.stack import StackComponent

    from stackpipes.platform.flavors.lazy_components import _SETTINGS_CLASSES

    classes = {("experiment_tracker", "mlflow"): MLFlowExperimentTracker,
               ("model_registry", "mlflow"): MLFlowModelRegistry}
    for key, where in _SETTINGS_CLASSES.items():
        real = classes[key].settings_class.fget(object.__new__(classes[key]))  # a property on the class
        if where is None:
            assert classes[key].settings_class is StackComponent.settings_class, key
        else:
            assert (real.__module__, real.__name__) == where, key
