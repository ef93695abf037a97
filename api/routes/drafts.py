"""`/v1/orders/{id}/confirm`: a draft order (`POST /v1/orders` with `"draft": true`) is placed."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from api.deps import SessionsDep, SettingsDep, TemporalDep, require
from api.schemas import OrderAccepted
from domain.order_changes import Actor
from services import drafts
from store.tables import ApiKey

router = APIRouter(prefix="/v1/orders", tags=["orders"])

RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": OrderAccepted, "description": "Confirmed before; nothing started"},
    409: {"description": "Not a draft, or the draft expired; `message` says which"},
}


@router.post(
    "/{order_id}/confirm", status_code=202, response_model=OrderAccepted, responses=RESPONSES
)
async def confirm_draft(
    order_id: str,
    response: Response,
    sessions: SessionsDep,
    client: TemporalDep,
    settings: SettingsDep,
    key: Annotated[ApiKey, Depends(require("orders:create"))],
) -> OrderAccepted:
    """Place a draft: its stock is taken as at intake (a channel that refuses shortfalls gets
    409 `out_of_stock`) and its workflow starts with the stored order; a repeat is 200 and
    starts nothing; an expired draft, or an order that never was one, is 409."""
    actor = Actor(key_id=key.key_id, name=key.name or key.key_id, role=key.role)
    confirmed, row = await drafts.confirm(sessions, client, settings, order_id, actor=actor)
    if not confirmed:
        response.status_code = 200
    return OrderAccepted(order_id=row.order_id, workflow_id=row.workflow_id, status=row.status)
