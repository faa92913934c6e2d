"""Files as they arrive: their identity (content hash), whether they may be read, and the inbox's
`failed/` folder where a file that could not be summarised is kept with the reason beside it."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import time
from pathlib import Path
from typing import Optional

from stackpipes.lecture_summary import MAX_FILE_BYTES

FAILED = "failed"
REASON_SUFFIX = ".reason.txt"
# What the inbox may hold besides lectures: our own folder, hidden and partial files of uploaders.
IGNORED = re.compile(r"^\.|\.(part|partial|crdownload|tmp|swp)$|" + re.escape(REASON_SUFFIX) + "$")


class InputFileError(ValueError):
    """A file that is not taken: names it and says why."""


def content_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_input(path: Path, inbox: Optional[Path] = None) -> Path:
    """`path` resolved, refused with a reason when it is not a readable regular file, too big, or
    (with `inbox`) not inside the inbox once links are followed."""
    if not path.exists() and not path.is_symlink():
        raise InputFileError(f"{path}: no such file")
    resolved = path.resolve()
    if inbox is not None:
        root = inbox.resolve()
        if not resolved.is_relative_to(root):
            raise InputFileError(f"{path.name}: points outside the inbox (to {resolved}); only files inside "
                                 f"{root} are read")
    if not resolved.is_file():
        raise InputFileError(f"{path.name}: not a regular file")
    size = resolved.stat().st_size
    if size > MAX_FILE_BYTES:
        raise InputFileError(f"{path.name}: {size} bytes, more than the {MAX_FILE_BYTES} accepted")
    if not os.access(resolved, os.R_OK):
        raise InputFileError(f"{path.name}: not readable")
    return resolved


def candidates(inbox: Path) -> list[Path]:
    """Files waiting in `inbox` (not in failed/, not hidden or partial), oldest first."""
    if not inbox.is_dir():
        raise InputFileError(f"inbox {inbox}: no such folder")
    found = [p for p in inbox.iterdir() if not IGNORED.search(p.name) and (p.is_file() or p.is_symlink())]
    return sorted(found, key=lambda p: (p.lstat().st_mtime, p.name))


def move_to_failed(path: Path, inbox: Path, reason: str) -> Path:
    """Move `path` (the entry in the inbox, a link as the link) into `inbox/failed/`, with the
    reason in `<name>.reason.txt` beside it; an existing name there gets a time suffix."""
    failed = inbox / FAILED
    failed.mkdir(parents=True, exist_ok=True)
    target = failed / path.name
    if target.exists() or target.is_symlink():
        stem = f"{time.strftime('%Y%m%dT%H%M%S')}-{path.name}"
        target = failed / stem
    shutil.move(str(path), str(target))
    (failed / (target.name + REASON_SUFFIX)).write_text(reason.strip() + "\n", encoding="utf-8")
    return target


def lecture_slug(name: str, sha256: str) -> str:
    """A folder name for the lecture: its file name's letters (any script) and the hash's start."""
    stem = re.sub(r"[^\w.-]+", "_", Path(name).stem, flags=re.UNICODE).strip("._") or "lecture"
    return f"{stem[:60]}-{sha256[:12]}"
