"""The warm step worker's wire protocol: a length-prefixed JSON request (with the task's file
descriptors as SCM_RIGHTS), one JSON line per reply. Standard library only."""

from __future__ import annotations

import json
import socket
import struct
import sys
from typing import Any, Dict, List, Optional

ENV_SOCKET = "STACKPIPES_STEP_SERVER"  # socket path; empty or "0": no server
PROTOCOL = 1
DEFAULT_TARGET = "stackpipes.platform.flavors.step_task:run_in_process"


def note(message: str) -> None:
    print(f"[stackpipes warm step worker] {message}", file=sys.stderr, flush=True)


def send_request(sock: socket.socket, request: Dict[str, Any], fds: List[int]) -> None:
    """One request: a 4-byte length, the JSON body; `fds` travel with the first bytes."""
    body = json.dumps(request).encode()
    header = struct.pack("!I", len(body))
    if fds:
        socket.send_fds(sock, [header], fds)
    else:
        sock.sendall(header)
    sock.sendall(body)


def read_reply(reader: Any) -> Optional[Dict[str, Any]]:
    """One reply line as a dict, or None when the other side closed the connection."""
    line = reader.readline()
    return json.loads(line) if line else None
