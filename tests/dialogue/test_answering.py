"""The dialogue model's answering and scoring: prompts that fit the window (oldest messages dropped
first), one batched `generate` for many messages, contexts validated, distinct-n, foreign
contexts from other conversations, and context use that grows when fine-tuning teaches a model
to read its context (a tiny model learning to repeat the word its context names)."""

from __future__ import annotations

import random

import pandas as pd
import pytest

from stackpipes.dialogue.answer import (
    Answerer,
    ContextError,
    fit_prompt,
    merge_turns,
    parse_context,
)
from stackpipes.dialogue.evaluation import context_use, distinct_n, foreign_prompts, held_out_sample
from stackpipes.dialogue.prompt import Turn, format_prompt, format_target

WORDS = ["love", "work", "money", "calm", "day", "friends", "trust", "Aries"]


@pytest.fixture(scope="module")
def tiny(tiny_model):
    from stackpipes.lm.loading import load_model

    return load_model(tiny_model, device="cpu")


def _answerer(tiny, metadata=None, **settings):
    from stackpipes.dialogue.model import GenerationSettings, generation_config
    from stackpipes.lm.bundle import LanguageModel

    model, tokenizer = tiny
    return Answerer(LanguageModel(model, tokenizer, generation_config(GenerationSettings(**settings), tokenizer),
                                  {"context_messages": 3, **(metadata or {})}))


def test_a_context_longer_than_the_window_loses_its_oldest_messages_first(tiny):
    _, tokenizer = tiny
    context = [Turn("user", "calm day " * 20), Turn("bot", "love"), Turn("user", "work and money")]
    full, kept = fit_prompt(tokenizer, context, 3, 10_000)
    assert kept == 3 and full == format_prompt(context, 3)
    short, kept = fit_prompt(tokenizer, context, 3, 30)
    assert kept == 2 and short == "Bot: love\nUser: work and money\nBot:"
    cut, kept = fit_prompt(tokenizer, [Turn("user", "first words " + "trust your friends " * 50 + "last words")], 3, 40)
    assert kept == 1 and cut.startswith("User: ") and cut.endswith("last words\nBot:")
    assert len(tokenizer(cut)["input_ids"]) <= 40


def test_many_messages_are_answered_in_one_batch_and_bad_ones_refused(tiny):
    answerer = _answerer(tiny, max_new_tokens=6)
    assert answerer.budget == 256 - 6  # the tiny model's window less the reply's room
    assert _answerer(tiny, {"seq_len": 64}, max_new_tokens=6).budget == 64  # never longer than it was trained on
    contexts = [parse_context(["hi", {"speaker": "bot", "text": "hello"}]), [], parse_context('["calm day"]')]
    answers = answerer.answer_many(contexts, ["how are you?", "love", "work"], seed=1)
    assert len(answers) == 3 and all(isinstance(a, str) and "\n" not in a for a in answers)
    assert answerer.answer_many(contexts, ["how are you?", "love", "work"], seed=1) == answers  # seeded
    assert answerer.prompt([Turn("user", "a"), Turn("user", "b")], "c") == "User: a b c\nBot:"  # one turn, as in training
    assert merge_turns([Turn("user", " "), Turn("bot", "x")]) == [Turn("bot", "x")]
    with pytest.raises(ContextError, match="message: expected a non-empty text"):
        answerer.prompt([], "   ")
    with pytest.raises(ContextError, match="message: 5000 characters, at most 4096"):
        answerer.prompt([], "x" * 5000)
    with pytest.raises(ContextError, match=r"context\[1\]: expected a text or"):
        parse_context(["ok", {"speaker": "robot", "text": "x"}])
    with pytest.raises(ContextError, match="context: not JSON"):
        parse_context("[unclosed")
    with pytest.raises(ContextError, match="at most 64"):
        parse_context(["x"] * 65)


