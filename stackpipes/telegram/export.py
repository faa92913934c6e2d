"""Telegram Desktop JSON exports: parsing into the message table.

Every problem with an export raises ExportError naming the file and what is wrong where; problems
that can be repaired without guessing (duplicate ids, out-of-order timestamps, service messages)
are repaired and reported as warnings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

import pandas as pd

from stackpipes.telegram.messages import latest_versions, typed_messages

MEDIA_FIELDS = (
    "photo", "file", "media_type", "sticker_emoji", "poll", "location_information",
    "contact_information", "game_information", "invoice_information",
)


class ExportError(ValueError):
    """An export that cannot be used, with the file and the problem."""


@dataclass
class ParsedMessages:
    messages: pd.DataFrame
    warnings: list[str] = field(default_factory=list)


def flatten_text(text: Any) -> str:
    """Telegram writes formatted text as a list of strings and entity objects."""
    if text is None:
        return ""
    if isinstance(text, str):
        return text
    if isinstance(text, list):
        return "".join(
            part if isinstance(part, str) else str(part.get("text", "")) if isinstance(part, dict) else str(part)
            for part in text
        )
    return str(text)


def _timestamp(message: dict[str, Any], unix_key: str, iso_key: str) -> Optional[pd.Timestamp]:
    """UTC time of a message: `*_unixtime` when present (it is UTC), else the ISO field."""
    raw_unix = message.get(unix_key)
    if raw_unix not in (None, ""):
        try:
            return pd.Timestamp(int(raw_unix), unit="s", tz="UTC")
        except (TypeError, ValueError, OverflowError):
            return None
    raw_iso = message.get(iso_key)
    if raw_iso in (None, ""):
        return None
    try:
        stamp = pd.Timestamp(raw_iso)
    except (TypeError, ValueError):
        return None
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


# Detection is trusted only when the decoded text reads as text (charset-normalizer's "chaos",
# the share of odd characters, at most MAX_CHAOS), reads as a language (coherence above 0), and no
# encoding that decodes it differently comes close on both (chaos within CHAOS_MARGIN, coherence
# within COHERENCE_MARGIN).
MAX_CHAOS = 0.1
CHAOS_MARGIN = 0.02
COHERENCE_MARGIN = 0.1


def decode_export(data: bytes, name: str) -> tuple[str, Optional[str]]:
    """The export's text, decoded strictly: UTF-8 (Telegram Desktop writes it), else an encoding
    detected without doubt (e.g. an export re-saved as cp1251), else an ExportError. The second
    value names the detected encoding when it was not UTF-8."""
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        where = f"invalid UTF-8 byte 0x{data[exc.start]:02x} at offset {exc.start}"
    replaced = data.decode("utf-8", errors="replace")
    invalid = replaced.count("\ufffd")
    if sum(1 for char in replaced if ord(char) > 127) - invalid > invalid:
        # More valid multi-byte UTF-8 than broken bytes: a UTF-8 file with damage, which any
        # single-byte code page would "decode" into mojibake. Never guessed.
        raise ExportError(
            f"{name}: not UTF-8 ({where}; {invalid} invalid byte sequence(s) in otherwise UTF-8 text); "
            "nothing was stored: the file is damaged, export the chat again"
        )
    from charset_normalizer import from_bytes

    matches = [m for m in from_bytes(data) if m.chaos <= MAX_CHAOS]
    if matches:
        best = matches[0]  # charset-normalizer's ranking: least chaos, then most coherence
        rivals = [m for m in matches[1:] if m.chaos <= best.chaos + CHAOS_MARGIN
                  and m.coherence >= best.coherence - COHERENCE_MARGIN and str(m) != str(best)]
        if best.coherence > 0 and not rivals:
            return str(best), best.encoding
    found = ", ".join(m.encoding for m in matches[:3]) or "none that reads as text"
    raise ExportError(
        f"{name}: not UTF-8 ({where}) and its encoding cannot be told for sure (candidates: {found}); "
        "nothing was stored: export the chat again (Telegram Desktop writes UTF-8) or convert the file to UTF-8"
    )


def _load(source: Union[str, Path, bytes], name: Optional[str] = None) -> tuple[Any, str, Optional[str]]:
    if isinstance(source, bytes):
        name, data = name or "<bytes>", source
    else:
        path = Path(source)
        name = name or str(path)
        if not path.is_file():
            raise ExportError(f"{name}: export file not found")
        data = path.read_bytes()
    text, encoding = decode_export(data, name)
    if not text.strip():
        raise ExportError(f"{name}: the file is empty; export contains no messages")
    try:
        return json.loads(text), name, encoding
    except json.JSONDecodeError as exc:
        raise ExportError(f"{name}: malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None


def parse_export(source: Union[str, Path, bytes], name: Optional[str] = None) -> ParsedMessages:
    """Read a Telegram Desktop export of one chat (`result.json`, a path or its bytes) into the
    message table."""
    data, name, encoding = _load(source, name)
    if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
        raise ExportError(f"{name}: not a Telegram Desktop export (expected an object with a 'messages' list)")
    return _parse_messages(data["messages"], name, encoding)


def parse_chats(source: Union[str, Path, bytes], name: Optional[str] = None) -> list[tuple[str, ParsedMessages]]:
    """Every chat of a Telegram Desktop export as `(chat name, message table)`: the export of one
    chat (an object with `messages`) or of a whole account (`chats.list`, each with its own
    `messages`). A chat's problems are named with its position and name."""
    data, name, encoding = _load(source, name)
    if isinstance(data, dict) and isinstance(data.get("messages"), list):
        return [(str(data.get("name") or name), _parse_messages(data["messages"], name, encoding))]
    chats = data.get("chats", {}).get("list") if isinstance(data, dict) and isinstance(data.get("chats"), dict) else None
    if not isinstance(chats, list):
        raise ExportError(f"{name}: not a Telegram Desktop export (expected an object with a 'messages' list, "
                          "or an account export with 'chats.list')")
    parsed = []
    for position, chat in enumerate(chats):
        where = f"{name}: chats.list[{position}]"
        if not isinstance(chat, dict) or not isinstance(chat.get("messages"), list):
            raise ExportError(f"{where}: expected a chat object with a 'messages' list")
        label = str(chat.get("name") or chat.get("id") or position)
        parsed.append((label, _parse_messages(chat["messages"], f"{where} ({label})", encoding)))
    if not parsed:
        raise ExportError(f"{name}: the account export holds no chats")
    return parsed


