"""Alembic environment of the dialogue context database: async (asyncpg), one transaction per
upgrade, serialised across processes by an advisory lock (two bots starting at once)."""

import asyncio

from alembic import context
from sqlalchemy import pool, text
from sqlalchemy.ext.asyncio import create_async_engine

config = context.config


def _migrate(connection) -> None:
    lock = config.attributes.get("advisory_lock")
    if lock is not None:
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock})
    context.configure(connection=connection, target_metadata=None, transaction_per_migration=False)
    context.run_migrations()


async def _run() -> None:
    engine = create_async_engine(config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_migrate)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("the dialogue context migrations run online only")
asyncio.run(_run())
