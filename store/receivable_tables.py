"""Receivables of orders paid by invoice (B2B): what the customer owes, and the documents.

An invoice order opens one receivable when the order would authorize a card: its total is
expected. Each shipment that ships is invoiced (due its ship date plus the order's terms); a
refund becomes a credit note. Written by the order workflow's invoicing activities, each
write idempotent by document id; read by `GET /v1/receivables` and the invoice PDF route.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from store.tables import Base, Money, UtcDateTime, utcnow


class Receivable(Base):
    """One invoice order's account: expected, invoiced, credited; `open` while owed or to come."""

    __tablename__ = "receivables"
    __table_args__ = (Index("ix_receivables_status", "status"),)
    order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    customer_name: Mapped[str] = mapped_column(String(200))
    customer_email: Mapped[str] = mapped_column(String(254))
    currency: Mapped[str] = mapped_column(String(3))
    terms_days: Mapped[int] = mapped_column(Integer)
    # The order total when it was taken: what is expected to be invoiced.
    expected: Mapped[Decimal] = mapped_column(Money)
    invoiced: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    credited: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    # What will never be invoiced (the order shipped less, or was cancelled).
    released: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    # open: invoices to come or a balance owed; closed: the order invoices nothing more and
    # nothing is owed (it was cancelled before shipping, or credited in full).
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, nullable=False)


class InvoiceDocument(Base):
    """An invoice (per shipment) or a credit note (per refund) of a receivable."""

    __tablename__ = "invoice_documents"
    __table_args__ = (Index("ix_invoice_documents_order", "order_id"),)
    document_id: Mapped[str] = mapped_column(String(160), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("receivables.order_id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # invoice | credit_note
    # The shipment an invoice bills, or what a credit note refunds (an RMA, a parcel, a change).
    reference: Mapped[str] = mapped_column(String(160))
    amount: Mapped[Decimal] = mapped_column(Money)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
