"""What a table is for `ratings_train`: where its rows come from, the target, the task, the feature
columns by kind, the split, the metric and the checks; how it is read, prepared and checked.

A dataset file (`configs/ratings_train/<dataset>.yaml`, under `parameters.dataset`) describes any
table; nothing in the pipeline knows Titanic or comments. Rows come from a CSV file (a path, or
`package:<distribution>/<file>` for data that ships inside an installed package, read as a file
without importing the package) or from the raw objects `ratings_collect` landed (`landed`, with
the `comment_ratings` preparation: each comment's like count scaled to [0, 1] within its video).

Structural problems (the file is not a CSV, the target or a feature column is missing, a numeric
column holds text, a column is all missing, no rows, a single class) raise `DatasetError` naming
the column and the problem; the content contract (ranges, allowed values, missing shares) is a
Great Expectations suite built from the same description (`suite`).
"""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path
from typing import Annotated, Any, Literal, Optional

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from stackpipes.platform.bounds import MAX_COLUMNS, MAX_ROWS
from stackpipes.platform.env import PROJECT_ROOT

MAX_FILE_BYTES = 2 * 1024**3
Task = Literal["classification", "regression"]
METRICS: dict[str, tuple[Task, bool]] = {  # metric -> (task, higher is better)
    "accuracy": ("classification", True), "balanced_accuracy": ("classification", True),
    "f1_macro": ("classification", True), "roc_auc": ("classification", True),
    "r2": ("regression", True), "neg_root_mean_squared_error": ("regression", True),
    "neg_mean_absolute_error": ("regression", True),
}


class DatasetError(ValueError):
    """A table that cannot be trained on: names the dataset, the column and the problem."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceConfig(_Strict):
    kind: Literal["file", "landed"] = "file"
    path: Optional[str] = None  # file: a path (relative to the project) or package:<dist>/<file>
    na_values: list[str] = Field(default_factory=list, max_length=100)
    system: str = "ratings"  # landed: whose raw objects
    raw_root: Optional[str] = None  # landed: null = the stack's STACKPIPES_RAW_ROOT, else the state folder
    secret_name: Optional[str] = None
    prepare: Optional[Literal["comment_ratings"]] = None

    @model_validator(mode="after")
    def _complete(self) -> SourceConfig:
        if self.kind == "file" and not self.path:
            raise ValueError("source.path: a file source needs a path (or package:<dist>/<file>)")
        return self


class FeatureColumns(_Strict):
    numeric: list[str] = Field(default_factory=list, max_length=MAX_COLUMNS)
    categorical: list[str] = Field(default_factory=list, max_length=MAX_COLUMNS)
    text: list[str] = Field(default_factory=list, max_length=MAX_COLUMNS)
    drop: list[str] = Field(default_factory=list, max_length=MAX_COLUMNS)  # ids and columns that leak the label

    def used(self) -> list[str]:
        return [*self.numeric, *self.categorical, *self.text]


class SplitConfig(_Strict):
    test_size: float = Field(default=0.2, gt=0, lt=1)
    seed: int = 42
    group: Optional[str] = None  # rows sharing a value (a film) stay on one side


class ChecksConfig(_Strict):
    ranges: dict[str, tuple[Optional[float], Optional[float]]] = Field(default_factory=dict, max_length=MAX_COLUMNS)
    allowed: dict[str, Annotated[list[Any], Field(max_length=100_000)]] = Field(default_factory=dict, max_length=MAX_COLUMNS)
    max_missing: dict[str, Annotated[float, Field(ge=0, le=1)]] = Field(default_factory=dict, max_length=MAX_COLUMNS)
    default_max_missing: float = Field(default=0.5, ge=0, le=1)
    min_rows: int = Field(default=20, ge=1, le=MAX_ROWS)


class DatasetConfig(_Strict):
    """One table `ratings_train` can train on (see the module doc)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    source: SourceConfig
    target: str = Field(min_length=1)
    task: Task
    features: FeatureColumns
    split: SplitConfig = Field(default_factory=SplitConfig)
    metric: str = "accuracy"
    checks: ChecksConfig = Field(default_factory=ChecksConfig)
    report_group: Optional[str] = None  # also report the mean target per value of this column (film rating)

    @model_validator(mode="after")
    def _consistent(self) -> DatasetConfig:
        if self.metric not in METRICS:
            raise ValueError(f"metric: {self.metric!r} is not one of {sorted(METRICS)}")
        if METRICS[self.metric][0] != self.task:
            raise ValueError(f"metric: {self.metric!r} is a {METRICS[self.metric][0]} metric, the task is {self.task}")
        used = self.features.used()
        if not used:
            raise ValueError("features: name at least one numeric, categorical or text column")
        twice = sorted({c for c in used if used.count(c) > 1})
        if twice:
            raise ValueError(f"features: {twice} are named under more than one kind")
        if self.target in used or self.target in self.features.drop:
            raise ValueError(f"target: {self.target!r} is also named as a feature or a dropped column")
        dropped = sorted(set(self.features.drop) & set(used))
        if dropped:
            raise ValueError(f"features.drop: {dropped} are also features")
        known = {*self.model_columns(), self.target}
        for key in ("ranges", "allowed", "max_missing"):
            unknown = sorted(set(getattr(self.checks, key)) - known)
            if unknown:
                raise ValueError(f"checks.{key}: {unknown} are neither the target nor a column the model reads")
        return self

    @property
    def higher_is_better(self) -> bool:
        return METRICS[self.metric][1]

    def model_columns(self) -> list[str]:
        """The columns a model reads, in a fixed order (features; the group column for splitting)."""
        extra = [c for c in (self.split.group, self.report_group) if c and c not in self.features.used()]
        return [*self.features.used(), *dict.fromkeys(extra)]


