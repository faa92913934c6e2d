"""The project's MLflow tracking server on 127.0.0.1: start, stop, status, tracking URI.

The `local-s3` stack's experiment tracker and model registry point at this server. Its backend
store is SQLite in `<state_dir>/mlflow-server/mlflow.db`; it serves artifacts itself
(`--serve-artifacts`) and keeps them in the project's S3 server (stackpipes/s3_server.py), bucket
`stackpipes-mlflow`. Only the server holds the S3 endpoint and key pair (in its own environment):
clients log and load artifacts through it (`mlflow-artifacts:` URIs) and need no S3 credentials.

`up()` starts the S3 server first when it is not running and creates the bucket, then the MLflow
server unless one answers; it exports STACKPIPES_MLFLOW_TRACKING_URI for stack files. A server
this state folder started with other S3 settings (another S3 port, key pair or bucket) is
restarted. The server has no authentication and listens on 127.0.0.1 only.

moto keeps objects in memory: when the S3 server stops, the artifacts are gone while the runs and
model versions in mlflow.db stay (their artifacts then cannot be downloaded).

Settings (environment): STACKPIPES_MLFLOW_PORT (default 5050), STACKPIPES_MLFLOW_BUCKET (default
stackpipes-mlflow), STACKPIPES_MLFLOW_WORKERS (default 1), STACKPIPES_MLFLOW_START_TIMEOUT
(seconds, default 120; a new database takes longer: MLflow creates its tables first).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Optional

from stackpipes.platform.env import state_dir
from stackpipes.platform.processes import (
    pid_alive,
    port_from_env,
    processes_with_env,
    require_free_port,
)
from stackpipes.platform.services import s3_server

DEFAULT_PORT = 5050
DEFAULT_BUCKET = "stackpipes-mlflow"
TRACKING_URI_ENV = "STACKPIPES_MLFLOW_TRACKING_URI"
# Set in the server's environment (inherited by its children): how `down()` finds every process.
HOME_MARKER_ENV = "STACKPIPES_MLFLOW_SERVER_HOME"

# Servers this process started, kept so they are reaped on `down()` rather than left as zombies.
_started: dict[int, subprocess.Popen] = {}


class MLflowServiceError(RuntimeError):
    """The MLflow tracking server could not be started or reached."""


def home() -> Path:
    return state_dir() / "mlflow-server"


def port() -> int:
    return port_from_env("STACKPIPES_MLFLOW_PORT", DEFAULT_PORT)


def tracking_uri() -> str:
    return f"http://127.0.0.1:{port()}"


def bucket() -> str:
    return os.environ.get("STACKPIPES_MLFLOW_BUCKET") or DEFAULT_BUCKET


def artifacts_destination() -> str:
    return f"s3://{bucket()}"


def backend_store_uri() -> str:
    return f"sqlite:///{home() / 'mlflow.db'}"


def log_path() -> Path:
    return home() / "server.log"


def _state_file() -> Path:
    return home() / "server.json"


def export_environment() -> None:
    """Put the tracking URI into os.environ for stack files (`${STACKPIPES_MLFLOW_TRACKING_URI}`)."""
    os.environ[TRACKING_URI_ENV] = tracking_uri()


def running() -> bool:
    """Whether a tracking server answers /health on the configured port."""
    try:
        with urllib.request.urlopen(f"{tracking_uri()}/health", timeout=2) as response:
            return response.status == 200 and response.read().strip() == b"OK"
    except OSError:  # refused, timed out, or an HTTP error status (HTTPError is an OSError)
        return False


def _s3_settings() -> dict[str, str]:
    """What the server is started with; a fingerprint stands for the key pair (never stored)."""
    pair = s3_server.credentials()
    digest = hashlib.sha256(
        f"{pair['aws_access_key_id']}\0{pair['aws_secret_access_key']}".encode()
    ).hexdigest()[:16]
    return {"s3_endpoint": s3_server.endpoint(), "bucket": bucket(), "credentials": digest}


def _server_environment() -> dict[str, str]:
    """The caller's environment with only the project's S3 server as the artifact store's S3."""
    pair = s3_server.credentials()
    env = {
        key: value
        for key, value in os.environ.items()
        # Other AWS settings (profile, session token, endpoint) must not reach the S3 client.
        if not (key.startswith("AWS_") and key != "AWS_CA_BUNDLE") and not key.startswith("MLFLOW_TRACKING_")
    }
    env.update(
        AWS_ACCESS_KEY_ID=pair["aws_access_key_id"],
        AWS_SECRET_ACCESS_KEY=pair["aws_secret_access_key"],
        AWS_DEFAULT_REGION=s3_server.REGION,
        MLFLOW_S3_ENDPOINT_URL=s3_server.endpoint(),
        PYTHONUNBUFFERED="1",
    )
    env[HOME_MARKER_ENV] = str(home())
    # MLflow's job runner (GenAI judges, trace archival) adds ~8 worker processes; nothing here uses it.
    env.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
    return env


def _server_binary() -> Path:
    return Path(sys.executable).parent / "mlflow"


