"""The conversations a dataset config names: Telegram Desktop exports read as they are (kept),
then messages -> conversations -> (context, reply) examples, deduplicated and split by
conversation, with the columns the checks read.

A conversation's side of the split comes from a hash of its key and the seed, so it never moves
when more conversations arrive and re-running gives the same split; no conversation is on both
sides, and a held-out example whose (context, reply) is also a training example is dropped.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Any, Optional

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from stackpipes.dialogue import CONTEXT_MESSAGES
from stackpipes.platform.bounds import count

SPLITS = ("train", "held_out")
MAX_EXPORTS = 200  # export files one dataset reads
MAX_EXPORT_BYTES = 2 * 1024**3
RAW_COLUMNS = ["file", "sha256", "bytes", "content"]


class DialogueDataError(ValueError):
    """A dataset that cannot be read: names the file or setting and what was expected."""


class DialogueChecks(BaseModel):
    """Bounds the prepared examples must meet (the GX suite of `suite`)."""

    model_config = ConfigDict(extra="forbid")

    min_examples: count(1, 100_000_000) = 100
    min_held_out: count(1, 100_000_000) = 10
    max_reply_chars: count(1, 1_000_000) = 1000
    min_conversations: count(2, 100_000_000) = 10


class DialogueData(BaseModel):
    """Where a dialogue dataset's conversations are and how they become examples."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(..., pattern=r"^[a-z][a-z0-9_]{0,40}$")
    language: str = Field("en", pattern=r"^[a-z]{2,3}$")
    exports: list[str] = Field(..., min_length=1, max_length=MAX_EXPORTS,
                               description="Telegram Desktop exports (result.json: one chat or a whole account); "
                                           "paths or globs, relative to the project root")
    conversation_gap_minutes: count(1, 60 * 24 * 30) = 120
    context_messages: count(1, 16) = CONTEXT_MESSAGES
    held_out_share: float = Field(0.15, gt=0, lt=0.5)
    seed: int = 42
    max_reply_chars: count(1, 1_000_000) = Field(
        500, description="longer replies are left out of the examples (counted); a longer context message is cut")
    max_examples: Optional[count(2, 100_000_000)] = Field(
        None, description="examples kept, whole conversations drawn by their hash; None = all")
    checks: DialogueChecks = DialogueChecks()


def as_config(data: Any) -> DialogueData:
    return data if isinstance(data, DialogueData) else DialogueData.model_validate(data)


def export_files(config: DialogueData, root: Path) -> list[Path]:
    """The export files the config names, each once, in name order; a name that matches nothing is
    an error (a typo must not train on less data silently)."""
    found: dict[str, Path] = {}
    for pattern in config.exports:
        expanded = os.path.expandvars(os.path.expanduser(pattern))
        full = expanded if os.path.isabs(expanded) else str(root / expanded)
        matches = sorted(glob.glob(full)) if glob.has_magic(full) else ([full] if os.path.exists(full) else [])
        matches = [m for m in matches if os.path.isfile(m)]
        if not matches:
            raise DialogueDataError(f"dataset.exports: {pattern!r} matches no file")
        for match in matches:
            found.setdefault(os.path.realpath(match), Path(match))
    if len(found) > MAX_EXPORTS:
        raise DialogueDataError(f"dataset.exports: {len(found)} files, at most {MAX_EXPORTS}")
    return sorted(found.values())


def read_raw(config: DialogueData, root: Path) -> pd.DataFrame:
    """Every export file as it is (its bytes, their SHA-256), read once: what is parsed later is
    exactly what is kept."""
    rows = []
    for path in export_files(config, root):
        size = path.stat().st_size
        if size > MAX_EXPORT_BYTES:
            raise DialogueDataError(f"{path}: {size:,} bytes, more than the {MAX_EXPORT_BYTES:,} an export may have")
        data = path.read_bytes()
        rows.append({"file": str(path), "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data),
                     "content": data})
    return pd.DataFrame(rows, columns=RAW_COLUMNS)


class PreparedFacts(BaseModel):
    files: int
    chats: int
    messages: int
    duplicate_messages: int
    empty_messages: int
    turns: int
    conversations: int
    examples: int
    long_replies_dropped: int
    duplicate_examples: int
    leaked_dropped: int
    train_examples: int
    held_out_examples: int
    train_conversations: int
    held_out_conversations: int
    warnings: list[str]


def _messages(raw: pd.DataFrame) -> tuple[list[tuple[str, pd.DataFrame]], dict[str, int], list[str]]:
    """Chats of every export; a chat in several exports (re-exported, overlapping) is one chat and
    a message id in it is one message: its latest edit."""
    from stackpipes.telegram.export import parse_chats
    from stackpipes.telegram.messages import latest_versions

    by_chat: dict[str, list[pd.DataFrame]] = {}
    warnings: list[str] = []
    for row in raw.itertuples(index=False):
        for chat, parsed in parse_chats(bytes(row.content), name=row.file):
            warnings += [f"{row.file} ({chat}): {w}" for w in parsed.warnings]
            by_chat.setdefault(chat, []).append(parsed.messages)
    chats, total, unique = [], 0, 0
    for chat, frames in sorted(by_chat.items()):
        frame = pd.concat(frames, ignore_index=True)
        latest = latest_versions(frame)
        total, unique = total + len(frame), unique + len(latest)
        chats.append((chat, latest))
    return chats, {"chats": len(chats), "messages": total, "duplicate_messages": total - unique}, warnings


