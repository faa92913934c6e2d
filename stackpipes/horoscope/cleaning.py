"""Horoscope text cleaning rules, written once as data, and their pandas implementation.

The Spark job (`spark_job.py`) applies the same rules with Spark SQL functions. Both engines take
the same regular expressions from `CleaningConfig`: Spark runs them in Java, the pandas twin with
pyarrow's RE2 kernels (Python's `re` has no Unicode category classes). The tests check that both
return the same rows.

The rules, in the order they are applied:

1. Every column is trimmed (whitespace at both ends); a value that is then empty counts as missing.
   `sign` is lower-cased.
2. `text` keeps only characters of the Unicode general categories in `keep_categories` (letters,
   combining marks, numbers and punctuation by default: Cyrillic stays; emoji, ★, ©, ✨, $ go) plus
   whitespace. A combining mark stays only when it follows a letter (so a decomposed "й" survives,
   while the variation selector after an emoji goes with it). Whitespace is the Unicode separators
   (Z*) and the ASCII controls \\t \\n \\v \\f \\r \\x1c-\\x1f \\x85; every run of it becomes one space.
3. Rows whose `date`, `sign` or `text` is missing after cleaning are dropped (`empty_dropped`).
4. Rows whose cleaned text has fewer than `min_chars` or more than `max_chars` characters (code
   points) are dropped (`length_dropped`). This comes before deduplication so that a truncated
   first fetch cannot displace a complete later one.
5. Duplicates are dropped (`duplicates_dropped`), in two passes over one total order of the rows:
   `fetched_at` ascending (descending when `keep="latest"`), then source, url, date, sign, text
   ascending; missing values sort last; strings compare by code point (Spark's binary UTF-8 order).
   `fetched_at` is compared as the ISO-8601 UTC string the collectors write.
   a. per `dedup_keys` (date, sign, source): the first row of each group is kept;
   b. then, if `dedup_text`, per cleaned text among the survivors: the first row is kept, so a
      text syndicated by several sites or reused on another day is stored once.
   Rows equal in every ordering column are equal in every output column, so which one survives
   cannot be observed.

Output columns: date, sign, source, text, url, fetched_at (strings, missing as null) and n_chars
(int32, the cleaned text's length). Category tables: Spark uses Java's (Unicode 13 on Java 17),
RE2 its own (Unicode 15.1 in pyarrow here); they differ only on characters assigned since 13.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from stackpipes.horoscope.schema import RAW_COLUMNS, SIGNS

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from stackpipes.core.checks import SuiteSpec

OUTPUT_COLUMNS: tuple[str, ...] = (*RAW_COLUMNS, "n_chars")
MAX_TEXT_CHARS = 100_000  # the longest horoscope a length rule may ask for
REQUIRED_COLUMNS: tuple[str, ...] = ("date", "sign", "text")
# The columns after fetched_at that make the dedup order total (see rule 5).
TIEBREAK_COLUMNS: tuple[str, ...] = ("source", "url", "date", "sign", "text")
CLEAN_SUITE_PATH = Path(__file__).resolve().parents[2] / "configs" / "suites" / "horoscope_clean.yaml"

Category = Literal["L", "M", "N", "P", "S"]
Engine = Literal["java", "re2"]
# ASCII and Latin-1 controls that act as whitespace (Python's str.isspace agrees on these).
_WHITESPACE_CONTROLS = r"\t\n\x0B\f\r\x1C-\x1F\x85"
# How each engine's replacement string refers to the first group.
_GROUP_ONE: dict[str, str] = {"java": "$1", "re2": "\\1"}


class RawInputError(ValueError):
    """Raw horoscope input that cannot be read: names the input and what was expected."""


class CleaningConfig(BaseModel):
    """What the cleaning keeps; both engines read their rules from here."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_chars: int = Field(default=300, ge=0, le=MAX_TEXT_CHARS)
    max_chars: int = Field(default=500, ge=1, le=MAX_TEXT_CHARS)
    # Unicode major general categories kept in text besides whitespace.
    keep_categories: tuple[Category, ...] = Field(default=("L", "M", "N", "P"), max_length=5)
    dedup_keys: tuple[str, ...] = Field(default=("date", "sign", "source"), max_length=len(RAW_COLUMNS))
    dedup_text: bool = True
    keep: Literal["earliest", "latest"] = "earliest"

    @model_validator(mode="after")
    def _check(self) -> CleaningConfig:
        if self.max_chars < self.min_chars:
            raise ValueError(
                f"max_chars ({self.max_chars}) must be >= min_chars ({self.min_chars})"
            )
        unknown = [key for key in self.dedup_keys if key not in RAW_COLUMNS]
        if unknown:
            raise ValueError(f"dedup_keys {unknown} are not raw columns; expected some of {RAW_COLUMNS}")
        return self

    def patterns(self, engine: Engine) -> TextPatterns:
        """The rules' regular expressions for Java (Spark) or RE2 (pyarrow, under pandas)."""
        return _patterns(self.keep_categories, engine)


