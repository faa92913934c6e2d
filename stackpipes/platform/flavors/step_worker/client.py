"""The task side of the warm step worker: hand the step to the server, or say why it runs here.

Standard library only: every Airflow task imports this before it knows whether a server answers.
"""

from __future__ import annotations

import os
import socket
import sys
from typing import Any, Dict, List, Optional

from stackpipes.platform.flavors.step_worker.protocol import (
    DEFAULT_TARGET,
    ENV_SOCKET,
    PROTOCOL,
    note,
    read_reply,
    send_request,
)


def run_on_server(
    args: List[str], target: str = DEFAULT_TARGET, path: Optional[str] = None, quiet: bool = False
) -> Optional[int]:
    """Run `target` with argv `[sys.argv[0], *args]` in a fork of the warm step worker.

    Returns the exit status, or None when the caller should run it itself (no server configured
    or reachable, or the server declined: it says why on stderr).
    """
    path = path if path is not None else os.environ.get(ENV_SOCKET, "")
    if path in ("", "0"):
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    with sock:
        try:
            sock.connect(path)
        except OSError as exc:
            note(f"no server at {path} ({exc.strerror or exc}); the step runs in this process")
            return None
        umask = os.umask(0o022)
        os.umask(umask)
        streams = [fd for fd in (0, 1, 2) if _is_open(fd)]
        request = {
            "protocol": PROTOCOL, "op": "run", "target": target, "argv": [sys.argv[0], *args],
            "env": dict(os.environ), "cwd": os.getcwd(), "path": list(sys.path), "umask": umask,
            "executable": sys.executable, "streams": streams,
        }
        reader = sock.makefile("rb")
        try:
            send_request(sock, request, streams)
            reply = read_reply(reader)
        except (OSError, ValueError) as exc:
            note(f"server at {path} did not take the step ({exc}); the step runs in this process")
            return None
        if not reply or "accepted" not in reply:
            reason = (reply or {}).get("fallback", "no answer")
            note(f"{reason}; the step runs in this process")
            return None
        if not quiet:
            note(f"the step runs in a fork of the warm worker (pid {reply['pid']})")
        try:
            done = read_reply(reader)
        except (OSError, ValueError):
            done = None
        if done is None:
            note("the server stopped before the step finished")
            return 1
        return int(done["exit"])


def ping(path: str, timeout: float = 2.0) -> Optional[Dict[str, Any]]:
    """The server's answer to a ping (its pid), or None when none answers at `path`."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(path)
            send_request(sock, {"protocol": PROTOCOL, "op": "ping"}, [])
            return read_reply(sock.makefile("rb"))
    except (OSError, ValueError):
        return None


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True
