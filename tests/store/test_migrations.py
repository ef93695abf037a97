"""Alembic migrations on PostgreSQL and SQLite: up, down, up again, and in sync with the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

import store.migrations.env_tables  # noqa: F401  (every table of the migrated schema)
from store import migrate
from store.db import create_engine
from store.tables import Base

EXPECTED = {
    "orders",
    "order_events",
    "order_lines",
    "locations",
    "skus",
    "stock_levels",
    "stock_movements",
    "reservations",
    "api_keys",
    "notifications",
}


SANDBOX_TABLES = {
    "sandbox_carrier_attempts",
    "sandbox_channel_pushes",
    "sandbox_labels",
    "sandbox_payment_authorizations",
    "sandbox_payment_operations",
    "sandbox_payment_requests",
    "sandbox_warehouse_releases",
}


async def _tables(engine) -> set[str]:  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))


async def test_upgrade_downgrade_upgrade(empty_db_url: str) -> None:
    engine = create_engine(empty_db_url)
    try:
        assert await migrate.current_revision(engine) is None
        await migrate.upgrade(engine)
        assert EXPECTED <= await _tables(engine)
        head = await migrate.current_revision(engine)
        assert head is not None
        await migrate.downgrade(engine, "base")
        assert not (EXPECTED & await _tables(engine))
        await migrate.upgrade(engine)
        assert await migrate.current_revision(engine) == head
    finally:
        await engine.dispose()


async def test_migrations_match_the_models(empty_db_url: str) -> None:
    """A model change without a migration fails here, on both databases."""
    engine = create_engine(empty_db_url)
    try:
        await migrate.upgrade(engine)
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda c: compare_metadata(
                    MigrationContext.configure(c, opts={"compare_type": False}), Base.metadata
                )
            )
        assert diff == []
    finally:
        await engine.dispose()


async def test_upgrade_is_idempotent(empty_db_url: str) -> None:
    engine = create_engine(empty_db_url)
    try:
        await migrate.upgrade(engine)
        await migrate.upgrade(engine)
        assert EXPECTED <= await _tables(engine)
    finally:
        await engine.dispose()


async def test_head_has_no_sandbox_tables(empty_db_url: str) -> None:
    """The simulators' tables live in their own database, never in the OMS schema."""
    engine = create_engine(empty_db_url)
    try:
        await migrate.upgrade(engine)
        assert not {t for t in await _tables(engine) if t.startswith("sandbox_")}
        # The revision before the drop had them (the downgrade recreates them as they were).
        await migrate.downgrade(engine, "d4e5f6a7b8c9")
        assert SANDBOX_TABLES <= await _tables(engine)
        await migrate.upgrade(engine)
        assert not {t for t in await _tables(engine) if t.startswith("sandbox_")}
    finally:
        await engine.dispose()
