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

from sqlalchemy import Table, and_, bindparam, case, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import InsufficientStock as InsufficientStock
from store import demand
from store.tables import Backorder, Location, Reservation, StockChange, StockLevel, StockMovement

# The reservation path is the hottest write of a flash sale: its statements are built once,
# on Core tables (no ORM bulk machinery), with bind parameters.
_RESERVATIONS: Table = Reservation.__table__  # type: ignore[assignment]
_LEVELS: Table = StockLevel.__table__  # type: ignore[assignment]
_MOVEMENTS: Table = StockMovement.__table__  # type: ignore[assignment]
_CHANGES: Table = StockChange.__table__  # type: ignore[assignment]


def _new_hold(insert_fn: Any) -> Any:
    """An INSERT of one held reservation row from bind parameters."""
    return insert_fn(_RESERVATIONS).values(
        order_id=bindparam("b_order_id"),
        hold_id=bindparam("b_hold_id"),
        line_id=bindparam("b_line_id"),
        location_id=bindparam("b_location_id"),
        sku=bindparam("b_sku"),
        quantity=bindparam("b_quantity"),
        status="held",
    )


_KEY = ["order_id", "hold_id", "line_id", "location_id"]


def _claim_statement(insert_fn: Any) -> Any:
    """Insert a held reservation, or hold a released one again; returns no row if already held."""
    claim = _new_hold(insert_fn)
    return claim.on_conflict_do_update(
        index_elements=_KEY,
        set_={"status": "held", "quantity": claim.excluded.quantity, "updated_at": func.now()},
        where=_RESERVATIONS.c.status != "held",
    ).returning(_RESERVATIONS.c.order_id)


def _claim_waiting_statement(insert_fn: Any) -> Any:
    """Add units to an order line's waiting hold at a location (created on first use)."""
    claim = _new_hold(insert_fn)
    added = _RESERVATIONS.c.quantity + claim.excluded.quantity
    return claim.on_conflict_do_update(
        index_elements=_KEY,
        set_={
            "status": "held",
            # A waiting hold that was moved or released starts again from what is given now.
            "quantity": case(
                (_RESERVATIONS.c.status == "held", added), else_=claim.excluded.quantity
            ),
            "updated_at": func.now(),
        },
    )


_CLAIM = {"postgresql": _claim_statement(pg_insert), "sqlite": _claim_statement(sqlite_insert)}
_CLAIM_WAITING = {
    "postgresql": _claim_waiting_statement(pg_insert),
    "sqlite": _claim_waiting_statement(sqlite_insert),
}
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


# The hold of units set aside for a backordered line when stock arrived.
WAITING = "waiting"
# Workflows to wake after the transaction commits (see `wakeups`).
_WAKE = "oms_wake_workflows"


@dataclass(frozen=True)
class Hold:
    """Units to hold for one order line at one location, owned by `hold_id` (a shipment)."""

    line_id: str
    sku: str
    location_id: str
    quantity: int
    hold_id: str = ""


@dataclass(frozen=True)
class ShortLine:
    """Units of an order line no location could supply: they join the backorder queue."""

    line_id: str
    sku: str
    quantity: int


def wakeups(session: AsyncSession) -> set[str]:
    """Workflow ids that were given stock in this session's transaction: signal them once it
    has committed (a lost signal only delays them to their next recheck, the stock is theirs)."""
    return session.info.setdefault(_WAKE, set())  # type: ignore[no-any-return]


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


