"""Spark job: raw horoscope CSVs in, cleaned date-partitioned parquet out (rules in cleaning.py).

Runs on any Spark master the config names (local[*] by default; spark://, k8s://, yarn unchanged),
in a pipeline step through `clean_with_spark`, or from the command line:

    python -m stackpipes.horoscope.spark_job --input 'raw/*.csv' --output clean/ [--master URL]
    PYSPARK_PYTHON=.venv/bin/python .venv/bin/spark-submit stackpipes/horoscope/spark_job.py \\
        --input 'raw/*.csv' --output clean/

Under spark-submit the master and driver resources come from spark-submit's own options unless
--master is given. The driver imports `stackpipes` (installed, or found from this file's place in
the project; in cluster deploy mode ship it with --py-files or the image). Only Spark SQL
functions run on executors, so they need no Python. Steps pass the input and output paths
(URIs), never Spark DataFrames. Importing this module starts nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if __package__ in (None, ""):
    # Run as a file (spark-submit): import the project, not siblings of this file, by top name.
    sys.path[0] = str(Path(__file__).resolve().parents[2])

from pydantic import BaseModel, ConfigDict, Field  # noqa: E402

from stackpipes.horoscope.cleaning import (  # noqa: E402
    OUTPUT_COLUMNS,
    RAW_COLUMNS,
    REQUIRED_COLUMNS,
    TIEBREAK_COLUMNS,
    CleaningConfig,
    CleaningStats,
    RawInputError,
)

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, Observation, SparkSession

DEFAULT_APP_NAME = "stackpipes-horoscope-cleaning"
# Settings every session gets unless the caller's conf says otherwise.
DEFAULT_CONF: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.showConsoleProgress": "false",
    # Errors only, from the driver's first line on (spark.log.level applies after start-up).
    "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile={Path(__file__).with_name('spark_log4j2.properties')}",
}
# A local master listens on loopback only and opens no web UI.
LOCAL_CONF: dict[str, str] = {
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.ui.enabled": "false",
}
# Excluded while the job writes, so that its row counts survive an empty result.
EXCLUDED_AQE_RULES = "spark.sql.adaptive.optimizer.excludedRules"
AQE_EMPTY_RELATION_RULE = "org.apache.spark.sql.execution.adaptive.AQEPropagateEmptyRelation"
# How Spark's CSV reader reports a header that is not RAW_COLUMNS (enforceSchema=false).
HEADER_MISMATCH = re.compile(
    r"Header: (?P<header>[^\n]*)\n\s*Schema: (?P<schema>[^\n]*)\n.*?CSV file: (?P<file>\S+)", re.S
)


class SparkConfig(BaseModel):
    """Where and with what resources the job runs: the `spark:` block of a pipeline config."""

    model_config = ConfigDict(extra="forbid")

    master: str | None = "local[*]"
    app_name: str = DEFAULT_APP_NAME
    conf: dict[str, str] = Field(default_factory=dict)


def spark_session(
    master: str | None = "local[*]",
    app_name: str = DEFAULT_APP_NAME,
    conf: dict[str, str] | None = None,
) -> SparkSession:
    """A Spark session on `master` (None: the one spark-submit set) with `conf` over the defaults.

    Resources are ordinary Spark settings in `conf` (spark.driver.memory, spark.executor.cores,
    spark.executor.instances, spark.kubernetes.container.image, ...). An existing session in this
    process is reused as it is, as Spark itself does.
    """
    from pyspark.sql import SparkSession

    settings = dict(DEFAULT_CONF)
    if master and master.startswith("local"):
        settings.update(LOCAL_CONF)
        # Read by the JVM launcher: without it Spark binds to the first non-loopback interface.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    settings.update(conf or {})
    builder = SparkSession.builder.appName(app_name)
    if master:
        builder = builder.master(master)
    for key, value in settings.items():
        builder = builder.config(key, str(value))
    return builder.getOrCreate()


def _raw_schema():
    from pyspark.sql.types import StringType, StructField, StructType

    return StructType([StructField(column, StringType(), nullable=True) for column in RAW_COLUMNS])


def _read_raw(spark: SparkSession, input_paths: Sequence[str]) -> DataFrame:
    """Raw rows; texts hold commas, quotes ("" escaped) and newlines, so CSV is read multi-line."""
    from pyspark.errors import AnalysisException

    if not input_paths:
        raise RawInputError("input_paths is empty; expected at least one CSV path or glob")
    reader = spark.read.options(
        header=True, multiLine=True, quote='"', escape='"', encoding="UTF-8",
        mode="FAILFAST", enforceSchema=False,  # a header that is not RAW_COLUMNS fails the job
    )
    try:
        return reader.csv(list(input_paths), schema=_raw_schema())
    except AnalysisException as exc:
        if exc.getCondition() == "PATH_NOT_FOUND":
            raise RawInputError(f"--input {list(input_paths)}: {exc.getMessage()}") from None
        raise


def clean_text_column(text: Column, config: CleaningConfig) -> Column:
    """Rule 2 of cleaning.py on a string column: the twin of `cleaning.clean_text_array`."""
    from pyspark.sql import functions as F

    rules = config.patterns("java")
    if rules.orphan_marks:
        text = F.regexp_replace(text, rules.orphan_marks, rules.orphan_marks_replacement)
    text = F.regexp_replace(text, rules.disallowed, "")
    text = F.regexp_replace(text, rules.whitespace_run, " ")
    return F.regexp_replace(text, rules.trim, "")


def _normalised(raw: DataFrame, config: CleaningConfig) -> DataFrame:
    """Rules 1 and 2 of cleaning.py with Java regular expressions."""
    from pyspark.sql import functions as F

    trim = config.patterns("java").trim
    columns = {column: F.regexp_replace(F.col(column), trim, "") for column in RAW_COLUMNS}
    columns["text"] = clean_text_column(F.col("text"), config)
    columns["sign"] = F.lower(columns["sign"])
    return raw.select(*[F.nullif(value, F.lit("")).alias(name) for name, value in columns.items()])


def _first_per(rows: DataFrame, keys: Sequence[str], config: CleaningConfig) -> DataFrame:
    """The first row of each `keys` group in the total order of rule 5."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    fetched = F.col("fetched_at")
    first_fetch = fetched.asc_nulls_last() if config.keep == "earliest" else fetched.desc_nulls_last()
    order = [first_fetch] + [F.col(column).asc_nulls_last() for column in TIEBREAK_COLUMNS]
    window = Window.partitionBy(*keys).orderBy(*order)
    ranked = rows.withColumn("_rank", F.row_number().over(window))
    return ranked.filter(F.col("_rank") == 1).drop("_rank")


