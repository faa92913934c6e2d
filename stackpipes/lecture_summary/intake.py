"""Which file a run summarises: the one it is given, or the oldest new file of an inbox (the
scheduled form: a static DAG's first task does what a file sensor would). The file is checked,
hashed and kept as it arrived before anything reads its media."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

from pydantic import BaseModel

from stackpipes.lecture_summary.inbox import (
    InputFileError,
    candidates,
    check_input,
    content_hash,
    lecture_slug,
    move_to_failed,
)
from stackpipes.lecture_summary.ledger import Ledger

logger = logging.getLogger(__name__)


class LectureInput(BaseModel):
    """The lecture a run works on; `skip` (with `note`) when there is nothing to do."""

    skip: bool = False
    note: str = ""
    path: str = ""            # the file read (links resolved)
    entry: str = ""           # the name in the inbox as it arrived (what is moved to failed/)
    inbox: str = ""           # set when the file was taken from an inbox
    name: str = ""
    sha256: str = ""
    slug: str = ""
    size: int = 0
    raw_uri: str = ""
    done_record: Optional[dict] = None


def take_file(path: Path, ledger: Ledger, inbox: Optional[Path] = None) -> LectureInput:
    resolved = check_input(path, inbox)
    sha256 = content_hash(resolved)
    common = dict(path=str(resolved), entry=str(path), inbox=str(inbox or ""), name=path.name, sha256=sha256,
                  slug=lecture_slug(path.name, sha256), size=resolved.stat().st_size)
    record = ledger.done(sha256)
    if record is not None:
        return LectureInput(skip=True, note=f"already summarised: {record.get('pdf', '')}", done_record=record, **common)
    raw_uri, _ = ledger.keep_raw(resolved, sha256, path.name)
    return LectureInput(raw_uri=raw_uri, **common)


def take(input_file: Optional[str], inbox: Optional[str], ledger: Ledger) -> LectureInput:
    """The lecture of this run (see the module doc)."""
    if bool(input_file) == bool(inbox):
        raise InputFileError("give exactly one of input_file (one file) and inbox (a folder)")
    if input_file:
        return take_file(Path(input_file).expanduser(), ledger)
    folder = Path(inbox).expanduser()  # type: ignore[arg-type]
    for entry in candidates(folder):
        try:
            sha256 = content_hash(check_input(entry, folder))
        except InputFileError as exc:  # refused before reading: set aside, the next file is taken
            logger.warning("%s moved to %s: %s", entry.name, move_to_failed(entry, folder, str(exc)), exc)
            continue
        if ledger.done(sha256) is None:
            return take_file(entry, ledger, folder)
    return LectureInput(skip=True, inbox=str(folder), note=f"nothing new in {folder}")
