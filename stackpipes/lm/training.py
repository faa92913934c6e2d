"""Fine-tune a causal or seq2seq LM with the Hugging Face Trainer on texts or (prompt, target) pairs.

The Trainer is kept (not a hand loop) so MLflow logging, checkpoints and mixed precision come
from it. Speed comes from its own switches, chosen per device: on CUDA bf16 autocast, fused AdamW
and torch.compile; on every device packed sequences, so no step computes on padding.
"""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import torch
from pydantic import BaseModel
from transformers import Trainer, TrainerCallback, TrainingArguments

from stackpipes.lm.config import ExampleFormatError, LMTrainingConfig, TrainerConfig

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

logger = logging.getLogger(__name__)

IGNORE_INDEX = -100  # label value the HF losses skip

Example = str | tuple[str, str]


class TrainingReport(BaseModel):
    """What one fine-tuning run did and measured; losses are the Trainer's held-out eval_loss."""

    loss_before: float
    loss_after: float
    train_loss: float
    steps: int
    train_examples: int
    eval_examples: int
    train_tokens: int
    seconds: float
    tokens_per_second: float
    steady_tokens_per_second: float | None
    device: str
    dtype: str
    torch_compile: bool
    packing: bool
    optim: str
    parameters: int
    task: str


class RuntimeChoice(BaseModel):
    """Device-dependent switches resolved from a config's `auto` values."""

    device: str
    bf16: bool
    torch_compile: bool
    optim: str


def resolve_runtime(config: TrainerConfig, device: torch.device | None = None) -> RuntimeChoice:
    """Resolve `auto` switches: bf16, compile and fused AdamW on CUDA; none of them on CPU."""
    device = device or torch.device("cuda" if torch.cuda.is_available() else "cpu")
    on_cuda = device.type == "cuda"
    bf16_ok = on_cuda and torch.cuda.is_bf16_supported()
    return RuntimeChoice(
        device=device.type,
        bf16=bf16_ok if config.bf16 == "auto" else bool(config.bf16),
        # Inductor on CPU needs a C++ toolchain and gains little for small models.
        torch_compile=on_cuda if config.torch_compile == "auto" else bool(config.torch_compile),
        optim=("adamw_torch_fused" if on_cuda else "adamw_torch") if config.optim == "auto" else config.optim,
    )


# ---------------------------------------------------------------- datasets


def _as_pairs(examples: Sequence[Example]) -> list[tuple[str, str]]:
    pairs = []
    for index, example in enumerate(examples):
        if isinstance(example, str):
            pairs.append(("", example))
        elif isinstance(example, tuple | list) and len(example) == 2:
            pairs.append((str(example[0]), str(example[1])))
        else:
            raise ExampleFormatError(
                f"examples[{index}] = {example!r}: expected a text or a (prompt, target) pair"
            )
    return pairs


