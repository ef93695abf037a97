"""The order's money: authorize once, capture what each shipment carried, refund, void the rest.

Every gateway call carries an idempotency key from the workflow id and the step, so a retry
after a crash (even between the gateway's answer and the activity's completion) never charges
twice. The ledger's entries are the order's payment history as the API shows it.
"""

from __future__ import annotations

from decimal import Decimal

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities import contracts as act
    from activities import io
    from domain import timeline as tl
    from domain.order_changes import Holdings
    from domain.order_state import PaymentEntry
    from domain.shipments import ShipmentState
    from domain.timeline import EventType as E
    from workflows import policies
    from workflows.order import invoicing
    from workflows.order.context import CHANNEL_PAID, RECOMPOSED, OrderContext


class PaymentLedger:
    """Authorization, captures, refunds and the void, kept in the order's `payment` state."""

    def __init__(self, ctx: OrderContext) -> None:
        self._ctx = ctx
        self._pay = ctx.s.payment

    async def authorize(self) -> None:
        """Hold the order total on the customer's card (marketplaces and free orders skip it)."""
        if invoicing.is_invoice(self._ctx):
            return await invoicing.open_receivable(self._ctx)  # B2B: a receivable, no card
        ctx, order = self._ctx, self._ctx.s.order
        if order.payment.token.startswith(CHANNEL_PAID):
            # Marketplaces (Amazon, eBay, Etsy, Walmart) collect the money; we never touch a card.
            entry = PaymentEntry(kind="authorization", amount=order.total, status="paid_on_channel")
            self._pay.entries.append(entry)
            ctx.event(tl.payment(E.PAYMENT_COLLECTED_BY_CHANNEL, order.total))
            await ctx.project()
            return
        if order.total <= 0 and workflow.patched(RECOMPOSED):
            # Nothing to charge (a fully discounted order): a gateway refuses a zero amount.
            ctx.event(tl.payment(E.PAYMENT_NOT_REQUIRED, order.total))
            await ctx.project()
            return
        auth = await act.authorize_payment.run(
            io.AuthorizeInput(
                idempotency_key=ctx.key("authorize"),
                order_id=ctx.s.order_id,
                amount=order.total,
                currency=order.currency,
                token=order.payment.token,
            ),
            policies.PAYMENT,
        )
        self._pay.authorization_id, self._pay.authorized = auth.authorization_id, auth.amount
        self._pay.entries.append(
            PaymentEntry(kind="authorization", amount=auth.amount, status="ok")
        )
        ctx.event(tl.payment(E.PAYMENT_AUTHORIZED, auth.amount))
        await ctx.project()

    @property
    def uncaptured(self) -> Decimal:
        """What the authorization still holds beyond what was captured."""
        if not self._pay.authorization_id or self._pay.voided:
            return Decimal("0")
        return max(Decimal("0"), self._pay.authorized - self._pay.captured)

    @property
    def refundable(self) -> Decimal:
        """What was captured and not refunded yet."""
        return max(Decimal("0"), self._pay.captured - self._pay.refunded)

    async def capture(self, sh: ShipmentState) -> None:
        """Capture what one shipment carried (once)."""
        if invoicing.is_invoice(self._ctx):
            return await invoicing.invoice_shipment(self._ctx, sh)
        pay, ctx = self._pay, self._ctx
        if sh.captured or not pay.authorization_id or sh.capture_amount <= 0:
            return
        result = await act.capture_payment.run(
            io.PaymentOpInput(
                idempotency_key=ctx.key("capture", sh.shipment_id),
                order_id=ctx.s.order_id,
                authorization_id=pay.authorization_id,
                amount=sh.capture_amount,
            ),
            policies.PAYMENT,
        )
        sh.captured = True
        pay.captured += result.amount
        pay.entries.append(
            PaymentEntry(
                kind="capture", amount=result.amount, status=result.status, reference=sh.shipment_id
            )
        )
        ctx.event(tl.payment(E.PAYMENT_CAPTURED, result.amount, shipment_id=sh.shipment_id))

    async def refund(
        self, amount: Decimal, reference: str, *, tell_customer: bool = True
    ) -> Decimal:
        """Give back part of what was captured (once per reference); returns what was refunded.

        `tell_customer=False`: the caller's own email says it (an order change sends one).
        """
        if invoicing.is_invoice(self._ctx):
            return await invoicing.credit(self._ctx, amount, reference)  # a credit note
        pay, ctx = self._pay, self._ctx
        if not pay.authorization_id or amount <= 0:
            return Decimal("0")
        result = await act.refund_payment.run(
            io.PaymentOpInput(
                idempotency_key=ctx.key("refund", reference),
                order_id=ctx.s.order_id,
                authorization_id=pay.authorization_id,
                amount=amount,
            ),
            policies.PAYMENT,
        )
        pay.refunded += result.amount
        pay.entries.append(
            PaymentEntry(
                kind="refund", amount=result.amount, status=result.status, reference=reference
            )
        )
        ctx.event(tl.payment(E.PAYMENT_REFUNDED, result.amount, reference=reference))
        if tell_customer:
            await ctx.notify("refund_issued", {"amount": str(result.amount)}, reference)
        return Decimal(result.amount)

    async def void_rest(self) -> None:
        """Release whatever the authorization holds beyond what was captured."""
        if invoicing.is_invoice(self._ctx):
            return await invoicing.release_rest(self._ctx)
        pay, ctx = self._pay, self._ctx
        if self.uncaptured <= 0:
            return
        assert pay.authorization_id
        result = await act.void_payment.run(
            io.PaymentOpInput(
                idempotency_key=ctx.key("void"),
                order_id=ctx.s.order_id,
                authorization_id=pay.authorization_id,
            ),
            policies.UNDO,
        )
        pay.voided = True
        pay.entries.append(PaymentEntry(kind="void", amount=result.amount, status=result.status))
        ctx.event(tl.payment(E.PAYMENT_VOIDED, result.amount))

    # ---- order changes ----------------------------------------------------------------------

    def holdings(self) -> Holdings:
        """What the payment holds, for planning an order change."""
        pay, order = self._pay, self._ctx.s.order
        if order.payment.token.startswith(CHANNEL_PAID):
            kind: str = "channel"
        elif invoicing.is_invoice(self._ctx):
            kind = "invoice"
        elif pay.authorization_id:
            kind = "card"
        else:
            kind = "free"  # nothing was authorized (a zero total): an increase authorizes anew
        return Holdings(
            kind=kind,  # type: ignore[arg-type]
            authorized=pay.authorized,
            captured=pay.captured,
            voided=pay.voided,
            change_refunds=pay.change_refunds,
        )

    async def raise_to(self, total: Decimal, change: str) -> None:
        """Hold `total` in all for an edit that raised the order's total: the same
        authorization incremented (or a first one for an order that had nothing to pay).
        A decline raises `ActivityError` and the edit is refused, having changed nothing."""
        pay, ctx = self._pay, self._ctx
        if not pay.authorization_id:
            order = ctx.s.order
            auth = await act.authorize_payment.run(
                io.AuthorizeInput(
                    idempotency_key=ctx.key("authorize", change),
                    order_id=ctx.s.order_id,
                    amount=total,
                    currency=order.currency,
                    token=order.payment.token,
                ),
                policies.PAYMENT,
            )
            pay.authorization_id, pay.authorized = auth.authorization_id, auth.amount
            pay.entries.append(
                PaymentEntry(
                    kind="authorization", amount=auth.amount, status="ok", reference=change
                )
            )
            ctx.event(tl.payment(E.PAYMENT_AUTHORIZED, auth.amount, reference=change))
            return
        before = pay.authorized
        raised = await act.increment_authorization.run(
            io.IncrementInput(
                idempotency_key=ctx.key("increment", change),
                order_id=ctx.s.order_id,
                authorization_id=pay.authorization_id,
                total=total,
            ),
            policies.PAYMENT,
        )
        pay.authorized = raised.amount
        added = raised.amount - before
        pay.entries.append(
            PaymentEntry(kind="increment", amount=added, status="ok", reference=change)
        )
        ctx.event(tl.payment(E.PAYMENT_INCREMENTED, added, reference=change))

    async def reinvoice(self, total: Decimal, change: str) -> None:
        """An invoice order's change: the receivable expects the new total."""
        if invoicing.is_invoice(self._ctx):
            await invoicing.adjust_expected(self._ctx, total, change)

    async def true_up(self, total: Decimal, change: str) -> Decimal:
        """Refund what was captured beyond the order's `total` after a change lowered it."""
        pay = self._pay
        excess = pay.captured - pay.change_refunds - total
        if excess <= 0:
            return Decimal("0")
        refunded = await self.refund(excess, change, tell_customer=False)
        pay.change_refunds += refunded
        return refunded

    async def capture_balance(self, total: Decimal, reference: str) -> None:
        """Capture what the order's `total` still lacks once every parcel left.

        A change can leave the parcels that shipped with less than the new total: shipping and
        tax are shared by merchandise when a parcel is invoiced, and lines cancelled afterwards
        leave their share of shipping with nothing to carry it.
        """
        pay, ctx = self._pay, self._ctx
        short = min(total - (pay.captured - pay.change_refunds), self.uncaptured)
        if short <= 0 or not pay.authorization_id or invoicing.is_invoice(ctx):
            return  # an invoice order's parcels were invoiced for their share; no card here
        result = await act.capture_payment.run(
            io.PaymentOpInput(
                idempotency_key=ctx.key("capture", reference),
                order_id=ctx.s.order_id,
                authorization_id=pay.authorization_id,
                amount=short,
            ),
            policies.PAYMENT,
        )
        pay.captured += result.amount
        pay.entries.append(
            PaymentEntry(
                kind="capture", amount=result.amount, status=result.status, reference=reference
            )
        )
        ctx.event(tl.payment(E.PAYMENT_CAPTURED, result.amount, reference=reference))
