"""Horoscope cleaning: the rules, the Spark job against its pandas twin, parquet layout, GX suite."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from pyspark.sql import functions as F

from stackpipes.core.checks import validate_dataframe
from stackpipes.horoscope.cleaning import (
    OUTPUT_COLUMNS,
    CleaningConfig,
    CleaningStats,
    RawInputError,
    clean_csv_to_parquet_pandas,
    clean_pandas,
    clean_suite,
    clean_text,
    clean_text_array,
    read_clean_parquet,
    read_raw_csv,
)
from stackpipes.horoscope.schema import RAW_COLUMNS
from stackpipes.horoscope.spark_job import (
    clean_text_column,
    clean_with_spark,
    parse_args,
    spark_session,
)

ROOT = Path(__file__).resolve().parents[2]
EN = ("The stars favour bold plans today, but keep an eye on the details, "
      'because small slips can cost time. Say "yes" to a friend; an old idea returns. ')
RU = ("Сегодня звёзды на вашей стороне: смело беритесь за новое, но не спешите с выводами. "
      "Вечер подходит для разговора с близкими, а финансы лучше не трогать. ")
QUICK_JVM = "-XX:TieredStopAtLevel=1"
NOISE = (" ✨ ", " ★\n", "  ©\t", " 😀👍🏽 ")


def clean_sample(length: int, language: str = "en", variant: int = 0) -> str:
    """A text that is already clean and exactly `length` characters long."""
    base = (f"{variant}. " if variant else "") + (EN if language == "en" else RU) * 10
    text = base[:length]
    return text if not text.endswith(" ") else text[:-1] + "."


def noisy(text: str) -> str:
    """`text` with symbols, emoji and whitespace runs that the cleaning removes."""
    words = text.split(" ")
    return "  " + "".join(w + (NOISE[i % len(NOISE)] if i % 7 == 3 else " ") for i, w in enumerate(words)) + "\n"


def row(date, sign, source, text, fetched_at, url=None):
    return {"date": date, "sign": sign, "source": source, "text": text,
            "url": url if url is not None else f"https://{source}.example/{date}/{sign}",
            "fetched_at": fetched_at}


ARIES_EN = clean_sample(400, "en")
ARIES_RU = clean_sample(450, "ru").replace("й", "и\u0306", 1)  # a decomposed й (NFD) stays
LIBRA_FULL = clean_sample(380, "en", variant=2)
SOURCE_EN = [
    row("2026-11-20", "aries", "astro-en", noisy(ARIES_EN), "2026-11-20T05:00:00+00:00"),
    # a later fetch of the same (date, sign, source): dropped, the first fetch is kept
    row("2026-11-20", "aries", "astro-en", clean_sample(420, "en", variant=1), "2026-11-20T09:00:00+00:00"),
    row("2026-11-20", "taurus", "astro-en", clean_sample(120), "2026-11-20T05:00:00+00:00"),
    row("2026-11-20", "gemini", "astro-en", clean_sample(700), "2026-11-20T05:00:00+00:00"),
    row("2026-11-21", "gemini", "astro-en", " ✨ ★ © ", "2026-11-21T05:00:00+00:00"),
    row("2026-11-21", "leo", "astro-en", clean_sample(330, variant=3), "2026-11-21T05:00:00+00:00")
    | {"sign": "  "},
    row("2026-11-21", " Virgo ", "astro-en", clean_sample(350, variant=4), "2026-11-21T05:00:00+00:00"),
    # the first fetch was truncated: the length rule drops it, so the complete later fetch stays
    row("2026-11-21", "libra", "astro-en", LIBRA_FULL[:100], "2026-11-21T01:00:00+00:00"),
    row("2026-11-21", "libra", "astro-en", LIBRA_FULL, "2026-11-21T02:00:00+00:00"),
    row("", "scorpio", "astro-en", clean_sample(330, variant=5), "2026-11-21T05:00:00+00:00"),
]
SOURCE_RU = [
    row("2026-11-20", "aries", "goroskop-ru", noisy(ARIES_RU), "2026-11-20T06:00:00+00:00"),
    # the English aries text syndicated a day later: a duplicate of the cleaned text
    row("2026-11-21", "leo", "goroskop-ru", ARIES_EN.replace(" ", "   "), "2026-11-21T06:00:00+00:00"),
    row("2026-11-22", "pisces", "goroskop-ru", clean_sample(300, "ru", variant=6), "2026-11-22T06:00:00+00:00", url=""),
    row("2026-11-22", "aries", "goroskop-ru", clean_sample(501, "ru", variant=7), "2026-11-22T06:00:00+00:00"),
    # an astral letter counts as one character in both engines: 500 is still within bounds
    row("2026-11-22", "cancer", "goroskop-ru", clean_sample(500, "ru", variant=8).replace("С", "𝐒", 1), ""),
]
EXPECTED_STATS = CleaningStats(rows_in=15, empty_dropped=3, length_dropped=4, duplicates_dropped=2, rows_out=6)


@pytest.fixture(scope="module")
def raw_paths(tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("raw")
    paths = {}
    for name, rows in (("astro_en", SOURCE_EN), ("goroskop_ru", SOURCE_RU)):
        path = folder / f"{name}.csv"
        pd.DataFrame(rows, columns=list(RAW_COLUMNS)).to_csv(path, index=False)
        paths[name] = str(path)
    paths["glob"] = str(folder / "*.csv")
    return paths


@pytest.fixture(scope="module")
def spark():
    session = spark_session("local[2]", app_name="test-spark-clean", conf={
        "spark.sql.shuffle.partitions": "2", "spark.default.parallelism": "2",
        "spark.driver.memory": "1g",
        # Tiny jobs: the quick JIT tier halves JVM start-up and warm-up on two cores.
        "spark.driver.extraJavaOptions": QUICK_JVM,
    })
    yield session
    session.stop()


@pytest.fixture(scope="module")
def pandas_result(raw_paths):
    return clean_pandas(read_raw_csv([raw_paths["glob"]]))


@pytest.fixture(scope="module")
def spark_output(spark, raw_paths, tmp_path_factory):
    output = tmp_path_factory.mktemp("spark") / "clean"
    stats = clean_with_spark(spark, [raw_paths["glob"]], str(output))
    return output, stats


def ordered(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(["date", "sign", "source", "text"]).reset_index(drop=True)


def test_clean_text_keeps_letters_digits_punctuation_and_cyrillic():
    raw = "  Овен,\tLeo + Дева: 3 дня ✨️ удачи! ★ © «да» — 50% R&D 1️⃣ $ и\u0306\n\n😀👨‍👩 end. "
    # + $ ★ © are symbols (S*), & and % punctuation (Po); emoji take their modifiers with them
    assert clean_text(raw) == "Овен, Leo Дева: 3 дня удачи! «да» — 50% R&D 1 и\u0306 end."
    assert clean_text(noisy(ARIES_EN)) == ARIES_EN and clean_text(noisy(ARIES_RU)) == ARIES_RU
    with_symbols = CleaningConfig(keep_categories=("L", "N", "P", "S"))
    assert clean_text("5 $ ★ и\u0306", with_symbols) == "5 $ ★ и"


def random_texts(count: int, seed: int = 7) -> list[str]:
    """Strings drawn from blocks assigned before Unicode 13 (Java 17's tables) and whitespace."""
    blocks = [(0x20, 0x7E), (0xA0, 0xFF), (0x300, 0x36F), (0x370, 0x3FF), (0x400, 0x4FF),
              (0x2000, 0x206F), (0x20A0, 0x20BF), (0x20D0, 0x20F0), (0x2150, 0x2189), (0x2190, 0x22FF),
              (0x2600, 0x27BF), (0x4E00, 0x4E40), (0xFE00, 0xFE0F), (0xFF10, 0xFF5A),
              (0x1D400, 0x1D4FF), (0x1F300, 0x1F64F)]
    pool = [chr(c) for lo, hi in blocks for c in range(lo, hi + 1)] + list("\t\n\r\x0b\x0c\x1c\x85  ")
    rng = random.Random(seed)
    return [rng.choice(["", " ", "\r\n"]) + "".join(rng.choices(pool, k=rng.randint(0, 40)))
            + rng.choice(["", " ", "\r\n", "\n"]) for _ in range(count)]


def test_spark_and_pyarrow_clean_every_character_alike(spark):
    texts = random_texts(3000)
    expected = [clean_text(text) for text in texts[:5]]
    from_arrow = clean_text_array(pa.array(texts, pa.string()), CleaningConfig()).to_pylist()
    assert from_arrow[:5] == expected
    frame = spark.createDataFrame([(i, text) for i, text in enumerate(texts)], "i int, text string")
    cleaned = frame.select("i", clean_text_column(F.col("text"), CleaningConfig()).alias("clean"))
    from_spark = [r["clean"] for r in sorted(cleaned.collect(), key=lambda r: r["i"])]
    assert from_spark == from_arrow
    assert sum(a != b for a, b in zip(from_arrow, texts, strict=True)) > 2500  # the sample really exercises removal


def test_pandas_counts_length_bounds_and_dedup(pandas_result):
    clean, stats = pandas_result
    assert stats == EXPECTED_STATS
    assert list(clean.columns) == list(OUTPUT_COLUMNS)
    assert clean["n_chars"].between(300, 500).all()
    assert (clean["n_chars"] == clean["text"].str.len()).all()
    assert clean["text"].is_unique and not clean.duplicated(["date", "sign", "source"]).any()
    by_key = clean.set_index(["date", "sign", "source"])["text"]
    assert by_key[("2026-11-20", "aries", "astro-en")] == ARIES_EN  # earliest fetch, cleaned
    assert by_key[("2026-11-20", "aries", "goroskop-ru")] == ARIES_RU  # Cyrillic and NFD й kept
    assert by_key[("2026-11-21", "libra", "astro-en")] == LIBRA_FULL
    assert ("2026-11-21", "virgo", "astro-en") in by_key.index  # sign trimmed and lower-cased
    assert ("2026-11-21", "leo", "goroskop-ru") not in by_key.index  # syndicated copy
    # the lengths the sample was built with; the decomposed й adds one character
    assert sorted(clean["n_chars"]) == [300, 350, 380, 400, 451, 500]
    pisces = clean[clean["sign"] == "pisces"].iloc[0]
    assert pisces["url"] is None and pisces["n_chars"] == 300


def test_latest_fetch_and_bounds_come_from_config(raw_paths):
    config = CleaningConfig(min_chars=100, max_chars=700, keep="latest")
    clean, stats = clean_pandas(read_raw_csv([raw_paths["astro_en"]]), config)
    by_key = clean.set_index(["date", "sign"])["text"]
    assert by_key[("2026-11-20", "aries")] == clean_sample(420, "en", variant=1)
    assert ("2026-11-20", "taurus") in by_key.index and ("2026-11-20", "gemini") in by_key.index
    assert stats.rows_out == len(clean) == 5
    with pytest.raises(ValueError, match="max_chars"):
        CleaningConfig(min_chars=500, max_chars=300)


def test_spark_output_equals_pandas_output(spark_output, pandas_result):
    output, spark_stats = spark_output
    clean, pandas_stats = pandas_result
    assert spark_stats == pandas_stats == EXPECTED_STATS
    from_spark = ordered(read_clean_parquet(str(output)))
    pd.testing.assert_frame_equal(from_spark, ordered(clean))


def test_output_is_parquet_partitioned_by_date(spark_output, pandas_result, tmp_path, raw_paths):
    output, _ = spark_output
    folders = sorted(p.name for p in output.iterdir() if p.is_dir())
    assert folders == ["date=2026-11-20", "date=2026-11-21", "date=2026-11-22"]
    assert all(list((output / name).glob("*.parquet")) for name in folders)
    pandas_output = tmp_path / "pandas"
    stats = clean_csv_to_parquet_pandas([raw_paths["glob"]], str(pandas_output))
    assert stats == EXPECTED_STATS
    assert sorted(p.name for p in pandas_output.iterdir() if p.is_dir()) == folders
    pd.testing.assert_frame_equal(
        ordered(read_clean_parquet(str(pandas_output))), ordered(pandas_result[0])
    )


def test_rerun_replaces_the_output(spark, raw_paths, tmp_path):
    output = str(tmp_path / "clean")
    clean_with_spark(spark, [raw_paths["glob"]], output)
    first = ordered(read_clean_parquet(output))
    clean_with_spark(spark, [raw_paths["glob"]], output)
    pd.testing.assert_frame_equal(ordered(read_clean_parquet(output)), first)
    only_en = clean_with_spark(spark, [raw_paths["astro_en"]], output)
    expected_en, _ = clean_pandas(read_raw_csv([raw_paths["astro_en"]]))
    pd.testing.assert_frame_equal(ordered(read_clean_parquet(output)), ordered(expected_en))
    assert only_en.rows_out == len(expected_en) == 3
    assert "date=2026-11-22" not in os.listdir(output)  # no partition of the earlier run is left


def test_clean_suite_passes_on_output_and_fails_on_short_text(spark_output):
    output, _ = spark_output
    clean = read_clean_parquet(str(output))
    report = validate_dataframe(clean, clean_suite(), "horoscope_clean")
    assert report.success, report.summary()
    broken = clean.copy()
    broken.loc[0, "text"] = clean_sample(120)
    broken.loc[0, "n_chars"] = 120
    failed = validate_dataframe(broken, clean_suite(), "horoscope_clean").failed
    assert {(o.expectation, o.column) for o in failed} == {
        ("expect_column_values_to_be_between", "n_chars"),
        ("expect_column_value_lengths_to_be_between", "text"),
    }
    relaxed = clean_suite(CleaningConfig(min_chars=100, max_chars=500))
    assert validate_dataframe(broken, relaxed, "horoscope_clean").success


def test_output_with_no_rows_still_counts(spark, raw_paths, tmp_path):
    header_only = tmp_path / "header_only.csv"
    header_only.write_text(",".join(RAW_COLUMNS) + "\n", encoding="utf-8")
    inputs = [raw_paths["astro_en"], str(header_only)]
    config = CleaningConfig(min_chars=600, max_chars=650)
    output = str(tmp_path / "clean")
    stats = clean_with_spark(spark, inputs, output, config)
    clean, pandas_stats = clean_pandas(read_raw_csv(inputs), config)
    assert stats == pandas_stats == CleaningStats(
        rows_in=10, empty_dropped=3, length_dropped=7, duplicates_dropped=0, rows_out=0
    )
    back = read_clean_parquet(output)
    assert back.empty and list(back.columns) == list(clean.columns) == list(OUTPUT_COLUMNS)
    pandas_output = str(tmp_path / "clean-pandas")
    assert clean_csv_to_parquet_pandas(inputs, pandas_output, config) == stats
    assert read_clean_parquet(pandas_output).empty


def test_unreadable_input_names_the_problem(spark, tmp_path):
    with pytest.raises(RawInputError, match="Path does not exist"):
        clean_with_spark(spark, [str(tmp_path / "missing" / "*.csv")], str(tmp_path / "out"))
    reordered = tmp_path / "reordered.csv"
    pd.DataFrame([SOURCE_EN[0]], columns=["date", "sign", "text", "source", "url", "fetched_at"]).to_csv(
        reordered, index=False
    )
    with pytest.raises(RawInputError, match="reordered.csv: header"):
        clean_with_spark(spark, [str(reordered)], str(tmp_path / "out"))
    with pytest.raises(RawInputError, match="reordered.csv: header"):
        read_raw_csv([str(reordered)])
    with pytest.raises(RawInputError, match="no file matches"):
        read_raw_csv([str(tmp_path / "missing" / "*.csv")])


def test_cli_arguments():
    args = parse_args(["--input", "a.csv", "b.csv", "--input", "raw/*.csv", "--output", "out",
                       "--conf", "spark.driver.memory=2g", "--conf", "spark.x=a=b", "--max-chars", "600"])
    assert args.input == ["a.csv", "b.csv", "raw/*.csv"] and args.max_chars == 600
    assert dict(args.conf) == {"spark.driver.memory": "2g", "spark.x": "a=b"}
    assert args.master is None  # spark-submit's master, else local[*]
    with pytest.raises(SystemExit):
        parse_args(["--input", "a.csv", "--output", "out", "--conf", "no-equals-sign"])


def test_spark_submit_runs_the_job_file(raw_paths, pandas_result, tmp_path):
    spark_submit = Path(sys.executable).parent / "spark-submit"
    assert spark_submit.exists(), f"{spark_submit}: pyspark installs spark-submit into the venv"
    output = tmp_path / "submitted"
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable,
           "SPARK_LOCAL_IP": "127.0.0.1"}
    command = [
        str(spark_submit), "--master", "local[1]", "--driver-memory", "1g",
        "--driver-java-options", QUICK_JVM,
        "--conf", "spark.ui.enabled=false", "--conf", "spark.sql.shuffle.partitions=2",
        str(ROOT / "stackpipes" / "horoscope" / "spark_job.py"),
        "--input", raw_paths["astro_en"], "--input", raw_paths["goroskop_ru"], "--output", str(output),
    ]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    printed = json.loads(done.stdout.strip().splitlines()[-1])
    assert CleaningStats.model_validate(printed) == EXPECTED_STATS
    pd.testing.assert_frame_equal(ordered(read_clean_parquet(str(output))), ordered(pandas_result[0]))
