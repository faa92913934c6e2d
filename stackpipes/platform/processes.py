"""Process helpers every server of the project uses: a free port, liveness, finding our processes."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path
from typing import Optional


def port_from_env(variable: str, default: int) -> int:
    """The TCP port a server is told to use by `variable` (default `default`), checked."""
    value = os.environ.get(variable, str(default))
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise ValueError(f"{variable} must be a TCP port number (1-65535), got {value!r}")
    return int(value)


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


class PortInUseError(RuntimeError):
    """A server of the project cannot listen where it is told to: names the port and its variable."""


def require_free_port(port: int, variable: str, what: str, host: str = "127.0.0.1") -> None:
    """Refuse, in one line, to start `what` on a port something else already listens on."""
    import errno

    with socket.socket() as sock:
        # As the servers bind: connections of a server just stopped (TIME_WAIT) do not count.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            raise PortInUseError(
                f"port {port} on {host} is already in use, so the {what} cannot start there: "
                f"stop what listens on it or set {variable} to a free port"
            ) from None


def stop_group(leader: int, grace: float = 15.0) -> None:
    """Stop process group `leader`: SIGTERM, then SIGKILL for whatever still runs after `grace`."""
    import signal
    import time

    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(leader, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                os.waitpid(leader, os.WNOHANG)  # reap the leader if it is our child
            except ChildProcessError:
                pass
            try:
                os.killpg(leader, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)


def run_in_foreground(argv: list[str], **popen: object) -> int:
    """Run a server until it exits or this process is interrupted (Ctrl-C, SIGTERM); then stop its
    whole process group, so no worker it forked outlives the command. Returns its exit code (0
    when stopped by a signal)."""
    import signal

    process = subprocess.Popen(argv, start_new_session=True, **popen)  # type: ignore[call-overload]
    stopping = {"signal": 0}

    def forward(signum: int, frame: object) -> None:
        stopping["signal"] = signum

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while process.poll() is None and not stopping["signal"]:
            try:
                process.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                continue
    finally:
        stop_group(process.pid)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    code = process.poll()
    if stopping["signal"]:
        return 0  # stopped by its user: a normal end for a server
    return code if code is not None else 1
