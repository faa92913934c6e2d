"""The trained model: the fitted scikit-learn pipeline (preprocessing + estimator) with what it was
trained on, scored on held-out rows, and batch prediction with its input checked column by column."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Optional

import pandas as pd

from stackpipes.ratings.datasets import DatasetConfig, DatasetError, as_config, typed_features
from stackpipes.ratings.preprocessing import (
    PreprocessingConfig,
    build_preprocessor,
    unseen_categories,
)
from stackpipes.ratings.sweep import TrialResult, families

logger = logging.getLogger(__name__)
REFERENCE_ROWS = 5_000  # training rows kept with the model: the drift reference of the next runs


@dataclass
class TabularModel:
    pipeline: Any  # sklearn Pipeline: ("prep", ColumnTransformer), ("model", estimator)
    dataset: dict[str, Any]  # the DatasetConfig it was trained for
    family: str
    params: dict[str, Any]
    metric: str
    cv_mean: Optional[float]
    train_rows: int
    reference: pd.DataFrame  # up to REFERENCE_ROWS training rows (features and target)
    trained_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    tracking_model_uri: Optional[str] = None

    @property
    def config(self) -> DatasetConfig:
        return as_config(self.dataset)

    def describe(self) -> str:
        params = ", ".join(f"{k}={v}" for k, v in sorted(self.params.items()))
        score = f"{self.cv_mean:.4f}" if self.cv_mean is not None else "n/a"
        return f"{self.family}({params}); CV {self.metric} {score}; {self.train_rows} training rows"


def fit_model(train: pd.DataFrame, dataset: DatasetConfig, best: TrialResult, seed: int,
              preprocessing: Optional[PreprocessingConfig] = None) -> TabularModel:
    """Refit the winning trial on the whole training part."""
    from sklearn.pipeline import Pipeline

    pipeline = Pipeline([("prep", build_preprocessor(dataset, preprocessing)),
                         ("model", families(dataset.task, seed)[best.family](**best.params))])
    pipeline.fit(train[dataset.model_columns()], train[dataset.target])
    reference = train.sample(n=min(REFERENCE_ROWS, len(train)), random_state=seed) if len(train) else train
    return TabularModel(pipeline=pipeline, dataset=dataset.model_dump(), family=best.family, params=best.params,
                        metric=dataset.metric, cv_mean=best.cv_mean, train_rows=len(train),
                        reference=reference.reset_index(drop=True))


def baseline_model(train: pd.DataFrame, dataset: DatasetConfig, preprocessing: Optional[PreprocessingConfig] = None) -> Any:
    """A default LogisticRegression (classification) or LinearRegression on the same preprocessing."""
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.pipeline import Pipeline

    estimator = LogisticRegression() if dataset.task == "classification" else LinearRegression()
    pipeline = Pipeline([("prep", build_preprocessor(dataset, preprocessing)), ("model", estimator)])
    return pipeline.fit(train[dataset.model_columns()], train[dataset.target])


def score(pipeline: Any, rows: pd.DataFrame, dataset: DatasetConfig) -> float:
    """The dataset's metric of a fitted pipeline on `rows` (scikit-learn's scorer: higher is better)."""
    from sklearn.metrics import get_scorer

    return float(get_scorer(dataset.metric)(pipeline, rows[dataset.model_columns()], rows[dataset.target]))


def check_input(rows: pd.DataFrame, model: TabularModel) -> tuple[pd.DataFrame, list[str]]:
    """Rows to predict on, their columns checked and typed like training's; (rows, warnings).

    A missing feature column or a numeric column holding text is a DatasetError naming it; a
    category the model never saw is a warning (it encodes as no known category)."""
    config = model.config
    features = config.features
    missing = [c for c in features.used() if c not in rows.columns]
    if missing:
        raise DatasetError(f"input: column(s) {missing} are missing; the model reads {features.used()}")
    table = typed_features(rows, config, "input")
    for column in [c for c in (config.split.group, config.report_group) if c and c not in table.columns]:
        table[column] = None  # only used to split and report, never read by the model
    warnings = [f"column {column!r}: {len(values)} value(s) never seen in training ({values[:5]}); "
                "they are encoded as no known category"
                for column, values in unseen_categories(model.pipeline.named_steps["prep"], table).items()]
    return table, warnings


def predict(model: TabularModel, rows: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The input rows with `prediction` (and each class's probability for classification)."""
    table, warnings = check_input(rows, model)
    X = table[model.config.model_columns()]
    out = rows.copy()
    out["prediction"] = model.pipeline.predict(X)
    estimator = model.pipeline.named_steps["model"]
    if model.config.task == "classification" and hasattr(estimator, "predict_proba"):
        for index, label in enumerate(estimator.classes_):
            out[f"probability_{label}"] = model.pipeline.predict_proba(X)[:, index]
    return out, warnings
