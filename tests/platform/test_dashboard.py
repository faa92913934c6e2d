"""`run.py dashboard` starts the real ZenML server on 127.0.0.1 and `--stop` stops it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

from stackpipes.platform.processes import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_dashboard_serves_and_stops(tmp_path):
    port = free_port()
    env = {**os.environ, "STACKPIPES_HOME": str(tmp_path)}
    env.pop("ZENML_CONFIG_PATH", None)
    start = subprocess.run([sys.executable, "run.py", "dashboard", "--port", str(port)], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=240)
    try:
        assert start.returncode == 0, start.stdout + start.stderr
        assert f"http://127.0.0.1:{port}" in start.stdout
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=10) as response:
            assert response.status == 200
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
            assert response.status == 200 and b"<html" in response.read().lower()
        assert f"http://127.0.0.1:{port}/projects/default/runs" in start.stdout  # lands on the runs
        # The first-visit survey is answered for the local user: no newsletter, survey done.
        probe = ("from zenml.client import Client; u = Client().active_user; "
                 "print(u.email_opted_in, u.user_metadata.get('finished_onboarding_survey'))")
        answer = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env={**env, "ZENML_CONFIG_PATH": str(
            tmp_path / "zenml")}, capture_output=True, text=True, timeout=120)
        assert answer.stdout.split()[-2:] == ["False", "True"], answer.stdout + answer.stderr
    finally:
        stop = subprocess.run([sys.executable, "run.py", "dashboard", "--stop"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
    assert stop.returncode == 0, stop.stdout + stop.stderr
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0  # nothing listens any more
