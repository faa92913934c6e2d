"""Horoscope cleaning at 10^4, 10^5 and 10^6 raw rows: the Spark job against the same rules in pandas.

Generates raw rows as CSV into a temporary folder (EN and RU texts of mixed lengths, emoji and
symbols, whitespace runs, commas and quotes, re-fetches, syndicated copies, empty rows), then runs
on each size, on the same machine:
  - pandas: `clean_csv_to_parquet_pandas` (read CSV, clean, write date-partitioned parquet),
  - Spark:  `clean_with_spark` on one session (local[*] unless --master says otherwise).
The Spark session start and a warm-up job on a small input are timed once, apart from the job
times. Both engines must report the same row counts, or the run stops.

Prints a table and writes bench/results/spark_scaling.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))

from stackpipes.horoscope.cleaning import CleaningStats, clean_csv_to_parquet_pandas  # noqa: E402
from stackpipes.horoscope.schema import RAW_COLUMNS, SIGNS  # noqa: E402

EN_SENTENCES = (
    "The stars favour bold plans today, but keep an eye on the details.",
    "A conversation you have been postponing finally brings relief.",
    "Money matters look steady; avoid impulse purchases after sunset.",
    'Someone close says "yes" to an idea you had almost given up on.',
    "Your energy peaks in the afternoon, so schedule the hard work then.",
    "An old friend returns with news that changes your weekend plans.",
    "Patience pays off: the answer you wait for arrives by evening.",
    "Travel, study and paperwork go smoothly, provided you double-check dates.",
    "Romance is playful; let the other person lead for once.",
    "At work, a small mistake turns into a useful lesson, not a disaster.",
    "Rest is not laziness today; your body asks for an early night.",
    "Trust your intuition with numbers, but sign nothing before noon.",
    "A creative hobby brings more joy than the chores on your list.",
    "Family needs your calm voice, even if you would rather stay silent.",
    "The Moon in your sign sharpens feelings; name them, then let them go.",
    "Unexpected help comes from a colleague you rarely talk to.",
)
RU_SENTENCES = (
    "Сегодня звёзды на вашей стороне: смело беритесь за новое.",
    "Разговор, который вы откладывали, наконец принесёт облегчение.",
    "Финансы стабильны, но вечером лучше избегать спонтанных покупок.",
    "Близкий человек скажет «да» идее, от которой вы почти отказались.",
    "Пик энергии придётся на вторую половину дня, планируйте дела заранее.",
    "Старый друг вернётся с новостями, которые изменят ваши планы на выходные.",
    "Терпение окупится: ответ, которого вы ждёте, придёт к вечеру.",
    "Поездки, учёба и документы пройдут гладко, если проверить даты.",
    "В любви день игривый; позвольте партнёру проявить инициативу.",
    "На работе маленькая ошибка станет полезным уроком, а не катастрофой.",
    "Отдых сегодня не лень: организм просит лечь пораньше.",
    "Доверяйте интуиции в цифрах, но ничего не подписывайте до полудня.",
    "Творческое хобби принесёт больше радости, чем список дел.",
    "Семье нужен ваш спокойный голос, даже если хочется промолчать.",
    "Луна в вашем знаке обостряет чувства: назовите их и отпустите.",
    "Неожиданная помощь придёт от коллеги, с которым вы редко общаетесь.",
)
# Between sentences: mostly a space, sometimes what the cleaning must remove or collapse.
SEPARATORS = (" ", " ", " ", " ", " ", "  ", "\n", " ✨ ", " ★ ", " 🔮✨ ", " © ", "\t", " 💫 ")
DAYS = 365
ROWS_PER_SOURCE = len(SIGNS) * DAYS


def _text(pick: random.Random, sentences: tuple[str, ...], target: int, lucky: int) -> str:
    parts = [f"Lucky number: {lucky}." if sentences is EN_SENTENCES else f"Число дня: {lucky}."]
    length = len(parts[0])
    while length < target:
        sentence = pick.choice(sentences)
        parts.append(pick.choice(SEPARATORS))
        parts.append(sentence)
        length += len(sentence) + 1
    return "".join(parts)[:target].rstrip()


def _target_lengths(rng: np.random.Generator, n_rows: int) -> np.ndarray:
    """70% within 300..500 characters, 15% shorter, 15% longer, as scraped pages come."""
    kind = rng.random(n_rows)
    return np.where(kind < 0.70, rng.integers(300, 501, n_rows),
                    np.where(kind < 0.85, rng.integers(80, 300, n_rows), rng.integers(501, 1200, n_rows)))


def generate_raw(n_rows: int, folder: Path, n_files: int, seed: int = 0) -> list[str]:
    """`n_rows` raw rows as CSV files in `folder`: a year of daily horoscopes from many sources."""
    rng = np.random.default_rng(seed)
    pick = random.Random(seed)  # per-row choices: much faster than numpy for single values
    n_repeats = int(n_rows * 0.08)  # re-fetches of a (date, sign, source) and syndicated copies
    n_unique = n_rows - n_repeats
    n_sources = -(-n_unique // ROWS_PER_SOURCE)
    slots = rng.choice(n_sources * ROWS_PER_SOURCE, size=n_unique, replace=False)
    source_index, rest = np.divmod(slots, ROWS_PER_SOURCE)
    day, sign_index = np.divmod(rest, len(SIGNS))
    dates = (np.datetime64("2025-01-01") + day).astype(str)
    targets = _target_lengths(rng, n_unique)
    lucky = rng.integers(1, 100, n_unique)
    hours = rng.integers(0, 24, n_unique)
    rows = []
    for i in range(n_unique):
        russian = source_index[i] % 2 == 1
        source = f"{'goroskop-ru' if russian else 'astro-en'}-{source_index[i]:03d}"
        sign = SIGNS[sign_index[i]]
        text = _text(pick, RU_SENTENCES if russian else EN_SENTENCES, int(targets[i]), int(lucky[i]))
        rows.append([dates[i], sign, source, text, f"https://{source}.example/{dates[i]}/{sign}",
                     f"{dates[i]}T{hours[i]:02d}:00:00+00:00"])
    for j in rng.integers(0, n_unique, n_repeats):
        date, sign, source, text, url, fetched = rows[j]
        if pick.random() < 0.7:  # fetched again hours later, sometimes with new decoration
            text = text if pick.random() < 0.5 else f"✨ {text}  "
            rows.append([date, sign, source, text, url, f"{date}T23:59:00+00:00"])
        else:  # the same text syndicated by an aggregator under another sign
            other = SIGNS[(SIGNS.index(sign) + 1) % len(SIGNS)]
            rows.append([date, other, "aggregator", text, f"https://aggregator.example/{date}", fetched])
    raw = pd.DataFrame(rows, columns=list(RAW_COLUMNS))
    empty = rng.random(len(raw)) < 0.03  # blank or symbol-only texts, missing signs
    raw.loc[empty, "text"] = rng.choice(["", "   ", "✨ ★ ©", "🔮"], int(empty.sum()))
    raw.loc[rng.random(len(raw)) < 0.005, "sign"] = ""
    raw = raw.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    paths = []
    for index, positions in enumerate(np.array_split(np.arange(len(raw)), n_files)):
        path = folder / f"raw-{index:02d}.csv"
        raw.iloc[positions].to_csv(path, index=False)
        paths.append(str(path))
    return paths


def _timed(run) -> tuple[float, CleaningStats]:
    start = time.perf_counter()
    stats = run()
    return time.perf_counter() - start, stats


def measure_size(spark, n_rows: int, work: Path, n_files: int) -> dict:
    folder = work / f"raw-{n_rows}"
    folder.mkdir()
    start = time.perf_counter()
    paths = generate_raw(n_rows, folder, n_files)
    generate_s = time.perf_counter() - start
    pandas_s, pandas_stats = _timed(lambda: clean_csv_to_parquet_pandas(paths, str(work / "out-pandas")))
    from stackpipes.horoscope.spark_job import clean_with_spark

    spark_s, spark_stats = _timed(lambda: clean_with_spark(spark, paths, str(work / "out-spark")))
    if spark_stats != pandas_stats:
        sys.exit(f"{n_rows} rows: engines disagree\n  pandas {pandas_stats}\n  spark  {spark_stats}")
    csv_bytes = sum(os.path.getsize(p) for p in paths)
    shutil.rmtree(folder)
    return {
        "rows": n_rows, "csv_mb": round(csv_bytes / 2**20, 1), "generate_s": round(generate_s, 2),
        "pandas_s": round(pandas_s, 2), "spark_s": round(spark_s, 2),
        "pandas_rows_per_s": round(n_rows / pandas_s), "spark_rows_per_s": round(n_rows / spark_s),
        "spark_over_pandas": round(spark_s / pandas_s, 2), "stats": pandas_stats.model_dump(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated row counts")
    parser.add_argument("--master", default="local[*]")
    parser.add_argument("--driver-memory", default="2g")
    parser.add_argument("--files", type=int, default=8, help="CSV files per size")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]

    from stackpipes.horoscope.spark_job import clean_with_spark, spark_session

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="stackpipes-spark-bench-") as tmp:
        work = Path(tmp)
        start = time.perf_counter()
        spark = spark_session(args.master, "spark-scaling-bench", {"spark.driver.memory": args.driver_memory})
        session_s = time.perf_counter() - start
        warm = work / "warm-up"
        warm.mkdir()
        warm_up_s, _ = _timed(lambda: clean_with_spark(spark, generate_raw(2000, warm, 2, seed=1),
                                                        str(work / "warm-up-out")))
        measured = [measure_size(spark, n_rows, work, args.files) for n_rows in sizes]
        spark_cores = spark.sparkContext.defaultParallelism
        spark.stop()

    wins = [m["rows"] for m in measured if m["spark_s"] < m["pandas_s"]]
    result = {
        "machine": {"cpu_count": os.cpu_count(), "spark_cores": spark_cores, "python": platform.python_version(),
                    "load_avg_1m_before": round(load_before[0], 2), "load_avg_1m_after": round(os.getloadavg()[0], 2)},
        "master": args.master, "driver_memory": args.driver_memory, "csv_files_per_size": args.files,
        "spark_session_start_s": round(session_s, 2), "spark_warm_up_job_s": round(warm_up_s, 2),
        "sizes": measured, "spark_wins_at_rows": wins,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "spark_scaling.json").write_text(json.dumps(result, indent=2))

    print(f"Spark session start {session_s:.1f} s, warm-up job (2,000 rows) {warm_up_s:.1f} s "
          f"(not in the job times below); {args.master}, {spark_cores} cores")
    print(f"{'rows':>9} {'CSV MB':>7} {'pandas s':>9} {'spark s':>8} {'pandas rows/s':>14} "
          f"{'spark rows/s':>13} {'spark/pandas':>13}")
    for m in measured:
        print(f"{m['rows']:>9,} {m['csv_mb']:>7.1f} {m['pandas_s']:>9.2f} {m['spark_s']:>8.2f} "
              f"{m['pandas_rows_per_s']:>14,} {m['spark_rows_per_s']:>13,} {m['spark_over_pandas']:>13.2f}")
    verdict = (f"Spark is faster at {', '.join(f'{n:,}' for n in wins)} rows" if wins
               else "Spark is faster at none of these sizes on this machine")
    print(f"{verdict}. Load average (1 min) {load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after.")
    print(f"written: {RESULTS / 'spark_scaling.json'}")


if __name__ == "__main__":
    main()
