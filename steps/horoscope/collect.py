"""Daily horoscope collection: scrape every configured source (a failing one is reported, skipped)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Optional

import pandas as pd
from zenml import log_metadata, step

import materializers.horoscope  # noqa: F401  (registers its materializers)
from stackpipes.horoscope import MAX_DAYS
from stackpipes.platform.bounds import items
from stackpipes.platform.env import PROJECT_ROOT

SITES_PORT_VARIABLE = "STACKPIPES_SITES_PORT"  # the fixed port the bundled sites are served on


@step(enable_cache=False)  # what a site serves changes from one run to the next
def collect_horoscopes(
    sources_dir: str = "configs/horoscope/sources",
    dates: Optional[items(MAX_DAYS)] = None,
    serve_bundled_sites: bool = False,
) -> tuple[Annotated[pd.DataFrame, "raw_horoscopes"], Annotated[str, "collection_report"]]:
    """Scrape each source for the days; a source that fails or changed its layout is skipped.

    `serve_bundled_sites` serves data/horoscope_sites over HTTP on 127.0.0.1 for the run and
    points every source at it: the scraper fetches the bundled pages exactly as real sites.
    """
    from stackpipes.horoscope.scrape import scrape_all
    from stackpipes.horoscope.sites import serve_folder
    from stackpipes.horoscope.sources import load_sources
    from stackpipes.horoscope.storage import collection_days

    folder = Path(sources_dir) if Path(sources_dir).is_absolute() else PROJECT_ROOT / sources_dir
    specs = load_sources(folder)
    days = collection_days(dates)
    if serve_bundled_sites:
        # A fixed port (the source files' default) keeps each row's URL the same from run to run,
        # so re-landing a day finds the same content.
        port = int(os.environ.get(SITES_PORT_VARIABLE, "8299"))
        with serve_folder(port=port, port_variable=SITES_PORT_VARIABLE) as server:
            result = scrape_all(specs, days, base_urls=server.base_urls(s.name for s in specs))
    else:
        result = scrape_all(specs, days)
    reports = [report.model_dump() for report in result.reports]  # each logged as its source ended
    log_metadata({"days": days, "landed": result.landed, "skipped": result.skipped, "rows": len(result.rows)})
    if not result.landed:
        raise ValueError(
            f"no source could be collected for {', '.join(days)}: "
            + "; ".join(report.describe() for report in result.reports)
        )
    return result.rows, json.dumps(reports, indent=2)
