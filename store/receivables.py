"""Receivables of invoice orders: open one, add invoices and credit notes, release the rest,
list them. Each write is idempotent (by order id, by document id), so activity retries are
harmless."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.dialect import insert_for
from store.receivable_tables import InvoiceDocument, Receivable
from store.tables import ShipmentDocument, utcnow


async def open_receivable(session: AsyncSession, values: dict[str, Any]) -> None:
    """Record an invoice order's receivable (once)."""
    now = utcnow()
    row = {"invoiced": 0, "credited": 0, "released": 0, "status": "open"} | values
    await session.execute(
        insert_for(session)(Receivable)
        .values({**row, "created_at": now, "updated_at": now})
        .on_conflict_do_nothing()
    )


async def add_document(
    session: AsyncSession, values: dict[str, Any], pdf: bytes | None = None
) -> bool:
    """Record an invoice or a credit note (once) and move its receivable's balance; an
    invoice's PDF is stored with the shipment's documents. False when it was recorded before."""
    inserted = await session.scalar(
        insert_for(session)(InvoiceDocument)
        .values(values)
        .on_conflict_do_nothing()
        .returning(InvoiceDocument.document_id)
    )
    if inserted is None:
        return False
    amount = Decimal(values["amount"])
    column = Receivable.invoiced if values["kind"] == "invoice" else Receivable.credited
    await session.execute(
        update(Receivable)
        .where(Receivable.order_id == values["order_id"])
        .values({column.key: column + amount, "updated_at": utcnow()})
    )
    if pdf is not None:
        await session.execute(
            insert_for(session)(ShipmentDocument)
            .values(
                shipment_id=values["reference"],
                kind=values["kind"],
                content_type="application/pdf",
                body=pdf,
            )
            .on_conflict_do_nothing()
        )
    await _settle_status(session, values["order_id"])
    return True


async def release(session: AsyncSession, order_id: str, amount: Decimal) -> None:
    """What the order will never invoice (idempotent: the amount is set, not added)."""
    await session.execute(
        update(Receivable)
        .where(Receivable.order_id == order_id)
        .values(released=amount, updated_at=utcnow())
    )
    await _settle_status(session, order_id)


async def set_expected(session: AsyncSession, order_id: str, amount: Decimal) -> None:
    """An order change moved what the order is expected to invoice in all (idempotent)."""
    await session.execute(
        update(Receivable)
        .where(Receivable.order_id == order_id)
        .values(expected=amount, updated_at=utcnow())
    )
    await _settle_status(session, order_id)


async def _settle_status(session: AsyncSession, order_id: str) -> None:
    """Closed once nothing more will be invoiced and nothing is owed; open otherwise."""
    row = await session.get(Receivable, order_id, populate_existing=True)
    if row is None:
        return
    done = row.invoiced + row.released >= row.expected
    status = "closed" if done and row.invoiced - row.credited <= 0 else "open"
    if status != row.status:
        row.status = status


@dataclass(frozen=True)
class ReceivableRow:
    """A receivable with its documents, oldest document first."""

    receivable: Receivable
    documents: list[InvoiceDocument]


async def list_receivables(
    session: AsyncSession, statuses: Sequence[str], limit: int, before: datetime | None = None
) -> list[ReceivableRow]:
    """Receivables, newest first, with their invoices and credit notes."""
    stmt = select(Receivable).order_by(Receivable.created_at.desc(), Receivable.order_id.desc())
    if statuses:
        stmt = stmt.where(Receivable.status.in_(list(statuses)))
    if before is not None:
        stmt = stmt.where(Receivable.created_at < before)
    rows = list((await session.scalars(stmt.limit(limit))).all())
    if not rows:
        return []
    docs = await session.scalars(
        select(InvoiceDocument)
        .where(InvoiceDocument.order_id.in_([r.order_id for r in rows]))
        .order_by(InvoiceDocument.issued_at, InvoiceDocument.document_id)
    )
    by_order: dict[str, list[InvoiceDocument]] = {}
    for doc in docs:
        by_order.setdefault(doc.order_id, []).append(doc)
    return [ReceivableRow(r, by_order.get(r.order_id, [])) for r in rows]