def as_config(value: Any) -> DatasetConfig:
    return value if isinstance(value, DatasetConfig) else DatasetConfig.model_validate(value)


# ---- reading -----------------------------------------------------------------------------------


def resolve_path(path: str) -> Path:
    """A project-relative or absolute path, or `package:<distribution>/<file inside it>`."""
    if path.startswith("package:"):
        package, _, inner = path[len("package:"):].partition("/")
        spec = importlib.util.find_spec(package) if package.isidentifier() else None
        if spec is None or not spec.submodule_search_locations:
            raise DatasetError(f"source.path {path!r}: the package {package!r} is not installed")
        return Path(list(spec.submodule_search_locations)[0]) / inner
    resolved = Path(path)
    return resolved if resolved.is_absolute() else PROJECT_ROOT / resolved


def read_csv_file(path: Path, na_values: list[str], name: str) -> pd.DataFrame:
    """A CSV file as pandas reads it; anything that is not a CSV table is a DatasetError."""
    if not path.is_file():
        raise DatasetError(f"dataset {name}: {path} does not exist")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise DatasetError(f"dataset {name}: {path} is larger than {MAX_FILE_BYTES // 1024**3} GiB")
    data = path.read_bytes()
    return parse_csv(data, na_values, f"dataset {name}: {path}")


def parse_csv(data: bytes, na_values: list[str], where: str) -> pd.DataFrame:
    if b"\x00" in data[:65536]:
        raise DatasetError(f"{where}: is not a CSV file (binary content)")
    try:
        table = pd.read_csv(io.BytesIO(data), na_values=na_values or None)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{where}: is not a CSV file ({str(exc).splitlines()[0]})") from None
    if table.shape[1] < 2:
        raise DatasetError(f"{where}: is not a CSV table (it has {table.shape[1]} column)")
    if len(table) > MAX_ROWS:
        raise DatasetError(f"{where}: {len(table)} rows is more than {MAX_ROWS}")
    return table


def comment_ratings(raw: pd.DataFrame) -> pd.DataFrame:
    """Landed comments -> one row per comment (its newest landing) with `rating` in [0, 1]: the
    like count's log1p scaled min-max within its video (a video of equal counts gives 0.5), and
    `film` (the query)."""
    if raw.empty:
        return raw.assign(like_count=pd.Series(dtype=float), rating=pd.Series(dtype=float), film=pd.Series(dtype=str))
    table = raw.sort_values(["date", "fetched_at"]).drop_duplicates("comment_id", keep="last").copy()
    likes = pd.to_numeric(table["like_count"], errors="coerce")
    bad = table.loc[likes.isna() | (likes < 0), "like_count"]
    if len(bad):
        raise DatasetError(f"column 'like_count': {len(bad)} values are not counts, e.g. {bad.head(3).tolist()}")
    table["like_count"] = likes.astype(int)
    logs = np.log1p(table["like_count"].astype(float))
    grouped = logs.groupby(table["video_id"])
    low, high = grouped.transform("min"), grouped.transform("max")
    span = (high - low).replace(0, np.nan)
    table["rating"] = ((logs - low) / span).fillna(0.5).clip(0, 1)
    table["film"] = table["query_text"]
    return table.sort_values("comment_id").reset_index(drop=True)


