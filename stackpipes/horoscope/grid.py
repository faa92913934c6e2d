"""The sampling grid: top_p x temperature strategies, their table and chart, the best one, and the
generation config it becomes.

Pure functions over `LanguageModel` and pandas; no ZenML here, so they are tested directly.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from stackpipes.core import tracking

if TYPE_CHECKING:
    from transformers import GenerationConfig

    from stackpipes.lm.bundle import LanguageModel

class GridConfig(BaseModel):
    """The evaluation grid: which sampling strategies, how many texts, how the best is chosen."""

    model_config = ConfigDict(extra="forbid")

    # at most 10 x 10 strategies, each prompting every sign n_per_prompt times
    top_p: list[float] = Field(default_factory=lambda: [0.8, 0.95], max_length=10)
    temperature: list[float] = Field(default_factory=lambda: [0.7, 1.0], max_length=10)
    signs: list[str] | None = Field(None, max_length=12, description="signs to prompt; None = all twelve")
    date: str | None = Field(None, description="prompt date (YYYY-MM-DD); None = the corpus's last day")
    n_per_prompt: int = Field(2, ge=1, le=50)
    max_new_tokens: int = Field(64, ge=1, le=2048)
    seed: int = 0
    # The best strategy maximises the weighted sum of the metrics (each a share in [0, 1]).
    weights: dict[str, float] = Field(
        default_factory=lambda: {"acceptability": 1.0, "diversity": 1.0, "sentiment_non_negative_share": 1.0}
    )
    min_acceptability: float = Field(0.0, ge=0, le=1, description="strategies below this are never chosen")

    @model_validator(mode="after")
    def _check(self) -> GridConfig:
        if not self.top_p or not self.temperature:
            raise ValueError("grid: top_p and temperature need at least one value each")
        for value in self.top_p:
            if not 0 < value <= 1:
                raise ValueError(f"grid: top_p {value} must be in (0, 1]")
        for value in self.temperature:
            if value < 0:
                raise ValueError(f"grid: temperature {value} must be >= 0")
        unknown = set(self.weights) - {"acceptability", "diversity", "sentiment_non_negative_share"}
        if unknown:
            raise ValueError(f"grid: unknown metric weights {sorted(unknown)}")
        return self


def acceptability_column(table: pd.DataFrame) -> str:
    """The acceptability metric's column, named after how it was judged."""
    names = [c for c in table.columns if c.endswith("_acceptability")]
    if len(names) != 1:
        raise ValueError(f"grid table: expected one *_acceptability column, got {names}")
    return names[0]


def grid_table(rows: Sequence[Mapping[str, Any]], weights: Mapping[str, float]) -> pd.DataFrame:
    """One row per strategy with its metrics and weighted score (the generated texts left out)."""
    if not rows:
        raise ValueError("grid: no strategy was evaluated")
    table = pd.DataFrame([{k: v for k, v in row.items() if k != "texts"} for row in rows])
    accept = acceptability_column(table)
    columns = {"acceptability": accept, "diversity": "diversity",
               "sentiment_non_negative_share": "sentiment_non_negative_share"}
    table["score"] = sum(weight * table[columns[name]] for name, weight in weights.items())
    return table


def choose_strategy(table: pd.DataFrame, min_acceptability: float = 0.0) -> dict[str, Any]:
    """The best row by score among those acceptable enough; ties go to the earlier grid point."""
    accept = acceptability_column(table)
    eligible = table[table[accept] >= min_acceptability]
    if eligible.empty:
        raise ValueError(
            f"grid: no strategy reaches {accept} >= {min_acceptability} "
            f"(best {table[accept].max():.3f}); lower grid.min_acceptability or train longer"
        )
    best = eligible.loc[eligible["score"].idxmax()]
    return {key: (value.item() if hasattr(value, "item") else value) for key, value in best.items()}


def generation_config_for(best: Mapping[str, Any], lm: LanguageModel, max_new_tokens: int) -> GenerationConfig:
    """The chosen strategy as the model's default generation config (what `generate` uses)."""
    from transformers import GenerationConfig

    from stackpipes.lm.generation import sampling_kwargs

    kwargs = sampling_kwargs(lm.tokenizer, float(best["top_p"]), float(best["temperature"]))
    return GenerationConfig(max_new_tokens=max_new_tokens, **{k: v for k, v in kwargs.items() if v is not None})


def grid_chart_png(table: pd.DataFrame) -> bytes:
    """A bar chart of each metric per strategy (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    accept = acceptability_column(table)
    metrics = [accept, "diversity", "sentiment_non_negative_share", "score"]
    labels = [f"p={r.top_p:g}\nT={r.temperature:g}" for r in table.itertuples()]
    figure, axes = plt.subplots(1, len(metrics), figsize=(3.2 * len(metrics), 3.2))
    for axis, metric in zip(axes, metrics, strict=True):
        axis.bar(range(len(table)), table[metric], color="#4c72b0")
        axis.set_title(metric.replace("_", " "), fontsize=9)
        axis.set_xticks(range(len(table)), labels, fontsize=7)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    plt.close(figure)
    return buffer.getvalue()


def grid_html(table: pd.DataFrame, png: bytes, best: Mapping[str, Any], samples: Mapping[str, Sequence[str]]) -> str:
    """The comparison table, chart and a few samples per strategy, for the dashboard."""
    image = base64.b64encode(png).decode()
    sample_items = "".join(
        f"<h4>{html.escape(name)}</h4><ul>" + "".join(f"<li>{html.escape(t)}</li>" for t in texts[:3]) + "</ul>"
        for name, texts in samples.items()
    )
    return (
        "<html><body style='font-family:sans-serif'>"
        f"<h3>Sampling grid: best top_p={best['top_p']:g}, temperature={best['temperature']:g} "
        f"(score {best['score']:.3f})</h3>"
        f"{table.to_html(index=False, float_format=lambda v: f'{v:.3f}')}"
        f"<img src='data:image/png;base64,{image}'/>{sample_items}</body></html>"
    )


def strategy_name(top_p: float, temperature: float) -> str:
    return f"top_p={top_p:g},temperature={temperature:g}"


def prompt_date(corpus: pd.DataFrame, configured: str | None) -> str:
    """The configured day, else the day after the corpus's last one (tomorrow's horoscope)."""
    if configured:
        return configured
    return (date.fromisoformat(str(corpus["date"].max())) + timedelta(days=1)).isoformat()


def log_grid_to_mlflow(rows: list[dict[str, Any]], table: pd.DataFrame, png: bytes) -> None:
    """Each strategy as a nested MLflow run (params, metrics, samples); table and chart on the parent."""
    if tracking.active_run() is None:
        return
    import mlflow

    for row, metrics in zip(rows, table.to_dict("records"), strict=True):
        with mlflow.start_run(run_name=strategy_name(row["top_p"], row["temperature"]), nested=True):
            mlflow.log_params({"top_p": row["top_p"], "temperature": row["temperature"], "n_texts": row["n_texts"]})
            mlflow.log_metrics({k: float(v) for k, v in metrics.items()
                                if k not in ("top_p", "temperature", "n_texts")})
            mlflow.log_text("\n\n".join(row["texts"]), "samples.txt")
    tracking.log_bytes(table.to_csv(index=False).encode(), "sampling_grid/table.csv")
    tracking.log_bytes(png, "sampling_grid/chart.png")
