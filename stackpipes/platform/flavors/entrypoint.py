"""ZenML's step entrypoint, for steps run out of process on this machine (not in a container).

Two changes to ZenML's `StepEntrypointConfiguration`, nothing else re-implemented:
  - the code environment is the project folder (ZenML's base class changes into `/app`, where a
    Docker image would hold the code);
  - a task that is run again after its step already succeeded in the same pipeline run (an
    Airflow retry or a cleared task) ends successfully instead of failing with ZenML's
    `EntityExistsError`. A step whose earlier attempt failed runs again as a new attempt.
"""

from __future__ import annotations

import logging
import os
import sys

from zenml.entrypoints.step_entrypoint_configuration import (
    STEP_NAME_OPTION,
    StepEntrypointConfiguration,
)
from zenml.step_operators.step_operator_entrypoint_configuration import (
    StepOperatorEntrypointConfiguration,
)

from stackpipes.platform.env import PROJECT_ROOT

logger = logging.getLogger(__name__)
RUN_ID_VARIABLES = ("ZENML_AIRFLOW_RUN_ID", "STACKPIPES_ORCHESTRATOR_RUN_ID")


def use_project_code() -> None:
    """The code environment of a step run on this machine: the project folder, not `/app`."""
    os.chdir(PROJECT_ROOT)
    if str(PROJECT_ROOT) not in sys.path:
        sys.path.insert(0, str(PROJECT_ROOT))


class ProjectStepOperatorEntrypointConfiguration(StepOperatorEntrypointConfiguration):
    """A step handed to the `stackpipes_local` step operator, run from the project folder."""

    def prepare_code_environment(self) -> None:
        use_project_code()


class ProjectStepEntrypointConfiguration(StepEntrypointConfiguration):
    """Runs a step from the project's own folder and Python environment."""

    def prepare_code_environment(self) -> None:
        use_project_code()

    def run(self) -> None:
        step_name = self.entrypoint_args[STEP_NAME_OPTION]
        if completed_before(self.snapshot.id, step_name):
            logger.info("Step '%s' already succeeded in this pipeline run; nothing to do.", step_name)
            return
        super().run()


def completed_before(snapshot_id: object, step_name: str) -> bool:
    """Whether the current orchestrator run already has a successful run of this step."""
    run_id = next((os.environ[v] for v in RUN_ID_VARIABLES if os.environ.get(v)), None)
    if run_id is None:
        return False
    from zenml.client import Client

    client = Client()
    runs = client.list_pipeline_runs(orchestrator_run_id=run_id, snapshot_id=snapshot_id, size=1)
    if not runs.items:
        return False
    steps = client.list_run_steps(pipeline_run_id=runs.items[0].id, name=step_name)
    return any(step.status.is_successful for step in steps.items)
