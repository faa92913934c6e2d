"""Idempotent raw landing: one CSV object per (source, date), written once and never overwritten.

Any system's raw rows land here as they arrived, before any transformation: a table with at least
a `source` and a `date` (YYYY-MM-DD) column among the `columns` the caller names. Layout:
`{raw_root}/source={source}/date={date}/{source}_{date}.csv` (UTF-8, header, `columns` in order),
on a local folder or s3:// alike; a system that keys its objects finer names more `partitions`
(ratings: source, query, date -> `source=S/query=Q/date=D/S_Q_D.csv`; `date` always comes last). A re-run with the same rows writes nothing (`unchanged`; the
`volatile` columns, such as a fetch time that every fetch stamps anew, are ignored in that
comparison). A re-run with different rows for a landed day leaves the landed object as it is
(`kept_existing`): raw data is the record of what was fetched first, and corrections belong
downstream.

`landing_root(system)` says where a system lands (the stack's STACKPIPES_RAW_ROOT, else the state
folder) and `write_once` writes any other object the same way (chat_forecast's message batches).

An object appears at its final key whole or not at all: on S3 it is a single conditional PUT
(If-None-Match, so a concurrent writer cannot overwrite it either); on a local folder the bytes go
to a hidden temporary file that is then hard-linked to the final name, which fails if it exists.
"""

from __future__ import annotations

import io
import logging
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date as Date
from typing import Any, Literal, Optional

import pandas as pd
from fsspec.core import split_protocol

from stackpipes.platform.objectstore import filesystem, full_uri, is_local_filesystem

logger = logging.getLogger(__name__)

Status = Literal["written", "unchanged", "kept_existing"]
# Where every system's raw data lands: set by a stack's `environment:` (stacks/local-s3.yaml:
# s3://stackpipes-raw), else a folder in the state folder; the credentials' ZenML secret likewise.
RAW_ROOT_VARIABLE = "STACKPIPES_RAW_ROOT"
RAW_SECRET_VARIABLE = "STACKPIPES_RAW_SECRET_NAME"

SOURCE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
DATE_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}$")
PARTITION = re.compile(r"source=(?P<source>[^/]+)/(?:[a-z_]+=[^/]+/)*date=(?P<date>[^/]+)/[^/]+\.csv$")
DEFAULT_PARTITIONS = ("source", "date")


class LandingInputError(ValueError):
    """Rows that cannot be landed: names the input and what was expected."""


@dataclass(frozen=True)
class LandedObject:
    """The outcome for one (source, date) object."""

    uri: str
    source: str
    date: str
    rows: int
    status: Status


@dataclass
class LandingReport:
    """What one `land_raw` call did, object by object."""

    objects: list[LandedObject] = field(default_factory=list)

    def uris(self, status: Status) -> list[str]:
        return [obj.uri for obj in self.objects if obj.status == status]

    @property
    def written(self) -> list[str]:
        return self.uris("written")

    @property
    def unchanged(self) -> list[str]:
        return self.uris("unchanged")

    @property
    def kept_existing(self) -> list[str]:
        return self.uris("kept_existing")

    def summary(self) -> str:
        return (f"{len(self.written)} written, {len(self.unchanged)} unchanged, "
                f"{len(self.kept_existing)} kept existing")


def object_key(raw_root: str, source: str, date: str, **middle: str) -> str:
    """The URI of the object for one source and day (and the values of any further partitions,
    in order, between them)."""
    values = {"source": source, **middle, "date": date}
    folders = "/".join(f"{key}={value}" for key, value in values.items())
    return f"{raw_root.rstrip('/')}/{folders}/{'_'.join(values.values())}.csv"


