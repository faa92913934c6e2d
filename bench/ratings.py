"""ratings figures: the Titanic winner against a default LogisticRegression, and the sweep's speed-up
from parallel sweep steps on Airflow.

1. Titanic (configs/ratings_train/titanic.yaml, whole table): the seeded split, the sweep, the winner
   refitted on the training part and scored on the held-out rows, next to a default
   `LogisticRegression` on the same preprocessing and split, in this process, with the library the
   steps call. Target (issue 13): the winner >= 0.80 and ahead of the baseline.
2. The same sweep run by `ratings_train` on the Airflow stack with two worker slots
   (STACKPIPES_AIRFLOW_PARALLELISM=2), once with `parallel: 1` and once with `parallel: 2`, in one
   private deployment (own ZenML server and Airflow ports, own Airflow database, stopped at the
   end). The sweep's wall time is the first sweep task's start to the last one's end, from
   Airflow's task instances. Target: parallel 2 >= 1.6x faster; trials per second for both.
   The ceiling this machine allows, measured in the same run: the same two shards as two plain
   processes at once against one after another (no Airflow, no ZenML, no MLflow).

Prints a table; writes bench/results/ratings.json (ratings-tN.json with `--trials N`, the same
sweep with N trials: the per-task start-up of about 3 s weighs less in a longer sweep).
`--skip-airflow` measures part 1 only.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
CONFIG = ROOT / "configs" / "ratings_train" / "titanic.yaml"
sys.path.insert(0, str(ROOT))


def titanic_figures(parameters: dict) -> dict:
    from stackpipes.ratings.datasets import DatasetConfig, prepare, read_csv_file, resolve_path
    from stackpipes.ratings.model import baseline_model, fit_model, score
    from stackpipes.ratings.preprocessing import PreprocessingConfig
    from stackpipes.ratings.splitting import cv_folds, split_table
    from stackpipes.ratings.sweep import SweepConfig, best_trial, run_shard

    dataset = DatasetConfig.model_validate(parameters["dataset"])
    sweep = SweepConfig.model_validate(parameters["sweep"])
    preprocessing = PreprocessingConfig.model_validate(parameters.get("preprocessing") or {})
    table = prepare(read_csv_file(resolve_path(dataset.source.path), dataset.source.na_values, dataset.name), dataset)
    train, test = split_table(table, dataset)
    folds = cv_folds(train, dataset, sweep.folds, sweep.seed)
    started = time.perf_counter()
    results = [r for shard in range(sweep.parallel)
               for r in run_shard(sweep, shard, train, dataset, folds, preprocessing)]
    sweep_s = time.perf_counter() - started
    best = best_trial(results)
    model = fit_model(train, dataset, best, sweep.seed, preprocessing)
    return {
        "rows": len(table), "train_rows": len(train), "test_rows": len(test), "trials": len(results),
        "winner": {"trial": best.index, "family": best.family, "params": best.params, "cv_accuracy": best.cv_mean},
        "winner_test_accuracy": score(model.pipeline, test, dataset),
        "baseline_test_accuracy": score(baseline_model(train, dataset, preprocessing), test, dataset),
        "in_process_sweep_s": sweep_s, "in_process_trials_per_s": len(results) / sweep_s,
    }


SHARD = """
import sys, time, yaml
sys.path.insert(0, sys.argv[3])
from stackpipes.ratings.datasets import DatasetConfig, prepare, read_csv_file, resolve_path
from stackpipes.ratings.preprocessing import PreprocessingConfig
from stackpipes.ratings.splitting import cv_folds, split_table
from stackpipes.ratings.sweep import SweepConfig, run_shard
parameters = yaml.safe_load(open(sys.argv[1]))["parameters"]
dataset, sweep = DatasetConfig.model_validate(parameters["dataset"]), SweepConfig.model_validate(parameters["sweep"])
preprocessing = PreprocessingConfig.model_validate(parameters.get("preprocessing") or {})
table = prepare(read_csv_file(resolve_path(dataset.source.path), dataset.source.na_values, dataset.name), dataset)
train = split_table(table, dataset)[0]
run_shard(sweep, int(sys.argv[2]), train, dataset, cv_folds(train, dataset, sweep.folds, sweep.seed), preprocessing)
"""


def process_ceiling(config_path: Path) -> dict:
    """The sweep's two shards as plain processes: one after another, then both at once."""
    def shards(*indices: int) -> float:
        started = time.perf_counter()
        procs = [subprocess.Popen([sys.executable, "-c", SHARD, str(config_path), str(i), str(ROOT)]) for i in indices]
        if any(p.wait() != 0 for p in procs):
            sys.exit("a sweep shard process failed")
        return time.perf_counter() - started

    one_after_another = shards(0) + shards(1)
    at_once = shards(0, 1)
    return {"one_after_another_s": one_after_another, "at_once_s": at_once, "speedup": one_after_another / at_once}


