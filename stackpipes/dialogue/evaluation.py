"""Scoring a dialogue model on held-out conversations.

- reply loss: the mean cross-entropy per reply token given its true context (lower is better;
  the promotion metric);
- context use: the same replies' loss with the context of another conversation, minus the loss
  with their own. A model that reads its context finds its reply likelier after the true context:
  the gap is positive and grows as fine-tuning teaches it to use the context;
- sampled replies: distinct-1/2 (unique n-grams over all n-grams of the replies) and length in
  words, next to the same figures of the people's replies.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Optional

import pandas as pd
from pydantic import BaseModel, Field

from stackpipes.dialogue.prompt import Turn, format_prompt

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


class EvaluationInputError(ValueError):
    """Held-out data evaluation cannot use (e.g. fewer than two conversations)."""


def held_out_sample(examples: pd.DataFrame, max_examples: int, seed: int) -> pd.DataFrame:
    """Up to `max_examples` held-out examples drawn at random with `seed` (the same rows for every
    model a run scores), in conversation order, from at least two conversations (foreign contexts
    need another conversation)."""
    held = examples.loc[examples["split"] == "held_out"].reset_index(drop=True)
    if held["conversation"].nunique() < 2:
        raise EvaluationInputError(f"held-out examples: context use needs at least 2 conversations, got "
                                   f"{held['conversation'].nunique()}")
    order = list(range(len(held)))
    random.Random(seed).shuffle(order)
    chosen = order[:max(2, max_examples)]
    if held.loc[chosen, "conversation"].nunique() < 2:  # the draw fell in one conversation
        other = next(i for i in order if held.at[i, "conversation"] != held.at[chosen[0], "conversation"])
        chosen[-1] = other
    return held.iloc[sorted(chosen)].reset_index(drop=True)


def foreign_prompts(sample: pd.DataFrame) -> list[str]:
    """For each example, the prompt of an example of another conversation (the next conversation
    in the sample, cyclically; the same position within it, modulo its size), with as many context
    messages as the example's own prompt could hold."""
    conversations = list(dict.fromkeys(sample["conversation"]))
    if len(conversations) < 2:
        raise EvaluationInputError("foreign contexts need examples of at least 2 conversations")
    by_conversation = {c: sample.index[sample["conversation"] == c].tolist() for c in conversations}
    following = {c: conversations[(i + 1) % len(conversations)] for i, c in enumerate(conversations)}
    prompts = []
    for conversation, rows in by_conversation.items():
        other = by_conversation[following[conversation]]
        for position, _ in enumerate(rows):
            prompts.append((rows[position], sample.at[other[position % len(other)], "prompt"]))
    return [prompt for _, prompt in sorted(prompts)]


def mean_reply_loss(losses: Sequence[tuple[float, int]]) -> float:
    """Token-weighted mean of (summed loss, tokens) pairs: loss per reply token."""
    tokens = sum(n for _, n in losses)
    if tokens == 0:
        raise EvaluationInputError("no reply tokens were scored")
    return sum(total for total, _ in losses) / tokens


class ContextUse(BaseModel):
    reply_loss: float  # per reply token, true context
    foreign_context_loss: float  # the same replies after another conversation's context
    gap: float  # foreign - true: how much the true context helps
    replies: int


def context_use(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, sample: pd.DataFrame,
                batch_size: int, max_length: int) -> ContextUse:
    from stackpipes.lm.metrics import target_token_loss

    targets = sample["target"].tolist()
    true = mean_reply_loss(target_token_loss(model, tokenizer, list(zip(sample["prompt"], targets, strict=True)),
                                             batch_size=batch_size, max_length=max_length))
    foreign = mean_reply_loss(target_token_loss(model, tokenizer, list(zip(foreign_prompts(sample), targets, strict=True)),
                                                batch_size=batch_size, max_length=max_length))
    return ContextUse(reply_loss=true, foreign_context_loss=foreign, gap=foreign - true, replies=len(sample))


