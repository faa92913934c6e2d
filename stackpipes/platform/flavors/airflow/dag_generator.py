"""Airflow DAG generator for ZenML's airflow orchestrator: every step a BashOperator, no Docker.

ZenML writes this file as `dag.py` into a zip beside `config.json` (its `DagConfiguration`) and
Airflow imports it from the zip. It is imported in two interpreters, so its top level needs only
the standard library and pydantic:
  - in the project's environment, where ZenML fills `DagConfiguration` / `TaskConfiguration`.
    The validators below decide what reaches the DAG file: the step command becomes the project's
    own entrypoint run by the project's Python in the project folder (not `/app` in a container),
    and every credential-like variable is dropped (tasks take credentials from the environment of
    the Airflow processes, which `run.py airflow up` starts; see README);
  - in Airflow's own environment (no ZenML there), where the `else:` branch at the bottom builds
    the DAG.
"""

from __future__ import annotations

import datetime
import os
import re
import shlex
import sys
import zipfile
from typing import Any, Dict, List, Optional, Union

from pydantic import BaseModel, Field, field_validator, model_validator

# Names ZenML's orchestrator reads from a DAG generator module.
ENV_ZENML_AIRFLOW_RUN_ID = "ZENML_AIRFLOW_RUN_ID"
ENV_ZENML_LOCAL_STORES_PATH = "ZENML_LOCAL_STORES_PATH"
CONFIG_FILENAME = "config.json"

STEP_MODULE = "stackpipes.platform.flavors.step_task"
ENTRYPOINT_CLASS = "stackpipes.platform.flavors.entrypoint.ProjectStepEntrypointConfiguration"
# Environment variables that may carry a credential never go into the DAG bundle.
SENSITIVE_ENV = re.compile(r"(TOKEN|PASSWORD|SECRET|API_?KEY|ACCESS_?KEY|CREDENTIAL|PRIVATE)", re.I)


# Switches, not values: ZenML asks step processes not to cache credentials on disk.
NOT_SENSITIVE = {"DISABLE_CREDENTIALS_DISK_CACHING"}


def is_sensitive(name: str) -> bool:
    """Whether an environment variable name may hold a credential."""
    return name not in NOT_SENSITIVE and bool(SENSITIVE_ENV.search(name))


class TaskConfiguration(BaseModel):
    """One Airflow task: the ZenML step it runs and how (same fields as ZenML's generator)."""

    id: str
    zenml_step_name: str
    upstream_steps: List[str]

    docker_image: str = ""
    command: List[str]
    arguments: List[str]
    environment: Dict[str, str] = {}

    operator_source: str = ""
    operator_args: Dict[str, Any] = {}

    working_dir: Optional[str] = None

    @field_validator("environment")
    @classmethod
    def _drop_credentials(cls, environment: Dict[str, str]) -> Dict[str, str]:
        return {key: value for key, value in environment.items() if not is_sensitive(key)}

    @model_validator(mode="after")
    def _project_entrypoint(self) -> "TaskConfiguration":
        # Only rewrite what ZenML produced (`python -m zenml.entrypoints...`); a config read back
        # from config.json is already rewritten.
        if self.command and self.command[-1].startswith("zenml."):
            self.command = [sys.executable, "-m", STEP_MODULE]
            args = list(self.arguments)
            if "--entrypoint_config_source" in args:
                args[args.index("--entrypoint_config_source") + 1] = ENTRYPOINT_CLASS
            self.arguments = args
            self.working_dir = os.environ.get("STACKPIPES_PROJECT_ROOT") or os.getcwd()
            # Which ZenML integrations the step process activates (each costs imports).
            if os.environ.get("STACKPIPES_INTEGRATIONS"):
                self.environment = {**self.environment, "STACKPIPES_INTEGRATIONS": os.environ["STACKPIPES_INTEGRATIONS"]}
        return self


class DagConfiguration(BaseModel):
    """The DAG: id, schedule and tasks (same fields as ZenML's generator)."""

    id: str
    tasks: List[TaskConfiguration]
    local_stores_path: Optional[str] = None

    schedule: Union[datetime.timedelta, str, None] = Field(default=None, union_mode="left_to_right")
    start_date: datetime.datetime
    end_date: Optional[datetime.datetime] = None
    catchup: bool = False

    tags: List[str] = []
    dag_args: Dict[str, Any] = {}


def bash_command(task: TaskConfiguration) -> str:
    """The shell command of a task. The snapshot id can be overridden by the run's conf.

    `run.py` triggers each run with `conf.snapshot_id` so a run always executes the snapshot it
    was triggered for, even if the DAG file was replaced in between; scheduled runs use the one
    baked into the file.
    """
    args = list(task.arguments)
    snapshot_index = args.index("--snapshot_id") + 1 if "--snapshot_id" in args else None
    parts = []
    for index, arg in enumerate(args):
        if index == snapshot_index:
            parts.append("\"{{ (dag_run.conf or {}).get('snapshot_id', '%s') }}\"" % arg)
        else:
            parts.append(shlex.quote(arg))
    return " ".join([shlex.join(task.command), *parts])


def _bash_operator() -> Any:
    try:  # Airflow 3
        from airflow.providers.standard.operators.bash import BashOperator
    except ImportError:  # Airflow 2
        from airflow.operators.bash import BashOperator
    return BashOperator


try:
    _archive = zipfile.ZipFile(os.path.dirname(__file__), "r")
except (IsADirectoryError, NotADirectoryError, FileNotFoundError, PermissionError, zipfile.BadZipFile):
    _archive = None  # imported as a module, not from a DAG zip

if _archive is not None:
    import airflow

    dag_config = DagConfiguration.model_validate_json(_archive.read(CONFIG_FILENAME))
    BashOperator = _bash_operator()
    operators: Dict[str, Any] = {}
    dag_args = {"max_active_runs": 1, **dag_config.dag_args}
    with airflow.DAG(
        dag_id=dag_config.id,
        schedule=dag_config.schedule,
        start_date=dag_config.start_date,
        end_date=dag_config.end_date,
        catchup=dag_config.catchup,
        tags=dag_config.tags,
        is_paused_upon_creation=False,
        **dag_args,
    ) as dag:
        for task in dag_config.tasks:
            env = {**task.environment, ENV_ZENML_AIRFLOW_RUN_ID: "{{ run_id }}"}
            if dag_config.local_stores_path:
                env[ENV_ZENML_LOCAL_STORES_PATH] = dag_config.local_stores_path
            operator = BashOperator(
                task_id=task.id,
                bash_command=bash_command(task),
                env=env,
                append_env=True,  # the Airflow processes' environment carries credentials
                cwd=task.working_dir,
                do_xcom_push=False,
                **task.operator_args,
            )
            operators[task.zenml_step_name] = operator
            for upstream in task.upstream_steps:
                operator.set_upstream(operators[upstream])