def airflow_figures(config: dict, trials: int) -> dict:
    from stackpipes.platform.flavors.airflow.api_client import AirflowAPI
    from stackpipes.platform.processes import free_port
    from stackpipes.platform.services import airflow_server

    with tempfile.TemporaryDirectory(prefix="stackpipes-ratings-") as tmp:
        state = Path(tmp)
        database = f"stackpipes_airflow_bench_{uuid.uuid4().hex[:6]}"
        env = {**os.environ, "STACKPIPES_HOME": str(state), "STACKPIPES_REPORTS": str(state / "reports"),
               "STACKPIPES_ZENML_PORT": str(free_port()), "STACKPIPES_AIRFLOW_PORT": str(free_port()),
               "STACKPIPES_AIRFLOW_DB": f"postgresql+psycopg2://postgres@127.0.0.1:5432/{database}",
               "STACKPIPES_AIRFLOW_PARALLELISM": "2"}
        env.pop("ZENML_CONFIG_PATH", None)

        def cli(*args: str) -> str:
            proc = subprocess.run([sys.executable, "run.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)
            if proc.returncode != 0:
                sys.exit(f"run.py {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
            return proc.stdout

        figures = {}
        try:
            cli("dashboard")
            cli("airflow", "up")
            api = AirflowAPI(f"http://127.0.0.1:{env['STACKPIPES_AIRFLOW_PORT']}")
            for parallel in (1, 2):
                variant = json.loads(json.dumps(config))
                variant["parameters"]["sweep"]["parallel"] = parallel
                variant["parameters"]["retrain_policy"] = {**variant["parameters"].get("retrain_policy", {}), "force": True}
                path = state / f"titanic_p{parallel}.yaml"
                path.write_text(yaml.safe_dump(variant))
                started = time.perf_counter()
                out = cli("--stack", "airflow", "--pipeline", "ratings_train", "--config", str(path), "--no-cache")
                wall = time.perf_counter() - started
                run = api._request("GET", "/api/v2/dags/ratings_train/dagRuns")["dag_runs"][-1]
                sweep_tasks = [t for t in api.task_instances("ratings_train", run["dag_run_id"])
                               if t["task_id"].startswith("sweep_trials_")]
                start = min(datetime.fromisoformat(t["start_date"]) for t in sweep_tasks)
                end = max(datetime.fromisoformat(t["end_date"]) for t in sweep_tasks)
                seconds = (end - start).total_seconds()
                winner = next((line.strip() for line in out.splitlines() if "sweep winner:" in line), "")
                figures[f"parallel_{parallel}"] = {"sweep_s": seconds, "trials_per_s": trials / seconds,
                                                   "tasks": len(sweep_tasks), "run_wall_s": wall, "winner": winner}
        finally:
            subprocess.run([sys.executable, "run.py", "airflow", "down"], cwd=ROOT, env=env, capture_output=True)
            subprocess.run([sys.executable, "run.py", "dashboard", "--stop"], cwd=ROOT, env=env, capture_output=True)
            airflow_server.drop_database(env["STACKPIPES_AIRFLOW_DB"])
    figures["speedup"] = figures["parallel_1"]["sweep_s"] / figures["parallel_2"]["sweep_s"]
    figures["same_winner"] = figures["parallel_1"]["winner"] == figures["parallel_2"]["winner"]
    return figures


def winner_line(titanic: dict) -> str:
    """How run.py reports the in-process winner, to compare with the Airflow runs' lines."""
    winner = titanic["winner"]
    return f"sweep winner:  trial {winner['trial']} {winner['family']} {winner['params']}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-airflow", action="store_true", help="only the Titanic figures (no Airflow)")
    parser.add_argument("--trials", type=int, help="trials of the sweep (default: the config's)")
    options = parser.parse_args()
    config = yaml.safe_load(CONFIG.read_text())
    if options.trials:
        config["parameters"]["sweep"]["trials"] = options.trials
    titanic = titanic_figures(config["parameters"])
    result = {"measured_at": time.strftime("%Y-%m-%d %H:%M"), "cpu_count": os.cpu_count(), "titanic": titanic,
              "targets": {"winner_test_accuracy_min": 0.80, "winner_ahead_of_baseline": True, "airflow_speedup_min": 1.6}}
    print(f"Titanic ({titanic['rows']} rows; {titanic['train_rows']} train / {titanic['test_rows']} held out), "
          f"{titanic['trials']} trials:")
    print(f"  winner {titanic['winner']['family']} {titanic['winner']['params']} (CV {titanic['winner']['cv_accuracy']:.4f})")
    print(f"  test accuracy: winner {titanic['winner_test_accuracy']:.4f}, default LogisticRegression "
          f"{titanic['baseline_test_accuracy']:.4f}   (target >= 0.80 and ahead)")
    print(f"  in-process sweep: {titanic['in_process_sweep_s']:.1f} s, {titanic['in_process_trials_per_s']:.2f} trials/s")
    with tempfile.TemporaryDirectory() as tmp:
        two = json.loads(json.dumps(config))
        two["parameters"]["sweep"]["parallel"] = 2
        (Path(tmp) / "two.yaml").write_text(yaml.safe_dump(two))
        ceiling = process_ceiling(Path(tmp) / "two.yaml")
    result["process_ceiling"] = ceiling
    print(f"  ceiling on this machine: the two shards as plain processes at once {ceiling['at_once_s']:.1f} s vs "
          f"one after another {ceiling['one_after_another_s']:.1f} s = {ceiling['speedup']:.2f}x")
    if not options.skip_airflow:
        airflow = airflow_figures(config, titanic["trials"])
        airflow["same_winner_as_in_process"] = all(
            airflow[f"parallel_{p}"]["winner"].startswith(winner_line(titanic)) for p in (1, 2))
        result["airflow"] = airflow
        for parallel in (1, 2):
            item = airflow[f"parallel_{parallel}"]
            print(f"  Airflow, parallel: {parallel} ({item['tasks']} sweep tasks, 2 worker slots): sweep "
                  f"{item['sweep_s']:.1f} s, {item['trials_per_s']:.2f} trials/s (run {item['run_wall_s']:.0f} s)")
        print(f"  speed-up parallel 2 over 1: {airflow['speedup']:.2f}x   (target >= 1.6x; "
              f"{airflow['speedup'] / ceiling['speedup']:.0%} of the machine's ceiling); same winner on both and as in this process: "
              f"{airflow['same_winner'] and airflow['same_winner_as_in_process']}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    output = RESULTS / (f"ratings-t{options.trials}.json" if options.trials else "ratings.json")
    output.write_text(json.dumps(result, indent=2))
    print(f"written: {output}")


if __name__ == "__main__":
    main()
