"""The retrain decision on real drift reports: the planted shift retrains, stable data does not."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from stackpipes.chat_forecast.series import hourly_counts
from stackpipes.core.drift import drift_report
from stackpipes.core.policy import RetrainPolicy
from stackpipes.core.types import MetricScore, ProductionInfo
from stackpipes.telegram.export import parse_export

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

POLICY = RetrainPolicy(metric_threshold=60, drift_share_threshold=0.5, min_samples=336, cooldown_hours=20)
PRODUCTION = ProductionInfo(exists=True, model_name="chat_forecast", version="1",
                            trained_at=datetime.now(timezone.utc) - timedelta(days=2))


def decide(shift: bool, seed: int):
    from make_sample_export import generate_export

    from steps.chat_forecast.series import split_recent

    messages = parse_export(json.dumps(generate_export(weeks=6, seed=seed, shift=shift)).encode()).messages
    counts = hourly_counts(messages["timestamp"])
    reference, current = split_recent.entrypoint(counts, current_hours=168, reference_hours=504)
    drift = drift_report(reference, current, numerical=["count", "rolling_24h"], method="wasserstein", threshold=0.5)
    score = MetricScore(metric="smape", value=50.0, points=24, status="scored")
    return drift, POLICY.decide(score, drift, len(counts), PRODUCTION)


@pytest.mark.parametrize("shift, retrain", [(True, True), (False, False)], ids=["planted-shift", "stable"])
@pytest.mark.parametrize("seed", [21, 5])
def test_decision_follows_real_drift(shift, retrain, seed):
    drift, decision = decide(shift, seed)
    assert drift.dataset_drift is retrain
    assert decision.retrain is retrain
    assert any(("drift" in reason) for reason in decision.reasons)
