"""The retrain policy: each rule, its precedence, and the reasons it gives."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from stackpipes.core.policy import RetrainPolicy, is_better
from stackpipes.core.types import ColumnDrift, DriftSummary, MetricScore, ProductionInfo

NOW = datetime(2026, 11, 22, 12, tzinfo=timezone.utc)
PROD = ProductionInfo(exists=True, model_name="m", version="3", trained_at=NOW - timedelta(hours=30))
NO_PROD = ProductionInfo(exists=False, model_name="m")


def drift(share: float) -> DriftSummary:
    cols = {"count": ColumnDrift(column="count", method="ks", score=0.01, threshold=0.05, drifted=share > 0)}
    return DriftSummary(dataset_drift=share >= 0.5, drifted_share=share, drifted_columns=int(share * 2),
                        total_columns=2, columns=cols, reference_rows=672, current_rows=168)


def score(value: float | None) -> MetricScore:
    return MetricScore(metric="smape", value=value, status="scored" if value is not None else "no_prediction")


POLICY = RetrainPolicy(metric_threshold=40, drift_share_threshold=0.5, min_samples=100, cooldown_hours=20)


def test_no_production_model_trains():
    decision = POLICY.decide(score(None), drift(0.0), 500, NO_PROD, now=NOW)
    assert decision.retrain and decision.reasons == ["no production model exists"]


def test_too_few_samples_never_trains_even_without_production():
    decision = POLICY.decide(score(None), drift(1.0), 99, NO_PROD, now=NOW)
    assert not decision.retrain and decision.collecting and decision.status == "collecting"
    assert decision.reasons == ["collecting history: 99 of 100 samples"]


def test_the_systems_own_minimum_counts_when_it_is_above_the_policys():
    decision = POLICY.decide(score(None), drift(1.0), 150, NO_PROD, now=NOW, required=192, unit="hours")
    assert decision.collecting and decision.reasons == ["collecting history: 150 of 192 hours"]
    assert decision.inputs["samples_needed"] == 192
    enough = POLICY.decide(score(None), drift(1.0), 192, NO_PROD, now=NOW, required=192, unit="hours")
    assert enough.retrain and not enough.collecting and enough.status == "retrain"


def test_bad_metric_trains_and_says_why():
    decision = POLICY.decide(score(55.0), drift(0.0), 500, PROD, now=NOW)
    assert decision.retrain and "smape 55 is above the threshold 40" in decision.reasons[0]


def test_drift_trains_and_stable_data_does_not():
    assert POLICY.decide(score(20.0), drift(0.5), 500, PROD, now=NOW).retrain
    stable = POLICY.decide(score(20.0), drift(0.0), 500, PROD, now=NOW)
    assert not stable.retrain
    assert any("within the threshold" in r for r in stable.reasons)


def test_both_reasons_are_reported():
    decision = POLICY.decide(score(80.0), drift(1.0), 500, PROD, now=NOW)
    assert decision.retrain and len(decision.reasons) == 2


def test_cooldown_blocks_retraining_after_a_recent_training():
    recent = PROD.model_copy(update={"trained_at": NOW - timedelta(hours=2)})
    decision = POLICY.decide(score(80.0), drift(1.0), 500, recent, now=NOW)
    assert not decision.retrain and "cooldown" in decision.reasons[0]


def test_cooldown_counts_a_challenger_that_was_not_promoted():
    lost_recently = PROD.model_copy(update={"last_trained_at": NOW - timedelta(hours=1)})
    decision = POLICY.decide(score(80.0), drift(1.0), 500, lost_recently, now=NOW)
    assert not decision.retrain and "1.0 h ago" in decision.reasons[0]


def test_higher_is_better_metrics():
    policy = RetrainPolicy(metric="accuracy", metric_threshold=0.8, higher_is_better=True)
    assert policy.decide(MetricScore(metric="accuracy", value=0.7, status="scored"), None, 10, PROD, now=NOW).retrain
    assert not policy.decide(MetricScore(metric="accuracy", value=0.9, status="scored"), None, 10, PROD, now=NOW).retrain


def test_force_and_no_production_rule_off():
    assert RetrainPolicy(force=True).decide(score(1.0), drift(0.0), 10, PROD, now=NOW).retrain
    off = RetrainPolicy(retrain_without_production=False).decide(None, None, 10, NO_PROD, now=NOW)
    assert not off.retrain


def test_policy_rejects_unknown_keys():
    with pytest.raises(ValidationError):
        RetrainPolicy.model_validate({"metric_treshold": 3})


def test_is_better_is_strict():
    assert is_better(10.0, 12.0) and not is_better(12.0, 12.0)
    assert is_better(0.9, 0.8, higher_is_better=True)


def test_every_rule_is_listed_with_its_outcome_also_when_overruled():
    just_trained = PROD.model_copy(update={"trained_at": NOW})
    decision = POLICY.decide(score(20.0), drift(1.0), 500, just_trained, now=NOW)
    assert not decision.retrain
    assert decision.reasons == [
        "drift: 2/2 columns drifted (share 1.00 >= 0.5) -> would retrain; "
        "held back by the cooldown: last training 0.0 h ago, the policy waits 20 h"
    ]
    outcomes = {r.rule: r.outcome for r in decision.rules}
    assert outcomes == {"samples": "pass", "metric": "pass", "drift": "retrain", "cooldown": "hold",
                        "production": "pass"}
    assert "within the threshold 40" in next(r.detail for r in decision.rules if r.rule == "metric")
