"""Hourly count forecasting: sMAPE, the hourly series, seasonal candidates, rolling backtest, model.

statsmodels is imported inside the functions that fit, so importing this module stays cheap.
"""

from __future__ import annotations

import pickle
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Optional

import numpy as np
import pandas as pd

WEEK = 24 * 7


def smape(actual: Any, predicted: Any) -> float:
    """Symmetric MAPE in percent; an hour where both are zero counts as a perfect 0."""
    a = np.asarray(actual, dtype=float)
    f = np.asarray(predicted, dtype=float)
    if a.shape != f.shape:
        raise ValueError(f"sMAPE needs equal lengths, got {a.shape} and {f.shape}")
    if a.size == 0:
        raise ValueError("sMAPE of an empty series is undefined")
    if np.isnan(a).any() or np.isnan(f).any():
        raise ValueError("sMAPE input contains NaN")
    denominator = np.abs(a) + np.abs(f)
    terms = np.divide(2 * np.abs(f - a), denominator, out=np.zeros_like(a), where=denominator > 0)
    return float(100 * terms.mean())


def hourly_counts(timestamps: pd.Series, start: Any = None, end: Any = None) -> pd.DataFrame:
    """Messages per hour, every hour from start to end (default: first to last message), zero-filled."""
    stamps = pd.to_datetime(pd.Series(timestamps), utc=True).dropna()
    if stamps.empty:
        raise ValueError("no timestamps to count")
    first = pd.Timestamp(start if start is not None else stamps.min()).floor("h")
    last = pd.Timestamp(end if end is not None else stamps.max()).floor("h")
    hours = pd.date_range(first, last, freq="h", tz="UTC") if first.tzinfo is None else pd.date_range(first, last, freq="h")
    counts = stamps.dt.floor("h").value_counts().reindex(hours, fill_value=0)
    return pd.DataFrame({"timestamp": hours, "count": counts.to_numpy().astype("int64")})


def find_gaps(timestamps: pd.Series, min_gap_hours: int = 48) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """Spans of at least `min_gap_hours` with no message at all."""
    stamps = pd.to_datetime(pd.Series(timestamps), utc=True).dropna().sort_values().reset_index(drop=True)
    if len(stamps) < 2:
        return []
    deltas = stamps.diff()
    mask = deltas >= pd.Timedelta(hours=min_gap_hours)
    return [(stamps[i - 1], stamps[i]) for i in np.flatnonzero(mask.to_numpy())]


# Candidates: each takes the training series (timestamp, count), a horizon and params, and
# returns (fitted object, forecast array, learned params). Learned params passed back in make the
# candidate re-apply the same model to newer data instead of estimating it again.
Candidate = Callable[[pd.DataFrame, int, Optional[dict[str, Any]]], tuple[Any, np.ndarray, dict[str, Any]]]


def _seasonal_naive(series: pd.DataFrame, horizon: int, params: Optional[dict[str, Any]] = None):
    period = int((params or {}).get("seasonal_period", WEEK))
    values = series["count"].to_numpy(float)
    if len(values) < period:
        raise ValueError(f"seasonal_naive needs {period} hours, got {len(values)}")
    last_season = values[-period:]
    return last_season, np.resize(last_season, horizon), {}


def _holt_winters(series: pd.DataFrame, horizon: int, params: Optional[dict[str, Any]] = None):
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    params = params or {}
    period = int(params.get("seasonal_period", WEEK))
    # sqrt stabilises Poisson-like variance, so the additive seasonal fits busy and quiet hours alike
    y = np.sqrt(series["count"].to_numpy(float))
    model = ExponentialSmoothing(y, trend=None, seasonal="add", seasonal_periods=period, initialization_method="heuristic")
    if "smoothing_level" in params and "smoothing_seasonal" in params:
        fitted = model.fit(smoothing_level=params["smoothing_level"], smoothing_seasonal=params["smoothing_seasonal"],
                           optimized=False)
    else:
        fitted = model.fit(optimized=True)
    learned = {k: float(fitted.params[k]) for k in ("smoothing_level", "smoothing_seasonal")}
    return fitted, np.square(np.clip(fitted.forecast(horizon), 0, None)), learned