def _check_partitions(partitions: Sequence[str], columns: Sequence[str]) -> None:
    if list(partitions[:1]) != ["source"] or list(partitions[-1:]) != ["date"] or len(set(partitions)) != len(partitions):
        raise LandingInputError(f"partitions: {list(partitions)} must start with 'source', end with 'date', "
                                "and name each column once")
    if not set(partitions) <= set(columns):
        raise LandingInputError(f"columns: {list(columns)} must include every partition {list(partitions)} "
                                "(the object key)")
    wrong = [p for p in partitions if not re.fullmatch(r"[a-z_]+", p)]
    if wrong:
        raise LandingInputError(f"partitions: {wrong} must be lower-case names of letters and '_'")


def _validate(rows: pd.DataFrame, columns: Sequence[str], partitions: Sequence[str] = DEFAULT_PARTITIONS) -> pd.DataFrame:
    if not isinstance(rows, pd.DataFrame):
        raise LandingInputError(f"rows: expected a pandas DataFrame, got {type(rows).__name__}")
    _check_partitions(partitions, columns)
    missing = [column for column in columns if column not in rows.columns]
    if missing:
        raise LandingInputError(
            f"rows: missing column(s) {', '.join(missing)}; expected all of {', '.join(columns)}"
        )
    table = rows.loc[:, list(columns)].fillna("").astype(str)
    for key in partitions[:-1]:
        bad = sorted({s for s in table[key] if not SOURCE_NAME.match(s)})
        if bad:
            raise LandingInputError(
                f"rows.{key}: {bad[:5]} are not usable in an object key; expected names of "
                "letters, digits, '.', '_' and '-'"
            )
    bad_dates = sorted({d for d in table["date"] if not _is_date(d)})
    if bad_dates:
        raise LandingInputError(f"rows.date: {bad_dates[:5]} are not dates; expected YYYY-MM-DD")
    return table


def _is_date(text: str) -> bool:
    if not DATE_TEXT.match(text):
        return False
    try:
        Date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _csv_bytes(group: pd.DataFrame) -> bytes:
    return group.to_csv(index=False, lineterminator="\n").encode("utf-8")


def _parse_csv(data: bytes) -> pd.DataFrame:
    # Everything as text, empty cells as "", so a round trip gives back exactly what was written.
    return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, encoding="utf-8")


def _content(table: pd.DataFrame, compared: Sequence[str]) -> list[tuple[str, ...]]:
    """The rows that matter for idempotency, in a canonical order."""
    columns = list(compared)
    if any(c not in table.columns for c in columns):
        return []
    return sorted(table.loc[:, columns].itertuples(index=False, name=None))


def landing_root(system: str, raw_root: Optional[str] = None, secret_name: Optional[str] = None) -> tuple[str, Optional[str]]:
    """`<root>/<system>` where a system lands its raw data, and the secret that opens it: the
    arguments, else the stack's environment, else `$STACKPIPES_HOME/raw`."""
    from stackpipes.platform.env import state_dir

    root = raw_root or os.environ.get(RAW_ROOT_VARIABLE) or str(state_dir() / "raw")
    return f"{root.rstrip('/')}/{system}", secret_name or os.environ.get(RAW_SECRET_VARIABLE) or None


def write_once(fs: Any, path: str, data: bytes) -> bool:
    """Create `path` with `data` whole; False when an object is already there (it is left as it is)."""
    try:
        _write_once(fs, path, data)
    except FileExistsError:
        return False
    return True


def write_once_file(fs: Any, path: str, local_file: str) -> bool:
    """Create `path` with the bytes of `local_file`, streamed (never held in memory whole); False
    when an object is already there (it is left as it is)."""
    try:
        if is_local_filesystem(fs):
            _create_local(path, lambda handle: _copy_into(local_file, handle))
        else:
            fs.put_file(local_file, path, mode="create")  # S3: PUT with If-None-Match: *
    except FileExistsError:
        return False
    return True


def _write_once(fs: Any, path: str, data: bytes) -> None:
    """Create `path` with `data` whole, or raise FileExistsError; never replace an existing object."""
    if is_local_filesystem(fs):
        _create_local(path, lambda handle: handle.write(data))
    else:
        fs.pipe_file(path, data, mode="create")  # S3: PUT with If-None-Match: *


