"""run.py: fast start-up, clear argument errors, stack commands against a private store."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "run.py", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env=os.environ.copy())


def test_help_lists_the_commands_without_importing_zenml():
    result = run_cli("--help")
    assert result.returncode == 0
    for word in ("--stack", "--pipeline", "--schedule", "stacks", "stack", "dashboard"):
        assert word in result.stdout
    probe = subprocess.run(
        [sys.executable, "-c", "import sys, run; print('zenml' in sys.modules, 'pandas' in sys.modules)"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )
    assert probe.stdout.split() == ["False", "False"]


def test_unknown_pipeline_and_missing_arguments_fail_clearly():
    result = run_cli("--stack", "local", "--pipeline", "nope")
    assert result.returncode == 2 and "invalid choice: 'nope'" in result.stderr
    result = run_cli("--stack", "local")
    assert result.returncode == 2 and "give --stack and --pipeline" in result.stderr


def test_unknown_stack_names_the_known_ones():
    result = run_cli("--stack", "marsrover", "--pipeline", "chat_forecast")
    assert result.returncode == 1
    assert "marsrover.yaml" in result.stderr and "known stacks:" in result.stderr and "local" in result.stderr


def test_stack_up_is_idempotent_and_listed():
    first = run_cli("stack", "up", "local")
    assert first.returncode == 0, first.stderr
    second = run_cli("stack", "up", "local")
    assert second.returncode == 0
    assert "up to date" in second.stdout
    assert "created" not in second.stdout and "updated" not in second.stdout
    listing = run_cli("stacks")
    assert listing.returncode == 0
    assert any(line.startswith("local") and "active" in line for line in listing.stdout.splitlines())


def test_schedule_on_local_stack_is_refused():
    result = run_cli("--stack", "local", "--pipeline", "chat_forecast", "--schedule", "1 0 * * *")
    assert result.returncode == 2
    assert "cannot schedule" in result.stderr


def test_bad_export_ends_with_one_readable_error(tmp_path):
    bad = tmp_path / "broken.json"
    bad.write_text("{not json", encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text(f"parameters:\n  source: export\n  export_path: {bad}\n  last_n: null\n", encoding="utf-8")
    result = run_cli("--stack", "local", "--pipeline", "chat_forecast", "--config", str(config))
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and str(bad) in last and "malformed JSON at line 1" in last
    assert "Traceback" not in result.stdout + result.stderr  # the traceback stays in the step's log
    from tests.support import step_log_text

    assert "Traceback" in step_log_text("ingest_telegram") and "malformed JSON" in step_log_text("ingest_telegram")


def test_a_typo_in_a_structured_parameter_fails_before_the_first_step(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("parameters:\n  retrain_policy:\n    cooldwn_hours: 3\n", encoding="utf-8")
    result = run_cli("--stack", "local", "--pipeline", "chat_forecast", "--config", str(config))
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: {config}: invalid pipeline parameters")
    assert "parameters.retrain_policy.cooldwn_hours: Extra inputs are not permitted" in last
    assert "has started" not in result.stdout + result.stderr  # no step ran

    config.write_text("parameters:\n  last_n: null\nsteps:\n  train_forecaster:\n    parameters:\n"
                      "      folds: many\n", encoding="utf-8")
    result = run_cli("--stack", "local", "--pipeline", "chat_forecast", "--config", str(config))
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert "input 'folds': Input should be a valid integer" in last and "(got 'many')" in last
    assert "has started" not in result.stdout + result.stderr


def test_systems_bring_their_own_commands():
    import run

    modules = [module.__name__ for module in run.system_cli_modules()]
    assert "stackpipes.horoscope.cli" in modules
    assert not any(name.split(".")[1] in run.LIBRARIES for name in modules)
    assert [m.__name__ for m in run.cli_modules()][0] == "stackpipes.core.cli"  # the shared `review`
    result = run_cli("--help")
    assert "generate" in result.stdout  # horoscope's command, added through its cli module
    assert "review" in result.stdout
    result = run_cli("generate", "--sign", "ophiuchus")
    assert result.returncode == 1 and result.stderr.strip().startswith("error: --sign 'ophiuchus': expected one of")
    result = run_cli("generate", "--sign", "leo", "--n", "100000")
    assert result.returncode == 1 and "--n 100000: expected 1 to" in result.stderr


def test_the_state_folder_and_its_databases_are_private(tmp_path):
    import stat

    home = tmp_path / "state"
    home.mkdir(mode=0o755)  # a folder someone made world-readable
    env = {k: v for k, v in os.environ.items() if k not in ("ZENML_CONFIG_PATH", "STACKPIPES_REPORTS")}
    env["STACKPIPES_HOME"] = str(home)
    result = subprocess.run([sys.executable, "run.py", "stack", "up", "local"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    databases = list(home.glob("zenml/local_stores/*/zenml.db"))
    assert databases and all(stat.S_IMODE(db.stat().st_mode) == 0o600 for db in databases)


def test_two_first_runs_at_once_on_a_new_state_folder_both_succeed(tmp_path):
    """One creates the stores and registers the stack, the other waits for it (a lock in the state
    folder); before, the second died creating MLflow's SQLite schema a second time."""
    env = {k: v for k, v in os.environ.items() if k not in ("ZENML_CONFIG_PATH",)}
    env.update({"STACKPIPES_HOME": str(tmp_path / "state"), "STACKPIPES_REPORTS": str(tmp_path / "reports")})
    command = [sys.executable, "run.py", "--stack", "local", "--pipeline", "chat_forecast"]
    runs = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for _ in range(2)]
    outputs = [run.communicate(timeout=600)[0] for run in runs]
    for run, output in zip(runs, outputs, strict=True):
        assert run.returncode == 0, output[-3000:]
        assert "Traceback" not in output and ": completed" in output
    # A first run creates every store and trains, logs and promotes a model: the libraries' chatter
    # (dashboard and Pro hints, GX's docs site, MLflow's tables, pickling and signature notes) is
    # not on the console; the project's own summary is.
    chatter = ("zenml login", "ZenML Pro", "ephemeral docs site", "MLflow database tables", "CloudPickle",
               "signature", "input example", "aliases instead of stages", "UserWarning")
    for output in outputs:
        assert [text for text in chatter if text in output] == []
        assert "  drift:" in output and "  promotion:" in output


