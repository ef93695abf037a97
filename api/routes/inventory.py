"""`/v1/inventory` and `/v1/locations`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import structlog
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from api.deps import SessionDep, SessionsDep, TemporalDep, require
from api.errors import ApiError
from domain.atp import atp, channel_atp
from services import inventory as stock
from store import demand
from store.channel_tables import ChannelBuffer
from store.tables import Location, Sku, StockLevel

log = structlog.get_logger(__name__)
router = APIRouter(tags=["inventory"])


class LocationStock(BaseModel):
    location_id: str
    on_hand: int
    reserved: int
    safety_stock: int
    inbound: int
    available: int


class InventoryView(BaseModel):
    sku: str
    available: int
    locations: list[LocationStock]
    # Units promised to orders at intake that no location holds for them yet, and what the
    # network can still promise after them (what the channels are shown).
    promised: int = 0
    network_available: int = 0
    channel: str | None = None
    # What the channel may sell: `available` less its buffer (only with `?channel=`).
    channel_available: int | None = None


class Adjustment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: str = Field(min_length=1, max_length=64)
    location_id: str = Field(min_length=1, max_length=64)
    delta: int = Field(ge=-1_000_000, le=1_000_000)
    reason: str = Field(min_length=1, max_length=200)


class Receipt(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: str = Field(min_length=1, max_length=64)
    location_id: str = Field(min_length=1, max_length=64)
    quantity: int = Field(gt=0, le=1_000_000)
    reference: str = Field(default="receipt", min_length=1, max_length=200)


class Inbound(Receipt):
    expected_at: datetime | None = None


class LocationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    location_id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["warehouse", "store", "3pl", "dropship"] = "warehouse"
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    postal_code: str = Field(default="", max_length=20)
    region: str = Field(default="", max_length=64)
    country: str = Field(default="US", pattern=r"^[A-Z]{2}$")
    daily_capacity: int = Field(default=1000, ge=0, le=1_000_000)
    active: bool = True


class LocationOut(LocationIn):
    model_config = ConfigDict(extra="ignore", from_attributes=True)


async def inventory_view(session: SessionDep, sku: str) -> InventoryView:
    """Per-location levels and the total available to promise."""
    if await session.get(Sku, sku) is None:
        raise ApiError(404, "not_found", f"no SKU {sku!r}")
    levels = (
        await session.scalars(
            select(StockLevel).where(StockLevel.sku == sku).order_by(StockLevel.location_id)
        )
    ).all()
    rows = [
        LocationStock(
            location_id=lv.location_id,
            on_hand=lv.on_hand,
            reserved=lv.reserved,
            safety_stock=lv.safety_stock,
            inbound=lv.inbound,
            available=atp(lv.on_hand, lv.reserved, lv.safety_stock),
        )
        for lv in levels
    ]
    available = sum(r.available for r in rows)
    promised = (await demand.open_by_sku(session, [sku])).get(sku, 0)
    return InventoryView(
        sku=sku,
        available=available,
        locations=rows,
        promised=promised,
        network_available=demand.network_atp(available, promised),
    )


@router.get(
    "/v1/inventory/{sku}",
    response_model=InventoryView,
    dependencies=[Depends(require("inventory:read"))],
)
async def get_inventory(
    sku: str,
    session: SessionDep,
    channel: Annotated[str | None, Query(max_length=32, description="apply its buffer")] = None,
) -> InventoryView:
    """Stock of one SKU across locations; with `?channel=` also what that channel may sell."""
    view = await inventory_view(session, sku)
    if channel is None:
        return view
    buffers = {
        b.sku: b
        for b in await session.scalars(
            select(ChannelBuffer).where(
                ChannelBuffer.channel == channel,
                ChannelBuffer.sku.in_([sku, "*"]),
                ChannelBuffer.enabled.is_(True),
            )
        )
    }
    buffer = buffers.get(sku) or buffers.get("*")
    units, pct = (buffer.buffer_units, buffer.buffer_pct) if buffer else (0, 0)
    return view.model_copy(
        update={
            "channel": channel,
            "channel_available": channel_atp(view.network_available, units, pct),
        }
    )


@router.post(
    "/v1/inventory/adjustments",
    response_model=InventoryView,
    dependencies=[Depends(require("inventory:write"))],
)
async def adjust_inventory(
    body: Adjustment, sessions: SessionsDep, client: TemporalDep
) -> InventoryView:
    """Change on-hand (count, damage, found units); new units go to backorders, oldest first."""
    await stock.adjust(
        sessions,
        client,
        sku=body.sku,
        location_id=body.location_id,
        delta=body.delta,
        reason=body.reason,
    )
    async with sessions() as session:
        return await inventory_view(session, body.sku)


@router.post(
    "/v1/inventory/receipts",
    response_model=InventoryView,
    dependencies=[Depends(require("inventory:write"))],
)
async def receive_stock(body: Receipt, sessions: SessionsDep, client: TemporalDep) -> InventoryView:
    """Stock arrived at a location (inbound fulfilled); it serves backorders, oldest first."""
    await stock.receive(
        sessions,
        client,
        sku=body.sku,
        location_id=body.location_id,
        quantity=body.quantity,
        reference=body.reference,
    )
    async with sessions() as session:
        return await inventory_view(session, body.sku)


@router.post(
    "/v1/inventory/inbound",
    response_model=InventoryView,
    dependencies=[Depends(require("inventory:write"))],
)
async def expect_stock(body: Inbound, sessions: SessionsDep) -> InventoryView:
    """Stock on its way (purchase order or transfer) with its expected date."""
    await stock.expect(
        sessions,
        sku=body.sku,
        location_id=body.location_id,
        quantity=body.quantity,
        expected_at=body.expected_at,
        reference=body.reference,
    )
    async with sessions() as session:
        return await inventory_view(session, body.sku)


@router.get(
    "/v1/locations",
    response_model=list[LocationOut],
    dependencies=[Depends(require("locations:read"))],
)
async def list_locations(session: SessionDep) -> list[LocationOut]:
    """Every location."""
    rows = (await session.scalars(select(Location).order_by(Location.location_id))).all()
    return [LocationOut.model_validate(r) for r in rows]


@router.post(
    "/v1/locations",
    response_model=LocationOut,
    status_code=201,
    dependencies=[Depends(require("locations:write"))],
)
async def create_location(body: LocationIn, sessions: SessionsDep) -> LocationOut:
    """Add a location."""
    try:
        async with sessions.begin() as session:
            session.add(Location(**body.model_dump()))
    except IntegrityError as err:
        raise ApiError(
            409, "conflict", f"location {body.location_id!r} exists", "location_id"
        ) from err
    return LocationOut.model_validate(body.model_dump())


@router.put(
    "/v1/locations/{location_id}",
    response_model=LocationOut,
    dependencies=[Depends(require("locations:write"))],
)
async def update_location(location_id: str, body: LocationIn, sessions: SessionsDep) -> LocationOut:
    """Change a location (capacity, active, coordinates)."""
    if body.location_id != location_id:
        raise ApiError(422, "validation_error", "must match the path", "location_id")
    async with sessions.begin() as session:
        row = await session.get(Location, location_id)
        if row is None:
            raise ApiError(404, "not_found", f"no location {location_id!r}")
        for key, value in body.model_dump().items():
            setattr(row, key, value)
    return LocationOut.model_validate(body.model_dump())
