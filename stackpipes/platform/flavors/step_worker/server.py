"""The warm step worker's server: preloads ZenML once, accepts tasks on a Unix socket, forks a child
per task (see the package docstring), and reports each child's exit status back to its task.

    python -m stackpipes.platform.flavors.step_worker.server --socket PATH [--preload MODULES]
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import struct
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

from stackpipes.platform.flavors.step_worker.child import run_request
from stackpipes.platform.flavors.step_worker.client import ping
from stackpipes.platform.flavors.step_worker.protocol import PROTOCOL

# Imported once by the server. Project modules are not: each child imports them fresh.
PRELOAD = (
    "numpy",
    "pandas",
    "pyarrow",
    "pyarrow.parquet",
    "zenml",
    "zenml.client",
    "zenml.entrypoints.entrypoint",
    "zenml.entrypoints.step_entrypoint_configuration",
    "zenml.step_operators.step_operator_entrypoint_configuration",
    "zenml.orchestrators.step_launcher",
    "zenml.orchestrators.step_runner",
    "zenml.orchestrators.publish_utils",
    "zenml.zen_stores.rest_zen_store",
    "zenml.integrations.registry",
    "zenml.artifact_stores.local_artifact_store",
    "zenml.materializers.pandas_materializer",
    "zenml.integrations.airflow.orchestrators.airflow_orchestrator",
    # what building a Stack imports: every component type and the built-in flavors
    "zenml.stack.flavor_registry",
    "zenml.stack.authentication_mixin",
    "zenml.alerter",
    "zenml.annotators",
    "zenml.container_registries",
    "zenml.data_validators",
    "zenml.deployers",
    "zenml.experiment_trackers",
    "zenml.feature_stores",
    "zenml.image_builders",
    "zenml.log_stores",
    "zenml.log_stores.artifact.artifact_log_store",
    "zenml.model_deployers",
    "zenml.model_registries",
    "zenml.sandboxes",
    "zenml.secret",
    "zenml.execution.step.utils",
    "zenml.pipelines.run_utils",
    "zenml.steps.decorated_step",
    "zenml.utils.daemon",
    "multiprocessing",
    "statistics",
    "tqdm",
)
# Never in the server: they start threads or hold locks that a fork copies in a broken state.
FORK_UNSAFE = ("torch", "tensorflow", "jax", "grpc", "mlflow", "ray", "pyspark")
# Read when a library is imported (or the interpreter starts): the server's values are the ones
# its children run with, so a task whose values differ runs in its own process.
IMPORT_TIME_VARIABLES = (
    "ZENML_CONFIG_PATH", "ZENML_MATERIALIZER_ALLOW_NON_ASCII_JSON_DUMPS", "ZENML_PRO_API_URL", "ZENML_PRO_URL",
    "LD_PRELOAD", "LD_LIBRARY_PATH", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
    "ARROW_DEFAULT_MEMORY_POOL", "TZ",
)
ACCEPT_TIMEOUT_S = 5.0  # a connecting client sends its request at once
KILL_GRACE_S = 10.0  # SIGTERM, then SIGKILL, for a step whose task went away


class _Stop(Exception):
    """SIGTERM/SIGINT/SIGHUP in the server."""


class _Job:
    __slots__ = ("pid", "conn", "pidfd", "kill_at", "started", "label")

    def __init__(self, pid: int, conn: socket.socket, pidfd: Optional[int], label: str):
        self.pid, self.conn, self.pidfd, self.label = pid, conn, pidfd, label
        self.kill_at: Optional[float] = None
        self.started = time.monotonic()


def preload(modules: tuple = PRELOAD) -> None:
    """Import the heavy libraries once, before any fork; check nothing was opened or started."""
    import functools
    import importlib
    import importlib.metadata
    import threading

    for name in modules:
        importlib.import_module(name)
    # ZenML resolves every type's package through this scan (seconds); stackpipes.platform.env caches it
    # per process, the server once for all its children. If installed packages change, the
    # server declines requests (see `_installed_stamp`), so cached lists are never stale.
    if not hasattr(importlib.metadata.packages_distributions, "cache_info"):
        importlib.metadata.packages_distributions = functools.lru_cache(maxsize=1)(
            importlib.metadata.packages_distributions
        )
    if "zenml" in sys.modules:
        importlib.metadata.packages_distributions()
        # Imports every integration's package (not its flavors or requirements): what the
        # child's activation would import first. No integration is activated here.
        from zenml.integrations.registry import integration_registry

        getattr(integration_registry, "_initialize", lambda: None)()
        # The task that starts a pipeline run records the installed packages (`pip freeze`, ~1 s):
        # listed once here; the children's list is current while the stamp below is unchanged.
        from zenml.environment import Environment

        if not hasattr(Environment.get_python_packages, "cache_info"):
            Environment.get_python_packages = staticmethod(  # type: ignore[method-assign]
                functools.lru_cache(maxsize=1)(Environment.get_python_packages)
            )
            try:
                Environment.get_python_packages()
            except RuntimeError:  # no pip: ZenML logs it in the child, as without the server
                pass
        from zenml.client import Client
        from zenml.config.global_config import GlobalConfiguration

        if GlobalConfiguration._global_config is not None or Client._global_client is not None:
            raise RuntimeError("preloading created ZenML's configuration or client; children must build their own")
    unsafe = sorted({name.split(".")[0] for name in sys.modules} & set(FORK_UNSAFE))
    if unsafe:
        raise RuntimeError(f"preloading imported {', '.join(unsafe)}, which must not be imported before fork")
    if threading.active_count() != 1:
        raise RuntimeError(f"preloading started threads: {threading.enumerate()}")


def import_time_variables() -> frozenset:
    """Environment variables whose value is fixed when the preloaded libraries are imported."""
    import ast

    names = set(IMPORT_TIME_VARIABLES)
    constants = sys.modules.get("zenml.constants")
    if constants is not None and getattr(constants, "__file__", None):
        # Module-level statements of zenml.constants that read an ENV_* name (ZenML's logging
        # verbosity, debug flag, page sizes ...).
        tree = ast.parse(Path(constants.__file__).read_text())
        for node in tree.body:
            value = getattr(node, "value", None)
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(value, ast.Call):
                for sub in ast.walk(value):
                    if isinstance(sub, ast.Name) and sub.id.startswith("ENV_"):
                        env_name = getattr(constants, sub.id, None)
                        if isinstance(env_name, str):
                            names.add(env_name)
    return frozenset(names)


def _installed_stamp() -> Dict[str, float]:
    """When the site-packages folders and this file last changed (an install changes them)."""
    paths = [p for p in sys.path if p.endswith("site-packages") and os.path.isdir(p)] + [__file__]
    return {p: os.stat(p).st_mtime for p in paths}


class StepServer:
    """Accepts requests on a Unix socket and runs each in a forked child (see module docstring)."""

    def __init__(self, socket_path: Path):
        self.path = Path(socket_path)
        self.pid = os.getpid()
        self.jobs: Dict[int, _Job] = {}
        self.by_fd: Dict[int, _Job] = {}
        self.poller = select.poll()
        self.import_time = import_time_variables()
        self.baseline = {k: v for k, v in os.environ.items() if self._import_time(k)}
        self.stamp = _installed_stamp()
        self.listener = self._listen()

    # -- set-up
    def _listen(self) -> socket.socket:
        folder = self.path.parent
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(folder, 0o700)  # also if it existed
        if len(os.fsencode(self.path)) > 107:
            raise RuntimeError(f"socket path too long for a Unix socket: {self.path}")
        if self.path.exists() or self.path.is_symlink():
            if ping(str(self.path)):
                raise RuntimeError(f"a warm step worker already answers at {self.path}")
            self.path.unlink()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            listener.bind(str(self.path))
        finally:
            os.umask(old)
        os.chmod(self.path, 0o600)
        listener.listen(64)
        listener.setblocking(False)
        self.poller.register(listener.fileno(), select.POLLIN)
        return listener

    def _import_time(self, name: str) -> bool:
        return name in self.import_time or (name.startswith("PYTHON") and name != "PYTHONUNBUFFERED")

    # -- main loop
    def serve(self) -> None:
        def stop(signum: int, frame: Any) -> None:
            if os.getpid() == self.pid:
                raise _Stop(signum)
            os._exit(128 + signum)  # a child between fork and its own handlers

        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, stop)
        _log(f"serving on {self.path} (pid {self.pid})")
        try:
            while True:
                for fd, _ in self.poller.poll(self._poll_timeout_ms()):
                    if fd == self.listener.fileno():
                        self._accept_all()
                    elif fd in self.by_fd and self.by_fd[fd].conn.fileno() == fd:
                        self._check_client(self.by_fd[fd])
                self._reap()
                self._enforce_kills()
        except _Stop:
            _log("stopping")
        finally:
            if os.getpid() == self.pid:
                self.close()

    def _poll_timeout_ms(self) -> int:
        timeout = 1.0
        deadlines = [job.kill_at for job in self.jobs.values() if job.kill_at is not None]
        if deadlines:
            timeout = min(timeout, max(0.0, min(deadlines) - time.monotonic()))
        if any(job.pidfd is None for job in self.jobs.values()):
            timeout = min(timeout, 0.1)  # no pidfd: poll for exits
        return int(timeout * 1000)

    def _accept_all(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            fds: List[int] = []  # the task's descriptors: the child has its own copies
            try:
                self._handle(conn, fds)
            except (OSError, ValueError, KeyError, TypeError) as exc:
                _log(f"bad request: {exc!r}")
                conn.close()
            finally:
                for fd in fds:
                    os.close(fd)

    def _handle(self, conn: socket.socket, fds: List[int]) -> None:
        """Read one request; answer a ping or a refusal, or fork a child that runs it."""
        conn.settimeout(ACCEPT_TIMEOUT_S)
        uid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))[1]
        if uid != os.getuid():
            conn.close()
            return
        data, received, flags, _ = socket.recv_fds(conn, 4, 3)
        fds.extend(received)
        while len(data) < 4:
            more = conn.recv(4 - len(data))
            if not more:
                raise ValueError("connection closed in the request header")
            data += more
        (length,) = struct.unpack("!I", data)
        body = b""
        while len(body) < length:
            more = conn.recv(min(length - len(body), 1 << 20))
            if not more:
                raise ValueError("connection closed in the request")
            body += more
        request = json.loads(body)
        if request.get("op") == "ping":
            self._reply(conn, {"ok": True, "pid": self.pid, "protocol": PROTOCOL, "jobs": len(self.jobs)})
            conn.close()
            return
        reason = self._refusal(request, fds, flags)
        if reason:
            _log(f"declined: {reason}")
            self._reply(conn, {"fallback": reason})
            conn.close()
            return
        self._fork(conn, fds, request)

    def _refusal(self, request: Dict[str, Any], fds: List[int], flags: int) -> Optional[str]:
        if request.get("protocol") != PROTOCOL:
            return f"the server speaks protocol {PROTOCOL}, the task {request.get('protocol')}"
        if flags & socket.MSG_CTRUNC or len(fds) != len(request.get("streams", [])):
            return "the task's output descriptors did not arrive"
        if request.get("executable") != sys.executable:
            return f"the task runs {request.get('executable')}, the server {sys.executable}"
        env = request["env"]
        differ = sorted(k for k in set(env) | set(self.baseline)
                        if self._import_time(k) and _value(k, env) != _value(k, self.baseline))
        if differ:
            return f"environment read at import time differs from the server's ({', '.join(differ)})"
        if _installed_stamp() != self.stamp:
            return "installed packages or the server's code changed since it started (restart: run.py airflow down; up)"
        return None

    @staticmethod
    def _reply(conn: socket.socket, message: Dict[str, Any]) -> None:
        conn.sendall(json.dumps(message).encode() + b"\n")

    def _fork(self, conn: socket.socket, fds: List[int], request: Dict[str, Any]) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        blocked = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
        try:
            pid = os.fork()
        except OSError:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)
            raise
        if pid == 0:  # the child never returns from here
            code = 70
            try:
                self._become_child(conn, fds, request["streams"], previous)
                code = run_request(request)
            except BaseException:  # reported, then the child ends
                import traceback

                traceback.print_exc()
            finally:
                os._exit(code)
        try:
            pidfd: Optional[int] = os.pidfd_open(pid)
        except (AttributeError, OSError):
            pidfd = None
        label = _step_label(request.get("argv", []))
        job = _Job(pid, conn, pidfd, label)
        self.jobs[pid] = job
        self.by_fd[conn.fileno()] = job
        self.poller.register(conn.fileno(), select.POLLIN | select.POLLHUP)
        if pidfd is not None:
            self.by_fd[pidfd] = job
            self.poller.register(pidfd, select.POLLIN)
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)  # a stop from here on stops this child too
        _log(f"{label}: pid {pid} started")
        try:
            self._reply(conn, {"accepted": True, "pid": pid})
        except OSError:
            self._terminate(job)

    def _become_child(self, conn: socket.socket, fds: List[int], streams: List[int], mask: Any) -> None:
        os.setsid()  # its own process group: the server stops the step and what it started
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        try:  # the step ends with the server
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
        if os.getppid() != self.pid:
            os._exit(1)
        self.listener.close()
        for job in self.jobs.values():
            job.conn.close()
            if job.pidfd is not None:
                os.close(job.pidfd)
        for target in (0, 1, 2):
            if target in streams:
                os.dup2(fds[streams.index(target)], target)
            else:
                null = os.open(os.devnull, os.O_RDWR)
                os.dup2(null, target)
                os.close(null)
        for fd in fds:
            if fd > 2:
                os.close(fd)
        fds.clear()
        conn.close()

    def _check_client(self, job: _Job) -> None:
        try:
            data = job.conn.recv(4096, socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if data:
            return  # clients send nothing after the request
        self.poller.unregister(job.conn.fileno())
        if job.kill_at is None:
            _log(f"{job.label}: the task went away; stopping pid {job.pid}")
            self._terminate(job)

    def _terminate(self, job: _Job) -> None:
        _signal_group(job.pid, signal.SIGTERM)
        job.kill_at = time.monotonic() + KILL_GRACE_S

    def _enforce_kills(self) -> None:
        now = time.monotonic()
        for job in list(self.jobs.values()):
            if job.kill_at is not None and now >= job.kill_at:
                _signal_group(job.pid, signal.SIGKILL)
                job.kill_at = now + KILL_GRACE_S

    def _reap(self) -> None:
        for job in list(self.jobs.values()):
            try:
                pid, status = os.waitpid(job.pid, os.WNOHANG)
            except ChildProcessError:
                pid, status = job.pid, 255 << 8
            if pid == 0:
                continue
            code = os.waitstatus_to_exitcode(status)
            code = 128 - code if code < 0 else code  # killed by signal N: 128 + N, as a shell says
            if job.kill_at is not None:  # stopped: also what the step started in its group
                _signal_group(job.pid, signal.SIGKILL, group_only=True)
            _log(f"{job.label}: pid {job.pid} exited {code} after {time.monotonic() - job.started:.1f} s")
            try:
                self._reply(job.conn, {"exit": code})
            except OSError:
                pass
            self._forget(job)

    def _forget(self, job: _Job) -> None:
        del self.jobs[job.pid]
        for fd in [fd for fd, j in self.by_fd.items() if j is job]:
            del self.by_fd[fd]
            try:
                self.poller.unregister(fd)
            except KeyError:
                pass
        job.conn.close()
        if job.pidfd is not None:
            os.close(job.pidfd)

    def close(self) -> None:
        """Stop every running step (SIGTERM, then SIGKILL), reap them, remove the socket."""
        for job in self.jobs.values():
            self._terminate(job)
        deadline = time.monotonic() + KILL_GRACE_S
        while self.jobs and time.monotonic() < deadline:
            self._reap()
            time.sleep(0.05)
        for job in self.jobs.values():
            _signal_group(job.pid, signal.SIGKILL)
        while self.jobs:
            self._reap()
            time.sleep(0.01)
        self.listener.close()
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass


def _signal_group(pid: int, signum: int, group_only: bool = False) -> None:
    """Signal a child's process group; the child itself if it has not made its group yet.

    `group_only` after the child was reaped: its pid may be reused, its group id cannot be
    while the group has members.
    """
    try:
        os.killpg(pid, signum)
    except (ProcessLookupError, PermissionError):
        if group_only:
            return
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass


def _value(name: str, env: Dict[str, str]) -> Optional[str]:
    value = env.get(name)
    return None if value == "" and name.startswith("PYTHON") else value  # empty PYTHON*: unset


def _step_label(argv: List[str]) -> str:
    return f"step {argv[argv.index('--step_name') + 1]}" if "--step_name" in argv[:-1] else "request"


def _log(message: str) -> None:
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} warm step worker: {message}", file=sys.stderr, flush=True)


def main(argv: Optional[List[str]] = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--socket", required=True, help="Unix socket path")
    parser.add_argument("--preload", default=None,
                        help="comma-separated modules to import once (default: ZenML, pandas, pyarrow, numpy)")
    args = parser.parse_args(argv)
    modules = PRELOAD if args.preload is None else tuple(filter(None, args.preload.split(",")))
    started = time.monotonic()
    preload(modules)
    server = StepServer(Path(args.socket))
    _log(f"{len(modules)} modules preloaded in {time.monotonic() - started:.1f} s")
    server.serve()


if __name__ == "__main__":
    main()
