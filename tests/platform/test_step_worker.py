"""The warm step worker (stackpipes/platform/flavors/step_worker/), with real processes and sockets.

A server is started as `run.py airflow up` starts it (its own process, a socket in a private
folder); clients are separate processes, as Airflow's tasks are, so descriptors really travel
over the socket. Most tests run a small target module instead of a ZenML step, with nothing
preloaded (fast); one server preloads ZenML as in production.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from stackpipes.platform.flavors.step_worker import client as worker_client
from stackpipes.platform.flavors.step_worker import protocol
from stackpipes.platform.flavors.step_worker import server as worker_server

ROOT = Path(__file__).resolve().parents[2]

TARGET = textwrap.dedent("""
    import json, os, sys, time

    def show():
        umask = os.umask(0); os.umask(umask)
        print(json.dumps({"cwd": os.getcwd(), "argv": sys.argv, "marker": os.environ.get("MARKER"),
                          "run_id": os.environ.get("ZENML_AIRFLOW_RUN_ID"), "pid": os.getpid(),
                          "umask": umask, "zenml_loaded": "zenml" in sys.modules}))
        print("to stderr", file=sys.stderr)
        sys.exit(int(os.environ.get("EXIT_CODE", "0")))

    def crash():
        raise ValueError("the step's own error")

    def linger():
        with open(os.environ["PID_FILE"], "w") as out:
            out.write(str(os.getpid()))
        print("started", flush=True)
        time.sleep(300)

    def zenml_state():
        import numpy
        from zenml.client import Client
        from zenml.config.global_config import GlobalConfiguration
        print(json.dumps({"zenml_preloaded": "zenml" in sys.modules, "random": numpy.random.rand(),
                          "config": GlobalConfiguration._global_config is not None,
                          "client": Client._global_client is not None}))
""")

CLIENT = textwrap.dedent("""
    import sys
    from stackpipes.platform.flavors.step_worker.client import run_on_server
    code = run_on_server(sys.argv[2:], target=sys.argv[1])
    if code is None:
        print("FALLBACK", flush=True)
        sys.exit(99)
    sys.exit(code)
""")


def start_server(folder: Path, preload: str = "") -> tuple[subprocess.Popen, Path]:
    socket_path = folder / "server" / "step.sock"
    command = [sys.executable, "-m", "stackpipes.platform.flavors.step_worker.server", "--socket", str(socket_path),
               "--preload", preload]
    server = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while worker_client.ping(str(socket_path)) is None:
        assert server.poll() is None, server.stdout.read()
        assert time.monotonic() < deadline, "the step server did not start"
        time.sleep(0.05)
    return server, socket_path


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


@pytest.fixture(scope="module")
def target_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("target")
    (folder / "probe_target.py").write_text(TARGET)
    return folder


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    process, socket_path = start_server(tmp_path_factory.mktemp("ss"))
    yield process, socket_path
    stop_server(process)


def client(socket_path: Path, target: str, args: list[str], target_dir: Path, cwd: Path,
           wait: bool = True, **env: str):
    """A task: a new process that hands `target` to the server, as step_task.main does."""
    environment = {**os.environ, protocol.ENV_SOCKET: str(socket_path), **env}
    # The target module is found through the client's sys.path, which the child takes over.
    script = f"import sys; sys.path[:0] = [{str(ROOT)!r}, {str(target_dir)!r}]\n" + CLIENT
    command = [sys.executable, "-c", script, target, *args]
    if not wait:
        return subprocess.Popen(command, cwd=cwd, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
    return subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=60)


def gone(pid: int) -> bool:
    """The process has exited and was reaped (no zombie left)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):  # reaped between the lookup and the read
        return True
    return state == "X"