def _stl_arima(series: pd.DataFrame, horizon: int, params: Optional[dict[str, Any]] = None):
    from statsmodels.tsa.arima.model import ARIMA
    from statsmodels.tsa.forecasting.stl import STLForecast

    params = params or {}
    period = int(params.get("seasonal_period", WEEK))
    order = tuple(params.get("arima_order", (2, 0, 0)))
    y = np.sqrt(series["count"].to_numpy(float))
    fitted = STLForecast(y, ARIMA, model_kwargs={"order": order, "trend": "c"}, period=period, robust=False).fit()
    return fitted, np.square(np.clip(np.asarray(fitted.forecast(horizon)), 0, None)), {}


CANDIDATES: dict[str, Candidate] = {
    "seasonal_naive": _seasonal_naive,
    "holt_winters": _holt_winters,
    "stl_arima": _stl_arima,
}


def _candidate(name: str) -> Candidate:
    if name not in CANDIDATES:
        raise ValueError(f"unknown forecasting candidate '{name}'; known: {', '.join(sorted(CANDIDATES))}")
    fit = CANDIDATES[name]

    def fit_counts(series: pd.DataFrame, horizon: int, params: Optional[dict[str, Any]] = None):
        fitted, forecast, learned = fit(series, horizon, params)
        # Counts are whole messages: a forecast of 0.3 messages at 4 am is a forecast of none, and
        # scoring it as such matters for sMAPE, where near-zero hours dominate.
        if (params or {}).get("round_counts", True):
            forecast = np.round(np.clip(forecast, 0, None))
        return fitted, forecast, learned

    return fit_counts


@dataclass
class BacktestResult:
    """Per candidate and fold: sMAPE, MAE, fit time (and the error when a fit failed)."""

    table: pd.DataFrame

    def mean_smape(self) -> dict[str, float]:
        return {name: float(v) for name, v in self.table.groupby("candidate")["smape"].mean().items()}

    def best(self) -> str:
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
    """Fit each candidate on a trailing window before each of the last `folds` horizons and score it."""
    if len(series) < horizon * folds + WEEK:
        raise ValueError(
            f"backtest needs at least {horizon * folds + WEEK} hours, the series has {len(series)}"
        )
    rows, errors = [], {}
    for name in candidates:
        fit = _candidate(name)
        for fold in range(folds, 0, -1):
            cut = len(series) - fold * horizon
            train = series.iloc[max(0, cut - train_window_hours) : cut]
            actual = series["count"].iloc[cut : cut + horizon].to_numpy(float)
            start = time.perf_counter()
            try:
                _, predicted, _ = fit(train, horizon, params)
                rows.append({"candidate": name, "fold": fold, "smape": smape(actual, predicted),
                             "mae": float(np.abs(actual - predicted).mean()),
                             "fit_seconds": time.perf_counter() - start, "error": ""})
            except Exception as exc:  # a candidate that cannot fit loses; it does not stop the others
                errors[name] = f"{type(exc).__name__}: {exc}"
                rows.append({"candidate": name, "fold": fold, "smape": float("inf"), "mae": float("inf"),
                             "fit_seconds": time.perf_counter() - start, "error": errors[name]})
    table = pd.DataFrame(rows)
    if np.isinf(table["smape"]).all():
        raise RuntimeError("every forecasting candidate failed: " + "; ".join(f"{k}: {v}" for k, v in errors.items()))
    return BacktestResult(table)


