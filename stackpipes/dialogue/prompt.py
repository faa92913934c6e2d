"""The one text format of a dialogue example, used in training and by the service alike.

A prompt is the last messages before the reply, one per line, each tagged with its speaker
relative to the one who replies ("Bot" is the replier, "User" the other side), ending with the
reply's tag; the target is the reply itself (the trainer adds EOS). A message's own line breaks
become spaces so a line is always one message.

    User: hi, how are you?
    Bot: fine, and you?
    User: tired, long day
    Bot:| i know the feeling
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

USER_TAG, BOT_TAG = "User", "Bot"
Speaker = Literal["user", "bot"]


@dataclass(frozen=True)
class Turn:
    speaker: Speaker
    text: str


def one_line(text: str) -> str:
    return " ".join(text.split())


def format_prompt(context: Sequence[Turn], keep: int) -> str:
    """The prompt for a reply to `context` (oldest first), keeping its last `keep` messages."""
    if keep < 1:
        raise ValueError(f"keep: expected at least 1 message, got {keep}")
    lines = [f"{USER_TAG if turn.speaker == 'user' else BOT_TAG}: {one_line(turn.text)}"
             for turn in list(context)[-keep:]]
    return "\n".join([*lines, f"{BOT_TAG}:"])


def format_target(reply: str) -> str:
    return " " + one_line(reply)


def answer_from_generation(generated: str) -> str:
    """The reply in a generated continuation: up to the first line break (the model's next line
    would be the other speaker's), stripped."""
    return generated.split("\n", 1)[0].strip()
