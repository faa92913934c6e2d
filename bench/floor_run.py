"""Run ZenML's floor pipeline (bench/floor_pipeline.py) once, for bench/overhead.py:

    python bench/floor_run.py --times FILE [--trimmed]

`--trimmed` applies the project's start-up trimming first (stackpipes.platform.env.boot_zenml:
only the integrations a stack needs, here none; the package lookup cached); without it ZenML runs
as installed (every installed integration activated).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from pathlib import Path

PROCESS_START = time.perf_counter()
ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--times", required=True, help="where to write the step bodies' times (JSON)")
    parser.add_argument("--trimmed", action="store_true", help="the project's start-up trimming first")
    args = parser.parse_args()
    if args.trimmed:
        sys.path.insert(0, str(ROOT))
        from stackpipes.platform.env import boot_zenml

        boot_zenml()  # the source root becomes the project folder: the module is bench.floor_pipeline
    from zenml.steps.base_step import BaseStep

    bodies: dict[str, float] = {}
    original = BaseStep.call_entrypoint

    def timed(self, *call_args, **call_kwargs):
        start = time.perf_counter()
        try:
            return original(self, *call_args, **call_kwargs)
        finally:
            bodies[self.name] = bodies.get(self.name, 0.0) + time.perf_counter() - start

    BaseStep.call_entrypoint = timed
    module = importlib.import_module("bench.floor_pipeline" if args.trimmed else "floor_pipeline")
    module.floor()
    Path(args.times).write_text(json.dumps({"bodies": bodies, "process_s": time.perf_counter() - PROCESS_START}))


if __name__ == "__main__":
    main()
