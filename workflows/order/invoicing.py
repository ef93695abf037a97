"""Invoice payment (B2B) in the order workflow: what the ledger does when the customer pays
by invoice instead of by card.

The card gateway is never called. Where a card order authorizes, an invoice order opens a
receivable for its total; where a card order captures what a shipment carried, the shipment is
invoiced for the same amount (its `capture_amount`), due `terms_days` after it shipped; a
refund (a return, a lost parcel, an order change) becomes a credit note; what the order will
never invoice (it shipped less, or stopped) is released from the receivable. The amounts move
in the same `PaymentState` fields as a card's (authorized, captured, refunded), so the rest of
the order (capture plans, refund caps, compensation) works unchanged.

The documents live in our database, written by the invoicing activities
(`activities/invoicing.py`); invoice PDFs are served at `GET /v1/shipments/{id}/invoice`.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities import contracts as act
    from activities import io
    from domain import timeline as tl
    from domain.models import DEFAULT_TERMS_DAYS
    from domain.order_state import PaymentEntry
    from domain.shipments import ShipmentState
    from domain.timeline import EventType as E
    from workflows import policies
    from workflows.order.context import OrderContext


def is_invoice(ctx: OrderContext) -> bool:
    """The order is paid by invoice: these functions replace the gateway's steps."""
    return ctx.s.order.payment.is_invoice


def terms_days(ctx: OrderContext) -> int:
    """The order's payment terms."""
    terms = ctx.s.order.payment.terms_days
    return DEFAULT_TERMS_DAYS if terms is None else terms


def invoice_number(shipment_id: str) -> str:
    """One invoice per shipment: its number derives from the shipment's id."""
    return f"INV-{shipment_id.removeprefix('ord_')}"


def credit_note_number(order_id: str, reference: str) -> str:
    """One credit note per refund reference (an RMA and parcel, a shipment, a change)."""
    short = order_id.removeprefix("ord_")
    if short in reference:  # RMA and shipment ids carry the order's id already
        return f"CN-{reference.removeprefix('ord_')}"
    return f"CN-{short}-{reference}"


async def open_receivable(ctx: OrderContext) -> None:
    """Instead of authorizing a card: record what the customer is expected to owe."""
    order, pay = ctx.s.order, ctx.s.payment
    terms = terms_days(ctx)
    await act.open_receivable.run(
        io.OpenReceivableInput(
            order_id=ctx.order_id,
            channel=order.channel,
            customer_name=order.customer.name,
            customer_email=order.customer.email,
            currency=order.currency,
            terms_days=terms,
            amount=order.total,
        ),
        policies.QUICK,
    )
    pay.authorized = order.total
    pay.entries.append(
        PaymentEntry(kind="receivable", amount=order.total, status="open", reference=f"net {terms}")
    )
    ctx.event(tl.payment(E.RECEIVABLE_OPENED, order.total, terms_days=terms))
    await ctx.project()


async def invoice_shipment(ctx: OrderContext, sh: ShipmentState) -> None:
    """Instead of capturing: invoice what the shipment carried (once), due after the terms."""
    pay, order = ctx.s.payment, ctx.s.order
    if sh.captured or sh.capture_amount <= 0:
        return
    issued = sh.shipped_at or workflow.now()
    terms = terms_days(ctx)
    due = issued + timedelta(days=terms)
    number = invoice_number(sh.shipment_id)
    prices = {line.line_id: line.unit_price for line in order.lines}
    await act.issue_invoice.run(
        io.InvoiceInput(
            document_id=number,
            order_id=ctx.order_id,
            kind="invoice",
            reference=sh.shipment_id,
            amount=sh.capture_amount,
            currency=order.currency,
            issued_at=issued,
            due_at=due,
            terms_days=terms,
            order_number=order.display_number,
            bill_to=order.ship_to,
            customer_email=order.customer.email,
            lines=[
                io.InvoiceLine(
                    line_id=part.line_id,
                    sku=part.sku,
                    quantity=part.quantity,
                    unit_price=prices.get(part.line_id, Decimal("0")),
                )
                for part in sh.lines
            ],
        ),
        policies.QUICK,
    )
    sh.captured = True
    pay.captured += sh.capture_amount
    pay.entries.append(
        PaymentEntry(
            kind="invoice",
            amount=sh.capture_amount,
            status="issued",
            reference=sh.shipment_id,
            document=number,
            due_at=due,
        )
    )
    ctx.event(
        tl.invoice_document(
            E.INVOICE_ISSUED, number, sh.capture_amount, sh.shipment_id, due.isoformat()
        )
    )


async def credit(ctx: OrderContext, amount: Decimal, reference: str) -> Decimal:
    """Instead of refunding: a credit note for what is given back (at most what was invoiced
    and not credited yet); returns what was credited."""
    pay, order = ctx.s.payment, ctx.s.order
    amount = min(amount, pay.captured - pay.refunded)
    if amount <= 0:
        return Decimal("0")
    number = credit_note_number(ctx.order_id, reference)
    await act.issue_invoice.run(
        io.InvoiceInput(
            document_id=number,
            order_id=ctx.order_id,
            kind="credit_note",
            reference=reference,
            amount=amount,
            currency=order.currency,
            issued_at=workflow.now(),
            order_number=order.display_number,
        ),
        policies.QUICK,
    )
    pay.refunded += amount
    pay.entries.append(
        PaymentEntry(
            kind="credit_note", amount=amount, status="issued", reference=reference, document=number
        )
    )
    ctx.event(tl.invoice_document(E.CREDIT_NOTE_ISSUED, number, amount, reference))
    return amount


async def adjust_expected(ctx: OrderContext, total: Decimal, reference: str) -> None:
    """An order change moved the total: the receivable expects the new one."""
    pay = ctx.s.payment
    if pay.voided or total == pay.authorized:
        return
    await act.adjust_receivable.run(
        io.AdjustReceivableInput(order_id=ctx.order_id, expected=total), policies.QUICK
    )
    pay.authorized = total
    pay.entries.append(
        PaymentEntry(kind="receivable", amount=total, status="adjusted", reference=reference)
    )
    ctx.event(tl.payment(E.RECEIVABLE_ADJUSTED, total, reference=reference))


async def release_rest(ctx: OrderContext) -> None:
    """Instead of voiding: what will never be invoiced leaves the receivable."""
    pay = ctx.s.payment
    rest = pay.authorized - pay.captured
    if pay.voided or rest <= 0:
        return
    await act.release_receivable.run(
        io.ReleaseReceivableInput(order_id=ctx.order_id, amount=rest), policies.UNDO
    )
    pay.voided = True
    pay.entries.append(PaymentEntry(kind="void", amount=rest, status="released"))
    ctx.event(tl.payment(E.RECEIVABLE_REDUCED, rest))
