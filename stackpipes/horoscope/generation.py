"""Horoscopes from a model: generation with its own sampling config, and the held-out loss that
compares two models on the same horoscopes. Shared by the steps and `run.py generate`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

from stackpipes.horoscope.prompts import format_prompt, horoscope_examples

if TYPE_CHECKING:
    from stackpipes.lm.bundle import LanguageModel
    from stackpipes.lm.config import LMTrainingConfig


def heldout_pairs(corpus: pd.DataFrame, config: LMTrainingConfig) -> list[tuple[str, str]]:
    """The held-out (prompt, text) pairs fine-tuning leaves out for this corpus and config."""
    from stackpipes.lm.training import split_examples

    return split_examples(horoscope_examples(corpus.to_dict("records")), config)[1]


def heldout_loss(lm: LanguageModel, pairs: Sequence[tuple[str, str]]) -> float:
    """Mean per-token loss of prompt + text over the held-out pairs (same texts for every model)."""
    from stackpipes.lm.metrics import mean_token_loss

    losses = [v for v in mean_token_loss(lm.model, lm.tokenizer, [p + t for p, t in pairs]) if not math.isnan(v)]
    if not losses:
        raise ValueError("held-out set: no text has a token to score")
    return float(sum(losses) / len(losses))


def generate_horoscopes(lm: LanguageModel, sign: str, date: str, n: int = 1, seed: int = 0,
                        max_new_tokens: int | None = None) -> list[str]:
    """`n` horoscopes for a sign and day with the model's own generation config."""
    from stackpipes.lm.generation import generate_texts

    config = lm.generation_config
    top_p = getattr(config, "top_p", None) or 1.0
    temperature = getattr(config, "temperature", None) if getattr(config, "do_sample", False) else 0.0
    tokens = max_new_tokens or getattr(config, "max_new_tokens", None) or 96
    return generate_texts(lm.model, lm.tokenizer, [format_prompt(sign, date)], n, float(top_p),
                          float(temperature or 0.0), int(tokens), seed)