async def waiting_holds(session: AsyncSession, order_id: str) -> dict[tuple[str, str], int]:
    """(sku, location_id) -> units set aside for the order's backordered lines."""
    rows = await session.execute(
        select(Reservation.sku, Reservation.location_id, func.sum(Reservation.quantity))
        .where(
            Reservation.order_id == order_id,
            Reservation.hold_id == WAITING,
            Reservation.status == "held",
        )
        .group_by(Reservation.sku, Reservation.location_id)
    )
    return {(sku, loc): int(units) for sku, loc, units in rows.all()}


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

    Idempotent per (order, hold, line, location): a hold already in place is left alone, one
    released earlier is held again. Units the inventory service set aside for this order's
    line at that location (the `waiting` hold) are moved into the new hold first; only the rest
    is taken from available stock, by one conditional UPDATE. Rows are taken in (sku, location)
    order so two multi-line orders cannot deadlock on PostgreSQL.
    """
    short: list[Hold] = []
    moves: list[Move] = []
    claim = _CLAIM[session.get_bind().dialect.name]
    promised = await demand.open_for_order(session, order_id)
    for hold in sorted(holds, key=lambda h: (h.sku, h.location_id, h.line_id, h.hold_id)):
        params = {
            "b_order_id": order_id,
            "b_hold_id": hold.hold_id,
            "b_line_id": hold.line_id,
            "b_location_id": hold.location_id,
            "b_sku": hold.sku,
            "b_quantity": hold.quantity,
        }
        if (await session.execute(claim, params)).first() is None:
            continue  # already held: a retry of this reservation
        fresh = hold.quantity - await _take_waiting(session, order_id, hold)
        converted = 0
        if promised.get(hold.line_id):  # units promised at intake become this hold
            converted = await demand.consume(
                session, order_id, hold.line_id, hold.sku, hold.quantity
            )
            promised[hold.line_id] -= converted
        if fresh <= 0:
            continue
        # Units beyond the order's own promise may not be another order's promise.
        if fresh > converted and not await demand.free_covers(session, hold.sku, fresh - converted):
            short.append(hold)
            continue
        taken = await session.execute(_TAKE, {**params, "b_quantity": fresh})
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            short.append(hold)
            continue
        reason = f"order {order_id} line {hold.line_id}"
        moves.append(Move(hold.sku, hold.location_id, "reservation", 0, fresh, reason, order_id))
    if short:
        raise InsufficientStock(short)
    await record(session, moves)


async def _take_waiting(session: AsyncSession, order_id: str, hold: Hold) -> int:
    """Move up to `hold.quantity` units from the order's waiting hold into `hold`; units moved."""
    where = (
        Reservation.order_id == order_id,
        Reservation.hold_id == WAITING,
        Reservation.line_id == hold.line_id,
        Reservation.location_id == hold.location_id,
        Reservation.status == "held",
    )
    waiting = await session.scalar(select(Reservation.quantity).where(*where).with_for_update())
    if not waiting:
        return 0
    moved = min(waiting, hold.quantity)
    left = waiting - moved
    await session.execute(
        update(Reservation)
        .where(*where)
        .values(
            quantity=left if left else waiting,
            status="held" if left else "moved",
            updated_at=func.now(),
        )
    )
    return moved


async def queue_backorders(
    session: AsyncSession,
    order_id: str,
    workflow_id: str,
    short: Sequence[ShortLine],
    eligible_locations: Sequence[str] = (),
) -> None:
    """Make the order's place in the backorder queue match `short` (its lines still short).

    A line that keeps waiting keeps its `queued_at` and the units already set aside for it;
    it needs only the rest. Lines no longer short leave the queue, and units set aside for them
    that the order's plan did not use go back to stock (and on to the next waiting line).
    """
    queued = {
        row.line_id: row
        for row in await session.scalars(
            select(Backorder).where(Backorder.order_id == order_id).with_for_update()
        )
    }
    held = await _waiting_by_line(session, order_id)
    for line in short:
        need = max(0, line.quantity - held.get(line.line_id, 0))
        row = queued.pop(line.line_id, None)
        if row is None:
            session.add(
                Backorder(
                    order_id=order_id,
                    line_id=line.line_id,
                    sku=line.sku,
                    quantity=need,
                    workflow_id=workflow_id,
                    eligible_locations=list(eligible_locations),
                )
            )
        else:
            row.quantity, row.eligible_locations = need, list(eligible_locations)
    for row in queued.values():
        await session.delete(row)
    await session.flush()
    still_short = {line.line_id for line in short}
    unused = [line_id for line_id in held if line_id not in still_short]
    if unused:
        await release(
            session, order_id, hold_ids=[WAITING], line_ids=unused, reason="not used by the plan"
        )


