"""Fine-tune the dialogue model on the training conversations, and evaluate it, the base model it
started from and production on the same held-out conversations.

The training step always runs (static DAGs cannot skip one): with no retrain due it returns the
production model unchanged. It names the stack's step operator in the run configuration, so a
GPU stack runs it where the GPU is.
"""

from __future__ import annotations

import tempfile
from datetime import datetime, timezone
from typing import Annotated, Optional

import pandas as pd
from zenml import ArtifactConfig, log_metadata, step
from zenml.enums import ArtifactType
from zenml.logger import get_logger

import materializers.dialogue  # noqa: F401  (registers its materializers)
from stackpipes.core import tracking
from stackpipes.core.registry import keep_production_model, load_production_model
from stackpipes.core.types import ModelEvaluation, ProductionInfo, RetrainDecision
from stackpipes.dialogue import HELDOUT_METRIC, MODEL_ARTIFACT
from stackpipes.dialogue.data import DialogueData
from stackpipes.dialogue.evaluation import DialogueEvaluation
from stackpipes.dialogue.model import DialogueModelConfig
from stackpipes.lm.bundle import LanguageModel
from stackpipes.lm.config import default_gguf_cache
from stackpipes.platform.flavors.lazy_components import MLFLOW_RUN_ON_FIRST_LOG

logger = get_logger(__name__)


def _pairs(examples: pd.DataFrame, split: str) -> list[tuple[str, str]]:
    rows = examples.loc[examples["split"] == split]
    return list(zip(rows["prompt"], rows["target"], strict=True))


@step(experiment_tracker=True, extra=MLFLOW_RUN_ON_FIRST_LOG)
def train_dialogue_model(
    dialogue_examples: pd.DataFrame,
    decision: RetrainDecision,
    production: ProductionInfo,
    dataset: DialogueData,
    model: DialogueModelConfig,
    log_model_to_mlflow: bool = True,
) -> Annotated[Optional[LanguageModel], ArtifactConfig(name=MODEL_ARTIFACT, artifact_type=ArtifactType.MODEL)]:
    """`model.model_ref` fine-tuned on the training replies in their contexts (loss on the reply
    tokens), the held-out conversations as its eval set; the base model's context use on the
    held-out sample is measured first, so evaluation can say what fine-tuning changed."""
    from stackpipes.dialogue.evaluation import context_use, held_out_sample
    from stackpipes.dialogue.model import generation_config
    from stackpipes.lm.loading import load_model
    from stackpipes.lm.training import fine_tune

    if not decision.retrain:
        return keep_production_model(decision, production)
    lm, tokenizer = load_model(model.model_ref, task=model.task, gguf_cache=default_gguf_cache(model.gguf_cache))
    settings = model.evaluation
    sample = held_out_sample(dialogue_examples, settings.max_examples, settings.seed)
    base = context_use(lm, tokenizer, sample, settings.batch_size, model.training.seq_len)
    logger.info("Base model on %d held-out replies: loss %.4f, context-use gap %+.4f", base.replies, base.reply_loss,
                base.gap)
    training = model.training.model_copy(update={"report_to_mlflow": tracking.active_run() is not None})
    tracking.log_params({"base_model": model.model_ref, "context_messages": dataset.context_messages,
                         "train_examples": int((dialogue_examples["split"] == "train").sum())})
    with tempfile.TemporaryDirectory(prefix="stackpipes-dialogue-") as output_dir:
        report = fine_tune(lm, tokenizer, _pairs(dialogue_examples, "train"), training, output_dir,
                           held_out=_pairs(dialogue_examples, "held_out"))
    trained_at = datetime.now(timezone.utc).isoformat()
    metrics = {"loss_before": report.loss_before, "loss_after": report.loss_after, "train_loss": report.train_loss,
               "tokens_per_second": report.tokens_per_second}
    tracking.log_metrics({f"finetune_{name}": value for name, value in metrics.items()})
    logger.info("Fine-tuned %s on %s: held-out loss %.4f -> %.4f, %.0f tokens/s", model.model_ref, report.device,
                report.loss_before, report.loss_after, report.tokens_per_second)
    summary = {**metrics, "device": report.device, "steps": report.steps, "train_examples": report.train_examples,
               "base_model": model.model_ref, "trained_at": trained_at}
    log_metadata(summary)
    log_metadata(summary, infer_model=True)  # trained_at feeds the retrain cooldown
    metadata = {"base_model": model.model_ref, "trained_at": trained_at, "dataset": dataset.name,
                "context_messages": dataset.context_messages, "seq_len": training.seq_len,
                "base_context_use": base.model_dump(), **report.model_dump()}
    trained = LanguageModel(lm, tokenizer, generation_config(model.generation, tokenizer), metadata)
    if log_model_to_mlflow and tracking.active_run() is not None:
        from stackpipes.dialogue.pyfunc import log_dialogue_model

        trained.metadata["tracking_model_uri"] = log_dialogue_model(trained)
    return trained


