"""The shared results' dashboard views: script-free (the dashboard frames them with sandbox=""),
offline, and saying what a reviewer needs."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from stackpipes.core.drift import distributions, window
from stackpipes.core.policy import RetrainPolicy
from stackpipes.core.types import (
    ColumnDrift,
    DriftSummary,
    ExpectationOutcome,
    ProductionInfo,
    PromotionResult,
    ValidationReport,
)

NOW = datetime(2026, 11, 22, 12, tzinfo=timezone.utc)


def assert_script_free_and_offline(page: str) -> None:
    assert "<script" not in page.lower() and "javascript:" not in page.lower()
    assert not re.search(r"(src|href)\s*=\s*['\"]?(https?:)?//", page), "nothing may be fetched"
    assert page.startswith("<!DOCTYPE html>") and "<title>" in page


def drift_summary() -> DriftSummary:
    rng = np.random.default_rng(3)
    reference, current = pd.Series(rng.normal(0, 1, 500)), pd.Series(rng.normal(2, 1, 200))
    edges, ref, cur = distributions(reference, current)
    column = ColumnDrift(column="count", method="wasserstein", score=1.61, threshold=0.5, drifted=True,
                         bin_edges=edges, reference_shares=ref, current_shares=cur)
    steady = ColumnDrift(column="rolling_24h", method="wasserstein", score=0.2, threshold=0.5, drifted=False)
    return DriftSummary(dataset_drift=True, drifted_share=0.5, drifted_columns=1, total_columns=2,
                        columns={"count": column, "rolling_24h": steady}, reference_rows=500, current_rows=200,
                        reference_window="2026-10-01 00:00 to 2026-10-21 19:00 UTC",
                        current_window="2026-10-21 20:00 to 2026-10-30 03:00 UTC", title="p run r")


def test_distributions_share_edges_and_sum_to_one():
    edges, ref, cur = distributions(pd.Series([0.0, 1, 2, 3]), pd.Series([2.0, 3, 4, 5, 6]), bins=4)
    assert len(edges) == 5 and edges[0] == 0 and edges[-1] == 6
    assert abs(sum(ref) - 1) < 1e-9 and abs(sum(cur) - 1) < 1e-9
    assert distributions(pd.Series([], dtype=float), pd.Series([], dtype=float)) == ([], [], [])


def test_window_reads_the_time_column():
    frame = pd.DataFrame({"timestamp": pd.date_range("2026-10-01", periods=3, freq="h", tz="UTC")})
    assert window(frame, "timestamp") == "2026-10-01 00:00 to 2026-10-01 02:00 UTC"
    assert window(frame, None) is None and window(frame.iloc[0:0], "timestamp") is None


def test_drift_view_shows_scores_thresholds_distributions_and_windows():
    summary = drift_summary()
    page = summary.to_html()
    assert_script_free_and_offline(page)
    assert page.count("<svg") == 2  # the score bars and the drifted column's histogram
    assert "1.61 / 0.5" in page and "0.2 / 0.5" in page
    assert "2026-10-21 20:00 to 2026-10-30 03:00 UTC" in page and "reference: 500 rows" in page
    assert summary.verdict.startswith("DATASET DRIFT: 1/2 columns drifted (share 0.50): count; current 2026-10-21")


def test_decision_view_lists_every_rule_and_the_overruled_trigger():
    production = ProductionInfo(exists=True, model_name="m", version="3", trained_at=NOW)
    decision = RetrainPolicy(drift_share_threshold=0.5, cooldown_hours=20).decide(None, drift_summary(), 500,
                                                                                 production, now=NOW)
    page = decision.to_html()
    assert_script_free_and_offline(page)
    for rule in ("samples", "metric", "drift", "cooldown", "production"):
        assert f"<td>{rule}</td>" in page
    assert "would retrain; held back by the cooldown" in page


def test_validation_and_promotion_views():
    failed = ExpectationOutcome(expectation="expect_column_values_to_not_be_null", column="text", success=False,
                                unexpected_count=3)
    report = ValidationReport(suite="s", dataset="d", rows=10, success=False, outcomes=[failed], validated_at=NOW)
    page = report.to_html()
    assert_script_free_and_offline(page)
    assert "FAILED" in page and "3 unexpected" in page
    promotion = PromotionResult(promoted=True, reason="smape 10 beats production 12", metric="smape",
                                challenger=10.0, production=12.0, model_version="4")
    page = promotion.to_html()
    assert_script_free_and_offline(page)
    assert "Promoted to production" in page and "<svg" in page and "12" in page