def _command() -> list[str]:
    workers = os.environ.get("STACKPIPES_MLFLOW_WORKERS", "1")
    return [
        str(_server_binary()), "server",
        "--host", "127.0.0.1",
        "--port", str(port()),
        "--workers", workers,
        "--backend-store-uri", backend_store_uri(),
        "--serve-artifacts",
        "--artifacts-destination", artifacts_destination(),
    ]


def _start_process() -> subprocess.Popen:
    binary = _server_binary()
    if not binary.exists():
        raise MLflowServiceError(f"{binary} not found: install `mlflow` into the project's environment")
    require_free_port(port(), "STACKPIPES_MLFLOW_PORT", "MLflow tracking server")
    home().mkdir(parents=True, exist_ok=True)
    with open(log_path(), "ab") as log:
        process = subprocess.Popen(
            _command(), env=_server_environment(),
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            # Its own process group: `down()` stops the CLI and the uvicorn server it starts.
            start_new_session=True, cwd=str(home()),
        )
    _state_file().write_text(json.dumps({"pid": process.pid, "port": port(), **_s3_settings()}))
    _started[process.pid] = process
    return process


def _wait_until_answering(pid: int) -> None:
    timeout = float(os.environ.get("STACKPIPES_MLFLOW_START_TIMEOUT", "120"))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if running():
            return
        if not _alive(pid):
            _state_file().unlink(missing_ok=True)
            raise MLflowServiceError(
                f"the MLflow server exited at start; see {log_path()} "
                f"(is port {port()} taken? set STACKPIPES_MLFLOW_PORT)"
            )
        time.sleep(0.2)
    down()
    raise MLflowServiceError(
        f"the MLflow server did not answer on {tracking_uri()} within {timeout:.0f} s; see {log_path()}"
    )


def up() -> str:
    """Start the S3 server if needed, then the MLflow server unless one answers. Returns the URI.

    Idempotent: with a server running this only checks it (and the bucket).
    """
    recorded = _recorded()
    if not running() and not (recorded is not None and _is_our_server(recorded["pid"])):
        # Refused before its S3 server is started for it: a refusal leaves nothing running.
        require_free_port(port(), "STACKPIPES_MLFLOW_PORT", "MLflow tracking server")
    s3_server.up()  # starts it unless it answers; exports its settings; creates its buckets
    s3_server.ensure_buckets([bucket()])
    export_environment()
    recorded = _recorded()
    ours = recorded is not None and _is_our_server(recorded["pid"])
    wanted = {"port": port(), **_s3_settings()}
    if ours and {key: recorded.get(key) for key in wanted} != wanted:
        down()  # started with another S3 server, key pair or bucket: its uploads would fail
        ours = False
    if running():
        return tracking_uri()
    if ours:  # started (by another process, say) but not answering yet
        _wait_until_answering(recorded["pid"])
        return tracking_uri()
    _wait_until_answering(_start_process().pid)
    return tracking_uri()


def _recorded() -> Optional[dict[str, Any]]:
    try:
        state = json.loads(_state_file().read_text())
        return state if isinstance(state, dict) and isinstance(state.get("pid"), int) else None
    except (OSError, ValueError):
        return None


def _is_our_server(pid: int) -> bool:
    """Whether `pid` still runs `mlflow server` on this state folder's database (pids are reused)."""
    try:
        parts = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return (
        any(part.endswith(b"mlflow") for part in parts)
        and b"server" in parts
        and backend_store_uri().encode() in parts
    )


def processes() -> list[int]:
    """Every live process of this state folder's server, children included (found by the marker)."""
    return [pid for pid in processes_with_env(f"{HOME_MARKER_ENV}={home()}") if _alive(pid)]


def _alive(pid: int) -> bool:
    return pid_alive(pid, _started.get(pid))


def _signal_all(pids: list[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            continue


def down(timeout: float = 15) -> bool:
    """Stop the server this state folder started, children included. True if one was stopped."""
    recorded = _recorded()
    _state_file().unlink(missing_ok=True)
    leader = recorded["pid"] if recorded is not None and _is_our_server(recorded["pid"]) else None
    remaining = processes()
    if leader is None and not remaining:
        return False
    try:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if leader is not None:
                try:
                    os.killpg(leader, sig)  # the CLI forwards SIGTERM to uvicorn, which shuts down
                except ProcessLookupError:
                    pass
            _signal_all(remaining, sig)  # anything that left the process group
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                remaining = processes()
                if not remaining and (leader is None or not _alive(leader)):
                    return True
                time.sleep(0.1)
        return not processes()
    finally:
        for pid in [pid for pid, process in _started.items() if process.poll() is not None]:
            del _started[pid]


def status() -> dict[str, object]:
    """Tracking URI, whether it answers, the pid this state folder started, stores and log."""
    recorded = _recorded()
    pid = recorded["pid"] if recorded is not None and _is_our_server(recorded["pid"]) else None
    return {
        "tracking_uri": tracking_uri(),
        "running": running(),
        "pid": pid,
        "backend": backend_store_uri(),
        "artifacts": f"{artifacts_destination()} on {s3_server.endpoint()}",
        "log": str(log_path()),
    }
