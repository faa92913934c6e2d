"""A small client for Airflow 3's REST API (v2): wait for a DAG, trigger a run, follow it.

Standard library only, so it runs in either virtual environment. Tokens come from the API
server's `/auth/token` (the project's Airflow runs the simple auth manager on loopback).
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Optional

FINISHED = {"success", "failed"}


class AirflowError(RuntimeError):
    """Airflow refused a request, or a DAG run failed (the message says which and why)."""


HEALTH_PARTS = ("metadatabase", "scheduler", "dag_processor")


@dataclass
class AirflowAPI:
    url: str  # e.g. http://127.0.0.1:8280
    timeout: float = 30.0
    _token: Optional[str] = None

    def _request(self, method: str, path: str, body: Any = None, authorised: bool = True) -> Any:
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if authorised:
            headers["Authorization"] = f"Bearer {self.token()}"
        request = urllib.request.Request(self.url.rstrip("/") + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                text = response.read().decode()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:500]
            raise AirflowError(f"Airflow API {method} {path}: HTTP {exc.code}: {detail}") from None
        except urllib.error.URLError as exc:
            raise AirflowError(f"Airflow API at {self.url} is not reachable ({exc.reason})") from None
        return json.loads(text) if text else None

    def token(self) -> str:
        if self._token is None:
            self._token = self._request("GET", "/auth/token", authorised=False)["access_token"]
        return self._token

    def healthy(self) -> bool:
        """Whether the API server answers and the scheduler and DAG processor report healthy."""
        return not self.unhealthy_parts()

    def unhealthy_parts(self) -> list[str]:
        """The parts that are not healthy now; ["api server"] when nothing (or not Airflow) answers."""
        try:
            health = self._request("GET", "/api/v2/monitor/health", authorised=False)
        except (AirflowError, OSError):
            return ["api server"]
        return [part for part in HEALTH_PARTS if (health.get(part) or {}).get("status") != "healthy"]

    def wait_healthy(self, timeout: float = 60.0, poll: float = 2.0) -> list[str]:
        """Wait up to `timeout` for every part to report healthy; returns what is still not. A
        heartbeat can lag on a loaded machine: a part is given this long before it counts as down."""
        deadline = time.monotonic() + timeout
        while True:
            parts = self.unhealthy_parts()
            # Nothing answering is not a lagging heartbeat: said at once.
            if not parts or parts == ["api server"] or time.monotonic() >= deadline:
                return parts
            time.sleep(poll)

    def dag(self, dag_id: str) -> Optional[dict[str, Any]]:
        try:
            return self._request("GET", f"/api/v2/dags/{urllib.parse.quote(dag_id)}")
        except AirflowError as exc:
            if "HTTP 404" in str(exc):
                return None
            raise

    def import_errors(self) -> list[dict[str, Any]]:
        return self._request("GET", "/api/v2/importErrors")["import_errors"]

    def wait_for_dag(self, dag_id: str, written_at: datetime, file_name: str, timeout: float = 180) -> None:
        """Wait until the DAG processor has parsed the DAG file written at `written_at`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            dag = self.dag(dag_id)
            if dag and dag.get("last_parsed_time"):
                parsed = datetime.fromisoformat(dag["last_parsed_time"].replace("Z", "+00:00"))
                if parsed >= written_at:
                    if dag.get("is_paused"):
                        self._request("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})
                    return
            errors = [e for e in self.import_errors()
                      if file_name in (e.get("filename") or "") and not _older(e.get("timestamp"), written_at)]
            if errors:
                raise AirflowError(f"Airflow could not import DAG '{dag_id}': {errors[0].get('stack_trace', '')[-2000:]}")
            time.sleep(1.0)
        raise AirflowError(f"Airflow did not pick up DAG '{dag_id}' within {timeout:.0f} s (is the DAG processor running?)")

    def trigger(self, dag_id: str, run_id: str, conf: dict[str, Any]) -> dict[str, Any]:
        return self._request(
            "POST", f"/api/v2/dags/{dag_id}/dagRuns", {"dag_run_id": run_id, "logical_date": None, "conf": conf}
        )

    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return self._request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id)}")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        path = f"/api/v2/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id)}/taskInstances"
        return self._request("GET", path)["task_instances"]

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int) -> str:
        path = (f"/api/v2/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id)}/taskInstances/"
                f"{task_id}/logs/{max(try_number, 1)}?full_content=true")
        content = self._request("GET", path).get("content", [])
        lines = []
        for entry in content if isinstance(content, list) else [content]:
            if isinstance(entry, dict):
                event = entry.get("event", "")
                if not str(event).startswith("::"):
                    lines.append(f"{entry.get('level', '')}: {event}".strip(": "))
            else:
                lines.append(str(entry))
        return "\n".join(lines)

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float, poll: float = 2.0,
                     failed_steps: Optional[Callable[[], set[str]]] = None) -> dict[str, Any]:
        """Wait for a DAG run to finish; raise AirflowError with the failed tasks' logs if it failed."""
        deadline = time.monotonic() + timeout
        while True:
            run = self.dag_run(dag_id, run_id)
            if run["state"] in FINISHED:
                break
            if time.monotonic() > deadline:
                raise AirflowError(f"DAG run {dag_id}/{run_id} still {run['state']} after {timeout:.0f} s")
            time.sleep(poll)
        # A DAG with fail_fast marks what it stops as skipped, and a run whose leaves were all
        # skipped ends "success" even though a task failed: judge by the task instances too.
        tasks = self.task_instances(dag_id, run_id)
        failed = sorted((t for t in tasks if t["state"] == "failed"), key=lambda t: t.get("end_date") or "")
        if run["state"] == "success" and not failed:
            return run
        message = f"Airflow DAG run {dag_id}/{run_id} failed"
        if failed:
            # fail_fast also fails the tasks that were running beside the failing one: report the
            # task whose own command failed.
            logs = {t["task_id"]: self.task_log(dag_id, run_id, t["task_id"], t.get("try_number", 1)) for t in failed}
            # Tasks started beside a failed step can also fail (ZenML refuses new steps in a failed
            # fail_fast run); the step that failed first is the one ZenML recorded as failed.
            known = failed_steps() if failed_steps is not None else set()
            culprit = next((task for task in logs if task in known), None) or next(
                (task for task, log in logs.items()
                 if re.search(r"return code [1-9]", log) and "execution mode is fail_fast" not in log),
                failed[0]["task_id"])
            tail = "\n".join(logs[culprit].splitlines()[-40:])
            message += f" in task '{culprit}'. Its log ends with:\n{tail}"
        raise AirflowError(message)


def _older(timestamp: Optional[str], than: datetime) -> bool:
    """Whether an Airflow timestamp is before `than` (an import error left from an earlier file)."""
    if not timestamp:
        return False
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")) < than
