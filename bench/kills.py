"""A chat_forecast run killed at random points loses nothing: after a rerun the history is what an
uninterrupted run stores.

For each of `--points` seeded random delays, a run on a fresh state folder is killed with SIGKILL
that many seconds after it starts (anywhere from start-up to the last step), then run again on
the same input; its stored history is compared with the one of an uninterrupted run (the same
rows, every column). Prints how many reruns differed (lost = 0 is the target) and writes
bench/results/kills.json.

    python bench/kills.py [--points 10] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT / "scripts"))

PROBE = ("import sys; sys.path.insert(0, '.'); from stackpipes.platform.env import boot_zenml; boot_zenml(); "
         "from zenml.client import Client; "
         "v = Client().list_artifact_versions(artifact='chat_history', sort_by='desc:created', size=1).items[0]; "
         "print(v.load().sort_values('id').to_json(orient='records', date_format='iso'))")


def _env(state: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "ZENML_CONFIG_PATH"}
    env.update({"STACKPIPES_HOME": str(state), "STACKPIPES_REPORTS": str(state / "reports")})
    return env


def _history(state: Path) -> str:
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=_env(state), capture_output=True,
                            text=True, timeout=300)
    return result.stdout.strip().splitlines()[-1] if result.returncode == 0 else ""


def main() -> None:
    from make_sample_export import generate_export

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=10, choices=range(1, 51), help="kill points (1-50)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="stackpipes-kills-") as tmp:
        folder = Path(tmp)
        export = folder / "result.json"
        export.write_text(json.dumps(generate_export(weeks=4, seed=5, shift=False), ensure_ascii=False), encoding="utf-8")
        config = folder / "config.yaml"
        config.write_text(f"parameters:\n  source: export\n  export_path: {export}\n  last_n: null\n"
                          "  candidates: [seasonal_naive]\n  retrain_policy: {min_samples: 336}\n", encoding="utf-8")
        command = [sys.executable, "run.py", "--stack", "local", "--pipeline", "chat_forecast", "--config", str(config)]
        started = time.perf_counter()
        reference_state = folder / "reference"
        subprocess.run(command, cwd=ROOT, env=_env(reference_state), capture_output=True, timeout=900, check=True)
        full_run_s = time.perf_counter() - started
        reference = _history(reference_state)
        points = []
        for index in range(args.points):
            delay = rng.uniform(0.5, full_run_s)
            state = folder / f"killed-{index}"
            victim = subprocess.Popen(command, cwd=ROOT, env=_env(state), stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL)
            time.sleep(delay)
            finished_first = victim.poll() is not None
            victim.send_signal(signal.SIGKILL)
            victim.wait(timeout=60)
            rerun = subprocess.run(command, cwd=ROOT, env=_env(state), capture_output=True, text=True, timeout=900)
            same = rerun.returncode == 0 and _history(state) == reference
            points.append({"kill_after_s": round(delay, 2), "finished_before_kill": finished_first,
                           "rerun_ok": rerun.returncode == 0, "history_identical": same})
            print(f"  kill at {delay:5.1f} s: rerun {'ok' if rerun.returncode == 0 else 'FAILED'}, "
                  f"history {'identical' if same else 'DIFFERENT'}", flush=True)
    lost = sum(not p["history_identical"] for p in points)
    result = {"measured_at": time.strftime("%Y-%m-%d %H:%M"), "seed": args.seed, "uninterrupted_run_s": full_run_s,
              "points": points, "differing_histories": lost}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "kills.json").write_text(json.dumps(result, indent=2))
    print(f"{args.points} runs killed at random points (seed {args.seed}), then rerun: "
          f"{lost} histories differ from an uninterrupted run (target 0)")
    print(f"written: {RESULTS / 'kills.json'}")


if __name__ == "__main__":
    main()