async def _waiting_by_line(session: AsyncSession, order_id: str) -> dict[str, int]:
    rows = await session.execute(
        select(Reservation.line_id, func.sum(Reservation.quantity))
        .where(
            Reservation.order_id == order_id,
            Reservation.hold_id == WAITING,
            Reservation.status == "held",
        )
        .group_by(Reservation.line_id)
    )
    return {line_id: int(units) for line_id, units in rows.all()}


async def serve_waiting(session: AsyncSession, sku: str, location_id: str) -> int:
    """Give available units of `sku` at `location_id` to waiting lines, oldest first.

    Strict order: the oldest line that may ship from here takes what it needs (or all there
    is), then the next. Units are held for the order (its `waiting` hold) and its workflow is
    noted in `wakeups` to be woken. Returns units given.
    """
    waiting = list(
        await session.scalars(
            select(Backorder)
            .where(Backorder.sku == sku, Backorder.quantity > 0)
            .order_by(Backorder.queued_at, Backorder.order_id, Backorder.line_id)
            .with_for_update()
        )
    )
    if not waiting:
        return 0
    level = await session.get(StockLevel, (sku, location_id), with_for_update=True)
    active = await session.scalar(
        select(Location.active).where(Location.location_id == location_id)
    )
    if level is None or not active:
        return 0
    await session.refresh(level)
    free = level.on_hand - level.reserved - level.safety_stock
    given = 0
    moves: list[Move] = []
    claim = _CLAIM_WAITING[session.get_bind().dialect.name]
    for row in waiting:
        if free <= 0:
            break
        if row.eligible_locations and location_id not in row.eligible_locations:
            continue
        take = min(free, row.quantity)
        await session.execute(
            claim,
            {
                "b_order_id": row.order_id,
                "b_hold_id": WAITING,
                "b_line_id": row.line_id,
                "b_location_id": location_id,
                "b_sku": sku,
                "b_quantity": take,
            },
        )
        await session.execute(
            update(StockLevel)
            .where(StockLevel.sku == sku, StockLevel.location_id == location_id)
            .values(reserved=StockLevel.reserved + take, updated_at=func.now())
        )
        row.quantity -= take
        free -= take
        given += take
        reason = f"order {row.order_id} line {row.line_id}: backorder served"
        moves.append(Move(sku, location_id, "reservation", 0, take, reason, row.order_id))
        wakeups(session).add(row.workflow_id)
    await session.flush()
    await record(session, moves)
    return given


async def release(
    session: AsyncSession,
    order_id: str,
    location_ids: Sequence[str] = (),
    reason: str = "",
    *,
    hold_ids: Sequence[str] = (),
    line_ids: Sequence[str] = (),
    leave_queue: bool = False,
) -> int:
    """Give back held units of an order (all, or of some holds or locations); units released.

    The freed units go first to lines waiting for them (`serve_waiting`). With `leave_queue`
    the order also leaves the backorder queue (it ended, or what it waited for was cancelled).
    """
    if leave_queue:
        # The order's open lines are dropped: their intake promise goes back first (before any
        # level row is locked, in the lock order intake and reservations use).
        await demand.return_open(session, order_id)
    cond = [Reservation.order_id == order_id, Reservation.status == "held"]
    if location_ids:
        cond.append(Reservation.location_id.in_(list(location_ids)))
    if hold_ids:
        cond.append(Reservation.hold_id.in_(list(hold_ids)))
    if line_ids:
        cond.append(Reservation.line_id.in_(list(line_ids)))
    rows = await session.execute(
        update(Reservation)
        .where(and_(*cond))
        .values(status="released", updated_at=func.now())
        .returning(Reservation.sku, Reservation.location_id, Reservation.quantity)
    )
    if leave_queue:
        await session.execute(delete(Backorder).where(Backorder.order_id == order_id))
    released = 0
    moves: list[Move] = []
    freed: set[tuple[str, str]] = set()
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
        freed.add((sku, location_id))
    await record(session, moves)
    for sku, location_id in sorted(freed):
        await serve_waiting(session, sku, location_id)
    return released


