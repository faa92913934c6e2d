"""The drift reference for horoscope training: the corpus the production model was trained on."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from zenml import log_metadata, step
from zenml.logger import get_logger

import materializers.horoscope  # noqa: F401  (registers its materializers)
from stackpipes.core.types import ProductionInfo
from stackpipes.horoscope import CORPUS_ARTIFACT

logger = get_logger(__name__)


@step(enable_cache=False)  # the production version changes between runs
def production_corpus(production: ProductionInfo) -> Annotated[pd.DataFrame, "previous_corpus"]:
    """The corpus the production model was trained on; empty when there is no production model."""
    from zenml.client import Client

    from stackpipes.horoscope.cleaning import OUTPUT_COLUMNS

    empty = pd.DataFrame({column: pd.Series(dtype=object) for column in OUTPUT_COLUMNS})
    if not production.exists or production.version is None:
        return empty
    version = Client().get_model_version(production.model_name, production.version)
    artifact = version.get_artifact(CORPUS_ARTIFACT)
    if artifact is None:
        logger.warning("production version %s has no '%s' artifact", production.version, CORPUS_ARTIFACT)
        return empty
    previous = artifact.load()
    log_metadata({"rows": len(previous), "production_version": production.version})
    return previous
