"""The chat history: the last messages of an input, and incoming messages merged in by id."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pandas as pd

from stackpipes.chat_forecast.messages import (
    MESSAGE_COLUMNS,
    empty_messages,
    latest_versions,
    typed_messages,
)


@dataclass
class MergeStats:
    previous: int
    incoming: int
    added: int
    updated: int
    total: int


def take_last(messages: pd.DataFrame, n: Optional[int]) -> pd.DataFrame:
    """The last `n` messages by time (None: all of them)."""
    if n is None:
        return messages.reset_index(drop=True)
    if n < 1:
        raise ValueError(f"last_n must be at least 1 (or None for all), got {n}")
    ordered = messages.sort_values(["timestamp", "id"], kind="stable")
    return ordered.iloc[-n:].reset_index(drop=True)


def merge_history(history: Optional[pd.DataFrame], incoming: pd.DataFrame) -> tuple[pd.DataFrame, MergeStats]:
    """Union by id; a message in both keeps its most recent edit (incoming wins a tie)."""
    previous = empty_messages() if history is None else typed_messages(history)
    incoming = typed_messages(incoming)
    known = set(previous["id"])
    fresh = ~incoming["id"].isin(known)
    combined = latest_versions(pd.concat([previous, incoming], ignore_index=True))
    merged = typed_messages(combined.sort_values(["timestamp", "id"], kind="stable"))
    # An id counts as updated only if its row actually changed.
    joined = previous.merge(merged, on="id", suffixes=("_before", "_after"))
    joined = joined[joined["id"].isin(incoming["id"])]
    changed = pd.Series(False, index=joined.index)
    for column in MESSAGE_COLUMNS[1:]:
        before, after = joined[f"{column}_before"], joined[f"{column}_after"]
        changed |= ~((before == after) | (before.isna() & after.isna()))
    updated = int(changed.sum())
    stats = MergeStats(previous=len(previous), incoming=len(incoming), added=int(fresh.sum()),
                       updated=updated, total=len(merged))
    return merged, stats
