"""What has been summarised, kept where the stack keeps raw data (`core.landing.landing_root`:
the stack's STACKPIPES_RAW_ROOT, else the state folder), so every stack and process agrees:

    <root>/lecture_summary/raw/sha256=<hash>/<original name>   the file as it arrived, written once
    <root>/lecture_summary/done/<hash>.json                     the record of a finished lecture
    <root>/lecture_summary/segments/<hash>.csv                  its per-segment statistics (drift)

Records are written once (a second writer of the same lecture leaves the first record as it is).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any, Optional

import pandas as pd

from stackpipes.core.landing import landing_root, write_once, write_once_file
from stackpipes.lecture_summary import SYSTEM
from stackpipes.platform.objectstore import filesystem, full_uri


class Ledger:
    def __init__(self, raw_root: Optional[str] = None, secret_name: Optional[str] = None) -> None:
        self.root, self.secret_name = landing_root(SYSTEM, raw_root, secret_name)
        self.fs, self.base = filesystem(self.root, self.secret_name)
        self.base = self.base.rstrip("/")

    def uri(self, key: str) -> str:
        return full_uri(self.fs, f"{self.base}/{key}")

    def keep_raw(self, path: Path, sha256: str, name: str) -> tuple[str, bool]:
        """The file's bytes under raw/, once: (its URI, whether this call wrote it)."""
        key = f"{self.base}/raw/sha256={sha256}/{Path(name).name}"
        if self.fs.exists(key):
            return full_uri(self.fs, key), False
        written = write_once_file(self.fs, key, str(path))
        return full_uri(self.fs, key), written

    def done(self, sha256: str) -> Optional[dict[str, Any]]:
        """The record of a finished lecture, or None."""
        key = f"{self.base}/done/{sha256}.json"
        self.fs.invalidate_cache()
        if not self.fs.exists(key):
            return None
        return json.loads(self.fs.cat_file(key))

    def record_done(self, sha256: str, record: dict[str, Any], segments: pd.DataFrame) -> bool:
        """Keep the lecture's segment statistics, then its record (the record last: it marks done)."""
        write_once(self.fs, f"{self.base}/segments/{sha256}.csv",
                   segments.to_csv(index=False, lineterminator="\n").encode("utf-8"))
        return write_once(self.fs, f"{self.base}/done/{sha256}.json",
                          json.dumps(record, indent=2, ensure_ascii=False).encode("utf-8"))

    def earlier_segments(self, exclude: str, limit: int = 200) -> pd.DataFrame:
        """Per-segment statistics of up to `limit` earlier lectures (not `exclude`), newest last."""
        folder = f"{self.base}/segments"
        self.fs.invalidate_cache()
        if not self.fs.exists(folder):
            return pd.DataFrame()
        paths = [p for p in self.fs.ls(folder, detail=False) if p.endswith(".csv") and exclude not in p]
        frames = [pd.read_csv(io.BytesIO(self.fs.cat_file(p))) for p in sorted(paths)[-limit:]]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