def split_examples(
    pairs: list[tuple[str, str]], config: LMTrainingConfig
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Random subset of `subset_size`, split into train and held-out before any packing."""
    if len(pairs) < 2:
        raise ExampleFormatError(f"examples: expected at least 2 (train + held-out), got {len(pairs)}")
    order = list(range(len(pairs)))
    random.Random(config.seed).shuffle(order)
    if config.subset_size is not None:
        order = order[: config.subset_size]
    eval_count = min(config.max_eval_examples, max(1, round(len(order) * config.eval_fraction)))
    eval_count = min(eval_count, len(order) - 1)
    held_out = [pairs[i] for i in order[:eval_count]]
    train = [pairs[i] for i in order[eval_count:]]
    return train, held_out


def _given_split(
    train: list[tuple[str, str]], held_out: list[tuple[str, str]], config: LMTrainingConfig
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The caller's split, each side bounded like a random one (`subset_size`, `max_eval_examples`)."""
    if not train or not held_out:
        raise ExampleFormatError(f"examples: expected training and held-out examples, got {len(train)} and "
                                 f"{len(held_out)}")
    rng = random.Random(config.seed)
    if config.subset_size is not None and len(train) > config.subset_size:
        train = rng.sample(train, config.subset_size)
    if len(held_out) > config.max_eval_examples:
        held_out = rng.sample(held_out, config.max_eval_examples)
    return train, held_out


def _causal_token_ids(tokenizer: PreTrainedTokenizerBase, pairs: list[tuple[str, str]]) -> list[list[int]]:
    encoded = tokenizer([prompt + target for prompt, target in pairs], add_special_tokens=True)["input_ids"]
    eos_id = tokenizer.eos_token_id
    # Each example ends with EOS so the model learns where a horoscope stops.
    return [ids + [eos_id] if eos_id is not None and ids[-1:] != [eos_id] else ids for ids in encoded]


def pack_blocks(sequences: list[list[int]], seq_len: int) -> list[list[int]]:
    """Concatenate token sequences and cut them into seq_len blocks; the ragged tail is dropped
    unless there is less than one block in all."""
    stream = [token for sequence in sequences for token in sequence]
    if len(stream) < seq_len:
        return [stream] if stream else []
    return [stream[start : start + seq_len] for start in range(0, len(stream) - seq_len + 1, seq_len)]


def build_causal_dataset(
    tokenizer: PreTrainedTokenizerBase, pairs: list[tuple[str, str]], seq_len: int, packing: bool,
    target_only: bool = False,
) -> list[dict[str, list[int]]]:
    """Causal LM rows: labels are the input ids (the model shifts them); padding is masked later.
    With `target_only` the prompt's labels are masked, so the loss is the target's alone."""
    if target_only:
        rows = [prompt_target_row(tokenizer, prompt, target, seq_len) for prompt, target in pairs]
        rows = [row for row in rows if any(label != IGNORE_INDEX for label in row["labels"])]
        if not packing:
            return rows
        inputs = pack_blocks([row["input_ids"] for row in rows], seq_len)
        labels = pack_blocks([row["labels"] for row in rows], seq_len)
        return [{"input_ids": i, "labels": t} for i, t in zip(inputs, labels, strict=True)
                if any(label != IGNORE_INDEX for label in t[1:])]
    sequences = _causal_token_ids(tokenizer, pairs)
    blocks = pack_blocks(sequences, seq_len) if packing else [ids[:seq_len] for ids in sequences]
    return [{"input_ids": block, "labels": list(block)} for block in blocks if len(block) > 1]


def prompt_target_row(
    tokenizer: PreTrainedTokenizerBase, prompt: str, target: str, seq_len: int
) -> dict[str, list[int]]:
    """One (prompt, target) pair as causal input ids with the prompt's labels masked: the target
    (and an EOS) keeps as much of itself as fits in seq_len; the prompt fills the rest from its
    end, losing its oldest tokens first."""
    start = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    target_ids = tokenizer(target, add_special_tokens=False)["input_ids"]
    if tokenizer.eos_token_id is not None:
        target_ids = [*target_ids, tokenizer.eos_token_id]
    target_ids = target_ids[: max(1, seq_len - len(start) - 1)]
    room = max(0, seq_len - len(start) - len(target_ids))
    prompt_ids = prompt_ids[len(prompt_ids) - room:] if room else []
    ids = start + prompt_ids + target_ids
    return {"input_ids": ids, "labels": [IGNORE_INDEX] * (len(ids) - len(target_ids)) + target_ids}


def build_seq2seq_dataset(
    tokenizer: PreTrainedTokenizerBase, pairs: list[tuple[str, str]], seq_len: int
) -> list[dict[str, list[int]]]:
    """Seq2seq rows: the prompt is the encoder input, the target text the labels."""
    if any(not prompt for prompt, _ in pairs):
        raise ExampleFormatError("examples: a seq2seq model needs (prompt, target) pairs, got bare texts")
    inputs = tokenizer([p for p, _ in pairs], truncation=True, max_length=seq_len)["input_ids"]
    labels = tokenizer(text_target=[t for _, t in pairs], truncation=True, max_length=seq_len)["input_ids"]
    return [{"input_ids": i, "labels": target} for i, target in zip(inputs, labels, strict=True)]


class PaddingCollator:
    """Right-pads a batch; padding gets attention 0 and label -100 (pad may equal EOS, so labels
    are masked by position, never by token id). Causal labels align with the inputs; seq2seq
    labels are padded on their own."""

    def __init__(self, pad_token_id: int, seq2seq: bool = False, pad_to: int | None = None):
        self.pad_token_id = pad_token_id
        self.seq2seq = seq2seq
        self.pad_to = pad_to

    def __call__(self, rows: list[dict[str, list[int]]]) -> dict[str, torch.Tensor]:
        input_width = max([len(row["input_ids"]) for row in rows] + [self.pad_to or 0])
        label_width = max(len(row["labels"]) for row in rows) if self.seq2seq else input_width
        batch = {
            "input_ids": torch.full((len(rows), input_width), self.pad_token_id, dtype=torch.long),
            "attention_mask": torch.zeros((len(rows), input_width), dtype=torch.long),
            "labels": torch.full((len(rows), label_width), IGNORE_INDEX, dtype=torch.long),
        }
        for index, row in enumerate(rows):
            batch["input_ids"][index, : len(row["input_ids"])] = torch.tensor(row["input_ids"])
            batch["attention_mask"][index, : len(row["input_ids"])] = 1
            batch["labels"][index, : len(row["labels"])] = torch.tensor(row["labels"])
        return batch


# ---------------------------------------------------------------- throughput


class ThroughputMeter(TrainerCallback):
    """Counts training tokens and times steps; syncs the GPU only at the timing boundaries."""

    def __init__(self, warmup_steps: int, seq2seq: bool):
        self.warmup_steps = warmup_steps
        self.seq2seq = seq2seq
        self.tokens: torch.Tensor | int = 0
        self.samples = 0
        self.start = self.end = 0.0
        self.warm_time: float | None = None
        self.warm_tokens = 0
        self.warm_samples = 0

    def add_batch(self, inputs: Mapping[str, torch.Tensor]) -> None:
        # Stays a device tensor: an .item() here would sync the GPU on every step.
        self.samples += int(inputs["attention_mask"].shape[0])  # a shape: no device sync
        tokens = inputs["attention_mask"].sum()
        if self.seq2seq:
            tokens = tokens + inputs["labels"].ne(IGNORE_INDEX).sum()
        self.tokens = self.tokens + tokens

    @staticmethod
    def _now() -> float:
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        return time.perf_counter()

    def total_tokens(self) -> int:
        return int(self.tokens)

    def on_train_begin(self, args, state, control, **kwargs):
        self.start = self._now()

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.warmup_steps and self.warmup_steps > 0:
            self.warm_time = self._now()
            self.warm_tokens = self.total_tokens()
            self.warm_samples = self.samples

    def on_train_end(self, args, state, control, **kwargs):
        self.end = self._now()

    def tokens_per_second(self) -> float:
        return self.total_tokens() / max(self.end - self.start, 1e-9)

    def steady_tokens_per_second(self) -> float | None:
        if self.warm_time is None or self.end <= self.warm_time:
            return None
        return (self.total_tokens() - self.warm_tokens) / (self.end - self.warm_time)

    def samples_per_second(self) -> float:
        return self.samples / max(self.end - self.start, 1e-9)

    def steady_samples_per_second(self) -> float | None:
        if self.warm_time is None or self.end <= self.warm_time:
            return None
        return (self.samples - self.warm_samples) / (self.end - self.warm_time)


class MeteredTrainer(Trainer):
    """The HF Trainer, plus a token count per micro-batch for tokens/s."""

    def __init__(self, *args: Any, meter: ThroughputMeter, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.meter = meter

    def training_step(self, model, inputs, num_items_in_batch=None):
        self.meter.add_batch(inputs)
        return super().training_step(model, inputs, num_items_in_batch)


# ---------------------------------------------------------------- fine-tuning


@contextmanager
def _mlflow_artifact_logging(enabled: bool):
    """The Trainer's MLflowCallback reads HF_MLFLOW_LOG_ARTIFACTS to log saved checkpoints."""
    previous = os.environ.get("HF_MLFLOW_LOG_ARTIFACTS")
    if enabled:
        os.environ["HF_MLFLOW_LOG_ARTIFACTS"] = "1"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("HF_MLFLOW_LOG_ARTIFACTS", None)
        else:
            os.environ["HF_MLFLOW_LOG_ARTIFACTS"] = previous


@contextmanager
def _mlflow_run(config: TrainerConfig):
    """Use the caller's active MLflow run; open one only if there is none, so the metrics
    logged before and after training land in the same run."""
    if not config.report_to_mlflow:
        yield
        return
    import mlflow

    if mlflow.active_run() is not None:
        yield
        return
    with mlflow.start_run(run_name=config.run_name):
        yield


def _checkpointing_argument(enabled: bool) -> dict[str, bool]:
    # transformers 5.2x renamed gradient_checkpointing to activation_checkpointing (the old
    # name warns); the GPU image's older transformers may only know the old one.
    if not enabled:
        return {}
    fields = TrainingArguments.__dataclass_fields__
    return {"activation_checkpointing" if "activation_checkpointing" in fields else "gradient_checkpointing": True}


def common_arguments(config: TrainerConfig, runtime: RuntimeChoice) -> dict[str, Any]:
    """The Trainer arguments every fine-tuning here sets alike (the fields of TrainerConfig)."""
    return dict(
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        learning_rate=config.learning_rate,
        weight_decay=config.weight_decay,
        lr_scheduler_type=config.lr_scheduler_type,
        optim=runtime.optim,
        bf16=runtime.bf16,
        torch_compile=runtime.torch_compile,
        use_cpu=runtime.device == "cpu",
        seed=config.seed,
        data_seed=config.seed,
        logging_steps=config.logging_steps,
        logging_strategy="steps",
        report_to=["mlflow"] if config.report_to_mlflow else "none",
        run_name=config.run_name,
        disable_tqdm=True,
        remove_unused_columns=False,
        dataloader_num_workers=config.dataloader_num_workers,
    )


def training_arguments(
    config: LMTrainingConfig, runtime: RuntimeChoice, output_dir: str, train_rows: int
) -> TrainingArguments:
    """The Trainer arguments for a config on the resolved device."""
    save_final = config.report_to_mlflow and config.log_model_to_mlflow
    return TrainingArguments(
        output_dir=output_dir,
        max_steps=config.max_steps,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.batch_size,
        warmup_steps=config.warmup_steps,
        **_checkpointing_argument(config.gradient_checkpointing),
        **common_arguments(config, runtime),
        eval_strategy="no",
        # One checkpoint at the end, only for the MLflow callback to log; model weights only.
        save_strategy="steps" if save_final else "no",
        save_steps=config.max_steps,
        save_only_model=True,
        save_total_limit=1,
        # Equal batch shapes keep a compiled graph from recompiling on the last partial batch.
        dataloader_drop_last=runtime.torch_compile and train_rows >= config.batch_size,
    )


def fine_tune(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    examples: Sequence[Example],
    config: LMTrainingConfig | None = None,
    output_dir: str | os.PathLike[str] = "outputs/lm",
    held_out: Sequence[Example] | None = None,
) -> TrainingReport:
    """Fine-tune `model` in place on texts or (prompt, target) pairs and report held-out losses.

    The held-out examples are `held_out` when given (a split the caller made, e.g. by
    conversation), else a random share of `examples`.

    Causal models train on prompt + target + EOS (packed into seq_len blocks when
    `config.packing`); seq2seq models read the prompt and predict the target. Metrics, and the
    final checkpoint if `log_model_to_mlflow`, go to MLflow through the Trainer's MLflowCallback
    when `report_to_mlflow`; the caller's active run is used.
    """
    from stackpipes.lm.loading import ensure_pad_token

    config = config or LMTrainingConfig()
    runtime = resolve_runtime(config)
    seq2seq = bool(getattr(model.config, "is_encoder_decoder", False))
    ensure_pad_token(tokenizer, model)
    if runtime.bf16 and model.dtype in (torch.bfloat16, torch.float16):
        # The Trainer's bf16 is autocast over fp32 master weights; AdamW on bf16 weights
        # silently drops updates smaller than bf16's resolution.
        logger.info("upcasting %s weights to float32 for mixed-precision training", model.dtype)
        model.float()

    if held_out is None:
        train_pairs, held_out_pairs = split_examples(_as_pairs(examples), config)
    else:
        train_pairs, held_out_pairs = _given_split(_as_pairs(examples), _as_pairs(held_out), config)
    target_only = config.loss_on == "target" and not seq2seq
    if target_only and any(not prompt for prompt, _ in train_pairs):
        raise ExampleFormatError("examples: loss_on 'target' needs (prompt, target) pairs, got bare texts")
    if seq2seq:
        train_rows = build_seq2seq_dataset(tokenizer, train_pairs, config.seq_len)
        eval_rows = build_seq2seq_dataset(tokenizer, held_out_pairs, config.seq_len)
    else:
        train_rows = build_causal_dataset(tokenizer, train_pairs, config.seq_len, config.packing, target_only)
        eval_rows = build_causal_dataset(tokenizer, held_out_pairs, config.seq_len, config.packing, target_only)
    if not train_rows or not eval_rows:
        raise ExampleFormatError("examples: too little text to build train and held-out sequences")

    meter = ThroughputMeter(min(config.timing_warmup_steps, config.max_steps - 1), seq2seq)
    args = training_arguments(config, runtime, os.fspath(output_dir), len(train_rows))
    # A compiled graph wants one shape: pad unpacked rows to seq_len when compiling.
    pad_to = config.seq_len if runtime.torch_compile and not seq2seq else None
    with _mlflow_artifact_logging(config.log_model_to_mlflow), _mlflow_run(config):
        trainer = MeteredTrainer(
            model=model,
            args=args,
            train_dataset=train_rows,
            eval_dataset=eval_rows,
            data_collator=PaddingCollator(tokenizer.pad_token_id, seq2seq, pad_to),
            processing_class=tokenizer,
            callbacks=[meter],
            meter=meter,
        )
        loss_before = trainer.evaluate()["eval_loss"]
        train_output = trainer.train()
        loss_after = trainer.evaluate()["eval_loss"]
    model.eval()
    return TrainingReport(
        loss_before=float(loss_before),
        loss_after=float(loss_after),
        train_loss=float(train_output.training_loss),
        steps=int(train_output.global_step),
        train_examples=len(train_pairs),
        eval_examples=len(held_out_pairs),
        train_tokens=meter.total_tokens(),
        seconds=meter.end - meter.start,
        tokens_per_second=meter.tokens_per_second(),
        steady_tokens_per_second=meter.steady_tokens_per_second(),
        device=runtime.device,
        dtype="bfloat16 autocast" if runtime.bf16 else str(model.dtype).removeprefix("torch."),
        torch_compile=runtime.torch_compile,
        packing=config.packing and not seq2seq,
        optim=runtime.optim,
        parameters=sum(p.numel() for p in model.parameters()),
        task="seq2seq" if seq2seq else "causal",
    )
