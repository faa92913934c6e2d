"""Forecasting core: sMAPE, hourly series, gaps, candidates, backtest, model round trip, plot."""

from __future__ import annotations

import json
import pickle
import time

import numpy as np
import pandas as pd
import pytest

from stackpipes.chat_forecast.backtest import rolling_backtest
from stackpipes.chat_forecast.candidates import CANDIDATES
from stackpipes.chat_forecast.metrics import smape
from stackpipes.chat_forecast.model import (
    ForecastModel,
    fit_model,
    forecast_frame,
    holdout_smape,
    train_forecaster,
)
from stackpipes.chat_forecast.plot import plot_forecast
from stackpipes.chat_forecast.series import WEEK, find_gaps, hourly_counts


def synthetic(weeks: int = 8, seed: int = 0) -> pd.DataFrame:
    """Hourly Poisson counts like a chat's: near-silent nights, afternoon and evening peaks, quiet weekends."""
    rng = np.random.default_rng(seed)
    hours = pd.date_range("2026-01-05", periods=weeks * WEEK, freq="h", tz="UTC")
    daily = 0.5 + 10 * np.exp(-((hours.hour - 13) ** 2) / 12) + 16 * np.exp(-((hours.hour - 21) ** 2) / 6)
    weekly = np.where(hours.dayofweek >= 5, 0.5, 1.0)
    return pd.DataFrame({"timestamp": hours, "count": rng.poisson(daily * weekly).astype("int64")})


@pytest.fixture(scope="module")
def series() -> pd.DataFrame:
    return synthetic()


def flat_mean(series: pd.DataFrame, horizon: int, params=None):
    return None, np.full(horizon, series["count"].mean()), {}


def broken(series: pd.DataFrame, horizon: int, params=None):
    raise RuntimeError("cannot fit")


def test_smape_known_values():
    assert smape([1, 2, 3], [1, 2, 4]) == pytest.approx(100 / 3 * (2 * 1 / 7))  # 9.5238
    assert smape([1, 2, 3], [1, 2, 4]) == pytest.approx(9.5238, abs=1e-4)
    assert smape([1, 2, 4], [1, 2, 3]) == smape([1, 2, 3], [1, 2, 4])  # symmetric
    assert smape([0, 0], [0, 0]) == 0.0
    assert smape([0, 2], [0, 2]) == 0.0
    assert smape([0], [5]) == pytest.approx(200.0)
    assert smape(np.array([0, 4]), pd.Series([0, 0])) == pytest.approx(100.0)


@pytest.mark.parametrize(
    ("actual", "predicted", "message"),
    [([1, 2], [1], "equal lengths"), ([], [], "empty"), ([1.0], [float("nan")], "NaN")],
)
def test_smape_rejects_bad_input(actual, predicted, message):
    with pytest.raises(ValueError, match=message):
        smape(actual, predicted)


def test_hourly_counts_zero_fill_every_hour():
    stamps = pd.Series(pd.to_datetime(["2026-01-01 10:05", "2026-01-01 10:50", "2026-01-04 12:00"], utc=True))
    counts = hourly_counts(stamps)
    assert list(counts.columns) == ["timestamp", "count"]
    assert str(counts["timestamp"].dtype) == "datetime64[ns, UTC]" and counts["count"].dtype == "int64"
    assert counts["timestamp"].diff().dropna().eq(pd.Timedelta(hours=1)).all()
    assert len(counts) == 3 * 24 + 3  # 10:00 on the 1st to 12:00 on the 4th
    assert counts["count"].iloc[0] == 2 and counts["count"].iloc[-1] == 1 and counts["count"].sum() == 3
    assert (counts["count"].iloc[1:-1] == 0).all()


def test_hourly_counts_bounds_and_time_zones():
    stamps = pd.Series(pd.to_datetime(["2026-01-01 10:05+02:00", "2026-01-01 12:30+02:00"]))  # 08:05, 10:30 UTC
    counts = hourly_counts(stamps, start="2026-01-01 06:40", end=pd.Timestamp("2026-01-01 13:00", tz="Europe/Berlin"))
    assert counts["timestamp"].iloc[0] == pd.Timestamp("2026-01-01 06:00", tz="UTC")
    assert counts["timestamp"].iloc[-1] == pd.Timestamp("2026-01-01 12:00", tz="UTC")
    assert dict(zip(counts["timestamp"].dt.hour, counts["count"], strict=True)) == {
        6: 0, 7: 0, 8: 1, 9: 0, 10: 1, 11: 0, 12: 0}
    clipped = hourly_counts(stamps, end="2026-01-01 09:00")
    assert clipped["count"].tolist() == [1, 0]  # a message after `end` is not counted


def test_hourly_counts_rejects_empty_input_and_reversed_bounds():
    with pytest.raises(ValueError, match="no timestamps"):
        hourly_counts(pd.Series([], dtype="datetime64[ns, UTC]"))
    with pytest.raises(ValueError, match="before start"):
        hourly_counts(pd.Series(pd.to_datetime(["2026-01-02"], utc=True)), start="2026-01-03")


