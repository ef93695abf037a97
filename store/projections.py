"""The orders read model, written from workflow snapshots, many per transaction.

Every order workflow projects its state a handful of times; at a few hundred orders in flight
that is the busiest write of the system. `ProjectionWriter` commits concurrent projections
together (group commit): while one batch commits, the next gathers, so an idle system writes
each snapshot at once and a loaded one writes hundreds per transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.order_state import OrderSnapshot
from store import demand
from store import events as event_store
from store.tables import Order, OrderShipment

# Statuses after which an order reserves nothing more (demand still open goes back).
_ENDED = frozenset(
    {"shipped", "delivered", "completed", "cancelled", "failed", "returned", "partially_returned"}
)
# Snapshots per transaction: bounds a transaction's size (and SQLite's write lock).
MAX_BATCH = 200

_orders: Table = Order.__table__  # type: ignore[assignment]
_shipments: Table = OrderShipment.__table__  # type: ignore[assignment]
_SHIPMENT_COLUMNS = ("shipment_id", "location_id", "carrier", "tracking_number", "status")
# One statement for every snapshot of a batch (executemany); the version guard keeps a late
# retry from overwriting newer state.
_UPDATE = (
    update(_orders)
    .where(
        _orders.c.order_id == bindparam("b_order_id"), _orders.c.version < bindparam("b_version")
    )
    .values(
        status=bindparam("b_status"),
        hold=bindparam("b_hold"),
        failure_reason=bindparam("b_failure_reason"),
        shipments=bindparam("b_shipments"),
        payments=bindparam("b_payments"),
        routing=bindparam("b_routing"),
        version=bindparam("b_version"),
        updated_at=bindparam("b_updated_at"),
        # The workflow is running: the API need not write that it started it.
        workflow_started=True,
    )
)


async def apply(session: AsyncSession, snapshots: Sequence[OrderSnapshot]) -> None:
    """Write `snapshots` in the session's transaction: orders, their shipments, new events."""
    now = datetime.now(UTC)
    await session.execute(
        _UPDATE,
        [
            {
                "b_order_id": s.order_id,
                "b_version": s.version,
                "b_status": s.status,
                "b_hold": s.hold,
                "b_failure_reason": s.failure_reason,
                "b_shipments": s.shipments,
                "b_payments": s.payments,
                "b_routing": s.routing,
                "b_updated_at": now,
            }
            for s in snapshots
        ],
    )
    await _index_shipments(session, snapshots)
    # An order that has shipped everything, or ended, keeps no intake promise.
    await demand.return_for_orders(session, [s.order_id for s in snapshots if s.status in _ENDED])
    for s in snapshots:
        if s.ship_to is not None:
            row = await session.get(Order, s.order_id)
            if row is not None and row.document.get("ship_to") != s.ship_to:
                row.document = {**row.document, "ship_to": s.ship_to}
        if s.order_change is not None:
            row = await session.get(Order, s.order_id)
            if row is not None and row.version == s.version:  # this snapshot won
                row.document = changed_document(row.document, s.order_change)
                row.total = Decimal(s.order_change["total"])
    await event_store.append_many(session, [(s.order_id, e) for s in snapshots for e in s.events])


