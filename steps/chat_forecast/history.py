"""The chat history step: incoming messages merged into the stored history, never overwriting it."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from zenml import log_metadata, step
from zenml.logger import get_logger

import materializers.chat_forecast  # noqa: F401  (registers its materializers)
from stackpipes.chat_forecast import HISTORY_ARTIFACT
from stackpipes.core.artifacts import latest_successful

logger = get_logger(__name__)


@step(enable_cache=False)
def merge_into_history(
    incoming: pd.DataFrame,
) -> Annotated[pd.DataFrame, HISTORY_ARTIFACT]:
    """Union the incoming messages with the stored history, deduplicated by message id.

    The stored history is the newest `chat_history` from a successful run; earlier versions stay
    in the artifact store, so nothing is ever overwritten. Merging the same input twice gives the
    same content (and the same content hash, so later steps are served from the cache).
    """
    from stackpipes.chat_forecast.history import merge_history

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
