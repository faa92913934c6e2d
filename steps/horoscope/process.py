"""Horoscope processing: the landed raw CSVs through the Spark job to a clean parquet dataset.

Steps pass the parquet URI, never a Spark DataFrame. The clean dataset lives beside the raw one
(`<root>/horoscope_clean/v=<fingerprint>`), named after what it was made from (the raw objects,
which are never overwritten, and the cleaning rules): a re-run on the same input finds it and
does not run Spark again.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import Annotated, Any, Optional

import pandas as pd
from zenml import log_metadata, step
from zenml.logger import get_logger

import materializers  # noqa: F401  (registers our materializers)
from stackpipes.types import ProductionInfo
from steps.horoscope.collect import raw_location

logger = get_logger(__name__)

DONE_MARKER = "_STACKPIPES_DONE"  # written last: a dataset without it is incomplete and rebuilt
CORPUS_ARTIFACT = "horoscope_corpus"


def clean_location(raw_root: str, uris: list[str], cleaning_json: str) -> str:
    """`<root>/horoscope_clean/v=<fingerprint>` for the raw objects and cleaning rules given."""
    digest = hashlib.sha256("\n".join([cleaning_json, *sorted(uris)]).encode()).hexdigest()[:16]
    return f"{raw_root.rsplit('/', 1)[0]}/horoscope_clean/v={digest}"


def _stage_raw(fs: Any, uris: list[str], folder: Path) -> list[str]:
    """Copy the raw objects into one local folder the Spark driver reads (any store, any master
    that shares this disk; a cluster reads the object store directly through its own s3a conf)."""
    local = []
    for index, uri in enumerate(uris):
        # Names are unique per source and day; the index keeps them unique whatever the layout.
        target = folder / f"{index:05d}_{uri.rsplit('/', 1)[-1]}"
        target.write_bytes(fs.cat_file(fs._strip_protocol(uri)))
        local.append(str(target))
    return local


def _publish(fs: Any, local_output: Path, clean_uri: str) -> None:
    from stackpipes.objectstore import is_local_filesystem

    root = fs._strip_protocol(clean_uri)
    if fs.exists(root):
        fs.rm(root, recursive=True)
    if is_local_filesystem(fs):
        fs.makedirs(root, exist_ok=True)
    fs.put(f"{local_output}/", root, recursive=True)
    fs.pipe_file(f"{root}/{DONE_MARKER}", b"")


def _is_done(fs: Any, clean_uri: str) -> bool:
    fs.invalidate_cache()
    return fs.exists(f"{fs._strip_protocol(clean_uri)}/{DONE_MARKER}")


@step(enable_cache=False)  # new raw objects may have landed since the last run
def clean_horoscopes(
    raw_root: Optional[str] = None,
    secret_name: Optional[str] = None,
    dates: Optional[list[str]] = None,
    cleaning: Optional[dict[str, Any]] = None,
    spark: Optional[dict[str, Any]] = None,
) -> tuple[Annotated[str, "clean_parquet_uri"], Annotated[dict[str, Any], "clean_suite"]]:
    """Run the Spark cleaning job over the landed raw CSVs (all days, or `dates`).

    `cleaning` is a CleaningConfig (length bounds, dedup), `spark` a SparkConfig (master URL,
    app name, Spark conf). Returns the clean parquet URI and the GX suite for it, with the bounds
    of this cleaning config.
    """
    from stackpipes.horoscope.cleaning import CleaningConfig, clean_suite
    from stackpipes.horoscope.landing import list_raw
    from stackpipes.horoscope.spark_job import SparkConfig, clean_with_spark, spark_session
    from stackpipes.objectstore import filesystem

    config = CleaningConfig(**(cleaning or {}))
    spark_config = SparkConfig(**(spark or {}))
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
    if _is_done(fs, clean_uri):
        logger.info("Clean dataset for these %d raw objects already exists: %s", len(uris), clean_uri)
        log_metadata({"clean_uri": clean_uri, "raw_objects": len(uris), "reused": True})
        return clean_uri, suite

    with tempfile.TemporaryDirectory(prefix="stackpipes-spark-") as work:
        staged = Path(work, "raw")
        staged.mkdir()
        local_inputs = _stage_raw(fs, uris, staged)
        session = spark_session(spark_config.master, spark_config.app_name, spark_config.conf)
        try:
            stats = clean_with_spark(session, local_inputs, str(Path(work, "clean")), config)
        finally:
            if spark_config.master and spark_config.master.startswith("local"):
                session.stop()  # a local session holds a JVM and its memory; a cluster's is shared
        _publish(fs, Path(work, "clean"), clean_uri)
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
    from stackpipes.objectstore import storage_options

    _, secret = raw_location(None, secret_name)
    corpus = read_clean_parquet(clean_parquet_uri, storage_options(clean_parquet_uri, secret))
    log_metadata({"rows": len(corpus), "days": int(corpus["date"].nunique()) if len(corpus) else 0})
    return corpus.sort_values(["date", "sign", "source"], kind="stable").reset_index(drop=True), len(corpus)


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

