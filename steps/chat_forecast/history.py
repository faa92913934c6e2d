"""The chat history step: incoming messages merged into the stored history, never overwriting it."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from zenml import log_metadata, step
from zenml.logger import get_logger

import materializers.chat_forecast  # noqa: F401  (registers its materializers)
from stackpipes.chat_forecast import HISTORY_ARTIFACT
from stackpipes.core.artifacts import successful_versions

logger = get_logger(__name__)


def _best_history():
    """The stored history that folded in the most landed batches (the newest among equals), else the
    newest from before batches were landed, else None. Batches are never removed, so more batches
    means a later listing: concurrent runs cannot hide a message behind an older snapshot."""
    best, best_batches = None, -1
    for version in successful_versions(HISTORY_ARTIFACT, limit=10):  # concurrent runs are the newest few
        batches = version.run_metadata.get("batches")
        count = int(batches) if isinstance(batches, (int, float)) else -1
        if count > best_batches or best is None:
            best, best_batches = version, count
    return best


@step(enable_cache=False)
def merge_into_history(
    incoming: pd.DataFrame,
) -> Annotated[pd.DataFrame, HISTORY_ARTIFACT]:
    """Land the incoming messages as a batch (written once), then derive the history from every
    batch landed so far, deduplicated by message id (an edit replaces its older version).

    Nothing is read-modify-written: two runs at once each land their batch before they list the
    batches, so the later listing holds both, and the history a run reads is the stored one that
    folded in the most batches. Messages stored by an older history (before batches) are landed
    as a batch once. The same input twice gives the same content (and the same content hash, so
    later steps are served from the cache).
    """
    from zenml.client import Client

    from stackpipes.chat_forecast.history import (
        history_from_batches,
        land_batch,
        list_batches,
        merge_history,
    )
    from stackpipes.core.landing import landing_root

    root, secret = landing_root("chat_forecast")
    root = f"{root}/{Client().active_project.name}"  # histories are per ZenML project, so are batches
    batch, written = land_batch(incoming, root, secret)
    prior = _best_history()
    previous = prior.load() if prior is not None else None
    if prior is not None and "batches" not in prior.run_metadata and len(previous):
        land_batch(previous, root, secret)  # a history stored before batches: kept as one
    batches = list_batches(root, secret)
    merged, stats = merge_history(previous, history_from_batches(batches, secret))
    logger.info(
        "History: %d stored + %d incoming -> %d (%d new, %d updated) from %d landed batches",
        stats.previous, len(incoming), stats.total, stats.added, stats.updated, len(batches),
    )
    log_metadata(
        {
            "previous_version": str(prior.version) if prior is not None else "none",
            "previous": stats.previous,
            "incoming": len(incoming),
            "added": stats.added,
            "updated": stats.updated,
            "total": stats.total,
            "batch": batch,
            "batch_new": written,
            "batches": len(batches),
        }
    )
    log_metadata({"batches": len(batches)}, artifact_name=HISTORY_ARTIFACT, infer_artifact=True)
    return merged
