"""Raw horoscope landing: one CSV object per source and day, written once, never overwritten."""

from __future__ import annotations

from typing import Annotated, Optional

import pandas as pd
from zenml import log_metadata, step
from zenml.logger import get_logger

import materializers.horoscope  # noqa: F401  (registers its materializers)

logger = get_logger(__name__)


@step(enable_cache=False)
def land_raw_horoscopes(
    raw_horoscopes: pd.DataFrame,
    raw_root: Optional[str] = None,
    secret_name: Optional[str] = None,
) -> Annotated[list[str], "raw_objects"]:
    """One CSV object per source and day; an object already landed is never overwritten."""
    from stackpipes.core.landing import land_raw
    from stackpipes.horoscope.schema import RAW_COLUMNS, VOLATILE_COLUMNS
    from stackpipes.horoscope.storage import raw_location

    root, secret = raw_location(raw_root, secret_name)
    report = land_raw(raw_horoscopes, root, RAW_COLUMNS, VOLATILE_COLUMNS, secret_name=secret)
    logger.info("Raw landing under %s: %s", root, report.summary())
    for uri in report.kept_existing:
        logger.warning("Kept the object already landed (a later run never overwrites raw data): %s", uri)
    log_metadata({"raw_root": root, "written": report.written, "unchanged": report.unchanged,
                  "kept_existing": report.kept_existing})
    return [obj.uri for obj in report.objects]
