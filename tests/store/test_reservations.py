"""Reservations never oversell under concurrency, on PostgreSQL and SQLite."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from store import inventory
from store.db import session_factory
from store.inventory import Hold, InsufficientStock
from store.tables import Location, Reservation, Sku, StockLevel


async def _seed(engine: AsyncEngine, units: int) -> None:
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        session.add(Location(location_id="L1", name="L1", kind="warehouse", lat=0, lon=0))
        session.add(Sku(sku="HOT", name="hot item"))
        await session.flush()
        await inventory.adjust(session, "HOT", "L1", units, "receipt", kind="receipt")


async def test_hot_sku_never_oversells(migrated_engine: AsyncEngine) -> None:
    await _seed(migrated_engine, 50)
    sessions = session_factory(migrated_engine)

    async def order(i: int) -> bool:
        try:
            async with sessions.begin() as session:
                await inventory.reserve(session, f"o{i}", [Hold("1", "HOT", "L1", 1)])
            return True
        except InsufficientStock:
            return False

    results = await asyncio.gather(*(order(i) for i in range(150)))
    assert sum(results) == 50
    async with sessions() as session:
        level = await session.get(StockLevel, ("HOT", "L1"))
        assert level is not None and level.reserved == 50 and level.on_hand == 50
        held = await session.scalar(select(func.count()).select_from(Reservation))
        assert held == 50


async def test_reserve_is_idempotent_and_release_commit_balance(
    migrated_engine: AsyncEngine,
) -> None:
    await _seed(migrated_engine, 10)
    sessions = session_factory(migrated_engine)
    for _ in range(3):  # an activity retried after its commit
        async with sessions.begin() as session:
            await inventory.reserve(session, "o1", [Hold("1", "HOT", "L1", 4)])
    async with sessions.begin() as session:
        assert await inventory.commit(session, "o1", "L1", ["1"]) == 4
        assert await inventory.commit(session, "o1", "L1", ["1"]) == 0
        assert await inventory.release(session, "o1") == 0
    async with sessions() as session:
        level = await session.get(StockLevel, ("HOT", "L1"))
        assert level is not None and (level.on_hand, level.reserved) == (6, 0)
        totals = await inventory.movement_totals(session)
        assert totals[("HOT", "L1")] == (6, 0)


async def test_all_or_nothing(migrated_engine: AsyncEngine) -> None:
    await _seed(migrated_engine, 3)
    sessions = session_factory(migrated_engine)
    try:
        async with sessions.begin() as session:
            await inventory.reserve(
                session, "o1", [Hold("1", "HOT", "L1", 2), Hold("2", "HOT", "L1", 2)]
            )
    except InsufficientStock as err:
        assert len(err.short) == 1
    async with sessions() as session:
        level = await session.get(StockLevel, ("HOT", "L1"))
        assert level is not None and level.reserved == 0


async def test_adjust_refuses_to_go_below_reserved(migrated_engine: AsyncEngine) -> None:
    await _seed(migrated_engine, 5)
    sessions = session_factory(migrated_engine)
    async with sessions.begin() as session:
        await inventory.reserve(session, "o1", [Hold("1", "HOT", "L1", 4)])
    try:
        async with sessions.begin() as session:
            await inventory.adjust(session, "HOT", "L1", -3, "count")
        raise AssertionError("adjustment below reserved was accepted")
    except ValueError as err:
        assert "reserved" in str(err)
