"""Train the classifier on the training split (dev for early stopping), and test it against the
baseline and production on the test split.

The training step always runs (static DAGs cannot skip one): with no retrain due it returns the
production model unchanged. It names the stack's step operator in the run configuration, so a
GPU stack runs it where the GPU is.
"""

from __future__ import annotations

import base64
import tempfile
from pathlib import Path
from typing import Annotated, Optional

import pandas as pd
from zenml import ArtifactConfig, log_metadata, step
from zenml.enums import ArtifactType
from zenml.logger import get_logger

import materializers.text_classifier  # noqa: F401  (registers its materializers)
from stackpipes.core import tracking
from stackpipes.core.registry import keep_production_model, load_production_model
from stackpipes.core.types import ModelEvaluation, ProductionInfo, RetrainDecision
from stackpipes.platform.flavors.lazy_components import MLFLOW_RUN_ON_FIRST_LOG
from stackpipes.text_classifier import MODEL_ARTIFACT
from stackpipes.text_classifier.datasets import DatasetConfig
from stackpipes.text_classifier.model import ModelConfig, TextClassifier
from stackpipes.text_classifier.report import ClassifierTest

logger = get_logger(__name__)


def _split(texts: pd.DataFrame, name: str) -> pd.DataFrame:
    return texts.loc[texts["split"] == name, ["text", "label"]].reset_index(drop=True)


@step(experiment_tracker=True, extra=MLFLOW_RUN_ON_FIRST_LOG)
def train_classifier(
    texts: pd.DataFrame,
    decision: RetrainDecision,
    production: ProductionInfo,
    dataset: DatasetConfig,
    model: ModelConfig,
    log_model_to_mlflow: bool = True,
) -> Annotated[Optional[TextClassifier], ArtifactConfig(name=MODEL_ARTIFACT, artifact_type=ArtifactType.MODEL)]:
    """The configured route trained on the training split; the encoder route stops early on dev."""
    from stackpipes.text_classifier.labels import LabelMap
    from stackpipes.text_classifier.model import train_embeddings, train_encoder

    if not decision.retrain:
        return keep_production_model(decision, production)
    train, dev = _split(texts, "train"), _split(texts, "dev")
    labels = LabelMap.from_labels(dataset.labels or train["label"])
    tracking.log_params({"route": model.route, "source": model.encoder if model.route == "encoder" else model.embedder,
                         "classes": len(labels), "train_rows": len(train), "dev_rows": len(dev)})
    if model.route == "encoder":
        training = model.training.model_copy(update={"report_to_mlflow": tracking.active_run() is not None})
        with tempfile.TemporaryDirectory(prefix="stackpipes-classifier-") as output_dir:
            classifier = train_encoder(train, dev, labels, model.model_copy(update={"training": training}),
                                       dataset.model_dump(), output_dir)
    else:
        classifier = train_embeddings(train, dev, labels, model, dataset.model_dump())
    report = classifier.training
    scalars = {k: v for k, v in report.items() if isinstance(v, (int, float, bool, str)) and v is not None}
    tracking.log_metrics({f"train_{k}": float(v) for k, v in scalars.items()
                          if isinstance(v, (int, float)) and not isinstance(v, bool)})
    if log_model_to_mlflow and tracking.active_run() is not None:
        from stackpipes.text_classifier.pyfunc import log_classifier

        classifier.tracking_model_uri = log_classifier(classifier)
    facts = {"route": classifier.route, "source": classifier.source, "classes": len(labels),
             "train_rows": classifier.train_rows, "trained_at": classifier.trained_at.isoformat(), **scalars}
    log_metadata(facts)
    log_metadata(facts, infer_model=True)  # trained_at feeds the retrain cooldown
    logger.info("Trained %s", classifier.describe())
    return classifier


