"""`/v1/shipments`: warehouse events in, label documents out."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Literal

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from api.deps import SessionDep, TemporalDep, require
from api.errors import ApiError
from domain.commands import FulfilmentEvent
from services import fulfilment, tracking
from store.tables import ShipmentDocument

router = APIRouter(prefix="/v1/shipments", tags=["shipments"])


class ShipmentEventIn(BaseModel):
    """What a WMS sends about a shipment."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["picked", "packed", "shipped"]
    at: datetime | None = None


@router.post(
    "/{shipment_id}/events",
    status_code=202,
    dependencies=[Depends(require("shipments:write"))],
    responses={409: {"description": "The order cannot take this report; `message` says why"}},
)
async def shipment_event(
    shipment_id: str, body: ShipmentEventIn, session: SessionDep, client: TemporalDep
) -> dict[str, str]:
    """A WMS reports `picked`, `packed` or `shipped`; 409 when the order must refuse it.

    A `shipped` for a shipment whose release was withdrawn (a cancel, hold or reroute reached
    the warehouse first) is refused so the warehouse stops the parcel.
    """
    event = FulfilmentEvent(shipment_id=shipment_id, type=body.type, at=body.at)
    workflow_id = await fulfilment.workflow_for(session, shipment_id)
    await fulfilment.report(client, workflow_id, event)
    return {"shipment_id": shipment_id, "type": event.type, "status": "accepted"}


@router.get(
    "/{shipment_id}/label",
    dependencies=[Depends(require("shipments:read"))],
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
async def shipment_label(shipment_id: str, session: SessionDep, format: str = "pdf") -> Response:
    """The shipping label: a 4x6 PDF, or ZPL with `?format=zpl`."""
    kind = {"pdf": "label", "zpl": "label_zpl"}.get(format)
    if kind is None:
        raise ApiError(422, "validation_error", "must be pdf or zpl", "format")
    return await _document(session, shipment_id, kind)


@router.get(
    "/{shipment_id}/packing-slip",
    dependencies=[Depends(require("shipments:read"))],
    response_class=Response,
)
async def packing_slip(shipment_id: str, session: SessionDep) -> Response:
    """The packing slip PDF."""
    return await _document(session, shipment_id, "packing_slip")


@router.get(
    "/{shipment_id}/invoice",
    dependencies=[Depends(require("shipments:read"))],
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
async def shipment_invoice(shipment_id: str, session: SessionDep) -> Response:
    """The invoice of a shipment of an order paid by invoice (PDF), issued when it shipped."""
    return await _document(session, shipment_id, "invoice")


async def _document(session: SessionDep, shipment_id: str, kind: str) -> Response:
    doc = await session.scalar(
        select(ShipmentDocument).where(
            ShipmentDocument.shipment_id == shipment_id, ShipmentDocument.kind == kind
        )
    )
    if doc is None:
        raise ApiError(404, "not_found", f"no {kind.replace('_', ' ')} for {shipment_id!r}")
    return Response(
        content=doc.body,
        media_type=doc.content_type,
        headers={"Content-Disposition": f'inline; filename="{shipment_id}-{kind}"'},
    )


public = APIRouter(tags=["tracking"])


@public.get("/track/{tracking_number}", include_in_schema=False, response_class=Response)
async def public_tracking(tracking_number: str, session: SessionDep) -> Response:
    """The customer's tracking link: carrier scans only, never names or addresses."""
    scans = await tracking.parcel_scans(session, tracking_number)
    items = "".join(
        f"<li>{escape(e.at.strftime('%Y-%m-%d %H:%M'))} UTC: "
        f"{escape(str(e.detail.get('description') or e.type))}</li>"
        for e in scans
    )
    html = (
        "<!doctype html><meta charset=utf-8><title>Tracking</title>"
        f"<h1>Parcel {escape(tracking_number)}</h1><ul>{items}</ul>"
    )
    return Response(html, media_type="text/html")
