"""Analytics queries and the forecasting activity on PostgreSQL and SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from activities.forecasting import ForecastingActivities
from activities.io import ComputeForecastsInput
from domain.forecast import ForecastParams
from store import analytics
from store.analytics_tables import Forecast
from store.db import session_factory
from store.tables import Order, OrderEvent, OrderLine, Reservation
from workers.seed import seed_demo

DAY0 = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
async def sessions(migrated_engine: AsyncEngine) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A migrated, seeded database with the forecasts table."""
    async with migrated_engine.begin() as conn:
        await conn.run_sync(
            lambda sync: Forecast.metadata.tables["forecasts"].create(sync, checkfirst=True)
        )
    factory = session_factory(migrated_engine)
    await seed_demo(factory)
    yield factory


def add_order(
    session: AsyncSession,
    n: int,
    at: datetime,
    status: str = "in_fulfillment",
    lines: dict[str, int] | None = None,
    channel: str = "web",
    location: str | None = None,
) -> str:
    """An order row with its lines (and a reservation when a location is given)."""
    order_id = f"ord_{n}"
    lines = lines or {"TSHIRT-M": 1}
    session.add(
        Order(
            order_id=order_id,
            channel=channel,
            external_id=f"EXT-{n}",
            workflow_id=f"order-{channel}-EXT-{n}",
            status=status,
            currency="USD",
            total=Decimal("10.00"),
            document={"lines": [], "shipping_service": "standard"},
            shipments=[{"shipment_id": f"{order_id}-S1", "status": "shipped"}],
            payments=[],
            routing={},
            created_at=at,
            updated_at=at,
        )
    )
    for i, (sku, qty) in enumerate(lines.items()):
        session.add(OrderLine(order_id=order_id, line_id=str(i + 1), sku=sku, quantity=qty))
        if location:
            session.add(
                Reservation(
                    order_id=order_id,
                    line_id=str(i + 1),
                    location_id=location,
                    sku=sku,
                    quantity=qty,
                )
            )
    return order_id


def event(order_id: str, n: int, at: datetime, type_: str, **detail: Any) -> OrderEvent:
    return OrderEvent(order_id=order_id, event_key=f"k{n}", at=at, type=type_, detail=detail)


async def test_daily_demand_buckets_units_per_utc_day(sessions: Any) -> None:
    async with sessions.begin() as session:
        add_order(session, 1, DAY0, lines={"TSHIRT-M": 2, "CAP-BLK": 1})
        add_order(session, 2, DAY0 + timedelta(hours=11, minutes=59), lines={"TSHIRT-M": 3})
        add_order(session, 3, DAY0 + timedelta(days=2), lines={"TSHIRT-M": 1})
        add_order(session, 4, DAY0 + timedelta(days=1), status="failed", lines={"TSHIRT-M": 50})
        add_order(session, 5, DAY0 - timedelta(days=30), lines={"TSHIRT-M": 9})  # before start
    async with sessions() as session:
        series = await analytics.daily_demand(session, DAY0.date(), 3)
    assert series["TSHIRT-M"] == [5.0, 0.0, 1.0]  # 23:59 UTC stays on day 0; failed ignored
    assert series["CAP-BLK"] == [1.0, 0.0, 0.0]
    assert series["BEANIE"] == [0.0, 0.0, 0.0]  # every SKU gets a series


async def test_order_facts_carry_kpi_events_only(sessions: Any) -> None:
    async with sessions.begin() as session:
        oid = add_order(session, 1, DAY0)
        session.add_all(
            [
                event(oid, 1, DAY0, "received"),
                event(oid, 2, DAY0 + timedelta(hours=1), "label_purchased", cost="7.10"),
                event(oid, 3, DAY0 + timedelta(hours=2), "shipment_picked"),
            ]
        )
        add_order(session, 2, DAY0 - timedelta(days=40))
    async with sessions() as session:
        facts = await analytics.order_facts(session, DAY0 - timedelta(days=1), DAY0 + timedelta(1))
    [fact] = facts
    assert fact.shipments == 1 and fact.channel == "web"
    assert sorted(e.type for e in fact.events) == ["label_purchased", "received"]
    assert fact.events[0].at.tzinfo is not None


