"""Read queries of the ops dashboard, KPIs and forecasting (PostgreSQL and SQLite)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import JSON, ColumnElement, LargeBinary, delete, func, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

import store.channel_tables  # noqa: F401  (registers the dead-letter table when it exists)
from domain.forecast import ForecastParams, SkuForecast
from domain.kpis import KPI_EVENTS, EventFact, OrderFact, StockFact
from domain.states import NOT_PLACED
from store.analytics_tables import Forecast
from store.tables import Base, Order, OrderEvent, OrderLine, Sku, StockLevel

# KPIs load order facts into memory; past this many orders the window is cut to the newest.
MAX_KPI_ORDERS = 50_000
ACTIVE_STATUSES = ("received", "in_fulfillment", "shipped")


def _utc_day(session: AsyncSession, column: Any) -> ColumnElement[Any]:
    """The UTC calendar day of a timestamp column (SQLite stores UTC already)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("UTC", column))
    return func.date(column)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


async def status_counts(session: AsyncSession) -> dict[str, int]:
    """Orders per status (the index on status keeps this cheap)."""
    rows = await session.execute(select(Order.status, func.count()).group_by(Order.status))
    return {status: int(n) for status, n in rows.all()}


async def filter_options(session: AsyncSession) -> dict[str, list[str]]:
    """Values for the list's drop-downs."""
    channels = (
        await session.scalars(select(Order.channel).distinct().order_by(Order.channel))
    ).all()
    locations = (
        await session.scalars(
            select(StockLevel.location_id).distinct().order_by(StockLevel.location_id)
        )
    ).all()
    skus = (await session.scalars(select(Sku.sku).order_by(Sku.sku))).all()
    return {"channels": list(channels), "locations": list(locations), "skus": list(skus)}


async def order_facts(session: AsyncSession, since: datetime, until: datetime) -> list[OrderFact]:
    """Orders created in the window with the events the KPIs read."""
    orders = (
        await session.execute(
            select(
                Order.order_id,
                Order.channel,
                Order.status,
                Order.created_at,
                Order.shipments,
                Order.document,
            )
            .where(
                Order.created_at >= since,
                Order.created_at < until,
                Order.status.not_in(sorted(NOT_PLACED)),
            )
            .order_by(Order.created_at.desc())
            .limit(MAX_KPI_ORDERS)
        )
    ).all()
    ids = [o.order_id for o in orders]
    events: dict[str, list[EventFact]] = defaultdict(list)
    # Chunked so an IN list stays well under SQLite's and asyncpg's parameter limits.
    for start in range(0, len(ids), 5000):
        rows = await session.execute(
            select(OrderEvent.order_id, OrderEvent.at, OrderEvent.type, OrderEvent.detail).where(
                OrderEvent.order_id.in_(ids[start : start + 5000]), OrderEvent.type.in_(KPI_EVENTS)
            )
        )
        for order_id, at, type_, detail in rows.all():
            events[order_id].append(EventFact(at=at, type=type_, detail=detail or {}))
    return [
        OrderFact(
            order_id=o.order_id,
            channel=o.channel,
            status=o.status,
            created_at=o.created_at,
            shipments=len([s for s in (o.shipments or []) if s.get("status") != "cancelled"]),
            shipping_service=(o.document or {}).get("shipping_service", "standard"),
            events=tuple(events.get(o.order_id, ())),
        )
        for o in orders
    ]


async def stock_facts(session: AsyncSession) -> list[StockFact]:
    """Every stock level."""
    rows = (
        await session.scalars(select(StockLevel).order_by(StockLevel.sku, StockLevel.location_id))
    ).all()
    return [
        StockFact(
            sku=r.sku,
            location_id=r.location_id,
            on_hand=r.on_hand,
            reserved=r.reserved,
            safety_stock=r.safety_stock,
            inbound=r.inbound,
        )
        for r in rows
    ]


async def sku_names(session: AsyncSession) -> dict[str, str]:
    """SKU -> display name."""
    return {s: n for s, n in (await session.execute(select(Sku.sku, Sku.name))).all()}


