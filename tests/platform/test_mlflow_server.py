"""The project's MLflow tracking server (services.mlflow_server) on a private port, artifacts in a private moto.

One server for the module: started by the fixture (which starts the S3 server too), stopped by the
last test. The client side holds no S3 credentials: artifacts go through the tracking server.
"""

from __future__ import annotations

import os
import time
import urllib.request
from pathlib import Path

import pytest

from stackpipes.platform.services import mlflow_server, s3_server
from tests.support import START_SECONDS, forget_stack

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server(project_servers):
    """This module's own tracking server and S3 server (tests/support.py), on free ports."""
    return project_servers


def bucket_keys(bucket: str = mlflow_server.DEFAULT_BUCKET) -> list[str]:
    return [o["Key"] for o in s3_server.client().list_objects_v2(Bucket=bucket).get("Contents", [])]


def test_up_starts_a_server_that_answers_health(server):
    assert server == f"http://127.0.0.1:{os.environ['STACKPIPES_MLFLOW_PORT']}"
    assert os.environ[mlflow_server.TRACKING_URI_ENV] == server
    with urllib.request.urlopen(f"{server}/health", timeout=5) as response:
        assert response.status == 200 and response.read().strip() == b"OK"
    status = mlflow_server.status()
    assert status["running"] and status["pid"]
    assert status["backend"] == f"sqlite:///{mlflow_server.home() / 'mlflow.db'}"
    # It needed the S3 server: started and given the MLflow bucket.
    assert s3_server.running()
    assert mlflow_server.DEFAULT_BUCKET in {b["Name"] for b in s3_server.client().list_buckets()["Buckets"]}
    # A new database (MLflow creates its tables first) is the slowest start.
    assert START_SECONDS["first"] < 60, START_SECONDS


def test_second_up_is_idempotent(server):
    pid = mlflow_server.status()["pid"]
    started = time.monotonic()
    assert mlflow_server.up() == server
    assert time.monotonic() - started < 5
    assert mlflow_server.status()["pid"] == pid


def test_run_logs_through_the_server_into_the_s3_bucket(server, tmp_path, monkeypatch):
    from mlflow import MlflowClient

    # The client has the tracking URI only; no S3 credentials or endpoint of any kind.
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "MLFLOW_S3_ENDPOINT_URL",
                 s3_server.ACCESS_KEY_ENV, s3_server.SECRET_KEY_ENV, s3_server.ENDPOINT_ENV):
        monkeypatch.delenv(name, raising=False)
    client = MlflowClient(tracking_uri=server)
    experiment_id = client.create_experiment("service-probe")
    run = client.create_run(experiment_id)
    client.log_metric(run.info.run_id, "mape", 0.125)
    (tmp_path / "forecast.csv").write_text("sign,luck\naries,7\n")
    client.log_artifact(run.info.run_id, str(tmp_path / "forecast.csv"), "reports")
    client.set_terminated(run.info.run_id)

    assert run.info.artifact_uri.startswith("mlflow-artifacts:/")
    assert client.get_run(run.info.run_id).data.metrics == {"mape": 0.125}
    key = f"{experiment_id}/{run.info.run_id}/artifacts/reports/forecast.csv"
    monkeypatch.undo()  # the test itself lists the bucket with the project's credentials
    assert key in bucket_keys()
    body = s3_server.client().get_object(Bucket=mlflow_server.DEFAULT_BUCKET, Key=key)["Body"].read()
    assert body == b"sign,luck\naries,7\n"
    downloaded = client.download_artifacts(run.info.run_id, "reports/forecast.csv", str(tmp_path / "back"))
    assert Path(downloaded).read_bytes() == body
    # The server's log records requests but never the S3 secret it holds.
    assert s3_server.credentials()["aws_secret_access_key"] not in mlflow_server.log_path().read_text()


