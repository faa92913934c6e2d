"""chat_forecast on a real Airflow 3 started from the project's files (no mocks, no Docker).

One module-scoped deployment: a private state folder, ZenML server and Airflow ports, and a
fresh PostgreSQL database for Airflow's metadata; everything is stopped at the end.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
import zipfile
from pathlib import Path

import pytest

from stackpipes.platform.flavors.airflow.api_client import AirflowAPI
from stackpipes.platform.processes import free_port
from stackpipes.platform.services import airflow_server

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    state = tmp_path_factory.mktemp("airflow-state")
    database = f"stackpipes_airflow_test_{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "STACKPIPES_HOME": str(state), "STACKPIPES_REPORTS": str(state / "reports"),
           "STACKPIPES_ZENML_PORT": str(free_port()), "STACKPIPES_AIRFLOW_PORT": str(free_port()),
           "STACKPIPES_AIRFLOW_DB": f"postgresql+psycopg2://postgres@127.0.0.1:5432/{database}"}
    env.pop("ZENML_CONFIG_PATH", None)
    env.pop("STACKPIPES_INTEGRATIONS", None)

    def cli(*args: str, timeout: int = 900) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "run.py", *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=timeout)

    try:
        yield cli, env, state
    finally:
        down = cli("airflow", "down", timeout=120)
        cli("dashboard", "--stop", timeout=120)
        airflow_server.drop_database(env["STACKPIPES_AIRFLOW_DB"])
        assert down.returncode == 0, down.stderr
        assert airflow_server.processes_with_home(state / "airflow") == [], "Airflow processes left running"


@pytest.fixture(scope="module")
def first_run(deployment):
    cli, env, state = deployment
    started = time.perf_counter()
    result = cli("--stack", "airflow", "--pipeline", "chat_forecast")
    return result, time.perf_counter() - started


def api(env: dict[str, str]) -> AirflowAPI:
    return AirflowAPI(f"http://127.0.0.1:{env['STACKPIPES_AIRFLOW_PORT']}")


def test_chat_forecast_runs_through_airflow(deployment, first_run):
    cli, env, state = deployment
    result, seconds = first_run
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Airflow DAG run chat_forecast/" in result.stdout
    assert "': completed" in result.stdout and "forecast CSV:" in result.stdout

    airflow = api(env)
    runs = airflow._request("GET", "/api/v2/dags/chat_forecast/dagRuns")["dag_runs"]
    assert [r["state"] for r in runs] == ["success"]
    tasks = airflow.task_instances("chat_forecast", runs[0]["dag_run_id"])
    assert len(tasks) == 16 and {t["state"] for t in tasks} == {"success"}  # 15 steps + the review page
    assert {t["operator"] for t in tasks} == {"BashOperator"}


def test_tasks_fork_their_step_from_the_warm_step_worker(deployment, first_run):
    cli, env, state = deployment
    airflow = api(env)
    run_id = airflow._request("GET", "/api/v2/dags/chat_forecast/dagRuns")["dag_runs"][0]["dag_run_id"]
    log = airflow.task_log("chat_forecast", run_id, "hourly_series", 1)
    assert "runs in a fork of the warm worker" in log  # not the fallback to a new interpreter
    assert "Step `hourly_series` has finished" in log  # the step's own output reaches the task log
    server_log = (state / "airflow" / "logs" / "step-server.log").read_text()
    assert server_log.count(": pid ") >= 2 * 16  # every step started and exited in a fork
    socket_path = state / "airflow" / "step-server" / "step.sock"
    assert oct(socket_path.parent.stat().st_mode)[-3:] == "700"
    assert oct(socket_path.stat().st_mode)[-3:] == "600"


def test_the_dag_bundle_holds_no_credentials(deployment, first_run):
    cli, env, state = deployment
    bundle = state / "airflow" / "dags" / "chat_forecast.zip"  # stable id: one file per pipeline
    assert sorted(p.name for p in bundle.parent.glob("*.zip")) == ["chat_forecast.zip"]
    with zipfile.ZipFile(bundle) as archive:
        config = json.loads(archive.read("config.json"))
    assert config["id"] == "chat_forecast"
    from stackpipes.platform.flavors.airflow.dag_generator import is_sensitive

    for task in config["tasks"]:
        assert not [key for key in task["environment"] if is_sensitive(key)]
        assert task["working_dir"] == str(ROOT) and task["command"][0] == sys.executable
    # The JWT secret that signs Airflow's task tokens is in the state folder only.
    secret = (state / "airflow" / "jwt_secret").read_text().strip()
    assert secret and secret not in bundle.read_bytes().decode("latin-1")
    assert oct((state / "airflow" / "jwt_secret").stat().st_mode)[-3:] == "600"


def test_a_cleared_task_of_a_finished_run_succeeds_again(deployment, first_run):
    """Airflow re-running a task whose step already succeeded must not hit EntityExistsError."""
    cli, env, state = deployment
    airflow = api(env)
    run_id = airflow._request("GET", "/api/v2/dags/chat_forecast/dagRuns")["dag_runs"][0]["dag_run_id"]
    airflow._request("POST", "/api/v2/dags/chat_forecast/clearTaskInstances", {
        "dag_run_id": run_id, "task_ids": ["decide_retrain"], "dry_run": False, "only_failed": False,
        "reset_dag_runs": True, "include_downstream": False,
    })
    deadline = time.monotonic() + 300
    state_now = None
    while time.monotonic() < deadline:
        task = next(t for t in airflow.task_instances("chat_forecast", run_id) if t["task_id"] == "decide_retrain")
        state_now = task["state"]
        if state_now in ("success", "failed") and task["try_number"] >= 2:
            break
        time.sleep(2)
    assert state_now == "success"
    log = airflow.task_log("chat_forecast", run_id, "decide_retrain", task["try_number"])
    assert "already succeeded in this pipeline run" in log


def test_a_failing_step_fails_the_command_with_its_log(deployment, first_run, tmp_path):
    cli, env, state = deployment
    bad = tmp_path / "bad.yaml"
    bad.write_text((ROOT / "configs" / "chat_forecast.yaml").read_text().replace(
        "data/samples/telegram_export.json", str(tmp_path / "missing_export.json")))
    result = cli("--stack", "airflow", "--pipeline", "chat_forecast", "--config", str(bad))
    assert result.returncode == 1
    assert "failed in task 'ingest_telegram'" in result.stderr
    assert "missing_export.json" in result.stderr  # the step's own error, from the task log


def test_schedule_deploys_a_cron_dag(deployment, first_run):
    cli, env, state = deployment
    result = cli("--stack", "airflow", "--pipeline", "chat_forecast", "--schedule", "1 0 * * *")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "chat_forecast_scheduled" in result.stdout
    dag = api(env).dag("chat_forecast_scheduled")
    assert dag is not None and dag["timetable_summary"] == "1 0 * * *" and not dag["is_paused"]
    api(env)._request("PATCH", "/api/v2/dags/chat_forecast_scheduled", {"is_paused": True})


REGISTRIES = """
import sys
sys.path.insert(0, ".")
from stackpipes.platform.env import boot_zenml
boot_zenml()
import mlflow
from mlflow import MlflowClient
from zenml.client import Client
from zenml.enums import ModelStages
mlflow.set_tracking_uri(Client().active_stack.experiment_tracker.get_tracking_uri())
production = Client().get_model_version("chat_forecast", ModelStages.PRODUCTION)
champion = MlflowClient().get_model_version_by_alias("chat_forecast", "champion")
print(production.name, "|", production.run_metadata.get("review_state"), "|", champion.description)
"""


def test_a_model_trained_in_an_airflow_run_is_approved_into_both_registries(deployment, first_run, tmp_path):
    """review: promotion on Airflow: the challenger its tasks trained waits; `review approve` (run from
    the CLI, outside Airflow) makes it production in ZenML and MLflow's champion together."""
    cli, env, state = deployment
    gated = tmp_path / "gated.yaml"
    gated.write_text((ROOT / "configs" / "chat_forecast.yaml").read_text().replace(
        "cooldown_hours: 20", "cooldown_hours: 0").replace(
        "retrain_without_production: true", "retrain_without_production: true\n    review: promotion"))
    before = subprocess.run([sys.executable, "-c", REGISTRIES], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=300)
    assert before.returncode == 0, before.stderr[-2000:]
    result = cli("--stack", "airflow", "--pipeline", "chat_forecast", "--config", str(gated), "--no-cache")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    run_name = result.stdout.split("Run '", 1)[1].split("'", 1)[0]
    shown = cli("review", "show", run_name, timeout=300)
    assert shown.returncode == 0 and "retrain" in shown.stdout, shown.stdout + shown.stderr
    unchanged = subprocess.run([sys.executable, "-c", REGISTRIES], cwd=ROOT, env=env, capture_output=True,
                               text=True, timeout=300)
    assert unchanged.stdout == before.stdout  # the gate held: production and the alias as they were

    approved = cli("review", "approve", run_name, "--by", "airflow-reviewer", "--note", "checked the plot", timeout=300)
    assert approved.returncode == 0 and "approved by airflow-reviewer" in approved.stdout, approved.stderr
    after = subprocess.run([sys.executable, "-c", REGISTRIES], cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=300)
    version, review_state, description = (part.strip() for part in after.stdout.strip().split("|"))
    assert version != before.stdout.split("|")[0].strip()
    assert review_state == "approved by airflow-reviewer" and version in description
    models = cli("review", "models", timeout=300)
    assert models.returncode == 0 and f"production is version {version}" in models.stdout


