"""Rolling-origin backtest: every candidate fitted before each of the last horizons and scored."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
import pandas as pd

from stackpipes.chat_forecast.candidates import fitter, seasonal_period
from stackpipes.chat_forecast.metrics import smape
from stackpipes.chat_forecast.series import WEEK, check_series


@dataclass
class BacktestResult:
    """Per candidate and fold: sMAPE, MAE, fit time, and the error text when the fit failed."""

    table: pd.DataFrame
    errors: dict[str, str] = field(default_factory=dict)

    def mean_smape(self) -> dict[str, float]:
        """Mean sMAPE per candidate, in the order they were given; inf when any fold failed."""
        means = self.table.groupby("candidate", sort=False)["smape"].mean()
        return {str(name): float(value) for name, value in means.items()}

    def best(self) -> str:
        """The lowest mean sMAPE; a tie goes to the candidate listed first (list the simple one first)."""
        scores = self.mean_smape()
        return min(scores, key=lambda name: scores[name])


def rolling_backtest(
    series: pd.DataFrame,
    candidates: list[str],
    horizon: int = 24,
    folds: int = 3,
    train_window_hours: int = WEEK * 6,
    params: Optional[dict[str, Any]] = None,
) -> BacktestResult:
    """Fit each candidate on a trailing window before each of the last `folds` horizons and score it.

    Fold k forecasts the `horizon` hours that start k horizons before the series end, from the
    `train_window_hours` just before them. A candidate that raises is scored inf for that fold.
    """
    check_series(series)
    if not candidates:
        raise ValueError("no forecasting candidates to backtest")
    if horizon < 1 or folds < 1:
        raise ValueError(f"horizon and folds must be positive, got {horizon} and {folds}")
    period = seasonal_period(params or {})
    if len(series) < horizon * folds + period:
        raise ValueError(
            f"backtest needs at least {horizon * folds + period} hours, the series has {len(series)}"
        )
    fits = {name: fitter(name) for name in candidates}  # unknown names fail before any fitting
    rows, errors = [], {}
    for name, fit in fits.items():
        for fold in range(folds, 0, -1):
            cut = len(series) - fold * horizon
            train = series.iloc[max(0, cut - train_window_hours) : cut].reset_index(drop=True)
            actual = series["count"].iloc[cut : cut + horizon].to_numpy(float)
            start = time.perf_counter()
            try:
                _, predicted, _ = fit(train, horizon, params)
                score, mae, error = smape(actual, predicted), float(np.abs(actual - predicted).mean()), ""
            except Exception as exc:  # a candidate that cannot fit loses; it does not stop the others
                score, mae, error = math.inf, math.inf, f"{type(exc).__name__}: {exc}"
                errors[name] = error
            rows.append({"candidate": name, "fold": fold, "smape": score, "mae": mae,
                         "fit_seconds": time.perf_counter() - start, "error": error})
    table = pd.DataFrame(rows)
    if np.isinf(table["smape"]).all():
        raise RuntimeError("every forecasting candidate failed: " + "; ".join(f"{k}: {v}" for k, v in errors.items()))
    return BacktestResult(table, errors)
