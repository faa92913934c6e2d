"""The `stackpipes_local` step operator: in process, or in a subprocess pinned to GPU ids.

Real pipelines on a real (private) ZenML store. A probe step reports the process it ran in and
the CUDA devices it could see; the stack file alone decides where it runs.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import pytest
import yaml
from zenml import pipeline, step
from zenml.enums import ExecutionMode

from stackpipes.platform.stackfile import load_stack_file

FLAVOR_SOURCE = "stackpipes.platform.flavors.local_step_operator.LocalStepOperatorFlavor"


@step(step_operator=True)
def probe(fail: bool = False) -> Annotated[dict, "where"]:
    if fail:
        raise ValueError("the probe was asked to fail")
    return {"pid": os.getpid(), "cuda": os.environ.get("CUDA_VISIBLE_DEVICES")}


@step
def after(where: dict) -> int:
    return where["pid"]


@step(step_operator=True)
def untracked() -> Annotated[bool, "mlflow_imported"]:
    return "mlflow" in sys.modules


@step(step_operator=True, experiment_tracker=True)
def tracked() -> Annotated[str, "mlflow_run"]:
    import mlflow

    mlflow.log_metric("probe", 1.0)
    return mlflow.active_run().info.run_id


@step(step_operator=True)
def registers() -> Annotated[bool, "tracker_is_mlflow"]:
    """A step that uses the MLflow model registry but not the tracker (like promote_if_better)."""
    from zenml.client import Client
    from zenml.integrations.mlflow.experiment_trackers import MLFlowExperimentTracker

    stack = Client().active_stack
    stack.model_registry.configure_mlflow()  # asserts the tracker is an MLFlowExperimentTracker
    return isinstance(stack.experiment_tracker, MLFlowExperimentTracker)


@pipeline(enable_cache=False, execution_mode=ExecutionMode.FAIL_FAST)
def tracking_pipeline() -> None:
    untracked()
    tracked()
    registers()


@pipeline(enable_cache=False, execution_mode=ExecutionMode.FAIL_FAST)
def probe_pipeline(fail: bool = False) -> None:
    after(probe(fail=fail))


def _stack(tmp_path, name, operator_config, **components):
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({
        "name": name,
        "flavors": [FLAVOR_SOURCE],
        "components": {
            "orchestrator": {"flavor": "local"},
            "artifact_store": {"flavor": "local"},
            "step_operator": {"flavor": "stackpipes_local", "config": operator_config},
            **components,
        },
    }))
    from stackpipes.platform.registration import stack_up

    stack_up(load_stack_file(path))


def _where(run) -> dict:
    return run.steps["probe"].outputs["where"][0].load()


@pytest.fixture()
def restore_local(zenml_local_stack):
    yield
    from zenml.client import Client

    Client().activate_stack(zenml_local_stack)


def test_inprocess_runs_the_step_in_this_process(tmp_path, fresh_project, restore_local):
    _stack(tmp_path, "op-inprocess", {"mode": "inprocess"})
    run = probe_pipeline()
    assert run.status.value == "completed"
    assert _where(run)["pid"] == os.getpid()


def test_subprocess_pins_the_gpus_the_step_asked_for(tmp_path, fresh_project, restore_local):
    _stack(tmp_path, "op-gpu", {"mode": "subprocess", "devices": ["3", "5"]})
    one_gpu = probe_pipeline.with_options(
        steps={"probe": {"settings": {"resources": {"gpu_count": 1}}}}
    )()
    where = _where(one_gpu)
    assert where["pid"] != os.getpid()
    assert where["cuda"] == "3"

    two_gpus = probe_pipeline.with_options(steps={"probe": {"settings": {"resources": {"gpu_count": 2}}}})()
    assert _where(two_gpus)["cuda"] == "3,5"

    # A step that asks for no GPU sees none, even on a machine that has some.
    no_gpu = probe_pipeline()
    assert _where(no_gpu)["cuda"] == ""
    # The next step reads the subprocess step's output from the artifact store.
    assert no_gpu.steps["after"].outputs["output"][0].load() == _where(no_gpu)["pid"]


def test_more_gpus_than_the_pool_runs_with_what_there_is(tmp_path, fresh_project, restore_local):
    _stack(tmp_path, "op-short", {"mode": "subprocess", "devices": ["0"]})
    run = probe_pipeline.with_options(steps={"probe": {"settings": {"resources": {"gpu_count": 4}}}})()
    assert _where(run)["cuda"] == "0"


def test_a_failing_subprocess_step_fails_the_run(tmp_path, fresh_project, restore_local):
    _stack(tmp_path, "op-fail", {"mode": "subprocess"})
    with pytest.raises(Exception, match="failed in its subprocess"):
        probe_pipeline(fail=True)


def test_a_subprocess_step_imports_mlflow_only_when_it_tracks(tmp_path, fresh_project, restore_local):
    """Out-of-process steps build the MLflow tracker on first use (importing MLflow costs ~2 s)."""
    tracker = {"flavor": "mlflow", "name": "local-experiment-tracker"}  # the local stack's own
    registry = {"flavor": "mlflow", "name": "local-model-registry"}
    _stack(tmp_path, "op-tracking", {"mode": "subprocess"}, experiment_tracker=tracker, model_registry=registry)
    run = tracking_pipeline()
    assert run.steps["untracked"].outputs["mlflow_imported"][0].load() is False
    mlflow_run = run.steps["tracked"].outputs["mlflow_run"][0].load()
    import mlflow
    from zenml.client import Client

    mlflow.set_tracking_uri(Client().active_stack.experiment_tracker.get_tracking_uri())
    assert mlflow.get_run(mlflow_run).data.metrics["probe"] == 1.0
    assert run.steps["registers"].outputs["tracker_is_mlflow"][0].load() is True
