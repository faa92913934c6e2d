"""The sweep's leaderboard as the dashboard and MLflow show it: a table, best first, and a chart of
every trial's cross-validated score (mean +- std) by model family."""

from __future__ import annotations

import base64
import io
from typing import Any, Optional

import pandas as pd
from pydantic import BaseModel, Field

from stackpipes.ratings.sweep import TrialResult, leaderboard

FAMILY_COLOURS = {"linear": "#4c72b0", "random_forest": "#55a868", "gradient_boosting": "#c44e52"}


class SweepShard(BaseModel):
    """What one sweep step ran."""

    shard: int
    results: list[TrialResult] = Field(default_factory=list)
    seconds: float = 0.0
    skipped: Optional[str] = None  # why nothing ran (no retrain due)


class SweepResult(BaseModel):
    """Every trial of the sweep, gathered from its steps, and the winner."""

    strategy: str
    metric: str
    results: list[TrialResult]
    best: Optional[TrialResult] = None
    shard_seconds: list[float] = Field(default_factory=list)
    skipped: Optional[str] = None

    def table(self) -> pd.DataFrame:
        return leaderboard(self.results)

    def to_html(self) -> str:
        from stackpipes.core import views

        if self.skipped:
            return views.page("Sweep", f"<h3>Sweep: not run</h3><p>{views.esc(self.skipped)}</p>")
        table = self.table()
        best = self.best
        head = (f"<h3>Sweep ({self.strategy}, {len(self.results)} trials, {self.metric}): best "
                f"{views.esc(best.family)} trial {best.index}, CV {best.cv_mean:.4f} +- {best.cv_std:.4f}</h3>"
                if best and best.cv_mean is not None else "<h3>Sweep: no trial could be scored</h3>")
        image = base64.b64encode(chart_png(table, self.metric)).decode()
        rows = [(r.trial, r.family, r.params, views.fmt(r.cv_mean), views.fmt(r.cv_std), f"{r.fit_seconds:.2f}", r.shard,
                 r.error) for r in table.itertuples()]
        body = (head + f"<img alt='CV score per trial' src='data:image/png;base64,{image}'/>"
                + views.table(["trial", "family", "parameters", f"CV {self.metric} mean", "std", "fit s", "shard", "error"],
                              rows, shade=["pass" if i == 0 else ("fail" if r.error else None) for i, r in enumerate(table.itertuples())]))
        return views.page("Sweep leaderboard", body)


def chart_png(table: pd.DataFrame, metric: str) -> bytes:
    """Each trial's CV mean with its std as an error bar, coloured by family, best first."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scored = table.dropna(subset=["cv_mean"]).head(40)
    figure, axis = plt.subplots(figsize=(max(5.0, 0.28 * len(scored) + 2), 3.4))
    for family, rows in scored.groupby("family", sort=True):
        axis.errorbar([scored.index.get_loc(i) for i in rows.index], rows["cv_mean"], yerr=rows["cv_std"], fmt="o",
                      capsize=3, color=FAMILY_COLOURS.get(str(family), "#8172b2"), label=str(family))
    axis.set_xticks(range(len(scored)), [str(t) for t in scored["trial"]], fontsize=7)
    axis.set_xlabel("trial (best first)")
    axis.set_ylabel(f"CV {metric}")
    axis.legend(fontsize=8)
    axis.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    plt.close(figure)
    return buffer.getvalue()


def gather(shards: list[SweepShard], strategy: str, metric: str) -> SweepResult:
    """The sweep's shards as one result; the winner chosen as `sweep.best_trial` does."""
    from stackpipes.ratings.sweep import best_trial

    skipped = next((s.skipped for s in shards if s.skipped), None)
    results = sorted((r for s in shards for r in s.results), key=lambda r: r.index)
    if skipped:
        return SweepResult(strategy=strategy, metric=metric, results=[], skipped=skipped)
    return SweepResult(strategy=strategy, metric=metric, results=results, best=best_trial(results),
                       shard_seconds=[s.seconds for s in sorted(shards, key=lambda s: s.shard)])


def film_ratings(test: pd.DataFrame, predictions: Any, group: str, target: str) -> pd.DataFrame:
    """Per film (group): the mean actual and the mean predicted rating of its held-out comments."""
    table = pd.DataFrame({group: test[group].to_numpy(), "actual": test[target].to_numpy(), "predicted": predictions})
    out = table.groupby(group, sort=True).agg(comments=("actual", "size"), actual=("actual", "mean"),
                                              predicted=("predicted", "mean")).reset_index()
    return out