async def daily_demand(session: AsyncSession, start: date, days: int) -> dict[str, list[float]]:
    """Units ordered per SKU and UTC day from `start`, one value per day (zeros included).

    Ordered units, not shipped ones: shipments are censored by stockouts and lag by the
    fulfilment time, so they under-state demand exactly when replenishment matters most.
    Failed orders (payment declined) are not demand.
    """
    day = _utc_day(session, Order.created_at)
    rows = await session.execute(
        select(day, OrderLine.sku, func.sum(OrderLine.quantity))
        .join(Order, Order.order_id == OrderLine.order_id)
        .where(
            Order.created_at >= _midnight(start),
            Order.status != "failed",
            Order.status.not_in(sorted(NOT_PLACED)),  # a draft is not demand until it is placed
        )
        .group_by(day, OrderLine.sku)
    )
    series: dict[str, list[float]] = {
        s: [0.0] * days for s in (await session.scalars(select(Sku.sku))).all()
    }
    for raw_day, sku, units in rows.all():
        offset = (_as_date(raw_day) - start).days
        if 0 <= offset < days:
            series.setdefault(sku, [0.0] * days)[offset] += float(units or 0)
    return series


async def save_forecasts(
    session: AsyncSession, forecasts: Sequence[SkuForecast], params: ForecastParams, at: datetime
) -> None:
    """Replace the stored forecasts with a new run's (one transaction: readers see one run)."""
    await session.execute(delete(Forecast))
    session.add_all(
        Forecast(
            **f.model_dump(exclude={"sku"}),
            sku=f.sku,
            lead_time_days=params.lead_time_days,
            service_level=params.service_level,
            history_days=params.history_days,
            computed_at=at,
        )
        for f in forecasts
    )
    await session.flush()


async def forecasts(session: AsyncSession) -> dict[str, Forecast]:
    """The latest forecast per SKU."""
    return {
        f.sku: f for f in (await session.scalars(select(Forecast).order_by(Forecast.sku))).all()
    }


# ---- exceptions queue -------------------------------------------------------------------------


async def orders_where(session: AsyncSession, *conditions: Any, limit: int = 100) -> list[Order]:
    """Orders matching conditions, oldest update first (the longest waiting on top)."""
    stmt = select(Order).where(*conditions).order_by(Order.updated_at, Order.order_id).limit(limit)
    return list((await session.scalars(stmt)).all())


async def backordered_before(session: AsyncSession, cutoff: datetime) -> list[Order]:
    """Backordered orders whose status has not moved since `cutoff`."""
    return await orders_where(session, Order.status == "backordered", Order.updated_at < cutoff)


async def failed_orders(session: AsyncSession, since: datetime) -> list[Order]:
    """Orders that failed (payment declined, validation) since `since`."""
    return await orders_where(session, Order.status == "failed", Order.updated_at >= since)


async def stuck_orders(session: AsyncSession, cutoff: datetime) -> list[Order]:
    """Orders in an active status with no projection since `cutoff`."""
    return await orders_where(session, Order.status.in_(ACTIVE_STATUSES), Order.updated_at < cutoff)


async def delivery_exceptions(
    session: AsyncSession, types: Sequence[str], since: datetime, limit: int = 100
) -> list[tuple[Order, OrderEvent]]:
    """Exception events since `since`, newest first, with their orders."""
    rows = await session.execute(
        select(Order, OrderEvent)
        .join(OrderEvent, OrderEvent.order_id == Order.order_id)
        .where(OrderEvent.type.in_(list(types)), OrderEvent.at >= since)
        .order_by(OrderEvent.at.desc(), OrderEvent.id.desc())
        .limit(limit)
    )
    return [(o, e) for o, e in rows.all()]


async def dead_letters(session: AsyncSession, limit: int = 100) -> list[dict[str, Any]]:
    """Channel messages that could not be processed, if that table exists (else none)."""
    table = next((t for n, t in Base.metadata.tables.items() if "dead_letter" in n), None)
    if table is None:
        return []
    exists = await session.run_sync(lambda s: inspect(s.connection()).has_table(table.name))
    if not exists:
        return []
    # Payload bodies and headers stay out of the page: binary, large, and may carry PII.
    shown = [c for c in table.c if not isinstance(c.type, LargeBinary | JSON)]
    stmt = select(*shown).limit(limit)
    if "status" in table.c:
        stmt = stmt.where(table.c.status == "open")  # replayed or discarded need nothing
    for name in ("created_at", "received_at", "failed_at", "id"):
        if name in table.c:
            stmt = stmt.order_by(table.c[name].desc())
            break
    return [dict(row) for row in (await session.execute(stmt)).mappings().all()]
