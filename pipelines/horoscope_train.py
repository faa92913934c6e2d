"""horoscope_train: from the landed raw horoscopes to a production language model.

Spark cleaning of the raw CSVs to parquet -> check (GX) -> drift of the corpus against the one
production was trained on (Evidently text drift) -> retrain decision -> fine-tune (MLflow) ->
sampling grid top_p x temperature (acceptability, diversity, sentiment) -> the best strategy as
the model's generation config -> held-out loss against production -> promote if better.
"""

from __future__ import annotations

from typing import Any, Optional

from zenml import Model, pipeline
from zenml.enums import ExecutionMode

from stackpipes.core.policy import RetrainPolicy, review_mode
from stackpipes.horoscope import HELDOUT_METRIC, MAX_DAYS, MODEL_ARTIFACT, MODEL_NAME
from stackpipes.horoscope.cleaning import CleaningConfig
from stackpipes.horoscope.grid import GridConfig
from stackpipes.horoscope.spark_job import SparkConfig
from stackpipes.lm.config import DEFAULT_MODEL_REF, LMTrainingConfig, TextMetricsConfig
from stackpipes.platform.bounds import items
from steps.core import (
    decide_retrain,
    detect_drift,
    fetch_production_model,
    promote_if_better,
    validate_dataset,
    write_review_page,
)
from steps.horoscope import (
    clean_horoscopes,
    evaluate_horoscope_lm,
    evaluate_sampling_grid,
    fine_tune_horoscope_lm,
    load_clean_corpus,
    package_horoscope_lm,
    production_corpus,
)


@pipeline(
    model=Model(name=MODEL_NAME, description="Daily horoscope generator (causal LM)", license="Apache-2.0"),
    execution_mode=ExecutionMode.FAIL_FAST,
)
def horoscope_train(
    raw_root: Optional[str] = None,
    raw_secret_name: Optional[str] = None,
    dates: Optional[items(MAX_DAYS)] = None,
    cleaning: Optional[CleaningConfig] = None,
    spark: Optional[SparkConfig] = None,
    model_ref: str = DEFAULT_MODEL_REF,
    task: str = "auto",
    training: Optional[LMTrainingConfig] = None,
    grid: Optional[GridConfig] = None,
    metrics: Optional[TextMetricsConfig] = None,
    judge_model: Optional[str] = None,
    retrain_policy: Optional[RetrainPolicy] = None,
    drift_text_threshold: Optional[float] = None,
    log_model_to_mlflow: bool = True,
) -> None:
    clean_uri, suite = clean_horoscopes(
        raw_root=raw_root, secret_name=raw_secret_name, dates=dates, cleaning=cleaning, spark=spark
    )
    corpus, corpus_rows = load_clean_corpus(clean_uri, secret_name=raw_secret_name)
    validate_dataset(corpus, suite=suite, dataset_name="clean_horoscopes", id="check_clean")

    production = fetch_production_model(model_name=MODEL_NAME, model_artifact=MODEL_ARTIFACT, metric=HELDOUT_METRIC)
    previous = production_corpus(production)
    drift, _ = detect_drift(
        previous, corpus, report_name="horoscope_corpus_drift", numerical=["n_chars"], text=["text"],
        text_threshold=drift_text_threshold, after="check_clean",
    )
    decision = decide_retrain(None, drift, corpus_rows, production, policy=retrain_policy)

    trained = fine_tune_horoscope_lm(
        corpus, decision, production, model_ref=model_ref, task=task, training=training, after="check_clean"
    )
    _, best, _ = evaluate_sampling_grid(trained, corpus, decision, grid=grid, metrics=metrics, judge_model=judge_model)
    model = package_horoscope_lm(trained, best, decision, log_model_to_mlflow=log_model_to_mlflow)
    evaluation = evaluate_horoscope_lm(model, corpus, decision, production, training=training)
    promotion = promote_if_better(evaluation, review=review_mode(retrain_policy))
    write_review_page(promotion, products=["sampling_grid_report"])


def report(run: Any) -> str:
    """Where a finished run's results are, for run.py to print."""
    from stackpipes.core.summary import dashboard_line, review_lines

    lines = [f"Run '{run.name}': {run.status}"]
    steps = run.steps
    if "clean_horoscopes" in steps:
        meta = steps["clean_horoscopes"].run_metadata
        reused = " (reused: same raw input)" if meta.get("reused") else ""
        lines.append(f"  clean parquet: {meta.get('clean_uri', '?')}{reused}")
    if "decide_retrain" in steps and steps["decide_retrain"].run_metadata.get("status") == "collecting":
        lines.append("  status:        collecting: no model yet; collect more days (horoscope_collect)")
    if "fine_tune_horoscope_lm" in steps and "loss_after" in steps["fine_tune_horoscope_lm"].run_metadata:
        meta = steps["fine_tune_horoscope_lm"].run_metadata
        lines.append(f"  fine-tuning:   held-out loss {meta['loss_before']:.3f} -> {meta['loss_after']:.3f} "
                     f"on {meta.get('device', '?')} ({meta.get('tokens_per_second', 0):.0f} tokens/s)")
    if "evaluate_sampling_grid" in steps and "best_top_p" in steps["evaluate_sampling_grid"].run_metadata:
        meta = steps["evaluate_sampling_grid"].run_metadata
        lines.append(f"  best sampling: top_p={meta['best_top_p']} temperature={meta['best_temperature']} "
                     f"(score {meta['best_score']:.3f}; table + chart: artifact 'sampling_grid_report')")
    lines += review_lines(run)
    lines.append("  generate:      python run.py generate --sign aries")
    lines.append(dashboard_line(run))
    return "\n".join(lines)
