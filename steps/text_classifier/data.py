"""The labelled texts a dataset file describes: read as they are (kept), prepared and split, and
the drift frames of the new training rows and of the production model's."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from zenml import log_metadata, step
from zenml.logger import get_logger

import materializers.text_classifier  # noqa: F401  (registers its materializers)
from stackpipes.core.types import ProductionInfo
from stackpipes.text_classifier.datasets import DatasetConfig

logger = get_logger(__name__)


@step(enable_cache=False)  # the files may have changed
def load_texts(dataset: DatasetConfig) -> Annotated[pd.DataFrame, "raw_texts"]:
    """(text, label, split) exactly as the source holds them, kept as this artifact before
    anything is changed."""
    from stackpipes.text_classifier.datasets import read_raw

    raw, origin = read_raw(dataset)
    log_metadata({"origin": origin, "rows": len(raw)})
    logger.info("Read %d labelled texts from %s", len(raw), origin)
    return raw


@step
def prepare_texts(raw_texts: pd.DataFrame, dataset: DatasetConfig) -> tuple[
        Annotated[pd.DataFrame, "texts"], Annotated[int, "text_rows"]]:
    """Texts stripped, empty ones dropped, every row on a split (stratified where the source
    gives none), dev/test texts that are also training texts dropped; plus the columns the
    checks read (label known, length, the class's training rows, leak)."""
    from stackpipes.text_classifier.datasets import check_columns, prepare

    table, facts = prepare(raw_texts, dataset)
    if facts.empty_dropped:
        logger.warning("Dropped %d empty texts", facts.empty_dropped)
    if facts.leaked_dropped:
        logger.warning("Dropped %d dev/test texts that are also training texts", facts.leaked_dropped)
    counts = table["split"].value_counts()
    log_metadata({**facts.model_dump(), **{f"{s}_rows": int(counts.get(s, 0)) for s in ("train", "dev", "test")}})
    return check_columns(table, dataset), len(table)


@step
def training_descriptors(texts: pd.DataFrame) -> Annotated[pd.DataFrame, "training_texts"]:
    """The training rows with their text descriptors: the current side of drift."""
    from stackpipes.core.drift import text_descriptors

    return text_descriptors(texts.loc[texts["split"] == "train", ["text", "label"]])


@step(enable_cache=False)  # the production version changes between runs
def production_texts(production: ProductionInfo) -> Annotated[pd.DataFrame, "previous_texts"]:
    """The training rows kept with the production model, with their descriptors (the drift
    reference); empty without one."""
    from stackpipes.core.drift import text_descriptors
    from stackpipes.core.registry import load_production_model

    if not production.exists:
        return text_descriptors(pd.DataFrame({"text": pd.Series(dtype=str), "label": pd.Series(dtype=str)}))
    reference = load_production_model(production).reference
    log_metadata({"rows": len(reference), "production_version": production.version})
    return text_descriptors(reference[["text", "label"]])
