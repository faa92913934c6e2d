"""Daily horoscope collection: scrape every configured source, land the raw rows in object storage."""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Optional

import pandas as pd
from zenml import log_metadata, step
from zenml.logger import get_logger

import materializers  # noqa: F401  (registers our materializers)
from stackpipes.env import PROJECT_ROOT, state_dir

logger = get_logger(__name__)

# Set by a stack's `environment:` (e.g. stacks/local-s3.yaml); a local folder otherwise.
RAW_ROOT_VARIABLE = "STACKPIPES_RAW_ROOT"
RAW_SECRET_VARIABLE = "STACKPIPES_RAW_SECRET_NAME"


def collection_days(dates: Optional[list[str]]) -> list[str]:
    """The days to collect: the configured ones, else today (UTC), as the daily job does."""
    return list(dates) if dates else [datetime.now(timezone.utc).date().isoformat()]


@step(enable_cache=False)  # what a site serves changes from one run to the next
def collect_horoscopes(
    sources_dir: str = "configs/horoscope/sources",
    dates: Optional[list[str]] = None,
    serve_bundled_sites: bool = False,
) -> tuple[Annotated[pd.DataFrame, "raw_horoscopes"], Annotated[str, "collection_report"]]:
    """Scrape each source for the days; a source that fails or changed its layout is skipped.

    `serve_bundled_sites` serves data/horoscope_sites over HTTP on 127.0.0.1 for the run and
    points every source at it: the scraper fetches the bundled pages exactly as real sites.
    """
    from stackpipes.horoscope.scrape import load_sources, scrape_all
    from stackpipes.horoscope.sites import serve_folder

    folder = Path(sources_dir) if Path(sources_dir).is_absolute() else PROJECT_ROOT / sources_dir
    specs = load_sources(folder)
    days = collection_days(dates)
    if serve_bundled_sites:
        # A fixed port (the source files' default) keeps each row's URL the same from run to run,
        # so re-landing a day finds the same content.
        with serve_folder(port=int(os.environ.get("STACKPIPES_SITES_PORT", "8299"))) as server:
            result = scrape_all(specs, days, base_urls=server.base_urls(s.name for s in specs))
    else:
        result = scrape_all(specs, days)
    reports = [report.model_dump() for report in result.reports]
    for report in result.reports:
        (logger.info if report.status == "ok" else logger.warning)(report.describe())
    log_metadata({"days": days, "landed": result.landed, "skipped": result.skipped, "rows": len(result.rows)})
    if not result.landed:
        raise ValueError(
            f"no source could be collected for {', '.join(days)}: "
            + "; ".join(report.describe() for report in result.reports)
        )
    return result.rows, json.dumps(reports, indent=2)


def raw_location(raw_root: Optional[str], secret_name: Optional[str]) -> tuple[str, Optional[str]]:
    """Where raw horoscopes land: the parameter, else the stack's environment, else a local folder."""
    root = raw_root or os.environ.get(RAW_ROOT_VARIABLE) or str(state_dir() / "raw")
    return f"{root.rstrip('/')}/horoscope", secret_name or os.environ.get(RAW_SECRET_VARIABLE) or None


@step(enable_cache=False)
def land_raw_horoscopes(
    raw_horoscopes: pd.DataFrame,
    raw_root: Optional[str] = None,
    secret_name: Optional[str] = None,
) -> Annotated[list[str], "raw_objects"]:
    """One CSV object per source and day; an object already landed is never overwritten."""
    from stackpipes.horoscope.landing import land_raw

    root, secret = raw_location(raw_root, secret_name)
    report = land_raw(raw_horoscopes, root, secret_name=secret)
    logger.info("Raw landing under %s: %s", root, report.summary())
    for uri in report.kept_existing:
        logger.warning("Kept the object already landed (a later run never overwrites raw data): %s", uri)
    log_metadata({"raw_root": root, "written": report.written, "unchanged": report.unchanged,
                  "kept_existing": report.kept_existing})
    return [obj.uri for obj in report.objects]
