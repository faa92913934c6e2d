"""Evidently drift: the summary follows the data; the HTML report is written; bad input is named."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stackpipes.drift import drift_report


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
