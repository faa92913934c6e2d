"""The `stackpipes_airflow` orchestrator flavor: ZenML's Airflow orchestrator, run without Docker.

What it adds to ZenML's `AirflowOrchestrator` (whose DAG config, zip writer and step entrypoint
it reuses):
  - the DAG generator `stackpipes.platform.flavors.airflow.dag_generator` (BashOperators running the step in
    the project's environment; no credentials in the DAG bundle);
  - a stable DAG id per pipeline (`<pipeline>`, or `<pipeline>_scheduled` for a schedule), so a
    new deployment replaces the old DAG instead of adding one per call;
  - no image build: steps run in this machine's project environment;
  - an unscheduled run is triggered through Airflow's REST API and followed to the end; a failed
    DAG run raises with the failed task's log.
"""

from __future__ import annotations

import datetime
import os
import shutil
import tempfile
import uuid
import zipfile
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Type, cast

from zenml.enums import ExecutionMode
from zenml.integrations.airflow.flavors.airflow_orchestrator_flavor import (
    AirflowOrchestratorConfig,
    AirflowOrchestratorFlavor,
    AirflowOrchestratorSettings,
)
from zenml.integrations.airflow.orchestrators.airflow_orchestrator import AirflowOrchestrator
from zenml.orchestrators import SubmissionResult
from zenml.utils.time_utils import utc_now

if TYPE_CHECKING:
    from zenml.config.base_settings import BaseSettings
    from zenml.config.step_configurations import Step
    from zenml.models import (
        PipelineDeploymentBase,
        PipelineRunResponse,
        PipelineSnapshotResponse,
        ScheduleResponse,
    )
    from zenml.stack import Stack

FLAVOR = "stackpipes_airflow"
DAG_GENERATOR = "stackpipes.platform.flavors.airflow.dag_generator"
LOCAL_IMAGE = "local-python-environment"


class StackpipesAirflowOrchestratorConfig(AirflowOrchestratorConfig):
    """ZenML's Airflow config plus where the Airflow API is and how long to wait for a run.

    Attributes:
        api_url: the Airflow API server; default http://127.0.0.1:$STACKPIPES_AIRFLOW_PORT (8280).
        run_timeout: seconds to wait for a triggered DAG run before giving up.
        parse_timeout: seconds to wait for the DAG processor to pick up a new DAG file.
        health_timeout: seconds a scheduler or DAG processor that answers but reports unhealthy (a
            heartbeat late on a loaded machine) is given before the run is refused.
    """

    api_url: Optional[str] = None
    run_timeout: float = 3600.0
    parse_timeout: float = 180.0
    health_timeout: float = 60.0
    custom_dag_generator: Optional[str] = DAG_GENERATOR
    local: bool = True

    @property
    def is_synchronous(self) -> bool:
        return True