def wait_for(condition, timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_the_socket_is_private(server):
    _, socket_path = server
    assert stat.S_IMODE(socket_path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(socket_path.stat().st_mode) == 0o600
    assert stat.S_ISSOCK(socket_path.stat().st_mode)


def test_the_child_runs_with_the_tasks_env_cwd_and_argv_and_its_output_and_status_come_back(
        server, target_dir, tmp_path):
    process, socket_path = server
    result = client(socket_path, "probe_target:show", ["--step_name", "ingest"], target_dir, cwd=tmp_path,
                    MARKER="task-42", ZENML_AIRFLOW_RUN_ID="manual__1", EXIT_CODE="3")
    assert result.returncode == 3, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["marker"] == "task-42" and seen["run_id"] == "manual__1"
    assert seen["cwd"] == str(tmp_path)
    assert seen["argv"][1:] == ["--step_name", "ingest"]
    umask = os.umask(0o022)
    os.umask(umask)
    assert seen["umask"] == umask
    assert seen["pid"] not in (process.pid, os.getpid())  # a fork of the server, not the client
    assert "to stderr" in result.stderr
    assert "runs in a fork of the warm worker" in result.stderr


def test_a_failing_step_fails_the_task_with_its_traceback(server, target_dir, tmp_path):
    _, socket_path = server
    result = client(socket_path, "probe_target:crash", [], target_dir, cwd=tmp_path)
    assert result.returncode == 1
    assert "ValueError: the step's own error" in result.stderr


def test_concurrent_tasks_each_get_their_own_child(server, target_dir, tmp_path):
    _, socket_path = server
    tasks = [client(socket_path, "probe_target:show", [], target_dir, cwd=tmp_path, wait=False, MARKER=str(i))
             for i in range(4)]
    outputs = [json.loads(task.communicate(timeout=60)[0].strip().splitlines()[-1]) for task in tasks]
    assert [o["marker"] for o in outputs] == ["0", "1", "2", "3"]
    assert len({o["pid"] for o in outputs}) == 4


def test_a_killed_task_leaves_no_step_process(server, target_dir, tmp_path):
    _, socket_path = server
    pid_file = tmp_path / "pid"
    task = client(socket_path, "probe_target:linger", [], target_dir, cwd=tmp_path, wait=False, PID_FILE=str(pid_file))
    assert task.stdout.readline().strip() == "started"
    child = int(pid_file.read_text())
    assert not gone(child)
    task.kill()  # as Airflow does to a task it stops
    task.wait(timeout=10)
    assert wait_for(lambda: gone(child)), "the step outlived its task"


def test_no_server_means_the_task_runs_the_step_itself(target_dir, tmp_path):
    missing = tmp_path / "none" / "step.sock"
    result = client(missing, "probe_target:show", [], target_dir, cwd=tmp_path)
    assert result.returncode == 99 and "FALLBACK" in result.stdout
    assert "the step runs in this process" in result.stderr
    # Not configured at all (CI, the local stacks): silently in-process.
    assert worker_client.run_on_server([], path="") is None
    assert worker_client.run_on_server([], path="0") is None


def test_a_task_whose_import_time_environment_differs_runs_the_step_itself(server, target_dir, tmp_path):
    _, socket_path = server
    result = client(socket_path, "probe_target:show", [], target_dir, cwd=tmp_path,
                    PYTHONPATH=str(tmp_path), OPENBLAS_NUM_THREADS="1")
    assert result.returncode == 99 and "FALLBACK" in result.stdout
    assert "OPENBLAS_NUM_THREADS" in result.stderr and "PYTHONPATH" in result.stderr


def test_step_task_falls_back_to_its_own_process(monkeypatch):
    from stackpipes.platform.flavors import step_task

    calls = []
    monkeypatch.setattr(worker_client, "run_on_server", lambda args: None)
    monkeypatch.setattr(step_task, "run_in_process", lambda: calls.append("in-process"))
    step_task.main()
    assert calls == ["in-process"]

    monkeypatch.setattr(worker_client, "run_on_server", lambda args: 7)
    with pytest.raises(SystemExit) as exit_info:
        step_task.main()
    assert exit_info.value.code == 7 and calls == ["in-process"]


def test_stopping_the_server_stops_running_steps_and_removes_the_socket(target_dir, tmp_path_factory, tmp_path):
    process, socket_path = start_server(tmp_path_factory.mktemp("ss-stop"))
    pid_file = tmp_path / "pid"
    task = client(socket_path, "probe_target:linger", [], target_dir, cwd=tmp_path, wait=False, PID_FILE=str(pid_file))
    assert task.stdout.readline().strip() == "started"
    child = int(pid_file.read_text())
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    assert gone(child)
    assert not socket_path.exists()
    assert task.wait(timeout=10) == 128 + signal.SIGTERM  # the task fails: its step was stopped


def test_zenml_is_preloaded_but_each_child_builds_its_own_state(target_dir, tmp_path_factory, tmp_path):
    process, socket_path = start_server(tmp_path_factory.mktemp("ss-zenml"), preload=",".join(worker_server.PRELOAD))
    try:
        runs = [client(socket_path, "probe_target:zenml_state", [], target_dir, cwd=tmp_path) for _ in range(2)]
        states = [json.loads(r.stdout.strip().splitlines()[-1]) for r in runs]
        assert all(r.returncode == 0 for r in runs), runs[0].stderr
        assert all(s["zenml_preloaded"] and not s["config"] and not s["client"] for s in states)
        assert states[0]["random"] != states[1]["random"]  # numpy's global RNG is reseeded per child
        # A setting ZenML reads when it is imported cannot change in a fork: such a task runs itself.
        declined = client(socket_path, "probe_target:show", [], target_dir, cwd=tmp_path, ZENML_DEBUG="true")
        assert "FALLBACK" in declined.stdout and "ZENML_DEBUG" in declined.stderr
    finally:
        stop_server(process)


def test_airflow_processes_point_tasks_at_the_step_server(monkeypatch, tmp_path):
    from stackpipes.platform.services import airflow_server

    monkeypatch.setenv("STACKPIPES_HOME", str(tmp_path))
    monkeypatch.delenv(protocol.ENV_SOCKET, raising=False)
    env = airflow_server.environment()
    assert env[protocol.ENV_SOCKET] == str(tmp_path / "airflow" / "step-server" / "step.sock")
    monkeypatch.setenv(protocol.ENV_SOCKET, "0")
    assert airflow_server.environment()[protocol.ENV_SOCKET] == "0"
    assert airflow_server.ensure_step_worker() == (None, False)


def test_lazy_mlflow_components_skip_only_hooks_mlflow_leaves_as_no_ops():
    """The first tasks of a DAG run ask every component for pipeline-run metadata; the lazy MLflow
    tracker and registry answer without importing MLflow only where MLflow's classes inherit
    StackComponent's no-op (checked against the installed ZenML)."""
    from zenml.integrations.mlflow.experiment_trackers.mlflow_experiment_tracker import (
        MLFlowExperimentTracker,
    )
    from zenml.integrations.mlflow.model_registries.mlflow_model_registry import MLFlowModelRegistry
    from zenml.stack import StackComponent

    from stackpipes.platform.flavors.lazy_components import _INHERITED_NOOPS

    classes = {("experiment_tracker", "mlflow"): MLFlowExperimentTracker,
               ("model_registry", "mlflow"): MLFlowModelRegistry}
    assert "get_pipeline_run_metadata" in _INHERITED_NOOPS[("experiment_tracker", "mlflow")]
    for key, hooks in _INHERITED_NOOPS.items():
        for hook in hooks:
            assert getattr(classes[key], hook) is getattr(StackComponent, hook), (key, hook)
