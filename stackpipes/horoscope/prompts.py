"""The horoscope prompt format: what a (sign, day) looks like to the language model."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date as date_type
from typing import Any

from stackpipes.horoscope.schema import SIGNS
from stackpipes.lm.config import ExampleFormatError

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def format_prompt(sign: str, date: str) -> str:
    """The prompt a horoscope is generated from, e.g. 'Horoscope for Aries, 2026-11-01:\\n'."""
    if sign not in SIGNS:
        raise ExampleFormatError(f"sign {sign!r}: expected one of {', '.join(SIGNS)}")
    if not isinstance(date, str) or not ISO_DATE.match(date):
        raise ExampleFormatError(f"date {date!r}: expected a YYYY-MM-DD string")
    try:
        date_type.fromisoformat(date)
    except ValueError as error:
        raise ExampleFormatError(f"date {date!r}: not a calendar date ({error})") from None
    return f"Horoscope for {sign.capitalize()}, {date}:\n"


def format_example(sign: str, date: str, text: str, eos_token: str = "") -> str:
    """Prompt plus horoscope text (plus `eos_token` if given): one causal training text."""
    return format_prompt(sign, date) + text.strip() + eos_token


def horoscope_examples(rows: Iterable[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """(prompt, text) pairs from rows with `sign`, `date` and `text` (the raw schema's columns)."""
    pairs = []
    for row in rows:
        text = str(row.get("text") or "").strip()
        if text:
            pairs.append((format_prompt(str(row["sign"]), str(row["date"])), text))
    return pairs
