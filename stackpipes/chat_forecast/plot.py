"""The forecast picture: the last week of actual counts and the forecast after it (PNG)."""

from __future__ import annotations

import io

import pandas as pd


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
