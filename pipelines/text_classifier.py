"""text_classifier: labelled texts -> checked -> split -> drift -> retrain decision -> fine-tuned -> tested -> promoted.

read the texts as they are (kept) -> prepare (strip, drop empty texts, split stratified where the
source has none, drop dev/test texts also in training) -> check them (GX: labels known, lengths,
every class with enough training rows, no leak) -> drift of the new training texts against the
production model's (Evidently: text descriptors, text content, label distribution) -> retrain
decision -> train on the stack's step operator (encoder fine-tuning or an embeddings head) ->
test it, production and a TF-IDF baseline on the same test rows -> promote if better.

    python run.py --stack local --pipeline text_classifier --dataset banking77   # configs/text_classifier/banking77.yaml
"""

from __future__ import annotations

from typing import Any, Optional

from zenml import pipeline
from zenml.enums import ExecutionMode

from stackpipes.core.drift import TEXT_DESCRIPTORS
from stackpipes.core.policy import RetrainPolicy, review_mode
from stackpipes.core.registry import require_run_model
from stackpipes.text_classifier import MODEL_ARTIFACT, model_name
from stackpipes.text_classifier.datasets import DatasetConfig, as_config, suite
from stackpipes.text_classifier.model import ModelConfig
from steps.core import (
    decide_retrain,
    detect_drift,
    fetch_production_model,
    promote_if_better,
    validate_dataset,
    write_review_page,
)
from steps.text_classifier import (
    evaluate_classifier,
    load_texts,
    prepare_texts,
    production_texts,
    train_classifier,
    training_descriptors,
)


@pipeline(execution_mode=ExecutionMode.FAIL_FAST)
def text_classifier(
    dataset: DatasetConfig,
    model: Optional[ModelConfig] = None,
    retrain_policy: Optional[RetrainPolicy] = None,
    drift_threshold: Optional[float] = None,
    log_model_to_mlflow: bool = True,
) -> None:
    dataset, model = as_config(dataset), ModelConfig.model_validate(model or {})
    require_run_model(model_name(dataset.name), dataset.name)

    raw = load_texts(dataset=dataset)
    texts, rows = prepare_texts(raw, dataset=dataset)
    validate_dataset(texts, suite=suite(dataset), dataset_name=dataset.name, id="check_texts")

    production = fetch_production_model(model_name=model_name(dataset.name), model_artifact=MODEL_ARTIFACT,
                                        metric="test_accuracy")
    previous = production_texts(production)
    current = training_descriptors(texts, after="check_texts")
    drift, _ = detect_drift(previous, current, report_name=f"text_classifier_{dataset.name}_drift",
                            numerical=list(TEXT_DESCRIPTORS), categorical=["label"], text=["text"],
                            threshold=drift_threshold, time_column=None)
    decision = decide_retrain(None, drift, rows, production, policy=retrain_policy)

    classifier = train_classifier(texts, decision, production, dataset=dataset, model=model,
                                  log_model_to_mlflow=log_model_to_mlflow)
    evaluation, _ = evaluate_classifier(classifier, texts, decision, production, dataset=dataset, model=model)
    promotion = promote_if_better(evaluation, review=review_mode(retrain_policy))
    write_review_page(promotion, products=["classifier_test"])


def report(run: Any) -> str:
    """Where a finished run's results are, for run.py to print."""
    from stackpipes.core.summary import dashboard_line, mlflow_lines, review_lines

    lines = [f"Run '{run.name}': {run.status}"]
    steps = run.steps
    if "prepare_texts" in steps:
        meta = steps["prepare_texts"].run_metadata
        lines.append(f"  texts:         {meta.get('classes')} classes; {meta.get('train_rows')} training, "
                     f"{meta.get('dev_rows')} dev, {meta.get('test_rows')} test rows "
                     f"({meta.get('empty_dropped')} empty and {meta.get('leaked_dropped')} leaked texts dropped)")
    if "train_classifier" in steps and "route" in steps["train_classifier"].run_metadata:
        meta = steps["train_classifier"].run_metadata
        speed = meta.get("samples_per_second")
        lines.append(f"  trained:       {meta.get('route')} from {meta.get('source')} on {meta.get('train_rows')} rows"
                     + (f", {speed:.1f} samples/s on {meta.get('device', 'cpu')}" if isinstance(speed, float) else ""))
    if "evaluate_classifier" in steps:
        meta = steps["evaluate_classifier"].run_metadata
        if "test_accuracy" in meta:
            production = meta.get("production")
            lines.append(f"  test:          accuracy {meta['test_accuracy']:.4f}, macro-F1 {meta['test_macro_f1']:.4f}; "
                         f"TF-IDF baseline {meta['baseline_accuracy']:.4f}; production "
                         + (f"{production:.4f}" if isinstance(production, float) else "none")
                         + " (artifact 'classifier_test': per class, confusions)")
    lines += review_lines(run)
    lines += mlflow_lines(run)
    lines.append("  classify:      python run.py classify --dataset NAME \"a text\" [--top 3]")
    lines.append(dashboard_line(run))
    return "\n".join(lines)