def _sweep_config(tmp_path: Path) -> Path:
    import yaml

    config = yaml.safe_load((ROOT / "configs" / "ratings_train" / "titanic.yaml").read_text())
    from tests.ratings.conftest import SMALL_SWEEP

    config["parameters"]["sweep"] = SMALL_SWEEP
    path = tmp_path / "titanic_small.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_the_sweep_runs_as_parallel_airflow_tasks_and_finds_the_local_winner(deployment, first_run, tmp_path):
    """ratings_train's two sweep steps are two Airflow tasks that run at the same time; the seeded
    sweep picks the trial the library picks in this process."""
    from datetime import datetime

    from stackpipes.ratings.datasets import DatasetConfig, prepare, read_csv_file, resolve_path
    from stackpipes.ratings.splitting import cv_folds, split_table
    from stackpipes.ratings.sweep import SweepConfig, best_trial, run_shard

    cli, env, state = deployment
    config = _sweep_config(tmp_path)
    result = cli("--stack", "airflow", "--pipeline", "ratings_train", "--config", str(config))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    airflow = api(env)
    run = airflow._request("GET", "/api/v2/dags/ratings_train/dagRuns")["dag_runs"][-1]
    tasks = {t["task_id"]: t for t in airflow.task_instances("ratings_train", run["dag_run_id"])}
    assert {t["state"] for t in tasks.values()} == {"success"}
    first, second = (tasks[f"sweep_trials_{i}"] for i in (0, 1))
    span = [(datetime.fromisoformat(t["start_date"]), datetime.fromisoformat(t["end_date"])) for t in (first, second)]
    assert span[0][0] < span[1][1] and span[1][0] < span[0][1], f"the sweep tasks did not overlap: {span}"

    import yaml

    parameters = yaml.safe_load(config.read_text())["parameters"]
    dataset, sweep = DatasetConfig.model_validate(parameters["dataset"]), SweepConfig.model_validate(parameters["sweep"])
    table = prepare(read_csv_file(resolve_path(dataset.source.path), dataset.source.na_values, "titanic"), dataset)
    train = split_table(table, dataset)[0]
    folds = cv_folds(train, dataset, sweep.folds, sweep.seed)
    expected = best_trial([r for shard in (0, 1) for r in run_shard(sweep, shard, train, dataset, folds)])
    assert f"sweep winner:  trial {expected.index} {expected.family} " in result.stdout


