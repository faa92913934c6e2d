"""`review list` without starting ZenML: a read-only query of the project's own ZenML store.

Importing ZenML and opening its store costs ~4 s on two cores, longer than a listing should take.
When the store is this project's local SQLite database (the embedded default, also what the
local ZenML server serves), the listing reads the runs, their metadata and their tags straight
from it, read-only, under the same rules the client applies (the active project, newest first,
the latest value of each metadata key). Only for the schema of the ZenML release it was written
against: any other store or release returns None, and the caller asks ZenML's client instead.
tests/core/test_review.py checks that both give the same listing.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

SCHEMA_RELEASE = "0.98.0"  # ZenML's alembic revision names its release


@dataclass
class ListedRun:
    name: str
    pipeline: str
    status: str
    metadata: dict[str, Any] = field(default_factory=dict)
    tags: set[str] = field(default_factory=set)


def _store_database() -> Optional[tuple[Path, str]]:
    """(SQLite file, active project id) of the configured ZenML store, if it is a local SQLite one."""
    import yaml

    from stackpipes.platform.env import configure_environment

    if os.environ.get("ZENML_STORE_URL"):
        return None
    configure_environment()
    config_file = Path(os.environ["ZENML_CONFIG_PATH"]) / "config.yaml"
    try:
        config = yaml.safe_load(config_file.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return None
    store, project = config.get("store") or {}, config.get("active_project_id")
    url = str(store.get("url") or "")
    if store.get("type") != "sql" or not url.startswith("sqlite:///") or not project:
        return None
    return Path(url[len("sqlite:///"):]), str(project).replace("-", "")


def _connect(database: Path) -> Optional[sqlite3.Connection]:
    if not database.is_file():
        return None
    connection = sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True, timeout=10)
    try:
        revision = connection.execute("select version_num from alembic_version").fetchone()
    except sqlite3.Error:
        connection.close()
        return None
    if revision is None or revision[0] != SCHEMA_RELEASE:
        connection.close()
        return None
    return connection


def list_runs(pipeline: Optional[str], limit: int) -> Optional[list[ListedRun]]:
    """The `limit` newest runs of the active project (of `pipeline` if given); None when the store
    is not one this module can read (the caller then asks ZenML)."""
    located = _store_database()
    if located is None:
        return None
    connection = _connect(located[0])
    if connection is None:
        return None
    try:
        query = ("select r.id, r.name, coalesce(p.name, '-'), r.status from pipeline_run r "
                 "left join pipeline p on p.id = r.pipeline_id where r.project_id = ?")
        parameters: list[Any] = [located[1]]
        if pipeline:
            query += " and p.name = ?"
            parameters.append(pipeline)
        query += " order by r.created desc limit ?"
        parameters.append(limit)
        rows = connection.execute(query, parameters).fetchall()
        runs = {row[0]: ListedRun(name=row[1], pipeline=row[2], status=row[3]) for row in rows}
        if not runs:
            return []
        marks = ",".join("?" * len(runs))
        for run_id, key, value in connection.execute(
            "select l.resource_id, m.key, m.value from run_metadata m join run_metadata_resource l "
            f"on l.run_metadata_id = m.id where l.resource_type = 'pipeline_run' and l.resource_id in ({marks}) "
            "order by m.created", list(runs)):
            runs[run_id].metadata[key] = _value(value)  # later values win, as in the client
        for run_id, tag in connection.execute(
            "select l.resource_id, t.name from tag_resource l join tag t on t.id = l.tag_id "
            f"where l.resource_type = 'pipeline_run' and l.resource_id in ({marks})", list(runs)):
            runs[run_id].tags.add(tag)
        return list(runs.values())
    except sqlite3.Error:
        return None  # a locked or changed database: ZenML's client knows how to wait for it
    finally:
        connection.close()


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text
