"""The order's side of returns: the return window, authorising RMAs, refunding what comes back.

After delivery the order keeps a return window open (a durable timer). A return request is
checked against what was delivered and not yet returned or requested, gets a prepaid label
and starts a child `ReturnWorkflow`. The child reports each parcel it receives and its close;
the order refunds what came back (its payment ledger shows it), tracks exchange replacements,
and moves to `partially_returned` or `returned`. The ledger is part of the order's state.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities import contracts as act
    from activities import io
    from domain import timeline as tl
    from domain.returns import (
        DispositionRules,
        RefundIssued,
        ReturnAuthorisation,
        ReturnInput,
        ReturnOutcome,
        ReturnRequest,
        RmaLine,
        delivered_quantities,
        exchange_difference,
        exchange_refusal,
        ordered_quantities,
        refund_amount,
        refusal,
        returnable,
        window_closed_message,
    )
    from domain.shipments import ShipmentLine, ShipmentState
    from domain.states import OrderStatus
    from domain.timeline import EventType as E
    from workflows import policies
    from workflows.order.context import RECOMPOSED, OrderContext, reason_of, refuse
    from workflows.order.ledger import PaymentLedger
    from workflows.order.shop import ShopLink
    from workflows.returns import ReturnWorkflow

S = OrderStatus
# Returns travel by the cheapest service: the customer is not waiting for them.
RETURN_SERVICE = "economy"


class ReturnsDesk:
    """Authorises returns and settles them against the order's payment."""

    def __init__(
        self, ctx: OrderContext, money: PaymentLedger, rules: DispositionRules, shop: ShopLink
    ) -> None:
        self._ctx, self._money, self._rules, self._shop = ctx, money, rules, shop
        self.ledger = ctx.s.returns
        self.owed = Decimal("0")

    # ---- the window -------------------------------------------------------------------------

    async def keep_window_open(self) -> None:
        """Keep returns open for the window (or until all is back), then for open RMAs."""
        ctx, ledger = self._ctx, self.ledger
        window: timedelta = ctx.timings.scaled(ctx.timings.return_window_s)
        ledger.window_closes_at = workflow.now() + window
        ctx.event(tl.return_window_opened(ledger.window_closes_at.isoformat()))
        try:
            await workflow.wait_condition(lambda: ctx.s.status == S.RETURNED, timeout=window)
        except TimeoutError:
            pass
        ledger.window_closed = True
        await workflow.wait_condition(lambda: not ledger.open_rmas)

    # ---- authorising ---------------------------------------------------------------------------

    def refusal(self, request: ReturnRequest) -> str | None:
        """Why `request` cannot be authorised now, or None."""
        ctx, ledger = self._ctx, self.ledger
        status = ctx.s.status
        if status in (S.CANCELLED, S.FAILED):
            return f"order is {status.value}; there is nothing to return"
        if status == S.RETURNED:
            return "every unit of this order has already been returned"
        if ledger.window_closes_at is None:
            return f"order is {status.value}; returns open once it is delivered"
        closed = ctx.s.progress.finished or workflow.now() >= ledger.window_closes_at
        if ledger.window_closed or closed:
            return window_closed_message(ledger.window_closes_at)
        delivered = delivered_quantities((s.status, s.lines) for s in ctx.s.shipments)
        return refusal(request, ctx.s.order, returnable(delivered, ledger.claimed))

    async def authorise(self, request: ReturnRequest) -> ReturnAuthorisation:
        """An RMA id, a prepaid label, and a child workflow following the return."""
        ctx, ledger = self._ctx, self.ledger
        why = self.refusal(request)  # again: another request may have claimed units
        if why:
            refuse(why)
        ledger.seq += 1
        n = ledger.seq
        rma_id = f"RMA-{ctx.s.order_id}-{n}"
        prices = {x.line_id: x for x in ctx.s.order.lines}
        lines = [
            RmaLine(
                line_id=x.line_id,
                sku=prices[x.line_id].sku,
                quantity=x.quantity,
                reason=x.reason,
                unit_price=prices[x.line_id].unit_price,
                exchange_sku=x.exchange_sku,
            )
            for x in request.lines
        ]
        for line in lines:
            ledger.add("claimed", line.line_id, line.quantity)
        ledger.open_rmas[rma_id] = lines
        try:
            await self._price_exchanges(lines)
            location_id = self._receiving_location(lines[0].line_id)
            label = await self._return_label(rma_id, n, location_id, lines)
            ledger.children[rma_id] = f"{ctx.s.workflow_id}:return:{n}"
            await workflow.start_child_workflow(
                ReturnWorkflow.run,
                ReturnInput(
                    rma_id=rma_id,
                    rma_seq=n,
                    order_id=ctx.s.order_id,
                    parent_workflow_id=ctx.s.workflow_id,
                    channel=ctx.s.order.channel,
                    shipping_service=ctx.s.order.shipping_service,
                    location_id=location_id,
                    customer_address=ctx.s.order.ship_to,
                    lines=lines,
                    label_id=label.label_id,
                    carrier=label.carrier,
                    tracking_number=label.tracking_number,
                    label_url=label.label_url,
                    timings=ctx.timings,
                    rules=self._rules,
                ),
                id=ledger.children[rma_id],
                # The RMA outlives a fully returned order long enough to record its close.
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            )
        except BaseException:
            for line in lines:
                ledger.add("claimed", line.line_id, -line.quantity)
            ledger.open_rmas.pop(rma_id, None)
            raise
        for line in lines:
            exchange = {"exchange_sku": line.exchange_sku} if line.exchange_sku else {}
            ctx.event(
                tl.return_line(
                    E.RETURN_REQUESTED,
                    rma_id,
                    line_id=line.line_id,
                    sku=line.sku,
                    quantity=line.quantity,
                    reason=line.reason,
                    **exchange,
                )
            )
        await ctx.project()
        return ReturnAuthorisation(rma_id=rma_id, status="label_issued", label_url=label.label_url)

    async def _return_label(
        self, rma_id: str, n: int, location_id: str, lines: list[RmaLine]
    ) -> io.LabelResult:
        """A prepaid label from the customer to the location (one activity for both ways)."""
        ctx = self._ctx
        key = ctx.key("return", str(n), "label")
        if workflow.patched(RECOMPOSED):
            return await act.buy_label.run(
                io.BuyLabelInput(
                    idempotency_key=key,
                    order_id=ctx.s.order_id,
                    shipment_id=rma_id,
                    location_id=location_id,
                    ship_to=ctx.s.order.ship_to,
                    service=RETURN_SERVICE,
                    lines=[
                        ShipmentLine(line_id=x.line_id, sku=x.sku, quantity=x.quantity)
                        for x in lines
                    ],
                    weights=ctx.weights,
                    direction="return",
                ),
                policies.CARRIER,
            )
        legacy = {"idempotency_key": key, "order_id": ctx.s.order_id, "rma_id": rma_id}
        return await act.buy_return_label_before_20261202.run(legacy, policies.CARRIER)

    async def _price_exchanges(self, lines: list[RmaLine]) -> None:
        skus = sorted({x.exchange_sku for x in lines if x.exchange_sku})
        if not skus:
            return
        prices: dict[str, Decimal] = await act.price_skus.run(
            io.SkuPricesInput(skus=skus), policies.QUICK
        )
        for line in lines:
            if line.exchange_sku:
                line.exchange_unit_price = prices.get(line.exchange_sku)
                why = exchange_refusal(line)
                if why:
                    refuse(why)

    def _receiving_location(self, line_id: str) -> str:
        """Returns go back to the location that shipped the line."""
        for sh in self._ctx.s.shipments:
            if sh.status == "delivered" and any(x.line_id == line_id for x in sh.lines):
                return sh.location_id
        refuse(f"line {line_id!r} has no delivered shipment")

    # ---- the child reports ---------------------------------------------------------------------

    async def settle(self, outcome: ReturnOutcome) -> list[ShipmentState]:
        """Refund what a parcel brought back (and at the close what was not exchanged).

        Returns the exchange replacements that shipped (the order tracks them).
        """
        ctx, ledger = self._ctx, self.ledger
        authorised = ledger.open_rmas.get(outcome.rma_id)
        if authorised is None:
            return []  # already handled (a duplicate signal)
        amount = Decimal("0")
        if outcome.status == "expired":
            for line in authorised:
                ledger.add("claimed", line.line_id, -(line.quantity - line.received))
            ctx.event(tl.rma(E.RETURN_EXPIRED, outcome.rma_id))
        else:
            amount = await self._refund_parcel(outcome, authorised)
            if amount > 0:
                self._shop.refunded(outcome.rma_id, amount)
            elif self.owed > 0:
                self._shop.refund_due(outcome.rma_id, self.owed)
        replacements = list(outcome.replacement_shipments)
        for sh in replacements:
            ctx.s.shipments.append(sh)
            ctx.event(
                tl.rma(
                    E.EXCHANGE_SHIPPED,
                    outcome.rma_id,
                    shipment_id=sh.shipment_id,
                    carrier=sh.carrier,
                )
            )
        if outcome.status != "received":
            ledger.open_rmas.pop(outcome.rma_id, None)
        await ctx.project()
        if outcome.status != "expired":
            child = workflow.get_external_workflow_handle(ledger.children[outcome.rma_id])
            await child.signal("refund_issued", RefundIssued(amount=amount))
        return replacements

    async def _refund_parcel(self, outcome: ReturnOutcome, authorised: list[RmaLine]) -> Decimal:
        ctx, ledger = self._ctx, self.ledger
        by_line = {x.line_id: x for x in authorised}
        refundable: dict[str, int] = dict(outcome.refund_instead)
        exchanged = dict(outcome.exchanged)
        for line in outcome.lines:
            held = by_line.get(line.line_id)
            if held is not None:
                held.received += line.received
            ledger.add("returned", line.line_id, line.received)
            if line.exchange_sku and outcome.parcel == 0:
                exchanged[line.line_id] = exchanged.get(line.line_id, 0) + line.received
            elif not line.exchange_sku and line.received:
                refundable[line.line_id] = refundable.get(line.line_id, 0) + line.received
            ctx.event(
                tl.return_line(
                    E.RETURN_RECEIVED,
                    outcome.rma_id,
                    line_id=line.line_id,
                    sku=line.sku,
                    quantity=line.received,
                    condition=line.condition,
                    disposition=line.disposition,
                    reason=line.reason,
                )
            )
        if outcome.status == "closed":
            # Units asked for but never received may be returned again later.
            for held in authorised:
                ledger.add("claimed", held.line_id, held.received - held.quantity)
        for line_id, units in refundable.items():
            ledger.add("refunded_units", line_id, units)
        ordered = ordered_quantities(ctx.s.order)
        whole = all(ledger.refunded_units.get(k, 0) >= v for k, v in ordered.items())
        pay = ctx.s.payment
        amount = Decimal("0")
        if refundable:
            amount = refund_amount(
                ctx.s.order, refundable, whole_order=whole, refunded_before=pay.refunded
            )
        amount += exchange_difference(ctx.s.order, authorised, exchanged)
        # What the customer is owed for this parcel: refunded here when we hold the payment; for
        # an order paid at the shop, the shop refunds it (its note says how much).
        self.owed = amount
        amount = min(amount, self._money.refundable)
        reference = outcome.rma_id if outcome.parcel <= 1 else f"{outcome.rma_id}:{outcome.parcel}"
        refunded = Decimal("0")
        try:
            refunded = await self._money.refund(amount, reference)
        except ActivityError as err:
            # A failure in a signal handler would fail the order: show it to ops instead.
            failed = f"return refund failed: {reason_of(err)}"
            ctx.event(tl.alert(failed, rma_id=outcome.rma_id))
        if any(ledger.returned.values()):
            everything = all(ledger.returned.get(k, 0) >= v for k, v in ordered.items())
            status = S.RETURNED if everything else S.PARTIALLY_RETURNED
            ctx.set_status(status, tl.rma(E(status.value), outcome.rma_id))
        return refunded
