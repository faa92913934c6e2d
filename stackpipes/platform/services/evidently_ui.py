"""Evidently's own UI over a local workspace, on 127.0.0.1: start, stop, status.

`evidently ui` ships its web assets inside the package, so it runs offline; its telemetry is
switched off (DO_NOT_TRACK). The workspace folder is given by the caller (the shared core keeps
it under the state folder). Settings: STACKPIPES_EVIDENTLY_PORT (default 8285; Evidently's own
default, 8000, collides with many servers), STACKPIPES_EVIDENTLY_START_TIMEOUT (seconds, 60).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from stackpipes.platform.env import state_dir
from stackpipes.platform.processes import pid_alive, port_from_env, require_free_port

DEFAULT_PORT = 8285


class EvidentlyUIError(RuntimeError):
    """The Evidently UI could not be started."""


def port() -> int:
    return port_from_env("STACKPIPES_EVIDENTLY_PORT", DEFAULT_PORT)


def url() -> str:
    return f"http://127.0.0.1:{port()}"


def _home() -> Path:
    path = state_dir() / "evidently-ui"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _pid_file() -> Path:
    return _home() / "server.pid"


def log_path() -> Path:
    return _home() / "server.log"


def running() -> bool:
    try:
        with urllib.request.urlopen(f"{url()}/api/version", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def up(workspace: Path) -> str:
    """Serve `workspace` (started once; a second call finds it running) and return the URL."""
    if running():
        return url()
    require_free_port(port(), "STACKPIPES_EVIDENTLY_PORT", "Evidently UI")
    workspace.mkdir(parents=True, exist_ok=True)
    binary = Path(sys.executable).parent / "evidently"
    env = {**os.environ, "DO_NOT_TRACK": "1"}
    with open(log_path(), "ab") as log:
        process = subprocess.Popen(
            [str(binary), "ui", "--workspace", str(workspace), "--host", "127.0.0.1", "--port", str(port())],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True, env=env,
        )
    _pid_file().write_text(str(process.pid))
    deadline = time.monotonic() + float(os.environ.get("STACKPIPES_EVIDENTLY_START_TIMEOUT", "60"))
    while time.monotonic() < deadline:
        if running():
            return url()
        if process.poll() is not None:
            _pid_file().unlink(missing_ok=True)
            raise EvidentlyUIError(f"the Evidently UI exited at start (exit {process.returncode}); see {log_path()}")
        time.sleep(0.3)
    down()
    raise EvidentlyUIError(f"the Evidently UI did not answer on {url()} in time; see {log_path()}")


def down() -> int:
    """Stop the UI this state folder started (its whole process group); 0 also when none ran."""
    pid_file = _pid_file()
    if not pid_file.exists():
        return 0
    pid = int(pid_file.read_text().strip() or 0)
    if pid and pid_alive(pid):
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + 15
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if pid_alive(pid):
            os.killpg(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)
    return 0