async def test_status_counts(sessions: Any) -> None:
    # The order list's search itself is services.search (tests/services/test_search.py).
    async with sessions.begin() as session:
        for n in range(5):
            add_order(session, n, DAY0 + timedelta(days=n), status="shipped" if n else "failed")
    async with sessions() as session:
        assert await analytics.status_counts(session) == {"shipped": 4, "failed": 1}


async def test_exception_queries(sessions: Any) -> None:
    now = datetime.now(UTC)
    async with sessions.begin() as session:
        add_order(session, 1, now - timedelta(hours=60), status="backordered")
        add_order(session, 2, now - timedelta(hours=1), status="backordered")
        add_order(session, 3, now - timedelta(hours=2), status="failed")
        add_order(session, 4, now - timedelta(hours=30), status="in_fulfillment")
        oid = add_order(session, 5, now, status="shipped")
        session.add(event(oid, 1, now, "delivery_exception", alert=True))
        session.add(event(oid, 2, now, "shipment_picked"))
    async with sessions() as session:
        old = await analytics.backordered_before(session, now - timedelta(hours=48))
        assert [o.order_id for o in old] == ["ord_1"]
        failed = await analytics.failed_orders(session, now - timedelta(days=1))
        assert [o.order_id for o in failed] == ["ord_3"]
        stuck = await analytics.stuck_orders(session, now - timedelta(hours=24))
        assert [o.order_id for o in stuck] == ["ord_4"]
        problems = await analytics.delivery_exceptions(
            session, ["delivery_exception", "alert"], now - timedelta(days=1)
        )
        assert [(o.order_id, e.type) for o, e in problems] == [("ord_5", "delivery_exception")]
        assert isinstance(await analytics.dead_letters(session), list)  # none, or the table's


async def test_compute_forecasts_writes_one_row_per_sku(sessions: Any) -> None:
    start = date(2026, 1, 1)
    async with sessions.begin() as session:
        for d in range(28):  # TSHIRT-M: 4 a day; MUG-12OZ: 6 every 7th day
            at = datetime(2026, 1, 1, 10, tzinfo=UTC) + timedelta(days=d)
            add_order(
                session, d, at, lines={"TSHIRT-M": 4, **({"MUG-12OZ": 6} if d % 7 == 0 else {})}
            )
    activities = ForecastingActivities(sessions)
    params = ForecastParams(history_days=28, lead_time_days=7, review_days=7)
    as_of = datetime.combine(start + timedelta(days=28), datetime.min.time(), tzinfo=UTC)
    result = await activities.compute_forecasts(ComputeForecastsInput(params=params, as_of=as_of))
    assert result.skus == 12
    async with sessions() as session:
        rows = await analytics.forecasts(session)
    shirt = rows["TSHIRT-M"]
    assert shirt.velocity == pytest.approx(4.0, rel=0.01)
    assert shirt.days_of_cover == pytest.approx(shirt.available / shirt.velocity, abs=0.1)
    assert rows["BEANIE"].method == "none" and rows["BEANIE"].suggested_qty == 0
    assert rows["MUG-12OZ"].velocity > 0
    # A second run replaces the first.
    await activities.compute_forecasts(ComputeForecastsInput(params=params, as_of=as_of))
    async with sessions() as session:
        assert len(await analytics.forecasts(session)) == 12


async def test_dead_letters_show_open_ones_without_payloads(
    sessions: Any, migrated_engine: AsyncEngine
) -> None:
    from store.channel_tables import ChannelDeadLetter

    table = ChannelDeadLetter.metadata.tables["channel_dead_letters"]
    async with migrated_engine.begin() as conn:  # until the channels migration lands
        await conn.run_sync(lambda sync: table.create(sync, checkfirst=True))
    async with sessions.begin() as session:
        for n, status in enumerate(("open", "replayed")):
            session.add(
                ChannelDeadLetter(
                    channel="shopify",
                    delivery_id=f"d{n}",
                    reason="unknown SKU 'X'",
                    body=b'{"secret": "pii"}',
                    status=status,
                )
            )
    async with sessions() as session:
        [row] = await analytics.dead_letters(session)
    assert row["delivery_id"] == "d0" and row["reason"] == "unknown SKU 'X'"
    assert "body" not in row and "headers" not in row
