"""Horoscope language model: fine-tuning, the sampling-grid evaluation, packaging, held-out scoring.

As with the forecaster, every step always runs (static DAGs cannot skip one): each reads the
retrain decision and passes the production model through when no retrain is due.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import date, datetime, timedelta, timezone
from typing import Annotated, Any, Optional

import pandas as pd
from zenml import ArtifactConfig, log_metadata, step
from zenml.enums import ArtifactType
from zenml.logger import get_logger
from zenml.types import HTMLString

import materializers  # noqa: F401  (registers our materializers)
from stackpipes import tracking
from stackpipes.env import state_dir
from stackpipes.horoscope.modeling import HELDOUT_METRIC
from stackpipes.lm.bundle import LanguageModel
from stackpipes.lm.loading import DEFAULT_MODEL_REF, GGUF_CACHE_ENV
from stackpipes.types import ModelEvaluation, ProductionInfo, RetrainDecision
from steps.registry.production import keep_production_model, load_production_model

logger = get_logger(__name__)

MODEL_ARTIFACT = "horoscope_lm"


def _gguf_cache(gguf_cache: Optional[str]) -> str:
    """Where a GGUF model converted to HF format is kept, so later runs skip the slow parse."""
    return gguf_cache or os.environ.get(GGUF_CACHE_ENV) or str(state_dir() / "lm_cache")


@step(experiment_tracker=True)
def fine_tune_horoscope_lm(
    corpus: pd.DataFrame,
    decision: RetrainDecision,
    production: ProductionInfo,
    model_ref: str = DEFAULT_MODEL_REF,
    task: str = "auto",
    training: Optional[dict[str, Any]] = None,
    gguf_cache: Optional[str] = None,
) -> Annotated[LanguageModel, ArtifactConfig(name="horoscope_lm_trained", artifact_type=ArtifactType.MODEL)]:
    """Fine-tune `model_ref` (an HF id or path, or the packaged SmolLM2 GGUF) on (sign, date) ->
    text, with the Trainer; parameters and metrics go to MLflow through its MLflow callback."""
    from stackpipes.lm.loading import load_model
    from stackpipes.lm.training import LMTrainingConfig, fine_tune, horoscope_examples

    if not decision.retrain:
        return keep_production_model(decision, production)
    config = LMTrainingConfig(**(training or {}))
    config = config.model_copy(update={"report_to_mlflow": tracking.active_run() is not None})
    model, tokenizer = load_model(model_ref, task=task, gguf_cache=_gguf_cache(gguf_cache))  # type: ignore[arg-type]
    examples = horoscope_examples(corpus.to_dict("records"))
    with tempfile.TemporaryDirectory(prefix="stackpipes-lm-") as output_dir:
        report = fine_tune(model, tokenizer, examples, config, output_dir)
    trained_at = datetime.now(timezone.utc).isoformat()
    logger.info("Fine-tuned %s on %s: held-out loss %.3f -> %.3f, %.0f tokens/s",
                model_ref, report.device, report.loss_before, report.loss_after, report.tokens_per_second)
    metrics = {"loss_before": report.loss_before, "loss_after": report.loss_after,
               "train_loss": report.train_loss, "tokens_per_second": report.tokens_per_second}
    tracking.log_metrics({f"finetune_{name}": value for name, value in metrics.items()})
    summary = {**metrics, "device": report.device, "dtype": report.dtype, "steps": report.steps,
               "base_model": model_ref, "trained_at": trained_at}
    log_metadata(summary)  # on this step
    log_metadata(summary, infer_model=True)  # on the model version (trained_at feeds the cooldown)
    metadata = {"base_model": model_ref, "trained_at": trained_at, **report.model_dump()}
    return LanguageModel(model, tokenizer, None, metadata)


def _prompt_date(corpus: pd.DataFrame, configured: Optional[str]) -> str:
    """The configured day, else the day after the corpus's last one (tomorrow's horoscope)."""
    if configured:
        return configured
    return (date.fromisoformat(str(corpus["date"].max())) + timedelta(days=1)).isoformat()


def _log_strategies(rows: list[dict[str, Any]], table: pd.DataFrame, png: bytes) -> None:
    """Each strategy as a nested MLflow run (params, metrics, samples); table and chart on the parent."""
    if tracking.active_run() is None:
        return
    import mlflow

    from stackpipes.horoscope.modeling import strategy_name

    for row, metrics in zip(rows, table.to_dict("records"), strict=True):
        with mlflow.start_run(run_name=strategy_name(row["top_p"], row["temperature"]), nested=True):
            mlflow.log_params({"top_p": row["top_p"], "temperature": row["temperature"], "n_texts": row["n_texts"]})
            mlflow.log_metrics({k: float(v) for k, v in metrics.items()
                                if k not in ("top_p", "temperature", "n_texts")})
            mlflow.log_text("\n\n".join(row["texts"]), "samples.txt")
    tracking.log_bytes(table.to_csv(index=False).encode(), "sampling_grid/table.csv")
    tracking.log_bytes(png, "sampling_grid/chart.png")


@step(experiment_tracker=True)
def evaluate_sampling_grid(
    lm: LanguageModel,
    corpus: pd.DataFrame,
    decision: RetrainDecision,
    grid: Optional[dict[str, Any]] = None,
    metrics: Optional[dict[str, Any]] = None,
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
    from stackpipes.horoscope.modeling import (
        GridConfig,
        choose_strategy,
        grid_chart_png,
        grid_html,
        grid_table,
        strategy_name,
    )
    from stackpipes.horoscope.schema import SIGNS
    from stackpipes.lm.metrics import (
        TextMetricsConfig,
        TextScorer,
        calibrate_acceptability_threshold,
    )
    from stackpipes.lm.metrics import evaluate_sampling_grid as run_grid
    from stackpipes.lm.training import format_prompt

    config = GridConfig(**(grid or {}))
    if not decision.retrain:
        current = lm.metadata.get("generation", {})
        note = "No new model in this run: the production model keeps its generation config."
        return pd.DataFrame(), dict(current), HTMLString(f"<html><body><p>{note}</p></body></html>")
    metrics_config = TextMetricsConfig(**(metrics or {}))
    threshold = None
    judge = None
    if not metrics_config.acceptability_classifier:
        if judge_model:
            from stackpipes.lm.loading import load_model

            judge = load_model(judge_model, task="causal", gguf_cache=_gguf_cache(None))
        else:
            judge = (lm.model, lm.tokenizer)
        threshold = calibrate_acceptability_threshold(
            judge[0], judge[1], corpus["text"].tolist(), metrics_config.threshold_quantile, max_sentences=256
        )
    scorer = TextScorer.from_config(metrics_config, judge, threshold)
    day = _prompt_date(corpus, config.date)
    prompts = [format_prompt(sign, day) for sign in (config.signs or list(SIGNS))]
    rows = run_grid(lm.model, lm.tokenizer, prompts, config.top_p, config.temperature, scorer,
                    config.n_per_prompt, config.max_new_tokens, config.seed)
    table = grid_table(rows, config.weights)
    best = choose_strategy(table, config.min_acceptability)
    best["max_new_tokens"] = config.max_new_tokens
    png = grid_chart_png(table)
    _log_strategies(rows, table, png)
    tracking.log_params({"grid_prompt_date": day, "acceptability_threshold": threshold,
                         "best_top_p": best["top_p"], "best_temperature": best["temperature"]})
    log_metadata({"best_top_p": best["top_p"], "best_temperature": best["temperature"],
                  "best_score": best["score"], "acceptability_threshold": threshold, "prompt_date": day})
    logger.info("Sampling grid (%d strategies): best top_p=%g temperature=%g score=%.3f",
                len(table), best["top_p"], best["temperature"], best["score"])
    samples = {strategy_name(r["top_p"], r["temperature"]): r["texts"] for r in rows}
    return table, best, HTMLString(grid_html(table, png, best, samples))


@step(experiment_tracker=True)
def package_horoscope_lm(
    lm: LanguageModel,
    best_sampling: dict[str, Any],
    decision: RetrainDecision,
    log_model_to_mlflow: bool = True,
) -> Annotated[LanguageModel, ArtifactConfig(name=MODEL_ARTIFACT, artifact_type=ArtifactType.MODEL)]:
    """The trained model with the best strategy as its default generation config; logged to
    MLflow as a pyfunc model (what the MLflow registry entry points at)."""
    from stackpipes.horoscope.modeling import generation_config_for

    if not decision.retrain:
        return lm  # the production model, generation config included
    lm.generation_config = generation_config_for(best_sampling, lm, int(best_sampling["max_new_tokens"]))
    lm.metadata["generation"] = {k: best_sampling[k] for k in ("top_p", "temperature", "max_new_tokens")}
    if log_model_to_mlflow and tracking.active_run() is not None:
        from stackpipes.lm.mlflow_pyfunc import log_language_model

        lm.metadata["tracking_model_uri"] = log_language_model(lm)
    log_metadata({"generation": json.dumps(lm.metadata["generation"])})
    return lm


@step(experiment_tracker=True)
def evaluate_horoscope_lm(
    lm: LanguageModel,
    corpus: pd.DataFrame,
    decision: RetrainDecision,
    production: ProductionInfo,
    training: Optional[dict[str, Any]] = None,
) -> Annotated[ModelEvaluation, "model_evaluation"]:
    """Held-out loss of the new and the production model on the same held-out horoscopes (the
    ones fine-tuning left out of this run's corpus); lower is better."""
    from stackpipes.horoscope.modeling import heldout_loss, heldout_pairs
    from stackpipes.lm.training import LMTrainingConfig

    pairs = heldout_pairs(corpus, LMTrainingConfig(**(training or {})))
    holdout = f"{len(pairs)} held-out horoscopes of this run's corpus"
    if not decision.retrain:
        return ModelEvaluation(metric=HELDOUT_METRIC, retrained=False, holdout=holdout)
    challenger = heldout_loss(lm, pairs)
    incumbent = heldout_loss(load_production_model(production), pairs) if production.exists else None
    tracking.log_metrics({f"{HELDOUT_METRIC}_challenger": challenger, f"{HELDOUT_METRIC}_production": incumbent})
    log_metadata({HELDOUT_METRIC: challenger, "trained_at": lm.metadata.get("trained_at")}, infer_model=True)
    return ModelEvaluation(
        metric=HELDOUT_METRIC, retrained=True, challenger=challenger, production=incumbent, holdout=holdout,
        tracking_model_uri=lm.metadata.get("tracking_model_uri"),
    )
