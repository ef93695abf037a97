"""Undo what the order holds for work that will not ship: labels, stock, the authorization.

One routine serves every path: a whole cancel or failure, a cancel that came after part of the
order had shipped (the shipped parcels go on), a reroute (which undoes only the unshipped
shipments and keeps the money), and the backorder deadline (which cancels the lines still
waiting). Each runs once shipping has settled, so nothing is undone under a parcel that is
leaving: a withdrawal reaches the warehouse first.
"""

from __future__ import annotations

from collections.abc import Iterable

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities import contracts as act
    from activities import io
    from domain import timeline as tl
    from domain.shipments import ShipmentLine, ShipmentState
    from domain.states import OrderStatus
    from domain.timeline import EventType as E
    from workflows import policies
    from workflows.order.context import RECOMPOSED, OrderContext, StopOrder, reason_of
    from workflows.order.fulfilment import Fulfilment
    from workflows.order.ledger import PaymentLedger
    from workflows.order.shipping import Shipping
    from workflows.order.shop import ShopLink

S = OrderStatus

# The hold of units the inventory service set aside for a backordered line (store.inventory).
WAITING_HOLD = "waiting"


class Compensation:
    """Takes back unshipped shipments and gives back their stock and money."""

    def __init__(
        self, ctx: OrderContext, money: PaymentLedger, shipping: Shipping, shop: ShopLink
    ) -> None:
        self._ctx, self._money, self._shipping, self._shop = ctx, money, shipping, shop

    @property
    def _legacy_holds(self) -> bool:
        # Runs from before holds were per shipment release by location.
        return not workflow.patched(RECOMPOSED)

    async def take_back(self, fulfilments: Iterable[Fulfilment], reason: str) -> list[str]:
        """Cancel shipments that did not leave: release withdrawn, label voided.

        Returns the ids of the shipments cancelled; one found to have left on the way is kept
        (the caller follows it like any shipped parcel).
        """
        cancelled = []
        for f in fulfilments:
            sh = f.sh
            if not sh.is_open:
                continue
            if sh.released and not await f.withdraw():
                continue  # it left before the withdrawal reached the warehouse
            await self.void_label(sh)
            sh.status, sh.cancel_reason = "cancelled", reason
            cancelled.append(sh.shipment_id)
        return cancelled

    async def void_label(self, sh: ShipmentState) -> None:
        """Void an unused label; a label the carrier already scanned is an alert, not an error."""
        ctx = self._ctx
        if not sh.label_id or sh.label_voided:
            return
        voided = await act.void_label.run(
            io.VoidLabelInput(
                order_id=ctx.s.order_id, carrier=sh.carrier or "", label_id=sh.label_id
            ),
            policies.UNDO,
        )
        sh.label_voided = voided
        if voided:
            ctx.event(tl.shipment(E.LABEL_VOIDED, sh.shipment_id))
        else:
            message = "carrier already scanned the label; it was not voided"
            ctx.event(tl.alert(message, shipment_id=sh.shipment_id))

    async def release_stock(
        self, shipments: list[ShipmentState] | None, reason: str, *, leave_queue: bool
    ) -> None:
        """Give back the holds of `shipments` (None: everything the order holds)."""
        ctx = self._ctx
        if shipments is None:
            inp = io.ReleaseStockInput(order_id=ctx.s.order_id, reason=reason, leave_queue=True)
        elif self._legacy_holds:
            locations = sorted({sh.location_id for sh in shipments})
            if not locations:
                return
            inp = io.ReleaseStockInput(
                order_id=ctx.s.order_id, location_ids=locations, reason=reason
            )
        else:
            holds = [sh.shipment_id for sh in shipments] + ([WAITING_HOLD] if leave_queue else [])
            if not holds:
                return
            inp = io.ReleaseStockInput(
                order_id=ctx.s.order_id, hold_ids=holds, reason=reason, leave_queue=leave_queue
            )
        await act.release_stock.run(inp, policies.UNDO)
        if shipments is None:
            ctx.s.reservations = []
        else:
            gone = {(x.line_id, sh.location_id) for sh in shipments for x in sh.lines}
            ctx.s.reservations = [
                r for r in ctx.s.reservations if (r.line_id, r.location_id) not in gone
            ]

    async def undo_everything(self, fulfilments: Iterable[Fulfilment], reason: str) -> None:
        """The order stops: unshipped shipments, every hold and the authorization go."""
        await self.take_back(fulfilments, reason)
        if self._holds_anything():
            await self.release_stock(None, "order stopped", leave_queue=True)
            self._ctx.event(tl.status(E.STOCK_RELEASED))
        await self._money.void_rest()
        await self._ctx.project()

    async def cancel_open_lines(self, reason: str) -> list[ShipmentLine]:
        """Lines still waiting for stock are taken off the order (their queue place goes)."""
        ctx = self._ctx
        lines = ctx.s.open_lines()
        if not lines:
            return []
        await self.release_stock([], reason, leave_queue=True)
        ctx.s.cancelled_lines.extend(lines)
        ctx.s.short_lines = []
        return lines

    # ---- the paths that stop work ----------------------------------------------------------

    async def cancel_unshipped(self) -> None:
        """A cancel after part of the order shipped: stop the rest; nothing left is a refusal."""
        ctx, s = self._ctx, self._ctx.s
        if not s.any_shipped():
            raise StopOrder()  # nothing left: the whole order stops
        reason = s.cancel_reason or "cancelled by ops"
        taken = await self.take_back(self._shipping.fulfilments.values(), reason)
        lines = s.open_lines()
        progress = s.progress
        progress.cancel_requested = False
        if not taken and not lines:
            shipped = ", ".join(x.shipment_id for x in s.shipments if x.has_shipped)
            progress.cancel_refusal = (
                f"shipment {shipped} shipped before the cancellation took effect; "
                "start a return instead"
            )
            s.cancel_reason = None
            ctx.event(tl.with_reason(E.CANCEL_REFUSED, progress.cancel_refusal))
        else:
            cancelled = [x for x in s.shipments if x.shipment_id in taken]
            await self.release_stock(cancelled, reason, leave_queue=True)
            s.cancelled_lines.extend(lines)
            s.short_lines = []
            await self._money.void_rest()
            entry = tl.cancelled_part(
                E.PARTIALLY_CANCELLED, reason, taken, [x.model_dump() for x in lines]
            )
            if s.all_shipped():
                ctx.set_status(S.SHIPPED, entry)
            else:
                ctx.event(entry)
            await ctx.notify("partially_cancelled", {"reason": reason})
            self._shop.noted(f"cancel-{progress.cancels_settled}", _cancelled_note(reason, lines))
        await ctx.project()
        progress.cancels_settled += 1

    async def cancel_short_lines(self, reason: str) -> None:
        """The backorder deadline passed while part of the order is under way."""
        ctx = self._ctx
        lines = await self.cancel_open_lines(reason)
        if lines:
            lost = [x.model_dump() for x in lines]
            ctx.event(tl.cancelled_part(E.BACKORDER_CANCELLED, reason, [], lost))
            await ctx.notify("partially_cancelled", {"reason": reason}, "backorder")
            self._shop.noted("backorder", _cancelled_note(reason, lines))
            await ctx.project()

    async def reroute(self) -> None:
        """Unshipped shipments come back (their stock released); routing starts over."""
        ctx = self._ctx
        taken = await self.take_back(self._shipping.fulfilments.values(), "rerouted")
        cancelled = [x for x in ctx.s.shipments if x.shipment_id in taken]
        await self.release_stock(cancelled, "reroute", leave_queue=False)
        moved = sorted({x.location_id for x in cancelled})
        ctx.event(tl.rerouted(moved, ctx.s.excluded_locations))
        await ctx.project()

    async def stop(self) -> None:
        """The whole order stops: undo what it holds; parcels that left anyway are followed."""
        ctx, s = self._ctx, self._ctx.s
        s.progress.cancel_requested = True
        await workflow.wait_condition(self._shipping.settled)
        reason = s.cancel_reason or "cancelled"
        await self.undo_everything(self._shipping.fulfilments.values(), reason)
        if s.any_shipped():
            ctx.event(tl.alert(f"{reason}: shipments already left; tracking them"))
            await ctx.project()
            await workflow.wait_condition(self._shipping.done)
            if any(x.status == "delivered" for x in s.shipments):
                ctx.set_status(S.DELIVERED, tl.status(E.DELIVERED))
            else:
                ctx.set_status(S.FAILED, tl.with_reason(E.FAILED, "no shipment was delivered"))
        else:
            ctx.set_status(S.CANCELLED, tl.with_reason(E.CANCELLED, reason))
            self._shop.cancelled(reason)
            await ctx.notify("cancelled", {"reason": reason})
        s.progress.cancels_settled += 1

    async def fail(self, err: BaseException) -> None:
        """A business failure: stop the siblings, undo, and say why."""
        ctx, s = self._ctx, self._ctx.s
        s.failure_reason = reason_of(err)
        workflow.logger.warning("order failed: %s", s.failure_reason)
        s.progress.aborted = True
        await workflow.wait_condition(self._shipping.settled)
        await self.undo_everything(self._shipping.fulfilments.values(), "order failed")
        ctx.set_status(S.FAILED, tl.with_reason(E.FAILED, s.failure_reason))

    def _holds_anything(self) -> bool:
        s = self._ctx.s
        return bool(s.reservations or s.short_lines or s.progress.routing_passes)


def _cancelled_note(reason: str, lines: Iterable[ShipmentLine]) -> str:
    what = ", ".join(f"{x.quantity} x {x.sku}" for x in lines) or "unshipped parcels"
    return f"Cancelled {what}: {reason}"
