"""The live Telegram source (Telethon), used only when API credentials are configured.

Credentials come from the environment (or a ZenML secret mapped to the same names) and are never
printed: the credentials object hides the API hash and the session string in its repr.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Optional

import pandas as pd

from stackpipes.telegram.messages import MESSAGE_COLUMNS, empty_messages, typed_messages

ENV_VARS = ("TELEGRAM_API_ID", "TELEGRAM_API_HASH", "TELEGRAM_SESSION", "TELEGRAM_CHAT")


@dataclass(frozen=True)
class TelegramCredentials:
    api_id: int
    api_hash: str = field(repr=False)
    session: str = field(repr=False)  # a Telethon StringSession string
    chat: str = ""

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> Optional[TelegramCredentials]:
        """None when no TELEGRAM_* variable is set; an error naming the missing ones if some are."""
        env = os.environ if env is None else env
        present = {name: env.get(name, "") for name in ENV_VARS}
        if not any(present.values()):
            return None
        missing = [name for name, value in present.items() if not value]
        if missing:
            raise ValueError(f"live Telegram source: set {', '.join(missing)} as well (or none of {', '.join(ENV_VARS)})")
        try:
            api_id = int(present["TELEGRAM_API_ID"])
        except ValueError:
            raise ValueError("TELEGRAM_API_ID must be an integer (the api_id from my.telegram.org)") from None
        return cls(api_id, present["TELEGRAM_API_HASH"], present["TELEGRAM_SESSION"], present["TELEGRAM_CHAT"])


def configured_credentials(secret_name: str = "telegram") -> Optional[TelegramCredentials]:
    """Credentials for the live source: the environment first, then the ZenML secret `secret_name`
    (keys api_id, api_hash, session, chat); None when neither has any."""
    creds = TelegramCredentials.from_env()
    if creds is not None:
        return creds
    from stackpipes.platform.secrets import secret_values

    values = secret_values(secret_name)
    if values is None:
        return None
    return TelegramCredentials.from_env({f"TELEGRAM_{k.upper()}": str(v) for k, v in values.items()})


def _peer_id(peer: Any) -> str:
    if peer is None:
        return ""
    for attribute in ("user_id", "channel_id", "chat_id"):
        value = getattr(peer, attribute, None)
        if value is not None:
            return str(value)
    return str(peer)


def messages_from_telethon(messages: Iterable[Any]) -> pd.DataFrame:
    """Telethon `Message` objects as the message table (service messages are skipped)."""
    from telethon.tl.types import MessageService

    rows = []
    for message in messages:
        if message is None or isinstance(message, MessageService):
            continue
        text = getattr(message, "message", "") or ""
        has_media = getattr(message, "media", None) is not None
        sender = getattr(message, "sender_id", None) or _peer_id(getattr(message, "from_id", None))
        rows.append({
            "id": int(message.id),
            "timestamp": pd.Timestamp(message.date).tz_convert("UTC") if message.date.tzinfo else pd.Timestamp(message.date, tz="UTC"),
            "sender": str(sender or ""),
            "text": text,
            "has_media": has_media,
            "has_content": bool(text.strip()) or has_media,
            "edited_at": pd.Timestamp(message.edit_date) if getattr(message, "edit_date", None) else pd.NaT,
        })
    if not rows:
        return empty_messages()
    frame = pd.DataFrame(rows, columns=MESSAGE_COLUMNS)
    return typed_messages(frame.sort_values(["timestamp", "id"], kind="stable"))


def fetch_recent_messages(creds: TelegramCredentials, limit: int = 500) -> pd.DataFrame:
    """The last `limit` messages of `creds.chat`, through the Telegram API."""
    import asyncio

    from telethon import TelegramClient
    from telethon.sessions import StringSession

    async def fetch() -> list[Any]:
        async with TelegramClient(StringSession(creds.session), creds.api_id, creds.api_hash) as client:
            return list(await client.get_messages(creds.chat, limit=limit))

    messages = messages_from_telethon(asyncio.run(fetch()))
    if messages.empty:
        raise ValueError(f"the Telegram chat '{creds.chat}' returned no messages")
    return messages
