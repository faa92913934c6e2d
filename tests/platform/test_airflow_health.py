"""The Airflow orchestrator's health wait: a part that answers late (a scheduler heartbeat on a
loaded machine) gets time; nothing answering is said at once. Against a real HTTP server on
loopback that answers /api/v2/monitor/health as Airflow does."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from stackpipes.platform.flavors.airflow.api_client import AirflowAPI, AirflowError
from stackpipes.platform.processes import free_port


def health_server(healthy_after: float) -> ThreadingHTTPServer:
    started = time.monotonic()

    class Health(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            late = time.monotonic() - started < healthy_after
            body = json.dumps({"metadatabase": {"status": "healthy"},
                               "scheduler": {"status": "unhealthy" if late else "healthy"},
                               "dag_processor": {"status": "healthy"}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_nothing_listening_is_said_at_once():
    api = AirflowAPI(f"http://127.0.0.1:{free_port()}", timeout=2)
    started = time.monotonic()
    assert api.wait_healthy(timeout=30) == ["api server"]
    assert time.monotonic() - started < 5


def test_a_late_heartbeat_is_waited_for():
    server = health_server(healthy_after=1.5)
    try:
        api = AirflowAPI(f"http://127.0.0.1:{server.server_address[1]}", timeout=2)
        assert api.unhealthy_parts() == ["scheduler"]
        assert api.wait_healthy(timeout=20, poll=0.2) == []
    finally:
        server.shutdown()


def test_a_part_that_stays_down_is_named_after_the_timeout():
    server = health_server(healthy_after=3600)
    try:
        api = AirflowAPI(f"http://127.0.0.1:{server.server_address[1]}", timeout=2)
        started = time.monotonic()
        assert api.wait_healthy(timeout=1.0, poll=0.2) == ["scheduler"]
        assert 1.0 <= time.monotonic() - started < 5
    finally:
        server.shutdown()


def dag_server(parsed_after: float, errors: list[dict]) -> ThreadingHTTPServer:
    """Answers as Airflow's API does for a DAG the processor parses `parsed_after` seconds from
    now, with the given import errors listed meanwhile."""
    started = datetime.now(timezone.utc)

    class Dags(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            if self.path == "/auth/token":
                body: dict = {"access_token": "t"}
            elif self.path == "/api/v2/importErrors":
                body = {"import_errors": errors}
            else:
                now = datetime.now(timezone.utc)
                parsed = now if (now - started).total_seconds() >= parsed_after else started - timedelta(hours=1)
                body = {"dag_id": "chat_forecast", "is_paused": False,
                        "last_parsed_time": parsed.isoformat().replace("+00:00", "Z")}
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(json.dumps(body).encode())

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Dags)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_an_import_error_left_from_an_earlier_bundle_does_not_fail_the_new_one():
    written_at = datetime.now(timezone.utc)
    stale = {"filename": "/airflow/dags/chat_forecast.zip", "stack_trace": "NotADirectoryError",
             "timestamp": (written_at - timedelta(minutes=5)).isoformat()}
    server = dag_server(parsed_after=1.5, errors=[stale])
    try:
        AirflowAPI(f"http://127.0.0.1:{server.server_port}").wait_for_dag(
            "chat_forecast", written_at, "chat_forecast.zip", timeout=20)
    finally:
        server.shutdown()


def test_an_import_error_of_the_new_bundle_is_said_with_its_trace():
    written_at = datetime.now(timezone.utc)
    fresh = {"filename": "/airflow/dags/chat_forecast.zip", "stack_trace": "SyntaxError: bad dag",
             "timestamp": (written_at + timedelta(seconds=1)).isoformat()}
    server = dag_server(parsed_after=60, errors=[fresh])
    try:
        with pytest.raises(AirflowError, match="could not import DAG 'chat_forecast'.*SyntaxError: bad dag"):
            AirflowAPI(f"http://127.0.0.1:{server.server_port}").wait_for_dag(
                "chat_forecast", written_at, "chat_forecast.zip", timeout=20)
    finally:
        server.shutdown()
