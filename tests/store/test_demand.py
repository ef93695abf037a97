"""Demand taken at intake: never promised twice, turned into holds, returned exactly once."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from store import demand, inventory
from store.db import session_factory
from store.demand import Wanted
from store.demand_tables import OrderDemand, SkuDemand
from store.inventory import Hold, InsufficientStock
from store.tables import Location, Sku, StockChange


async def _seed(engine: AsyncEngine, units: int) -> None:
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        for loc in ("L1", "L2"):
            session.add(Location(location_id=loc, name=loc, kind="warehouse", lat=0, lon=0))
        session.add(Sku(sku="HOT", name="hot item"))
        await session.flush()
        await inventory.adjust(session, "HOT", "L1", units - units // 2, "receipt", kind="receipt")
        await inventory.adjust(session, "HOT", "L2", units // 2, "receipt", kind="receipt")


async def _open(engine: AsyncEngine) -> int:
    async with session_factory(engine)() as session:
        return int(await session.scalar(select(SkuDemand.open_units)) or 0)


async def _network(engine: AsyncEngine) -> int:
    async with session_factory(engine).begin() as session:
        return await demand.network_atp_locked(session, "HOT")


async def test_concurrent_intakes_never_promise_more_than_the_network_has(
    migrated_engine: AsyncEngine,
) -> None:
    await _seed(migrated_engine, 40)  # 20 + 20 over two locations: covered network-wide
    sessions = session_factory(migrated_engine)

    async def intake(i: int) -> int:
        async with sessions.begin() as session:
            short = await demand.take_at_intake(session, f"o{i}", [Wanted("1", "HOT", 3)])
        return 3 - sum(x.quantity for x in short)

    covered = await asyncio.gather(*(intake(i) for i in range(30)))
    assert sum(covered) == 40
    assert await _open(migrated_engine) == 40
    assert await _network(migrated_engine) == 0
    async with sessions() as session:  # every promise told the channels (the outbox)
        assert await session.scalar(select(func.count()).select_from(StockChange)) >= 14


async def test_reservation_turns_the_promise_into_a_hold(migrated_engine: AsyncEngine) -> None:
    await _seed(migrated_engine, 10)
    sessions = session_factory(migrated_engine)
    async with sessions.begin() as session:
        assert await demand.take_at_intake(session, "o1", [Wanted("1", "HOT", 4)]) == []
    assert await _network(migrated_engine) == 6
    for _ in range(2):  # a retried reservation converts nothing twice
        async with sessions.begin() as session:
            await inventory.reserve(session, "o1", [Hold("1", "HOT", "L1", 4, "s1")])
    assert await _open(migrated_engine) == 0
    assert await _network(migrated_engine) == 6
    async with sessions() as session:
        row = await session.get(OrderDemand, ("o1", "1"))
        assert row is not None and (row.open_units, row.status) == (0, "reserved")


async def test_an_order_without_a_promise_cannot_take_another_orders(
    migrated_engine: AsyncEngine,
) -> None:
    await _seed(migrated_engine, 4)  # L1 2, L2 2
    sessions = session_factory(migrated_engine)
    async with sessions.begin() as session:
        await demand.take_at_intake(session, "early", [Wanted("1", "HOT", 4)])
    try:
        async with sessions.begin() as session:
            await inventory.reserve(session, "late", [Hold("1", "HOT", "L1", 1, "s1")])
    except InsufficientStock:
        pass
    else:
        raise AssertionError("a unit promised to another order was taken")
    async with sessions.begin() as session:  # the promised order still gets all of it
        await inventory.reserve(
            session, "early", [Hold("1", "HOT", "L1", 2, "a"), Hold("1", "HOT", "L2", 2, "b")]
        )
    assert await _open(migrated_engine) == 0


async def test_every_end_returns_the_open_promise_exactly_once(
    migrated_engine: AsyncEngine,
) -> None:
    await _seed(migrated_engine, 10)
    sessions = session_factory(migrated_engine)
    async with sessions.begin() as session:
        await demand.take_at_intake(session, "o1", [Wanted("1", "HOT", 2), Wanted("2", "HOT", 3)])
        await demand.take_at_intake(session, "o2", [Wanted("1", "HOT", 4)])
    assert await _network(migrated_engine) == 1
    async with sessions.begin() as session:  # o1 cancelled: its stock released, queue left
        await inventory.release(session, "o1", leave_queue=True)
    async with sessions.begin() as session:  # a second end path returns nothing more
        assert await demand.return_open(session, "o1") == {}
        assert await demand.return_for_orders(session, ["o1"]) == {}
    assert await _network(migrated_engine) == 6
    async with sessions.begin() as session:  # o2 ended as projected (e.g. failed)
        assert await demand.return_for_orders(session, ["o1", "o2"]) == {"HOT": 4}
        assert await demand.return_for_orders(session, ["o2"]) == {}
    assert await _open(migrated_engine) == 0
    assert await _network(migrated_engine) == 10


async def test_an_uncovered_line_is_known_at_intake(migrated_engine: AsyncEngine) -> None:
    await _seed(migrated_engine, 3)
    sessions = session_factory(migrated_engine)
    async with sessions.begin() as session:
        short = await demand.take_at_intake(session, "o1", [Wanted("1", "HOT", 5)])
    assert [(x.line_id, x.quantity) for x in short] == [("1", 2)]
    assert await _network(migrated_engine) == 0
