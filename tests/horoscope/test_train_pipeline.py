"""horoscope_train end to end on the local stack, after a real collection over loopback HTTP.

A tiny Llama (random weights, a BPE tokenizer trained here) saved as a Hugging Face folder stands
in for SmolLM2 so the run takes seconds on CPU: the pipeline loads it through the same
`model_ref` path any HF id or folder takes (the packaged SmolLM2 itself is loaded and trained in
tests/unit/test_lm.py). Everything else is the product: Spark, GX, Evidently, the Trainer, USE,
VADER, MLflow and the ZenML model registry.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from stackpipes.platform.processes import free_port

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.pipeline

DAYS = ["2026-11-01", "2026-11-02", "2026-11-03"]
TRAINING = {"max_steps": 6, "batch_size": 4, "seq_len": 64, "learning_rate": 3e-3, "subset_size": 64,
            "eval_fraction": 0.2, "max_eval_examples": 8, "logging_steps": 2}
GRID = {"top_p": [0.9], "temperature": [0.7, 1.2], "signs": ["aries", "leo"], "n_per_prompt": 2,
        "max_new_tokens": 12}


def _collect(raw_root: Path, monkeypatch) -> None:
    from pipelines.horoscope_collect import horoscope_collect

    monkeypatch.setenv("STACKPIPES_SITES_PORT", str(free_port()))
    run = horoscope_collect.with_options(enable_cache=False)(dates=DAYS, serve_bundled_sites=True,
                                                             raw_root=str(raw_root))
    assert run.status.value == "completed"


def _train(raw_root: Path | None, model_ref: str, **overrides):
    from zenml.client import Client

    from pipelines.horoscope_train import horoscope_train

    parameters = {
        "raw_root": str(raw_root) if raw_root else None, "model_ref": model_ref, "training": TRAINING, "grid": GRID,
        "spark": {"master": "local[2]", "conf": {"spark.sql.shuffle.partitions": "2"}},
        "retrain_policy": {"min_samples": 20, "cooldown_hours": 0, "drift_share_threshold": 0.5},
        **overrides,
    }
    run = horoscope_train.with_options(enable_cache=False)(**parameters)
    return Client().get_pipeline_run(run.id)


def _output(run, step: str, name: str):
    return run.steps[step].outputs[name][0].load()


def test_train_evaluate_promote_then_a_rerun_on_the_same_corpus_keeps_production(
    tmp_path, fresh_project, tiny_model, monkeypatch, capsys
):
    from zenml.client import Client
    from zenml.enums import ModelStages

    raw_root = tmp_path / "raw"
    _collect(raw_root, monkeypatch)
    first = _train(raw_root, tiny_model)
    assert first.status.value == "completed"

    # Spark wrote the clean parquet beside the raw data; GX checked it with the config's bounds
    clean = first.steps["clean_horoscopes"].run_metadata
    assert clean["reused"] is False and clean["rows_in"] == 3 * 12 * len(DAYS)  # 3 sites x 12 signs a day
    clean_uri = _output(first, "clean_horoscopes", "clean_parquet_uri")
    assert clean_uri.startswith(str(raw_root / "horoscope_clean"))
    assert sorted(p.name for p in Path(clean_uri).iterdir() if p.is_dir()) == [f"date={d}" for d in DAYS]
    corpus = _output(first, "load_clean_corpus", "horoscope_corpus")
    assert len(corpus) == clean["rows_out"] < clean["rows_in"]  # planted empty/short/duplicate rows went
    assert corpus["n_chars"].between(300, 500).all() and corpus["text"].is_unique
    assert _output(first, "check_clean", "validation_report").success

    # first run: nothing to compare with, no production -> train
    assert _output(first, "detect_drift", "drift_summary").reference_rows == 0
    decision = _output(first, "decide_retrain", "retrain_decision")
    assert decision.retrain and decision.reasons == ["no production model exists"]

    trained = first.steps["fine_tune_horoscope_lm"].run_metadata
    assert trained["loss_after"] < trained["loss_before"]  # the held-out loss fell

    table = _output(first, "evaluate_sampling_grid", "sampling_grid")
    assert len(table) == 2 and list(table["temperature"]) == [0.7, 1.2]
    for metric in ("lm_loss_acceptability", "diversity", "sentiment_non_negative_share"):
        assert table[metric].between(0, 1).all()
    best = _output(first, "evaluate_sampling_grid", "best_sampling")
    assert best["score"] == table["score"].max()

    model = _output(first, "package_horoscope_lm", "horoscope_lm")
    assert model.generation_config.top_p == best["top_p"]
    assert model.generation_config.temperature == best["temperature"]
    assert model.generation_config.max_new_tokens == GRID["max_new_tokens"]

    promotion = _output(first, "promote_if_better", "promotion")
    assert promotion.promoted and promotion.reason == "no production model to beat"
    production = Client().get_model_version("horoscope_lm", ModelStages.PRODUCTION)
    assert production.run_metadata["heldout_loss"] == promotion.challenger

    # MLflow: one nested run per strategy with its samples, and the model in the registry
    import mlflow

    tracker = Client().active_stack.experiment_tracker
    mlflow.set_tracking_uri(tracker.get_tracking_uri())
    experiment = mlflow.get_experiment_by_name("horoscope_train")
    runs = mlflow.search_runs([experiment.experiment_id], output_format="list")
    strategies = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert sorted(r.data.params["temperature"] for r in strategies) == ["0.7", "1.2"]
    parent = next(r for r in runs if "mlflow.parentRunId" not in r.data.tags)
    assert "eval_loss" in parent.data.metrics  # the Trainer's MLflow callback
    client = mlflow.MlflowClient()
    assert client.list_artifacts(strategies[0].info.run_id)[0].path == "samples.txt"
    assert promotion.registry_version is not None

    # generate with the production model from the command line entry point
    from run import main

    capsys.readouterr()  # what the runs printed so far
    assert main(["generate", "--sign", "Aries", "--date", "2026-11-08", "--n", "2"]) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    assert printed[0].startswith(f"# aries, 2026-11-08 (horoscope_lm version {production.name};")
    assert f"temperature={best['temperature']}" in printed[0] and len(printed) == 3
    assert main(["generate", "--sign", "ophiuchus"]) == 1
    assert "expected one of aries" in capsys.readouterr().err

    # same raw data again: Spark's output is reused, no drift against production's corpus, no retrain
    second = _train(raw_root, tiny_model)
    assert second.status.value == "completed"
    assert second.steps["clean_horoscopes"].run_metadata["reused"] is True
    drift = _output(second, "detect_drift", "drift_summary")
    assert drift.reference_rows == len(corpus) and not drift.dataset_drift
    assert not drift.columns["text"].drifted
    decision = _output(second, "decide_retrain", "retrain_decision")
    assert not decision.retrain and any("drift share 0.00" in reason for reason in decision.reasons)
    assert not _output(second, "promote_if_better", "promotion").promoted
    assert Client().get_model_version("horoscope_lm", ModelStages.PRODUCTION).id == production.id


def test_no_raw_data_fails_before_spark_with_the_way_out(tmp_path, fresh_project, tiny_model):
    with pytest.raises(Exception) as failure:
        _train(tmp_path / "empty", tiny_model)
    assert "run the horoscope_collect pipeline first" in str(failure.value)


def test_collect_train_and_generate_on_the_local_s3_stack(project_servers, fresh_project, tiny_model, monkeypatch,
                                                          capsys):
    """The same pipelines, unchanged, on local-s3: raw and clean data, ZenML artifacts and MLflow's
    artifacts all in the project's S3 server, runs and the registry on its MLflow server."""
    import mlflow
    from zenml.client import Client

    from stackpipes.platform.registration import stack_up
    from stackpipes.platform.services import mlflow_server, s3_server
    from stackpipes.platform.stackfile import load_stack_file
    from tests.support import forget_stack

    client = Client()
    spec = load_stack_file(ROOT / "stacks" / "local-s3.yaml")
    forget_stack(client, spec)  # ZenML caches a built stack; start from a fresh registration
    try:
        stack_up(spec)
        assert client.active_stack_model.name == "local-s3"
        # raw_root=None: the stack's environment says s3://stackpipes-raw
        monkeypatch.setenv("STACKPIPES_SITES_PORT", str(free_port()))
        from pipelines.horoscope_collect import horoscope_collect

        collected = horoscope_collect.with_options(enable_cache=False)(dates=DAYS[:2], serve_bundled_sites=True)
        assert collected.status.value == "completed"
        run = _train(None, tiny_model)
        assert run.status.value == "completed"

        def keys(bucket: str) -> list[str]:
            pages = s3_server.client().get_paginator("list_objects_v2").paginate(Bucket=bucket)
            return [item["Key"] for page in pages for item in page.get("Contents", [])]

        raw_keys = keys("stackpipes-raw")
        assert sum(k.startswith("horoscope/source=") for k in raw_keys) == 3 * 2
        clean_uri = _output(run, "clean_horoscopes", "clean_parquet_uri")
        assert clean_uri.startswith("s3://stackpipes-raw/horoscope_clean/v=")
        assert any(k.endswith(".parquet") and k.startswith(clean_uri.removeprefix("s3://stackpipes-raw/"))
                   for k in raw_keys)
        model_uri = run.steps["package_horoscope_lm"].outputs["horoscope_lm"][0].uri
        assert model_uri.startswith("s3://stackpipes-artifacts/")
        assert any(k.endswith("model.safetensors") for k in keys("stackpipes-artifacts"))
        assert any(k.endswith("model.safetensors") for k in keys(mlflow_server.DEFAULT_BUCKET))  # pyfunc model

        promotion = _output(run, "promote_if_better", "promotion")
        assert promotion.promoted and promotion.registry_version == "1"
        registered = mlflow.MlflowClient(tracking_uri=project_servers).get_model_version_by_alias(
            "horoscope_lm", "champion")
        assert registered.version == "1"

        from run import main

        capsys.readouterr()
        assert main(["generate", "--stack", "local-s3", "--sign", "pisces", "--date", "2026-11-03"]) == 0
        printed = capsys.readouterr().out.splitlines()  # the services it checked, then the horoscope
        assert printed[-2].startswith("# pisces, 2026-11-03 (horoscope_lm version 1;")
    finally:
        mlflow.set_tracking_uri("")
        forget_stack(client, spec)