def distinct_n(texts: Sequence[str], n: int) -> float:
    """Unique word n-grams over all word n-grams of `texts` (lower-cased); 0 when there are none."""
    grams: list[tuple[str, ...]] = []
    for text in texts:
        words = text.lower().split()
        grams += [tuple(words[i:i + n]) for i in range(len(words) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


class ReplyStats(BaseModel):
    distinct_1: float
    distinct_2: float
    mean_words: float
    empty_share: float
    replies: int


def reply_stats(replies: Sequence[str]) -> ReplyStats:
    words = [len(r.split()) for r in replies]
    return ReplyStats(distinct_1=distinct_n(replies, 1), distinct_2=distinct_n(replies, 2),
                      mean_words=sum(words) / len(words) if words else 0.0,
                      empty_share=sum(1 for w in words if w == 0) / len(words) if words else 0.0,
                      replies=len(replies))


def context_text(context_json: str) -> str:
    """A stored context as readable lines (speaker: text)."""
    turns = [Turn(t["speaker"], t["text"]) for t in json.loads(context_json)]
    return format_prompt(turns, max(1, len(turns))).rsplit("\n", 1)[0] if turns else ""


class DialogueEvaluation(BaseModel):
    """What the held-out conversations say about a dialogue model, next to the base model it was
    fine-tuned from and production; rendered in the dashboard as one page."""

    dataset: str
    held_out_examples: int = 0
    held_out_conversations: int = 0
    model: Optional[ContextUse] = None
    base: Optional[ContextUse] = None
    production: Optional[ContextUse] = None
    sampled: Optional[ReplyStats] = None
    production_sampled: Optional[ReplyStats] = None
    people: Optional[ReplyStats] = None
    examples: list[dict[str, Any]] = Field(default_factory=list)  # context, person's reply, model's reply
    note: str = ""

    @property
    def context_gap_growth(self) -> Optional[float]:
        return None if self.model is None or self.base is None else self.model.gap - self.base.gap

    def to_html(self) -> str:
        from stackpipes.core import views

        if self.model is None:
            return views.page(f"Dialogue evaluation of {self.dataset}",
                              f"<p>{views.esc(self.note or 'no model was trained')}</p>")

        def loss_row(name: str, use: Optional[ContextUse]) -> tuple[str, ...]:
            if use is None:
                return (name, "n/a", "n/a", "n/a")
            return (name, f"{use.reply_loss:.4f}", f"{use.foreign_context_loss:.4f}", f"{use.gap:+.4f}")

        def stats_row(name: str, stats: Optional[ReplyStats]) -> tuple[str, ...]:
            if stats is None:
                return (name, "n/a", "n/a", "n/a", "n/a")
            return (name, f"{stats.distinct_1:.3f}", f"{stats.distinct_2:.3f}", f"{stats.mean_words:.1f}",
                    f"{100 * stats.empty_share:.0f}%")

        growth = self.context_gap_growth
        body = [f"<h3>{self.held_out_examples} held-out replies of {self.held_out_conversations} conversations "
                f"({views.esc(self.dataset)})</h3>",
                "<h4>Reply loss per token, and context use</h4>",
                "<p>Context use is the loss of the same replies after another conversation's context minus "
                "their loss after their own: the more a model reads its context, the larger the gap.</p>",
                views.table(["model", "reply loss (true context)", "with a foreign context", "context-use gap"],
                            [loss_row("fine-tuned", self.model), loss_row("base (before fine-tuning)", self.base),
                             loss_row("production", self.production)]),
                f"<p>Gap growth from fine-tuning: <b>{'n/a' if growth is None else f'{growth:+.4f}'}</b></p>",
                "<h4>Sampled replies</h4>",
                views.table(["replies of", "distinct-1", "distinct-2", "mean words", "empty"],
                            [stats_row("fine-tuned", self.sampled), stats_row("production", self.production_sampled),
                             stats_row("people (held-out)", self.people)])]
        if self.examples:
            body.append("<h4>Examples</h4>" + views.table(
                ["context", "person's reply", "model's reply"],
                [(e["context"], e["reply"], e["answer"]) for e in self.examples]))
        return views.page(f"Dialogue evaluation of {self.dataset}", "\n".join(body))
