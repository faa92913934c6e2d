"""ratings_collect: comments from the YouTube Data API (or its bundled sample) landed as raw CSV.

collect every source in configs/ratings/sources (a failing one is reported and skipped; a source
that runs out of quota keeps the queries it finished) -> land the raw rows, one object per source,
query and day, never overwritten -> check them (GX).
"""

from __future__ import annotations

from typing import Any, Literal, Optional

from zenml import pipeline
from zenml.enums import ExecutionMode

from steps.core import validate_dataset
from steps.ratings import collect_comments, land_raw_comments

RAW_SUITE = "configs/suites/ratings_raw.yaml"


@pipeline(execution_mode=ExecutionMode.FAIL_FAST)
def ratings_collect(
    sources_dir: str = "configs/ratings/sources",
    source: Literal["auto", "live", "bundled"] = "auto",
    date: Optional[str] = None,
    raw_root: Optional[str] = None,
    raw_secret_name: Optional[str] = None,
) -> None:
    raw, _ = collect_comments(sources_dir=sources_dir, source=source, date=date)
    land_raw_comments(raw, raw_root=raw_root, secret_name=raw_secret_name)
    validate_dataset(raw, suite=RAW_SUITE, dataset_name="raw_comments", id="check_raw", after="land_raw_comments")


def report(run: Any) -> str:
    """Where a finished run's results are, for run.py to print."""
    lines = [f"Run '{run.name}': {run.status}"]
    steps = run.steps
    if "collect_comments" in steps:
        meta = steps["collect_comments"].run_metadata
        lines.append(f"  collected:     {meta.get('rows', '?')} comments on {meta.get('day', '?')} "
                     f"(sources: {meta.get('sources', '?')}; live: {meta.get('live') or 'none, bundled sample'})")
    if "land_raw_comments" in steps:
        meta = steps["land_raw_comments"].run_metadata
        lines.append(f"  raw objects:   {meta.get('raw_root', '?')}: {len(meta.get('written', []))} written, "
                     f"{len(meta.get('unchanged', []))} unchanged, {len(meta.get('kept_existing', []))} kept")
    lines.append("  train on them: python run.py --stack local --pipeline ratings_train --dataset reviews")
    lines.append("  dashboard:     python run.py dashboard  (then open the run above)")
    return "\n".join(lines)
