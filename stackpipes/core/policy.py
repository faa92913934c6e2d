"""Decision rules, pure and apart from ZenML: when to retrain, and when a new model is promoted.

The retrain policy is configured in YAML (a pipeline's `retrain_policy` parameter); its decision
is an artifact with every reason that applied, so a run that did not retrain says why in the
dashboard. The promotion verdict compares a new model with production on the same holdout.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

from stackpipes.core.types import (
    DriftSummary,
    MetricScore,
    ModelEvaluation,
    ProductionInfo,
    RetrainDecision,
    RuleOutcome,
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
    review: Literal["auto", "promotion", "retrain"] = Field(
        default="auto",
        description="auto: decide alone; promotion: a better challenger waits in staging for an approval; "
        "retrain: drift or a bad score asks for a retrain that waits for an approval",
    )

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
        approval: Optional[str] = None,
    ) -> RetrainDecision:
        """Every rule is evaluated and its outcome kept (`rules`), also the ones another rule
        overrules; `reasons` say what decided.

        `required` is what the system itself needs before anything can be trained or compared
        (e.g. the hours drift and backtest need), `unit` names what is counted. Fewer samples than
        that, or than the policy's `min_samples`, is not an error: the decision says how much of
        the history is collected, and a run without a production model ends without one. Then a
        missing production model trains; else the triggers (force, a bad score, drift) train
        unless the cooldown holds them back. With `review: retrain` a trigger only requests a
        retrain, and `approval` (who approved a request, when) makes this run train.
        """
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
        rules: list[RuleOutcome] = []

        def rule(name: str, outcome: str, detail: str) -> RuleOutcome:
            rules.append(RuleOutcome(rule=name, outcome=outcome, detail=detail))
            return rules[-1]

        def decision(retrain: bool, reasons: list[str], collecting: bool = False,
                     awaiting_review: bool = False) -> RetrainDecision:
            return RetrainDecision(
                retrain=retrain, reasons=reasons, evaluated_at=now, inputs=inputs, collecting=collecting, rules=rules,
                awaiting_review=awaiting_review,
            )

        samples = (
            rule("samples", "hold", f"collecting history: {n_samples} of {needed} {unit}")
            if n_samples < needed
            else rule("samples", "pass", f"{n_samples} {unit} (at least {needed} needed)")
        )
        triggers = self._triggers(score, drift, rule)
        cooldown = self._cooldown(production, now, rule)
        if not production.exists:
            missing = rule(
                "production",
                "retrain" if self.retrain_without_production else "hold",
                "no production model exists"
                + ("" if self.retrain_without_production else " and the policy does not train one"),
            )
        else:
            missing = rule("production", "pass", f"production is version {production.version}")

        if samples.outcome == "hold":
            return decision(False, [samples.detail], collecting=True)
        if approval and self.review == "retrain" and production.exists:
            rule("review", "retrain", f"retrain approved {approval}")
            return decision(True, [f"retrain approved {approval}"])
        if not production.exists:
            return decision(missing.outcome == "retrain", [missing.detail])
        if triggers and cooldown is not None:
            return decision(False, [f"{t.detail} -> would retrain; held back by the {cooldown.detail}" for t in triggers])
        if triggers and self.review == "retrain":
            rule("review", "hold", "the policy asks a person to approve a retrain (python run.py review approve RUN)")
            return decision(False, [f"{t.detail} -> retrain requested, awaiting review" for t in triggers],
                            awaiting_review=True)
        if triggers:
            return decision(True, [t.detail for t in triggers])
        return decision(False, [r.detail for r in rules if r.rule in ("metric", "drift")] or ["no rule asks to retrain"])

    def _triggers(self, score: Optional[MetricScore], drift: Optional[DriftSummary], rule: Any) -> list[RuleOutcome]:
        """The rules that ask to retrain (force, metric, drift), each with its outcome recorded."""
        triggers = []
        if self.force:
            triggers.append(rule("force", "retrain", "retraining is forced by the policy"))
        if score is None or score.value is None:
            rule("metric", "n/a", f"no {self.metric} score available ({score.status if score else 'not scored'})")
        elif self.metric_threshold is None:
            rule("metric", "n/a", f"{self.metric} {score.value:.3g} (the policy sets no threshold)")
        elif self._metric_is_bad(score.value):
            direction = "below" if self.higher_is_better else "above"
            triggers.append(rule(
                "metric", "retrain", f"{self.metric} {score.value:.3g} is {direction} the threshold {self.metric_threshold}"
            ))
        else:
            rule("metric", "pass", f"{self.metric} {score.value:.3g} is within the threshold {self.metric_threshold}")
        if drift is None or drift.total_columns == 0:
            rule("drift", "n/a", f"no drift measured ({drift.note if drift and drift.note else 'no reference'})")
        elif self.drift_share_threshold is None:
            rule("drift", "n/a", f"drift share {drift.drifted_share:.2f} (the policy sets no threshold)")
        elif drift.drifted_share >= self.drift_share_threshold:
            triggers.append(rule(
                "drift", "retrain",
                f"drift: {drift.drifted_columns}/{drift.total_columns} columns drifted "
                f"(share {drift.drifted_share:.2f} >= {self.drift_share_threshold})",
            ))
        else:
            rule("drift", "pass", f"drift share {drift.drifted_share:.2f} is below {self.drift_share_threshold}")
        return triggers

    def _cooldown(self, production: ProductionInfo, now: datetime, rule: Any) -> Optional[RuleOutcome]:
        """The cooldown's outcome; returned when it holds retraining back."""
        last_training = production.last_trained_at or production.trained_at
        if not production.exists or last_training is None or self.cooldown_hours <= 0:
            rule("cooldown", "n/a", "no cooldown applies")
            return None
        if last_training.tzinfo is None:
            last_training = last_training.replace(tzinfo=timezone.utc)
        hours = (now - last_training).total_seconds() / 3600
        if hours < self.cooldown_hours:
            return rule("cooldown", "hold",
                        f"cooldown: last training {hours:.1f} h ago, the policy waits {self.cooldown_hours:g} h")
        rule("cooldown", "pass", f"last training {hours:.1f} h ago (cooldown {self.cooldown_hours:g} h)")
        return None


def review_mode(policy: Any) -> str:
    """The `review` setting of a policy given as a RetrainPolicy, a dict or None."""
    if policy is None:
        return "auto"
    if isinstance(policy, dict):
        policy = RetrainPolicy.model_validate(policy)
    return policy.review


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
