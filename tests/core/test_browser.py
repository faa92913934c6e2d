"""A real browser (Debian's Chromium, driven by Playwright) looks at what a reviewer looks at: the
dashboard's views of a drift summary and of a retrain decision, framed exactly as the ZenML
dashboard frames an HTML visualization (`<iframe sandbox="" srcdoc=...>`: no scripts, no same
origin), and a run's review page, which must not send one request off 127.0.0.1."""

from __future__ import annotations

import html
import json
import os
import shutil
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

pytestmark = pytest.mark.pipeline


def chromium_path() -> str:
    path = os.environ.get("STACKPIPES_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("no Chromium for the browser tests: `make test` installs it (scripts/ensure_chromium.sh), "
                    "or set STACKPIPES_CHROMIUM")
    return path


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path(), headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def reviewed_run(tmp_path_factory, zenml_local_stack):
    """One chat_forecast run on a small synthetic export whose last week drifts."""
    from make_sample_export import generate_export
    from zenml.client import Client

    from pipelines.chat_forecast import chat_forecast

    client = Client()
    project = f"t-browser-{os.getpid()}"
    client.create_project(name=project, description="browser test project")
    client.set_active_project(project)
    export = tmp_path_factory.mktemp("export") / "result.json"
    export.write_text(json.dumps(generate_export(weeks=6, seed=11)), encoding="utf-8")
    run = chat_forecast(source="export", export_path=str(export), last_n=None,
                        candidates=["seasonal_naive", "holt_winters"], drift_reference_hours=504,
                        retrain_policy={"metric_threshold": 60.0, "drift_share_threshold": 0.5, "min_samples": 336})
    yield client.get_pipeline_run(run.id)
    client.set_active_project("default")


def dashboard_view(run, step: str, output: str, index: int = 0) -> str:
    """The visualization the dashboard's server sends for one artifact of the run."""
    from zenml.artifacts.utils import load_artifact_visualization

    artifact = run.steps[step].outputs[output][0]
    loaded = load_artifact_visualization(artifact, index=index)
    assert str(loaded.type.value) == "html", loaded.type
    return loaded.value if isinstance(loaded.value, str) else loaded.value.decode("utf-8")


def open_framed(browser, content: str):
    """A page holding `content` the way the dashboard holds it; returns (page, frame, console errors)."""
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_content('<!DOCTYPE html><html><body><iframe title="Secure HTML Content" style="width:1200px;height:900px" '
                     f'sandbox="" srcdoc="{html.escape(content, quote=True)}"></iframe></body></html>')
    page.wait_for_load_state("load")
    frame = next(f for f in page.frames if f is not page.main_frame)
    return page, frame, errors


def test_the_drift_summary_renders_as_text_inside_the_sandboxed_frame(browser, reviewed_run):
    summary = reviewed_run.steps["detect_drift"].outputs["drift_summary"][0].load()
    page, frame, errors = open_framed(browser, dashboard_view(reviewed_run, "detect_drift", "drift_summary"))
    try:
        text = frame.inner_text("body")
        assert errors == []  # nothing the sandbox had to block
        rows = frame.locator("table tr")
        assert rows.count() >= summary.total_columns + 1
        for name, column in summary.columns.items():
            row = frame.locator("table tr", has_text=name).first.inner_text().split("\t")
            assert row[0] == name and float(row[2]) == pytest.approx(column.score, rel=1e-3)
            assert float(row[3]) == pytest.approx(column.threshold) and row[4] == ("yes" if column.drifted else "no")
        assert summary.reference_window in text and summary.current_window in text
        assert frame.locator("svg").count() >= 1  # the distributions, drawn inline
    finally:
        page.close()


def test_the_decision_lists_every_rule_inside_the_sandboxed_frame(browser, reviewed_run):
    decision = reviewed_run.steps["decide_retrain"].outputs["retrain_decision"][0].load()
    page, frame, errors = open_framed(browser, dashboard_view(reviewed_run, "decide_retrain", "retrain_decision"))
    try:
        text = frame.inner_text("body")
        assert errors == []
        assert len(decision.rules) >= 3
        for rule in decision.rules:
            assert rule.rule in text and rule.detail in text and rule.outcome in text
    finally:
        page.close()


def test_the_review_page_opens_offline_with_every_section(browser, reviewed_run):
    path = Path(reviewed_run.steps["write_review_page"].run_metadata["review_page"])
    page = browser.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    try:
        page.goto(path.as_uri())
        page.wait_for_load_state("networkidle")
        text = page.inner_text("body")
        framed = "\n".join(frame.inner_text("body") for frame in page.frames if frame is not page.main_frame)
        for section in ("Data checks", "Drift", "Retrain decision", "Challenger vs production", "Promotion"):
            assert page.get_by_role("heading", name=section).count() >= 1, section
        assert reviewed_run.name in text
        # The artifacts' own views, framed as the dashboard frames them, render inside the page.
        assert "DATASET DRIFT" in framed or "no drift" in framed.lower()
        assert "Every rule of the policy" in framed and "cooldown" in framed
        # The run's full Evidently report is one click away, beside the page.
        link = page.get_by_role("link", name="chat_forecast_drift.html")
        assert link.count() == 1 and (path.parent / link.get_attribute("href")).resolve().is_file()
        off_machine = [url for url in requests
                       if urlparse(url).scheme not in ("file", "data", "about", "blob")
                       and urlparse(url).hostname not in ("127.0.0.1", "localhost")]
        assert off_machine == []
        images = page.locator("img")
        assert images.count() >= 1 and all(images.nth(i).evaluate("i => i.naturalWidth > 0")
                                           for i in range(images.count()))
    finally:
        page.close()
