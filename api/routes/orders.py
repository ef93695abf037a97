"""`/v1/orders`: channels create orders; ops read them and change them while they run."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Response

from api import views
from api.deps import OpsDep, SessionDep, SessionsDep, SettingsDep, TemporalDep, require
from api.schemas import (
    ChangePaymentView,
    ChangeResult,
    OrderAccepted,
    OrderPage,
    OrderRequest,
    OrderSummary,
    OrderView,
    TotalView,
)
from domain.commands import ActionRequest, Actor, AddressChange, RerouteRequest
from domain.order_changes import ChangeAnswer, LineCancel, OrderEdit
from services import drafts, search
from services import order_changes as changes
from services import orders as service
from store.tables import ApiKey

router = APIRouter(prefix="/v1/orders", tags=["orders"])


@router.post(
    "",
    status_code=202,
    response_model=OrderAccepted,
    dependencies=[Depends(require("orders:create"))],
    responses={200: {"model": OrderAccepted, "description": "Already received; nothing started"}},
)
async def create_order(
    body: OrderRequest,
    response: Response,
    sessions: SessionsDep,
    client: TemporalDep,
    settings: SettingsDep,
) -> OrderAccepted:
    """Accept a canonical order and start its workflow; a repeat returns the same order (200).

    With `"draft": true` the order is stored as an editable draft (status `draft`: no stock
    taken, no payment, no workflow) until `POST /v1/orders/{order_id}/confirm`."""
    order = body.canonical()
    if body.draft:
        created, row = await drafts.create(sessions, settings, order)
    else:
        created, row = await service.submit(sessions, client, settings, order)
    if not created:
        response.status_code = 200
    return OrderAccepted(order_id=row.order_id, workflow_id=row.workflow_id, status=row.status)


@router.get("", response_model=OrderPage, dependencies=[Depends(require("orders:read"))])
async def list_orders(
    session: SessionDep,
    status: Annotated[str | None, Query(max_length=200, description="comma-separated")] = None,
    channel: Annotated[str | None, Query(max_length=32)] = None,
    sku: Annotated[str | None, Query(max_length=64)] = None,
    location: Annotated[
        str | None, Query(max_length=64, description="where one of its shipments ships from")
    ] = None,
    q: Annotated[
        str | None,
        Query(
            max_length=200,
            description="order id prefix, external id, the channel's order number, "
            "customer email, or part of the customer's name (any case)",
        ),
    ] = None,
    date_from: Annotated[date | None, Query(description="created on or after (UTC day)")] = None,
    date_to: Annotated[date | None, Query(description="created on or before (UTC day)")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> OrderPage:
    """Orders, newest first, with filters and cursor pagination."""
    filters = search.OrderFilters(
        statuses=(status or "").split(","),
        channel=channel,
        sku=sku,
        location=location,
        q=q,
        date_from=date_from,
        date_to=date_to,
    )
    page = await search.search_orders(session, filters, limit, cursor)
    return OrderPage(
        items=[
            OrderSummary(
                order_id=r.order_id,
                channel=r.channel,
                external_id=r.external_id,
                order_number=r.order_number,
                status=r.status,
                total=str(r.total),
                currency=r.currency,
                created_at=r.created_at,
                updated_at=r.updated_at,
            )
            for r in page.orders
        ],
        next_cursor=page.next_cursor,
    )


@router.get("/{order_id}", response_model=OrderView, dependencies=[Depends(require("orders:read"))])
async def get_order(order_id: str, session: SessionDep, settings: SettingsDep) -> OrderView:
    """One order with shipments, payments, routing explanation and timeline."""
    return await views.get_view(session, order_id, settings)


async def _view(ops: OpsDep, order_id: str) -> OrderView:
    async with ops.sessions() as session:
        return await views.get_view(session, order_id, ops.settings)


ActKey = Annotated[ApiKey, Depends(require("orders:act"))]


def _actor(key: ApiKey) -> Actor:
    return Actor(key_id=key.key_id, name=key.name or key.key_id, role=key.role)


REFUSED: dict[int | str, dict[str, Any]] = {
    409: {"description": "Not allowed now; `message` says why"}
}


@router.post("/{order_id}/cancel", response_model=OrderView, responses=REFUSED)
async def cancel_order(order_id: str, body: ActionRequest, ops: OpsDep, key: ActKey) -> OrderView:
    """Cancel what has not shipped: withdraws it from the warehouse, voids labels, releases stock
    and the rest of the payment; answers once that is done (409 when everything had shipped)."""
    await service.cancel(ops, order_id, body.model_copy(update={"actor": _actor(key)}))
    return await _view(ops, order_id)


@router.post("/{order_id}/hold", response_model=OrderView, responses=REFUSED)
async def hold_order(order_id: str, body: ActionRequest, ops: OpsDep, key: ActKey) -> OrderView:
    """Pause what has not shipped; answers once released work is back from the warehouse."""
    await service.hold(ops, order_id, body.model_copy(update={"actor": _actor(key)}))
    return await _view(ops, order_id)


@router.post("/{order_id}/release", response_model=OrderView, responses=REFUSED)
async def release_order(order_id: str, body: ActionRequest, ops: OpsDep, key: ActKey) -> OrderView:
    """Resume a held order."""
    await service.release(ops, order_id, body.model_copy(update={"actor": _actor(key)}))
    return await _view(ops, order_id)


@router.post("/{order_id}/address", response_model=OrderView, responses=REFUSED)
async def change_address(order_id: str, body: AddressChange, ops: OpsDep, key: ActKey) -> OrderView:
    """Change the ship-to address; refused once a label is bought."""
    await service.change_address(ops, order_id, body.model_copy(update={"actor": _actor(key)}))
    return await _view(ops, order_id)


@router.post("/{order_id}/reroute", response_model=OrderView, responses=REFUSED)
async def reroute_order(order_id: str, body: RerouteRequest, ops: OpsDep, key: ActKey) -> OrderView:
    """Route what has not shipped again without the excluded locations (they replace earlier
    exclusions; `[]` clears them); answers once the new plan holds stock or backorders."""
    await service.reroute(ops, order_id, body.model_copy(update={"actor": _actor(key)}))
    return await _view(ops, order_id)


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="the same key again returns the first answer and changes nothing twice",
    ),
]


async def _result(ops: OpsDep, order_id: str, answer: ChangeAnswer) -> ChangeResult:
    return ChangeResult(
        order=await _view(ops, order_id),
        preview=answer.preview,
        currency=answer.currency,
        before=TotalView(total=str(answer.before_total)),
        after=TotalView(total=str(answer.after_total)),
        payment=ChangePaymentView(action=answer.payment.action, amount=str(answer.payment.amount)),
        lines=[d.model_dump() for d in answer.lines],
        replanned=answer.replanned,
    )


@router.post("/{order_id}/lines/cancel", response_model=ChangeResult, responses=REFUSED)
async def cancel_lines(
    order_id: str,
    body: LineCancel,
    ops: OpsDep,
    key: ActKey,
    idempotency_key: IdempotencyKey = None,
) -> ChangeResult:
    """Cancel units of lines that have not shipped: they come off their shipment (re-planned,
    label bought again), their stock is released and the capture plan reduced; the whole order
    cancels when nothing is left (409 with the reason when a unit already shipped)."""
    answer = await changes.cancel_lines(
        ops, order_id, body, actor=_actor(key), idempotency_key=idempotency_key
    )
    return await _result(ops, order_id, answer)


@router.post("/{order_id}/edit", response_model=ChangeResult, responses=REFUSED)
async def edit_order(
    order_id: str,
    body: OrderEdit,
    ops: OpsDep,
    key: ActKey,
    idempotency_key: IdempotencyKey = None,
) -> ChangeResult:
    """Add lines, remove lines, change quantities or the shipping service; only the
    difference is routed, reserved and paid (a higher total is authorized on top first, a lower
    one captures less or refunds). With `"preview": true` nothing changes and the answer is
    what the edit would do."""
    answer = await changes.edit(
        ops, order_id, body, actor=_actor(key), idempotency_key=idempotency_key
    )
    return await _result(ops, order_id, answer)
