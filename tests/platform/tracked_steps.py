"""Two tracked steps for test_lazy_tracking: one logs to MLflow, one does not (importable by ZenML
from the project root, like any step)."""

from __future__ import annotations

from zenml import pipeline, step

from stackpipes.core import tracking
from stackpipes.platform.flavors.lazy_components import MLFLOW_RUN_ON_FIRST_LOG


@step(experiment_tracker=True, enable_cache=False, extra=MLFLOW_RUN_ON_FIRST_LOG)
def logs_a_metric(value: float = 0.25) -> float:
    tracking.log_metrics({"probe_value": value})
    return value


@step(experiment_tracker=True, enable_cache=False, extra=MLFLOW_RUN_ON_FIRST_LOG)
def logs_nothing(value: float) -> float:
    return value * 2


@step(experiment_tracker=True, enable_cache=False)
def calls_mlflow_itself(value: float) -> float:
    """A tracked step as ZenML's documentation writes one: no opt-in, mlflow called directly."""
    import mlflow

    mlflow.log_metric("direct_value", value)
    return value


@pipeline(enable_cache=False)
def tracked_probe(log: bool = True) -> None:
    if log:
        calls_mlflow_itself(logs_nothing(logs_a_metric()))
    else:
        logs_nothing(1.0, id="silent")


if __name__ == "__main__":  # a run in a fresh process that logs nothing: is MLflow imported?
    import sys

    from stackpipes.platform.flavors.lazy_components import boot_with_lazy_components

    boot_with_lazy_components()
    tracked_probe(log=False)
    print("mlflow imported:", "mlflow" in sys.modules)
