"""Each Telegram user's last messages in PostgreSQL, as JSONB, through SQLAlchemy 2 (async, asyncpg).

One row per user; appending a message and keeping the last `keep` is one `INSERT ... ON CONFLICT
DO UPDATE` statement, so two messages of one user arriving together (from two bot replicas, say)
both land: the row lock orders them and each statement sees the other's committed array. The
schema is created by the Alembic migrations beside this module (`upgrade`), never by `create_all`.

A connection the server dropped (a restart) is replaced on checkout (`pool_pre_ping`); a statement
that still fails on a lost connection is retried for `retry_seconds` before the error surfaces.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from typing import Any, Optional

logger = logging.getLogger(__name__)

DATABASE_ENV = "STACKPIPES_DIALOGUE_DATABASE_URL"
DEFAULT_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/stackpipes_dialogue"
MAX_KEEP = 64
ADVISORY_LOCK = 716_402_016  # serialises concurrent migrations of one database

# A message already stored (the same Telegram message id: a statement retried after its commit
# reached the server but its answer was lost) is not stored again.
_SEEN = ("CAST(:message_id AS bigint) IS NOT NULL AND "
         "c.messages @> jsonb_build_array(jsonb_build_object('id', CAST(:message_id AS bigint)))")
APPEND = f"""
INSERT INTO dialogue_context AS c (user_id, messages, appended, updated_at)
VALUES (:user_id, jsonb_build_array(CAST(:item AS jsonb)), 1, now())
ON CONFLICT (user_id) DO UPDATE SET
    messages = CASE WHEN {_SEEN} THEN c.messages
                    ELSE jsonb_path_query_array(c.messages || EXCLUDED.messages, '$[last - $n + 1 to last]',
                                                jsonb_build_object('n', CAST(:keep AS integer))) END,
    appended = c.appended + CASE WHEN {_SEEN} THEN 0 ELSE 1 END,
    updated_at = now()
RETURNING messages
"""


class ContextStoreError(RuntimeError):
    """The context database cannot be reached or set up: says where (never with a password)."""


def database_url() -> str:
    return os.environ.get(DATABASE_ENV) or DEFAULT_DATABASE_URL


def _where(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


async def ensure_database(url: str) -> bool:
    """Create the database `url` names if it does not exist; True when it was created."""
    import asyncpg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    try:
        admin = await asyncpg.connect(host=parsed.host or "127.0.0.1", port=parsed.port or 5432,
                                      user=parsed.username or "postgres", password=parsed.password,
                                      database="postgres", timeout=10)
    except (OSError, asyncpg.PostgresError) as exc:
        raise ContextStoreError(f"PostgreSQL at {_where(url)} cannot be reached ({exc}): is it running?") from None
    try:
        if await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", parsed.database):
            return False
        try:
            await admin.execute(f"CREATE DATABASE {_quote(parsed.database)} TEMPLATE template0")
        except asyncpg.DuplicateDatabaseError:
            return False  # created by a replica starting at the same time
        return True
    finally:
        await admin.close()


async def drop_database(url: str) -> None:
    """Drop the database `url` names (tests and benchmarks make their own)."""
    import asyncpg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    admin = await asyncpg.connect(host=parsed.host or "127.0.0.1", port=parsed.port or 5432,
                                  user=parsed.username or "postgres", password=parsed.password, database="postgres")
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {_quote(parsed.database)} WITH (FORCE)")
    finally:
        await admin.close()


def upgrade(url: str) -> None:
    """Bring the schema to the newest migration (Alembic, no ini file); idempotent; concurrent
    callers wait for each other (an advisory lock in the migration environment). Blocking: run it
    in a thread from async code (the migration environment runs its own event loop)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "stackpipes.dialogue:migrations")
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["advisory_lock"] = ADVISORY_LOCK
    command.upgrade(config, "head")


class ContextStore:
    """The last messages of each user (oldest first), kept in PostgreSQL."""

    def __init__(self, url: Optional[str] = None, keep: int = 3, retry_seconds: float = 30.0, pool_size: int = 10):
        if not 1 <= keep <= MAX_KEEP:
            raise ValueError(f"keep={keep}: expected 1 to {MAX_KEEP}")
        from sqlalchemy.ext.asyncio import create_async_engine

        self.url = url or database_url()
        self.keep = keep
        self.retry_seconds = retry_seconds
        self.engine = create_async_engine(self.url, pool_pre_ping=True, pool_size=pool_size, max_overflow=pool_size)

    @classmethod
    async def open(cls, url: Optional[str] = None, keep: int = 3, **kwargs: Any) -> ContextStore:
        """The store over a database that exists and has the newest schema."""
        url = url or database_url()
        await ensure_database(url)
        try:
            await asyncio.to_thread(upgrade, url)
        except Exception as exc:
            raise ContextStoreError(f"migrating the context database at {_where(url)} failed: {exc}") from exc
        return cls(url, keep, **kwargs)

    async def close(self) -> None:
        await self.engine.dispose()

    async def _run(self, statement: str, **parameters: Any) -> Any:
        from sqlalchemy import text
        from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

        deadline = time.monotonic() + self.retry_seconds
        delay = 0.1
        while True:
            try:
                async with self.engine.begin() as connection:
                    result = await connection.execute(text(statement), parameters)
                    return result.scalar_one_or_none() if result.returns_rows else None
            except (OSError, DBAPIError, InterfaceError, OperationalError) as exc:
                connection_lost = isinstance(exc, (OSError, InterfaceError, OperationalError)) or getattr(
                    exc, "connection_invalidated", False)
                if not connection_lost or time.monotonic() >= deadline:
                    raise
                logger.warning("context database unreachable (%s): retrying in %.1f s", type(exc).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(2.0, delay * 2)

    async def append(self, user_id: int, message: str, message_id: Optional[int] = None) -> list[str]:
        """Add `message` to the user's context and return the context after it (at most `keep`).
        With its Telegram `message_id`, a message already among the kept ones is not added twice
        (a retried statement whose first attempt did commit)."""
        item = json.dumps({"id": None if message_id is None else int(message_id), "text": message})
        stored = await self._run(APPEND, user_id=int(user_id), item=item,
                                 message_id=None if message_id is None else int(message_id), keep=self.keep)
        return _messages(stored)

    async def get(self, user_id: int) -> list[str]:
        stored = await self._run("SELECT messages FROM dialogue_context WHERE user_id = :user_id", user_id=int(user_id))
        return _messages(stored)

    async def clear(self, user_id: int) -> None:
        await self._run("UPDATE dialogue_context SET messages = '[]'::jsonb, updated_at = now() WHERE user_id = :user_id",
                        user_id=int(user_id))

    async def users(self) -> int:
        return int(await self._run("SELECT count(*) FROM dialogue_context") or 0)


def _messages(stored: Any) -> list[str]:
    if stored is None:
        return []
    values = json.loads(stored) if isinstance(stored, str) else stored
    return [str(value["text"]) if isinstance(value, dict) else str(value) for value in values]
