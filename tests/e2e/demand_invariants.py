"""Intake demand's invariants, checked from the store after (and during) a chaos run.

- Every order that ended has nothing left promised: each of its lines was reserved, returned
  or short, with no open units.
- Per SKU, the running total of open demand equals the sum of the lines still open: a line
  returned twice (or never) would break the equality.
- Network ATP never goes below the demand it promised: locations' available units cover the
  open demand at every moment sampled.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select

from store.demand_tables import OrderDemand, SkuDemand
from store.tables import Location, Order, StockLevel
from tests.conftest import Stack

ENDED = ("completed", "cancelled", "failed", "returned", "partially_returned", "delivered")


async def demand_problems(stack: Stack) -> list[str]:
    """What breaks the settled-demand invariants now (empty: none)."""
    problems: list[str] = []
    async with stack.sessions() as session:
        statuses = dict((await session.execute(select(Order.order_id, Order.status))).all())
        lines = list(await session.scalars(select(OrderDemand)))
        totals = {d.sku: d.open_units for d in await session.scalars(select(SkuDemand))}
    open_by_sku: dict[str, int] = defaultdict(int)
    for line in lines:
        open_by_sku[line.sku] += line.open_units
        if statuses.get(line.order_id) in ENDED and (line.open_units or line.status == "open"):
            problems.append(
                f"{line.order_id}/{line.line_id} ended {statuses[line.order_id]} with "
                f"{line.open_units} open ({line.status})"
            )
    for sku in sorted(set(totals) | set(open_by_sku)):
        if totals.get(sku, 0) != open_by_sku.get(sku, 0):
            problems.append(
                f"{sku}: sku_demand {totals.get(sku, 0)} != open lines {open_by_sku.get(sku, 0)}"
            )
    return problems


async def short_of_promises(stack: Stack) -> dict[str, int]:
    """sku -> units promised at intake beyond what the active locations have available."""
    async with stack.sessions() as session:
        rows = await session.execute(
            select(StockLevel.sku, StockLevel.on_hand, StockLevel.reserved, StockLevel.safety_stock)
            .join(Location, Location.location_id == StockLevel.location_id)
            .where(Location.active.is_(True))
        )
        available: dict[str, int] = defaultdict(int)
        for sku, on_hand, reserved, safety in rows.all():
            available[sku] += max(0, on_hand - reserved - safety)
        promised = {d.sku: d.open_units for d in await session.scalars(select(SkuDemand))}
    return {s: p - available[s] for s, p in promised.items() if p > available[s]}


@dataclass
class AtpWatch:
    """Samples `short_of_promises` in the background while the chaos runs."""

    stack: Stack
    interval_s: float = 0.2
    breaches: list[dict[str, int]] = field(default_factory=list)
    samples: int = 0
    _task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> AtpWatch:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _run(self) -> None:
        while True:
            short = await short_of_promises(self.stack)
            self.samples += 1
            if short:
                self.breaches.append(short)
            await asyncio.sleep(self.interval_s)
