"""chat_forecast end to end on the local stack, in a fresh ZenML project per test.

The assertions read what the run stored: artifacts, model versions, the MLflow registry.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

pytestmark = pytest.mark.pipeline

FAST = {
    "source": "export",
    "last_n": None,
    "candidates": ["seasonal_naive", "holt_winters"],
    "drift_reference_hours": 504,
    "retrain_policy": {"metric_threshold": 60.0, "drift_share_threshold": 0.5, "min_samples": 336},
}


@pytest.fixture(scope="module")
def export_file(tmp_path_factory):
    from make_sample_export import generate_export

    path = tmp_path_factory.mktemp("export") / "result.json"
    path.write_text(json.dumps(generate_export(weeks=6, seed=11)), encoding="utf-8")
    return path


def run_pipeline(export: Path, **overrides):
    from zenml.client import Client

    from pipelines.chat_forecast import chat_forecast

    params = {**FAST, "export_path": str(export), **overrides}
    run = chat_forecast(**params)
    return Client().get_pipeline_run(run.id)


def history_versions():
    from zenml.client import Client

    return Client().list_artifact_versions(artifact="chat_history", sort_by="desc:created", size=50).items


def step_status(run, name: str) -> str:
    return str(run.steps[name].status.value)


def test_two_runs_merge_without_duplicates_and_second_run_is_cached(fresh_project, export_file):
    from stackpipes.telegram.export import parse_export

    expected = parse_export(export_file).messages
    first = run_pipeline(export_file)
    second = run_pipeline(export_file)
    assert str(first.status.value) == "completed" and str(second.status.value) == "completed"

    versions = history_versions()
    assert len(versions) == 2
    newest, older = versions[0].load(), versions[1].load()
    assert newest["id"].is_unique
    assert len(newest) == len(expected)
    assert newest.equals(older)  # re-running on the same export changes nothing
    assert set(newest["id"]) == set(expected["id"])

    # Content-hashed artifacts: what the second run recomputed was unchanged, so the costly
    # downstream steps came from the cache.
    for name in ("hourly_series", "check_series", "split_recent", "detect_drift"):
        assert step_status(second, name) == "cached", name


def test_first_run_trains_promotes_and_forecasts(fresh_project, export_file, state_dir):
    from zenml.client import Client
    from zenml.enums import ModelStages

    run = run_pipeline(export_file)
    decision = run.steps["decide_retrain"].outputs["retrain_decision"][0].load()
    assert decision.retrain and decision.reasons == ["no production model exists"]

    production = Client().get_model_version("chat_forecast", ModelStages.PRODUCTION)
    assert production.get_artifact("forecast_model") is not None
    assert production.run_metadata["smape_holdout"] > 0

    forecast = run.steps["forecast_next"].outputs["chat_forecast_24h"][0].load()
    assert len(forecast.frame) == 24 and (forecast.frame["forecast"] >= 0).all()
    counts = run.steps["hourly_series"].outputs["hourly_counts"][0].load()
    assert forecast.frame["timestamp"].iloc[0] == counts["timestamp"].iloc[-1] + pd.Timedelta(hours=1)
    assert forecast.png.startswith(b"\x89PNG")
    csv = Path(run.steps["forecast_next"].run_metadata["csv"])
    assert csv.is_file() and len(pd.read_csv(csv)) == 24

    drift = run.steps["detect_drift"].outputs["drift_summary"][0].load()
    assert Path(drift.report_path).is_file()
    assert Path(drift.report_path).parent.name == run.name  # one folder per run: nothing overwritten
    assert drift.current_window and drift.reference_window and len(drift.columns["count"].bin_edges) == 21

    # What the run decided is on the run: tags for the runs list, metadata, the summary's lines.
    from pipelines.chat_forecast import report

    tags = {t.name for t in run.tags}
    assert {"retrain", "promoted"} <= tags and tags & {"drift", "no-drift"}
    assert run.run_metadata["retrain"] is True and run.run_metadata["promoted"] is True
    assert 0 <= run.run_metadata["drifted_share"] <= 1
    summary = report(run)
    assert "  drift:  " in summary and drift.verdict in summary
    assert "  production:    none yet" in summary and "promotion:     promoted" in summary

    # The MLflow registry shows the same champion.
    import mlflow
    from mlflow import MlflowClient

    from stackpipes.platform.registration import experiment_tracking_uri

    uri = Client().active_stack.experiment_tracker.get_tracking_uri()
    assert experiment_tracking_uri() == uri  # what run.py prints, read without building the tracker
    mlflow.set_tracking_uri(uri)
    champion = MlflowClient().get_model_version_by_alias("chat_forecast", "champion")
    assert champion.tags.get("zenml_model_version", champion.description) is not None
    assert str(production.name) in (champion.description or "")
    served = mlflow.pyfunc.load_model("models:/chat_forecast@champion").predict(pd.DataFrame({"horizon": [24]}))
    assert len(served) == 24 and (served["forecast"] >= 0).all()


def test_a_short_history_is_collected_not_refused_and_the_run_says_how_far(fresh_project, export_file, tmp_path):
    from zenml.client import Client
    from zenml.enums import ModelStages

    from pipelines.chat_forecast import report
    from stackpipes.telegram.export import parse_export

    data = json.loads(export_file.read_text(encoding="utf-8"))
    first = min(int(m["date_unixtime"]) for m in data["messages"])
    early = {**data, "messages": [m for m in data["messages"] if int(m["date_unixtime"]) < first + 3 * 24 * 3600]}
    short = tmp_path / "three_days.json"
    short.write_text(json.dumps(early), encoding="utf-8")

    run = run_pipeline(short)
    assert str(run.status.value) == "completed"
    decision = run.steps["decide_retrain"].outputs["retrain_decision"][0].load()
    hours = run.steps["hourly_series"].outputs["series_hours"][0].load()
    assert decision.collecting and not decision.retrain
    assert decision.reasons == [f"collecting history: {hours} of 336 hours"] and hours <= 72
    assert run.steps["forecast_next"].outputs["chat_forecast_24h"][0].load() is None
    assert f"collecting history: {hours} of 336 hours" in report(run)
    with pytest.raises(KeyError):
        Client().get_model_version("chat_forecast", ModelStages.PRODUCTION)
    kept = history_versions()[0].load()
    assert set(kept["id"]) == set(parse_export(short).messages["id"])  # the messages are kept

    later = run_pipeline(export_file)  # enough hours now: the first model is trained
    assert later.steps["decide_retrain"].outputs["retrain_decision"][0].load().reasons == ["no production model exists"]
    assert Client().get_model_version("chat_forecast", ModelStages.PRODUCTION) is not None
    assert set(kept["id"]) <= set(history_versions()[0].load()["id"])


def test_yesterdays_forecast_is_scored_with_smape(fresh_project, export_file, tmp_path):
    from stackpipes.chat_forecast.model import smape

    data = json.loads(export_file.read_text(encoding="utf-8"))
    last = max(int(m["date_unixtime"]) for m in data["messages"])
    yesterday = {**data, "messages": [m for m in data["messages"] if int(m["date_unixtime"]) <= last - 24 * 3600]}
    early = tmp_path / "yesterday.json"
    early.write_text(json.dumps(yesterday), encoding="utf-8")

    first = run_pipeline(early)
    stored = first.steps["forecast_next"].outputs["chat_forecast_24h"][0].load()
    second = run_pipeline(export_file)

    score = second.steps["score_last_forecast"].outputs["forecast_score"][0].load()
    assert score.status == "scored" and score.points >= 12
    counts = second.steps["hourly_series"].outputs["hourly_counts"][0].load()
    joined = counts.iloc[-24:].merge(stored.frame, on="timestamp")
    assert score.value == pytest.approx(smape(joined["count"].to_numpy(float), joined["forecast"].to_numpy(float)))
    assert first.steps["score_last_forecast"].outputs["forecast_score"][0].load().status == "no_prediction"


def test_a_worse_model_is_not_promoted(fresh_project, export_file, monkeypatch):
    from zenml.client import Client
    from zenml.enums import ModelStages

    from stackpipes.chat_forecast import model as forecasting

    run_pipeline(export_file)
    champion = Client().get_model_version("chat_forecast", ModelStages.PRODUCTION)

    # A deliberately poor forecaster: the overall mean, flat, for every hour.
    def flat_mean(series, horizon, params=None):
        return forecasting.CANDIDATES["seasonal_naive"](series.assign(count=series["count"].mean()), horizon, params)

    monkeypatch.setitem(forecasting.CANDIDATES, "flat_mean", flat_mean)
    run = run_pipeline(
        export_file, candidates=["flat_mean"], retrain_policy={**FAST["retrain_policy"], "force": True}
    )
    promotion = run.steps["promote_if_better"].outputs["promotion"][0].load()
    assert not promotion.promoted and "does not beat production" in promotion.reason
    assert promotion.challenger > promotion.production
    still = Client().get_model_version("chat_forecast", ModelStages.PRODUCTION)
    assert still.id == champion.id


BAD_INPUTS = {
    "empty-file": ("", "no messages"),
    "malformed-json": ("{not json", "line 1"),
    "empty-export": ('{"name": "x", "messages": []}', "no messages"),
    "missing-fields": ('{"messages": [{"type": "message", "text": "no id or date"}]}', "id"),
    "not-an-export": ('[1, 2, 3]', "not a Telegram Desktop export"),
}


def test_bad_input_fails_clearly_and_keeps_history(fresh_project, export_file, tmp_path):
    from stackpipes.core.artifacts import latest_successful
    from stackpipes.telegram.export import ExportError

    run_pipeline(export_file)
    before = latest_successful("chat_history")
    for name, (content, message) in BAD_INPUTS.items():
        bad = tmp_path / f"{name}.json"
        bad.write_text(content, encoding="utf-8")
        with pytest.raises(ExportError) as err:
            run_pipeline(bad)
        assert str(bad) in str(err.value) and message in str(err.value), name
        after = latest_successful("chat_history")
        assert after.id == before.id, name
    assert latest_successful("chat_history").load().equals(before.load())
