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
    result = run_cli("--help")
    assert "generate" in result.stdout  # horoscope's command, added through its cli module
    result = run_cli("generate", "--sign", "ophiuchus")
    assert result.returncode == 1 and result.stderr.strip().startswith("error: --sign 'ophiuchus': expected one of")
    result = run_cli("generate", "--sign", "leo", "--n", "100000")
    assert result.returncode == 1 and "--n 100000: expected 1 to" in result.stderr