def _parse_messages(messages: list[Any], name: str, encoding: Optional[str]) -> ParsedMessages:
    warnings: list[str] = []
    if encoding is not None:
        warnings.append(f"not UTF-8: decoded as {encoding} (detected without doubt); the raw bytes are kept as they are")
    rows, bad_id, bad_date, service = [], [], [], 0
    for position, message in enumerate(messages):
        if not isinstance(message, dict):
            bad_id.append(f"#{position}")
            continue
        if message.get("type", "message") != "message":
            service += 1
            continue
        raw_id = message.get("id")
        if isinstance(raw_id, bool) or not isinstance(raw_id, (int, str)) or not str(raw_id).lstrip("-").isdigit():
            bad_id.append(f"#{position}")
            continue
        stamp = _timestamp(message, "date_unixtime", "date")
        if stamp is None:
            bad_date.append(f"#{position} (id {raw_id})")
            continue
        text = flatten_text(message.get("text"))
        has_media = any(message.get(key) not in (None, "", [], {}) for key in MEDIA_FIELDS)
        rows.append({
            "id": int(raw_id),
            "timestamp": stamp,
            "sender": str(message.get("from") or message.get("from_id") or ""),
            "text": text,
            "has_media": has_media,
            "has_content": bool(text.strip()) or has_media,
            "edited_at": _timestamp(message, "edited_unixtime", "edited"),
        })
    problems = []
    if bad_id:
        problems.append(f"{len(bad_id)} message(s) without an integer 'id' (at {', '.join(bad_id[:5])})")
    if bad_date:
        problems.append(f"{len(bad_date)} message(s) without a parseable 'date' (at {', '.join(bad_date[:5])})")
    if problems:
        raise ExportError(f"{name}: " + "; ".join(problems))
    if not rows:
        detail = f" ({service} service messages only)" if service else ""
        raise ExportError(f"{name}: export contains no messages{detail}")
    if service:
        warnings.append(f"dropped {service} service message(s) (joins, pins, calls)")
    frame = pd.DataFrame(rows)
    frame["edited_at"] = pd.to_datetime(frame["edited_at"], utc=True)
    if not frame["timestamp"].is_monotonic_increasing:
        warnings.append("timestamps were out of order; messages sorted by time")
    duplicates = int(frame["id"].duplicated().sum())
    if duplicates:
        warnings.append(f"{duplicates} duplicate message id(s); kept the most recently edited version")
        frame = latest_versions(frame)
    frame = frame.sort_values(["timestamp", "id"], kind="stable")
    return ParsedMessages(typed_messages(frame), warnings)