class TextPatterns(BaseModel):
    """The cleaning rules' regular expressions, in the order applied to text.

    Java and RE2 read the same expressions (neither needs lookbehind here); only the way a
    replacement names a group differs.
    """

    model_config = ConfigDict(frozen=True)

    # combining marks that follow no letter, with the character before them as group 1
    orphan_marks: str | None
    orphan_marks_replacement: str
    disallowed: str  # one character outside the kept categories and whitespace
    whitespace_run: str
    trim: str  # whitespace at either end of a value


class CleaningStats(BaseModel):
    """Row counts of one cleaning run: rows_in = the three drops + rows_out."""

    rows_in: int
    empty_dropped: int
    duplicates_dropped: int
    length_dropped: int
    rows_out: int


def _char_class(categories: str, extra: str = "", negate: bool = False) -> str:
    """A character class of Unicode major general categories, the same in Java and RE2."""
    members = "".join("\\p{" + category + "}" for category in categories)
    return f"[{'^' if negate else ''}{members}{extra}]"


@functools.lru_cache(maxsize=16)
def _patterns(keep: tuple[str, ...], engine: str) -> TextPatterns:
    if engine not in _GROUP_ONE:
        raise ValueError(f"engine {engine!r}: expected one of {sorted(_GROUP_ONE)}")
    whitespace = _char_class("Z", _WHITESPACE_CONTROLS)
    kept = "".join(sorted(set(keep)))
    orphan_marks = None
    if "M" in keep:
        orphan_marks = f"(^|{_char_class('LM', negate=True)}){_char_class('M')}+"
    return TextPatterns(
        orphan_marks=orphan_marks,
        orphan_marks_replacement=_GROUP_ONE[engine],
        disallowed=_char_class(kept + "Z", _WHITESPACE_CONTROLS, negate=True),
        whitespace_run=f"{whitespace}+",
        trim=f"^{whitespace}+|{whitespace}+$",
    )


def clean_text_array(values: pa.Array | pa.ChunkedArray, config: CleaningConfig) -> pa.Array:
    """Rule 2 on a column of strings with pyarrow's RE2 kernels (nulls stay null)."""
    import pyarrow.compute as pc

    rules = config.patterns("re2")
    if rules.orphan_marks:
        values = pc.replace_substring_regex(values, rules.orphan_marks, rules.orphan_marks_replacement)
    values = pc.replace_substring_regex(values, rules.disallowed, "")
    values = pc.replace_substring_regex(values, rules.whitespace_run, " ")
    return pc.replace_substring_regex(values, rules.trim, "")


def clean_text(text: str, config: CleaningConfig | None = None) -> str:
    """One text after rule 2: kept characters only, whitespace runs as one space, trimmed."""
    import pyarrow as pa

    return clean_text_array(pa.array([text], pa.string()), config or CleaningConfig())[0].as_py()


