"""Horoscope cleaning: the landed raw CSVs through the Spark job to a clean parquet dataset, and the
clean rows as this run's corpus.

Steps pass the parquet URI, never a Spark DataFrame. A re-run on the same raw input and cleaning
rules finds the clean dataset it made before and does not run Spark again.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any, Optional

import pandas as pd
from zenml import log_metadata, step
from zenml.logger import get_logger

import materializers.horoscope  # noqa: F401  (registers its materializers)
from stackpipes.horoscope import CORPUS_ARTIFACT, MAX_DAYS
from stackpipes.horoscope.cleaning import CleaningConfig
from stackpipes.horoscope.spark_job import SparkConfig
from stackpipes.platform.bounds import items

logger = get_logger(__name__)


@step(enable_cache=False)  # new raw objects may have landed since the last run
def clean_horoscopes(
    raw_root: Optional[str] = None,
    secret_name: Optional[str] = None,
    dates: Optional[items(MAX_DAYS)] = None,
    cleaning: Optional[CleaningConfig] = None,
    spark: Optional[SparkConfig] = None,
) -> tuple[Annotated[str, "clean_parquet_uri"], Annotated[dict[str, Any], "clean_suite"]]:
    """Run the Spark cleaning job over the landed raw CSVs (all days, or `dates`).

    `cleaning` is a CleaningConfig (length bounds, dedup), `spark` a SparkConfig (master URL,
    app name, Spark conf). Returns the clean parquet URI and the GX suite for it, with the bounds
    of this cleaning config.
    """
    from stackpipes.core.landing import list_raw
    from stackpipes.horoscope.cleaning import CleaningConfig, clean_suite
    from stackpipes.horoscope.spark_job import SparkConfig, clean_with_spark, spark_session
    from stackpipes.horoscope.storage import (
        clean_location,
        is_done,
        publish_clean,
        raw_location,
        stage_raw,
    )
    from stackpipes.platform.objectstore import filesystem

    config = cleaning or CleaningConfig()
    spark_config = spark or SparkConfig()
    root, secret = raw_location(raw_root, secret_name)
    uris = list_raw(root, secret, dates)
    if not uris:
        raise ValueError(
            f"no raw horoscopes under {root}" + (f" for {', '.join(dates)}" if dates else "")
            + ": run the horoscope_collect pipeline first"
        )
    clean_uri = clean_location(root, uris, config.model_dump_json())
    suite = clean_suite(config).model_dump(mode="json")
    fs, _ = filesystem(root, secret)  # raw and clean data share one store: one credential lookup
    if is_done(fs, clean_uri):
        logger.info("Clean dataset for these %d raw objects already exists: %s", len(uris), clean_uri)
        log_metadata({"clean_uri": clean_uri, "raw_objects": len(uris), "reused": True})
        return clean_uri, suite

    with tempfile.TemporaryDirectory(prefix="stackpipes-spark-") as work:
        staged = Path(work, "raw")
        staged.mkdir()
        local_inputs = stage_raw(fs, uris, staged)
        session = spark_session(spark_config.master, spark_config.app_name, spark_config.conf)
        try:
            stats = clean_with_spark(session, local_inputs, str(Path(work, "clean")), config)
        finally:
            if spark_config.master and spark_config.master.startswith("local"):
                session.stop()  # a local session holds a JVM and its memory; a cluster's is shared
        publish_clean(fs, Path(work, "clean"), clean_uri)
    logger.info("Spark cleaning: %s -> %s", stats.model_dump(), clean_uri)
    log_metadata({"clean_uri": clean_uri, "raw_objects": len(uris), "reused": False, **stats.model_dump(),
                  "spark_master": spark_config.master or "spark-submit's"})
    return clean_uri, suite


@step
def load_clean_corpus(
    clean_parquet_uri: str, secret_name: Optional[str] = None
) -> tuple[Annotated[pd.DataFrame, CORPUS_ARTIFACT], Annotated[int, "corpus_rows"]]:
    """The clean rows as a table (the training corpus of this run) and their count."""
    from stackpipes.horoscope.cleaning import read_clean_parquet
    from stackpipes.horoscope.storage import raw_location
    from stackpipes.platform.objectstore import storage_options

    _, secret = raw_location(None, secret_name)
    corpus = read_clean_parquet(clean_parquet_uri, storage_options(clean_parquet_uri, secret))
    log_metadata({"rows": len(corpus), "days": int(corpus["date"].nunique()) if len(corpus) else 0})
    return corpus.sort_values(["date", "sign", "source"], kind="stable").reset_index(drop=True), len(corpus)
