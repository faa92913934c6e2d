"""Ceilings for the numbers a user can give: counts, sizes and durations.

A count without a ceiling lets one typo (an extra zero) exhaust memory or run for days. Every
pipeline parameter, step parameter and configuration field that is an amount of work is
declared with one of these (or its own `Field(le=...)`), each far above any sensible value and
below what a machine survives; a value past it fails before the first step, naming the key.
`tests/platform/test_bounds.py` walks what a user can set and names anything left unbounded.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

# Names that are not amounts of work: a seed picks a sequence; thresholds (any name ending in
# "threshold") are values of a score and may be anything the score can be.
UNBOUNDED_NAMES = frozenset({"seed"})

HOURS_PER_YEAR = 24 * 366
MAX_COLUMNS = 1_000  # columns a check or a drift report compares
MAX_ROWS = 100_000_000


def count(low: int, high: int, description: str | None = None) -> Any:
    """An int in [low, high]: `n: count(1, 168) = 24` in a step or pipeline signature."""
    return Annotated[int, Field(ge=low, le=high, description=description)]


def hours(low: float, high: float) -> Any:
    """A duration in hours in [low, high]."""
    return Annotated[float, Field(ge=low, le=high)]


def items(high: int, kind: Any = str, low: int = 0) -> Any:
    """A list of at most `high` values."""
    return Annotated[list[kind], Field(min_length=low, max_length=high)]  # type: ignore[valid-type]
