"""ratings end to end on the local stack: collect -> land -> train on the comments; Titanic swept,
trained, tested and promoted, every trial a nested MLflow run; a worse model is not promoted;
batch predictions from the production model."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.ratings.conftest import SMALL_SWEEP, TITANIC

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.pipeline

REVIEWS = {
    "name": "reviews", "source": {"kind": "landed", "prepare": "comment_ratings"}, "target": "rating",
    "task": "regression", "features": {"text": ["text"]}, "split": {"test_size": 0.25, "seed": 42, "group": "film"},
    "report_group": "film", "metric": "r2", "checks": {"ranges": {"rating": [0, 1]}, "min_rows": 100},
}
REVIEW_SWEEP = {"strategy": "optuna", "trials": 4, "parallel": 2, "folds": 3, "seed": 1, "space": {
    "linear": {"alpha": {"low": 0.3, "high": 30, "log": True}},
    "random_forest": {"n_estimators": [20], "max_depth": [4]}}}


def _train(dataset: dict, sweep: dict, **parameters):
    from zenml import Model

    from pipelines.ratings_train import ratings_train
    from stackpipes.ratings import model_name

    pipeline = ratings_train.with_options(model=Model(name=model_name(dataset["name"])))
    return pipeline(dataset=dataset, sweep=sweep, **parameters)


def _mlflow_runs(pipeline_run_name: str):
    import mlflow
    from mlflow import MlflowClient
    from zenml.client import Client

    mlflow.set_tracking_uri(Client().active_stack.experiment_tracker.get_tracking_uri())
    experiment = MlflowClient().get_experiment_by_name("ratings_train")
    runs = MlflowClient().search_runs([experiment.experiment_id], max_results=1000)
    parent = next(r for r in runs if r.data.tags.get("mlflow.runName") == pipeline_run_name)
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    return parent, children


def test_collect_lands_once_and_reviews_train_on_the_landed_comments(tmp_path, fresh_project, monkeypatch):
    from pipelines.ratings_collect import ratings_collect

    monkeypatch.setenv("STACKPIPES_RAW_ROOT", str(tmp_path / "raw"))
    collect = ratings_collect.with_options(enable_cache=False)
    first = collect(source="bundled", date="2026-12-01")
    meta = first.steps["land_raw_comments"].run_metadata
    assert len(meta["written"]) == 60 and not meta["unchanged"]
    assert first.steps["check_raw"].outputs["validation_report"][0].load().success
    landed = sorted((tmp_path / "raw" / "ratings").rglob("*.csv"))
    assert landed[0].relative_to(tmp_path / "raw").parts[:2] == ("ratings", "source=youtube")
    before = {path: path.read_bytes() for path in landed}
    second = collect(source="bundled", date="2026-12-01")
    assert len(second.steps["land_raw_comments"].run_metadata["unchanged"]) == 60
    assert {path: path.read_bytes() for path in sorted((tmp_path / "raw" / "ratings").rglob("*.csv"))} == before

    run = _train(REVIEWS, REVIEW_SWEEP, log_model_to_mlflow=False)
    assert run.status.value == "completed"
    split = run.steps["split_dataset"].run_metadata
    assert split["train_rows"] + split["test_rows"] == len(pd.concat(pd.read_csv(p) for p in landed))
    train = run.steps["split_dataset"].outputs["train_rows"][0].load()
    test = run.steps["split_dataset"].outputs["test_rows"][0].load()
    assert set(train["film"]).isdisjoint(test["film"])  # no film on both sides
    assert run.steps["load_table"].outputs["raw_table"][0].load().shape == (split["train_rows"] + split["test_rows"], 12)
    evaluation = run.steps["evaluate_model"].outputs["model_evaluation"][0].load()
    assert evaluation.retrained and evaluation.metric == "test_r2" and evaluation.challenger is not None
    assert "film_rating_correlation" in run.steps["evaluate_model"].run_metadata
    assert run.steps["promote_if_better"].outputs["promotion"][0].load().promoted


def test_titanic_is_swept_promoted_and_a_worse_model_is_not(tmp_path, fresh_project, capsys):
    import run as cli

    first = _train(TITANIC, SMALL_SWEEP)
    assert first.status.value == "completed"
    result = first.steps["select_best"].outputs["sweep_result"][0].load()
    assert len(result.results) == 6 and {r.shard for r in result.results} == {0, 1}
    parent, trials = _mlflow_runs(first.name)
    assert sorted(int(t.data.tags["mlflow.runName"].split("-")[1]) for t in trials) == list(range(6))
    assert all({"cv_mean", "cv_std", "fit_seconds"} <= set(t.data.metrics) for t in trials)
    assert {t.data.params["family"] for t in trials} == {"linear", "random_forest", "gradient_boosting"}
    winner = next(t for t in trials if t.data.tags["mlflow.runName"] == f"trial-{result.best.index:03d}")
    assert winner.data.metrics["cv_mean"] == pytest.approx(max(t.data.metrics["cv_mean"] for t in trials))
    assert parent.data.metrics["best_cv_accuracy"] == pytest.approx(result.best.cv_mean)
    evaluation = first.steps["evaluate_model"].outputs["model_evaluation"][0].load()
    assert evaluation.retrained and evaluation.production is None
    assert first.steps["promote_if_better"].outputs["promotion"][0].load().promoted
    html = first.steps["select_best"].outputs["sweep_leaderboard"][0].load()
    assert "Sweep leaderboard" in html and "data:image/png;base64," in html

    # A sweep that can only find a weak model: tested on the same rows, it does not replace production.
    weak = {**SMALL_SWEEP, "strategy": "grid", "parallel": 1, "space": {"linear": {"C": [0.0001]}}}
    second = _train(TITANIC, weak, log_model_to_mlflow=False, retrain_policy={"force": True})
    evaluation = second.steps["evaluate_model"].outputs["model_evaluation"][0].load()
    assert evaluation.production is not None and evaluation.challenger < evaluation.production
    promotion = second.steps["promote_if_better"].outputs["promotion"][0].load()
    assert not promotion.promoted and "does not beat production" in promotion.reason
    drift = second.steps["detect_drift"].outputs["drift_summary"][0].load()
    assert drift.total_columns == 9  # 8 features and the target, against production's training rows

    from stackpipes.ratings.datasets import resolve_path

    table = pd.read_csv(resolve_path(TITANIC["source"]["path"]), na_values=["?"]).drop(columns=["survived"]).head(20)
    table.loc[0, "embarked"] = "X"
    source = tmp_path / "passengers.csv"
    table.to_csv(source, index=False)
    capsys.readouterr()
    assert cli.main(["predict", "--dataset", "titanic", "--input", str(source)]) == 0
    out = capsys.readouterr()
    predictions = pd.read_csv(tmp_path / "passengers.predictions.csv")
    assert len(predictions) == 20 and set(predictions["prediction"]) <= {0, 1}
    assert "embarked" in out.err and "never seen in training" in out.err
    production = first.steps["promote_if_better"].outputs["promotion"][0].load().model_version
    assert f"20 predictions by ratings_titanic version {production} " in out.out  # the promoted one, not the weak one
