"""Where the project's Airflow lives: its virtual environment, home folder, DAG folder and API URL.

The orchestrator flavor reads these to deploy DAGs; `services.airflow_server` to start Airflow.
"""

from __future__ import annotations

import os
from pathlib import Path

from stackpipes.platform.env import PROJECT_ROOT, state_dir


def venv_dir() -> Path:
    return Path(os.environ.get("STACKPIPES_AIRFLOW_VENV", PROJECT_ROOT / ".venv-airflow"))


def home() -> Path:
    return state_dir() / "airflow"


def dags_dir() -> Path:
    path = home() / "dags"
    path.mkdir(parents=True, exist_ok=True)
    return path


def port() -> int:
    return int(os.environ.get("STACKPIPES_AIRFLOW_PORT", "8280"))


def api_url() -> str:
    return f"http://127.0.0.1:{port()}"
