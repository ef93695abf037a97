"""Allocation: route what is open, hold it per shipment, queue what no location can supply.

A pass routes the order's open lines (everything not in a live shipment or cancelled), holds
the allocated units under the shipments it plans, and puts the short lines in the backorder
queue, in one reservation transaction. Lines a location can supply ship now when the routing
profile allows partial shipments; the rest waits, first come first served, for stock that the
inventory service sets aside for it as it arrives.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities import contracts as act
    from activities import io
    from domain import timeline as tl
    from domain.billing import capture_plan
    from domain.order_state import ShipmentLine, ShipmentState
    from domain.states import OrderStatus
    from domain.timeline import EventType as E
    from workflows import policies
    from workflows.order.context import RECOMPOSED, OrderContext, StopOrder
    from workflows.search_attributes import LOCATION

S = OrderStatus
# A route that keeps losing reservation races is treated like a shortage after this many tries.
MAX_RESERVE_RACES = 5
StockWait = Literal["stock", "deadline", "change"]


def _whole_lines(
    route: io.RouteResult, open_lines: list[ShipmentLine], *, whole_order: bool
) -> io.RouteResult:
    """A line ships whole: one the route could only partly supply waits entirely.

    Its units never leave in separate passes (a customer gets a line complete), and the units
    set aside for it while it waits stay set aside. Runs from before partial allocation wait
    for the whole order when anything is short.
    """
    short = {u.line_id for u in route.unallocated}
    if not short:
        return route
    if whole_order:
        short = {x.line_id for x in open_lines}
    return route.model_copy(
        update={
            "allocations": [a for a in route.allocations if a.line_id not in short],
            "unallocated": [x for x in open_lines if x.line_id in short],
        }
    )


class Allocator:
    """Plans shipments for the order's open lines and keeps its place in the backorder queue."""

    def __init__(self, ctx: OrderContext) -> None:
        self._ctx = ctx

    def deadline(self) -> datetime:
        """When a backorder that got no stock gives up (business time, scaled)."""
        t = self._ctx.timings
        return workflow.now() + t.scaled(t.backorder_deadline_s)

    async def allocate(self) -> list[ShipmentState]:
        """One pass over the open lines; returns the shipments it planned (maybe none)."""
        ctx, s = self._ctx, self._ctx.s
        races = 0
        while True:
            await ctx.checkpoint(allow_reroute=True)
            s.progress.reroute_pending = False  # this pass applies the latest exclusions
            route = await act.route_order.run(
                io.RouteInput(
                    order_id=s.order_id,
                    channel=s.order.channel,
                    ship_to=s.order.ship_to,
                    lines=s.open_lines(),
                    weights=ctx.weights,
                    exclude_locations=s.excluded_locations,
                ),
                policies.QUICK,
            )
            current = workflow.patched(RECOMPOSED)
            route = _whole_lines(route, s.open_lines(), whole_order=not current)
            planned = self._plan(route) if route.allocations else []
            if route.allocations or (current and route.unallocated):
                reserved = await act.reserve_stock.run(
                    io.ReserveInput(
                        order_id=s.order_id,
                        allocations=route.allocations,
                        shipment_ids=(
                            {sh.location_id: sh.shipment_id for sh in planned} if current else {}
                        ),
                        queue=current,
                        workflow_id=s.workflow_id,
                        short=route.unallocated,
                        eligible_locations=route.eligible_locations,
                    ),
                    policies.QUICK,
                )
                if not reserved.reserved and races + 1 < MAX_RESERVE_RACES:
                    races += 1
                    continue
                if not reserved.reserved:  # lost every race: wait like a shortage
                    planned, route = [], route.model_copy(update={"unallocated": s.open_lines()})
            s.short_lines = list(route.unallocated)
            if planned:
                self._adopt(planned, route)
            s.progress.routing_passes += 1
            return planned

    def _plan(self, route: io.RouteResult) -> list[ShipmentState]:
        """Shipments for the allocations, one per location, with what each will capture."""
        s = self._ctx.s
        by_location: dict[str, list[ShipmentLine]] = {}
        for a in route.allocations:
            by_location.setdefault(a.location_id, []).append(
                ShipmentLine(line_id=a.line_id, sku=a.sku, quantity=a.quantity)
            )
        locations = sorted(by_location)
        live = [sh for sh in s.shipments if sh.status != "cancelled"]
        amounts = capture_plan(
            s.order,
            [by_location[x] for x in locations],
            # Refunds an order change gave back count against what earlier shipments capture.
            planned_before=sum((sh.capture_amount for sh in live), Decimal(0))
            - s.payment.change_refunds,
            completes_order=not route.unallocated,
        )
        seq = s.progress.shipment_seq
        return [
            ShipmentState(
                shipment_id=f"{s.order_id}-S{seq + n}",
                location_id=location_id,
                lines=by_location[location_id],
                capture_amount=amount,
            )
            for n, (location_id, amount) in enumerate(zip(locations, amounts, strict=True), 1)
        ]

    def _adopt(self, planned: list[ShipmentState], route: io.RouteResult) -> None:
        """The holds are in place: the planned shipments become the order's."""
        ctx, s = self._ctx, self._ctx.s
        s.progress.shipment_seq += len(planned)
        s.shipments.extend(planned)
        s.reservations.extend(route.allocations)
        s.routing = route.decision
        locations = sorted({sh.location_id for sh in s.shipments if sh.status != "cancelled"})
        workflow.upsert_search_attributes([LOCATION.value_set(locations)])
        explanation = route.decision.get("explanation", "")
        ctx.set_status(S.IN_FULFILLMENT, tl.routed({sh.location_id for sh in planned}, explanation))

    async def wait_for_stock(self, deadline: datetime) -> StockWait:
        """Wait as backordered until stock is set aside for the order, a change, or the deadline.

        Returns "deadline" only when part of the order is already under way (its short lines are
        then cancelled); a wholly backordered order past its deadline stops.
        """
        ctx, s = self._ctx, self._ctx.s
        short = [u.model_dump() for u in s.short_lines]
        under_way = any(sh.status != "cancelled" for sh in s.shipments)
        if not under_way and s.status != S.BACKORDERED:
            ctx.set_status(S.BACKORDERED, tl.short(E.BACKORDERED, short))
            await ctx.notify("backordered", {"short": short})
            await ctx.project()
        elif under_way and not s.progress.partly_backordered:
            s.progress.partly_backordered = True
            ctx.event(tl.short(E.PARTIALLY_BACKORDERED, short))
            await ctx.notify("backordered", {"short": short})
            await ctx.project()
        remaining = (deadline - workflow.now()).total_seconds()
        if remaining <= 0:
            if under_way:
                return "deadline"
            s.cancel_reason = "backorder deadline passed without stock"
            raise StopOrder()
        s.progress.stock_signal = False
        recheck = ctx.timings.scaled(ctx.timings.backorder_recheck_s).total_seconds()
        try:
            await workflow.wait_condition(
                lambda: (
                    s.progress.stock_signal
                    or ctx.stopping()
                    or s.progress.reroute_pending
                    or s.progress.change_pending
                ),
                timeout=timedelta(seconds=min(recheck, remaining)),
            )
        except TimeoutError:
            return "stock"  # recheck: stock may have come without a signal
        return "stock" if s.progress.stock_signal else "change"
