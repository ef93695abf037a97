"""How the API shows an order: the read model's row and timeline as an `OrderView`."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from api.schemas import OrderView, PaymentView
from config.settings import Settings
from domain.errors import NotFound
from store import events as event_store
from store.tables import Order


async def get_view(session: AsyncSession, order_id: str, settings: Settings) -> OrderView:
    """The order with its timeline, or 404."""
    row = await session.get(Order, order_id)
    if row is None:
        raise NotFound(f"no order {order_id!r}")
    events = await event_store.timeline(session, order_id)
    doc = row.document
    return OrderView(
        order_id=row.order_id,
        workflow_id=row.workflow_id,
        channel=row.channel,
        external_id=row.external_id,
        status=row.status,
        on_hold=row.hold,
        failure_reason=row.failure_reason,
        currency=row.currency,
        total=str(row.total),
        customer=doc.get("customer", {}),
        ship_to=doc.get("ship_to", {}),
        shipping_service=doc.get("shipping_service", "standard"),
        lines=doc.get("lines", []),
        shipments=row.shipments or [],  # type: ignore[arg-type]
        payments=[
            PaymentView(
                kind=p["kind"],
                amount=str(p["amount"]),
                status=p["status"],
                reference=p.get("reference", ""),
                document=p.get("document"),
                due_at=p.get("due_at"),
            )
            for p in (row.payments or [])
        ],  # type: ignore[misc]
        routing=row.routing or {},
        events=[{"at": e.at, "type": e.type, "detail": e.detail} for e in events],  # type: ignore[misc]
        temporal_url=f"{settings.temporal_ui_url.rstrip('/')}/namespaces/"
        f"{settings.temporal_namespace}/workflows/{row.workflow_id}",
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