def test_local_s3_stack_registers_tracker_and_registry(server, fresh_project, tmp_path, monkeypatch):
    import mlflow
    from zenml.client import Client
    from zenml.model_registries.base_model_registry import ModelRegistryModelMetadata

    from stackpipes.platform.registration import stack_up
    from stackpipes.platform.stackfile import load_stack_file

    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        monkeypatch.delenv(name, raising=False)  # the registry sets them; restored afterwards
    for name in ("STACKPIPES_MLFLOW_USERNAME", "STACKPIPES_MLFLOW_PASSWORD"):
        monkeypatch.delenv(name, raising=False)  # the file's defaults
    client = Client()
    spec = load_stack_file(ROOT / "stacks" / "local-s3.yaml")
    assert spec.services == ["s3", "mlflow"]
    # Another module may have registered local-s3 in this session's store (and ZenML caches a built
    # stack until the stack itself changes, not its components): start from none.
    forget_stack(client, spec)
    try:
        actions = stack_up(spec).actions
        assert "secret local_mlflow: created" in actions
        assert "experiment_tracker local-s3-experiment-tracker: created" in actions
        assert client.get_secret("local_mlflow").secret_values == {"username": "stackpipes", "password": "stackpipes"}
        assert not stack_up(spec).changed
        stack = client.active_stack
        tracker, registry = stack.experiment_tracker, stack.model_registry
        assert tracker.flavor == "mlflow" and registry.flavor == "mlflow"
        # The URI came from the variable up() exported (the module's private port).
        assert tracker.get_tracking_uri() == server
        from stackpipes.platform.registration import experiment_tracking_uri

        assert experiment_tracking_uri() == server
        assert tracker.config.tracking_username == "stackpipes"  # resolved from the ZenML secret

        # The registry reaches the same server through the tracker's settings.
        probe = MlflowRunWithModelDir(server, tmp_path)
        version = registry.register_model_version(
            name="service-probe-model", model_source_uri=probe.source,
            metadata=ModelRegistryModelMetadata(mlflow_run_id=probe.run_id),
        )
        assert str(version.version) == "1"
        assert os.environ["MLFLOW_TRACKING_URI"] == server
        versions = mlflow.MlflowClient(tracking_uri=server).search_model_versions("name='service-probe-model'")
        assert [v.source for v in versions] == [probe.source]
    finally:
        mlflow.set_tracking_uri("")
        # Other modules register local-s3 themselves and expect to create its secrets.
        forget_stack(client, spec)


class MlflowRunWithModelDir:
    """A finished run with a `model/` artifact folder, logged straight to the server."""

    def __init__(self, uri: str, tmp_path: Path):
        from mlflow import MlflowClient

        client = MlflowClient(tracking_uri=uri)
        run = client.create_run(client.create_experiment("registry-probe"))
        (tmp_path / "weights.txt").write_text("0.5\n")
        client.log_artifact(run.info.run_id, str(tmp_path / "weights.txt"), "model")
        client.set_terminated(run.info.run_id)
        self.run_id = run.info.run_id
        self.source = f"runs:/{run.info.run_id}/model"


def test_changed_s3_settings_restart_the_server(server):
    before = mlflow_server.status()["pid"]
    os.environ["STACKPIPES_MLFLOW_BUCKET"] = "stackpipes-mlflow-other"
    try:
        assert mlflow_server.up() == server
        after = mlflow_server.status()["pid"]
        assert after and after != before and not Path(f"/proc/{before}").exists()
        assert "stackpipes-mlflow-other" in {b["Name"] for b in s3_server.client().list_buckets()["Buckets"]}
        assert "stackpipes-mlflow-other" in mlflow_server.status()["artifacts"]
    finally:
        os.environ.pop("STACKPIPES_MLFLOW_BUCKET")


def test_down_leaves_no_process(server):
    # Runs last in the module: it stops the module's server.
    pids = mlflow_server.processes()
    assert len(pids) >= 2  # the `mlflow server` command and the uvicorn server it started
    assert mlflow_server.down()
    assert not mlflow_server.running() and mlflow_server.status()["pid"] is None
    assert mlflow_server.processes() == []
    assert not any(Path(f"/proc/{pid}/cmdline").exists() and Path(f"/proc/{pid}/cmdline").read_bytes()
                   for pid in pids)
    assert not mlflow_server.down()  # nothing left to stop