@dataclass
class ForecastModel:
    """A fitted forecaster with what is needed to forecast from the end of its training data."""

    candidate: str
    params: dict[str, Any]
    fitted: Any
    train_start: pd.Timestamp
    train_end: pd.Timestamp
    forecast_cache: np.ndarray
    backtest: dict[str, float] = field(default_factory=dict)
    trained_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    history_tail: pd.DataFrame = field(default_factory=pd.DataFrame)
    train_window_hours: int = WEEK * 6
    base_params: dict[str, Any] = field(default_factory=dict)
    tracking_model_uri: Optional[str] = None

    def predict(self, horizon: int = 24) -> pd.DataFrame:
        """Forecast the `horizon` hours after the training data."""
        if horizon > len(self.forecast_cache):
            _, values, _ = _candidate(self.candidate)(self.history_tail, horizon, self.params)
        else:
            values = self.forecast_cache[:horizon]
        stamps = pd.date_range(self.train_end + pd.Timedelta(hours=1), periods=horizon, freq="h")
        return pd.DataFrame({"timestamp": stamps, "forecast": np.clip(values, 0, None)})

    def update(self, series: pd.DataFrame, horizon: int = 24) -> ForecastModel:
        """The same model (candidate and learned parameters) brought up to the end of `series`.

        A production model selected days ago still forecasts from today's data: its state is
        re-run on the newest window, without a new selection.
        """
        if pd.Timestamp(series["timestamp"].iloc[-1]) == self.train_end:
            return self
        updated = fit_model(series, self.candidate, self.params, self.train_window_hours, horizon, self.backtest)
        updated.trained_at, updated.tracking_model_uri = self.trained_at, self.tracking_model_uri
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
        return {
            "candidate": self.candidate,
            "params": self.params,
            "train_start": str(self.train_start),
            "train_end": str(self.train_end),
            "trained_at": self.trained_at.isoformat(),
            "train_window_hours": self.train_window_hours,
            "backtest_smape": self.backtest,
        }


def fit_model(
    series: pd.DataFrame,
    candidate: str,
    params: Optional[dict[str, Any]] = None,
    train_window_hours: int = WEEK * 6,
    horizon: int = 24,
    backtest: Optional[dict[str, float]] = None,
) -> ForecastModel:
    """Fit one candidate on the trailing window that ends at the series end."""
    train = series.iloc[-train_window_hours:].reset_index(drop=True)
    fitted, forecast, learned = _candidate(candidate)(train, max(horizon, 24 * 7), params)
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
    )


def train_forecaster(
    series: pd.DataFrame,
    candidates: list[str],
    horizon: int = 24,
    folds: int = 3,
    train_window_hours: int = WEEK * 6,
    params: Optional[dict[str, Any]] = None,
) -> ForecastModel:
    """Backtest every candidate, then refit the best one on the latest window."""
    result = rolling_backtest(series, candidates, horizon, folds, train_window_hours, params)
    return fit_model(series, result.best(), params, train_window_hours, horizon, backtest=result.mean_smape())


def holdout_smape(model: ForecastModel, series: pd.DataFrame, horizon: int = 24, reestimate: bool = False) -> float:
    """Apply `model` to the series without its last `horizon` hours and score on those hours.

    Used to compare a new model with the production model on exactly the same data. A model
    trained on data that includes the holdout is re-estimated without it (`reestimate=True`), so
    neither side has seen the hours it is scored on.
    """
    params = model.base_params if reestimate else model.params
    refit = fit_model(series.iloc[:-horizon], model.candidate, params, model.train_window_hours, horizon)
    actual = series["count"].iloc[-horizon:].to_numpy(float)
    return smape(actual, refit.predict(horizon)["forecast"].to_numpy(float))


def forecast_frame(model: ForecastModel, horizon: int = 24) -> pd.DataFrame:
    frame = model.predict(horizon)
    frame["model"] = model.candidate
    frame["generated_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return frame


def plot_forecast(history: pd.DataFrame, forecast: pd.DataFrame, title: str) -> bytes:
    """PNG: the last week of actual counts and the forecast after it."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    recent = history.iloc[-WEEK:] if len(history) else history
    fig, ax = plt.subplots(figsize=(10, 3.5), dpi=100)
    if len(recent):
        ax.plot(recent["timestamp"], recent["count"], label="actual", color="#444")
    ax.plot(forecast["timestamp"], forecast["forecast"], label="forecast", color="#d62728", linewidth=2)
    ax.set_title(title)
    ax.set_ylabel("messages per hour")
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()
