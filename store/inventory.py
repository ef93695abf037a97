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
from typing import Any

from sqlalchemy import Table, and_, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from store.tables import Location, Reservation, StockChange, StockLevel, StockMovement

# The reservation path is the hottest write of a flash sale: its statements are built once,
# on Core tables (no ORM bulk machinery), with bind parameters.
_RESERVATIONS: Table = Reservation.__table__  # type: ignore[assignment]
_LEVELS: Table = StockLevel.__table__  # type: ignore[assignment]
_MOVEMENTS: Table = StockMovement.__table__  # type: ignore[assignment]
_CHANGES: Table = StockChange.__table__  # type: ignore[assignment]


def _claim_statement(insert_fn: Any) -> Any:
    """Insert a held reservation, or hold a released one again; returns no row if already held."""
    claim = insert_fn(_RESERVATIONS).values(
        order_id=bindparam("b_order_id"),
        line_id=bindparam("b_line_id"),
        location_id=bindparam("b_location_id"),
        sku=bindparam("b_sku"),
        quantity=bindparam("b_quantity"),
        status="held",
    )
    return claim.on_conflict_do_update(
        index_elements=["order_id", "line_id", "location_id"],
        set_={"status": "held", "quantity": claim.excluded.quantity, "updated_at": func.now()},
        where=_RESERVATIONS.c.status != "held",
    ).returning(_RESERVATIONS.c.order_id)


_CLAIM = {"postgresql": _claim_statement(pg_insert), "sqlite": _claim_statement(sqlite_insert)}
# Take the units only if available-to-promise covers them: the check and the take are one step.
_TAKE = (
    update(_LEVELS)
    .where(
        _LEVELS.c.sku == bindparam("b_sku"),
        _LEVELS.c.location_id == bindparam("b_location_id"),
        _LEVELS.c.on_hand - _LEVELS.c.reserved - _LEVELS.c.safety_stock >= bindparam("b_quantity"),
    )
    .values(reserved=_LEVELS.c.reserved + bindparam("b_quantity"), updated_at=func.now())
)
_ADD_MOVEMENT = insert(_MOVEMENTS)
_ADD_CHANGE = insert(_CHANGES)


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

    Idempotent per (order, line, location): a hold already in place is left alone, one
    released earlier (a reroute back to the same place) is held again. Per hold, two
    statements: claim the reservation row (an upsert that returns nothing when it is already
    held), then take the units with one conditional UPDATE. Rows are taken in (sku,
    location) order so two multi-line orders cannot deadlock on PostgreSQL.
    """
    short: list[Hold] = []
    moves: list[Move] = []
    claim = _CLAIM[session.get_bind().dialect.name]
    for hold in sorted(holds, key=lambda h: (h.sku, h.location_id, h.line_id)):
        params = {
            "b_order_id": order_id,
            "b_line_id": hold.line_id,
            "b_location_id": hold.location_id,
            "b_sku": hold.sku,
            "b_quantity": hold.quantity,
        }
        if (await session.execute(claim, params)).first() is None:
            continue  # already held: a retry of this reservation
        taken = await session.execute(_TAKE, params)
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            short.append(hold)
            continue
        moves.append(
            Move(
                hold.sku,
                hold.location_id,
                "reservation",
                0,
                hold.quantity,
                f"order {order_id} line {hold.line_id}",
                order_id,
            )
        )
    if short:
        raise InsufficientStock(short)
    await record(session, moves)


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
    moves: list[Move] = []
    for sku, location_id, quantity in rows.all():
        await session.execute(
            update(StockLevel)
            .where(StockLevel.sku == sku, StockLevel.location_id == location_id)
            .values(reserved=StockLevel.reserved - quantity, updated_at=func.now())
        )
        moves.append(
            Move(
                sku,
                location_id,
                "release",
                0,
                -quantity,
                reason or f"order {order_id} released",
                order_id,
            )
        )
        released += quantity
    await record(session, moves)
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
    moves: list[Move] = []
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
        moves.append(
            Move(
                sku,
                location_id,
                "shipment",
                -quantity,
                -quantity,
                f"order {order_id} shipped",
                order_id,
            )
        )
        committed += quantity
    await record(session, moves)
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
    await record(session, [Move(sku, location_id, kind, delta, 0, reason, None)])
    await session.refresh(level)
    return level


@dataclass(frozen=True)
class Move:
    """One stock movement: what changed at a location, and why."""

    sku: str
    location_id: str
    kind: str
    on_hand_delta: int
    reserved_delta: int
    reason: str
    order_id: str | None


async def record(session: AsyncSession, moves: Sequence[Move]) -> None:
    """Append `moves` to the movement log, and queue for the channels those that change
    available-to-promise (the stock-change outbox), in the caller's transaction."""
    if not moves:
        return
    rows = [
        {
            "sku": m.sku,
            "location_id": m.location_id,
            "kind": m.kind,
            "on_hand_delta": m.on_hand_delta,
            "reserved_delta": m.reserved_delta,
            "reason": m.reason[:200],
            "order_id": m.order_id,
        }
        for m in moves
    ]
    await session.execute(_ADD_MOVEMENT, _one_or_many(rows))
    changed = [{"sku": m.sku} for m in moves if m.on_hand_delta != m.reserved_delta]
    if changed:
        await session.execute(_ADD_CHANGE, _one_or_many(changed))


def _one_or_many(rows: list[dict[str, Any]]) -> Any:
    """A single row executes as one statement; several as executemany."""
    return rows[0] if len(rows) == 1 else rows


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
    await session.flush()
    await record(
        session, [Move(sku, location_id, "inbound", 0, 0, f"{reason} (+{quantity} inbound)", None)]
    )
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
