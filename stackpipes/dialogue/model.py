"""How a dialogue model is built, fine-tuned, asked and scored: typed settings, free of heavy imports.

The model is any causal LM id or path the lm library loads (default: the packaged SmolLM2-135M);
it is fine-tuned on (prompt, reply) pairs with the loss on the reply's tokens only, and keeps its
sampling settings as its Hugging Face generation config, which the service reads.
"""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

from stackpipes.lm.config import DEFAULT_MODEL_REF, LMTrainingConfig
from stackpipes.platform.bounds import count


def _training() -> LMTrainingConfig:
    # One reply per row (no packing: a row is one context and its reply), loss on the reply.
    return LMTrainingConfig(loss_on="target", packing=False, seq_len=128, max_steps=240, batch_size=8,
                            learning_rate=2e-4, warmup_steps=10, subset_size=None, max_eval_examples=128,
                            logging_steps=20)


class GenerationSettings(BaseModel):
    """How replies are sampled: saved as the model's generation config (the service uses it)."""

    model_config = ConfigDict(extra="forbid")

    top_p: float = Field(0.9, gt=0, le=1)
    temperature: float = Field(0.7, ge=0, le=5, description="0 = greedy")
    top_k: count(0, 100_000) = Field(0, description="0 = off (top_p alone)")
    repetition_penalty: float = Field(1.2, ge=1, le=3)
    max_new_tokens: count(1, 512) = 48


class EvaluationSettings(BaseModel):
    """How much of the held-out conversations evaluation reads."""

    model_config = ConfigDict(extra="forbid")

    max_examples: count(2, 100_000) = Field(256, description="held-out replies scored (loss, context use)")
    samples: count(1, 10_000) = Field(48, description="held-out contexts a reply is sampled for")
    batch_size: count(1, 1024) = 16
    seed: int = 0


class DialogueModelConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model_ref: str = Field(DEFAULT_MODEL_REF, description="any causal LM: a Hugging Face id, a folder, package:NAME")
    task: Literal["auto", "causal"] = "auto"
    gguf_cache: Optional[str] = None
    training: LMTrainingConfig = Field(default_factory=_training)
    generation: GenerationSettings = GenerationSettings()
    evaluation: EvaluationSettings = EvaluationSettings()


def generation_config(settings: GenerationSettings, tokenizer: object) -> object:
    """The Hugging Face GenerationConfig of `settings`: sampling (or greedy at temperature 0),
    stopping at EOS or the end of the reply's line."""
    from transformers import GenerationConfig

    pad = getattr(tokenizer, "pad_token_id", None)
    eos = getattr(tokenizer, "eos_token_id", None)
    sampling = settings.temperature > 0
    return GenerationConfig(
        do_sample=sampling, top_p=settings.top_p if sampling else None,
        temperature=settings.temperature if sampling else None, top_k=settings.top_k if sampling else None,
        repetition_penalty=settings.repetition_penalty, max_new_tokens=settings.max_new_tokens,
        stop_strings=["\n"], pad_token_id=pad if pad is not None else eos, eos_token_id=eos)
