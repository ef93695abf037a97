"""The simulators' own database: a separate URL, its schema made with `create_all`, no migrations.

The sandbox stands for remote services, so its tables stay out of the OMS schema. Sharing the
OMS database would also put every simulated write in the queue of the OMS's single SQLite writer.
There are no migrations: simulated state is disposable, so a change to a sandbox table is
deployed by starting from an empty sandbox database.
"""

from __future__ import annotations

from pathlib import Path

import structlog
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from sandbox.tables import SandboxBase
from store.db import Database, is_sqlite

log = structlog.get_logger(__name__)

# Serialises schema creation across processes starting at once on PostgreSQL: `create_all`
# checks, then creates, so two racing workers would otherwise both try CREATE TABLE.
_SCHEMA_LOCK_KEY = 0x5A4D_B0C5


async def create_schema(engine: AsyncEngine) -> None:
    """Create every missing sandbox table and index (idempotent; SQLite and PostgreSQL)."""
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            lock = text("SELECT pg_advisory_xact_lock(:key)")
            await conn.execute(lock, {"key": _SCHEMA_LOCK_KEY})
        # On SQLite the writer's BEGIN IMMEDIATE already holds the database's write lock.
        await conn.run_sync(SandboxBase.metadata.create_all)


async def open_sandbox_database(url: str, *, pool_size: int = 10) -> Database:
    """The sandbox database at `url`, with its tables; the caller disposes it."""
    if is_sqlite(url):
        path = make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    database = Database(url, pool_size=pool_size)
    try:
        await create_schema(database.engine)
    except BaseException:
        await database.dispose()
        raise
    log.info("sandbox database ready", url=make_url(url).render_as_string(hide_password=True))
    return database
