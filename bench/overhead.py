"""Framework overhead of chat_forecast on the local stack, and CLI start-up time.

Runs, each in a fresh process as a user would (`python run.py ...`):
  1. `run.py --help`, five times (start-up; the CLI must not import heavy libraries),
  2. a cold run in an empty state folder (new ZenML store, stack registration, no cache),
  3. a rerun on the same input (everything that can be cached is),
and for each pipeline run the time spent inside step bodies (the step functions themselves),
measured by timing ZenML's call into each step function. Overhead = wall time - body time.

Prints a table and writes bench/results/overhead.json.
Targets (issue 2): overhead <= 20% of a cold run; cached rerun <= 15% of a cold run; --help < 2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROCESS_START = time.perf_counter()
ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def child(times_path: str, config: str) -> None:
    """Run the pipeline through run.py's main with step bodies timed."""
    sys.path.insert(0, str(ROOT))
    from zenml.steps.base_step import BaseStep

    bodies: dict[str, float] = {}
    original = BaseStep.call_entrypoint

    def timed(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            bodies[self.name] = bodies.get(self.name, 0.0) + time.perf_counter() - start

    BaseStep.call_entrypoint = timed
    phases: dict[str, float] = {}

    def phase(owner, attribute: str, label: str) -> None:
        original_fn = getattr(owner, attribute)

        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original_fn(*args, **kwargs)
            finally:
                phases[label] = phases.get(label, 0.0) + time.perf_counter() - start

        setattr(owner, attribute, wrapper)

    from zenml.orchestrators.base_orchestrator import BaseOrchestrator

    import run
    import stackpipes.stacks

    phase(stackpipes.stacks, "stack_up", "stack_registration")
    phase(BaseOrchestrator, "run", "orchestrator_run")
    code = run.main(["--stack", "local", "--pipeline", "chat_forecast", "--config", config])
    phases["process_until_exit"] = time.perf_counter() - PROCESS_START
    Path(times_path).write_text(json.dumps({"code": code, "bodies": bodies, "phases": phases}))


def pipeline_run(state: Path, config: str) -> dict:
    env = {**os.environ, "STACKPIPES_HOME": str(state), "STACKPIPES_REPORTS": str(state / "reports")}
    env.pop("ZENML_CONFIG_PATH", None)
    times = state / "bodies.json"
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, __file__, "--child", str(times), "--config", config],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0 or not times.exists():
        sys.exit(f"pipeline run failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    data = json.loads(times.read_text())
    body = sum(data["bodies"].values())
    phases = data["phases"]
    # Where the time outside step bodies goes: start-up (interpreter, imports, store), stack
    # registration, compiling and registering the run, and ZenML's per-step work.
    phases["step_bookkeeping"] = phases["orchestrator_run"] - body
    phases["startup_compile_and_exit"] = wall - phases["orchestrator_run"] - phases["stack_registration"]
    return {"wall_s": wall, "body_s": body, "overhead_s": wall - body, "overhead_share": (wall - body) / wall,
            "steps": data["bodies"], "phases": phases}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--config", default=str(ROOT / "configs" / "chat_forecast.yaml"))
    args = parser.parse_args()
    if args.child:
        child(args.child, args.config)
        return

    help_times = []
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run([sys.executable, "run.py", "--help"], cwd=ROOT, check=True, capture_output=True)
        help_times.append(time.perf_counter() - start)

    with tempfile.TemporaryDirectory(prefix="stackpipes-bench-") as tmp:
        state = Path(tmp)
        cold = pipeline_run(state, args.config)
        cached = pipeline_run(state, args.config)

    result = {
        "cli_help_s": statistics.median(help_times),
        "cold": cold,
        "cached": cached,
        "cached_over_cold": cached["wall_s"] / cold["wall_s"],
        "targets": {"overhead_share_max": 0.20, "cached_over_cold_max": 0.15, "cli_help_s_max": 2.0},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "overhead.json").write_text(json.dumps(result, indent=2))
    print(f"run.py --help (median of 5):    {result['cli_help_s']:.2f} s   (target < 2 s)")
    print(f"cold run:   wall {cold['wall_s']:6.1f} s, step bodies {cold['body_s']:6.1f} s, "
          f"overhead {cold['overhead_share']:.0%}   (target <= 20%)")
    print(f"cached run: wall {cached['wall_s']:6.1f} s, step bodies {cached['body_s']:6.1f} s, "
          f"= {result['cached_over_cold']:.0%} of cold   (target <= 15%)")
    for label, run_result in (("cold", cold), ("cached", cached)):
        p = run_result["phases"]
        print(f"  {label} overhead: start-up+compile {p['startup_compile_and_exit']:.1f} s, stack registration "
              f"{p['stack_registration']:.1f} s, per-step bookkeeping {p['step_bookkeeping']:.1f} s")
    print("slowest step bodies (cold):")
    for name, seconds in sorted(cold["steps"].items(), key=lambda kv: -kv[1])[:6]:
        print(f"  {name:<24} {seconds:6.2f} s")
    print(f"written: {RESULTS / 'overhead.json'}")


if __name__ == "__main__":
    main()