def clean_dataframe(raw: DataFrame, config: CleaningConfig) -> tuple[DataFrame, list[Observation]]:
    """Cleaned rows (lazy) and the Observations of rows in, dropped and out, set by the action.

    Run the action inside `_observations_kept(spark)`, or an output with no rows loses them.
    """
    from pyspark.sql import Observation
    from pyspark.sql import functions as F

    rows = _normalised(raw, config)
    usable = F.lit(True)
    for column in REQUIRED_COLUMNS:
        usable = usable & F.col(column).isNotNull()
    in_range = F.length("text").between(config.min_chars, config.max_chars)
    counted_in = Observation("horoscope_cleaning_in")
    rows = rows.observe(
        counted_in,
        F.count(F.lit(1)).alias("rows_in"),
        F.count(F.when(~usable, 1)).alias("empty_dropped"),
        F.count(F.when(usable & ~in_range, 1)).alias("length_dropped"),
    )
    kept = rows.filter(usable & in_range)
    if config.dedup_keys:
        kept = _first_per(kept, config.dedup_keys, config)
    if config.dedup_text:
        kept = _first_per(kept, ["text"], config)
    kept = kept.withColumn("n_chars", F.length("text")).select(*OUTPUT_COLUMNS)
    counted_out = Observation("horoscope_cleaning_out")
    return kept.observe(counted_out, F.count(F.lit(1)).alias("rows_out")), [counted_in, counted_out]