@step(experiment_tracker=True, extra=MLFLOW_RUN_ON_FIRST_LOG)
def evaluate_dialogue_model(
    dialogue_model: Optional[LanguageModel],
    dialogue_examples: pd.DataFrame,
    decision: RetrainDecision,
    production: ProductionInfo,
    dataset: DialogueData,
    model: DialogueModelConfig,
) -> tuple[Annotated[ModelEvaluation, "model_evaluation"], Annotated[DialogueEvaluation, "dialogue_evaluation"]]:
    """Reply loss (the promotion metric, lower is better) and context use of the new model and
    production on the same held-out replies, the base model's from training; sampled replies'
    diversity and length next to the people's."""
    from stackpipes.dialogue.answer import generate_replies
    from stackpipes.dialogue.evaluation import (
        ContextUse,
        context_text,
        context_use,
        held_out_sample,
        reply_stats,
    )

    settings = model.evaluation
    held = dialogue_examples.loc[dialogue_examples["split"] == "held_out"]
    holdout = f"{len(held)} held-out replies of {held['conversation'].nunique()} conversations ({dataset.name})"
    if not decision.retrain or dialogue_model is None:
        note = "no retrain was due: " + "; ".join(decision.reasons)
        return (ModelEvaluation(metric=HELDOUT_METRIC, higher_is_better=False, retrained=False, holdout=holdout),
                DialogueEvaluation(dataset=dataset.name, note=note))
    sample = held_out_sample(dialogue_examples, settings.max_examples, settings.seed)
    max_length = int(dialogue_model.metadata.get("seq_len", model.training.seq_len))
    trained = context_use(dialogue_model.model, dialogue_model.tokenizer, sample, settings.batch_size, max_length)
    asked = sample.head(settings.samples)
    answers = generate_replies(dialogue_model.model, dialogue_model.tokenizer, asked["prompt"].tolist(),
                               dialogue_model.generation_config, seed=settings.seed, batch_size=settings.batch_size)
    incumbent, incumbent_stats = None, None
    if production.exists:
        previous = load_production_model(production)
        incumbent = context_use(previous.model, previous.tokenizer, sample, settings.batch_size, max_length)
        incumbent_stats = reply_stats(generate_replies(previous.model, previous.tokenizer, asked["prompt"].tolist(),
                                                       previous.generation_config, seed=settings.seed,
                                                       batch_size=settings.batch_size))
    base = dialogue_model.metadata.get("base_context_use")
    report = DialogueEvaluation(
        dataset=dataset.name, held_out_examples=len(sample), held_out_conversations=int(sample["conversation"].nunique()),
        model=trained, base=ContextUse.model_validate(base) if base else None, production=incumbent,
        sampled=reply_stats(answers), production_sampled=incumbent_stats, people=reply_stats(asked["reply"].tolist()),
        examples=[{"context": context_text(c), "reply": r, "answer": a}
                  for c, r, a in zip(asked["context"].head(8), asked["reply"].head(8), answers[:8], strict=False)])
    facts = {HELDOUT_METRIC: trained.reply_loss, "heldout_foreign_context_loss": trained.foreign_context_loss,
             "context_use_gap": trained.gap, "distinct_1": report.sampled.distinct_1,
             "distinct_2": report.sampled.distinct_2, "mean_reply_words": report.sampled.mean_words}
    if report.base is not None:
        facts["base_context_use_gap"] = report.base.gap
        facts["context_use_gap_growth"] = trained.gap - report.base.gap
    tracking.log_metrics({**facts, f"{HELDOUT_METRIC}_production": incumbent.reply_loss if incumbent else None})
    tracking_uri = dialogue_model.metadata.get("tracking_model_uri")
    log_metadata({**facts, "trained_at": dialogue_model.metadata.get("trained_at")}, infer_model=True)
    log_metadata({**facts, "production": incumbent.reply_loss if incumbent else "none"})
    logger.info("Held-out reply loss: model %.4f, production %s; context-use gap %+.4f (base %s)", trained.reply_loss,
                f"{incumbent.reply_loss:.4f}" if incumbent else "none", trained.gap,
                f"{report.base.gap:+.4f}" if report.base else "n/a")
    evaluation = ModelEvaluation(metric=HELDOUT_METRIC, higher_is_better=False, retrained=True,
                                 challenger=trained.reply_loss, production=incumbent.reply_loss if incumbent else None,
                                 holdout=holdout, tracking_model_uri=tracking_uri)
    return evaluation, report
