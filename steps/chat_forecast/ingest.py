"""Chat ingestion: read the Telegram source (live or an export) and keep the raw input as it came."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Optional

import pandas as pd
from zenml import log_metadata, step
from zenml.logger import get_logger

import materializers.chat_forecast  # noqa: F401  (registers its materializers)
from stackpipes.chat_forecast import MAX_LAST_N
from stackpipes.platform.bounds import count
from stackpipes.platform.env import PROJECT_ROOT

logger = get_logger(__name__)


@step(enable_cache=False)
def ingest_telegram(
    source: str = "auto",
    export_path: Optional[str] = None,
    last_n: Optional[count(1, MAX_LAST_N)] = 500,
) -> tuple[Annotated[bytes, "raw_telegram_messages"], Annotated[pd.DataFrame, "incoming_messages"]]:
    """Read the last `last_n` messages (None: all) from the live API or an export file.

    `source`: "live" (Telethon; needs credentials), "export" (a Telegram Desktop JSON export), or
    "auto" (live when credentials exist in the environment or a ZenML secret, else the export).
    The raw input is returned as the bytes that arrived (the export file's, the live API's JSON)
    as its own artifact; decoding is strict (UTF-8, or an encoding detected without doubt).
    """
    from stackpipes.chat_forecast.history import take_last
    from stackpipes.telegram.export import ExportError, parse_export
    from stackpipes.telegram.live import configured_credentials, fetch_recent_messages

    if source not in ("auto", "live", "export"):
        raise ValueError(f"source must be 'auto', 'live' or 'export', not {source!r}")
    creds = configured_credentials() if source in ("auto", "live") else None
    if source == "live" and creds is None:
        raise ValueError(
            "source 'live' needs TELEGRAM_API_ID, TELEGRAM_API_HASH, TELEGRAM_SESSION and "
            "TELEGRAM_CHAT in the environment or a ZenML secret named 'telegram'"
        )
    if creds is not None:
        messages = fetch_recent_messages(creds, limit=last_n or 500)
        raw = messages.to_json(orient="records", date_format="iso").encode("utf-8")
        origin, warnings = f"telegram:{creds.chat}", []
    else:
        if not export_path:
            raise ValueError("source 'export' needs export_path (a Telegram Desktop result.json)")
        path = Path(os.path.expandvars(export_path))
        path = path if path.is_absolute() else PROJECT_ROOT / path
        if not path.is_file():
            raise ExportError(f"{path}: export file not found")
        raw = path.read_bytes()  # read once: what is parsed is exactly what is kept
        parsed = parse_export(raw, name=str(path))  # raises ExportError naming the file and the problem
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
