"""Evidently drift: the summary follows the data; the HTML report is written; bad input is named."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stackpipes.core.drift import drift_report


def data(n: int, mean: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"level": rng.normal(mean, 1.0, n), "noise": rng.normal(0, 1.0, n)})


def test_same_distribution_has_no_drift():
    summary = drift_report(data(700, 0, 1), data(300, 0, 2))
    assert not summary.dataset_drift and summary.drifted_share == 0.0
    assert summary.total_columns == 2 and summary.reference_rows == 700


def test_shifted_column_drifts_and_html_is_written(tmp_path):
    path = tmp_path / "drift.html"
    summary = drift_report(data(700, 0, 1), data(300, 3, 2), html_path=path)
    level = summary.columns["level"]
    assert level.drifted and "p_value" in level.method and level.score < level.threshold
    assert not summary.columns["noise"].drifted
    assert summary.drifted_share == 0.5 and summary.dataset_drift  # 1 of 2 >= drift_share 0.5
    html = path.read_text(encoding="utf-8")
    assert html.lstrip().startswith("<!DOCTYPE html>") and "root_metric" in html and len(html) > 100_000
    assert summary.report_path == str(path)


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="'missing' is missing from the reference"):
        drift_report(data(50, 0, 1), data(50, 0, 2), numerical=["missing"])
    with pytest.raises(ValueError, match="at least 10 current rows"):
        drift_report(data(50, 0, 1), data(5, 0, 2))


def _texts(vocabulary: list[str], n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(vocabulary, 25)) for _ in range(n)]


def test_text_columns_drift_when_a_classifier_tells_old_from_new_texts():
    calm = [f"calm{i}" for i in range(300)]
    stormy = [f"storm{i}" for i in range(300)]
    reference = pd.DataFrame({"text": _texts(calm, 80, 0)})
    same = drift_report(reference, pd.DataFrame({"text": _texts(calm, 80, 1)}), text=["text"])
    other = drift_report(reference, pd.DataFrame({"text": _texts(stormy, 80, 2)}), text=["text"])
    assert not same.dataset_drift and not same.columns["text"].drifted
    assert other.dataset_drift and other.columns["text"].drifted
    # the score is the classifier's ROC AUC: chance for the same texts, near 1 for new ones
    assert same.columns["text"].score < 0.55 <= other.columns["text"].score
    assert other.columns["text"].method == "abs_text_content_drift"


def test_text_and_numerical_columns_are_compared_together():
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(300)]
    reference = pd.DataFrame({"text": _texts(words, 60, 0), "n_chars": rng.integers(300, 500, 60)})
    current = pd.DataFrame({"text": _texts(words, 60, 1), "n_chars": rng.integers(800, 900, 60)})
    summary = drift_report(reference, current, numerical=["n_chars"], text=["text"])
    assert summary.total_columns == 2 and summary.columns["n_chars"].drifted
    assert not summary.columns["text"].drifted and summary.drifted_share == 0.5
