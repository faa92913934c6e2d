"""Watching an inbox folder: one lecture_summary run per new file once it has stopped growing.

watchdog reports what changes in the folder (inotify on Linux); a file is taken once its size and
modification time have not changed for `settle_s` seconds (an upload or a copy in progress is
left alone). Each file runs as its own `run.py --input FILE` process, so one bad lecture cannot
take the watcher down. A file whose run fails is moved to `failed/` with the reason beside it;
one already summarised (its content hash in the ledger, whatever its name) is skipped, so a
restarted watcher does not do anything twice. Ctrl-C (SIGINT) or SIGTERM stops it between files;
a run in progress is stopped with it and its file left in the inbox for the next start.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from stackpipes.lecture_summary.inbox import (
    IGNORED,
    InputFileError,
    candidates,
    check_input,
    content_hash,
    move_to_failed,
)

logger = logging.getLogger(__name__)
MAX_SETTLE_S = 3600.0


@dataclass
class Outcome:
    path: str
    status: str           # summarised | skipped | failed | interrupted
    detail: str = ""


@dataclass
class Watcher:
    """See the module doc. `run_file(path) -> (returncode, output)` runs one lecture;
    `is_done(sha256) -> bool` asks the ledger."""

    inbox: Path
    run_file: Callable[[Path], tuple[int, str]]
    is_done: Callable[[str], bool]
    settle_s: float = 2.0
    outcomes: list[Outcome] = field(default_factory=list)
    _seen: dict[Path, tuple[int, float, float]] = field(default_factory=dict)
    _wake: threading.Event = field(default_factory=threading.Event)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        if not 0 <= self.settle_s <= MAX_SETTLE_S:
            raise ValueError(f"settle seconds must be within [0, {MAX_SETTLE_S:.0f}], got {self.settle_s}")
        self.inbox = Path(self.inbox).expanduser().absolute()
        if not self.inbox.is_dir():
            raise InputFileError(f"inbox {self.inbox}: no such folder")

    # --- events ----------------------------------------------------------------------------------

    def notice(self, path: Path) -> None:
        """A file appeared or changed (from watchdog, or the start-up scan)."""
        if path.parent != self.inbox or IGNORED.search(path.name):
            return
        self._seen.pop(path, None)  # restarts its quiet period
        self._seen[path] = self._state(path)
        self._wake.set()

    @staticmethod
    def _state(path: Path) -> tuple[int, float, float]:
        try:
            stat = path.lstat()
            return stat.st_size, stat.st_mtime, time.monotonic()
        except FileNotFoundError:
            return -1, 0.0, time.monotonic()

    def ready(self) -> list[Path]:
        """Files that have not changed for `settle_s` seconds, oldest notice first."""
        now, found = time.monotonic(), []
        for path, (size, mtime, since) in list(self._seen.items()):
            if not (path.exists() or path.is_symlink()):
                self._seen.pop(path, None)
                continue
            current = self._state(path)
            if current[:2] != (size, mtime):
                self._seen[path] = current
            elif now - since >= self.settle_s:
                found.append(path)
        return found

    # --- work ------------------------------------------------------------------------------------

    def process(self, path: Path) -> Outcome:
        self._seen.pop(path, None)
        try:
            sha256 = content_hash(check_input(path, self.inbox))
        except InputFileError as exc:
            return self._failed(path, str(exc))
        if self.is_done(sha256):
            logger.info("%s: already summarised (sha256 %s), skipped", path.name, sha256[:12])
            return self._record(Outcome(str(path), "skipped", "already summarised"))
        logger.info("%s: summarising ...", path.name)
        code, output = self.run_file(path)
        if self._stop.is_set() and code != 0:
            return self._record(Outcome(str(path), "interrupted", "stopped; taken again at the next start"))
        if code == 0:
            logger.info("%s: done", path.name)
            return self._record(Outcome(str(path), "summarised", output.strip().splitlines()[-1] if output.strip() else ""))
        return self._failed(path, failure_reason(output, code))

    def _failed(self, path: Path, reason: str) -> Outcome:
        target = move_to_failed(path, self.inbox, reason) if (path.exists() or path.is_symlink()) else path
        logger.warning("%s: failed, moved to %s: %s", path.name, target, reason)
        return self._record(Outcome(str(path), "failed", reason))

    def _record(self, outcome: Outcome) -> Outcome:
        self.outcomes.append(outcome)
        return outcome

    def scan(self) -> None:
        for path in candidates(self.inbox):
            self.notice(path.absolute())

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def run(self, once: bool = False, idle_exit_s: Optional[float] = None) -> list[Outcome]:
        """Watch until stopped (or, with `once`, until what is in the inbox now is done)."""
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers import Observer

        watcher = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event) -> None:  # created, modified, moved in, closed
                if event.is_directory:
                    return
                target = getattr(event, "dest_path", "") or event.src_path
                watcher.notice(Path(str(target)))

        observer = Observer()
        observer.schedule(Handler(), str(self.inbox), recursive=False)
        observer.start()
        self.scan()
        idle_since = time.monotonic()
        try:
            while not self._stop.is_set():
                for path in self.ready():
                    if self._stop.is_set():
                        break
                    self.process(path)
                    idle_since = time.monotonic()
                if once and not self._seen:
                    break
                if idle_exit_s is not None and not self._seen and time.monotonic() - idle_since > idle_exit_s:
                    break
                self._wake.wait(timeout=min(0.5, max(self.settle_s / 2, 0.05)))
                self._wake.clear()
        finally:
            observer.stop()
            observer.join(timeout=10)
        return self.outcomes


def failure_reason(output: str, code: int) -> str:
    """The run's own `error:` line (run.py prints one for every failure a user can fix), else
    the end of its output."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    if errors:
        return errors[-1][len("error:"):].strip()
    tail = " | ".join(lines[-3:]) if lines else "no output"
    return f"the run ended with exit code {code}: {tail}"


def subprocess_runner(stack: str, config: Optional[str], project_root: Path,
                      timeout_s: float) -> Callable[[Path], tuple[int, str]]:
    """Runs one file as `python run.py --stack S --pipeline lecture_summary --input FILE`."""

    def run_file(path: Path) -> tuple[int, str]:
        command = [sys.executable, str(project_root / "run.py"), "--stack", stack, "--pipeline", "lecture_summary",
                   "--input", str(path)]
        if config:
            command += ["--config", config]
        process = subprocess.Popen(command, cwd=project_root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   text=True, start_new_session=True)
        try:
            output, _ = process.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
            return 124, (output or "") + f"\nerror: the run took longer than {timeout_s:.0f} s and was stopped"
        except BaseException:  # Ctrl-C in the watcher: stop the run too, then stop
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
            raise
        sys.stdout.write(output)
        return process.returncode, output

    return run_file
