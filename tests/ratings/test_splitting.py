"""The held-out split and the folds: seeded, stratified, grouped (no film on both sides)."""

from __future__ import annotations

import pandas as pd
import pytest

from stackpipes.ratings.datasets import DatasetConfig, DatasetError
from stackpipes.ratings.splitting import cv_folds, split_table

REVIEWS = DatasetConfig.model_validate({
    "name": "reviews", "source": {"kind": "landed", "prepare": "comment_ratings"}, "target": "rating",
    "task": "regression", "features": {"text": ["text"]}, "split": {"test_size": 0.25, "seed": 1, "group": "film"},
    "metric": "r2", "checks": {"min_rows": 1},
})


def _comments(films: int = 12, per_film: int = 10) -> pd.DataFrame:
    rows = [{"film": f"film {f}", "text": f"comment {i} on {f}", "rating": (i % 5) / 4}
            for f in range(films) for i in range(per_film)]
    return pd.DataFrame(rows)


def test_the_grouped_split_keeps_every_film_on_one_side():
    train, test = split_table(_comments(), REVIEWS)
    assert set(train["film"]).isdisjoint(set(test["film"]))
    assert len(train) + len(test) == 120 and len(test) > 0
    for fit, valid in cv_folds(train, REVIEWS, folds=3, seed=0):
        assert set(train["film"].iloc[fit]).isdisjoint(set(train["film"].iloc[valid]))


def test_the_same_seed_gives_the_same_split(titanic_config, titanic_table):
    first, _ = split_table(titanic_table, titanic_config)
    again, _ = split_table(titanic_table, titanic_config)
    other, _ = split_table(titanic_table, titanic_config.model_copy(update={"split": titanic_config.split.model_copy(update={"seed": 7})}))
    assert first.equals(again) and not first.equals(other)


def test_the_classification_split_is_stratified(titanic_config, titanic_table):
    train, test = split_table(titanic_table, titanic_config)
    overall = titanic_table["survived"].mean()
    assert abs(train["survived"].mean() - overall) < 0.01 and abs(test["survived"].mean() - overall) < 0.01


def test_a_group_column_with_one_value_is_refused():
    one_film = _comments(films=1)
    with pytest.raises(DatasetError, match="split.group 'film' has a single value"):
        split_table(one_film, REVIEWS)
