"""Sample texts from a causal or seq2seq LM: batched, nucleus/temperature sampling, seeded."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


class SamplingError(ValueError):
    """Sampling parameters out of range: names the parameter and the accepted range."""


def _check_sampling(n_per_prompt: int, top_p: float, temperature: float, max_new_tokens: int) -> None:
    if n_per_prompt < 1:
        raise SamplingError(f"n_per_prompt={n_per_prompt}: expected an integer >= 1")
    if not 0 < top_p <= 1:
        raise SamplingError(f"top_p={top_p}: expected 0 < top_p <= 1")
    if temperature < 0:
        raise SamplingError(f"temperature={temperature}: expected >= 0 (0 means greedy)")
    if max_new_tokens < 1:
        raise SamplingError(f"max_new_tokens={max_new_tokens}: expected an integer >= 1")


@contextmanager
def _padding_side(tokenizer: PreTrainedTokenizerBase, side: str):
    previous = tokenizer.padding_side
    tokenizer.padding_side = side
    try:
        yield
    finally:
        tokenizer.padding_side = previous


def sampling_kwargs(tokenizer: PreTrainedTokenizerBase, top_p: float, temperature: float) -> dict:
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    common = {"pad_token_id": pad_id, "eos_token_id": tokenizer.eos_token_id}
    if temperature == 0:
        return {**common, "do_sample": False, "top_p": None, "top_k": None, "temperature": None}
    # top_k=0 switches off the default top-k=50 so the grid varies top_p alone.
    return {**common, "do_sample": True, "top_p": top_p, "temperature": temperature, "top_k": 0}


def generate_texts(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: Sequence[str],
    n_per_prompt: int = 1,
    top_p: float = 0.9,
    temperature: float = 0.8,
    max_new_tokens: int = 64,
    seed: int = 0,
    batch_size: int = 16,
) -> list[str]:
    """`n_per_prompt` continuations of each prompt, prompt-major (all of prompt 0 first).

    Returns only the generated continuation, decoded without special tokens and stripped.
    `temperature=0` decodes greedily. The same seed, prompts and batch size give the same texts;
    the caller's global RNG state is restored afterwards.
    """
    _check_sampling(n_per_prompt, top_p, temperature, max_new_tokens)
    if not prompts:
        return []
    seq2seq = bool(getattr(model.config, "is_encoder_decoder", False))
    kwargs = sampling_kwargs(tokenizer, top_p, temperature)
    greedy = temperature == 0
    # Greedy decoding gives one answer per prompt (HF refuses several); it is repeated n times.
    returned_per_prompt = 1 if greedy else n_per_prompt
    prompts_per_batch = max(1, batch_size // returned_per_prompt)
    texts: list[str] = []
    devices = [model.device] if model.device.type == "cuda" else []
    was_training = model.training
    model.eval()
    # Decoder-only models continue from the last prompt token, so prompts are left-padded.
    with torch.random.fork_rng(devices=devices), _padding_side(tokenizer, "right" if seq2seq else "left"):
        torch.manual_seed(seed)
        for start in range(0, len(prompts), prompts_per_batch):
            batch = tokenizer(list(prompts[start : start + prompts_per_batch]), return_tensors="pt", padding=True)
            batch = batch.to(model.device)
            with torch.inference_mode():
                output = model.generate(
                    **batch, max_new_tokens=max_new_tokens, num_return_sequences=returned_per_prompt, **kwargs
                )
            continuation = output if seq2seq else output[:, batch["input_ids"].shape[1] :]
            decoded = [t.strip() for t in tokenizer.batch_decode(continuation, skip_special_tokens=True)]
            texts.extend(t for t in decoded for _ in range(n_per_prompt // returned_per_prompt))
    model.train(was_training)
    return texts