@step(experiment_tracker=True, extra=MLFLOW_RUN_ON_FIRST_LOG)
def evaluate_classifier(
    classifier: Optional[TextClassifier],
    texts: pd.DataFrame,
    decision: RetrainDecision,
    production: ProductionInfo,
    dataset: DatasetConfig,
    model: ModelConfig,
) -> tuple[Annotated[ModelEvaluation, "model_evaluation"], Annotated[ClassifierTest, "classifier_test"]]:
    """The new model, production and a TF-IDF baseline trained on the same training split, all
    scored on the same test rows: accuracy (the promotion metric), macro-F1, per-class scores and
    a confusion picture of the most confused classes."""
    from stackpipes.text_classifier import evaluation
    from stackpipes.text_classifier.model import UNREADABLE_WARNING_SHARE, Baseline

    metric = "test_accuracy"
    train, test = _split(texts, "train"), _split(texts, "test")
    holdout = f"the {len(test)} test rows of dataset {dataset.name}"
    if not decision.retrain or classifier is None:
        note = "no retrain was due: " + "; ".join(decision.reasons)
        return (ModelEvaluation(metric=metric, higher_is_better=True, retrained=False, holdout=holdout),
                ClassifierTest(dataset=dataset.name, route=model.route, rows=len(test), note=note))
    truth = test["label"].tolist()
    predicted = classifier.predict(test["text"].tolist())
    tested = evaluation.scores(truth, predicted)
    floor = evaluation.scores(truth, Baseline(model.baseline_c).fit(train["text"], train["label"]).predict(test["text"]))
    incumbent = None
    if production.exists:
        previous = load_production_model(production)
        unknown = set(truth) - set(previous.labels.labels)
        if unknown:
            logger.warning("Production does not know %d of the test classes; it scores 0 on their rows", len(unknown))
        incumbent = evaluation.scores(truth, previous.predict(test["text"].tolist()))
    warnings = []
    share = classifier.unreadable_share(test["text"].tolist())
    if share is not None and share > UNREADABLE_WARNING_SHARE:
        warnings.append(f"the encoder's vocabulary cannot read {100 * share:.0f}% of the test words "
                        "(a script it lacks): use route 'embeddings' or a multilingual encoder")
    with tempfile.TemporaryDirectory() as folder:
        png = f"{folder}/confusion.png"
        evaluation.confusion_png(truth, predicted, png, title=f"{dataset.name}: most confused classes (test split)")
        drawn = Path(png).read_bytes()
    tracking.log_bytes(drawn, "test/confusion_matrix.png")
    picture = base64.b64encode(drawn).decode()
    per_class = evaluation.per_class(truth, predicted, classifier.labels.labels)
    confused = evaluation.confused_pairs(truth, predicted)
    tracking.log_table(per_class, "test/per_class.json")
    report = ClassifierTest(
        dataset=dataset.name, route=classifier.route, rows=len(test), accuracy=tested.accuracy, macro_f1=tested.macro_f1,
        baseline_accuracy=floor.accuracy, baseline_macro_f1=floor.macro_f1,
        production_accuracy=incumbent.accuracy if incumbent else None,
        production_macro_f1=incumbent.macro_f1 if incumbent else None,
        per_class=per_class.to_dict("records"), confused=confused.to_dict("records"), confusion_png=picture,
        unreadable_share=share, warnings=warnings)
    facts = {metric: tested.accuracy, "test_macro_f1": tested.macro_f1, "baseline_accuracy": floor.accuracy,
             "baseline_macro_f1": floor.macro_f1}
    tracking.log_metrics({**facts, f"{metric}_production": incumbent.accuracy if incumbent else None})
    log_metadata({**facts, "trained_at": classifier.trained_at.isoformat()}, infer_model=True)
    log_metadata({**facts, "production": incumbent.accuracy if incumbent else "none"})
    logger.info("Test accuracy: model %.4f, production %s, TF-IDF baseline %.4f", tested.accuracy,
                f"{incumbent.accuracy:.4f}" if incumbent else "none", floor.accuracy)
    evaluation_result = ModelEvaluation(metric=metric, higher_is_better=True, retrained=True, challenger=tested.accuracy,
                                        production=incumbent.accuracy if incumbent else None, holdout=holdout,
                                        tracking_model_uri=classifier.tracking_model_uri)
    return evaluation_result, report
