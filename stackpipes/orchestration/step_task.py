"""Run one ZenML step in this process: `python -m stackpipes.orchestration.step_task ARGS`.

The command every out-of-process step runs (Airflow tasks, the local GPU step operator). It sets
the project's environment and limits ZenML's integration activation before ZenML is imported,
then hands the arguments to ZenML's own entrypoint.
"""

from __future__ import annotations

import sys
from pathlib import Path


def main() -> None:
    root = Path(__file__).resolve().parents[2]
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    from stackpipes.env import boot_zenml

    boot_zenml()
    from zenml.entrypoints.entrypoint import main as zenml_entrypoint

    zenml_entrypoint()


if __name__ == "__main__":
    main()
