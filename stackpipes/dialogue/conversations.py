"""Chats (Telegram message tables) -> conversations -> turns -> (context, reply) examples.

A chat's messages split into conversations where the silence between two messages is longer than
`gap`, each named by its chat and first message id; within a conversation, consecutive messages of one sender are one turn (joined by a
space). Every turn after the first is a reply: its example keeps up to `context_messages` turns
before it, speakers relative to the replier.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import timedelta

import pandas as pd

from stackpipes.dialogue.prompt import Turn, format_prompt, format_target

TURN_COLUMNS = ["conversation", "turn", "sender", "text", "timestamp"]
EXAMPLE_COLUMNS = ["conversation", "turn", "context", "reply", "prompt", "target", "context_turns"]


def turns(chats: Iterable[tuple[str, pd.DataFrame]], gap: timedelta) -> pd.DataFrame:
    """One row per turn of every conversation; media-only and empty messages are left out."""
    rows = []
    for chat, messages in chats:
        messages = messages[messages["text"].str.strip() != ""].sort_values(["timestamp", "id"], kind="stable")
        key, last_time, last_sender = None, None, None
        for message in messages.itertuples(index=False):
            if last_time is None or message.timestamp - last_time > gap:
                # Named by its first message: older history added later does not rename it.
                key, last_sender = f"{chat}#{message.id}", None
            text = " ".join(message.text.split())
            if last_sender == message.sender and rows and rows[-1]["conversation"] == key:
                rows[-1]["text"] += " " + text
            else:
                count = rows[-1]["turn"] + 1 if rows and rows[-1]["conversation"] == key else 0
                rows.append({"conversation": key, "turn": count, "sender": message.sender, "text": text,
                             "timestamp": message.timestamp})
            last_time, last_sender = message.timestamp, message.sender
    return pd.DataFrame(rows, columns=TURN_COLUMNS)


def examples(table: pd.DataFrame, context_messages: int, max_context_chars: int | None = None) -> pd.DataFrame:
    """Every reply with its context: up to `context_messages` turns before it, each cut to
    `max_context_chars` (its beginning kept)."""
    rows = []
    for conversation, group in table.groupby("conversation", sort=False):
        group = group.sort_values("turn")
        senders, texts = group["sender"].tolist(), group["text"].tolist()
        for index in range(1, len(group)):
            replier = senders[index]
            start = max(0, index - context_messages)
            context = [Turn("bot" if senders[i] == replier else "user", texts[i][:max_context_chars])
                       for i in range(start, index)]
            rows.append({
                "conversation": conversation, "turn": index,
                "context": json.dumps([{"speaker": t.speaker, "text": t.text} for t in context], ensure_ascii=False),
                "reply": texts[index], "prompt": format_prompt(context, context_messages),
                "target": format_target(texts[index]), "context_turns": len(context),
            })
    return pd.DataFrame(rows, columns=EXAMPLE_COLUMNS)