def test_a_run_killed_in_the_middle_is_marked_failed_at_the_next_start(tmp_path):
    import signal
    import time

    env = {k: v for k, v in os.environ.items() if k not in ("ZENML_CONFIG_PATH",)}
    env.update({"STACKPIPES_HOME": str(tmp_path / "state"), "STACKPIPES_REPORTS": str(tmp_path / "reports")})
    command = [sys.executable, "run.py", "--stack", "local", "--pipeline", "chat_forecast"]
    victim = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen = ""
    deadline = time.monotonic() + 300
    while "Step `check_incoming` has finished" not in seen:  # killed half way, mid-run
        line = victim.stdout.readline()
        assert line or victim.poll() is None, seen[-2000:]
        seen += line
        assert time.monotonic() < deadline, seen[-2000:]
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)

    probe = ("import sys; sys.path.insert(0, '.'); from stackpipes.platform.env import boot_zenml; boot_zenml(); "
             "from zenml.client import Client; "
             "[print(r.name, r.status.value, r.get_body().status_reason) for r in Client().list_pipeline_runs(hydrate=True).items]")
    before = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert " running " in before.stdout, before.stdout + before.stderr  # what a killed run leaves behind

    again = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    killed = before.stdout.split()[0]
    assert f"run {killed}: marked failed" in again.stdout
    after = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    statuses = dict(line.split(" ", 1) for line in after.stdout.strip().splitlines())
    assert statuses[killed].startswith("failed the process that ran it ended before the run finished")
    assert sum(status.startswith("completed") for status in statuses.values()) == 1
