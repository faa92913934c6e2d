"""ratings_train: any table a dataset file describes -> checked -> split -> swept -> trained -> tested -> promoted.

load the rows as they are (kept) -> prepare the model's columns -> check them (a GX suite from the
dataset file) -> seeded split -> drift of the new rows against the production model's training
rows (features and target) -> retrain decision -> parameter sweep over `sweep.parallel` steps
(each trial a nested MLflow run) -> select the best -> refit it on the training part -> test it
and production on the same held-out rows -> promote if better.

    python run.py --stack local --pipeline ratings_train --dataset titanic   # configs/ratings_train/titanic.yaml
"""

from __future__ import annotations

from typing import Any, Optional

from zenml import get_pipeline_context, pipeline
from zenml.enums import ExecutionMode

from stackpipes.core.policy import RetrainPolicy, review_mode
from stackpipes.ratings import MODEL_ARTIFACT, model_name
from stackpipes.ratings.datasets import DatasetConfig, as_config, suite
from stackpipes.ratings.preprocessing import PreprocessingConfig
from stackpipes.ratings.sweep import SweepConfig, check_space
from steps.core import (
    decide_retrain,
    detect_drift,
    fetch_production_model,
    promote_if_better,
    validate_dataset,
    write_review_page,
)
from steps.ratings import (
    SHARD_STEP,
    evaluate_model,
    load_table,
    prepare_table,
    production_reference,
    select_best,
    split_dataset,
    sweep_trials,
    train_model,
)


@pipeline(execution_mode=ExecutionMode.FAIL_FAST)
def ratings_train(
    dataset: DatasetConfig,
    sweep: SweepConfig,
    preprocessing: Optional[PreprocessingConfig] = None,
    retrain_policy: Optional[RetrainPolicy] = None,
    drift_threshold: Optional[float] = None,
    log_model_to_mlflow: bool = True,
) -> None:
    dataset, sweep = as_config(dataset), SweepConfig.model_validate(sweep)
    check_space(sweep, dataset.task)  # a wrong family or parameter fails here, before any step
    model = get_pipeline_context().model
    if model is None or model.name != model_name(dataset.name):
        raise ValueError(f"model.name: the run configuration must name the model '{model_name(dataset.name)}' "
                         f"for dataset '{dataset.name}' (got {model.name if model else 'none'!r})")
    features = dataset.features
    target_kind = "categorical" if dataset.task == "classification" else "numerical"

    raw = load_table(dataset=dataset)
    table, rows = prepare_table(raw, dataset=dataset)
    validate_dataset(table, suite=suite(dataset), dataset_name=dataset.name, id="check_table")
    train, test = split_dataset(table, dataset=dataset, after="check_table")

    production = fetch_production_model(model_name=model_name(dataset.name), model_artifact=MODEL_ARTIFACT,
                                        metric=f"test_{dataset.metric}")
    previous = production_reference(production, dataset=dataset)
    drift, _ = detect_drift(
        previous, table, report_name=f"ratings_{dataset.name}_drift",
        numerical=[*features.numeric, *([dataset.target] if target_kind == "numerical" else [])],
        categorical=[*features.categorical, *([dataset.target] if target_kind == "categorical" else [])],
        text=list(features.text) or None, threshold=drift_threshold, time_column=None, after="check_table",
    )
    decision = decide_retrain(None, drift, rows, production, policy=retrain_policy)

    shards = [f"{SHARD_STEP}_{index}" for index in range(sweep.parallel)]
    for index, name in enumerate(shards):
        sweep_trials(train, decision, dataset=dataset, sweep=sweep, shard=index, preprocessing=preprocessing, id=name)
    result, _ = select_best(dataset=dataset, sweep=sweep, after=shards)
    trained = train_model(train, result, decision, production, dataset=dataset, sweep=sweep, preprocessing=preprocessing,
                        log_model_to_mlflow=log_model_to_mlflow)
    evaluation = evaluate_model(trained, train, test, decision, production, dataset=dataset, preprocessing=preprocessing)
    promotion = promote_if_better(evaluation, review=review_mode(retrain_policy))
    write_review_page(promotion, products=["sweep_leaderboard"])


def report(run: Any) -> str:
    """Where a finished run's results are, for run.py to print."""
    from stackpipes.core.summary import dashboard_line, mlflow_lines, review_lines

    lines = [f"Run '{run.name}': {run.status}"]
    steps = run.steps
    if "split_dataset" in steps:
        meta = steps["split_dataset"].run_metadata
        lines.append(f"  dataset:       {meta.get('dataset')}: {meta.get('train_rows')} training rows, "
                     f"{meta.get('test_rows')} held out")
    if "select_best" in steps and "best_trial" in steps["select_best"].run_metadata:
        meta = steps["select_best"].run_metadata
        lines.append(f"  sweep winner:  trial {meta['best_trial']} {meta['best_family']} {meta['best_params']} "
                     f"(CV {meta['best_cv']:.4f} of {meta['trials']} trials; leaderboard: artifact 'sweep_leaderboard')")
    if "evaluate_model" in steps:
        meta = steps["evaluate_model"].run_metadata
        tested = {k: v for k, v in meta.items() if k.startswith(("test_", "baseline_")) or k.endswith("_correlation")}
        if tested:
            lines.append("  test:          " + ", ".join(f"{k} {v:.4f}" for k, v in sorted(tested.items())
                                                       if isinstance(v, float)))
    lines += review_lines(run)
    lines += mlflow_lines(run, "trials are nested runs; ")
    lines.append("  predict:       python run.py predict --pipeline ratings_train --dataset NAME --input FILE.csv")
    lines.append(dashboard_line(run))
    return "\n".join(lines)
