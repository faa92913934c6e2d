"""Forecasting core: sMAPE, hourly series, candidates, backtest, model round trip."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stackpipes import forecasting as F


def synthetic(weeks: int = 7, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    hours = pd.date_range("2026-01-05", periods=weeks * F.WEEK, freq="h", tz="UTC")
    daily = 3 + 6 * np.exp(-((hours.hour - 13) ** 2) / 18) + 7 * np.exp(-((hours.hour - 21) ** 2) / 8)
    weekly = np.where(hours.dayofweek >= 5, 0.6, 1.0)
    return pd.DataFrame({"timestamp": hours, "count": rng.poisson(daily * weekly).astype("int64")})


def test_smape_known_values():
    assert F.smape([1, 2, 3], [1, 2, 4]) == pytest.approx(100 / 3 * (2 * 1 / 7))
    assert F.smape([0, 0], [0, 0]) == 0.0
    assert F.smape([0], [5]) == pytest.approx(200.0)
    with pytest.raises(ValueError, match="equal lengths"):
        F.smape([1, 2], [1])
    with pytest.raises(ValueError, match="empty"):
        F.smape([], [])
    with pytest.raises(ValueError, match="NaN"):
        F.smape([1.0], [float("nan")])


def test_hourly_counts_fill_every_hour_and_gaps_are_found():
    stamps = pd.Series(pd.to_datetime(["2026-01-01 10:05", "2026-01-01 10:50", "2026-01-04 12:00"], utc=True))
    counts = F.hourly_counts(stamps)
    assert counts["timestamp"].diff().dropna().eq(pd.Timedelta(hours=1)).all()
    assert len(counts) == 3 * 24 + 3
    assert counts["count"].sum() == 3 and counts["count"].iloc[0] == 2
    gaps = F.find_gaps(stamps, min_gap_hours=48)
    assert len(gaps) == 1 and gaps[0][1] == stamps.iloc[2]
    with pytest.raises(ValueError):
        F.hourly_counts(pd.Series([], dtype="datetime64[ns, UTC]"))


@pytest.mark.parametrize("name", sorted(F.CANDIDATES))
def test_each_candidate_beats_a_flat_forecast(name):
    series = synthetic()
    train, actual = series.iloc[:-24], series["count"].iloc[-24:].to_numpy(float)
    model = F.fit_model(train, name)
    forecast = model.predict(24)
    assert len(forecast) == 24 and (forecast["forecast"] >= 0).all()
    assert forecast["timestamp"].iloc[0] == train["timestamp"].iloc[-1] + pd.Timedelta(hours=1)
    flat = np.full(24, train["count"].mean())
    assert F.smape(actual, forecast["forecast"]) < F.smape(actual, flat)


def test_backtest_prefers_seasonal_models_and_records_failures(monkeypatch):
    def broken(series, horizon, params=None):
        raise RuntimeError("cannot fit")

    def flat(series, horizon, params=None):
        return None, np.full(horizon, series["count"].mean()), {}

    monkeypatch.setitem(F.CANDIDATES, "broken", broken)
    monkeypatch.setitem(F.CANDIDATES, "flat", flat)
    result = F.rolling_backtest(synthetic(), ["flat", "holt_winters", "broken"], folds=2)
    assert result.best() == "holt_winters"
    assert result.mean_smape()["broken"] == float("inf")
    assert "cannot fit" in result.table.loc[result.table.candidate == "broken", "error"].iloc[0]
    with pytest.raises(RuntimeError, match="every forecasting candidate failed"):
        F.rolling_backtest(synthetic(), ["broken"], folds=1)
    with pytest.raises(ValueError, match="unknown forecasting candidate"):
        F.rolling_backtest(synthetic(), ["prophet"], folds=1)


def test_model_round_trips_and_updates_to_new_data():
    series = synthetic()
    model = F.train_forecaster(series.iloc[:-48], ["seasonal_naive", "holt_winters"], folds=2)
    restored = F.ForecastModel.from_bytes(model.to_bytes())
    pd.testing.assert_frame_equal(model.predict(24), restored.predict(24))
    assert "smoothing_level" in model.params or model.candidate == "seasonal_naive"
    updated = restored.update(series)
    assert updated.train_end == series["timestamp"].iloc[-1]
    assert updated.candidate == model.candidate and updated.trained_at == model.trained_at
    assert updated.predict(24)["timestamp"].iloc[0] == series["timestamp"].iloc[-1] + pd.Timedelta(hours=1)
    assert restored.update(series.iloc[:-48]) is restored  # already current: nothing to redo


def test_holdout_smape_scores_the_last_hours_without_seeing_them():
    series = synthetic()
    model = F.fit_model(series, "holt_winters")
    fair = F.holdout_smape(model, series, 24, reestimate=True)
    manual = F.fit_model(series.iloc[:-24], "holt_winters")
    assert fair == pytest.approx(F.smape(series["count"].iloc[-24:], manual.predict(24)["forecast"]))


def test_plot_is_a_png():
    series = synthetic(weeks=3)
    model = F.fit_model(series, "seasonal_naive")
    assert F.plot_forecast(series, model.predict(24), "test").startswith(b"\x89PNG")
