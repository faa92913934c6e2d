"""ZenML's own floor for bench/overhead.py: chat_forecast's DAG shape with step bodies that do nothing.

Fifteen steps wired as chat_forecast's are (the same fan-in and fan-out, the same steps uncached),
passing small DataFrames, so what a run of it costs is ZenML's fixed cost for that shape: start-up,
store, compilation and per-step bookkeeping. Run by bench/floor_run.py (stock or trimmed start-up).
"""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from zenml import pipeline, step


def frame() -> pd.DataFrame:
    return pd.DataFrame({"timestamp": pd.date_range("2026-01-01", periods=3, freq="h"), "count": [1, 2, 3]})


@step(enable_cache=False)
def ingest() -> tuple[Annotated[str, "raw"], Annotated[pd.DataFrame, "incoming"]]:
    return "{}", frame()


@step
def check(dataset: pd.DataFrame) -> Annotated[pd.DataFrame, "report"]:
    return frame()


@step(enable_cache=False)
def merge(incoming: pd.DataFrame) -> Annotated[pd.DataFrame, "history"]:
    return frame()


@step
def series(history: pd.DataFrame) -> tuple[Annotated[pd.DataFrame, "counts"], Annotated[int, "hours"]]:
    return frame(), 3


@step(enable_cache=False)
def score(counts: pd.DataFrame) -> Annotated[pd.DataFrame, "score"]:
    return frame()


@step
def split(counts: pd.DataFrame) -> tuple[Annotated[pd.DataFrame, "reference"], Annotated[pd.DataFrame, "current"]]:
    return frame(), frame()


@step
def drift(reference: pd.DataFrame, current: pd.DataFrame) -> tuple[
    Annotated[pd.DataFrame, "drift"], Annotated[str, "drift_report"]
]:
    return frame(), "<html></html>"


@step(enable_cache=False)
def fetch() -> Annotated[pd.DataFrame, "production"]:
    return frame()


@step(enable_cache=False)
def decide(score: pd.DataFrame, drift: pd.DataFrame, hours: int, production: pd.DataFrame) -> Annotated[
    pd.DataFrame, "decision"
]:
    return frame()


@step
def train(counts: pd.DataFrame, decision: pd.DataFrame, production: pd.DataFrame) -> Annotated[pd.DataFrame, "model"]:
    return frame()


@step
def evaluate(model: pd.DataFrame, counts: pd.DataFrame, decision: pd.DataFrame, production: pd.DataFrame) -> Annotated[
    pd.DataFrame, "evaluation"
]:
    return frame()


@step(enable_cache=False)
def promote(evaluation: pd.DataFrame) -> Annotated[pd.DataFrame, "promotion"]:
    return frame()


@step
def forecast(model: pd.DataFrame, promotion: pd.DataFrame, production: pd.DataFrame, counts: pd.DataFrame) -> Annotated[
    pd.DataFrame, "forecast"
]:
    return frame()


@pipeline
def floor() -> None:
    _, incoming = ingest()
    check(incoming, id="check_incoming")
    history = merge(incoming, after="check_incoming")
    check(history, id="check_history")
    counts, hours = series(history, after="check_history")
    check(counts, id="check_series")
    scored = score(counts, after="check_series")
    reference, current = split(counts, after="check_series")
    drifted, _ = drift(reference, current)
    production = fetch()
    decision = decide(scored, drifted, hours, production)
    model = train(counts, decision, production)
    evaluation = evaluate(model, counts, decision, production)
    promotion = promote(evaluation)
    forecast(model, promotion, production, counts)
