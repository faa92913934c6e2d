"""The servers a stack needs, started by the project: the local ZenML server, Airflow, S3, MLflow.

A stack file lists them under `services:`; `run.py` starts the missing ones before registering
the stack, so `python run.py --stack airflow --pipeline X` works on a fresh machine. This module
only names them: each lives in its own module below (`zenml_server`, `airflow_server`,
`s3_server`, `mlflow_server`), which is imported only when that server is wanted, and none of
them imports this one. Nothing here imports ZenML: the ZenML client must read its configuration
after the server login.
"""

from __future__ import annotations

import importlib
from types import ModuleType

# service name (as stack files write it) -> (module below this package, label for people)
SERVICES: dict[str, tuple[str, str]] = {
    "zenml_server": ("zenml_server", "ZenML server"),
    "airflow": ("airflow_server", "Airflow"),
    "s3": ("s3_server", "S3 (moto)"),
    "mlflow": ("mlflow_server", "MLflow tracking server"),  # starts the S3 server too when needed
}


def service_module(name: str) -> ModuleType:
    """The module that starts and stops service `name` (its `up()` and `down()`)."""
    if name not in SERVICES:
        raise ValueError(f"unknown service '{name}' (known: {', '.join(SERVICES)})")
    return importlib.import_module(f"{__name__}.{SERVICES[name][0]}")


def ensure(services: list[str]) -> list[str]:
    """Start each named service that is not running; return what was done, for printing."""
    done = []
    for name in services:
        module = service_module(name)
        done.append(f"{SERVICES[name][1]}: {module.up()}")
    return done
