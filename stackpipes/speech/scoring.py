"""How close a transcript is to a reference: word error rate (jiwer) after the same normalisation
of both sides: lower case, punctuation and hyphens dropped, numbers written as words (num2words,
in the transcript's language), common English titles spelt out, Russian ё read as е."""

from __future__ import annotations

import re
from collections.abc import Sequence

ABBREVIATIONS = {"mr": "mister", "mrs": "missus", "dr": "doctor", "st": "saint"}
NUMBER = re.compile(r"(\d+(?:[.,]\d+)?)('?s\b)?")


def _plural(words: str) -> str:
    """`nineteen forty` -> `nineteen forties` (a decade: the 1940s)."""
    head, _, last = words.rpartition(" ")
    last = last[:-1] + "ies" if last.endswith("y") else last + "s"
    return f"{head} {last}".strip()


def _number_words(match: re.Match, language: str) -> str:
    from num2words import num2words

    text, plural = match.group(1).replace(",", "."), bool(match.group(2))
    try:
        if "." in text:
            words = num2words(float(text), lang=language)
        elif language == "en" and len(text) == 4 and 1100 <= int(text) <= 2099:
            words = num2words(int(text), lang="en", to="year")  # 1961: nineteen sixty-one
        else:
            words = num2words(int(text), lang=language)
    except (NotImplementedError, OverflowError, ValueError):
        return " " + match.group() + " "
    words = words.replace("-", " ").replace(",", " ")
    return " " + (_plural(words) if plural and language == "en" else words) + " "


def normalise(text: str, language: str = "en") -> str:
    """`text` as the words WER compares (see the module doc)."""
    language = language if language in ("en", "ru") else "en"
    text = NUMBER.sub(lambda m: _number_words(m, language), text.lower().replace("ё", "е"))
    text = re.sub(r"[-‐‑–—/]", " ", text)
    words = re.findall(r"\w+(?:'\w+)?", text)
    return " ".join(ABBREVIATIONS.get(word, word) if language == "en" else word for word in words)


def word_error_rate(references: Sequence[str], hypotheses: Sequence[str], language: str = "en") -> float:
    """WER over all pairs together (errors / reference words), both sides normalised."""
    import jiwer

    if len(references) != len(hypotheses) or not references:
        raise ValueError(f"word_error_rate: {len(references)} references for {len(hypotheses)} hypotheses")
    refs = [normalise(r, language) for r in references]
    hyps = [normalise(h, language) for h in hypotheses]
    if not all(refs):
        raise ValueError("word_error_rate: a reference has no words after normalisation")
    return float(jiwer.wer(refs, hyps))
