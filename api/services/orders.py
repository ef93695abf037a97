"""Order use cases behind the routes: submit, read, list, and send ops changes."""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.errors import ApiError
from api.schemas import OrderView, PaymentView
from config.settings import Settings
from domain.errors import InvalidInput
from domain.models import CanonicalOrder, order_id_for, workflow_id_for
from domain.order_state import OrderState
from domain.timings import OrderInput
from domain.validation import address_problems
from services.search import search_columns
from store import events as event_store
from store.db import readers
from store.dialect import insert_for
from store.tables import Order, OrderLine, Sku

log = structlog.get_logger(__name__)
ORDER_WORKFLOW = "OrderWorkflow"


def _document(order: CanonicalOrder) -> dict[str, Any]:
    """What the read model keeps of the order: everything but the payment token."""
    doc = order.model_dump(mode="json")
    doc["payment"] = {"method": order.payment.method}
    return doc


async def check_catalogue(session: AsyncSession, order: CanonicalOrder) -> None:
    """Refuse unknown SKUs and unshippable addresses up front, naming the field."""
    problems = address_problems(order.ship_to)
    if problems:
        field, message = problems[0]
        raise InvalidInput(message, field, code="invalid_address")
    skus = {line.sku for line in order.lines}
    known = set((await session.scalars(select(Sku.sku).where(Sku.sku.in_(skus)))).all())
    for index, line in enumerate(order.lines):
        if line.sku not in known:
            raise InvalidInput(
                f"unknown SKU {line.sku!r}", f"lines[{index}].sku", code="unknown_sku"
            )


async def submit(
    sessions: async_sessionmaker[AsyncSession],
    client: Client,
    settings: Settings,
    order: CanonicalOrder,
) -> tuple[bool, Order]:
    """Record the order and start its workflow; (created, row). A repeat starts nothing."""
    order_id = order_id_for(order.channel, order.external_id)
    workflow_id = workflow_id_for(order.channel, order.external_id)
    structlog.contextvars.bind_contextvars(order_id=order_id, workflow_id=workflow_id)
    values: dict[str, Any] = {
        "order_id": order_id,
        "channel": order.channel,
        "external_id": order.external_id,
        "workflow_id": workflow_id,
        "status": "received",
        "currency": order.currency,
        "total": order.total,
        "document": _document(order),
        "shipments": [],
        "payments": [],
        "routing": {},
        "version": 0,
        "workflow_started": False,
        **search_columns(order),
    }
    # A read: checked before the write transaction, so it holds no write lock meanwhile.
    async with readers(sessions)() as session:
        await check_catalogue(session, order)
    async with sessions.begin() as session:
        insert = insert_for(session)
        result = await session.execute(insert(Order).values(values).on_conflict_do_nothing())
        created = result.rowcount == 1  # type: ignore[attr-defined]
        if created:
            session.add_all(
                OrderLine(order_id=order_id, line_id=x.line_id, sku=x.sku, quantity=x.quantity)
                for x in order.lines
            )
            row: Order | None = Order(**values)  # what was just stored; no read needed
        else:
            row = await session.get(Order, order_id)
    if row is None:  # same (channel, external id) is stored under its own id: cannot happen
        raise ApiError(409, "conflict", "order exists under another id")
    # The workflow's first projection marks the row: until then a repeat starts it again
    # (USE_EXISTING makes that harmless); after, the mark keeps an order from starting anew
    # once Temporal's retention has forgotten its workflow id.
    if not row.workflow_started:
        await client.start_workflow(
            ORDER_WORKFLOW,
            OrderInput(order_id=order_id, order=order, timings=settings.timings()),
            id=workflow_id,
            task_queue=settings.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
        log.info("order workflow started", created=created)
    return created, row


async def get_view(session: AsyncSession, order_id: str, settings: Settings) -> OrderView:
    """The order with its timeline, or 404."""
    row = await session.get(Order, order_id)
    if row is None:
        raise ApiError(404, "not_found", f"no order {order_id!r}")
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


async def send_update(
    sessions: async_sessionmaker[AsyncSession],
    client: Client,
    order_id: str,
    update: str,
    arg: Any,
) -> OrderState:
    """Run an ops Update on the order's workflow; a refusal becomes 409 with the reason."""
    async with sessions() as session:
        row = await session.get(Order, order_id)
    if row is None:
        raise ApiError(404, "not_found", f"no order {order_id!r}")
    structlog.contextvars.bind_contextvars(order_id=order_id, workflow_id=row.workflow_id)
    handle = client.get_workflow_handle(row.workflow_id)
    try:
        return await handle.execute_update(update, arg, result_type=OrderState)
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        while isinstance(cause, ActivityError) and cause.cause is not None:
            cause = cause.cause
        message = cause.message if isinstance(cause, ApplicationError) else str(cause)
        kind = cause.type if isinstance(cause, ApplicationError) else None
        status = 422 if kind == "InvalidAddress" else 409
        raise ApiError(status, "refused", message) from err
    except RPCError as err:
        if err.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            raise ApiError(409, "refused", f"order is {row.status}; its process has ended") from err
        raise