def _as_arrow_text(values: pd.Series) -> pa.Array:
    """A column as arrow strings, missing values (None, NaN) as null, other values as str()."""
    import pyarrow as pa

    try:
        return pa.array(values, type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # numbers, dates: a frame not read as text
        as_str = values.astype(object).where(values.notna(), None).map(str, na_action="ignore")
        return pa.array(as_str, type=pa.string(), from_pandas=True)


def _null_if_empty(values: pa.Array) -> pa.Array:
    import pyarrow as pa
    import pyarrow.compute as pc

    return pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)


def _require_columns(frame: pd.DataFrame, where: str) -> None:
    missing = [column for column in RAW_COLUMNS if column not in frame.columns]
    if missing:
        raise RawInputError(f"{where}: missing columns {missing}; expected {list(RAW_COLUMNS)}")


def _normalised(raw: pd.DataFrame, config: CleaningConfig) -> pd.DataFrame:
    """Rules 1 and 2 on every row (object columns, missing values as None)."""
    import pandas as pd
    import pyarrow.compute as pc

    trim = config.patterns("re2").trim
    columns = {}
    for column in RAW_COLUMNS:
        values = _as_arrow_text(raw[column])
        if column == "text":
            values = clean_text_array(values, config)
        else:
            values = pc.replace_substring_regex(values, trim, "")
        if column == "sign":
            values = pc.utf8_lower(values)
        columns[column] = _null_if_empty(values).to_pandas()
    return pd.DataFrame(columns).set_axis(raw.index)


def _deduplicated(rows: pd.DataFrame, config: CleaningConfig) -> pd.DataFrame:
    """Rule 5 on rows already known to be usable and of the right length."""
    order = ["fetched_at", *TIEBREAK_COLUMNS]
    ascending = [config.keep == "earliest"] + [True] * len(TIEBREAK_COLUMNS)
    ordered = rows.sort_values(order, ascending=ascending, na_position="last", kind="stable")
    if config.dedup_keys:
        ordered = ordered.drop_duplicates(subset=list(config.dedup_keys), keep="first")
    if config.dedup_text:
        ordered = ordered.drop_duplicates(subset=["text"], keep="first")
    return ordered


def clean_pandas(
    raw: pd.DataFrame, config: CleaningConfig | None = None
) -> tuple[pd.DataFrame, CleaningStats]:
    """The cleaned rows (OUTPUT_COLUMNS, sorted by date, sign, source, text) and their counts."""
    config = config or CleaningConfig()
    _require_columns(raw, "raw horoscope frame")
    rows = _normalised(raw, config)
    usable = rows[list(REQUIRED_COLUMNS)].notna().all(axis=1)
    n_chars = rows["text"].str.len()
    in_range = usable & n_chars.between(config.min_chars, config.max_chars)
    kept = _deduplicated(rows[in_range], config)
    kept = kept.assign(n_chars=n_chars[kept.index].astype("int32"))
    kept = kept.sort_values(["date", "sign", "source", "text"], na_position="last", kind="stable")
    clean = kept.loc[:, list(OUTPUT_COLUMNS)].reset_index(drop=True)
    text_columns = list(RAW_COLUMNS)
    clean[text_columns] = clean[text_columns].astype(object).where(clean[text_columns].notna(), None)
    stats = CleaningStats(
        rows_in=len(raw),
        empty_dropped=int((~usable).sum()),
        length_dropped=int((usable & ~in_range).sum()),
        duplicates_dropped=int(in_range.sum()) - len(clean),
        rows_out=len(clean),
    )
    return clean, stats


