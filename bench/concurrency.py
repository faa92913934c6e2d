"""Concurrent chat_forecast runs lose no message: N runs at once, each bringing its own new messages.

A base run lands a generated export; then N `run.py` processes start together, each on the base
export plus messages only it has; then one more run. Prints how many of the N runs' messages the
history holds afterwards (lost = 0 is the target) and how many runs failed (crashes = 0), and
writes bench/results/concurrency.json. Also imported by tests (one concurrent pair).

    python bench/concurrency.py [--runs 4] [--new 3]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT / "scripts"))


def _write_config(folder: Path, export: Path) -> Path:
    config = folder / f"{export.stem}.yaml"
    config.write_text(
        "parameters:\n  source: export\n"
        f"  export_path: {export}\n  last_n: null\n  candidates: [seasonal_naive]\n"
        "  retrain_policy: {min_samples: 336, cooldown_hours: 0}\n", encoding="utf-8")
    return config


def _new_messages(base: dict, run: int, count: int) -> list[dict]:
    last = base["messages"][-1]
    start_id = max(m["id"] for m in base["messages"]) + 1000 * (run + 1)
    stamp = int(last["date_unixtime"])
    return [{**copy.deepcopy(last), "id": start_id + k, "date_unixtime": str(stamp + 60 * (k + 1)),
             "text": f"run {run} message {k}"} for k in range(count)]


def concurrent_runs(folder: Path, runs: int, new: int, weeks: int = 4) -> dict:
    """Base run, `runs` runs at once with their own `new` messages each, then a last run."""
    from make_sample_export import generate_export

    env = {k: v for k, v in os.environ.items() if k != "ZENML_CONFIG_PATH"}
    env.update({"STACKPIPES_HOME": str(folder / "state"), "STACKPIPES_REPORTS": str(folder / "reports")})
    base = generate_export(weeks=weeks, seed=3, shift=False)
    exports, expected = [], set()
    for index in range(runs):
        extra = _new_messages(base, index, new)
        expected |= {m["id"] for m in extra}
        path = folder / f"export_{index}.json"
        path.write_text(json.dumps({**base, "messages": base["messages"] + extra}, ensure_ascii=False), encoding="utf-8")
        exports.append(path)
    base_path = folder / "export_base.json"
    base_path.write_text(json.dumps(base, ensure_ascii=False), encoding="utf-8")

    def command(export: Path) -> list[str]:
        return [sys.executable, "run.py", "--stack", "local", "--pipeline", "chat_forecast",
                "--config", str(_write_config(folder, export))]

    first = subprocess.run(command(base_path), cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    if first.returncode != 0:
        raise RuntimeError(f"the base run failed:\n{first.stdout[-2000:]}\n{first.stderr[-2000:]}")
    started = time.perf_counter()
    processes = [subprocess.Popen(command(path), cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True) for path in exports]
    outputs = [process.communicate(timeout=1800)[0] for process in processes]
    concurrent_s = time.perf_counter() - started
    crashes = [out[-1500:] for process, out in zip(processes, outputs, strict=True) if process.returncode != 0]
    last = subprocess.run(command(base_path), cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    probe = ("import sys, json; sys.path.insert(0, '.'); from stackpipes.platform.env import boot_zenml; boot_zenml(); "
             "from zenml.client import Client; "
             "v = Client().list_artifact_versions(artifact='chat_history', sort_by='desc:created', size=1).items[0]; "
             "print(json.dumps([int(i) for i in v.load()['id']]))")
    stored = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    ids = set(json.loads(stored.stdout.strip().splitlines()[-1])) if stored.returncode == 0 else set()
    return {"runs": runs, "new_per_run": new, "expected_new": len(expected), "lost": len(expected - ids),
            "crashes": len(crashes), "crash_output": crashes, "last_run_ok": last.returncode == 0,
            "history_rows": len(ids), "base_rows": len({m["id"] for m in base["messages"] if m.get("type", "message") == "message"}),
            "concurrent_wall_s": concurrent_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=4, choices=range(2, 9), help="runs at once (2-8)")
    parser.add_argument("--new", type=int, default=3, choices=range(1, 51), help="new messages per run (1-50)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="stackpipes-concurrency-") as tmp:
        result = concurrent_runs(Path(tmp), args.runs, args.new)
    result["measured_at"] = time.strftime("%Y-%m-%d %H:%M")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "concurrency.json").write_text(json.dumps(result, indent=2))
    print(f"{args.runs} chat_forecast runs at once, {args.new} new messages each ({result['concurrent_wall_s']:.0f} s):")
    print(f"  lost messages: {result['lost']} of {result['expected_new']}   (target 0)")
    print(f"  crashed runs:  {result['crashes']} of {args.runs}   (target 0)")
    print(f"written: {RESULTS / 'concurrency.json'}")


if __name__ == "__main__":
    main()
