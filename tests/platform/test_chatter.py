"""The console shows the project's output: named library chatter is dropped at its logger, the
rest of the same loggers is kept; `run.py mlflow-ui` leaves no server process behind."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from stackpipes.platform.chatter import CHATTER, quiet_library_chatter
from stackpipes.platform.processes import free_port

ROOT = Path(__file__).resolve().parents[2]


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_each_named_line_is_dropped_and_the_rest_of_its_logger_kept():
    quiet_library_chatter()
    quiet_library_chatter()  # idempotent: one filter per logger
    collect = _Collect()
    names = sorted({item.logger for item in CHATTER})
    for name in names:  # on each logger itself: MLflow's do not propagate to the root once configured
        logging.getLogger(name).addHandler(collect)
    try:
        for item in CHATTER:
            logger = logging.getLogger(item.logger)
            assert sum(type(f).__name__ == "ChatterFilter" for f in logger.filters) == 1
            logger.warning("before %s after", item.contains)
        for name in names:
            logging.getLogger(name).warning("a real problem in %s", name)
    finally:
        for name in names:
            logging.getLogger(name).removeHandler(collect)
    assert not any(item.contains in message for message in collect.messages for item in CHATTER)
    assert sorted(collect.messages) == [f"a real problem in {name}" for name in names]


def test_a_child_logger_is_not_silenced_by_its_parent_entry():
    quiet_library_chatter()
    collect = _Collect()
    child = logging.getLogger("mlflow.pyfunc.something_else")
    child.addHandler(collect)
    child.propagate = False
    try:
        child.warning("serialized using CloudPickle")  # written by another module: kept
    finally:
        child.removeHandler(collect)
    assert collect.messages == ["serialized using CloudPickle"]


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def test_mlflow_ui_stops_its_server_and_workers_with_the_command(tmp_path):
    port = free_port()
    env = {**os.environ, "STACKPIPES_HOME": str(tmp_path / "state"), "STACKPIPES_REPORTS": str(tmp_path / "reports")}
    env.pop("ZENML_CONFIG_PATH", None)
    assert subprocess.run([sys.executable, "run.py", "stack", "up", "local"], cwd=ROOT, env=env,
                          capture_output=True, timeout=300).returncode == 0
    command = subprocess.Popen([sys.executable, "run.py", "mlflow-ui", "--port", str(port)], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert command.poll() is None, command.stdout.read()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as answer:
                    assert answer.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline, "the MLflow UI did not answer"
                time.sleep(0.5)
        server_groups = {os.getpgid(int(p.name)) for p in Path("/proc").iterdir() if p.name.isdigit()
                         and _parent(int(p.name)) == command.pid}
        assert server_groups and command.pid not in server_groups  # the server runs in its own group
        command.send_signal(signal.SIGTERM)
        assert command.wait(timeout=60) == 0
        assert not any(_group_alive(group) for group in server_groups)
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
            raise AssertionError("the MLflow UI still answers after its command stopped")
        except OSError:
            pass
    finally:
        if command.poll() is None:
            command.kill()


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1


def test_named_warnings_are_ignored_and_others_still_shown():
    import warnings

    from stackpipes.platform.chatter import WARNING_CHATTER

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        quiet_library_chatter()
        warnings.warn("\x1b[1;33mAn input example was not provided when logging the model.", UserWarning, stacklevel=1)
        warnings.warn("a warning nobody listed", UserWarning, stacklevel=1)
    assert [str(w.message) for w in caught] == ["a warning nobody listed"]
    assert all(why for _pattern, _category, why in WARNING_CHATTER)
