"""Invoice payment (B2B) activities: the receivable, invoices with their PDFs, credit notes.

An order paid by invoice never reaches the card gateway: where a card order authorizes, it
opens a receivable; where it captures a shipment, it invoices it (due the ship date plus the
order's terms); where it refunds, it issues a credit note. Everything is in our own database
and keyed by document id, so a retried activity records nothing twice.
"""

from __future__ import annotations

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities import io
from integrations.billing.documents import BillingDocument, DocumentLine, document_pdf
from store import receivables
from store.db import readers
from store.tables import Sku

log = structlog.get_logger(__name__)


class InvoicingActivities:
    """Writes receivables and their documents."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @activity.defn
    async def open_receivable(self, inp: io.OpenReceivableInput) -> None:
        """An invoice order was taken: what the customer is expected to owe (once)."""
        async with self._sessions.begin() as session:
            await receivables.open_receivable(
                session,
                {
                    "order_id": inp.order_id,
                    "channel": inp.channel,
                    "customer_name": inp.customer_name,
                    "customer_email": inp.customer_email,
                    "currency": inp.currency,
                    "terms_days": inp.terms_days,
                    "expected": inp.amount,
                },
            )
        log.info("receivable opened", order_id=inp.order_id, amount=str(inp.amount))

    @activity.defn
    async def issue_invoice(self, inp: io.InvoiceInput) -> None:
        """Record an invoice (with its PDF, served beside the shipment's label) or a credit
        note, and move the receivable's balance; once per document id."""
        pdf = await self._pdf(inp) if inp.kind == "invoice" else None
        async with self._sessions.begin() as session:
            recorded = await receivables.add_document(
                session,
                {
                    "document_id": inp.document_id,
                    "order_id": inp.order_id,
                    "kind": inp.kind,
                    "reference": inp.reference,
                    "amount": inp.amount,
                    "issued_at": inp.issued_at,
                    "due_at": inp.due_at,
                },
                pdf,
            )
        log.info(
            f"{inp.kind.replace('_', ' ')} issued",
            order_id=inp.order_id,
            document_id=inp.document_id,
            amount=str(inp.amount),
            repeat=not recorded,
        )

    @activity.defn
    async def adjust_receivable(self, inp: io.AdjustReceivableInput) -> None:
        """An order change moved what the order will invoice in all."""
        async with self._sessions.begin() as session:
            await receivables.set_expected(session, inp.order_id, inp.expected)
        log.info("receivable adjusted", order_id=inp.order_id, expected=str(inp.expected))

    @activity.defn
    async def release_receivable(self, inp: io.ReleaseReceivableInput) -> None:
        """The order will not invoice `amount` of what was expected (shipped less, stopped)."""
        async with self._sessions.begin() as session:
            await receivables.release(session, inp.order_id, inp.amount)
        log.info("receivable released", order_id=inp.order_id, amount=str(inp.amount))

    async def _pdf(self, inp: io.InvoiceInput) -> bytes:
        async with readers(self._sessions)() as session:
            rows = await session.execute(
                select(Sku.sku, Sku.name).where(Sku.sku.in_({x.sku for x in inp.lines}))
            )
            names = {sku: name for sku, name in rows.all()}
        return document_pdf(
            BillingDocument(
                kind=inp.kind,
                number=inp.document_id,
                order_number=inp.order_number or inp.order_id,
                reference=inp.reference,
                currency=inp.currency,
                amount=inp.amount,
                issued_at=inp.issued_at,
                due_at=inp.due_at,
                terms_days=inp.terms_days,
                bill_to=inp.bill_to,
                customer_email=inp.customer_email,
                lines=[
                    DocumentLine(x.sku, names.get(x.sku, x.sku), x.quantity, x.unit_price)
                    for x in inp.lines
                ],
            )
        )
