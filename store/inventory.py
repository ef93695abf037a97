"""Stock levels, reservations and movements. Hot paths are single conditional UPDATEs.

A reservation is `UPDATE stock_levels SET reserved = reserved + q WHERE ... AND
on_hand - reserved - safety_stock >= q`: the database checks and takes in one step, so no
interleaving of concurrent orders can oversell, on PostgreSQL (row lock per SKU and location,
unrelated SKUs never wait) or SQLite (one writer at a time).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.tables import Location, Reservation, StockChange, StockLevel, StockMovement


@dataclass(frozen=True)
class Hold:
    """Units to hold for one order line at one location."""

    line_id: str
    sku: str
    location_id: str
    quantity: int


class InsufficientStock(Exception):
    """A reservation lost: the listed holds could not be taken."""

    def __init__(self, short: list[Hold]) -> None:
        super().__init__(f"{len(short)} allocation(s) short")
        self.short = short


async def available_by_location(
    session: AsyncSession, skus: Iterable[str]
) -> dict[tuple[str, str], int]:
    """(sku, location_id) -> available to promise, for active locations."""
    atp = StockLevel.on_hand - StockLevel.reserved - StockLevel.safety_stock
    rows = await session.execute(
        select(StockLevel.sku, StockLevel.location_id, atp)
        .join(Location, Location.location_id == StockLevel.location_id)
        .where(StockLevel.sku.in_(list(skus)), Location.active.is_(True))
    )
    return {(sku, loc): max(0, int(value)) for sku, loc, value in rows.all()}


async def active_locations(session: AsyncSession) -> list[Location]:
    """Every location that may ship."""
    result = await session.execute(select(Location).where(Location.active.is_(True)))
    return list(result.scalars())


async def shipments_today(session: AsyncSession) -> dict[str, int]:
    """Orders holding stock per location since midnight UTC: used daily capacity."""
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    rows = await session.execute(
        select(Reservation.location_id, func.count(func.distinct(Reservation.order_id)))
        .where(Reservation.created_at >= midnight, Reservation.status != "released")
        .group_by(Reservation.location_id)
    )
    return {loc: int(n) for loc, n in rows.all()}


async def reserve(session: AsyncSession, order_id: str, holds: Sequence[Hold]) -> None:
    """Hold every allocation or raise `InsufficientStock` (the caller rolls back).

    Idempotent per (order, line, location): a hold already in place is left alone. Rows are
    taken in (sku, location) order so two multi-line orders cannot deadlock on PostgreSQL.
    """
    short: list[Hold] = []
    for hold in sorted(holds, key=lambda h: (h.sku, h.location_id, h.line_id)):
        key = (order_id, hold.line_id, hold.location_id)
        existing = await session.get(Reservation, key)
        if existing is not None and existing.status == "held":
            continue
        taken = await session.execute(
            update(StockLevel)
            .where(
                StockLevel.sku == hold.sku,
                StockLevel.location_id == hold.location_id,
                StockLevel.on_hand - StockLevel.reserved - StockLevel.safety_stock >= hold.quantity,
            )
            .values(reserved=StockLevel.reserved + hold.quantity, updated_at=func.now())
        )
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            short.append(hold)
            continue
        if existing is None:
            session.add(
                Reservation(
                    order_id=order_id,
                    line_id=hold.line_id,
                    location_id=hold.location_id,
                    sku=hold.sku,
                    quantity=hold.quantity,
                    status="held",
                )
            )
        else:  # re-reserved after an earlier release (reroute back to the same place)
            existing.status, existing.quantity = "held", hold.quantity
            existing.updated_at = datetime.now(UTC)
        _movement(
            session,
            hold.sku,
            hold.location_id,
            "reservation",
            0,
            hold.quantity,
            f"order {order_id} line {hold.line_id}",
            order_id,
        )
    if short:
        raise InsufficientStock(short)
    await session.flush()


async def release(
    session: AsyncSession, order_id: str, location_ids: Sequence[str] = (), reason: str = ""
) -> int:
    """Give back held units of an order (all, or at some locations); returns units released."""
    cond = [Reservation.order_id == order_id, Reservation.status == "held"]
    if location_ids:
        cond.append(Reservation.location_id.in_(list(location_ids)))
    rows = await session.execute(
        update(Reservation)
        .where(and_(*cond))
        .values(status="released", updated_at=func.now())
        .returning(Reservation.sku, Reservation.location_id, Reservation.quantity)
    )
    released = 0
    for sku, location_id, quantity in rows.all():
        await session.execute(
            update(StockLevel)
            .where(StockLevel.sku == sku, StockLevel.location_id == location_id)
            .values(reserved=StockLevel.reserved - quantity, updated_at=func.now())
        )
        _movement(
            session,
            sku,
            location_id,
            "release",
            0,
            -quantity,
            reason or f"order {order_id} released",
            order_id,
        )
        released += quantity
    return released


async def commit(
    session: AsyncSession, order_id: str, location_id: str, line_ids: Sequence[str]
) -> int:
    """The shipment left: held units leave on-hand too. Returns units committed."""
    rows = await session.execute(
        update(Reservation)
        .where(
            Reservation.order_id == order_id,
            Reservation.location_id == location_id,
            Reservation.line_id.in_(list(line_ids)),
            Reservation.status == "held",
        )
        .values(status="committed", updated_at=func.now())
        .returning(Reservation.sku, Reservation.quantity)
    )
    committed = 0
    for sku, quantity in rows.all():
        await session.execute(
            update(StockLevel)
            .where(StockLevel.sku == sku, StockLevel.location_id == location_id)
            .values(
                on_hand=StockLevel.on_hand - quantity,
                reserved=StockLevel.reserved - quantity,
                updated_at=func.now(),
            )
        )
        _movement(
            session,
            sku,
            location_id,
            "shipment",
            -quantity,
            -quantity,
            f"order {order_id} shipped",
            order_id,
        )
        committed += quantity
    return committed


async def adjust(
    session: AsyncSession,
    sku: str,
    location_id: str,
    delta: int,
    reason: str,
    kind: str = "adjustment",
) -> StockLevel:
    """Change on-hand by `delta` (a count, a receipt, a write-off); refuses to go below reserved."""
    level = await session.get(StockLevel, (sku, location_id))
    if level is None:
        level = StockLevel(
            sku=sku, location_id=location_id, on_hand=0, reserved=0, safety_stock=0, inbound=0
        )
        session.add(level)
        await session.flush()
    result = await session.execute(
        update(StockLevel)
        .where(
            StockLevel.sku == sku,
            StockLevel.location_id == location_id,
            StockLevel.on_hand + delta >= StockLevel.reserved,
        )
        .values(on_hand=StockLevel.on_hand + delta, updated_at=func.now())
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise ValueError(
            f"delta {delta} would take on_hand below the {level.reserved} units reserved"
        )
    _movement(session, sku, location_id, kind, delta, 0, reason, None)
    await session.refresh(level)
    return level


def _movement(
    session: AsyncSession,
    sku: str,
    location_id: str,
    kind: str,
    on_hand_delta: int,
    reserved_delta: int,
    reason: str,
    order_id: str | None,
) -> None:
    if on_hand_delta != reserved_delta:
        # Available-to-promise moved: channels must hear of it (relayed from this outbox).
        session.add(StockChange(sku=sku))
    session.add(
        StockMovement(
            sku=sku,
            location_id=location_id,
            kind=kind,
            on_hand_delta=on_hand_delta,
            reserved_delta=reserved_delta,
            reason=reason[:200],
            order_id=order_id,
        )
    )


async def movement_totals(session: AsyncSession) -> dict[tuple[str, str], tuple[int, int]]:
    """Sum of movements per (sku, location): (on_hand, reserved), to check levels against."""
    rows = await session.execute(
        select(
            StockMovement.sku,
            StockMovement.location_id,
            func.sum(StockMovement.on_hand_delta),
            func.sum(StockMovement.reserved_delta),
        ).group_by(StockMovement.sku, StockMovement.location_id)
    )
    return {(s, loc): (int(a or 0), int(b or 0)) for s, loc, a, b in rows.all()}


async def expect_inbound(
    session: AsyncSession,
    sku: str,
    location_id: str,
    quantity: int,
    expected_at: datetime | None,
    reason: str,
) -> StockLevel:
    """Record stock on its way (a PO or transfer): shown as inbound, not yet promisable."""
    level = await _level(session, sku, location_id)
    level.inbound += quantity
    if expected_at is not None:
        level.inbound_expected_at = expected_at
    _movement(session, sku, location_id, "inbound", 0, 0, f"{reason} (+{quantity} inbound)", None)
    await session.flush()
    return level


async def receive(
    session: AsyncSession, sku: str, location_id: str, quantity: int, reason: str
) -> StockLevel:
    """Stock arrived: on-hand up, the inbound it fulfils down."""
    level = await adjust(session, sku, location_id, quantity, reason, kind="receipt")
    if level.inbound:
        level.inbound = max(0, level.inbound - quantity)
        if level.inbound == 0:
            level.inbound_expected_at = None
        await session.flush()
    return level


async def _level(session: AsyncSession, sku: str, location_id: str) -> StockLevel:
    level = await session.get(StockLevel, (sku, location_id))
    if level is None:
        level = StockLevel(
            sku=sku, location_id=location_id, on_hand=0, reserved=0, safety_stock=0, inbound=0
        )
        session.add(level)
        await session.flush()
    return level
