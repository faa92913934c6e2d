"""The Airflow DAG generator: what reaches a DAG bundle, and the DAG Airflow builds from it."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from stackpipes.platform.flavors.airflow import dag_generator as airflow_dag
from stackpipes.platform.flavors.airflow.dag_generator import (
    DagConfiguration,
    TaskConfiguration,
    bash_command,
)
from stackpipes.platform.flavors.airflow.orchestrator import StackpipesAirflowOrchestrator

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOT = "1bdc8fb2-394c-440b-b311-0152b27e0b84"


def zenml_task(step: str, upstream: list[str], environment: dict[str, str]) -> TaskConfiguration:
    """A task as ZenML's AirflowOrchestrator builds it (its command and arguments, verbatim)."""
    return TaskConfiguration(
        id=step, zenml_step_name=step, upstream_steps=upstream, docker_image="local-python-environment",
        command=["python", "-m", "zenml.entrypoints.entrypoint"],
        arguments=["--entrypoint_config_source",
                   "zenml.entrypoints.step_entrypoint_configuration.StepEntrypointConfiguration",
                   "--snapshot_id", SNAPSHOT, "--step_name", step],
        environment=environment, operator_source="", operator_args={},
    )


ZENML_ENV = {
    "ZENML_STORE_URL": "http://127.0.0.1:8237",
    "ZENML_STORE_API_TOKEN": "eyJ-secret-workload-token",
    "ZENML_STORE_API_KEY": "ZENKEY_secret",
    "ZENML_STORE_PASSWORD": "hunter2",
    "AWS_SECRET_ACCESS_KEY": "aws-secret",
    "TELEGRAM_BOT_TOKEN": "123:bot-token",
    "DISABLE_CREDENTIALS_DISK_CACHING": "true",
    "ZENML_ACTIVE_PROJECT_ID": "p-1",
}


def test_credentials_never_reach_the_dag_config():
    config = DagConfiguration(id="chat_forecast", tasks=[zenml_task("ingest", [], dict(ZENML_ENV))],
                              start_date="2026-01-01T00:00:00Z")
    text = config.model_dump_json()
    for secret in ("eyJ-secret-workload-token", "ZENKEY_secret", "hunter2", "aws-secret", "bot-token"):
        assert secret not in text
    environment = config.tasks[0].environment
    assert environment["ZENML_STORE_URL"] == "http://127.0.0.1:8237"
    assert environment["ZENML_ACTIVE_PROJECT_ID"] == "p-1"
    assert environment["DISABLE_CREDENTIALS_DISK_CACHING"] == "true"  # a switch, kept


def test_step_runs_the_project_entrypoint_with_the_project_python(monkeypatch):
    monkeypatch.setenv("STACKPIPES_PROJECT_ROOT", str(ROOT))
    task = zenml_task("ingest", [], {})
    assert task.command == [sys.executable, "-m", "stackpipes.platform.flavors.step_task"]
    source = task.arguments[task.arguments.index("--entrypoint_config_source") + 1]
    assert source == "stackpipes.platform.flavors.entrypoint.ProjectStepEntrypointConfiguration"
    assert task.working_dir == str(ROOT)
    # Read back from config.json, the task is not rewritten a second time.
    again = TaskConfiguration.model_validate_json(task.model_dump_json())
    assert again.command == task.command and again.arguments == task.arguments


def test_bash_command_lets_the_run_conf_pick_the_snapshot():
    command = bash_command(zenml_task("train", ["ingest"], {}))
    assert command.startswith(f"{sys.executable} -m stackpipes.platform.flavors.step_task ")
    assert "{{ (dag_run.conf or {}).get('snapshot_id', '%s') }}" % SNAPSHOT in command
    assert "--step_name train" in command


def test_the_entrypoint_class_and_step_module_exist():
    from zenml.entrypoints.step_entrypoint_configuration import StepEntrypointConfiguration

    from stackpipes.platform.flavors.entrypoint import ProjectStepEntrypointConfiguration

    assert issubclass(ProjectStepEntrypointConfiguration, StepEntrypointConfiguration)
    assert airflow_dag.ENTRYPOINT_CLASS.endswith(ProjectStepEntrypointConfiguration.__name__)
    assert (ROOT / (airflow_dag.STEP_MODULE.replace(".", "/") + ".py")).is_file()


def test_stable_dag_ids():
    from stackpipes.platform.flavors.airflow.orchestrator import stable_dag_id

    assert stable_dag_id("chat_forecast", scheduled=False) == "chat_forecast"
    assert stable_dag_id("chat_forecast", scheduled=True) == "chat_forecast_scheduled"


@pytest.fixture(scope="module")
def airflow_python() -> str:
    from stackpipes.platform.services import airflow_server

    airflow_server.install()
    return str(airflow_server.venv_dir() / "bin" / "python")


def test_airflow_builds_the_dag_from_the_bundle(tmp_path, airflow_python):
    """Airflow itself (its own venv, no ZenML there) imports the zipped generator and builds the DAG."""
    config = DagConfiguration(
        id="chat_forecast", start_date="2026-01-01T00:00:00Z", schedule="1 0 * * *", dag_args={"fail_fast": True},
        tasks=[zenml_task("ingest", [], dict(ZENML_ENV)), zenml_task("train", ["ingest"], {})],
    )
    dags = tmp_path / "dags"
    dags.mkdir()
    bundle = dags / "chat_forecast.zip"
    bundle.write_bytes(b"an older bundle")
    # The orchestrator's writer: the new bundle replaces the old whole, nothing is left beside it.
    orchestrator = object.__new__(StackpipesAirflowOrchestrator)
    values = SimpleNamespace(file=airflow_dag.__file__, config_file_name=airflow_dag.CONFIG_FILENAME)
    orchestrator._write_dag(config, values, str(dags))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dags"]
    assert [p.name for p in dags.iterdir()] == ["chat_forecast.zip"]
    with zipfile.ZipFile(bundle) as archive:
        assert sorted(archive.namelist()) == sorted(["dag.py", airflow_dag.CONFIG_FILENAME])
    probe = (
        "import json, sys\n"
        "from airflow.models.dagbag import DagBag\n"
        "bag = DagBag(dag_folder=sys.argv[1], include_examples=False)\n"
        "dag = bag.dags['chat_forecast']\n"
        "t = dag.get_task('train')\n"
        "print(json.dumps({'errors': {k: str(v) for k, v in bag.import_errors.items()},"
        " 'tasks': sorted(dag.task_ids), 'upstream': sorted(t.upstream_task_ids),"
        " 'type': type(t).__name__, 'env': t.env, 'cwd': t.cwd, 'fail_fast': dag.fail_fast,"
        " 'timetable': dag.timetable.summary}))\n"
    )
    result = subprocess.run([airflow_python, "-c", probe, str(bundle)], capture_output=True, text=True,
                            env={"AIRFLOW_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin",
                                 "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                                 "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path / 'a.db'}"},
                            timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    dag = json.loads(result.stdout.strip().splitlines()[-1])
    assert dag["errors"] == {}
    assert dag["tasks"] == ["ingest", "train"] and dag["upstream"] == ["ingest"]
    assert dag["type"] == "BashOperator" and dag["fail_fast"] is True
    assert dag["timetable"] == "1 0 * * *"
    assert dag["env"]["ZENML_AIRFLOW_RUN_ID"] == "{{ run_id }}"
    assert "eyJ-secret-workload-token" not in bundle.read_bytes().decode("latin-1")
