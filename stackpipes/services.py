"""Servers a stack needs, started by the project: the local ZenML server, Airflow, S3 (moto), MLflow.

A stack file lists them under `services:`; `run.py` starts the missing ones before registering
the stack, so `python run.py --stack airflow --pipeline X` works on a fresh machine. Nothing here
imports ZenML: the ZenML client must read its configuration after the server login.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Optional

import yaml

from stackpipes.env import configure_environment

SERVICES = ("zenml_server", "airflow", "s3", "mlflow")


def free_port() -> int:
    """A TCP port nothing listens on now, for private servers (tests, benchmarks)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pid_alive(pid: int, process: Optional[subprocess.Popen] = None) -> bool:
    """Whether `pid` still runs. `process`: our own Popen of it (polled, so it is reaped once).
    Our other children are reaped here; a zombie someone else has not reaped counts as gone."""
    if process is not None:
        return process.poll() is None
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
        if waited == pid:
            return False
    except ChildProcessError:
        pass
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def processes_with_env(entry: str) -> list[int]:
    """Processes on this machine (not this one) whose environment holds `entry` ("NAME=value"):
    how servers that rename themselves or fork workers are found, children included."""
    marker = entry.encode()
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if marker in (proc / "environ").read_bytes().split(b"\0"):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def zenml_port() -> int:
    return int(os.environ.get("STACKPIPES_ZENML_PORT", "8237"))


def zenml_url() -> str:
    return f"http://127.0.0.1:{zenml_port()}"


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=3) as response:
            return response.status == 200
    except OSError:
        return False


def zenml_client_uses_server() -> bool:
    """Whether this project's ZenML client is logged in to the running local server."""
    configure_environment()
    config = Path(os.environ["ZENML_CONFIG_PATH"]) / "config.yaml"
    if not config.exists():
        return False
    store = (yaml.safe_load(config.read_text()) or {}).get("store") or {}
    return store.get("type") == "rest" and str(store.get("url", "")).rstrip("/") == zenml_url() and _answers(zenml_url())


def _zenml_cli() -> str:
    return str(Path(sys.executable).parent / "zenml")


def zenml_server_up() -> str:
    """Start the local ZenML server (dashboard) on 127.0.0.1 and log the client in to it."""
    if zenml_client_uses_server():
        return zenml_url()
    configure_environment()
    command = [_zenml_cli(), "login", "--local", "--ip-address", "127.0.0.1", "--port", str(zenml_port())]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"could not start the local ZenML server: {(result.stderr or result.stdout)[-1500:]}")
    return zenml_url()


def zenml_server_down() -> int:
    configure_environment()
    return subprocess.call([_zenml_cli(), "logout", "--local"], stdout=subprocess.DEVNULL)


def ensure(services: list[str]) -> list[str]:
    """Start each named service that is not running; return what was done, for printing."""
    done = []
    for name in services:
        if name == "zenml_server":
            done.append(f"ZenML server: {zenml_server_up()}")
        elif name == "airflow":
            from stackpipes.orchestration import airflow_service

            done.append(f"Airflow: {airflow_service.up()}")
        elif name == "s3":
            from stackpipes import s3_service

            done.append(f"S3 (moto): {s3_service.up()}")
        elif name == "mlflow":
            from stackpipes import mlflow_service  # starts the S3 server too when it is not running

            done.append(f"MLflow tracking server: {mlflow_service.up()}")
        else:
            raise ValueError(f"unknown service '{name}' (known: {', '.join(SERVICES)})")
    return done
