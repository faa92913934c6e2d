"""A one-step pipeline that fills a store with runs quickly (bench/review.py's `review list` figure)."""

from __future__ import annotations

from zenml import pipeline, step


@step(enable_cache=False)
def one() -> int:
    return 1


@pipeline(enable_cache=False)
def tiny() -> None:
    one()
