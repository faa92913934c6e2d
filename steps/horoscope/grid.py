"""The sampling-grid evaluation: every top_p x temperature strategy scored, the best one chosen."""

from __future__ import annotations

from typing import Annotated, Any, Optional

import pandas as pd
from zenml import log_metadata, step
from zenml.logger import get_logger
from zenml.types import HTMLString

import materializers.horoscope  # noqa: F401  (registers its materializers)
from stackpipes.core import tracking
from stackpipes.core.types import RetrainDecision
from stackpipes.horoscope.grid import GridConfig
from stackpipes.lm.bundle import LanguageModel
from stackpipes.lm.config import TextMetricsConfig, default_gguf_cache
from stackpipes.platform.flavors.lazy_components import MLFLOW_RUN_ON_FIRST_LOG

logger = get_logger(__name__)


@step(experiment_tracker=True, extra=MLFLOW_RUN_ON_FIRST_LOG)
def evaluate_sampling_grid(
    lm: Optional[LanguageModel],
    corpus: pd.DataFrame,
    decision: RetrainDecision,
    grid: Optional[GridConfig] = None,
    metrics: Optional[TextMetricsConfig] = None,
    judge_model: Optional[str] = None,
) -> tuple[
    Annotated[pd.DataFrame, "sampling_grid"],
    Annotated[dict[str, Any], "best_sampling"],
    Annotated[HTMLString, "sampling_grid_report"],
]:
    """Generate N texts per sign for every (top_p, temperature) and score acceptability,
    diversity and sentiment; the best strategy by the configured weights is returned.

    Acceptability is named after its judge: `lm_loss_acceptability` (share of generated sentences
    whose mean per-token loss under the judge LM is at most the threshold calibrated on the corpus;
    the judge is `judge_model`, else the evaluated model itself) or a classifier's by config.
    """
    from stackpipes.horoscope.grid import (
        choose_strategy,
        grid_chart_png,
        grid_html,
        grid_table,
        log_grid_to_mlflow,
        prompt_date,
        strategy_name,
    )
    from stackpipes.horoscope.prompts import format_prompt
    from stackpipes.horoscope.schema import SIGNS
    from stackpipes.lm.metrics import TextScorer, calibrate_acceptability_threshold
    from stackpipes.lm.metrics import evaluate_sampling_grid as run_grid

    config = grid or GridConfig()
    if not decision.retrain:
        current = lm.metadata.get("generation", {}) if lm is not None else {}
        note = "No new model in this run: the production model keeps its generation config."
        return pd.DataFrame(), dict(current), HTMLString(f"<html><body><p>{note}</p></body></html>")
    metrics_config = metrics or TextMetricsConfig()
    threshold = None
    judge = None
    if not metrics_config.acceptability_classifier:
        if judge_model:
            from stackpipes.lm.loading import load_model

            judge = load_model(judge_model, task="causal", gguf_cache=default_gguf_cache(None))
        else:
            judge = (lm.model, lm.tokenizer)
        threshold = calibrate_acceptability_threshold(
            judge[0], judge[1], corpus["text"].tolist(), metrics_config.threshold_quantile, max_sentences=256
        )
    scorer = TextScorer.from_config(metrics_config, judge, threshold)
    day = prompt_date(corpus, config.date)
    prompts = [format_prompt(sign, day) for sign in (config.signs or list(SIGNS))]
    rows = run_grid(lm.model, lm.tokenizer, prompts, config.top_p, config.temperature, scorer,
                    config.n_per_prompt, config.max_new_tokens, config.seed)
    table = grid_table(rows, config.weights)
    best = choose_strategy(table, config.min_acceptability)
    best["max_new_tokens"] = config.max_new_tokens
    png = grid_chart_png(table)
    log_grid_to_mlflow(rows, table, png)
    tracking.log_params({"grid_prompt_date": day, "acceptability_threshold": threshold,
                         "best_top_p": best["top_p"], "best_temperature": best["temperature"]})
    log_metadata({"best_top_p": best["top_p"], "best_temperature": best["temperature"],
                  "best_score": best["score"], "acceptability_threshold": threshold, "prompt_date": day})
    logger.info("Sampling grid (%d strategies): best top_p=%g temperature=%g score=%.3f",
                len(table), best["top_p"], best["temperature"], best["score"])
    samples = {strategy_name(r["top_p"], r["temperature"]): r["texts"] for r in rows}
    return table, best, HTMLString(grid_html(table, png, best, samples))
