"""Answering: a context and a message -> a prompt that fits the model's window -> sampled replies,
many prompts in one `generate` call. Used by evaluation and by the service alike.

A context longer than the window loses its oldest messages first; a last message still too long
keeps its end (the newest words).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Optional

import torch

from stackpipes.dialogue.prompt import Turn, answer_from_generation, format_prompt

if TYPE_CHECKING:
    from transformers import GenerationConfig, PreTrainedModel, PreTrainedTokenizerBase

DEFAULT_WINDOW = 2048


def window(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> int:
    """Tokens the model reads at once: its position limit, else the tokenizer's, else 2048."""
    for value in (getattr(model.config, "max_position_embeddings", None), getattr(model.config, "n_positions", None),
                  getattr(tokenizer, "model_max_length", None)):
        if isinstance(value, int) and 0 < value < 1_000_000:
            return value
    return DEFAULT_WINDOW


def fit_prompt(tokenizer: PreTrainedTokenizerBase, context: Sequence[Turn], keep: int, max_tokens: int) -> tuple[str, int]:
    """The prompt of the last `keep` messages of `context` within `max_tokens`, and how many
    messages it holds: the oldest are dropped first, then the newest one is cut from its start."""
    turns = list(context)[-keep:]
    while turns:
        prompt = format_prompt(turns, keep)
        if len(tokenizer(prompt, add_special_tokens=True)["input_ids"]) <= max_tokens:
            return prompt, len(turns)
        if len(turns) == 1:
            break
        turns = turns[1:]
    if not turns:
        raise ValueError("context: expected at least one message")
    ids = tokenizer(turns[0].text, add_special_tokens=False)["input_ids"]
    overhead = len(tokenizer(format_prompt([Turn(turns[0].speaker, "")], keep), add_special_tokens=True)["input_ids"])
    kept = tokenizer.decode(ids[max(0, len(ids) - max(1, max_tokens - overhead - 1)):], skip_special_tokens=True)
    return format_prompt([Turn(turns[0].speaker, kept)], keep), 1


def generate_replies(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: Sequence[str],
    generation: GenerationConfig,
    seed: Optional[int] = None,
    batch_size: int = 16,
) -> list[str]:
    """One reply per prompt (the generated line, stripped), `batch_size` prompts per `generate`
    call, left-padded. A seed makes the sampling repeatable and leaves the caller's RNG as it was."""
    if not prompts:
        return []
    replies: list[str] = []
    devices = [model.device] if model.device.type == "cuda" else []
    previous_side = tokenizer.padding_side
    with torch.random.fork_rng(devices=devices, enabled=seed is not None):
        if seed is not None:
            torch.manual_seed(seed)
        try:
            tokenizer.padding_side = "left"
            for start in range(0, len(prompts), batch_size):
                batch = tokenizer(list(prompts[start:start + batch_size]), return_tensors="pt", padding=True)
                batch = batch.to(model.device)
                with torch.inference_mode():
                    output = model.generate(**batch, generation_config=generation, tokenizer=tokenizer)
                continuation = output[:, batch["input_ids"].shape[1]:]
                replies.extend(answer_from_generation(text) for text in
                               tokenizer.batch_decode(continuation, skip_special_tokens=True))
        finally:
            tokenizer.padding_side = previous_side
    return replies


def prompt_budget(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, generation: Any,
                  trained_length: Optional[int] = None) -> int:
    """Prompt tokens: room for the reply left in the window, and no longer than the sequences the
    model was fine-tuned on (`trained_length`, its seq_len), which its prompts never exceeded."""
    new = int(getattr(generation, "max_new_tokens", None) or 48)
    budget = window(model, tokenizer) - new
    if trained_length:
        budget = min(budget, int(trained_length))
    return max(8, budget)


MAX_CONTEXT_ITEMS = 64  # messages a request's context may hold (only the last few are read)
MAX_MESSAGE_CHARS = 4096  # Telegram's own limit for one text message


class ContextError(ValueError):
    """A context or message that cannot be answered: names the item and what was expected."""