def test_distinct_n_and_foreign_contexts():
    assert distinct_n(["a b a b", "a b"], 1) == pytest.approx(2 / 6)
    assert distinct_n(["a b c", "a b d"], 2) == pytest.approx(3 / 4)
    assert distinct_n(["", "x"], 2) == 0.0
    sample = pd.DataFrame({"conversation": ["a", "a", "b", "c", "c", "c"],
                           "prompt": [f"p{i}" for i in range(6)]})
    foreign = foreign_prompts(sample)
    owner = dict(zip(sample["prompt"], sample["conversation"], strict=True))
    assert all(owner[p] != c for p, c in zip(foreign, sample["conversation"], strict=True))
    assert foreign == ["p2", "p2", "p3", "p0", "p1", "p0"]


def _echo_examples(n: int, seed: int) -> pd.DataFrame:
    """Conversations whose reply repeats the word the context names."""
    rng = random.Random(seed)
    rows = []
    for k in range(n):
        word = rng.choice(WORDS)
        context = [Turn("user", "hi"), Turn("bot", "hello"), Turn("user", word)]
        rows.append({"conversation": f"c{k}", "prompt": format_prompt(context, 3), "target": format_target(word),
                     "split": "held_out" if k % 4 == 0 else "train"})
    return pd.DataFrame(rows)


def test_context_use_grows_when_fine_tuning_teaches_the_model_to_read_its_context(tiny_model):
    from stackpipes.lm.config import LMTrainingConfig
    from stackpipes.lm.loading import load_model
    from stackpipes.lm.training import fine_tune

    model, tokenizer = load_model(tiny_model, device="cpu")
    examples = _echo_examples(400, seed=0)
    sample = held_out_sample(examples, 64, seed=0)
    before = context_use(model, tokenizer, sample, batch_size=32, max_length=64)
    train = examples.loc[examples["split"] == "train"]
    held = examples.loc[examples["split"] == "held_out"]
    config = LMTrainingConfig(loss_on="target", packing=False, seq_len=64, max_steps=150, batch_size=16,
                              learning_rate=5e-3, warmup_steps=5, subset_size=None, max_eval_examples=32)
    fine_tune(model, tokenizer, list(zip(train["prompt"], train["target"], strict=True)), config,
              output_dir="/tmp/stackpipes-echo", held_out=list(zip(held["prompt"], held["target"], strict=True)))
    after = context_use(model, tokenizer, sample, batch_size=32, max_length=64)
    assert abs(before.gap) < 0.5  # a random model reads nothing from the context
    assert after.reply_loss < before.reply_loss
    assert after.gap > before.gap + 1.0  # the true context now makes the reply far likelier than a foreign one


def test_the_batcher_answers_together_refuses_alone_and_survives_callers_that_gave_up(tiny):
    import time
    from concurrent.futures import wait

    from stackpipes.dialogue.serving import Batcher, ServiceError

    batcher = Batcher(_answerer(tiny, max_new_tokens=4), "7", window_ms=200, max_batch=8)
    try:
        first = batcher.submit([], "warm up")
        assert first.result(timeout=60)[1:] == ("7", 1)  # a lone caller: a batch of one
        gave_up = batcher.submit([], "nobody waits for me")
        gave_up.cancel()  # the caller timed out before its batch ran
        futures = [batcher.submit([Turn("user", "hi")], f"message {i}") for i in range(5)]
        futures.append(batcher.submit([Turn("user", "x" * 5000)], "a context message too long"))
        wait(futures, timeout=120)
        answered = [f.result() for f in futures[:5]]
        assert all(size > 1 for _, _, size in answered)  # answered together
        with pytest.raises(ContextError, match="at most 4096"):
            futures[5].result()
        assert batcher.alive and batcher.submit([], "still there?").result(timeout=60)[1] == "7"
        with pytest.raises(ContextError, match="non-empty"):
            batcher.submit([], "  ")
    finally:
        batcher.stop()
    time.sleep(0.1)
    assert not batcher.alive
    with pytest.raises(ServiceError, match="stopping"):
        batcher.submit([], "too late")
