"""The sandbox database: its own metadata, created idempotently on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import inspect

import store.migrations.env_tables  # noqa: F401  (every table of the OMS schema)
from config.settings import Settings
from sandbox.db import create_schema, open_sandbox_database
from sandbox.tables import SandboxBase
from store.db import Database
from store.tables import Base


async def _tables(database: Database) -> set[str]:
    async with database.engine.connect() as conn:
        return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))


def test_sandbox_tables_are_not_in_the_oms_schema() -> None:
    sandbox = set(SandboxBase.metadata.tables)
    assert sandbox and all(name.startswith("sandbox_") for name in sandbox)
    assert not sandbox & set(Base.metadata.tables)
    assert not any(name.startswith("sandbox_") for name in Base.metadata.tables)


async def test_schema_creation_is_idempotent_and_race_free(fresh_sandbox_url: str) -> None:
    """Workers starting at once on an empty database each create the schema; none fails."""
    racers = [Database(fresh_sandbox_url) for _ in range(4)]
    try:
        await asyncio.gather(*(create_schema(db.engine) for db in racers))
        assert set(SandboxBase.metadata.tables) <= await _tables(racers[0])
        again = await open_sandbox_database(fresh_sandbox_url)  # a restart: nothing to create
        await again.dispose()
    finally:
        for db in racers:
            await db.dispose()


async def test_default_is_a_sqlite_file_in_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(data_dir=tmp_path / "var", sandbox_database_url="")
    url = settings.sandbox_database_url_resolved()
    assert url == f"sqlite+aiosqlite:///{(tmp_path / 'var' / 'sandbox.sqlite3').resolve()}"
    assert url != settings.database_url_resolved()
    database = await open_sandbox_database(url)  # makes the data dir when it is missing
    try:
        assert set(SandboxBase.metadata.tables) <= await _tables(database)
        assert (tmp_path / "var" / "sandbox.sqlite3").exists()
    finally:
        await database.dispose()
    monkeypatch.setenv("OMS_SANDBOX_DATABASE_URL", "postgresql+asyncpg://sbx@db/sandbox")
    assert Settings().sandbox_database_url_resolved() == "postgresql+asyncpg://sbx@db/sandbox"
