"""Hourly count forecasting: sMAPE, the hourly series, seasonal candidates, rolling backtest, model.

statsmodels (and matplotlib) are imported inside the functions that use them, so importing this
module costs little more than importing pandas.
"""

from __future__ import annotations

import io
import math
import pickle
import time
import warnings
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields
from datetime import datetime, timezone
from typing import Any, Optional

import numpy as np
import pandas as pd

WEEK = 24 * 7
DAY = 24


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


def _utc(value: Any) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    # Naive bounds are taken as UTC, like naive message times; aware ones are converted so that
    # flooring to the hour happens on the UTC clock (zones with half-hour offsets exist).
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _as_utc_series(timestamps: Any) -> pd.Series:
    stamps = pd.to_datetime(pd.Series(timestamps), utc=True).dropna()
    return stamps.astype("datetime64[ns, UTC]")


def hourly_counts(timestamps: pd.Series, start: Any = None, end: Any = None) -> pd.DataFrame:
    """Messages per hour, every hour from start to end (default: first to last message), zero-filled.

    Messages outside [start, end] are not counted.
    """
    stamps = _as_utc_series(timestamps)
    if stamps.empty:
        raise ValueError("no timestamps to count")
    first = _utc(start if start is not None else stamps.min()).floor("h")
    last = _utc(end if end is not None else stamps.max()).floor("h")
    if last < first:
        raise ValueError(f"end {last} is before start {first}")
    hours = pd.date_range(first, last, freq="h").astype("datetime64[ns, UTC]")
    counts = stamps.dt.floor("h").value_counts().reindex(hours, fill_value=0)
    return pd.DataFrame({"timestamp": hours, "count": counts.to_numpy().astype("int64")})


def find_gaps(timestamps: pd.Series, min_gap_hours: int = 48) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """(last message before, first message after) for each silence of at least `min_gap_hours`."""
    stamps = _as_utc_series(timestamps).sort_values().reset_index(drop=True)
    if len(stamps) < 2:
        return []
    long = np.flatnonzero((stamps.diff() >= pd.Timedelta(hours=min_gap_hours)).to_numpy())
    return [(stamps[i - 1], stamps[i]) for i in long]


# --- candidates -------------------------------------------------------------------------------
#
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


def _period(params: dict[str, Any]) -> int:
    period = int(params.get("seasonal_period", WEEK))
    if period < 2:
        raise ValueError(f"seasonal_period must be at least 2, got {period}")
    return period


def _require_seasons(values: np.ndarray, params: dict[str, Any], name: str, seasons: int) -> int:
    """The seasonal period, once `values` is known to cover `seasons` of them."""
    period = _period(params)
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
    period = _period(params)
    chosen = set(range(1, int(params["fourier_terms"]) + 1))
    if period % DAY == 0:
        per_day = period // DAY
        chosen |= {per_day * j for j in range(1, int(params["fourier_daily_terms"]) + 1)}
    # Harmonics at or above the Nyquist frequency are aliases (or a zero sine column).
    return sorted(h for h in chosen if 0 < h < period / 2)


def _fourier(start: int, length: int, params: dict[str, Any]) -> np.ndarray:
    period = _period(params)
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


def _finish(forecast: np.ndarray, params: Optional[dict[str, Any]]) -> np.ndarray:
    forecast = np.clip(np.asarray(forecast, dtype=float), 0, None)
    # Counts are whole messages: 0.3 messages at 4 am is a forecast of none, and sMAPE punishes it
    # as a miss (200 %) whenever the hour is in fact silent, which quiet chats mostly are.
    if (params or {}).get("round_counts", True):
        forecast = np.round(forecast)
    return forecast


def _candidate(name: str) -> CandidateFn:
    if name not in CANDIDATES:
        raise ValueError(f"unknown forecasting candidate '{name}'; known: {', '.join(sorted(CANDIDATES))}")
    fit = CANDIDATES[name]

    def fit_counts(series: pd.DataFrame, horizon: int, params: Optional[dict[str, Any]] = None):
        fitted, forecast, learned = fit(series, horizon, params)
        forecast = np.asarray(forecast, dtype=float)
        if forecast.shape != (horizon,):
            raise ValueError(f"candidate '{name}' returned {forecast.shape} values for a {horizon}-hour horizon")
        return fitted, _finish(forecast, params), learned

    return fit_counts


