"""Locks in the state folder that hold across the processes of this machine (fcntl.flock).

Two runs started together on a new state folder must not both create ZenML's store, register the
same stack or create MLflow's schema. Re-entrant within a process, so nested users share the lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator

from stackpipes.platform.env import secure_state

_held: dict[str, tuple[int, int]] = {}  # name -> (fd, depth) held by this process
_guard = threading.RLock()


@contextlib.contextmanager
def state_lock(name: str) -> Iterator[None]:
    """Hold the lock `name` (a file under `<state>/locks/`) for the duration of the block."""
    with _guard:
        if name in _held:
            fd, depth = _held[name]
            _held[name] = (fd, depth + 1)
        else:
            folder = secure_state() / "locks"
            folder.mkdir(exist_ok=True)
            fd = os.open(folder / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX)
            _held[name] = (fd, 1)
        try:
            yield
        finally:
            fd, depth = _held[name]
            if depth > 1:
                _held[name] = (fd, depth - 1)
            else:
                del _held[name]
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
