"""Preprocessing fitted on the training part only: one scikit-learn `ColumnTransformer` per dataset.

numeric      outliers clipped to quantiles learned on train -> median imputation -> scaled to [0, 1]
             (values beyond the training range are clipped to [0, 1] too)
categorical  as text, missing -> "missing" -> one-hot; a category never seen in training encodes as all
             zeros (and is counted, `unseen_categories`, so prediction can warn about it)
text         missing -> "" -> TF-IDF (word 1-2 grams, sublinear tf)

It is the first stage of every model's `Pipeline`, so cross-validation refits it inside each fold
and nothing of a held-out fold or the test part reaches it.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder

from stackpipes.ratings.datasets import DatasetConfig


class PreprocessingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    clip_low: float = Field(default=0.01, ge=0, le=0.5)  # numeric values below this training quantile are raised to it
    clip_high: float = Field(default=0.99, ge=0.5, le=1)
    tfidf_max_features: int = Field(default=20_000, ge=10, le=1_000_000)
    tfidf_min_df: int = Field(default=2, ge=1, le=1_000)
    min_category_count: int = Field(default=1, ge=1, le=100_000)  # rarer categories share one column


class QuantileClipper(BaseEstimator, TransformerMixin):
    """Clip each column to its [low, high] quantiles as learned by `fit` (missing values stay missing)."""

    def __init__(self, low: float = 0.01, high: float = 0.99):
        self.low, self.high = low, high

    def fit(self, X: Any, y: Any = None) -> QuantileClipper:
        values = np.asarray(X, dtype=float)
        self.lower_ = np.nanquantile(values, self.low, axis=0)
        self.upper_ = np.nanquantile(values, self.high, axis=0)
        self.n_features_in_ = values.shape[1]
        return self

    def transform(self, X: Any) -> np.ndarray:
        return np.clip(np.asarray(X, dtype=float), self.lower_, self.upper_)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(input_features if input_features is not None else [f"x{i}" for i in range(self.n_features_in_)])


class CategoryColumns(BaseEstimator, TransformerMixin):
    """Categorical columns as strings, a missing value (None, NaN) as the category "missing"."""

    def fit(self, X: Any, y: Any = None) -> CategoryColumns:
        return self

    def transform(self, X: Any) -> np.ndarray:
        frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X, dtype=object))
        return frame.astype(object).where(frame.notna(), "missing").astype(str).to_numpy()


class TextColumn(BaseEstimator, TransformerMixin):
    """One text column as a 1-D array of strings (missing -> ""), the input TF-IDF expects."""

    def fit(self, X: Any, y: Any = None) -> TextColumn:
        return self

    def transform(self, X: Any) -> np.ndarray:
        column = X.iloc[:, 0] if isinstance(X, pd.DataFrame) else pd.Series(np.asarray(X).ravel())
        return column.fillna("").astype(str).to_numpy()


def build_preprocessor(dataset: DatasetConfig, config: Optional[PreprocessingConfig] = None) -> ColumnTransformer:
    """The (unfitted) ColumnTransformer for the dataset's feature columns."""
    config = config or PreprocessingConfig()
    features = dataset.features
    parts: list[tuple[str, Any, Any]] = []
    if features.numeric:
        low, high = config.clip_low, config.clip_high
        parts.append(("numeric", Pipeline([
            ("clip", QuantileClipper(low, high)),
            ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
            ("scale", MinMaxScaler(clip=True)),
        ]), list(features.numeric)))
    if features.categorical:
        parts.append(("categorical", Pipeline([
            ("as_categories", CategoryColumns()),
            ("one_hot", OneHotEncoder(handle_unknown="infrequent_if_exist" if config.min_category_count > 1 else "ignore",
                                      min_frequency=config.min_category_count if config.min_category_count > 1 else None)),
        ]), list(features.categorical)))
    for column in features.text:
        parts.append((f"text_{column}", Pipeline([
            ("column", TextColumn()),
            ("tfidf", TfidfVectorizer(max_features=config.tfidf_max_features, min_df=config.tfidf_min_df,
                                      ngram_range=(1, 2), sublinear_tf=True)),
        ]), [column]))
    return ColumnTransformer(parts, remainder="drop", sparse_threshold=0.3)


def known_categories(preprocessor: ColumnTransformer) -> dict[str, list[str]]:
    """The categories the fitted encoder learned, per categorical column."""
    if "categorical" not in preprocessor.named_transformers_:
        return {}
    step = preprocessor.named_transformers_["categorical"]
    encoder = step.named_steps["one_hot"]
    columns = preprocessor.transformers_[[name for name, *_ in preprocessor.transformers_].index("categorical")][2]
    return {column: [str(c) for c in cats] for column, cats in zip(columns, encoder.categories_, strict=True)}


def unseen_categories(preprocessor: ColumnTransformer, rows: pd.DataFrame) -> dict[str, list[str]]:
    """Per categorical column, the values in `rows` the fitted encoder never saw (missing excluded)."""
    unseen = {}
    for column, known in known_categories(preprocessor).items():
        values = rows[column].dropna().astype(str)
        new = sorted(set(values) - set(known))
        if new:
            unseen[column] = new
    return unseen
