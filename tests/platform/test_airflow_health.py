"""The Airflow orchestrator's health wait: a part that answers late (a scheduler heartbeat on a
loaded machine) gets time; nothing answering is said at once. Against a real HTTP server on
loopback that answers /api/v2/monitor/health as Airflow does."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from stackpipes.platform.flavors.airflow.api_client import AirflowAPI
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