def clean_with_spark(
    spark: SparkSession,
    input_paths: Sequence[str],
    output_path: str,
    config: CleaningConfig | None = None,
) -> CleaningStats:
    """Clean raw CSVs (paths or globs) into parquet partitioned by date, replacing `output_path`.

    The whole output is overwritten (static mode, whatever the cluster default), so a re-run on
    the same input gives the same rows and leaves no partition of an earlier run behind.
    """
    from py4j.protocol import Py4JJavaError

    config = config or CleaningConfig()
    clean, (counted_in, counted_out) = clean_dataframe(_read_raw(spark, input_paths), config)
    # One task per date writes one file per partition instead of one per task and date.
    writer = clean.repartition("date").write.mode("overwrite")
    try:
        with _observations_kept(spark):
            writer.option("partitionOverwriteMode", "static").partitionBy("date").parquet(output_path)
    except Py4JJavaError as exc:
        mismatch = HEADER_MISMATCH.search(str(exc))
        if mismatch:  # the header is checked on the executors while reading, so it fails here
            raise RawInputError(
                f"{mismatch['file']}: header [{mismatch['header']}]; expected [{mismatch['schema']}]"
            ) from None
        raise
    counts = {**counted_in.get, **counted_out.get}
    rows_kept = counts["rows_in"] - counts["empty_dropped"] - counts["length_dropped"]
    return CleaningStats(**counts, duplicates_dropped=rows_kept - counts["rows_out"])


@contextlib.contextmanager
def _observations_kept(spark: SparkSession) -> Iterator[None]:
    """Keep observed metrics when nothing survives the filters (Spark 4.3 loses them otherwise).

    Adaptive execution replaces a plan whose shuffle came out empty by an empty relation, and
    the metric collectors inside go with it. The rule is excluded for this action only.
    """
    previous = spark.conf.get(EXCLUDED_AQE_RULES, None)
    rules = [rule for rule in (previous or "").split(",") if rule]
    spark.conf.set(EXCLUDED_AQE_RULES, ",".join([*rules, AQE_EMPTY_RELATION_RULE]))
    try:
        yield
    finally:
        if previous is None:
            spark.conf.unset(EXCLUDED_AQE_RULES)
        else:
            spark.conf.set(EXCLUDED_AQE_RULES, previous)


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"--conf {text!r}: expected key=value")
    return key.strip(), value


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    defaults = CleaningConfig()
    parser = argparse.ArgumentParser(prog="spark_job", description=__doc__.splitlines()[0])
    parser.add_argument("--input", action="extend", nargs="+", required=True,
                        help="raw CSV paths or globs (Spark expands them), repeatable")
    parser.add_argument("--output", required=True, help="output folder (replaced)")
    parser.add_argument("--min-chars", type=int, default=defaults.min_chars)
    parser.add_argument("--max-chars", type=int, default=defaults.max_chars)
    parser.add_argument("--master", default=None,
                        help="Spark master URL (default: spark-submit's, else local[*])")
    parser.add_argument("--app-name", default=DEFAULT_APP_NAME)
    parser.add_argument("--conf", action="append", type=_key_value, default=[],
                        help="Spark setting key=value, repeatable")
    return parser.parse_args(argv)


def _launched_by_spark_submit() -> bool:
    # spark-submit starts the JVM first and hands its gateway to the Python driver.
    return "PYSPARK_GATEWAY_PORT" in os.environ


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    master = args.master or (None if _launched_by_spark_submit() else "local[*]")
    try:
        config = CleaningConfig(min_chars=args.min_chars, max_chars=args.max_chars)
        spark = spark_session(master, args.app_name, dict(args.conf))
        try:
            stats = clean_with_spark(spark, args.input, args.output, config)
        finally:
            spark.stop()
    except ValueError as exc:  # input or settings the user can fix: no Java stack trace
        print(f"spark_job: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"output": args.output, **stats.model_dump()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