def test_lecture_summary_on_a_schedule_takes_the_oldest_new_file_of_its_inbox(deployment, first_run, tmp_path,
                                                                              lecture_maker):
    """The scheduled form: a static DAG whose first task takes the oldest new file of the inbox (a
    file sensor's job), summarises it, and on the next run ends with "nothing new"."""
    from stackpipes.platform.runconfig import with_parameters

    cli, env, state = deployment
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    lecture_maker.make_lecture("Good morning. Today we talk about rivers and lakes. Rivers flow into the sea. "
                               "Lakes keep fresh water for a long time. Next week we talk about mountains.",
                               "en-us", inbox / "rivers and lakes.mp4")
    config = with_parameters(ROOT / "configs" / "lecture_summary.yaml", {
        "inbox": str(inbox), "speech": {"cpu_threads": 2, "beam_size": 2, "language": "en"}}, tmp_path)
    result = cli("--stack", "airflow", "--pipeline", "lecture_summary", "--config", str(config),
                 "--schedule", "0 3 * * *")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    airflow, dag_id = api(env), "lecture_summary_scheduled"
    try:
        first = f"test-{uuid.uuid4().hex[:8]}"
        airflow.trigger(dag_id, first, conf={})  # what the scheduler does at 03:00
        airflow.wait_for_run(dag_id, first, timeout=900)
        (pdf,) = (state / "reports" / "lecture_summary").glob("rivers_and_lakes-*/summary.pdf")
        assert (state / "raw" / "lecture_summary" / "done").is_dir()
        made = pdf.stat().st_mtime_ns
        second = f"test-{uuid.uuid4().hex[:8]}"
        airflow.trigger(dag_id, second, conf={})
        airflow.wait_for_run(dag_id, second, timeout=900)
        assert f"nothing new in {inbox}" in airflow.task_log(dag_id, second, "take_lecture", 1)
        assert pdf.stat().st_mtime_ns == made and (inbox / "rivers and lakes.mp4").is_file()
    finally:
        airflow._request("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": True})
