"""Letter-size invoice and credit note PDFs, drawn like the packing slip (reportlab)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import LETTER, inch
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from domain.models import Address
from domain.money import q


@dataclass(frozen=True)
class DocumentLine:
    """Units of one item at one unit price."""

    sku: str
    name: str
    quantity: int
    unit_price: Decimal

    @property
    def amount(self) -> Decimal:
        return q(self.unit_price * self.quantity)


@dataclass(frozen=True)
class BillingDocument:
    """What an invoice (or a credit note) says."""

    kind: Literal["invoice", "credit_note"]
    number: str
    order_number: str
    reference: str  # the shipment billed, or what a credit note refunds
    currency: str
    amount: Decimal
    issued_at: datetime
    due_at: datetime | None
    terms_days: int
    bill_to: Address | None
    customer_email: str
    lines: Sequence[DocumentLine]


def money(value: Decimal, currency: str) -> str:
    """`1234.5` -> `USD 1,234.50`."""
    return f"{currency} {q(value):,.2f}"


def document_pdf(doc: BillingDocument) -> bytes:
    """The document as a PDF: who is billed, the lines, what is due and when."""
    styles = getSampleStyleSheet()
    title = "Invoice" if doc.kind == "invoice" else "Credit note"
    buffer = io.BytesIO()
    pdf = SimpleDocTemplate(
        buffer, pagesize=LETTER, title=f"{title} {doc.number}", topMargin=0.75 * inch
    )
    rows: list[list[Any]] = [["SKU", "Item", "Qty", "Unit price", "Amount"]]
    for line in doc.lines:
        rows.append(
            [
                line.sku,
                Paragraph(escape(line.name), styles["BodyText"]),
                str(line.quantity),
                money(line.unit_price, doc.currency),
                money(line.amount, doc.currency),
            ]
        )
    merchandise = q(sum((line.amount for line in doc.lines), Decimal(0)))
    extras = q(doc.amount - merchandise)
    if doc.lines and extras:
        rows.append(["", "Shipping and tax (share)", "", "", money(extras, doc.currency)])
    label = "Total due" if doc.kind == "invoice" else "Total credited"
    rows.append(["", label, "", "", money(doc.amount, doc.currency)])
    table = Table(
        rows,
        colWidths=[1.2 * inch, 2.7 * inch, 0.5 * inch, 1.1 * inch, 1.2 * inch],
        repeatRows=1,
    )
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
                ("GRID", (0, 0), (-1, -2), 0.5, colors.grey),
                ("ALIGN", (2, 0), (-1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("FONTNAME", (0, -1), (-1, -1), "Helvetica-Bold"),
            ]
        )
    )
    # Paragraph reads mini-HTML: every customer-supplied text is escaped.
    facts = [
        f"{title} number: {escape(doc.number)}",
        f"Order: {escape(doc.order_number)}",
        f"{'Shipment' if doc.kind == 'invoice' else 'For'}: {escape(doc.reference)}",
        f"Issued: {doc.issued_at.strftime('%Y-%m-%d')}",
    ]
    if doc.due_at is not None:
        facts.append(f"Due: {doc.due_at.strftime('%Y-%m-%d')} (net {doc.terms_days} days)")
    story: list[Any] = [
        Paragraph(title, styles["Title"]),
        Paragraph("<br/>".join(facts), styles["Normal"]),
        Spacer(1, 12),
    ]
    if doc.bill_to is not None:
        billed = [*_address_lines(doc.bill_to), doc.customer_email]
        story.append(
            Paragraph(
                "Bill to:<br/>" + "<br/>".join(escape(x) for x in billed if x), styles["Normal"]
            )
        )
        story.append(Spacer(1, 18))
    story.append(table)
    if doc.kind == "invoice":
        story += [
            Spacer(1, 18),
            Paragraph(
                f"Please pay {escape(money(doc.amount, doc.currency))} by "
                f"{doc.due_at.strftime('%Y-%m-%d') if doc.due_at else 'receipt'}, "
                f"quoting {escape(doc.number)}.",
                styles["Normal"],
            ),
        ]
    pdf.build(story)
    return buffer.getvalue()


def _address_lines(address: Address) -> list[str]:
    city = " ".join(p for p in (f"{address.city},", address.region, address.postal_code) if p)
    return [x for x in (address.name, address.line1, address.line2, city, address.country) if x]
