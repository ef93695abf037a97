"""`/v1/channel-connections`: connect a shop, see its health, sync it, map its listings."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from temporalio.client import WorkflowFailureError

from api.deps import BoxDep, SessionDep, SessionsDep, SettingsDep, TemporalDep, require
from api.errors import ApiError
from domain.connections import ConnectionOptions
from services import connections as service
from services import shop_sync
from services.connections import ConnectionSpec
from store.connection_tables import ChannelConnection, ShopListingRow

router = APIRouter(tags=["channel connections"])
ConnectionId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]


class ConnectionCreate(BaseModel):
    """A shop account to connect. `credentials` are write-only (sealed at rest)."""

    model_config = ConfigDict(extra="forbid")

    connection_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    channel: str = Field(min_length=1, max_length=32)
    base_url: str | None = Field(default=None, max_length=500)
    credentials: dict[str, str]
    options: dict[str, Any] = Field(default_factory=dict)


class ConnectionView(BaseModel):
    """A connection as the API shows it: never its credentials."""

    connection_id: str
    channel: str
    base_url: str
    shop_domain: str
    status: str
    options: dict[str, Any]
    created_at: datetime
    health: dict[str, Any]


class ListingView(BaseModel):
    """A shop item and the SKU it is mapped to (None: unmapped)."""

    listing_id: str
    inventory_item_id: str
    parent_id: str | None
    title: str
    shop_sku: str | None
    barcode: str | None
    sku: str | None
    mapped_by: str | None


class ListingMapping(BaseModel):
    """Map a listing to one of our SKUs by hand; null returns it to automatic mapping."""

    model_config = ConfigDict(extra="forbid")

    sku: str | None = Field(min_length=1, max_length=64)


async def _view(session: Any, row: ChannelConnection) -> ConnectionView:
    options = ConnectionOptions.model_validate(row.options or {}).model_dump(mode="json")
    return ConnectionView(
        connection_id=row.connection_id,
        channel=row.channel,
        base_url=row.base_url,
        shop_domain=row.shop_domain,
        status=row.status,
        options=options,
        created_at=row.created_at,
        health=await service.health(session, row),
    )


def _listing(row: ShopListingRow) -> ListingView:
    return ListingView(
        listing_id=row.listing_id,
        inventory_item_id=row.inventory_item_id,
        parent_id=row.parent_id,
        title=row.title,
        shop_sku=row.shop_sku,
        barcode=row.barcode,
        sku=row.sku,
        mapped_by=row.mapped_by,
    )


@router.post(
    "/v1/channel-connections",
    status_code=201,
    response_model=ConnectionView,
    dependencies=[Depends(require("connections:admin"))],
    responses={409: {}, 422: {}},
)
async def create_connection(
    body: ConnectionCreate,
    sessions: SessionsDep,
    session: SessionDep,
    box: BoxDep,
    client: TemporalDep,
    settings: SettingsDep,
) -> ConnectionView:
    """Connect a Shopify store or WooCommerce site, and schedule its syncs."""
    spec = ConnectionSpec(
        body.connection_id, body.channel, body.base_url, body.credentials, body.options
    )
    row = await service.connect(sessions, box, spec)
    options = ConnectionOptions.model_validate(row.options or {})
    await shop_sync.ensure_schedules(client, settings, row.connection_id, row.channel, options)
    return await _view(session, row)


@router.get(
    "/v1/channel-connections",
    response_model=list[ConnectionView],
    dependencies=[Depends(require("connections:read"))],
)
async def list_connections(session: SessionDep) -> list[ConnectionView]:
    """Connected shops with their health: last sync, pull and push, last error, dead letters."""
    return [await _view(session, row) for row in await service.list_connections(session)]


@router.get(
    "/v1/channel-connections/{connection_id}",
    response_model=ConnectionView,
    dependencies=[Depends(require("connections:read"))],
    responses={404: {}},
)
async def get_connection(connection_id: ConnectionId, session: SessionDep) -> ConnectionView:
    """One connection."""
    return await _view(session, await service.get_connection(session, connection_id))


@router.delete(
    "/v1/channel-connections/{connection_id}",
    status_code=204,
    dependencies=[Depends(require("connections:admin"))],
    responses={404: {}},
)
async def delete_connection(
    connection_id: ConnectionId, sessions: SessionsDep, client: TemporalDep, settings: SettingsDep
) -> None:
    """Disconnect: credentials forgotten, syncs stopped; its orders stay."""
    await service.disconnect(sessions, connection_id)
    await shop_sync.drop_schedules(client, settings, connection_id)


@router.post(
    "/v1/channel-connections/{connection_id}/sync",
    dependencies=[Depends(require("connections:sync"))],
    responses={202: {}, 404: {}, 502: {}},
)
async def sync_connection(
    connection_id: ConnectionId,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
    orders: Annotated[bool, Query(description="also pull orders changed since the last pull")] = (
        False
    ),
) -> JSONResponse:
    """Read the shop's catalogue into the listing map (and subscribe its webhooks); 200 with
    the counts, or 202 with the workflow id when it takes longer than a minute."""
    row = await service.get_connection(session, connection_id)
    body: dict[str, Any] = {}
    for kind in ("listings", "orders") if orders else ("listings",):
        try:
            workflow_id, result = await shop_sync.sync_now(
                client, settings, row.connection_id, row.channel, kind
            )
        except WorkflowFailureError as err:
            inner = getattr(err.cause, "cause", None)
            message = getattr(inner, "message", None) or str(err.cause or err)
            raise ApiError(502, "shop_refused", f"{kind} sync failed: {message}") from err
        if result is None:
            return JSONResponse({"status": "running", "workflow_id": workflow_id}, 202)
        body[kind] = result.model_dump(mode="json", exclude_none=True)
    return JSONResponse({"status": "done", **body})


@router.get(
    "/v1/channel-connections/{connection_id}/listings",
    response_model=list[ListingView],
    dependencies=[Depends(require("connections:read"))],
    responses={404: {}},
)
async def list_listings(
    connection_id: ConnectionId,
    session: SessionDep,
    mapped: Annotated[bool | None, Query(description="only mapped (true) or unmapped (false)")] = (
        None
    ),
) -> list[ListingView]:
    """The shop's items and the SKU each is mapped to; `mapped=false` lists what needs a hand."""
    await service.get_connection(session, connection_id)
    return [_listing(r) for r in await service.list_listings(session, connection_id, mapped=mapped)]


@router.put(
    "/v1/channel-connections/{connection_id}/listings/{listing_id}",
    response_model=ListingView,
    dependencies=[Depends(require("connections:sync"))],
    responses={404: {}, 422: {}},
)
async def map_listing(
    connection_id: ConnectionId,
    listing_id: Annotated[str, Path(min_length=1, max_length=128)],
    body: ListingMapping,
    sessions: SessionsDep,
) -> ListingView:
    """Map a listing to a SKU by hand (kept across syncs); its stock is pushed at once."""
    return _listing(await service.map_listing(sessions, connection_id, listing_id, body.sku))
