"""Network demand: orders take units off network ATP at intake; reservations convert them.

Network ATP of a SKU = the available units of its active locations - the units promised at
intake and not yet reserved (`sku_demand.open_units`). Every statement that changes the
promise takes the SKU's `sku_demand` row first (FOR UPDATE on PostgreSQL; SQLite has one
writer), then reads the locations, so each sees the others' committed work and none can
promise a unit twice. Each order line's promise is one `order_demand` row whose `open_units`
only goes down (reserved, or returned once when the order ends), so nothing is returned twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.demand_tables import OrderDemand, SkuDemand
from store.dialect import at_least_zero, insert_for
from store.tables import Location, StockChange, StockLevel


@dataclass(frozen=True)
class Wanted:
    """Units of one order line."""

    line_id: str
    sku: str
    quantity: int


@dataclass(frozen=True)
class Uncovered:
    """Units of an order line network ATP could not cover at intake."""

    line_id: str
    sku: str
    quantity: int


async def _lock(session: AsyncSession, sku: str) -> int | None:
    """Take the SKU's demand row; its open units, None if absent."""
    value = await session.scalar(
        select(SkuDemand.open_units).where(SkuDemand.sku == sku).with_for_update()
    )
    return None if value is None else int(value)


async def _location_atp(session: AsyncSession, sku: str) -> int:
    """Available units of the SKU over active locations (a location short counts as 0)."""
    atp = StockLevel.on_hand - StockLevel.reserved - StockLevel.safety_stock
    total = await session.scalar(
        select(func.coalesce(func.sum(at_least_zero(session, atp)), 0))
        .join(Location, Location.location_id == StockLevel.location_id)
        .where(StockLevel.sku == sku, Location.active.is_(True))
    )
    return int(total or 0)


async def take_at_intake(
    session: AsyncSession, order_id: str, lines: Sequence[Wanted]
) -> list[Uncovered]:
    """Promise each line what network ATP covers, in the caller's (order-recording)
    transaction; returns what was not covered (those units backorder when the order routes)."""
    left = await lock_network(session, {line.sku for line in lines})
    taken = cover(order_id, lines, left)
    await record_promises(session, [taken])
    return taken.short


@dataclass
class Promise:
    """What intake promised one order: its `order_demand` rows and what it could not cover."""

    order_id: str
    rows: list[dict[str, Any]]
    short: list[Uncovered]
    promised: dict[str, int]


async def lock_network(session: AsyncSession, skus: Iterable[str]) -> dict[str, int]:
    """Lock the SKUs' demand rows (in name order, so two intakes cannot deadlock; creating
    them) and return what the network can still promise of each, until the caller commits."""
    wanted = sorted(set(skus))
    if not wanted:
        return {}
    await session.execute(
        insert_for(session)(SkuDemand)
        .values([{"sku": sku, "open_units": 0} for sku in wanted])
        .on_conflict_do_nothing()
    )
    return await _promisable(session, wanted, lock=True)


async def network_atp_many(session: AsyncSession, skus: Iterable[str]) -> dict[str, int]:
    """sku -> network ATP as last committed (no lock: a look, for many SKUs at once)."""
    return await _promisable(session, sorted(set(skus)), lock=False)


async def _promisable(session: AsyncSession, wanted: list[str], *, lock: bool) -> dict[str, int]:
    promised = (
        select(SkuDemand.sku, SkuDemand.open_units)
        .where(SkuDemand.sku.in_(wanted))
        .order_by(SkuDemand.sku)
    )
    open_units: dict[str, Any] = dict(
        (await session.execute(promised.with_for_update() if lock else promised)).all()
    )
    atp = StockLevel.on_hand - StockLevel.reserved - StockLevel.safety_stock
    available: dict[str, Any] = dict(
        (
            await session.execute(
                select(StockLevel.sku, func.sum(at_least_zero(session, atp)))
                .join(Location, Location.location_id == StockLevel.location_id)
                .where(StockLevel.sku.in_(wanted), Location.active.is_(True))
                .group_by(StockLevel.sku)
            )
        ).all()
    )
    return {
        sku: max(0, int(available.get(sku) or 0) - int(open_units.get(sku) or 0)) for sku in wanted
    }


def cover(order_id: str, lines: Sequence[Wanted], left: dict[str, int]) -> Promise:
    """Promise the lines what `left` (sku -> promisable units) covers, taking it from `left`."""
    taken = Promise(order_id, [], [], defaultdict(int))
    for line in sorted(lines, key=lambda x: x.sku):
        covered = min(line.quantity, max(0, left.get(line.sku, 0)))
        left[line.sku] = left.get(line.sku, 0) - covered
        taken.promised[line.sku] += covered
        if covered < line.quantity:
            taken.short.append(Uncovered(line.line_id, line.sku, line.quantity - covered))
        taken.rows.append(
            {
                "order_id": order_id,
                "line_id": line.line_id,
                "sku": line.sku,
                "wanted": line.quantity,
                "covered": covered,
                "open_units": covered,
                "status": "open" if covered else "short",
            }
        )
    return taken


def give_back(taken: Promise, left: dict[str, int]) -> None:
    """Undo `cover` (an order refused before it was recorded)."""
    for sku, units in taken.promised.items():
        left[sku] += units


async def record_promises(session: AsyncSession, promises: Sequence[Promise]) -> None:
    """Write the promises (one statement per table, one update per SKU promised) and tell
    the channels, through the outbox, that network ATP dropped."""
    rows = [row for p in promises for row in p.rows]
    promised: dict[str, int] = defaultdict(int)
    for p in promises:
        for sku, units in p.promised.items():
            promised[sku] += units
    if rows:
        await session.execute(insert(OrderDemand), rows)
    changed = sorted(sku for sku, units in promised.items() if units)
    for sku in changed:
        await session.execute(
            update(SkuDemand)
            .where(SkuDemand.sku == sku)
            .values(open_units=SkuDemand.open_units + promised[sku], updated_at=func.now())
        )
    if changed:
        await session.execute(insert(StockChange), [{"sku": sku} for sku in changed])


