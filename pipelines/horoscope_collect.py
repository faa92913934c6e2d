"""horoscope_collect: the daily collection, from several sites to raw CSV in object storage.

scrape every source in configs/horoscope/sources (a failing one is reported and skipped) ->
land the raw rows, one object per source and day, never overwritten -> check them (GX).
The raw rows are landed before they are checked: raw data is kept whatever it holds; the check
gates what the processing pipeline reads.
"""

from __future__ import annotations

from typing import Any, Optional

from zenml import pipeline
from zenml.enums import ExecutionMode

from stackpipes.horoscope import MAX_DAYS
from stackpipes.platform.bounds import items
from steps.core import validate_dataset
from steps.horoscope import collect_horoscopes, land_raw_horoscopes

RAW_SUITE = "configs/suites/horoscope_raw.yaml"


@pipeline(execution_mode=ExecutionMode.FAIL_FAST)
def horoscope_collect(
    sources_dir: str = "configs/horoscope/sources",
    dates: Optional[items(MAX_DAYS)] = None,
    serve_bundled_sites: bool = False,
    raw_root: Optional[str] = None,
    raw_secret_name: Optional[str] = None,
) -> None:
    raw, _ = collect_horoscopes(sources_dir=sources_dir, dates=dates, serve_bundled_sites=serve_bundled_sites)
    land_raw_horoscopes(raw, raw_root=raw_root, secret_name=raw_secret_name)
    validate_dataset(raw, suite=RAW_SUITE, dataset_name="raw_horoscopes", id="check_raw", after="land_raw_horoscopes")


def report(run: Any) -> str:
    """Where a finished run's results are, for run.py to print."""
    lines = [f"Run '{run.name}': {run.status}"]
    steps = run.steps
    if "collect_horoscopes" in steps:
        meta = steps["collect_horoscopes"].run_metadata
        lines.append(f"  collected:     {meta.get('rows', '?')} rows for {meta.get('days', '?')}; "
                     f"landed {meta.get('landed', '?')}, skipped {meta.get('skipped', '?')}")
    if "land_raw_horoscopes" in steps:
        meta = steps["land_raw_horoscopes"].run_metadata
        lines.append(f"  raw objects:   {meta.get('raw_root', '?')}: {len(meta.get('written', []))} written, "
                     f"{len(meta.get('unchanged', []))} unchanged, {len(meta.get('kept_existing', []))} kept")
    lines.append("  dashboard:     python run.py dashboard  (then open the run above)")
    return "\n".join(lines)