def parse_context(raw: Any) -> list[Turn]:
    """A context as the service and the MLflow model take it: a list (or its JSON text), oldest
    first, of messages, each a text (the user's) or {"speaker": "user"|"bot", "text": ...}."""
    import json

    if isinstance(raw, str):
        try:
            raw = json.loads(raw) if raw.strip() else []
        except json.JSONDecodeError as exc:
            raise ContextError(f"context: not JSON ({exc.msg})") from None
    if not isinstance(raw, list):
        raise ContextError(f"context: expected a list of messages, got {type(raw).__name__}")
    if len(raw) > MAX_CONTEXT_ITEMS:
        raise ContextError(f"context: {len(raw)} messages, at most {MAX_CONTEXT_ITEMS}")
    turns = []
    for index, item in enumerate(raw):
        if isinstance(item, str):
            turn = Turn("user", item)
        elif isinstance(item, dict) and item.get("speaker") in ("user", "bot") and isinstance(item.get("text"), str):
            turn = Turn(item["speaker"], item["text"])
        else:
            raise ContextError(f"context[{index}]: expected a text or {{\"speaker\": \"user\"|\"bot\", \"text\": ...}}")
        if len(turn.text) > MAX_MESSAGE_CHARS:
            raise ContextError(f"context[{index}]: {len(turn.text)} characters, at most {MAX_MESSAGE_CHARS}")
        turns.append(turn)
    return turns


def check_message(message: Any) -> None:
    """The message a request answers: a non-empty text of at most MAX_MESSAGE_CHARS."""
    if not isinstance(message, str) or not message.strip():
        raise ContextError("message: expected a non-empty text")
    if len(message) > MAX_MESSAGE_CHARS:
        raise ContextError(f"message: {len(message)} characters, at most {MAX_MESSAGE_CHARS}")


def merge_turns(turns: Sequence[Turn]) -> list[Turn]:
    """Consecutive messages of one speaker as one turn (joined by a space), as training reads a
    conversation; empty messages left out."""
    merged: list[Turn] = []
    for turn in turns:
        text = " ".join(turn.text.split())
        if not text:
            continue
        if merged and merged[-1].speaker == turn.speaker:
            merged[-1] = Turn(turn.speaker, merged[-1].text + " " + text)
        else:
            merged.append(Turn(turn.speaker, text))
    return merged


class Answerer:
    """A `LanguageModel` (the lm library's bundle) answering messages in their contexts: the prompt
    format of training, the window respected, the model's own generation config."""

    def __init__(self, lm: Any, context_messages: Optional[int] = None, batch_size: int = 32):
        from stackpipes.dialogue import CONTEXT_MESSAGES

        self.lm = lm
        self.context_messages = int(context_messages or lm.metadata.get("context_messages") or CONTEXT_MESSAGES)
        self.batch_size = batch_size
        self.generation = lm.generation_config
        if self.generation is None:
            from stackpipes.dialogue.model import GenerationSettings, generation_config

            self.generation = generation_config(GenerationSettings(), lm.tokenizer)
        self.budget = prompt_budget(lm.model, lm.tokenizer, self.generation, lm.metadata.get("seq_len"))

    def prompt(self, context: Sequence[Turn], message: str) -> str:
        check_message(message)
        for index, turn in enumerate(context):
            if len(turn.text) > MAX_MESSAGE_CHARS:
                raise ContextError(f"context[{index}]: {len(turn.text)} characters, at most {MAX_MESSAGE_CHARS}")
        turns = merge_turns([*context, Turn("user", message)])
        # The prompt keeps context_messages turns before the reply, as every training example did.
        prompt, _ = fit_prompt(self.lm.tokenizer, turns, self.context_messages, self.budget)
        return prompt

    def answer_many(self, contexts: Sequence[Sequence[Turn]], messages: Sequence[str],
                    seed: Optional[int] = None) -> list[str]:
        prompts = [self.prompt(context, message) for context, message in zip(contexts, messages, strict=True)]
        return self.answer_prompts(prompts, seed)

    def answer_prompts(self, prompts: Sequence[str], seed: Optional[int] = None) -> list[str]:
        return generate_replies(self.lm.model, self.lm.tokenizer, prompts, self.generation, seed=seed,
                                batch_size=self.batch_size)
