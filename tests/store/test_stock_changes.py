"""The stock-change outbox: one row per change of available-to-promise, in the same transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from store import inventory
from store.db import session_factory
from store.inventory import Hold, InsufficientStock
from store.tables import Location, Sku, StockChange


async def _outbox(engine: AsyncEngine) -> list[str]:
    async with session_factory(engine)() as session:
        return list(await session.scalars(select(StockChange.sku).order_by(StockChange.id)))


async def test_only_changes_of_available_to_promise_are_queued(
    migrated_engine: AsyncEngine,
) -> None:
    sessions = session_factory(migrated_engine)
    async with sessions.begin() as session:
        session.add(Location(location_id="L1", name="L1", kind="warehouse", lat=0, lon=0))
        session.add_all([Sku(sku="A", name="a"), Sku(sku="B", name="b")])
        await session.flush()
        await inventory.adjust(session, "A", "L1", 10, "count")  # on-hand up: queued
        await inventory.expect_inbound(session, "B", "L1", 5, None, "PO-1")  # not promisable
    assert await _outbox(migrated_engine) == ["A"]

    async with sessions.begin() as session:
        await inventory.reserve(session, "o1", [Hold("1", "A", "L1", 2)])
    async with sessions.begin() as session:
        # Shipping takes units out of on-hand and reserved alike: what may be sold is unchanged.
        assert await inventory.commit(session, "o1", "L1", ["1"]) == 2
    assert await _outbox(migrated_engine) == ["A", "A"]

    async with sessions.begin() as session:
        await inventory.reserve(session, "o2", [Hold("1", "A", "L1", 3)])
        await inventory.release(session, "o2")
    assert await _outbox(migrated_engine) == ["A", "A", "A", "A"]


async def test_a_lost_reservation_queues_nothing(migrated_engine: AsyncEngine) -> None:
    sessions = session_factory(migrated_engine)
    async with sessions.begin() as session:
        session.add(Location(location_id="L1", name="L1", kind="warehouse", lat=0, lon=0))
        session.add(Sku(sku="A", name="a"))
    with pytest.raises(InsufficientStock):
        async with sessions.begin() as session:
            await inventory.reserve(session, "o1", [Hold("1", "A", "L1", 1)])
    assert await _outbox(migrated_engine) == []
