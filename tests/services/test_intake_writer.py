"""Group commit at intake: orders arriving together share a transaction; one bad order fails
alone; a repeat in the same batch records nothing new."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.models import CanonicalOrder
from services.intake_writer import IntakeWriter
from services.orders import order_values
from store import inventory
from store.db import session_factory
from store.demand import Wanted
from store.demand_tables import SkuDemand
from store.intake import Intake
from store.tables import Location, Order, OrderLine, Sku
from tests.conftest import canonical_order


def intake(external_id: str, lines: list[tuple[str, int]], **extra: bool) -> Intake:
    body = canonical_order(
        external_id,
        lines=[
            {"line_id": line_id, "sku": "HOT", "quantity": qty, "unit_price": "5.00"}
            for line_id, qty in lines
        ],
    )
    order = CanonicalOrder.model_validate(body)
    return Intake(
        values=order_values(order),
        lines=[Wanted(x.line_id, x.sku, x.quantity) for x in order.lines],
        take_demand=True,
        refuse_short=extra.get("refuse_short", False),
        selling_key="web",
    )


async def test_a_bad_order_fails_alone_and_a_repeat_records_nothing(
    migrated_engine: AsyncEngine,
) -> None:
    sessions = session_factory(migrated_engine)
    async with sessions.begin() as session:
        session.add(Location(location_id="L1", name="L1", kind="warehouse", lat=0, lon=0))
        session.add(Sku(sku="HOT", name="hot", price=Decimal("5")))
        await session.flush()
        await inventory.adjust(session, "HOT", "L1", 5, "receipt", kind="receipt")
    writer = IntakeWriter(sessions)
    good, repeat = intake("g-1", [("1", 2)]), intake("g-1", [("1", 2)])
    bad = intake("b-1", [("1", 1)])
    bad.lines = [Wanted("1", "HOT", 1), Wanted("1", "HOT", 1)]  # breaks the lines' key
    short = intake("s-1", [("1", 9)], refuse_short=True)
    results = await asyncio.gather(
        writer.record(good),
        writer.record(bad),
        writer.record(repeat),
        writer.record(short),
        return_exceptions=True,
    )
    first, failed, again, refused = results
    assert not isinstance(first, BaseException) and first.created and first.short == []
    assert isinstance(failed, IntegrityError)
    assert not isinstance(again, BaseException) and not again.created
    assert not isinstance(refused, BaseException) and refused.refused and not refused.created
    async with sessions() as session:
        orders = (await session.scalars(select(Order.external_id))).all()
        lines = await session.scalar(select(func.count()).select_from(OrderLine))
        promised = await session.scalar(select(SkuDemand.open_units))
    assert orders == ["g-1"] and lines == 1
    assert promised == 2  # the refused order's 9 were given back, the bad one left nothing


@pytest.mark.parametrize("n", [1, 20])
async def test_every_order_of_a_burst_is_recorded_once(
    migrated_engine: AsyncEngine, n: int
) -> None:
    sessions = session_factory(migrated_engine)
    async with sessions.begin() as session:
        session.add(Location(location_id="L1", name="L1", kind="warehouse", lat=0, lon=0))
        session.add(Sku(sku="HOT", name="hot", price=Decimal("5")))
        await session.flush()
        await inventory.adjust(session, "HOT", "L1", 10, "receipt", kind="receipt")
    writer = IntakeWriter(sessions)
    results = await asyncio.gather(*(writer.record(intake(f"o-{i}", [("1", 1)])) for i in range(n)))
    assert all(r.created for r in results)
    # Covered in arrival order: the first ten get the ten units, the rest are short.
    assert [bool(r.short) for r in results] == [i >= 10 for i in range(n)]
