"""The live Telegram source: credentials from the environment, Telethon messages to our table."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from telethon.tl.types import (
    Message,
    MessageActionPinMessage,
    MessageMediaPhoto,
    MessageService,
    PeerUser,
)

from stackpipes.telegram.live import TelegramCredentials, messages_from_telethon
from stackpipes.telegram.messages import MESSAGE_COLUMNS

FULL = {"TELEGRAM_API_ID": "12345", "TELEGRAM_API_HASH": "hash-secret", "TELEGRAM_SESSION": "session-secret",
        "TELEGRAM_CHAT": "@stackpipes"}


def test_credentials_from_env():
    assert TelegramCredentials.from_env({}) is None
    creds = TelegramCredentials.from_env(FULL)
    assert creds.api_id == 12345 and creds.chat == "@stackpipes"
    assert "hash-secret" not in repr(creds) and "session-secret" not in repr(creds)
    with pytest.raises(ValueError, match="TELEGRAM_SESSION"):
        TelegramCredentials.from_env({k: v for k, v in FULL.items() if k != "TELEGRAM_SESSION"})
    with pytest.raises(ValueError, match="must be an integer"):
        TelegramCredentials.from_env({**FULL, "TELEGRAM_API_ID": "abc"})


def test_telethon_messages_become_the_message_table():
    when = datetime(2026, 11, 20, 10, 30, tzinfo=timezone.utc)
    messages = [
        Message(id=2, peer_id=PeerUser(1), date=when, message="", media=MessageMediaPhoto(), from_id=PeerUser(7)),
        Message(id=1, peer_id=PeerUser(1), date=when.replace(minute=5), message="hello", from_id=PeerUser(5),
                edit_date=when),
        MessageService(id=3, peer_id=PeerUser(1), date=when, action=MessageActionPinMessage()),
    ]
    frame = messages_from_telethon(messages)
    assert list(frame.columns) == MESSAGE_COLUMNS
    assert frame["id"].tolist() == [1, 2]
    assert frame["sender"].tolist() == ["5", "7"]
    assert frame["has_media"].tolist() == [False, True] and frame["has_content"].all()
    assert frame["edited_at"].iloc[0] == when and str(frame["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert messages_from_telethon([]).empty