class StackpipesAirflowOrchestrator(AirflowOrchestrator):
    """Deploys ZenML pipelines as Airflow DAGs whose tasks run in the project's environment."""

    @property
    def config(self) -> StackpipesAirflowOrchestratorConfig:
        return cast(StackpipesAirflowOrchestratorConfig, self._config)

    def api_url(self) -> str:
        from stackpipes.platform.flavors.airflow.locations import api_url

        return self.config.api_url or api_url()

    def get_settings(self, container: Any) -> "BaseSettings":
        settings = cast(AirflowOrchestratorSettings, super().get_settings(container))
        pipeline_configuration = getattr(container, "pipeline_configuration", None)
        if pipeline_configuration is None:
            return settings
        from stackpipes.platform.flavors.airflow.locations import dags_dir

        update: Dict[str, Any] = {}
        if not settings.dag_id:
            scheduled = getattr(container, "schedule", None) is not None
            update["dag_id"] = stable_dag_id(pipeline_configuration.name, scheduled)
        if not settings.dag_output_dir:
            update["dag_output_dir"] = str(dags_dir())
        if not settings.custom_dag_generator:
            # The config's default does not reach the settings: ZenML builds them from the
            # settings class, whose default is None (ZenML's own generator, with Docker).
            update["custom_dag_generator"] = DAG_GENERATOR
        if pipeline_configuration.execution_mode == ExecutionMode.FAIL_FAST:
            # Airflow's fail_fast: the first failed task fails the tasks still running.
            update["dag_args"] = {**settings.dag_args, "fail_fast": True}
        return settings.model_copy(update=update) if update else settings

    @property
    def supported_execution_modes(self) -> List[ExecutionMode]:
        # Airflow's default (dependents of a failed task never start, other branches go on) is
        # CONTINUE_ON_FAILURE; FAIL_FAST maps to the DAG's fail_fast.
        return [ExecutionMode.FAIL_FAST, ExecutionMode.CONTINUE_ON_FAILURE]

    # Steps run in this machine's project environment: nothing to build, no image to name.
    def get_docker_builds(self, snapshot: "PipelineDeploymentBase") -> List[Any]:
        return []

    def get_image(self, snapshot: "PipelineSnapshotResponse", step_name: Optional[str] = None) -> str:
        return LOCAL_IMAGE

    def requires_resources_in_orchestration_environment(self, step: "Step") -> bool:
        return False

    def _write_dag(self, dag_config: Any, dag_generator_values: Any, output_dir: str) -> None:
        """The DAG bundle ZenML writes (the generator as `dag.py` beside its JSON config), made
        atomic for a local DAG folder: built beside the folder, where the DAG processor does not
        look, then renamed over the old bundle. ZenML writes the zip in place, and a parse that
        lands mid-write records an import error for a DAG that is fine."""
        from zenml.utils import io_utils

        if io_utils.is_remote(output_dir):
            super()._write_dag(dag_config, dag_generator_values, output_dir)
            return
        os.makedirs(output_dir, exist_ok=True)
        final = os.path.join(output_dir, f"{dag_config.id}.zip")
        staging = tempfile.mkdtemp(prefix=".dag-staging-", dir=os.path.dirname(os.path.abspath(output_dir)))
        try:
            partial = os.path.join(staging, os.path.basename(final))
            with zipfile.ZipFile(partial, mode="w") as bundle:
                bundle.write(dag_generator_values.file, arcname="dag.py")
                bundle.writestr(dag_generator_values.config_file_name, dag_config.model_dump_json())
            os.replace(partial, final)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        print(f"Writing DAG definition to `{final}`.")

    @staticmethod
    def _translate_schedule(schedule: Optional["ScheduleResponse"] = None) -> Dict[str, Any]:
        if schedule is not None:
            translated = AirflowOrchestrator._translate_schedule(schedule)
            if schedule.start_time is None:
                # ZenML starts a week back, which makes Airflow run the last missed interval
                # at once; a new schedule should first run at its next tick.
                translated["start_date"] = utc_now()
            return translated
        # Unscheduled: the DAG only runs when triggered (by this orchestrator, or in the UI).
        return {"schedule": None, "start_date": utc_now() - datetime.timedelta(days=1), "catchup": False}

    def submit_pipeline(
        self,
        snapshot: "PipelineSnapshotResponse",
        stack: "Stack",
        base_environment: Dict[str, str],
        step_environments: Dict[str, Dict[str, str]],
        placeholder_run: Optional["PipelineRunResponse"] = None,
    ) -> Optional[SubmissionResult]:
        from stackpipes.platform.flavors.airflow.api_client import AirflowAPI

        settings = cast(AirflowOrchestratorSettings, self.get_settings(snapshot))
        api = AirflowAPI(self.api_url())
        down = api.wait_healthy(timeout=self.config.health_timeout)
        if down == ["api server"]:
            raise RuntimeError(f"Airflow is not running at {api.url} (start it with: python run.py airflow up)")
        if down:
            raise RuntimeError(
                f"Airflow at {api.url} answers but its {' and '.join(down)} did not report healthy within "
                f"{self.config.health_timeout:.0f} s (see the logs under the Airflow home; restart with: "
                "python run.py airflow down && python run.py airflow up)"
            )
        written_at = utc_now().replace(tzinfo=datetime.timezone.utc)
        super().submit_pipeline(snapshot, stack, base_environment, step_environments, placeholder_run)
        dag_id = cast(str, settings.dag_id)
        api.wait_for_dag(dag_id, written_at, f"{dag_id}.zip", timeout=self.config.parse_timeout)
        if snapshot.schedule is not None:
            print(f"Airflow DAG '{dag_id}' deployed with schedule '{snapshot.schedule.cron_expression}' "
                  f"(UI: {api.url}/dags/{dag_id})")
            return None

        run_id = f"stackpipes__{utc_now().strftime('%Y%m%dT%H%M%S')}_{uuid.uuid4().hex[:8]}"
        api.trigger(dag_id, run_id, conf={"snapshot_id": str(snapshot.id)})
        print(f"Airflow DAG run {dag_id}/{run_id} triggered (UI: {api.url}/dags/{dag_id}/runs/{run_id})")
        timeout = self.config.run_timeout

        def failed_steps() -> set[str]:
            if placeholder_run is None:
                return set()
            from zenml.client import Client

            steps = Client().list_run_steps(pipeline_run_id=placeholder_run.id, status="failed", size=100)
            return {step.name for step in steps.items}

        def wait() -> None:
            api.wait_for_run(dag_id, run_id, timeout=timeout, failed_steps=failed_steps)

        return SubmissionResult(wait_for_completion=wait)


def stable_dag_id(pipeline_name: str, scheduled: bool) -> str:
    """One DAG per pipeline (and one more for its schedule), whatever the number of deployments."""
    return f"{pipeline_name}_scheduled" if scheduled else pipeline_name


class StackpipesAirflowOrchestratorFlavor(AirflowOrchestratorFlavor):
    """Airflow without Docker: tasks run the step in the project's Python environment."""

    @property
    def name(self) -> str:
        return FLAVOR

    @property
    def config_class(self) -> Type[StackpipesAirflowOrchestratorConfig]:
        return StackpipesAirflowOrchestratorConfig

    @property
    def implementation_class(self) -> Type[StackpipesAirflowOrchestrator]:
        return StackpipesAirflowOrchestrator