def typed_features(table: pd.DataFrame, config: DatasetConfig, where: str) -> pd.DataFrame:
    """Numeric features as floats (text in one is a DatasetError naming it), categorical and text
    features as strings, missing values kept missing; training and prediction type rows alike."""
    table = table.copy()
    for column in config.features.numeric:
        values = pd.to_numeric(table[column], errors="coerce")
        wrong = table.loc[values.isna() & table[column].notna(), column]
        if len(wrong):
            raise DatasetError(f"{where}: column {column!r} should be numeric; {len(wrong)} values are not, "
                               f"e.g. {wrong.astype(str).head(3).tolist()}")
        table[column] = values.astype(float)
    for column in [*config.features.categorical, *config.features.text]:
        table[column] = table[column].where(table[column].isna(), table[column].astype(str))
    return table


def prepare(raw: pd.DataFrame, config: DatasetConfig) -> pd.DataFrame:
    """The raw table -> the columns a model reads plus the target, with structural checks."""
    table = comment_ratings(raw) if config.source.prepare == "comment_ratings" else raw.copy()
    where = f"dataset {config.name}"
    if table.empty:
        raise DatasetError(f"{where}: no rows")
    missing = [c for c in [config.target, *config.model_columns()] if c not in table.columns]
    if missing:
        kind = "target" if config.target in missing else "column(s)"
        raise DatasetError(f"{where}: {kind} {missing} not in the table; it has {sorted(map(str, table.columns))[:30]}")
    table = table.drop(columns=[c for c in config.features.drop if c in table.columns])
    table = typed_features(table, config, where)
    empty = [c for c in config.model_columns() if table[c].isna().all()]
    if empty:
        raise DatasetError(f"{where}: column(s) {empty} hold no values at all")
    labelled = table[config.target].notna()
    if not labelled.any():
        raise DatasetError(f"{where}: the target {config.target!r} holds no values")
    table = table.loc[labelled, [*config.model_columns(), config.target]].reset_index(drop=True)
    if config.task == "regression":
        target = pd.to_numeric(table[config.target], errors="coerce")
        if target.isna().any():
            raise DatasetError(f"{where}: the target {config.target!r} of a regression must be numeric")
        table[config.target] = target.astype(float)
    elif table[config.target].nunique() < 2:
        raise DatasetError(f"{where}: the target {config.target!r} has a single class "
                           f"({table[config.target].iloc[0]!r}); classification needs at least two")
    if len(table) < config.checks.min_rows:
        raise DatasetError(f"{where}: {len(table)} rows after cleaning, fewer than checks.min_rows={config.checks.min_rows}")
    return table


def suite(config: DatasetConfig) -> dict[str, Any]:
    """The Great Expectations suite (the shared checks' format) the dataset file describes."""
    checks = config.checks
    expectations: list[dict[str, Any]] = [
        {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": checks.min_rows}},
        {"type": "expect_column_to_exist", "kwargs": {"column": config.target}},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": config.target}},
    ]
    for column in config.model_columns():
        expectations.append({"type": "expect_column_to_exist", "kwargs": {"column": column}})
        share = checks.max_missing.get(column, checks.default_max_missing)
        if share < 1:
            expectations.append({"type": "expect_column_values_to_not_be_null",
                                 "kwargs": {"column": column, "mostly": round(1 - share, 6)}})
    for column in config.features.numeric:
        expectations.append({"type": "expect_column_values_to_be_in_type_list",
                             "kwargs": {"column": column, "type_list": ["float64", "int64", "float32", "int32"]}})
    for column, (low, high) in checks.ranges.items():
        expectations.append({"type": "expect_column_values_to_be_between",
                             "kwargs": {"column": column, "min_value": low, "max_value": high}})
    for column, values in checks.allowed.items():
        expectations.append({"type": "expect_column_values_to_be_in_set", "kwargs": {"column": column, "value_set": values}})
    if config.task == "classification":
        expectations.append({"type": "expect_column_unique_value_count_to_be_between",
                             "kwargs": {"column": config.target, "min_value": 2}})
    return {"name": f"ratings_{config.name}", "expectations": expectations}