async def open_for_order(session: AsyncSession, order_id: str) -> dict[str, int]:
    """line_id -> units promised at intake and still open."""
    rows = await session.execute(
        select(OrderDemand.line_id, OrderDemand.open_units).where(
            OrderDemand.order_id == order_id, OrderDemand.open_units > 0
        )
    )
    return {line_id: int(units) for line_id, units in rows.all()}


async def consume(session: AsyncSession, order_id: str, line_id: str, sku: str, units: int) -> int:
    """A reservation of `units` for the line turns up to that much of its promise into the
    hold; returns the units converted (the rest must come out of free network stock)."""
    await _lock(session, sku)
    row = await session.scalar(
        select(OrderDemand)
        .where(OrderDemand.order_id == order_id, OrderDemand.line_id == line_id)
        .with_for_update()
    )
    if row is None or row.open_units <= 0:
        return 0
    converted = min(row.open_units, units)
    row.open_units -= converted
    if row.open_units == 0:
        row.status = "reserved"
    await session.execute(
        update(SkuDemand)
        .where(SkuDemand.sku == sku)
        .values(open_units=SkuDemand.open_units - converted, updated_at=func.now())
    )
    await session.flush()
    return converted


async def free_covers(session: AsyncSession, sku: str, units: int) -> bool:
    """Whether `units` more can leave the locations without breaking other orders' promises
    (takes the SKU's lock, held until the caller commits)."""
    open_units = await _lock(session, sku)
    if not open_units:
        return True  # nothing promised: the location's own check is the whole check
    return await _location_atp(session, sku) - open_units >= units


async def return_open(
    session: AsyncSession, order_id: str, line_ids: Iterable[str] = ()
) -> dict[str, int]:
    """Give back what the order (or its `line_ids`) still has promised; sku -> units returned.

    Exactly once: a returned row has no open units left, so a retry or a second end path
    returns nothing.
    """
    cond = [OrderDemand.order_id == order_id]
    wanted = list(line_ids)
    if wanted:
        cond.append(OrderDemand.line_id.in_(wanted))
    return await _return(session, cond)


async def return_units(session: AsyncSession, order_id: str, line_id: str, units: int) -> int:
    """Give back up to `units` of one line's open promise (a change took them off the order);
    returns the units given back."""
    sku = await session.scalar(
        select(OrderDemand.sku).where(
            OrderDemand.order_id == order_id,
            OrderDemand.line_id == line_id,
            OrderDemand.open_units > 0,
        )
    )
    if sku is None or units <= 0:
        return 0
    await _lock(session, sku)  # the SKU first, then the row: the order intake locks them in
    row = await session.scalar(
        select(OrderDemand)
        .where(OrderDemand.order_id == order_id, OrderDemand.line_id == line_id)
        .with_for_update()
    )
    if row is None or row.open_units <= 0:
        return 0
    given = min(units, row.open_units)
    row.open_units -= given
    if row.open_units == 0:
        row.status = "returned"
    await session.execute(
        update(SkuDemand)
        .where(SkuDemand.sku == sku)
        .values(open_units=SkuDemand.open_units - given, updated_at=func.now())
    )
    await session.execute(insert(StockChange), [{"sku": sku}])
    await session.flush()
    return given


async def return_for_orders(session: AsyncSession, order_ids: Sequence[str]) -> dict[str, int]:
    """`return_open` for many orders at once (the projection of orders that ended)."""
    if not order_ids:
        return {}
    return await _return(session, [OrderDemand.order_id.in_(sorted(set(order_ids)))])


async def _return(session: AsyncSession, cond: list[Any]) -> dict[str, int]:
    # Lock the SKUs first, in name order (as intake does), then the rows: no deadlock.
    skus = sorted(
        set(
            await session.scalars(
                select(OrderDemand.sku).where(*cond, OrderDemand.open_units > 0).distinct()
            )
        )
    )
    if not skus:
        return {}
    for sku in skus:
        await _lock(session, sku)
    rows = list(
        await session.scalars(
            select(OrderDemand).where(*cond, OrderDemand.open_units > 0).with_for_update()
        )
    )
    returned: dict[str, int] = defaultdict(int)
    for row in rows:
        returned[row.sku] += row.open_units
        row.open_units, row.status = 0, "returned"
    for sku in sorted(returned):
        await session.execute(
            update(SkuDemand)
            .where(SkuDemand.sku == sku)
            .values(open_units=SkuDemand.open_units - returned[sku], updated_at=func.now())
        )
    if returned:
        await session.execute(insert(StockChange), [{"sku": s} for s in sorted(returned)])
    await session.flush()
    return dict(returned)


async def open_by_sku(session: AsyncSession, skus: Iterable[str]) -> dict[str, int]:
    """sku -> units promised at intake and not yet reserved (absent: none)."""
    rows = await session.execute(
        select(SkuDemand.sku, SkuDemand.open_units).where(
            SkuDemand.sku.in_(list(skus)), SkuDemand.open_units > 0
        )
    )
    return {sku: int(units) for sku, units in rows.all()}


def network_atp(location_atp: int, promised: int) -> int:
    """What the network can still promise: never below zero."""
    return max(0, location_atp - promised)


async def network_atp_locked(session: AsyncSession, sku: str) -> int:
    """Network ATP of `sku` under its demand lock (held until the caller commits)."""
    return (await lock_network(session, [sku]))[sku]
