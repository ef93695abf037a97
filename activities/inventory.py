"""Inventory activities: route an order, reserve, release and commit its stock."""

from __future__ import annotations

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities import io
from domain.geo import geocode
from domain.order_state import Reservation, ShipmentLine
from domain.routing import RoutingLine, RoutingLocation, eligible_locations, route
from services import inventory as stock_service
from store import inventory, routing_profiles
from store.db import readers
from store.inventory import Hold, InsufficientStock, ShortLine

log = structlog.get_logger(__name__)


class InventoryActivities:
    """Stock reads and writes for the order workflow."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._reads = readers(sessions)

    @activity.defn
    async def route_order(self, inp: io.RouteInput) -> io.RouteResult:
        """Pick a location per line from current stock; records why (the routing decision)."""
        skus = {line.sku for line in inp.lines}
        async with self._reads() as session:
            profile, profile_label = await routing_profiles.for_channel(session, inp.channel)
            locations = await inventory.active_locations(session)
            stock = await inventory.available_by_location(session, skus)
            # Units already set aside for this order (a backorder served) are its to use.
            for key, units in (await inventory.waiting_holds(session, inp.order_id)).items():
                stock[key] = stock.get(key, 0) + units
            used = await inventory.shipments_today(session)
        candidates = [
            RoutingLocation(
                location_id=loc.location_id,
                kind=loc.kind,  # type: ignore[arg-type]
                lat=loc.lat,
                lon=loc.lon,
                active=loc.active,
                daily_capacity=loc.daily_capacity,
                used_capacity=used.get(loc.location_id, 0),
            )
            for loc in locations
        ]
        destination = geocode(inp.ship_to.postal_code, inp.ship_to.region, inp.ship_to.country)
        lines = [
            RoutingLine(
                line_id=x.line_id,
                sku=x.sku,
                quantity=x.quantity,
                weight_grams=inp.weights.get(x.sku, 500),
            )
            for x in inp.lines
        ]
        decision = route(
            lines, destination, candidates, stock, profile, exclude=inp.exclude_locations
        )
        log.info("order routed", order_id=inp.order_id, explanation=decision.explanation)
        return io.RouteResult(
            eligible_locations=eligible_locations(candidates, profile, inp.exclude_locations),
            allocations=[
                Reservation(
                    line_id=a.line_id, sku=a.sku, location_id=a.location_id, quantity=a.quantity
                )
                for a in decision.allocations
            ],
            unallocated=[
                ShipmentLine(line_id=u.line_id, sku=u.sku, quantity=u.quantity)
                for u in decision.unallocated
            ],
            decision={**decision.model_dump(mode="json"), "profile_version": profile_label},
        )

    @activity.defn
    async def reserve_stock(self, inp: io.ReserveInput) -> io.ReserveResult:
        """Hold all allocations or none, each under its shipment; queue the short lines.

        A lost race comes back as `short` to route again. With `queue`, the order's place in
        the backorder queue becomes exactly `inp.short`, in the same transaction.
        """
        holds = [
            Hold(
                a.line_id, a.sku, a.location_id, a.quantity, inp.shipment_ids.get(a.location_id, "")
            )
            for a in inp.allocations
        ]
        try:
            async with self._sessions.begin() as session:
                await inventory.reserve(session, inp.order_id, holds)
                if inp.queue:
                    short = [ShortLine(x.line_id, x.sku, x.quantity) for x in inp.short]
                    await inventory.queue_backorders(
                        session, inp.order_id, inp.workflow_id, short, inp.eligible_locations
                    )
                woken = set(inventory.wakeups(session))
        except InsufficientStock as short:
            log.info("reservation lost a race", order_id=inp.order_id, short=len(short.short))
            return io.ReserveResult(
                reserved=False,
                short=[
                    Reservation(
                        line_id=h.line_id, sku=h.sku, location_id=h.location_id, quantity=h.quantity
                    )
                    for h in short.short
                    if isinstance(h, Hold)
                ],
            )
        await stock_service.wake(activity.client(), woken)
        log.info("stock reserved", order_id=inp.order_id, holds=len(holds), short=len(inp.short))
        return io.ReserveResult(reserved=True)

    @activity.defn
    async def release_stock(self, inp: io.ReleaseStockInput) -> int:
        """Give back what the order holds (idempotent); the units serve the oldest backorders."""
        units = await stock_service.release_for_order(
            self._sessions,
            activity.client(),
            order_id=inp.order_id,
            location_ids=inp.location_ids,
            hold_ids=inp.hold_ids,
            reason=inp.reason,
            leave_queue=inp.leave_queue,
        )
        log.info("stock released", order_id=inp.order_id, units=units)
        return units

    @activity.defn
    async def trim_open_lines(self, inp: io.TrimLinesInput) -> int:
        """Lines an order change reduced give back what they held or claimed while waiting
        (idempotent: a retry finds nothing beyond what each line keeps)."""
        units = await stock_service.trim_for_order(
            self._sessions,
            activity.client(),
            order_id=inp.order_id,
            keep=inp.keep,
            reason=inp.reason,
        )
        log.info("open lines trimmed", order_id=inp.order_id, units=units, keep=inp.keep)
        return units

    @activity.defn
    async def commit_stock(self, inp: io.CommitStockInput) -> int:
        """A shipment left its location: its units leave on-hand."""
        async with self._sessions.begin() as session:
            units = await inventory.commit(
                session, inp.order_id, inp.location_id, inp.line_ids, inp.hold_id
            )
        log.info("stock committed", order_id=inp.order_id, location_id=inp.location_id, units=units)
        return units