def changed_document(document: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    """The order's document after a change: its lines now, each with the units ordered at
    first (`ordered_quantity`) and taken off since (`cancelled_quantity`); a line removed
    whole stays listed at quantity 0, so the order still shows what was bought."""
    before = {line["line_id"]: line for line in document.get("lines", [])}
    now = {line["line_id"]: dict(line) for line in change["lines"]}
    lines = []
    for line_id, old in before.items():
        ordered = int(old.get("ordered_quantity", old["quantity"]))
        line = now.pop(line_id, {**old, "quantity": 0})
        line["ordered_quantity"] = ordered
        line["cancelled_quantity"] = max(0, ordered - int(line["quantity"]))
        lines.append(line)
    for line in now.values():  # added by an edit
        lines.append({**line, "ordered_quantity": line["quantity"], "cancelled_quantity": 0})
    fields = ("shipping_service", "shipping_price", "tax_total")
    return {**document, "lines": lines, **{k: change[k] for k in fields}}


async def _index_shipments(session: AsyncSession, snapshots: Sequence[OrderSnapshot]) -> None:
    """Mirror the shipments of the snapshots that won into `order_shipments`.

    A snapshot won when its order row now holds its version: one that arrived late left the
    row alone above, so it must leave the shipment rows alone too. Only orders whose shipments
    changed are rewritten, which most projections (a status change) are not.
    """
    newest: dict[str, OrderSnapshot] = {}
    for s in snapshots:
        if s.order_id not in newest or s.version > newest[s.order_id].version:
            newest[s.order_id] = s
    # One read for both: each order's version now, and the shipment rows it has.
    rows = await session.execute(
        select(_orders.c.order_id, _orders.c.version, *(_shipments.c[c] for c in _SHIPMENT_COLUMNS))
        .select_from(_orders.outerjoin(_shipments, _shipments.c.order_id == _orders.c.order_id))
        .where(_orders.c.order_id.in_(list(newest)))
    )
    versions: dict[str, int] = {}
    stored: dict[str, set[tuple[Any, ...]]] = {}
    for order_id, version, *values in rows:
        versions[order_id] = version
        shipments = stored.setdefault(order_id, set())
        if values[0] is not None:  # the outer join's row of an order without shipments
            shipments.add(tuple(values))
    wanted = {
        order_id: _shipment_rows(s)
        for order_id, s in newest.items()
        if versions.get(order_id) == s.version
    }
    changed = [
        order_id
        for order_id, new in wanted.items()
        if {tuple(r[c] for c in _SHIPMENT_COLUMNS) for r in new} != stored[order_id]
    ]
    if not changed:
        return
    await session.execute(delete(_shipments).where(_shipments.c.order_id.in_(changed)))
    fresh = [row for order_id in changed for row in wanted[order_id]]
    if fresh:
        await session.execute(insert(_shipments), fresh)


def _shipment_rows(snapshot: OrderSnapshot) -> list[dict[str, Any]]:
    # Keyed by shipment id: a repeated entry must not fail the whole batch on the primary key.
    rows = {
        str(s["shipment_id"]): {
            "order_id": snapshot.order_id,
            "shipment_id": str(s["shipment_id"]),
            "location_id": str(s.get("location_id") or ""),
            "carrier": s.get("carrier"),
            "tracking_number": s.get("tracking_number"),
            "status": str(s.get("status") or "pending"),
        }
        for s in snapshot.shipments
    }
    return list(rows.values())


class ProjectionWriter:
    """Group commit of snapshots; `write` returns once its snapshot is committed."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], max_batch: int = MAX_BATCH
    ) -> None:
        self._sessions, self._max_batch = sessions, max_batch
        self._pending: list[tuple[OrderSnapshot, asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def write(self, snapshot: OrderSnapshot) -> None:
        """Queue `snapshot` and wait for the transaction that commits it."""
        done = asyncio.get_running_loop().create_future()
        self._pending.append((snapshot, done))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        await done

    async def _flush(self) -> None:
        while self._pending:
            batch = self._pending[: self._max_batch]
            del self._pending[: self._max_batch]
            try:
                await self._commit([s for s, _ in batch])
            except Exception as err:
                if len(batch) == 1:
                    _settle(batch[0][1], err)
                    continue
                # One bad snapshot must fail only its own writer: retry each alone.
                for snapshot, done in batch:
                    try:
                        await self._commit([snapshot])
                    except Exception as alone:
                        _settle(done, alone)
                    else:
                        _settle(done, None)
                continue
            for _, done in batch:
                _settle(done, None)

    async def _commit(self, snapshots: Sequence[OrderSnapshot]) -> None:
        async with self._sessions.begin() as session:
            await apply(session, snapshots)


def _settle(done: asyncio.Future[None], error: BaseException | None) -> None:
    if done.done():  # the writer gave up waiting (cancelled); the write stands anyway
        return
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(error)
