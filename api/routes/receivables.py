"""`/v1/receivables`: orders paid by invoice, what their customers owe, and the documents."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from api.deps import SessionDep, require
from services import receivables as service
from store.receivables import ReceivableRow

router = APIRouter(prefix="/v1/receivables", tags=["receivables"])


class InvoiceDocumentView(BaseModel):
    """An invoice (per shipment; its PDF at `/v1/shipments/{reference}/invoice`) or a credit
    note (per refund)."""

    document_id: str
    kind: str
    reference: str
    amount: str
    issued_at: datetime
    due_at: datetime | None = None


class ReceivableView(BaseModel):
    """One invoice order's account: `balance` = invoiced - credited."""

    order_id: str
    channel: str
    customer_name: str
    customer_email: str
    currency: str
    terms_days: int
    expected: str
    invoiced: str
    credited: str
    released: str
    balance: str
    status: str
    created_at: datetime
    updated_at: datetime
    documents: list[InvoiceDocumentView]


class ReceivablePage(BaseModel):
    """Receivables newest first; pass `next_before` back as `before` for the next page."""

    items: list[ReceivableView]
    next_before: datetime | None = None


@router.get("", response_model=ReceivablePage, dependencies=[Depends(require("orders:read"))])
async def list_receivables(
    session: SessionDep,
    status: Annotated[
        str | None, Query(max_length=40, description="open or closed (comma-separated)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before: Annotated[datetime | None, Query(description="created before (a page's end)")] = None,
) -> ReceivablePage:
    """Receivables of orders paid by invoice, newest first, with their invoices and credit
    notes; `?status=open` lists what is still owed or still to be invoiced."""
    rows = await service.list_receivables(session, (status or "").split(","), limit, before)
    items = [_view(r) for r in rows]
    return ReceivablePage(
        items=items, next_before=items[-1].created_at if len(items) == limit else None
    )


def _view(row: ReceivableRow) -> ReceivableView:
    r = row.receivable
    return ReceivableView(
        order_id=r.order_id,
        channel=r.channel,
        customer_name=r.customer_name,
        customer_email=r.customer_email,
        currency=r.currency,
        terms_days=r.terms_days,
        expected=str(r.expected),
        invoiced=str(r.invoiced),
        credited=str(r.credited),
        released=str(r.released),
        balance=str(r.invoiced - r.credited),
        status=r.status,
        created_at=r.created_at,
        updated_at=r.updated_at,
        documents=[
            InvoiceDocumentView(
                document_id=d.document_id,
                kind=d.kind,
                reference=d.reference,
                amount=str(d.amount),
                issued_at=d.issued_at,
                due_at=d.due_at,
            )
            for d in row.documents
        ],
    )