def _copy_into(local_file: str, handle: Any) -> None:
    with open(local_file, "rb") as source:
        shutil.copyfileobj(source, handle, length=1 << 20)


def _create_local(path: str, fill: Callable[[Any], Any]) -> None:
    """Fill a hidden partial file, then hard-link it to `path`: atomic, and FileExistsError when
    the final name is taken, so a reader never sees half a file and nothing is replaced."""
    folder, name = os.path.split(path)
    os.makedirs(folder, exist_ok=True)
    temporary = os.path.join(folder, f".{name}.{uuid.uuid4().hex}.partial")
    try:
        with open(temporary, "wb") as handle:
            fill(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def _land_group(fs: Any, path: str, group: pd.DataFrame, compared: Sequence[str]) -> Status:
    data = _csv_bytes(group)
    if not fs.exists(path):
        try:
            _write_once(fs, path, data)
            return "written"
        except FileExistsError:
            pass  # another writer landed it between the check and the write: compare with theirs
    landed = _parse_csv(fs.cat_file(path))
    return "unchanged" if _content(landed, compared) == _content(group, compared) else "kept_existing"


def land_raw(
    rows: pd.DataFrame, raw_root: str, columns: Sequence[str], volatile: Sequence[str] = (),
    secret_name: Optional[str] = None, partitions: Sequence[str] = DEFAULT_PARTITIONS,
) -> LandingReport:
    """Land `rows` (`columns`) under `raw_root`, one object per value of `partitions` (source, ...,
    date); see the module doc."""
    table = _validate(rows, columns, partitions)
    compared = [c for c in columns if c not in volatile]
    fs, root = filesystem(raw_root, secret_name)
    report = LandingReport()
    for values, group in table.groupby(list(partitions), sort=True):
        source, *middle, day = values
        path = object_key(root, source, day, **dict(zip(partitions[1:-1], middle, strict=True)))
        uri = full_uri(fs, path)
        status = _land_group(fs, path, group, compared)
        if status == "kept_existing":
            logger.warning("raw object %s already holds different rows; it is kept as landed", uri)
        report.objects.append(LandedObject(uri=uri, source=source, date=day, rows=len(group), status=status))
    return report


def list_raw(raw_root: str, secret_name: Optional[str] = None,
             dates: Optional[Iterable[str]] = None) -> list[str]:
    """URIs of the landed objects under `raw_root`, sorted; only the given dates when `dates` is set."""
    fs, root = filesystem(raw_root, secret_name)
    wanted = set(dates) if dates is not None else None
    found = []
    fs.invalidate_cache()  # s3fs caches listings per process; other processes may have landed since
    base = root.rstrip("/")
    paths = fs.find(base) if fs.exists(base) else []  # every depth: a system may key by more partitions
    for path in sorted(p for p in paths if p.endswith(".csv")):
        match = PARTITION.search(path)
        if match and (wanted is None or match["date"] in wanted):
            found.append(full_uri(fs, path))
    return sorted(found)


def read_raw(uris: Iterable[str], columns: Sequence[str], secret_name: Optional[str] = None) -> pd.DataFrame:
    """The rows of the given landed objects, as text, in `columns` order."""
    frames = []
    filesystems: dict[str, Any] = {}  # one credential lookup per scheme, not per object
    for uri in uris:
        scheme = split_protocol(uri)[0] or "file"
        if scheme not in filesystems:
            filesystems[scheme] = filesystem(uri, secret_name)[0]
        fs = filesystems[scheme]
        frames.append(_parse_csv(fs.cat_file(fs._strip_protocol(uri))))
    if not frames:
        return pd.DataFrame({column: pd.Series(dtype=str) for column in columns})
    return pd.concat(frames, ignore_index=True).loc[:, list(columns)]