def test_find_gaps_finds_a_planted_three_day_silence():
    rng = np.random.default_rng(1)
    busy = pd.date_range("2026-01-01", "2026-01-20", freq="20min", tz="UTC")
    busy = busy + pd.to_timedelta(rng.integers(0, 600, len(busy)), unit="s")
    silent = (busy > pd.Timestamp("2026-01-08", tz="UTC")) & (busy < pd.Timestamp("2026-01-11", tz="UTC"))
    stamps = pd.Series(busy[~silent]).sample(frac=1, random_state=0)  # order must not matter
    gaps = find_gaps(stamps, min_gap_hours=48)
    assert len(gaps) == 1
    start, end = gaps[0]
    assert start == busy[~silent][busy[~silent] < pd.Timestamp("2026-01-08", tz="UTC")].max()
    assert end == busy[~silent][busy[~silent] > pd.Timestamp("2026-01-11", tz="UTC")].min()
    assert pd.Timedelta(hours=71) < end - start < pd.Timedelta(hours=73)
    assert find_gaps(stamps, min_gap_hours=96) == []
    assert find_gaps(stamps.iloc[:1]) == []


@pytest.mark.parametrize("name", sorted(CANDIDATES))
def test_each_candidate_forecasts_24_hours_better_than_a_flat_mean(series, name):
    train, actual = series.iloc[:-24], series["count"].iloc[-24:].to_numpy(float)
    model = fit_model(train, name)
    forecast = model.predict(24)
    assert len(forecast) == 24 and (forecast["forecast"] >= 0).all()
    assert forecast["timestamp"].iloc[0] == train["timestamp"].iloc[-1] + pd.Timedelta(hours=1)
    assert forecast["timestamp"].diff().dropna().eq(pd.Timedelta(hours=1)).all()
    flat = np.full(24, train["count"].mean())
    assert smape(actual, forecast["forecast"]) < smape(actual, flat)


@pytest.mark.parametrize("name", sorted(CANDIDATES))
def test_the_seasonal_period_is_configurable(name):
    hours = pd.date_range("2026-01-05", periods=24 * 12, freq="h", tz="UTC")
    rng = np.random.default_rng(3)
    daily = rng.poisson(0.5 + 15 * np.exp(-((hours.hour - 18) ** 2) / 10))
    counts = pd.DataFrame({"timestamp": hours, "count": daily.astype("int64")})
    model = fit_model(counts.iloc[:-24], name, params={"seasonal_period": 24})
    assert model.seasonal_period == 24
    forecast = model.predict(24)["forecast"].to_numpy()
    actual = counts["count"].iloc[-24:].to_numpy(float)
    assert smape(actual, forecast) < smape(actual, np.full(24, counts["count"].iloc[:-24].mean()))


def test_backtest_prefers_seasonal_models_and_records_failures(series, monkeypatch):
    monkeypatch.setitem(CANDIDATES, "broken", broken)
    monkeypatch.setitem(CANDIDATES, "flat", flat_mean)
    result = rolling_backtest(series, ["flat", "seasonal_naive", "holt_winters", "broken"], folds=2)
    assert list(result.table.columns) == ["candidate", "fold", "smape", "mae", "fit_seconds", "error"]
    assert len(result.table) == 4 * 2
    scores = result.mean_smape()
    assert list(scores) == ["flat", "seasonal_naive", "holt_winters", "broken"]
    assert result.best() in {"seasonal_naive", "holt_winters"}
    assert max(scores["holt_winters"], scores["seasonal_naive"]) < 0.7 * scores["flat"]
    assert scores["broken"] == float("inf")
    assert "cannot fit" in result.errors["broken"]
    assert (result.table.loc[result.table.candidate == "broken", "error"] == "RuntimeError: cannot fit").all()
    assert (result.table.loc[result.table.candidate != "broken", "error"] == "").all()


def test_backtest_folds_score_the_hours_before_the_end(series):
    result = rolling_backtest(series, ["seasonal_naive"], horizon=24, folds=3)
    counts = series["count"].to_numpy(float)
    for fold in (1, 2, 3):
        cut = len(counts) - 24 * fold
        expected = smape(counts[cut : cut + 24], counts[cut - WEEK : cut - WEEK + 24])
        row = result.table[result.table.fold == fold].iloc[0]
        assert row["smape"] == pytest.approx(expected)


def test_backtest_errors(series, monkeypatch):
    monkeypatch.setitem(CANDIDATES, "broken", broken)
    with pytest.raises(RuntimeError, match="every forecasting candidate failed: broken: RuntimeError: cannot fit"):
        rolling_backtest(series, ["broken"], folds=1)
    with pytest.raises(ValueError, match="unknown forecasting candidate 'prophet'"):
        rolling_backtest(series, ["seasonal_naive", "prophet"], folds=1)
    with pytest.raises(ValueError, match="backtest needs at least"):
        rolling_backtest(series.iloc[:100], ["seasonal_naive"])