def side(conversation: str, seed: int, held_out_share: float) -> str:
    """A conversation's split, from a hash of its key: stable as data grows."""
    digest = hashlib.sha256(f"{seed}:{conversation}".encode()).digest()
    return "held_out" if int.from_bytes(digest[:8], "big") / 2**64 < held_out_share else "train"


def _keep(conversation: str, seed: int) -> float:
    digest = hashlib.sha256(f"keep:{seed}:{conversation}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def prepare(raw: pd.DataFrame, config: DialogueData) -> tuple[pd.DataFrame, PreparedFacts]:
    """The examples table: one row per reply with its context (JSON turns), the prompt and target
    the model trains on, its split, and the columns the checks read."""
    from stackpipes.dialogue.conversations import examples, turns

    if raw.empty:
        raise DialogueDataError("dataset.exports: no export file was read")
    chats, counts, warnings = _messages(raw)
    empty = sum(int((m["text"].str.strip() == "").sum()) for _, m in chats)
    table = turns(chats, timedelta(minutes=config.conversation_gap_minutes))
    built = examples(table, config.context_messages, max_context_chars=config.max_reply_chars)
    long_replies = built["reply"].str.len() > config.max_reply_chars
    built = built.loc[~long_replies]
    duplicates = built.duplicated(["prompt", "target"])
    built = built.loc[~duplicates].copy()
    built["split"] = [side(c, config.seed, config.held_out_share) for c in built["conversation"]]
    train_pairs = set(zip(built.loc[built["split"] == "train", "prompt"],
                          built.loc[built["split"] == "train", "target"], strict=True))
    leaked = (built["split"] == "held_out") & pd.Series(
        [(p, t) in train_pairs for p, t in zip(built["prompt"], built["target"], strict=True)], index=built.index)
    built = built.loc[~leaked]
    if config.max_examples is not None and len(built) > config.max_examples:
        order = sorted(built["conversation"].unique(), key=lambda c: _keep(c, config.seed))
        sizes = built.groupby("conversation").size()
        kept, total = [], 0
        for conversation in order:  # whole conversations, as many as fit
            size = int(sizes[conversation])
            if total + size <= config.max_examples:
                kept.append(conversation)
                total += size
        built = built.loc[built["conversation"].isin(kept)]
    built = built.reset_index(drop=True)
    built["reply_chars"] = built["reply"].str.len()
    built["split_examples"] = built["split"].map(built["split"].value_counts()).astype(int)
    sides = built.groupby("conversation")["split"].nunique()
    built["conversation_on_both_sides"] = built["conversation"].map(sides).fillna(1).astype(int) > 1
    split = built["split"].value_counts()
    conversations = built.groupby("split")["conversation"].nunique()
    facts = PreparedFacts(
        files=len(raw), **counts, empty_messages=empty, turns=len(table),
        conversations=int(built["conversation"].nunique()), examples=len(built),
        long_replies_dropped=int(long_replies.sum()), duplicate_examples=int(duplicates.sum()),
        leaked_dropped=int(leaked.sum()), train_examples=int(split.get("train", 0)),
        held_out_examples=int(split.get("held_out", 0)),
        train_conversations=int(conversations.get("train", 0)),
        held_out_conversations=int(conversations.get("held_out", 0)), warnings=warnings)
    return built, facts


def suite(config: DialogueData) -> dict[str, Any]:
    """The Great Expectations suite (the shared checks' format) for a prepared examples table."""
    checks = config.checks
    return {"name": f"dialogue_{config.name}", "expectations": [
        {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": checks.min_examples}},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "reply"}},
        {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "split", "value_set": list(SPLITS)}},
        {"type": "expect_column_values_to_be_between",
         "kwargs": {"column": "reply_chars", "min_value": 1, "max_value": checks.max_reply_chars}},
        {"type": "expect_column_values_to_be_between",
         "kwargs": {"column": "context_turns", "min_value": 1, "max_value": config.context_messages}},
        {"type": "expect_column_values_to_be_in_set",
         "kwargs": {"column": "conversation_on_both_sides", "value_set": [False]}},
        {"type": "expect_column_values_to_be_between",
         "kwargs": {"column": "split_examples", "min_value": checks.min_held_out}},
        {"type": "expect_column_unique_value_count_to_be_between",
         "kwargs": {"column": "conversation", "min_value": checks.min_conversations}},
        {"type": "expect_column_distinct_values_to_contain_set",
         "kwargs": {"column": "split", "value_set": list(SPLITS)}},
    ]}


def drift_frame(examples: pd.DataFrame) -> pd.DataFrame:
    """The training side of a table as drift compares it: each reply (`text`) with the number of
    context messages before it and the context's length, plus the shared text descriptors."""
    from stackpipes.core.drift import text_descriptors

    train = examples.loc[examples["split"] == "train"] if "split" in examples else examples
    frame = pd.DataFrame({
        "text": train["reply"].astype(str).to_numpy(),
        "context_turns": train["context_turns"].astype(float).to_numpy(),
        "context_chars": [float(sum(len(t["text"]) for t in json.loads(c))) for c in train["context"]],
    })
    return text_descriptors(frame)


DRIFT_NUMERICAL = ("context_turns", "context_chars")
