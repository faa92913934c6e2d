"""Bad input gets a clear error naming the column and the problem (or a handled warning)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from pydantic import ValidationError

from stackpipes.ratings.datasets import (
    DatasetConfig,
    DatasetError,
    comment_ratings,
    prepare,
    read_csv_file,
    suite,
)
from tests.ratings.conftest import TITANIC


def _titanic_csv(tmp_path: Path, change) -> Path:
    from stackpipes.ratings.datasets import resolve_path

    table = pd.read_csv(resolve_path(TITANIC["source"]["path"]), na_values=["?"])
    table = change(table)
    path = tmp_path / "rows.csv"
    table.to_csv(path, index=False)
    return path


def _prepare(path: Path):
    config = DatasetConfig.model_validate(TITANIC)
    return prepare(read_csv_file(path, ["?"], "titanic"), config)


@pytest.mark.parametrize("change, message", [
    (lambda t: t.drop(columns=["survived"]), r"target \['survived'\] not in the table"),
    (lambda t: t.drop(columns=["fare"]), r"column\(s\) \['fare'\] not in the table"),
    (lambda t: t.assign(age=["young"] + list(t["age"].iloc[1:])), "column 'age' should be numeric; 1 values are not, e.g. \\['young'\\]"),
    (lambda t: t.assign(fare=float("nan")), r"column\(s\) \['fare'\] hold no values at all"),
    (lambda t: t.assign(survived=1), "the target 'survived' has a single class"),
    (lambda t: t.assign(survived=float("nan")), "the target 'survived' holds no values"),
    (lambda t: t.iloc[:5], "5 rows after cleaning, fewer than checks.min_rows=20"),
])
def test_a_broken_table_is_refused_naming_the_column(tmp_path, change, message):
    with pytest.raises(DatasetError, match=message):
        _prepare(_titanic_csv(tmp_path, change))


def test_a_file_that_is_not_a_csv_is_refused(tmp_path):
    binary = tmp_path / "model.bin"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    with pytest.raises(DatasetError, match="is not a CSV file"):
        read_csv_file(binary, [], "titanic")
    prose = tmp_path / "notes.csv"
    prose.write_text("just one line of prose\n")
    with pytest.raises(DatasetError, match="is not a CSV table"):
        read_csv_file(prose, [], "titanic")
    with pytest.raises(DatasetError, match="does not exist"):
        read_csv_file(tmp_path / "missing.csv", [], "titanic")


@pytest.mark.parametrize("change, key", [
    ({"metric": "r2"}, "is a regression metric"),
    ({"features": {**TITANIC["features"], "categorical": ["sex", "age"]}}, "named under more than one kind"),
    ({"target": "age"}, "also named as a feature"),
    ({"metric": "accuracyy"}, "is not one of"),
])
def test_a_wrong_dataset_file_names_the_problem(change, key):
    with pytest.raises(ValidationError, match=key):
        DatasetConfig.model_validate({**TITANIC, **change})


def test_the_suite_from_the_dataset_file_gates_ranges_and_allowed_values(titanic_table):
    from stackpipes.core.checks import load_suite, validate_dataframe

    config = DatasetConfig.model_validate({**TITANIC, "checks": {
        "ranges": {"age": [0, 100]}, "allowed": {"sex": ["male", "female"]}, "max_missing": {"age": 0.3}}})
    checks = load_suite(suite(config))
    assert validate_dataframe(titanic_table, checks, "titanic").success
    broken = titanic_table.copy()
    broken.loc[0, "age"] = 250.0
    broken.loc[1, "sex"] = "unknown"
    report = validate_dataframe(broken, checks, "titanic")
    failed = {(o.expectation, o.column) for o in report.failed}
    assert failed == {("expect_column_values_to_be_between", "age"), ("expect_column_values_to_be_in_set", "sex")}


def test_comment_ratings_scale_likes_within_each_video_and_keep_the_newest_landing():
    raw = pd.DataFrame({
        "comment_id": ["a", "b", "c", "a", "d"], "video_id": ["v1", "v1", "v1", "v1", "v2"],
        "like_count": ["0", "9", "99", "3", "5"], "date": ["2026-11-01"] * 3 + ["2026-11-02", "2026-11-01"],
        "fetched_at": ["t"] * 5, "query_text": ["Film"] * 5, "text": ["x"] * 5,
    })
    table = comment_ratings(raw).set_index("comment_id")
    assert table.loc["a", "like_count"] == 3  # the later landing of comment a
    assert table.loc["c", "rating"] == 1.0 and table.loc["a", "rating"] == 0.0 and 0 < table.loc["b", "rating"] < 1
    assert table.loc["d", "rating"] == 0.5  # a video with a single count
    assert set(table["film"]) == {"Film"}
    with pytest.raises(DatasetError, match="column 'like_count': 1 values are not counts"):
        comment_ratings(raw.assign(like_count=["1", "2", "many", "3", "4"]))


def test_an_unseen_category_at_prediction_time_is_a_warning_and_text_in_a_number_an_error(titanic_config, titanic_table):
    from stackpipes.ratings.model import fit_model, predict
    from stackpipes.ratings.sweep import TrialResult

    best = TrialResult(index=0, shard=0, family="linear", params={"C": 1.0}, metric="accuracy", cv_mean=0.8)
    model = fit_model(titanic_table, titanic_config, best, seed=0)
    rows = titanic_table.drop(columns=["survived"]).head(3).copy()
    rows.loc[rows.index[0], "embarked"] = "X"
    out, warnings = predict(model, rows)
    assert len(out) == 3 and set(out["prediction"]) <= {0, 1} and "probability_1" in out
    assert warnings == ["column 'embarked': 1 value(s) never seen in training (['X']); they are encoded as no known category"]
    rows["fare"] = rows["fare"].astype(object)
    rows.loc[rows.index[1], "fare"] = "cheap"
    with pytest.raises(DatasetError, match="input: column 'fare' should be numeric"):
        predict(model, rows)
    with pytest.raises(DatasetError, match=r"input: column\(s\) \['sex'\] are missing"):
        predict(model, rows.drop(columns=["sex"]))
