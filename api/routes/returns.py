"""Returns (RMAs): request one on a delivered order, receive it, read it.

Requests and receipts are Updates (the order's `request_return`, the RMA's `receive`), so the
caller gets an immediate answer: a refusal becomes 409 with the reason; reads come from the
`returns` read model.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError
from temporalio.service import RPCError, RPCStatusCode

from api.deps import SessionDep, SessionsDep, TemporalDep, require
from api.errors import ApiError
from domain.returns import (
    ReceiveRequest,
    ReturnAuthorisation,
    ReturnRequest,
    ReturnState,
    window_closed_message,
)
from store import events as event_store
from store import returns_tables as rmas
from store.tables import Order

router = APIRouter(prefix="/v1", tags=["returns"])
READ = [Depends(require("returns:read"))]
WRITE = [Depends(require("returns:write"))]
REFUSED: dict[int | str, dict[str, Any]] = {
    409: {"description": "Not allowed now; `message` says why"}
}


class ReturnLineView(BaseModel):
    """One line of an RMA."""

    line_id: str
    sku: str
    quantity: int
    reason: str
    exchange_sku: str | None
    received_quantity: int
    condition: str | None
    disposition: str | None


class ReturnView(BaseModel):
    """An RMA as the API shows it (from the read model)."""

    rma_id: str
    order_id: str
    status: str
    location_id: str
    carrier: str
    tracking_number: str
    label_url: str
    refund_amount: str | None
    replacement_shipment_id: str | None
    lines: list[ReturnLineView]
    created_at: datetime
    updated_at: datetime


class ReturnPage(BaseModel):
    """A list of RMAs."""

    items: list[ReturnView]


def _view(row: rmas.Return, lines: list[rmas.ReturnLine]) -> ReturnView:
    refund = row.refund_amount
    return ReturnView(
        rma_id=row.rma_id,
        order_id=row.order_id,
        status=row.status,
        location_id=row.location_id,
        carrier=row.carrier,
        tracking_number=row.tracking_number,
        label_url=row.label_url,
        refund_amount=None if refund is None else str(Decimal(refund).quantize(Decimal("0.01"))),
        replacement_shipment_id=row.replacement_shipment_id,
        lines=[
            ReturnLineView(
                line_id=x.line_id,
                sku=x.sku,
                quantity=x.quantity,
                reason=x.reason,
                exchange_sku=x.exchange_sku,
                received_quantity=x.received_quantity,
                condition=x.condition,
                disposition=x.disposition,
            )
            for x in lines
        ],
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _refusal(err: WorkflowUpdateFailedError) -> ApiError:
    cause: BaseException | None = err.cause
    while isinstance(cause, (ActivityError, ChildWorkflowError)) and cause.cause is not None:
        cause = cause.cause
    message = cause.message if isinstance(cause, ApplicationError) else str(cause)
    kind = cause.type if isinstance(cause, ApplicationError) else None
    return ApiError(422 if kind == "InvalidAddress" else 409, "refused", message)


async def _ended(sessions: SessionsDep, order: Order) -> ApiError:
    """Why an order whose process ended takes no returns: the window, or its status."""
    async with sessions() as session:
        events = await event_store.timeline(session, order.order_id)
    opened = [e for e in events if e.type == "return_window_opened"]
    if opened:
        closes_at = datetime.fromisoformat(str(opened[-1].detail["closes_at"]))
        return ApiError(409, "refused", window_closed_message(closes_at))
    return ApiError(409, "refused", f"order is {order.status}; its process has ended")


@router.post(
    "/orders/{order_id}/returns",
    status_code=201,
    response_model=ReturnAuthorisation,
    dependencies=WRITE,
    responses=REFUSED,
)
async def request_return(
    order_id: str, body: ReturnRequest, sessions: SessionsDep, client: TemporalDep
) -> ReturnAuthorisation:
    """Authorise a return of delivered units: an RMA id and a prepaid return label."""
    async with sessions() as session:
        order = await session.get(Order, order_id)
    if order is None:
        raise ApiError(404, "not_found", f"no order {order_id!r}")
    handle = client.get_workflow_handle(order.workflow_id)
    try:
        return await handle.execute_update("request_return", body, result_type=ReturnAuthorisation)
    except WorkflowUpdateFailedError as err:
        raise _refusal(err) from err
    except RPCError as err:
        if err.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            raise await _ended(sessions, order) from err
        raise


@router.post(
    "/returns/{rma_id}/receive", response_model=ReturnView, dependencies=WRITE, responses=REFUSED
)
async def receive_return(
    rma_id: str, body: ReceiveRequest, sessions: SessionsDep, client: TemporalDep
) -> ReturnView:
    """The parcel arrived: record each line's condition; answers once units are disposed of."""
    async with sessions() as session:
        found = await rmas.get_return(session, rma_id)
        # Its workflow may not have recorded it yet (a worker restarting): the id says whose.
        workflow_id = found[0].workflow_id if found else await _rma_workflow(session, rma_id)
    if workflow_id is None:
        raise ApiError(404, "not_found", f"no return {rma_id!r}")
    status = found[0].status if found else "label_issued"
    try:
        await client.get_workflow_handle(workflow_id).execute_update(
            "receive", body, result_type=ReturnState
        )
    except WorkflowUpdateFailedError as err:
        raise _refusal(err) from err
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND and not found:
            raise ApiError(404, "not_found", f"no return {rma_id!r}") from err
        if err.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            raise ApiError(409, "refused", f"{rma_id} is {status}") from err
        raise
    async with sessions() as session:
        found = await rmas.get_return(session, rma_id)
    assert found is not None
    return _view(*found)


async def _rma_workflow(session: SessionDep, rma_id: str) -> str | None:
    """`RMA-<order_id>-<n>` is the n-th return of an order: its workflow's id, if the order is."""
    order_id, _, seq = rma_id.removeprefix("RMA-").rpartition("-")
    order = await session.get(Order, order_id) if rma_id.startswith("RMA-") else None
    if order is None or not seq.isdigit():
        return None
    return f"{order.workflow_id}:return:{seq}"


@router.get("/returns/{rma_id}", response_model=ReturnView, dependencies=READ)
async def get_return(rma_id: str, session: SessionDep) -> ReturnView:
    """One RMA with its lines, conditions, dispositions and refund."""
    found = await rmas.get_return(session, rma_id)
    if found is None:
        raise ApiError(404, "not_found", f"no return {rma_id!r}")
    return _view(*found)


@router.get("/returns", response_model=ReturnPage, dependencies=READ)
async def list_returns(
    session: SessionDep,
    status: Annotated[str | None, Query(max_length=200)] = None,
    order_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> ReturnPage:
    """RMAs newest first, by status and order."""
    rows = await rmas.list_returns(session, status=status, order_id=order_id, limit=limit)
    return ReturnPage(items=[_view(r, lines) for r, lines in rows])


@router.get(
    "/returns/{rma_id}/label",
    dependencies=READ,
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
async def return_label(rma_id: str, session: SessionDep) -> Response:
    """The prepaid return label (PDF); the same document as `/v1/shipments/{rma_id}/label`."""
    doc = await rmas.label_document(session, rma_id)
    if doc is None:
        raise ApiError(404, "not_found", f"no label for {rma_id!r}")
    return Response(content=doc.body, media_type=doc.content_type)
