"""The order's shipments under way: one task per shipment, which ships it and then tracks it.

The process starts shipments as allocation plans them and waits for shipping to settle (every
started shipment has left, or was withdrawn) before it decides what comes next.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from domain import timeline as tl
    from domain.shipments import ShipmentState
    from domain.states import OrderStatus
    from domain.timeline import EventType as E
    from workflows.order.context import RECOMPOSED, OrderContext, RerouteRequested, StopOrder
    from workflows.order.fulfilment import Fulfilment, Recalled
    from workflows.order.ledger import PaymentLedger
    from workflows.order.shop import ShopLink

S = OrderStatus
BUSINESS_ERRORS = (ActivityError, ChildWorkflowError, ApplicationError)


class Shipping:
    """Runs the order's fulfilments and remembers the first business failure among them."""

    def __init__(self, ctx: OrderContext, money: PaymentLedger, shop: ShopLink) -> None:
        self._ctx, self._money, self._shop = ctx, money, shop
        self.fulfilments: dict[str, Fulfilment] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.failure: BaseException | None = None

    def start(self, planned: list[ShipmentState]) -> None:
        """Ship each planned shipment in its own task."""
        for sh in planned:
            self.fulfilments[sh.shipment_id] = self._fulfilment(sh)
            self._tasks[sh.shipment_id] = asyncio.create_task(self._ship_and_track(sh))

    def follow(self, sh: ShipmentState) -> None:
        """Track a parcel that left without us (an exchange replacement its RMA shipped)."""
        self.fulfilments[sh.shipment_id] = self._fulfilment(sh)
        self._tasks[sh.shipment_id] = asyncio.create_task(self._follow(sh))

    @property
    def under_way(self) -> bool:
        """Whether any shipment was started."""
        return bool(self._tasks)

    def settled(self) -> bool:
        """Every started shipment has left (and the order did its part) or was withdrawn."""
        return all(
            task.done() or self.fulfilments[sid].sh.dispatched for sid, task in self._tasks.items()
        )

    def settled_for(self, shipment_ids: list[str]) -> bool:
        """`settled`, for these shipments only."""
        return all(
            self._tasks[sid].done() or self.fulfilments[sid].sh.dispatched
            for sid in shipment_ids
            if sid in self._tasks
        )

    def recall(self, shipment_ids: list[str]) -> None:
        """Take these shipments back from their way out (an order change plans them again)."""
        for sid in shipment_ids:
            self.fulfilments[sid].recalled = True

    def resume(self, shipment_ids: list[str]) -> None:
        """Send recalled shipments on their way again (the change that recalled them failed)."""
        for sid in shipment_ids:
            f = self.fulfilments[sid]
            if f.sh.is_open and self._tasks[sid].done():
                self.start([f.sh])

    def done(self) -> bool:
        """Every shipment's task ended (delivered, lost, withdrawn or failed)."""
        return all(task.done() for task in self._tasks.values())

    def _fulfilment(self, sh: ShipmentState) -> Fulfilment:
        s = self._ctx.s
        return Fulfilment(
            self._ctx,
            sh,
            ship_to=lambda: s.order.ship_to,
            service=s.order.shipping_service,
            weights=self._ctx.weights,
            on_dispatched=self._dispatched,
            legacy_holds=not workflow.patched(RECOMPOSED),
        )

    async def _ship_and_track(self, sh: ShipmentState) -> None:
        try:
            await self.fulfilments[sh.shipment_id].ship()
        except (StopOrder, RerouteRequested, Recalled):
            return  # withdrawn from the warehouse; the process decides what becomes of it
        except BUSINESS_ERRORS as err:
            self._ctx.s.progress.aborted = True  # its siblings stop too
            self.failure = self.failure or err
            return
        await self._follow(sh)

    async def _dispatched(self, sh: ShipmentState) -> None:
        """The parcel left: invoice it, say what is left, tell the customer."""
        ctx = self._ctx
        await self._money.capture(sh)
        if ctx.s.all_shipped() and not ctx.s.open_lines():
            ctx.set_status(S.SHIPPED, tl.status(E.SHIPPED, shipment_id=sh.shipment_id))
        else:
            ctx.event(tl.shipment(E.SHIPMENT_SHIPPED, sh.shipment_id))
        context = {
            "shipment_id": sh.shipment_id,
            "carrier": sh.carrier,
            "tracking_number": sh.tracking_number,
        }
        await ctx.notify("shipped", context, sh.shipment_id)
        self._shop.shipped(sh, last_parcel=ctx.s.all_shipped() and not ctx.s.open_lines())
        await ctx.project()

    async def _follow(self, sh: ShipmentState) -> None:
        """To the door; a lost or returned parcel is refunded and the customer told."""
        ctx = self._ctx
        try:
            result = await self.fulfilments[sh.shipment_id].track(ctx.timings)
        except BUSINESS_ERRORS as err:
            self.failure = self.failure or err
            return
        if result.status == "delivered":
            return
        ctx.event(tl.delivery_exception(sh.shipment_id, result.status))
        await self._money.refund(sh.capture_amount if sh.captured else Decimal(0), sh.shipment_id)
        context = {"shipment_id": sh.shipment_id, "status": result.status}
        await ctx.notify("delivery_exception", context, sh.shipment_id)
        await ctx.project()
