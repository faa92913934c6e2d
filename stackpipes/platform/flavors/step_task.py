"""Run one ZenML step: `python -m stackpipes.platform.flavors.step_task ARGS`.

The command every out-of-process step runs (Airflow tasks, the local GPU step operator). When
$STACKPIPES_STEP_SERVER names a running warm step worker (`run.py airflow up` starts one for Airflow's
tasks), the step runs in a fork of that warm worker, which has ZenML imported already; this
process only hands over its arguments, environment and output, and exits with the step's status
(see the step_worker package). Otherwise, or when the server declines, the step runs here: the project's
environment and ZenML's limited integration activation are set before ZenML is imported, then
the arguments go to ZenML's own entrypoint.
"""

from __future__ import annotations

import sys
from pathlib import Path


def main() -> None:
    from stackpipes.platform.flavors.step_worker.client import run_on_server

    code = run_on_server(sys.argv[1:])
    if code is not None:
        sys.exit(code)
    run_in_process()


def run_in_process() -> None:
    """Run the step given by sys.argv in this process (also what a warm step worker's child runs)."""
    root = Path(__file__).resolve().parents[3]  # the project folder: stackpipes/platform/flavors/..
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    from stackpipes.platform.flavors.lazy_components import boot_with_lazy_components

    # MLflow is imported only by steps that use it: its integration is not activated up front
    # (that imports MLflow, ~1.5 s per task) and the tracker and registry are built on first use.
    boot_with_lazy_components()
    from zenml.entrypoints.entrypoint import main as zenml_entrypoint

    zenml_entrypoint()


if __name__ == "__main__":
    main()
