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