async def trim_open(
    session: AsyncSession, order_id: str, keep: dict[str, int], reason: str = ""
) -> int:
    """An order change took units of lines off: each line in `keep` keeps at most that many
    units outside its shipments, and what it held or claimed beyond them goes back.

    In this order per line: units set aside for it while it waited (the `waiting` hold), its
    intake promise, its place in the backorder queue (kept, with `queued_at`, for what it still
    waits for). Shipment holds are not touched: the change takes those shipments back whole.
    Returns the held units freed (they go on to the next waiting lines).
    """
    moves: list[Move] = []
    freed: set[tuple[str, str]] = set()
    for line_id, units in sorted(keep.items()):
        rows = list(
            await session.scalars(
                select(Reservation)
                .where(
                    Reservation.order_id == order_id,
                    Reservation.hold_id == WAITING,
                    Reservation.line_id == line_id,
                    Reservation.status == "held",
                )
                .order_by(Reservation.location_id)
                .with_for_update()
            )
        )
        kept = 0
        for row in rows:
            take = min(row.quantity, max(0, units - kept))
            drop = row.quantity - take
            kept += take
            if not drop:
                continue
            if take:
                row.quantity = take
            else:
                row.status = "released"
            row.updated_at = datetime.now(UTC)
            await session.execute(
                update(StockLevel)
                .where(StockLevel.sku == row.sku, StockLevel.location_id == row.location_id)
                .values(reserved=StockLevel.reserved - drop, updated_at=func.now())
            )
            why = reason or f"order {order_id} line {line_id} changed"
            moves.append(Move(row.sku, row.location_id, "release", 0, -drop, why, order_id))
            freed.add((row.sku, row.location_id))
        still_needed = max(0, units - kept)
        promised = (await demand.open_for_order(session, order_id)).get(line_id, 0)
        if promised > still_needed:
            await demand.return_units(session, order_id, line_id, promised - still_needed)
        queued = await session.get(Backorder, (order_id, line_id), with_for_update=True)
        if queued is not None:
            if still_needed == 0:
                await session.delete(queued)
            else:
                queued.quantity = min(queued.quantity, still_needed)
    await session.flush()
    await record(session, moves)
    for sku, location_id in sorted(freed):
        await serve_waiting(session, sku, location_id)
    return sum(-m.reserved_delta for m in moves)


async def commit(
    session: AsyncSession,
    order_id: str,
    location_id: str,
    line_ids: Sequence[str],
    hold_id: str | None = None,
) -> int:
    """The shipment left: its held units leave on-hand too. Returns units committed.

    `hold_id` is the shipment; None (orders started before holds had ids) commits every
    hold of those lines at the location.
    """
    cond = [
        Reservation.order_id == order_id,
        Reservation.location_id == location_id,
        Reservation.line_id.in_(list(line_ids)),
        Reservation.status == "held",
    ]
    if hold_id is not None:
        cond.append(Reservation.hold_id == hold_id)
    rows = await session.execute(
        update(Reservation)
        .where(*cond)
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
    """Change on-hand by `delta` (a count, a receipt, a write-off); refuses to go below reserved.

    New units go to waiting backorders first, oldest first (`serve_waiting`).
    """
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
    if delta > 0:
        await serve_waiting(session, sku, location_id)
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
