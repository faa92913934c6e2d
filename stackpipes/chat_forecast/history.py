"""The chat history: the last messages of an input, and incoming messages merged in by id."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pandas as pd

from stackpipes.telegram.messages import (
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


# ---- landed batches: every run's incoming messages, written once; the history derives from all


def batch_name(messages: pd.DataFrame) -> str:
    """A name from the batch's content: the same messages land once, whichever run brings them."""
    import hashlib

    typed = typed_messages(messages)
    digest = hashlib.sha256(pd.util.hash_pandas_object(typed, index=False).values.tobytes())
    digest.update(",".join(typed.columns).encode())
    return f"batch-{digest.hexdigest()[:24]}.parquet"


def land_batch(messages: pd.DataFrame, root: str, secret_name: Optional[str] = None) -> tuple[str, bool]:
    """Write `messages` once under `<root>/batches/`; returns its URI and whether it was new."""
    import io

    from stackpipes.core.landing import write_once
    from stackpipes.platform.objectstore import filesystem, full_uri

    fs, path = filesystem(root, secret_name)
    buffer = io.BytesIO()
    typed_messages(messages).to_parquet(buffer, index=False)
    target = f"{path.rstrip('/')}/batches/{batch_name(messages)}"
    return full_uri(fs, target), write_once(fs, target, buffer.getvalue())


def list_batches(root: str, secret_name: Optional[str] = None) -> list[str]:
    """Every batch landed under `root`, by name (their order does not matter to the history)."""
    from stackpipes.platform.objectstore import filesystem, full_uri

    fs, path = filesystem(root, secret_name)
    fs.invalidate_cache()  # listings are cached per process; other runs may have landed since
    return sorted(full_uri(fs, found) for found in fs.glob(f"{path.rstrip('/')}/batches/batch-*.parquet"))


def history_from_batches(uris: list[str], secret_name: Optional[str] = None) -> pd.DataFrame:
    """The history all landed batches make: one row per message id, its latest edit, by time."""
    from stackpipes.platform.objectstore import filesystem

    frames = []
    for uri in uris:
        fs, path = filesystem(uri, secret_name)
        with fs.open(path, "rb") as handle:
            frames.append(typed_messages(pd.read_parquet(handle)))
    if not frames:
        return empty_messages()
    return merge_history(None, pd.concat(frames, ignore_index=True))[0]
