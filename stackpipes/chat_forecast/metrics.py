"""The forecaster's metric: symmetric MAPE over hourly counts."""

from __future__ import annotations

from typing import Any

import numpy as np


def smape(actual: Any, predicted: Any) -> float:
    """Symmetric MAPE in percent; an hour where both are zero counts as a perfect 0."""
    a = np.asarray(actual, dtype=float).ravel()
    f = np.asarray(predicted, dtype=float).ravel()
    if a.shape != f.shape:
        raise ValueError(f"sMAPE needs equal lengths, got {a.size} and {f.size}")
    if a.size == 0:
        raise ValueError("sMAPE of an empty series is undefined")
    if np.isnan(a).any() or np.isnan(f).any():
        raise ValueError("sMAPE input contains NaN")
    denominator = np.abs(a) + np.abs(f)
    terms = np.divide(2 * np.abs(f - a), denominator, out=np.zeros_like(a), where=denominator > 0)
    return float(100 * terms.mean())
