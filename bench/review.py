"""What review costs: the time a run spends on its review page and its Evidently snapshots, and
how fast `review list` answers with 100 runs in the store.

  python bench/review.py [--runs 100]

1. chat_forecast on the local stack in a fresh state folder, twice (the second run on the same
   data: its drift step is cached), each in a fresh process, with the review page step and the
   Evidently workspace writes timed.
2. `--runs` tiny pipeline runs added to the same store, then `run.py review list --limit N`
   in a fresh process (what a user waits for) and the listing itself inside one process.

Prints the figures and writes bench/results/review.json.
Targets (issue 12): review page + snapshots <= 2 s per run; review list <= 2 s with 100 runs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def child_run(times_path: str) -> None:
    """One chat_forecast run through run.py's main, with the review work timed."""
    sys.path.insert(0, str(ROOT))
    spent: dict[str, float] = {}

    def timed(owner, attribute: str, label: str) -> None:
        original = getattr(owner, attribute)

        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent[label] = spent.get(label, 0.0) + time.perf_counter() - start

        setattr(owner, attribute, wrapper)

    from zenml.steps.base_step import BaseStep

    import run
    import stackpipes.core.drift_history as history
    import stackpipes.core.review_page as page

    timed(history, "add_drift_snapshot", "drift_snapshot_s")
    timed(history, "add_outcomes", "outcomes_snapshot_s")
    timed(page, "render", "page_render_s")
    original = BaseStep.call_entrypoint

    def step_timed(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            if self.name == "write_review_page":
                spent["review_page_step_s"] = time.perf_counter() - start

    BaseStep.call_entrypoint = step_timed
    code = run.main(["--stack", "local", "--pipeline", "chat_forecast"])
    Path(times_path).write_text(json.dumps({"code": code, **spent}))


def child_runs(count: int) -> None:
    """`count` runs of a one-step pipeline, to fill the store."""
    sys.path.insert(0, str(ROOT))
    from stackpipes.platform.flavors.lazy_components import boot_with_lazy_components

    boot_with_lazy_components()
    from bench.tiny_pipeline import tiny

    for _ in range(count):
        tiny()


def child_list(limit: int, times_path: str) -> None:
    sys.path.insert(0, str(ROOT))
    from stackpipes.platform.flavors.lazy_components import boot_with_lazy_components

    boot_with_lazy_components()
    from stackpipes.core.cli import list_text

    list_text(None, limit, "client")  # first call: the store opened
    start = time.perf_counter()
    text = list_text(None, limit, "client")
    client_s = time.perf_counter() - start
    start = time.perf_counter()
    direct = list_text(None, limit, "direct")
    direct_s = time.perf_counter() - start
    Path(times_path).write_text(json.dumps({"in_process_client_s": client_s, "in_process_direct_s": direct_s,
                                            "same_listing": direct == text, "rows": len(text.splitlines()) - 1}))


def _child(state: Path, *args: str) -> float:
    env = {**os.environ, "STACKPIPES_HOME": str(state), "STACKPIPES_REPORTS": str(state / "reports")}
    env.pop("ZENML_CONFIG_PATH", None)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"bench child {args} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100, help="runs in the store for `review list` (1-1000)")
    parser.add_argument("--child-run", help=argparse.SUPPRESS)
    parser.add_argument("--child-runs", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-list", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_run:
        return child_run(args.child_run)
    if args.child_runs:
        return child_runs(args.child_runs)
    if args.child_list:
        return child_list(int(args.child_list[0]), args.child_list[1])
    if not 1 <= args.runs <= 1000:
        sys.exit(f"--runs {args.runs}: expected 1 to 1000")

    with tempfile.TemporaryDirectory(prefix="stackpipes-review-bench-") as tmp:
        state = Path(tmp)
        runs = {}
        for label in ("first", "same_data"):
            times = state / f"{label}.json"
            _child(state, "--child-run", str(times))
            data = json.loads(times.read_text())
            data["review_total_s"] = (data.get("review_page_step_s", 0.0) + data.get("drift_snapshot_s", 0.0)
                                      + data.get("outcomes_snapshot_s", 0.0))
            runs[label] = data
        _child(state, "--child-runs", str(max(0, args.runs - 2)))
        env = {**os.environ, "STACKPIPES_HOME": str(state)}
        env.pop("ZENML_CONFIG_PATH", None)
        start = time.perf_counter()
        listed = subprocess.run([sys.executable, "run.py", "review", "list", "--limit", str(args.runs)], cwd=ROOT,
                                env=env, capture_output=True, text=True)
        command_s = time.perf_counter() - start
        if listed.returncode != 0:
            sys.exit(listed.stderr[-2000:])
        times = state / "list.json"
        _child(state, "--child-list", str(args.runs), str(times))
        listing = json.loads(times.read_text())
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import zenml.client"], cwd=ROOT, env=env, check=True)
        import_s = time.perf_counter() - start

    result = {
        "measured_at": time.strftime("%Y-%m-%d %H:%M"),
        "runs": runs,
        # The command reads the store's database directly; through ZenML's client the same listing
        # costs ZenML's import and store start-up on top of its in-process time.
        "review_list": {"runs_in_store": args.runs, "rows": listing["rows"], "command_s": command_s,
                        "in_process_direct_s": listing["in_process_direct_s"],
                        "in_process_client_s": listing["in_process_client_s"],
                        "same_listing": listing["same_listing"], "python_and_zenml_import_s": import_s},
        "targets": {"review_total_s_max": 2.0, "review_list_s_max": 2.0},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "review.json").write_text(json.dumps(result, indent=2))
    for label, data in runs.items():
        print(f"{label:10s} review page step {data.get('review_page_step_s', 0):.2f} s, drift snapshot "
              f"{data.get('drift_snapshot_s', 0):.2f} s, outcomes snapshot {data.get('outcomes_snapshot_s', 0):.2f} s"
              f" -> {data['review_total_s']:.2f} s per run (target <= 2 s)")
    r = result["review_list"]
    print(f"review list, {r['rows']} of {r['runs_in_store']} runs: command {r['command_s']:.2f} s (target <= 2 s); "
          f"the listing in process {r['in_process_direct_s']:.3f} s from the database, "
          f"{r['in_process_client_s']:.2f} s through ZenML's client (+ {r['python_and_zenml_import_s']:.2f} s to "
          f"start Python and import ZenML); same listing: {r['same_listing']}")
    print(f"written: {RESULTS / 'review.json'}")


if __name__ == "__main__":
    main()
