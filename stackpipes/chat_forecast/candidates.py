"""Forecasting candidates: seasonal naive, Holt-Winters, STL + ARIMA and SARIMAX with Fourier terms.

statsmodels is imported inside the fits that use it, so importing this module is cheap.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
import pandas as pd

from stackpipes.chat_forecast.series import DAY, WEEK

# A candidate is called as `candidate(series, horizon, params) -> (fitted, forecast, learned)`.
# `learned` holds estimated parameters that, passed back in `params`, make the candidate apply the
# same model to newer data instead of estimating it again. Any callable of that shape can be put
# in CANDIDATES (tests add deliberately poor ones); the built-in ones are `Candidate`s, which can
# also forecast any horizon from a stored fitted object, so a model loaded from an artifact
# forecasts exactly what it forecast when it was saved.

CandidateFn = Callable[[pd.DataFrame, int, Optional[dict[str, Any]]], tuple[Any, np.ndarray, dict[str, Any]]]

# Count data's variance grows with its level; on the sqrt scale it is roughly constant, which is
# what an additive seasonal model and Gaussian ARIMA errors assume.
_TRANSFORMS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]] = {
    "sqrt": (np.sqrt, lambda z: np.square(np.clip(z, 0, None))),
    "log1p": (np.log1p, np.expm1),
    "none": (lambda y: y, lambda z: z),
}


def _transform(params: dict[str, Any]) -> tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]:
    name = params.get("transform", "sqrt")
    if name not in _TRANSFORMS:
        raise ValueError(f"unknown transform '{name}'; known: {', '.join(_TRANSFORMS)}")
    return _TRANSFORMS[name]


def seasonal_period(params: dict[str, Any]) -> int:
    period = int(params.get("seasonal_period", WEEK))
    if period < 2:
        raise ValueError(f"seasonal_period must be at least 2, got {period}")
    return period


def _require_seasons(values: np.ndarray, params: dict[str, Any], name: str, seasons: int) -> int:
    """The seasonal period, once `values` is known to cover `seasons` of them."""
    period = seasonal_period(params)
    if len(values) < seasons * period:
        raise ValueError(f"{name} needs at least {seasons * period} hours of history, got {len(values)}")
    return period


def _seasonal_input(values: np.ndarray, params: dict[str, Any], name: str) -> tuple[int, np.ndarray]:
    """The seasonal period and the transformed counts of a model fitted on two seasons or more."""
    period = _require_seasons(values, params, name, seasons=2)
    forward, _ = _transform(params)
    return period, forward(values)


@dataclass(frozen=True)
class Candidate:
    """A forecasting method: `fit` learns from hourly counts, `extend` forecasts from what it learned.

    Both work on the raw count scale; `defaults` are the parameters used unless overridden.
    """

    name: str
    fit: Callable[[np.ndarray, dict[str, Any]], tuple[Any, dict[str, Any]]]
    extend: Callable[[Any, int, dict[str, Any]], np.ndarray]
    defaults: dict[str, Any] = field(default_factory=dict)

    def forecast(self, fitted: Any, horizon: int, params: Optional[dict[str, Any]] = None) -> np.ndarray:
        return np.asarray(self.extend(fitted, horizon, {**self.defaults, **(params or {})}), dtype=float)

    def __call__(
        self, series: pd.DataFrame, horizon: int, params: Optional[dict[str, Any]] = None
    ) -> tuple[Any, np.ndarray, dict[str, Any]]:
        merged = {**self.defaults, **(params or {})}
        with warnings.catch_warnings():
            # statsmodels warns about convergence and frequencies on plain arrays; a poor fit
            # shows up in the backtest score, which is what decides.
            warnings.simplefilter("ignore")
            fitted, learned = self.fit(series["count"].to_numpy(float), merged)
        return fitted, self.forecast(fitted, horizon, {**merged, **learned}), learned


def _seasonal_naive_fit(values: np.ndarray, params: dict[str, Any]) -> tuple[np.ndarray, dict[str, Any]]:
    period = _require_seasons(values, params, "seasonal_naive", seasons=1)
    return values[-period:].copy(), {}


def _seasonal_naive_extend(last_season: np.ndarray, horizon: int, params: dict[str, Any]) -> np.ndarray:
    return np.resize(last_season, horizon)


def _holt_winters_fit(values: np.ndarray, params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    # The heuristic initialisation needs two seasons and is what keeps the fit well under a second
    # (the "estimated" one optimises every seasonal state).
    period, transformed = _seasonal_input(values, params, "holt_winters")
    model = ExponentialSmoothing(
        transformed, trend=None, seasonal="add", seasonal_periods=period, initialization_method="heuristic"
    )
    if "smoothing_level" in params and "smoothing_seasonal" in params:
        fitted = model.fit(
            smoothing_level=params["smoothing_level"], smoothing_seasonal=params["smoothing_seasonal"], optimized=False
        )
    else:
        fitted = model.fit(optimized=True)
    return fitted, {k: float(fitted.params[k]) for k in ("smoothing_level", "smoothing_seasonal")}


def _statsmodels_extend(fitted: Any, horizon: int, params: dict[str, Any]) -> np.ndarray:
    _, inverse = _transform(params)
    return inverse(np.asarray(fitted.forecast(horizon), dtype=float))


def _stl_arima_fit(values: np.ndarray, params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    from statsmodels.tsa.arima.model import ARIMA
    from statsmodels.tsa.forecasting.stl import STLForecast

    period, transformed = _seasonal_input(values, params, "stl_arima")
    model = STLForecast(
        transformed,
        ARIMA,
        model_kwargs={"order": tuple(params["arima_order"]), "trend": "c"},
        period=period,
        robust=bool(params.get("robust", False)),
    )
    # low_memory keeps only what forecasting needs: a tenth of the pickle, and a faster fit.
    return model.fit(fit_kwargs={"low_memory": True}), {}


def _harmonics(params: dict[str, Any]) -> list[int]:
    """Harmonics of the seasonal period used as Fourier regressors.

    The first `fourier_terms` give the slow (weekly) shape; when the period is a whole number of
    days, `fourier_daily_terms` harmonics of the day give the sharper intraday shape without the
    dozens of weekly harmonics it would otherwise take.
    """
    period = seasonal_period(params)
    chosen = set(range(1, int(params["fourier_terms"]) + 1))
    if period % DAY == 0:
        per_day = period // DAY
        chosen |= {per_day * j for j in range(1, int(params["fourier_daily_terms"]) + 1)}
    # Harmonics at or above the Nyquist frequency are aliases (or a zero sine column).
    return sorted(h for h in chosen if 0 < h < period / 2)


def _fourier(start: int, length: int, params: dict[str, Any]) -> np.ndarray:
    period = seasonal_period(params)
    angle = 2 * np.pi * np.outer(np.arange(start, start + length), _harmonics(params)) / period
    return np.hstack([np.sin(angle), np.cos(angle)])


def _sarimax_fourier_fit(values: np.ndarray, params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    _, transformed = _seasonal_input(values, params, "sarimax_fourier")
    model = SARIMAX(
        transformed,
        exog=_fourier(0, len(values), params),
        order=tuple(params["arima_order"]),
        trend="c",
        # Concentrating the scale out of the likelihood and skipping the parameter covariance
        # make the fit about 3x faster; neither is needed for a point forecast.
        concentrate_scale=True,
    )
    return model.fit(disp=False, cov_type="none", low_memory=True), {}


def _sarimax_fourier_extend(fitted: Any, horizon: int, params: dict[str, Any]) -> np.ndarray:
    _, inverse = _transform(params)
    exog = _fourier(int(fitted.nobs), horizon, params)  # the regressors continue the training phase
    return inverse(np.asarray(fitted.forecast(horizon, exog=exog), dtype=float))


CANDIDATES: dict[str, CandidateFn] = {
    "seasonal_naive": Candidate("seasonal_naive", _seasonal_naive_fit, _seasonal_naive_extend),
    "holt_winters": Candidate("holt_winters", _holt_winters_fit, _statsmodels_extend, {"transform": "sqrt"}),
    "stl_arima": Candidate(
        "stl_arima", _stl_arima_fit, _statsmodels_extend, {"transform": "sqrt", "arima_order": (2, 0, 0)}
    ),
    "sarimax_fourier": Candidate(
        "sarimax_fourier",
        _sarimax_fourier_fit,
        _sarimax_fourier_extend,
        {"transform": "sqrt", "arima_order": (1, 0, 0), "fourier_terms": 6, "fourier_daily_terms": 8},
    ),
}


def finish_counts(forecast: np.ndarray, params: Optional[dict[str, Any]]) -> np.ndarray:
    forecast = np.clip(np.asarray(forecast, dtype=float), 0, None)
    # Counts are whole messages: 0.3 messages at 4 am is a forecast of none, and sMAPE punishes it
    # as a miss (200 %) whenever the hour is in fact silent, which quiet chats mostly are.
    if (params or {}).get("round_counts", True):
        forecast = np.round(forecast)
    return forecast


def fitter(name: str) -> CandidateFn:
    if name not in CANDIDATES:
        raise ValueError(f"unknown forecasting candidate '{name}'; known: {', '.join(sorted(CANDIDATES))}")
    fit = CANDIDATES[name]

    def fit_counts(series: pd.DataFrame, horizon: int, params: Optional[dict[str, Any]] = None):
        fitted, forecast, learned = fit(series, horizon, params)
        forecast = np.asarray(forecast, dtype=float)
        if forecast.shape != (horizon,):
            raise ValueError(f"candidate '{name}' returned {forecast.shape} values for a {horizon}-hour horizon")
        return fitted, finish_counts(forecast, params), learned

    return fit_counts
