"""Decision rules, pure and apart from ZenML: when to retrain, and when a new model is promoted.

The retrain policy is configured in YAML (a pipeline's `retrain_policy` parameter); its decision
is an artifact with every reason that applied, so a run that did not retrain says why in the
dashboard. The promotion verdict compares a new model with production on the same holdout.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Optional

from pydantic import BaseModel, ConfigDict, Field

from stackpipes.core.types import (
    DriftSummary,
    MetricScore,
    ModelEvaluation,
    ProductionInfo,
    RetrainDecision,
)
from stackpipes.platform.bounds import HOURS_PER_YEAR, MAX_ROWS


class RetrainPolicy(BaseModel):
    """When a model is retrained. Every rule is configurable; see configs/*.yaml."""

    model_config = ConfigDict(extra="forbid")

    metric: str = "smape"
    metric_threshold: Optional[float] = Field(
        default=None, description="retrain when the scored metric is worse than this"
    )
    higher_is_better: bool = False
    drift_share_threshold: Optional[float] = Field(
        default=0.5, description="retrain when at least this share of columns drifted"
    )
    min_samples: int = Field(default=0, ge=0, le=MAX_ROWS, description="never train on fewer samples than this")
    cooldown_hours: float = Field(
        default=0.0, ge=0, le=HOURS_PER_YEAR, description="minimum time since the last training"
    )
    retrain_without_production: bool = Field(default=True, description="train when no production model exists")
    force: bool = Field(default=False, description="always retrain (respects min_samples)")

    def _metric_is_bad(self, value: float) -> bool:
        assert self.metric_threshold is not None
        return value < self.metric_threshold if self.higher_is_better else value > self.metric_threshold

    def decide(
        self,
        score: Optional[MetricScore],
        drift: Optional[DriftSummary],
        n_samples: int,
        production: ProductionInfo,
        now: Optional[datetime] = None,
        required: int = 0,
        unit: str = "samples",
    ) -> RetrainDecision:
        """`required` is what the system itself needs before anything can be trained or compared
        (e.g. the hours drift and backtest need), `unit` names what is counted. Fewer samples than
        that, or than the policy's `min_samples`, is not an error: the decision says how much of
        the history is collected, and a run without a production model ends without one."""
        now = now or datetime.now(timezone.utc)
        needed = max(required, self.min_samples)
        inputs = {
            "n_samples": n_samples,
            "samples_needed": needed,
            "production_version": production.version,
            "metric": self.metric,
            "metric_value": score.value if score else None,
            "score_status": score.status if score else None,
            "drifted_share": drift.drifted_share if drift else None,
            "dataset_drift": drift.dataset_drift if drift else None,
        }

        def decision(retrain: bool, reasons: list[str], collecting: bool = False) -> RetrainDecision:
            return RetrainDecision(
                retrain=retrain, reasons=reasons, evaluated_at=now, inputs=inputs, collecting=collecting
            )

        if n_samples < needed:
            return decision(False, [f"collecting history: {n_samples} of {needed} {unit}"], collecting=True)
        if not production.exists:
            if self.retrain_without_production:
                return decision(True, ["no production model exists"])
            return decision(False, ["no production model exists and the policy does not train one"])
        if self.force:
            return decision(True, ["retraining is forced by the policy"])
        last_training = production.last_trained_at or production.trained_at
        if last_training is not None and self.cooldown_hours > 0:
            trained_at = last_training
            if trained_at.tzinfo is None:
                trained_at = trained_at.replace(tzinfo=timezone.utc)
            elapsed = now - trained_at
            if elapsed < timedelta(hours=self.cooldown_hours):
                hours = elapsed.total_seconds() / 3600
                return decision(
                    False, [f"cooldown: last training {hours:.1f} h ago, the policy waits {self.cooldown_hours} h"]
                )

        reasons = []
        if self.metric_threshold is not None and score is not None and score.value is not None:
            if self._metric_is_bad(score.value):
                direction = "below" if self.higher_is_better else "above"
                reasons.append(
                    f"{self.metric} {score.value:.3g} is {direction} the threshold {self.metric_threshold}"
                )
        if drift is not None and self.drift_share_threshold is not None:
            if drift.drifted_share >= self.drift_share_threshold:
                reasons.append(
                    f"drift: {drift.drifted_columns}/{drift.total_columns} columns drifted "
                    f"(share {drift.drifted_share:.2f} >= {self.drift_share_threshold})"
                )
        if reasons:
            return decision(True, reasons)
        quiet = []
        if score is None or score.value is None:
            quiet.append(f"no {self.metric} score available ({score.status if score else 'not scored'})")
        else:
            quiet.append(f"{self.metric} {score.value:.3g} is within the threshold {self.metric_threshold}")
        if drift is not None:
            quiet.append(f"drift share {drift.drifted_share:.2f} is below {self.drift_share_threshold}")
        return decision(False, quiet)


def is_better(challenger: float, production: float, higher_is_better: bool = False) -> bool:
    """Strictly better on the pipeline's metric; a tie keeps the current production model."""
    return challenger > production if higher_is_better else challenger < production


def promotion_verdict(evaluation: ModelEvaluation) -> tuple[bool, str]:
    """Pure rule: promote a retrained model with no production, or one strictly better."""
    if not evaluation.retrained:
        return False, "no new model was trained in this run"
    if evaluation.challenger is None:
        return False, "the new model could not be scored"
    if evaluation.production is None:
        return True, "no production model to beat"
    if is_better(evaluation.challenger, evaluation.production, evaluation.higher_is_better):
        return True, (
            f"{evaluation.metric} {evaluation.challenger:.4g} beats production "
            f"{evaluation.production:.4g} on {evaluation.holdout or 'the same holdout'}"
        )
    return False, (
        f"{evaluation.metric} {evaluation.challenger:.4g} does not beat production "
        f"{evaluation.production:.4g} on {evaluation.holdout or 'the same holdout'}"
    )
