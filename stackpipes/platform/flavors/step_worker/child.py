"""The forked child of the warm step worker: it becomes the task's process and runs the step."""

from __future__ import annotations

import os
import sys
from typing import Any, Dict

from stackpipes.platform.flavors.step_worker.protocol import DEFAULT_TARGET


def run_request(request: Dict[str, Any]) -> int:
    """In the forked child: become the task's process, run the target, return its exit status.

    What the interpreter does at exit is done here too (non-daemon threads joined, atexit
    handlers run, streams flushed): the caller ends the process with os._exit.
    """
    import importlib
    import traceback

    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    os.umask(request["umask"])
    sys.argv = list(request["argv"])
    sys.path[:] = request["path"]
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(line_buffering=True)  # type: ignore[union-attr]
        except (AttributeError, ValueError):
            pass
    _fresh_process_state()
    code = 0
    try:
        module, _, function = request.get("target", DEFAULT_TARGET).partition(":")
        getattr(importlib.import_module(module), function)()
    except SystemExit as exc:
        code = _exit_status(exc)
    except KeyboardInterrupt:
        traceback.print_exc()
        code = 130
    except BaseException:
        sys.excepthook(*sys.exc_info())
        code = 1
    return _finish(code)


def _fresh_process_state() -> None:
    """What a new interpreter would have that a fork does not: its own RNG state and ZenML's
    logging set up from this task's environment (handlers write to fds 1/2, now the task's)."""
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed()  # the legacy global generator is not reseeded at fork
    logger = sys.modules.get("zenml.logger")
    if logger is not None:
        logger.init_logging()


def _exit_status(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code & 0xFF
    print(exc.code, file=sys.stderr)
    return 1


def _finish(code: int) -> int:
    import atexit
    import threading

    try:
        shutdown = getattr(threading, "_shutdown", None)
        if shutdown is not None:
            shutdown()  # join non-daemon threads, as the interpreter does at exit
        atexit._run_exitfuncs()
    except BaseException:  # exit handlers must not change the step's status
        pass
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    return code
