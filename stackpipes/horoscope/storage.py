"""Where horoscope data lives: the raw landing root, the days to collect, the clean dataset.

Raw rows land under `<root>/horoscope` (the parameter, else the stack's environment, else a
local folder). The clean dataset lives beside them (`<root>/horoscope_clean/v=<fingerprint>`),
named after what it was made from (the raw objects, which are never overwritten, and the cleaning
rules), so a re-run on the same input finds it and does not run Spark again.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

from stackpipes.core.landing import landing_root
from stackpipes.platform.objectstore import is_local_filesystem

DONE_MARKER = "_STACKPIPES_DONE"  # written last: a dataset without it is incomplete and rebuilt


def collection_days(dates: Optional[list[str]]) -> list[str]:
    """The days to collect: the configured ones, else today (UTC), as the daily job does."""
    return list(dates) if dates else [datetime.now(timezone.utc).date().isoformat()]


def raw_location(raw_root: Optional[str], secret_name: Optional[str]) -> tuple[str, Optional[str]]:
    """Where raw horoscopes land: the parameter, else the stack's environment, else a local folder."""
    return landing_root("horoscope", raw_root, secret_name)


def clean_location(raw_root: str, uris: list[str], cleaning_json: str) -> str:
    """`<root>/horoscope_clean/v=<fingerprint>` for the raw objects and cleaning rules given."""
    digest = hashlib.sha256("\n".join([cleaning_json, *sorted(uris)]).encode()).hexdigest()[:16]
    return f"{raw_root.rsplit('/', 1)[0]}/horoscope_clean/v={digest}"


def stage_raw(fs: Any, uris: list[str], folder: Path) -> list[str]:
    """Copy the raw objects into one local folder the Spark driver reads (any store, any master
    that shares this disk; a cluster reads the object store directly through its own s3a conf)."""
    local = []
    for index, uri in enumerate(uris):
        # Names are unique per source and day; the index keeps them unique whatever the layout.
        target = folder / f"{index:05d}_{uri.rsplit('/', 1)[-1]}"
        target.write_bytes(fs.cat_file(fs._strip_protocol(uri)))
        local.append(str(target))
    return local


def publish_clean(fs: Any, local_output: Path, clean_uri: str) -> None:
    """Replace whatever is at `clean_uri` with the local output; the done marker goes last."""
    root = fs._strip_protocol(clean_uri)
    if fs.exists(root):
        fs.rm(root, recursive=True)
    if is_local_filesystem(fs):
        fs.makedirs(root, exist_ok=True)
    fs.put(f"{local_output}/", root, recursive=True)
    fs.pipe_file(f"{root}/{DONE_MARKER}", b"")


def is_done(fs: Any, clean_uri: str) -> bool:
    """Whether a complete clean dataset (its done marker written) is at `clean_uri`."""
    fs.invalidate_cache()
    return fs.exists(f"{fs._strip_protocol(clean_uri)}/{DONE_MARKER}")
