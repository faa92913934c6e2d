"""Preprocessing is fitted on the training part only: nothing of the test part reaches it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stackpipes.ratings.datasets import DatasetConfig
from stackpipes.ratings.preprocessing import (
    PreprocessingConfig,
    build_preprocessor,
    known_categories,
    unseen_categories,
)

CONFIG = DatasetConfig.model_validate({
    "name": "toy", "source": {"kind": "file", "path": "x.csv"}, "target": "y", "task": "classification",
    "features": {"numeric": ["n"], "categorical": ["c"], "text": ["t"]}, "checks": {"min_rows": 1},
})


def _rows(n: list, c: list, t: list) -> pd.DataFrame:
    return pd.DataFrame({"n": n, "c": c, "t": t, "y": [0, 1] * (len(n) // 2)})


def test_a_test_only_category_never_reaches_the_encoder():
    train = _rows([1.0, 2.0, 3.0, 4.0], ["a", "b", "a", "b"], ["good film", "bad film", "fine", "dull"])
    test = _rows([2.0, 3.0], ["z", "a"], ["good", "new words only"])
    prep = build_preprocessor(CONFIG).fit(train, train["y"])
    assert known_categories(prep) == {"c": ["a", "b"]}
    assert unseen_categories(prep, test) == {"c": ["z"]}
    encoded = prep.transform(test)
    encoded = encoded.toarray() if hasattr(encoded, "toarray") else encoded
    one_hot = encoded[:, 1:3]  # numeric column first, then the two known categories
    assert one_hot[0].tolist() == [0.0, 0.0]  # "z": no known category
    assert one_hot[1].tolist() == [1.0, 0.0]
    vocabulary = prep.named_transformers_["text_t"].named_steps["tfidf"].vocabulary_
    assert "new" not in vocabulary and "words" not in vocabulary


def test_numeric_values_are_clipped_by_training_quantiles_and_scaled_to_unit_range():
    values = [float(v) for v in range(1, 99)] + [1_000.0, -1_000.0]  # two outliers
    train = pd.DataFrame({"n": values, "c": ["a"] * 100, "t": ["good film"] * 100, "y": [0, 1] * 50})
    prep = build_preprocessor(CONFIG, PreprocessingConfig(clip_low=0.05, clip_high=0.95, tfidf_min_df=1)).fit(train)
    clipper = prep.named_transformers_["numeric"].named_steps["clip"]
    assert clipper.lower_[0] == pytest.approx(np.quantile(values, 0.05))
    assert clipper.upper_[0] == pytest.approx(np.quantile(values, 0.95))
    test = pd.DataFrame({"n": [1e9, -1e9, np.nan, 50.0], "c": ["a"] * 4, "t": ["film"] * 4})
    scaled = prep.transform(test)
    scaled = scaled.toarray() if hasattr(scaled, "toarray") else scaled
    assert scaled[0, 0] == 1.0 and scaled[1, 0] == 0.0  # beyond training's range: clipped into [0, 1]
    assert 0.0 < scaled[2, 0] < 1.0  # missing: the training median
    assert 0.0 <= scaled[:, 0].min() and scaled[:, 0].max() <= 1.0


def test_missing_text_and_categories_are_handled():
    train = _rows([1.0, np.nan, 3.0, 4.0], ["a", None, "a", "b"], ["good film", None, "fine film", "dull"])
    prep = build_preprocessor(CONFIG, PreprocessingConfig(tfidf_min_df=1)).fit(train, train["y"])
    assert "missing" in known_categories(prep)["c"]
    assert prep.transform(train).shape[0] == 4
