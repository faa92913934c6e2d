"""chat_forecast on the local stack and on the Airflow stack, in one run, and Airflow's cost per task.

Each run is a fresh process as a user would start it (`python run.py --stack S --pipeline
chat_forecast`) in one private state folder (own ZenML server and Airflow ports, own Airflow
database), and everything is stopped at the end. Figures:
  - wall time of each stack's run (the Airflow one after its services are up; start-up apart);
  - per Airflow task: the task's duration in Airflow, the ZenML step run's own duration (what the
    local orchestrator would also spend), and the difference = start-up cost per task
    (Airflow's task runner, the step process start, store connection, snapshot and stack load).
    Tasks fork their step from the warm step worker (stackpipes/platform/flavors/step_worker/),
    which has ZenML imported; `--cold` switches it off (every task starts a new interpreter and
    imports ZenML, as before) for comparison. `--parallelism 1` runs one task at a time, so a
    task's figure is not inflated by the tasks beside it on a small machine.
Target (issue 3): at most 4 s per task. Prints a table; writes bench/results/orchestrators.json
(orchestrators-cold.json, orchestrators-p1.json ... for the options).
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
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))

STEP_TIMES = """
import json, sys
from stackpipes.platform.env import boot_zenml
boot_zenml()
from zenml.client import Client
run = Client().get_pipeline_run(sys.argv[1])
print(json.dumps({name: (s.end_time - s.start_time).total_seconds() for name, s in run.steps.items()
                  if s.start_time and s.end_time}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", action="store_true", help="no warm step worker: each task imports ZenML")
    parser.add_argument("--parallelism", type=int, default=None, help="Airflow's parallelism (default 4)")
    options = parser.parse_args()

    from stackpipes.platform.flavors.airflow.api_client import AirflowAPI
    from stackpipes.platform.processes import free_port
    from stackpipes.platform.services import airflow_server

    with tempfile.TemporaryDirectory(prefix="stackpipes-orch-") as tmp:
        state = Path(tmp)
        database = f"stackpipes_airflow_bench_{uuid.uuid4().hex[:6]}"
        env = {**os.environ, "STACKPIPES_HOME": str(state), "STACKPIPES_REPORTS": str(state / "reports"),
               "STACKPIPES_ZENML_PORT": str(free_port()), "STACKPIPES_AIRFLOW_PORT": str(free_port()),
               "STACKPIPES_AIRFLOW_DB": f"postgresql+psycopg2://postgres@127.0.0.1:5432/{database}"}
        env.pop("ZENML_CONFIG_PATH", None)
        env.pop("STACKPIPES_STEP_SERVER", None)
        if options.cold:
            env["STACKPIPES_STEP_SERVER"] = "0"
        if options.parallelism:
            env["STACKPIPES_AIRFLOW_PARALLELISM"] = str(options.parallelism)

        def cli(*args: str) -> tuple[float, str]:
            start = time.perf_counter()
            proc = subprocess.run([sys.executable, "run.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)
            if proc.returncode != 0:
                sys.exit(f"run.py {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
            return time.perf_counter() - start, proc.stdout

        try:
            services_s, _ = cli("dashboard")
            airflow_up_s, _ = cli("airflow", "up")
            local_s, _ = cli("--stack", "local", "--pipeline", "chat_forecast", "--no-cache")
            airflow_s, out = cli("--stack", "airflow", "--pipeline", "chat_forecast", "--no-cache")
            run_name = next(line.split("'")[1] for line in out.splitlines() if line.startswith("Run '"))
            steps = json.loads(subprocess.run([sys.executable, "-c", STEP_TIMES, run_name], cwd=ROOT, env=env,
                                              capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])
            api = AirflowAPI(f"http://127.0.0.1:{env['STACKPIPES_AIRFLOW_PORT']}")
            dag_run = api._request("GET", "/api/v2/dags/chat_forecast/dagRuns")["dag_runs"][-1]
            tasks = {t["task_id"]: t["duration"] for t in api.task_instances("chat_forecast", dag_run["dag_run_id"])}
            # Which tasks ran in a fork of the warm step worker (it logs each step it starts).
            server_log = state / "airflow" / "logs" / "step-server.log"
            warm = {name for name in tasks
                    if server_log.exists() and f"step {name}: pid" in server_log.read_text()}
        finally:
            subprocess.run([sys.executable, "run.py", "airflow", "down"], cwd=ROOT, env=env, capture_output=True)
            subprocess.run([sys.executable, "run.py", "dashboard", "--stop"], cwd=ROOT, env=env, capture_output=True)
            airflow_server.drop_database(env["STACKPIPES_AIRFLOW_DB"])

    overheads = {name: tasks[name] - steps.get(name, 0.0) for name in tasks}
    result = {
        "step_worker": not options.cold,
        "tasks_in_step_server": len(warm),
        "airflow_parallelism": options.parallelism or int(os.environ.get("STACKPIPES_AIRFLOW_PARALLELISM", "4")),
        "cpu_count": os.cpu_count(),
        "local_wall_s": local_s,
        "airflow_wall_s": airflow_s,
        "airflow_over_local": airflow_s / local_s,
        "zenml_server_start_s": services_s,
        "airflow_start_s": airflow_up_s,
        "tasks": len(tasks),
        "task_duration_mean_s": statistics.mean(tasks.values()),
        "step_run_mean_s": statistics.mean(steps.get(n, 0.0) for n in tasks),
        "overhead_per_task_mean_s": statistics.mean(overheads.values()),
        "overhead_per_task_max_s": max(overheads.values()),
        "per_task": {n: {"airflow_s": tasks[n], "zenml_step_s": steps.get(n), "overhead_s": overheads[n],
                         "in_step_server": n in warm} for n in tasks},
        "targets": {"overhead_per_task_max_s": 4.0},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    suffix = ("-cold" if options.cold else "") + (f"-p{options.parallelism}" if options.parallelism else "")
    output = RESULTS / f"orchestrators{suffix}.json"
    output.write_text(json.dumps(result, indent=2))
    mode = "cold: every task imports ZenML" if options.cold else f"warm step worker ({len(warm)}/{len(tasks)} tasks)"
    print(f"Airflow tasks: {mode}, parallelism {result['airflow_parallelism']}, {os.cpu_count()} CPUs")
    print(f"local stack:   {local_s:6.1f} s wall (one process)")
    print(f"airflow stack: {airflow_s:6.1f} s wall = {result['airflow_over_local']:.1f}x local "
          f"({len(tasks)} tasks; Airflow start {airflow_up_s:.0f} s and ZenML server {services_s:.0f} s not included)")
    print(f"per task: Airflow duration {result['task_duration_mean_s']:.1f} s, ZenML step run "
          f"{result['step_run_mean_s']:.1f} s -> start-up overhead {result['overhead_per_task_mean_s']:.1f} s mean, "
          f"{result['overhead_per_task_max_s']:.1f} s max   (target <= 4 s)")
    print(f"written: {output}")


if __name__ == "__main__":
    main()
