"""Comment collection: every configured API source (a failing one is reported and skipped), landed raw."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal, Optional

import pandas as pd
from zenml import log_metadata, step
from zenml.logger import get_logger

import materializers.ratings  # noqa: F401  (registers its materializers)
from stackpipes.platform.env import PROJECT_ROOT

logger = get_logger(__name__)
SAMPLE_PORT_VARIABLE = "STACKPIPES_YOUTUBE_SAMPLE_PORT"  # the port the bundled sample API is served on


@step(enable_cache=False)  # what an API answers changes from one run to the next
def collect_comments(
    sources_dir: str = "configs/ratings/sources",
    source: Literal["auto", "live", "bundled"] = "auto",
    date: Optional[str] = None,
) -> tuple[Annotated[pd.DataFrame, "raw_comments"], Annotated[str, "collection_report"]]:
    """Each source's queries, videos and comments for the collection day (`date`, default today, UTC).

    `auto`: the live API for a source whose key is in the environment or its ZenML secret, else
    the bundled sample served on 127.0.0.1; `live` requires a key; `bundled` never uses one.
    """
    import os
    from datetime import datetime, timezone

    from stackpipes.ratings.sample_api import API_PREFIX, serve_sample
    from stackpipes.ratings.sources import load_sources
    from stackpipes.ratings.youtube import api_key, collect_source

    folder = Path(sources_dir) if Path(sources_dir).is_absolute() else PROJECT_ROOT / sources_dir
    specs = load_sources(folder)
    day = date or datetime.now(timezone.utc).date().isoformat()
    datetime.strptime(day, "%Y-%m-%d")  # a bad date fails here, naming it
    results = []
    for spec in specs:
        key = api_key(spec) if source != "bundled" else None
        if source == "live" and key is None:
            raise ValueError(f"source: live, but no API key for '{spec.name}': set {spec.key_variable} "
                             f"or the ZenML secret '{spec.secret_name}' (key api_key)")
        if key is not None:
            results.append(collect_source(spec, day, key=key))
            continue
        logger.info("%s: no API key (%s or ZenML secret '%s'): collecting the bundled sample on 127.0.0.1",
                    spec.name, spec.key_variable, spec.secret_name)
        # A fixed port keeps runs alike; 0 (the default here) picks a free one
        with serve_sample(port=int(os.environ.get(SAMPLE_PORT_VARIABLE, "0")), port_variable=SAMPLE_PORT_VARIABLE) as server:
            results.append(collect_source(spec, day, base_url=server.url + API_PREFIX))
    reports = [r.report.model_dump() for r in results]
    kept = [r.rows for r in results if not r.rows.empty]
    rows = pd.concat(kept, ignore_index=True) if kept else results[0].rows.iloc[0:0]
    log_metadata({"day": day, "rows": len(rows), "sources": {r.report.source: r.report.status for r in results},
                  "live": [r.report.source for r in results if r.report.live]})
    if rows.empty:
        raise ValueError(f"no source could be collected for {day}: " + "; ".join(r.report.describe() for r in results))
    return rows, json.dumps(reports, indent=2)


@step(enable_cache=False)
def land_raw_comments(
    raw_comments: pd.DataFrame, raw_root: Optional[str] = None, secret_name: Optional[str] = None,
) -> Annotated[list[str], "raw_objects"]:
    """One CSV object per source, query and day; an object already landed is never overwritten."""
    from stackpipes.core.landing import land_raw, landing_root
    from stackpipes.ratings.schema import PARTITIONS, RAW_COLUMNS, VOLATILE_COLUMNS

    root, secret = landing_root("ratings", raw_root, secret_name)
    report = land_raw(raw_comments, root, RAW_COLUMNS, VOLATILE_COLUMNS, secret_name=secret, partitions=PARTITIONS)
    logger.info("Raw landing under %s: %s", root, report.summary())
    log_metadata({"raw_root": root, "written": report.written, "unchanged": report.unchanged,
                  "kept_existing": report.kept_existing})
    return [obj.uri for obj in report.objects]
