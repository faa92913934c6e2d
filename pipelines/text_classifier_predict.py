"""text_classifier_predict: a file of texts -> the production classifier's classes (batch prediction).

    python run.py --stack local --pipeline text_classifier_predict --dataset banking77 --input texts.txt
"""

from __future__ import annotations

from typing import Any, Optional

from zenml import pipeline

from stackpipes.platform.bounds import count
from stackpipes.text_classifier import MODEL_ARTIFACT, model_name
from steps.core import fetch_production_model
from steps.text_classifier.predict import classify_file


@pipeline(enable_cache=False)
def text_classifier_predict(dataset: str, input_file: Optional[str] = None, top: count(1, 100) = 3) -> None:
    if not input_file:
        raise ValueError("input_file: give the file of texts to classify (run.py --input FILE)")
    production = fetch_production_model(model_name=model_name(dataset), model_artifact=MODEL_ARTIFACT,
                                        metric="test_accuracy")
    classify_file(production, input_file=input_file, top=top)


def report(run: Any) -> str:
    from stackpipes.core.summary import dashboard_line

    lines = [f"Run '{run.name}': {run.status}"]
    if "classify_file" in run.steps:
        meta = run.steps["classify_file"].run_metadata
        lines.append(f"  classified:    {meta.get('texts')} texts by version {meta.get('model_version')} -> {meta.get('output')}")
    lines.append(dashboard_line(run))
    return "\n".join(lines)
