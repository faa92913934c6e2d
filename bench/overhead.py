"""The project's overhead on chat_forecast, as a ratio to ZenML's own floor measured in the same run.

Runs, each in a fresh process as a user would:
  1. `run.py --help`, five times (start-up; the CLI must not import heavy libraries),
  2. ZenML's floor (bench/floor_pipeline.py, run by floor_run.py: chat_forecast's 15-step DAG shape, bodies that do
     nothing) on stock ZenML and with the project's start-up trimming, each cold (an empty state
     folder: a new store) and cached (a second run on it),
  3. chat_forecast with `run.py --stack local`, cold (new store, stack registration) and cached,
and for each run the time spent inside step bodies (ZenML's call into each step function timed).
Overhead = wall time - body time: what a run costs beyond its own work.

Prints a table and writes bench/results/overhead.json.
Target (issue 10): project overhead <= 1.1x the trimmed floor's, cold and cached; --help < 2 s.
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
    import stackpipes.platform.flavors.lazy_components as lazy
    import stackpipes.platform.registration

    phase(stackpipes.platform.registration, "stack_up", "stack_registration")
    phase(BaseOrchestrator, "run", "orchestrator_run")
    # A step's MLflow run is opened inside its body, on its first log: that is the tracker's
    # bookkeeping (building it, importing MLflow, opening or resuming the run), not the step's
    # work, so it is counted as overhead and taken out of the body times.
    phase(lazy, "open_step_run", "mlflow_run_opening")
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
    phases = data["phases"]
    body = sum(data["bodies"].values()) - phases.get("mlflow_run_opening", 0.0)
    # Where the time outside step bodies goes: start-up (interpreter, imports, store), stack
    # registration, compiling and registering the run, and ZenML's per-step work.
    phases["step_bookkeeping"] = phases["orchestrator_run"] - body
    phases["startup_compile_and_exit"] = wall - phases["orchestrator_run"] - phases["stack_registration"]
    return {"wall_s": wall, "body_s": body, "overhead_s": wall - body, "overhead_share": (wall - body) / wall,
            "steps": data["bodies"], "phases": phases}


def floor_run(state: Path, trimmed: bool) -> dict:
    """One run of ZenML's floor pipeline in a fresh process on the state folder `state`."""
    env = {**os.environ, "ZENML_CONFIG_PATH": str(state / "zenml"), "ZENML_ANALYTICS_OPT_IN": "false",
           "ZENML_AUTO_OPEN_DASHBOARD": "false"}
    for name in [n for n in env if n.startswith("ZENML_STORE_")]:
        env.pop(name)
    if trimmed:
        env.update({"STACKPIPES_HOME": str(state), "STACKPIPES_INTEGRATIONS": ""})
    times = state / "floor.json"
    command = [sys.executable, str(ROOT / "bench" / "floor_run.py"), "--times", str(times)]
    start = time.perf_counter()
    proc = subprocess.run(command + (["--trimmed"] if trimmed else []), cwd=state, env=env,
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0 or not times.exists():
        sys.exit(f"floor run failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    body = sum(json.loads(times.read_text())["bodies"].values())
    return {"wall_s": wall, "body_s": body, "overhead_s": wall - body}


def floor_pair(trimmed: bool) -> tuple[dict, dict]:
    with tempfile.TemporaryDirectory(prefix="stackpipes-floor-") as tmp:
        return floor_run(Path(tmp), trimmed), floor_run(Path(tmp), trimmed)


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

    stock_cold, stock_cached = floor_pair(trimmed=False)
    floor_cold, floor_cached = floor_pair(trimmed=True)
    with tempfile.TemporaryDirectory(prefix="stackpipes-bench-") as tmp:
        state = Path(tmp)
        cold = pipeline_run(state, args.config)
        cached = pipeline_run(state, args.config)

    result = {
        "measured_at": time.strftime("%Y-%m-%d %H:%M"),
        "cli_help_s": statistics.median(help_times),
        "floor_stock": {"cold": stock_cold, "cached": stock_cached},
        "floor_trimmed": {"cold": floor_cold, "cached": floor_cached},
        "cold": cold,
        "cached": cached,
        "overhead_over_floor": {"cold": cold["overhead_s"] / floor_cold["overhead_s"],
                                "cached": cached["overhead_s"] / floor_cached["overhead_s"]},
        "cached_over_cold": cached["wall_s"] / cold["wall_s"],
        "targets": {"overhead_over_trimmed_floor_max": 1.1, "cli_help_s_max": 2.0},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "overhead.json").write_text(json.dumps(result, indent=2))
    print(f"run.py --help (median of 5):    {result['cli_help_s']:.2f} s   (target < 2 s)")
    print("overhead (wall - step bodies), seconds:   cold     cached")
    print(f"  ZenML floor, stock ZenML            {stock_cold['overhead_s']:7.1f}  {stock_cached['overhead_s']:7.1f}")
    print(f"  ZenML floor, project trimming       {floor_cold['overhead_s']:7.1f}  {floor_cached['overhead_s']:7.1f}")
    print(f"  chat_forecast (run.py, local)       {cold['overhead_s']:7.1f}  {cached['overhead_s']:7.1f}"
          f"   (bodies {cold['body_s']:.1f} / {cached['body_s']:.1f} s)")
    ratio = result["overhead_over_floor"]
    print(f"project overhead / trimmed floor:     {ratio['cold']:7.2f}x {ratio['cached']:7.2f}x   (target <= 1.1x)")
    for label, run_result in (("cold", cold), ("cached", cached)):
        p = run_result["phases"]
        print(f"  {label} overhead: start-up+compile {p['startup_compile_and_exit']:.1f} s, store connection + stack "
              f"registration {p['stack_registration']:.1f} s, per-step bookkeeping {p['step_bookkeeping']:.1f} s "
              f"(of which opening MLflow runs inside steps {p.get('mlflow_run_opening', 0.0):.1f} s)")
    print("slowest step bodies (cold):")
    for name, seconds in sorted(cold["steps"].items(), key=lambda kv: -kv[1])[:6]:
        print(f"  {name:<24} {seconds:6.2f} s")
    print(f"written: {RESULTS / 'overhead.json'}")


if __name__ == "__main__":
    main()
