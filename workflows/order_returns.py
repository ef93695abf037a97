"""Returns for OrderWorkflow: the return window, the `request_return` Update, refunds on close.

After delivery the order keeps a return window open (a durable timer). A return request is
checked against what was delivered and not yet returned or requested, gets a prepaid label
and starts a child `ReturnWorkflow`; the child reports back with `return_closed`, and the order
refunds (its payment ledger shows it) and moves to `partially_returned` or `returned`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.returns import ReturnActivities, ReturnLabelInput, SkuPricesInput
    from domain.returns import (
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
    from workflows import policies
    from workflows.order_base import OrderBase, S, _reason, _refuse
    from workflows.returns import ReturnWorkflow


class ReturnsLedger(BaseModel):
    """What the order knows of its returns."""

    seq: int = 0
    window_closes_at: datetime | None = None
    window_closed: bool = False
    # line_id -> units requested or returned (expired RMAs give theirs back).
    claimed: dict[str, int] = Field(default_factory=dict)
    # line_id -> units received back, and the part of them refunded (not exchanged).
    returned: dict[str, int] = Field(default_factory=dict)
    refunded_units: dict[str, int] = Field(default_factory=dict)
    open_rmas: dict[str, list[RmaLine]] = Field(default_factory=dict)
    # rma_id -> the ReturnWorkflow's id.
    children: dict[str, str] = Field(default_factory=dict)


def _add(counts: dict[str, int], line_id: str, n: int) -> None:
    counts[line_id] = max(0, counts.get(line_id, 0) + n)


class OrderReturns(OrderBase):
    """The order's side of returns."""

    if TYPE_CHECKING:

        async def _refund(self, amount: Any, reference: str) -> None: ...

    @property
    def _returns(self) -> ReturnsLedger:
        # Created on first use: OrderWorkflow.__init__ belongs to the process, not to returns.
        ledger: ReturnsLedger | None = self.__dict__.get("_returns_ledger")
        if ledger is None:
            ledger = ReturnsLedger()
            self.__dict__["_returns_ledger"] = ledger
        return ledger

    # ---- the window (called by the process after delivery) ----------------------------------

    async def _return_window(self) -> None:
        """Keep returns open for the window (or until all is back), then for open RMAs."""
        window: timedelta = self._timings.scaled(self._timings.return_window_s)
        ledger = self._returns
        ledger.window_closes_at = workflow.now() + window
        self._event("return_window_opened", {"closes_at": ledger.window_closes_at.isoformat()})
        try:
            await workflow.wait_condition(lambda: self.s.status == S.RETURNED, timeout=window)
        except TimeoutError:
            pass
        ledger.window_closed = True
        await workflow.wait_condition(lambda: not ledger.open_rmas)

    # ---- the Update ----------------------------------------------------------------------------

    @workflow.update
    async def request_return(self, request: ReturnRequest) -> ReturnAuthorisation:
        """Authorise a return: RMA id, prepaid label, and a child workflow following it."""
        ledger = self._returns
        self._check_returnable(request)  # again: another request may have claimed units
        ledger.seq += 1
        n = ledger.seq
        rma_id = f"RMA-{self.s.order_id}-{n}"
        prices = {x.line_id: x for x in self.s.order.lines}
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
            _add(ledger.claimed, line.line_id, line.quantity)
        ledger.open_rmas[rma_id] = lines
        try:
            await self._price_exchanges(lines)
            location_id = self._receiving_location(lines[0].line_id)
            label = await workflow.execute_activity_method(
                ReturnActivities.buy_return_label,
                ReturnLabelInput(
                    idempotency_key=self._key("return", str(n), "label"),
                    order_id=self.s.order_id,
                    rma_id=rma_id,
                    location_id=location_id,
                    ship_from=self.s.order.ship_to,
                    lines=lines,
                    weights=self._weights,
                ),
                **policies.CARRIER,
            )
            ledger.children[rma_id] = f"{self.s.workflow_id}:return:{n}"
            await workflow.start_child_workflow(
                ReturnWorkflow.run,
                ReturnInput(
                    rma_id=rma_id,
                    rma_seq=n,
                    order_id=self.s.order_id,
                    parent_workflow_id=self.s.workflow_id,
                    channel=self.s.order.channel,
                    shipping_service=self.s.order.shipping_service,
                    location_id=location_id,
                    customer_address=self.s.order.ship_to,
                    lines=lines,
                    label_id=label.label_id,
                    carrier=label.carrier,
                    tracking_number=label.tracking_number,
                    label_url=label.label_url,
                    timings=self._timings,
                ),
                id=ledger.children[rma_id],
                # The RMA outlives a fully returned order long enough to record its close.
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            )
        except BaseException:
            for line in lines:
                _add(ledger.claimed, line.line_id, -line.quantity)
            ledger.open_rmas.pop(rma_id, None)
            raise
        for line in lines:
            self._event(
                "return_requested",
                {
                    "rma_id": rma_id,
                    "line_id": line.line_id,
                    "sku": line.sku,
                    "quantity": line.quantity,
                    "reason": line.reason,
                    **({"exchange_sku": line.exchange_sku} if line.exchange_sku else {}),
                },
            )
        await self._project()
        return ReturnAuthorisation(rma_id=rma_id, status="label_issued", label_url=label.label_url)

    @request_return.validator
    def _validate_request_return(self, request: ReturnRequest) -> None:
        self._check_returnable(request)

    def _check_returnable(self, request: ReturnRequest) -> None:
        ledger = self._returns
        status = self.s.status
        if status in (S.CANCELLED, S.FAILED):
            _refuse(f"order is {status.value}; there is nothing to return")
        if status == S.RETURNED:
            _refuse("every unit of this order has already been returned")
        if ledger.window_closes_at is None:
            _refuse(f"order is {status.value}; returns open once it is delivered")
        if ledger.window_closed or self._finished or workflow.now() >= ledger.window_closes_at:
            _refuse(window_closed_message(ledger.window_closes_at))
        delivered = delivered_quantities((s.status, s.lines) for s in self.s.shipments)
        why = refusal(request, self.s.order, returnable(delivered, ledger.claimed))
        if why:
            _refuse(why)

    async def _price_exchanges(self, lines: list[RmaLine]) -> None:
        skus = sorted({x.exchange_sku for x in lines if x.exchange_sku})
        if not skus:
            return
        prices: dict[str, Decimal] = await workflow.execute_activity_method(
            ReturnActivities.price_skus, SkuPricesInput(skus=skus), **policies.QUICK
        )
        for line in lines:
            if line.exchange_sku:
                line.exchange_unit_price = prices.get(line.exchange_sku)
                why = exchange_refusal(line)
                if why:
                    _refuse(why)

    def _receiving_location(self, line_id: str) -> str:
        """Returns go back to the location that shipped the line."""
        for sh in self.s.shipments:
            if sh.status == "delivered" and any(x.line_id == line_id for x in sh.lines):
                return sh.location_id
        _refuse(f"line {line_id!r} has no delivered shipment")

    # ---- the child reports back ---------------------------------------------------------------

    @workflow.signal
    async def return_closed(self, outcome: ReturnOutcome) -> None:
        """An RMA ended: refund what came back, update status, tell the child the amount."""
        ledger = self._returns
        authorised = ledger.open_rmas.get(outcome.rma_id)
        if authorised is None:
            return  # already handled (a duplicate signal)
        if outcome.status == "expired":
            for line in authorised:
                _add(ledger.claimed, line.line_id, -line.quantity)
            self._event("return_expired", {"rma_id": outcome.rma_id})
            amount = Decimal("0")
        else:
            amount = await self._settle_return(outcome, authorised)
        ledger.open_rmas.pop(outcome.rma_id, None)
        await self._project()
        if outcome.status == "closed":
            child = workflow.get_external_workflow_handle(ledger.children[outcome.rma_id])
            await child.signal("refund_issued", RefundIssued(amount=amount))

    async def _settle_return(self, outcome: ReturnOutcome, authorised: list[RmaLine]) -> Decimal:
        ledger = self._returns
        wanted = {x.line_id: x.quantity for x in authorised}
        refundable: dict[str, int] = {}
        for line in outcome.lines:
            # Units asked for but not in the parcel may be returned again later.
            _add(ledger.claimed, line.line_id, line.received - wanted.get(line.line_id, 0))
            _add(ledger.returned, line.line_id, line.received)
            if not line.exchange_sku and line.received:
                refundable[line.line_id] = line.received
                _add(ledger.refunded_units, line.line_id, line.received)
            self._event(
                "return_received",
                {
                    "rma_id": outcome.rma_id,
                    "line_id": line.line_id,
                    "sku": line.sku,
                    "quantity": line.received,
                    "condition": line.condition,
                    "disposition": line.disposition,
                    "reason": line.reason,
                },
            )
        ordered = ordered_quantities(self.s.order)
        whole = all(ledger.refunded_units.get(k, 0) >= v for k, v in ordered.items())
        pay = self.s.payment
        amount = Decimal("0")
        if refundable:
            amount = refund_amount(
                self.s.order, refundable, whole_order=whole, refunded_before=pay.refunded
            )
        amount += exchange_difference(self.s.order, outcome.lines)
        amount = min(amount, max(Decimal("0"), pay.captured - pay.refunded))
        before = pay.refunded
        try:
            await self._refund(amount, outcome.rma_id)
        except ActivityError as err:
            # A failure in a signal handler would fail the order: show it to ops instead.
            self._event(
                "alert",
                {"rma_id": outcome.rma_id, "message": f"return refund failed: {_reason(err)}"},
            )
        for sh in outcome.replacement_shipments:
            self.s.shipments.append(sh)
            self._event(
                "exchange_shipped",
                {"rma_id": outcome.rma_id, "shipment_id": sh.shipment_id, "carrier": sh.carrier},
            )
        if any(ledger.returned.values()):
            everything = all(ledger.returned.get(k, 0) >= v for k, v in ordered.items())
            status = S.RETURNED if everything else S.PARTIALLY_RETURNED
            self._set_status(status, status.value, {"rma_id": outcome.rma_id})
        return pay.refunded - before
