"""The fitted forecaster: pick the best candidate, fit it, bring it up to date, score it on a holdout.

Stored as a pickle by its materializer; a model pickled by an older version of the class still
loads (missing fields get their defaults).
"""

from __future__ import annotations

import math
import pickle
from dataclasses import MISSING, dataclass, field, fields
from datetime import datetime, timezone
from typing import Any, Optional

import numpy as np
import pandas as pd

from stackpipes.chat_forecast.backtest import rolling_backtest
from stackpipes.chat_forecast.candidates import (
    CANDIDATES,
    Candidate,
    finish_counts,
    fitter,
    seasonal_period,
)
from stackpipes.chat_forecast.metrics import smape
from stackpipes.chat_forecast.series import WEEK, check_series


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
            return finish_counts(candidate.forecast(self.fitted, horizon, self.params), self.params)
        if horizon <= len(self.forecast_cache):
            return self.forecast_cache[:horizon]
        # An ad-hoc candidate that cannot extend a stored fit: refit it on the recent history.
        _, values, _ = fitter(self.candidate)(self.history_tail, horizon, self.params)
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
    check_series(series)
    train = series.iloc[-train_window_hours:].reset_index(drop=True)
    fitted, forecast, learned = fitter(candidate)(train, max(horizon, WEEK), params)
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
        seasonal_period=seasonal_period(params or {}),
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