def test_train_forecaster_refits_the_best_on_the_latest_window(series, monkeypatch):
    monkeypatch.setitem(CANDIDATES, "broken", broken)
    model = train_forecaster(series, ["seasonal_naive", "holt_winters", "broken"], folds=2)
    assert model.candidate == min(model.backtest, key=model.backtest.get)
    assert model.candidate != "broken" and model.backtest["broken"] == float("inf")
    assert model.train_end == series["timestamp"].iloc[-1]
    assert model.train_start == series["timestamp"].iloc[-WEEK * 6]
    assert len(model.history_tail) == 2 * WEEK
    assert model.trained_at.tzinfo is not None
    summary = model.summary()
    json.dumps(summary, allow_nan=False)  # strict JSON: the failed candidate's inf is None
    assert summary["backtest_smape"]["broken"] is None and summary["seasonal_period"] == WEEK


@pytest.mark.parametrize("name", sorted(CANDIDATES))
def test_model_round_trips_through_bytes_with_identical_forecasts(series, name):
    model = fit_model(series, name)
    restored = ForecastModel.from_bytes(model.to_bytes())
    assert restored.candidate == name and restored.train_end == model.train_end
    pd.testing.assert_frame_equal(model.predict(24), restored.predict(24))
    # Beyond the horizon computed at fit time the stored fitted object forecasts, not a refit.
    pd.testing.assert_frame_equal(model.predict(400), restored.predict(400))
    assert np.array_equal(restored.predict(24)["forecast"], model.forecast_cache[:24])


def test_from_bytes_rejects_other_objects_and_loads_older_models(series):
    with pytest.raises(TypeError, match="expected a ForecastModel"):
        ForecastModel.from_bytes(pickle.dumps({"not": "a model"}))
    model = fit_model(series, "seasonal_naive")
    for newer in ("seasonal_period", "base_params", "tracking_model_uri"):
        del model.__dict__[newer]  # as pickled before these fields existed
    old = ForecastModel.from_bytes(pickle.dumps(model))
    assert old.seasonal_period == WEEK and old.base_params == {} and old.tracking_model_uri is None
    assert len(old.predict(24)) == 24


def test_an_ad_hoc_candidate_model_forecasts_from_its_cache(series, monkeypatch):
    monkeypatch.setitem(CANDIDATES, "flat", flat_mean)
    model = fit_model(series, "flat")
    restored = ForecastModel.from_bytes(model.to_bytes())
    assert restored.predict(24)["forecast"].nunique() == 1
    assert len(restored.predict(WEEK + 10)) == WEEK + 10  # past the cache: refit on the tail


def test_update_moves_the_same_model_to_new_data(series):
    model = train_forecaster(series.iloc[:-48], ["seasonal_naive", "holt_winters"], folds=2)
    assert "smoothing_level" in model.params or model.candidate == "seasonal_naive"
    updated = model.update(series)
    assert updated.train_end == series["timestamp"].iloc[-1]
    assert updated.candidate == model.candidate and updated.trained_at == model.trained_at
    assert updated.base_params == model.base_params
    assert updated.predict(24)["timestamp"].iloc[0] == series["timestamp"].iloc[-1] + pd.Timedelta(hours=1)
    assert model.update(series.iloc[:-48]) is model  # already current: nothing to redo


def test_holdout_smape_scores_the_last_hours_without_seeing_them(series, monkeypatch):
    model = fit_model(series, "holt_winters")
    fair = holdout_smape(model, series, 24, reestimate=True)
    manual = fit_model(series.iloc[:-24], "holt_winters")
    assert fair == pytest.approx(smape(series["count"].iloc[-24:], manual.predict(24)["forecast"]))
    # The promotion comparison: a flat forecaster loses to a seasonal one on the same hours.
    monkeypatch.setitem(CANDIDATES, "flat", flat_mean)
    assert holdout_smape(fit_model(series, "flat"), series, 24) > fair


def test_forecast_frame_carries_model_and_time(series):
    frame = forecast_frame(fit_model(series, "seasonal_naive"), 12)
    assert list(frame.columns) == ["timestamp", "forecast", "model", "generated_at"]
    assert len(frame) == 12 and (frame["model"] == "seasonal_naive").all()
    assert pd.Timestamp(frame["generated_at"].iloc[0]).tzinfo is not None


def test_plot_is_a_png(series):
    model = fit_model(series, "seasonal_naive")
    png = plot_forecast(series, model.predict(24), "test")
    assert png.startswith(b"\x89PNG") and len(png) > 1000
    assert plot_forecast(series.iloc[:0], model.predict(24), "no history").startswith(b"\x89PNG")


def test_fitting_every_candidate_on_ten_weeks_is_fast():
    ten_weeks = synthetic(weeks=10, seed=2)
    fit_model(ten_weeks.iloc[:-24], "holt_winters")  # pay statsmodels' import outside the clock
    seconds = {}
    for name in CANDIDATES:
        start = time.perf_counter()
        fit_model(ten_weeks, name, train_window_hours=10 * WEEK)
        seconds[name] = time.perf_counter() - start
    print("fit seconds on 10 weeks:", {k: round(v, 2) for k, v in seconds.items()})
    assert sum(seconds.values()) < 15
