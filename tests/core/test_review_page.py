"""The review page of a run and the drift history in Evidently's workspace and UI, on real runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.core.test_views import assert_script_free_and_offline

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

pytestmark = pytest.mark.pipeline


@pytest.fixture(scope="module")
def export_file(tmp_path_factory):
    from make_sample_export import generate_export

    path = tmp_path_factory.mktemp("export") / "result.json"
    path.write_text(json.dumps(generate_export(weeks=6, seed=11)), encoding="utf-8")
    return path


def run_pipeline(export: Path):
    from zenml.client import Client

    from pipelines.chat_forecast import chat_forecast

    run = chat_forecast(source="export", export_path=str(export), last_n=None,
                        candidates=["seasonal_naive", "holt_winters"], drift_reference_hours=504,
                        retrain_policy={"metric_threshold": 60.0, "drift_share_threshold": 0.5, "min_samples": 336})
    return Client().get_pipeline_run(run.id)


def counts() -> tuple[int, int]:
    from stackpipes.core.drift_history import project_snapshots

    snapshots = project_snapshots("chat_forecast")
    outcomes = sum("outcomes" in s.tags for s in snapshots)
    return len(snapshots) - outcomes, outcomes


def test_a_run_writes_its_own_offline_review_page_and_adds_to_the_drift_history(fresh_project, export_file, state_dir):
    from stackpipes.core.drift_history import panel_titles, project_snapshots

    drift_before, outcomes_before = counts()
    run = run_pipeline(export_file)
    path = Path(run.steps["write_review_page"].run_metadata["review_page"])
    assert path.name == "review.html" and path.parent.name == run.name and path.parent.parent.name == "chat_forecast"
    page = path.read_text(encoding="utf-8")
    assert_script_free_and_offline(page)
    for section in ("Data checks", "Drift", "Retrain decision", "Challenger vs production", "Promotion",
                    "Produced: chat_forecast_24h"):
        assert f"<h2>{section}</h2>" in page, section
    assert "data:image/png;base64," in page and "check_history" in page
    assert str(run.steps["write_review_page"].outputs["review_page"][0].load()) == page

    # One drift snapshot (this run's drift step executed) and one outcomes snapshot, tied to the run.
    assert counts() == (drift_before + 1, outcomes_before + 1)
    mine = [s for s in project_snapshots("chat_forecast") if f"run:{run.name}" in s.tags]
    assert len(mine) == 2 and all(s.metadata["zenml_run_id"] == str(run.id) for s in mine)

    again = run_pipeline(export_file)  # same data: the drift step is cached and adds nothing
    assert str(again.steps["detect_drift"].status.value) == "cached"
    assert counts() == (drift_before + 1, outcomes_before + 1)
    titles = panel_titles("chat_forecast")
    assert len(titles) == len(set(titles)) and "Drifted share over time" in titles and "retrain over time" in titles

    # `review ui` serves the workspace with Evidently's own UI; --stop stops it.
    from stackpipes.platform.processes import free_port

    port = free_port()
    env = {**os.environ, "STACKPIPES_EVIDENTLY_PORT": str(port)}
    started = subprocess.run([sys.executable, "run.py", "review", "ui"], cwd=ROOT, env=env, capture_output=True,
                             text=True, timeout=180)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        assert f"http://127.0.0.1:{port}" in started.stdout
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/projects", timeout=10) as response:
            assert "chat_forecast" in {p["name"] for p in json.loads(response.read())}
    finally:
        stopped = subprocess.run([sys.executable, "run.py", "review", "ui", "--stop"], cwd=ROOT, env=env,
                                 capture_output=True, text=True, timeout=120)
    assert stopped.returncode == 0
    time.sleep(0.5)
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/api/version", timeout=3)


def test_a_stack_file_sends_the_drift_history_to_a_remote_evidently_workspace(fresh_project, export_file, tmp_path):
    """A stack names an Evidently UI service (URL) and the ZenML secret holding its write secret, by
    reference; runs on that stack add their snapshots there, not to the local workspace; the review
    commands point at it. The service here is Evidently's own UI with --secret, on its own folder."""
    import yaml
    from evidently.ui.workspace import Workspace

    from stackpipes.platform.env import state_dir
    from stackpipes.platform.processes import free_port
    from stackpipes.platform.registration import stack_up
    from stackpipes.platform.stackfile import load_stack_file
    from tests.support import isolated_environment

    port, remote_folder = free_port(), tmp_path / "remote-workspace"
    service = subprocess.Popen([str(Path(sys.executable).parent / "evidently"), "ui", "--workspace", str(remote_folder),
                                "--host", "127.0.0.1", "--port", str(port), "--secret", "team-secret"],
                               env={**os.environ, "DO_NOT_TRACK": "1"}, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    spec = yaml.safe_load((ROOT / "stacks" / "local.yaml").read_text())
    spec.update(name="remote-evidently",
                environment={"STACKPIPES_EVIDENTLY_WORKSPACE": f"http://127.0.0.1:{port}",
                             "STACKPIPES_EVIDENTLY_SECRET_NAME": "team_evidently"},
                secrets=[{"name": "team_evidently", "values": {"secret": "${TEAM_EVIDENTLY_SECRET}"}}])
    stack_file = tmp_path / "remote-evidently.yaml"
    stack_file.write_text(yaml.safe_dump(spec))

    def local_snapshots() -> int:
        local = Workspace.create(str(state_dir() / "evidently"))
        return sum(len(local.list_runs(p.id)) for p in local.search_project("chat_forecast"))

    local_before = local_snapshots()
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/version", timeout=2)
                break
            except OSError:
                assert time.monotonic() < deadline and service.poll() is None, "Evidently UI did not start"
                time.sleep(0.5)
        with isolated_environment((), TEAM_EVIDENTLY_SECRET="team-secret"):
            stack_up(load_stack_file(stack_file))
        run = run_pipeline(export_file)
        remote = Workspace.create(str(remote_folder))
        projects = remote.search_project("chat_forecast")
        assert len(projects) == 1
        snapshots = [remote.get_run(projects[0].id, s) for s in remote.list_runs(projects[0].id)]
        assert {s.metadata["zenml_run_id"] for s in snapshots} == {str(run.id)} and len(snapshots) == 2
        assert local_snapshots() == local_before  # nothing went to the local workspace

        shown = subprocess.run([sys.executable, "run.py", "review", "show", run.name], cwd=ROOT, capture_output=True,
                               text=True, timeout=180)
        assert shown.returncode == 0, shown.stderr
        drift_step = run.steps["detect_drift"].run_metadata
        assert (f"Evidently:     http://127.0.0.1:{port}/projects/{drift_step['evidently_project']}/reports/"
                f"{drift_step['evidently_snapshot']}") in shown.stdout
        ui = subprocess.run([sys.executable, "run.py", "review", "ui"], cwd=ROOT, capture_output=True, text=True,
                            timeout=180)
        assert ui.returncode == 0 and f"Evidently UI: http://127.0.0.1:{port}" in ui.stdout and "nothing started" in ui.stdout
    finally:
        stack_up(load_stack_file(ROOT / "stacks" / "local.yaml"))  # the session's stack again
        os.killpg(service.pid, 15)
        service.wait(timeout=30)