def read_raw_csv(input_paths: Sequence[str]) -> pd.DataFrame:
    """Raw rows from CSV files (local paths, globs or fsspec URIs), every value a string.

    Empty fields stay "" (no "NA"/"null" guessing), as Spark reads them with an explicit schema.
    """
    import fsspec
    import pandas as pd

    files = fsspec.open_files(list(input_paths), mode="rb")
    if not files:
        raise RawInputError(f"--input {list(input_paths)}: no file matches; expected CSV files")
    frames = []
    for file in files:
        with file as handle:
            frame = pd.read_csv(handle, dtype=str, keep_default_na=False, encoding="utf-8")
        if list(frame.columns) != list(RAW_COLUMNS):
            raise RawInputError(
                f"{file.path}: header {list(frame.columns)}; expected {list(RAW_COLUMNS)}"
            )
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _output_schema():
    import pyarrow as pa

    fields = [(column, pa.string()) for column in RAW_COLUMNS] + [("n_chars", pa.int32())]
    return pa.schema(fields)


def write_clean_parquet(clean: pd.DataFrame, output_path: str) -> None:
    """Cleaned rows as parquet partitioned by date (date=YYYY-MM-DD/), replacing the output."""
    import fsspec
    import pyarrow as pa
    import pyarrow.parquet as pq

    filesystem, root = fsspec.core.url_to_fs(output_path)
    if filesystem.exists(root):
        filesystem.rm(root, recursive=True)
    filesystem.makedirs(root, exist_ok=True)  # an output with no rows is still a folder
    table = pa.Table.from_pandas(clean, schema=_output_schema(), preserve_index=False)
    pq.write_to_dataset(table, root, partition_cols=["date"], filesystem=filesystem)


def read_clean_parquet(path: str, storage_options: dict | None = None) -> pd.DataFrame:
    """Cleaned rows written by either engine, as OUTPUT_COLUMNS with `date` a string.

    `storage_options` go to fsspec (e.g. S3 endpoint and credentials for an s3:// path).
    """
    import fsspec
    import pyarrow as pa
    import pyarrow.dataset as ds

    filesystem, root = fsspec.core.url_to_fs(path, **(storage_options or {}))
    if not filesystem.isdir(root):
        raise RawInputError(f"{path}: no such folder; expected the output of a cleaning run")
    partitioning = ds.partitioning(pa.schema([("date", pa.string())]), flavor="hive")
    dataset = ds.dataset(
        root, filesystem=filesystem, format="parquet", partitioning=partitioning,
        schema=_output_schema(),
    )
    return dataset.to_table().to_pandas().loc[:, list(OUTPUT_COLUMNS)]


def clean_csv_to_parquet_pandas(
    input_paths: Sequence[str], output_path: str, config: CleaningConfig | None = None
) -> CleaningStats:
    """The pandas twin of the Spark job: raw CSVs in, date-partitioned parquet out."""
    clean, stats = clean_pandas(read_raw_csv(input_paths), config)
    write_clean_parquet(clean, output_path)
    return stats


def clean_suite(config: CleaningConfig | None = None, path: str | Path = CLEAN_SUITE_PATH) -> SuiteSpec:
    """The GX suite of cleaned rows with its length bounds and unique keys taken from `config`."""
    from stackpipes.core.checks import load_suite

    config = config or CleaningConfig()
    suite = load_suite(path)
    bounds = {"min_value": config.min_chars, "max_value": config.max_chars}
    # Expectations name in `meta.from_config` the setting they follow.
    enabled = {"chars": True, "dedup_keys": bool(config.dedup_keys), "dedup_text": config.dedup_text}
    kept = []
    for spec in suite.expectations:
        setting = spec.meta.get("from_config")
        if setting == "chars":
            spec.kwargs.update(bounds)
        elif setting == "dedup_keys":
            spec.kwargs["column_list"] = list(config.dedup_keys)
        elif setting == "signs":
            spec.kwargs["value_set"] = list(SIGNS)
        if enabled.get(setting, True):
            kept.append(spec)
    suite.expectations = kept
    return suite
