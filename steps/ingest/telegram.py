"""Chat ingestion: read the Telegram source, keep the raw input, merge into the stored history."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Optional

import pandas as pd
from zenml import log_metadata, step
from zenml.logger import get_logger

import materializers  # noqa: F401
from stackpipes.artifacts import latest_successful
from stackpipes.env import PROJECT_ROOT

logger = get_logger(__name__)

HISTORY_ARTIFACT = "chat_history"


def _live_credentials():
    """Credentials for the live source: the environment first, then the ZenML secret `telegram`."""
    from stackpipes.chat.live import TelegramCredentials

    creds = TelegramCredentials.from_env()
    if creds is not None:
        return creds
    from zenml.client import Client

    try:
        secret = Client().get_secret("telegram", allow_partial_name_match=False)
    except KeyError:
        return None
    env = {f"TELEGRAM_{k.upper()}": str(v) for k, v in secret.secret_values.items()}
    return TelegramCredentials.from_env(env)


@step(enable_cache=False)
def ingest_telegram(
    source: str = "auto",
    export_path: Optional[str] = None,
    last_n: Optional[int] = 500,
) -> tuple[Annotated[str, "raw_telegram_messages"], Annotated[pd.DataFrame, "incoming_messages"]]:
    """Read the last `last_n` messages (None: all) from the live API or an export file.

    `source`: "live" (Telethon; needs credentials), "export" (a Telegram Desktop JSON export), or
    "auto" (live when credentials exist in the environment or a ZenML secret, else the export).
    The raw input is returned untouched as its own artifact before any parsing result is used.
    """
    from stackpipes.chat.telegram import parse_export, take_last

    if source not in ("auto", "live", "export"):
        raise ValueError(f"source must be 'auto', 'live' or 'export', not {source!r}")
    creds = _live_credentials() if source in ("auto", "live") else None
    if source == "live" and creds is None:
        raise ValueError(
            "source 'live' needs TELEGRAM_API_ID, TELEGRAM_API_HASH, TELEGRAM_SESSION and "
            "TELEGRAM_CHAT in the environment or a ZenML secret named 'telegram'"
        )
    if creds is not None:
        from stackpipes.chat.live import fetch_recent_messages

        messages = fetch_recent_messages(creds, limit=last_n or 500)
        raw = messages.to_json(orient="records", date_format="iso")
        origin, warnings = f"telegram:{creds.chat}", []
    else:
        if not export_path:
            raise ValueError("source 'export' needs export_path (a Telegram Desktop result.json)")
        path = Path(os.path.expandvars(export_path))
        path = path if path.is_absolute() else PROJECT_ROOT / path
        parsed = parse_export(path)  # raises ExportError naming the file and the problem
        raw = path.read_text(encoding="utf-8", errors="replace")
        messages, warnings, origin = parsed.messages, parsed.warnings, str(path)
    for warning in warnings:
        logger.warning("%s: %s", origin, warning)
    selected = take_last(messages, last_n)
    log_metadata(
        {
            "origin": origin,
            "messages_read": len(messages),
            "messages_selected": len(selected),
            "warnings": json.dumps(warnings, ensure_ascii=False),
        }
    )
    return raw, selected


@step(enable_cache=False)
def merge_into_history(
    incoming: pd.DataFrame,
) -> Annotated[pd.DataFrame, HISTORY_ARTIFACT]:
    """Union the incoming messages with the stored history, deduplicated by message id.

    The stored history is the newest `chat_history` from a successful run; earlier versions stay
    in the artifact store, so nothing is ever overwritten. Merging the same input twice gives the
    same content (and the same content hash, so later steps are served from the cache).
    """
    from stackpipes.chat.telegram import merge_history

    stored = latest_successful(HISTORY_ARTIFACT)
    previous = stored.load() if stored is not None else None
    merged, stats = merge_history(previous, incoming)
    logger.info(
        "History: %d stored + %d incoming -> %d (%d new, %d updated)",
        stats.previous, stats.incoming, stats.total, stats.added, stats.updated,
    )
    log_metadata(
        {
            "previous_version": str(stored.version) if stored is not None else "none",
            "previous": stats.previous,
            "incoming": stats.incoming,
            "added": stats.added,
            "updated": stats.updated,
            "total": stats.total,
        }
    )
    return merged
