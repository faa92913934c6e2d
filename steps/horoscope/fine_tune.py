"""Horoscope language model fine-tuning with the Hugging Face Trainer, tracked in MLflow.

As with the forecaster, the training steps always run (static DAGs cannot skip one): each reads the
retrain decision and passes the production model through when no retrain is due.
"""

from __future__ import annotations

import tempfile
from datetime import datetime, timezone
from typing import Annotated, Optional

import pandas as pd
from zenml import ArtifactConfig, log_metadata, step
from zenml.enums import ArtifactType
from zenml.logger import get_logger

import materializers.horoscope  # noqa: F401  (registers its materializers)
from stackpipes.core import tracking
from stackpipes.core.registry import keep_production_model
from stackpipes.core.types import ProductionInfo, RetrainDecision
from stackpipes.horoscope import TRAINED_ARTIFACT
from stackpipes.lm.bundle import LanguageModel
from stackpipes.lm.config import DEFAULT_MODEL_REF, LMTrainingConfig, default_gguf_cache
from stackpipes.platform.flavors.lazy_components import MLFLOW_RUN_ON_FIRST_LOG

logger = get_logger(__name__)


@step(experiment_tracker=True, extra=MLFLOW_RUN_ON_FIRST_LOG)
def fine_tune_horoscope_lm(
    corpus: pd.DataFrame,
    decision: RetrainDecision,
    production: ProductionInfo,
    model_ref: str = DEFAULT_MODEL_REF,
    task: str = "auto",
    training: Optional[LMTrainingConfig] = None,
    gguf_cache: Optional[str] = None,
) -> Annotated[Optional[LanguageModel], ArtifactConfig(name=TRAINED_ARTIFACT, artifact_type=ArtifactType.MODEL)]:
    """Fine-tune `model_ref` (an HF id or path, or the packaged SmolLM2 GGUF) on (sign, date) ->
    text, with the Trainer; parameters and metrics go to MLflow through its MLflow callback."""
    from stackpipes.horoscope.prompts import horoscope_examples
    from stackpipes.lm.loading import load_model
    from stackpipes.lm.training import fine_tune

    if not decision.retrain:
        return keep_production_model(decision, production)
    config = training or LMTrainingConfig()
    config = config.model_copy(update={"report_to_mlflow": tracking.active_run() is not None})
    model, tokenizer = load_model(model_ref, task=task, gguf_cache=default_gguf_cache(gguf_cache))  # type: ignore[arg-type]
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