def _check_series(series: pd.DataFrame) -> None:
    missing = {"timestamp", "count"} - set(series.columns)
    if missing:
        raise ValueError(f"the series needs columns timestamp and count; missing {sorted(missing)}")
    if series["count"].isna().any():
        raise ValueError("the series has missing counts; build it with hourly_counts")


# --- backtest ---------------------------------------------------------------------------------


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
    _check_series(series)
    if not candidates:
        raise ValueError("no forecasting candidates to backtest")
    if horizon < 1 or folds < 1:
        raise ValueError(f"horizon and folds must be positive, got {horizon} and {folds}")
    period = _period(params or {})
    if len(series) < horizon * folds + period:
        raise ValueError(
            f"backtest needs at least {horizon * folds + period} hours, the series has {len(series)}"
        )
    fits = {name: _candidate(name) for name in candidates}  # unknown names fail before any fitting
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


# --- the model --------------------------------------------------------------------------------


@dataclass
class ForecastModel:
    """A fitted forecaster with what is needed to forecast from the end of its training data."""

    candidate: str
    params: dict[str, Any]  # as configured, plus what was learned (re-applied by `update`)
    fitted: Any  # the statsmodels results, or the last season's counts for seasonal_naive
    train_start: pd.Timestamp
    train_end: pd.Timestamp  # the last observed hour
    forecast_cache: np.ndarray = field(default_factory=lambda: np.empty(0))
    backtest: dict[str, float] = field(default_factory=dict)  # candidate -> mean sMAPE
    trained_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    history_tail: pd.DataFrame = field(default_factory=pd.DataFrame)
    train_window_hours: int = WEEK * 6
    base_params: dict[str, Any] = field(default_factory=dict)  # as configured, nothing learned
    tracking_model_uri: Optional[str] = None
    seasonal_period: int = WEEK

    def __setstate__(self, state: dict[str, Any]) -> None:
        # Models pickled by an older version of this class lack the newer fields; give them the
        # defaults so a production model stored earlier still loads.
        for spec in fields(self):
            if spec.name not in state:
                factory = spec.default_factory
                state[spec.name] = factory() if factory is not MISSING else spec.default
        self.__dict__.update(state)

    def _values(self, horizon: int) -> np.ndarray:
        candidate = CANDIDATES.get(self.candidate)
        if isinstance(candidate, Candidate) and self.fitted is not None:
            return _finish(candidate.forecast(self.fitted, horizon, self.params), self.params)
        if horizon <= len(self.forecast_cache):
            return self.forecast_cache[:horizon]
        # An ad-hoc candidate that cannot extend a stored fit: refit it on the recent history.
        _, values, _ = _candidate(self.candidate)(self.history_tail, horizon, self.params)
        return values

    def predict(self, horizon: int = 24) -> pd.DataFrame:
        """Forecast of the `horizon` hours after the training data (timestamp, forecast)."""
        if horizon < 1:
            raise ValueError(f"horizon must be positive, got {horizon}")
        stamps = pd.date_range(self.train_end + pd.Timedelta(hours=1), periods=horizon, freq="h")
        return pd.DataFrame({"timestamp": stamps, "forecast": np.clip(self._values(horizon), 0, None)})

    def update(self, series: pd.DataFrame, horizon: int = 24) -> ForecastModel:
        """The same model (candidate and learned parameters) brought up to the end of `series`.

        A production model selected days ago still forecasts from today's data: its state is
        re-run on the newest window, without a new selection.
        """
        if pd.Timestamp(series["timestamp"].iloc[-1]) == self.train_end:
            return self
        updated = fit_model(series, self.candidate, self.params, self.train_window_hours, horizon, self.backtest)
        updated.trained_at, updated.tracking_model_uri = self.trained_at, self.tracking_model_uri
        updated.base_params = dict(self.base_params)
        return updated

    def to_bytes(self) -> bytes:
        return pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)

    @staticmethod
    def from_bytes(data: bytes) -> ForecastModel:
        model = pickle.loads(data)  # noqa: S301 - our own artifact, written by to_bytes
        if not isinstance(model, ForecastModel):
            raise TypeError(f"expected a ForecastModel, got {type(model).__name__}")
        return model

    def summary(self) -> dict[str, Any]:
        """Metadata only (no fitted state), safe for strict JSON: non-finite scores become None."""
        return {
            "candidate": self.candidate,
            "params": _jsonable(self.params),
            "seasonal_period": int(self.seasonal_period),
            "train_start": str(self.train_start),
            "train_end": str(self.train_end),
            "trained_at": self.trained_at.isoformat(),
            "train_window_hours": int(self.train_window_hours),
            "backtest_smape": _jsonable(self.backtest),
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if value is None or isinstance(value, str):
        return value
    return str(value)


def fit_model(
    series: pd.DataFrame,
    candidate: str,
    params: Optional[dict[str, Any]] = None,
    train_window_hours: int = WEEK * 6,
    horizon: int = 24,
    backtest: Optional[dict[str, float]] = None,
) -> ForecastModel:
    """Fit one candidate on the trailing `train_window_hours` that end at the series end."""
    _check_series(series)
    train = series.iloc[-train_window_hours:].reset_index(drop=True)
    fitted, forecast, learned = _candidate(candidate)(train, max(horizon, WEEK), params)
    return ForecastModel(
        candidate=candidate,
        params={**(params or {}), **learned},
        base_params=dict(params or {}),
        train_window_hours=train_window_hours,
        fitted=fitted,
        train_start=train["timestamp"].iloc[0],
        train_end=train["timestamp"].iloc[-1],
        forecast_cache=np.asarray(forecast, dtype=float),
        backtest=backtest or {},
        history_tail=train.iloc[-WEEK * 2 :].reset_index(drop=True),
        seasonal_period=_period(params or {}),
    )


def train_forecaster(
    series: pd.DataFrame,
    candidates: list[str],
    horizon: int = 24,
    folds: int = 3,
    train_window_hours: int = WEEK * 6,
    params: Optional[dict[str, Any]] = None,
) -> ForecastModel:
    """Backtest every candidate, then refit the best one on the window ending at the series end."""
    result = rolling_backtest(series, candidates, horizon, folds, train_window_hours, params)
    return fit_model(series, result.best(), params, train_window_hours, horizon, backtest=result.mean_smape())


def holdout_smape(model: ForecastModel, series: pd.DataFrame, horizon: int = 24, reestimate: bool = False) -> float:
    """Refit `model`'s candidate on the series without its last `horizon` hours; sMAPE on those hours.

    Used to compare a new model with the production model on exactly the same hours. By default
    the model's learned parameters are kept (the production model as it is); a model trained on
    data that includes the holdout is re-estimated without it (`reestimate=True`), so neither side
    has seen the hours it is scored on.
    """
    if len(series) <= horizon:
        raise ValueError(f"the series has {len(series)} hours; a {horizon}-hour holdout needs more")
    params = model.base_params if reestimate else model.params
    refit = fit_model(series.iloc[:-horizon], model.candidate, params, model.train_window_hours, horizon)
    actual = series["count"].iloc[-horizon:].to_numpy(float)
    return smape(actual, refit.predict(horizon)["forecast"].to_numpy(float))


def forecast_frame(model: ForecastModel, horizon: int = 24) -> pd.DataFrame:
    """The forecast with the candidate that made it and when (ISO UTC), one row per hour."""
    frame = model.predict(horizon)
    frame["model"] = model.candidate
    frame["generated_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return frame


def plot_forecast(history: pd.DataFrame, forecast: pd.DataFrame, title: str) -> bytes:
    """PNG: the last 7 days of actual counts and the forecast."""
    # The Agg canvas directly, not pyplot: no global backend switch or figure registry, so this is
    # safe in a step that runs next to other code (and threads) using matplotlib.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 3.5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    if len(history):
        stamps = pd.to_datetime(history["timestamp"], utc=True)
        recent = history[stamps > stamps.max() - pd.Timedelta(days=7)]
        ax.plot(recent["timestamp"], recent["count"], label="actual", color="#444444")
    if len(forecast):
        ax.plot(forecast["timestamp"], forecast["forecast"], label="forecast", color="#d62728", linewidth=2)
        ax.axvline(forecast["timestamp"].iloc[0], color="#999999", linestyle=":", linewidth=1)
    ax.set_title(title)
    ax.set_ylabel("messages per hour")
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()
