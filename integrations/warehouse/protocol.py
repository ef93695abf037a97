"""What activities need from a warehouse management system: release, cancel, status."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

EventType = Literal["picked", "packed", "shipped"]
ReleaseStatus = Literal["acknowledged", "picked", "packed", "shipped", "cancelled"]


class ReleaseLine(BaseModel):
    """One order line to pick."""

    line_id: str
    sku: str
    quantity: int = Field(gt=0)


class ReleaseAck(BaseModel):
    """The WMS accepted the release."""

    release_id: str
    shipment_id: str
    status: Literal["acknowledged"] = "acknowledged"
    released_at: datetime


class WarehouseStatus(BaseModel):
    """Where a released shipment stands in the building."""

    shipment_id: str
    release_id: str
    location_id: str
    status: ReleaseStatus
    released_at: datetime
    picked_at: datetime | None = None
    packed_at: datetime | None = None
    shipped_at: datetime | None = None
    cancelled_at: datetime | None = None


class WarehouseEvent(BaseModel):
    """A fulfilment event the WMS reports back (as a real one would call our API)."""

    shipment_id: str
    workflow_id: str
    order_id: str
    location_id: str
    type: EventType
    at: datetime


class Warehouse(Protocol):
    """A WMS that picks, packs and ships released shipments."""

    async def release(
        self,
        *,
        idempotency_key: str,
        shipment_id: str,
        order_id: str,
        workflow_id: str,
        location_id: str,
        lines: Sequence[ReleaseLine | Mapping[str, Any]],
    ) -> ReleaseAck:
        """Hand a shipment to the building; the same key (or shipment) acknowledges again."""
        ...

    async def cancel_release(self, *, shipment_id: str) -> bool:
        """Stop a release: True if cancelled (now or before), False if never released.

        Raises `integrations.warehouse.errors.AlreadyShipped` once the parcel has left.
        """
        ...

    async def status(self, shipment_id: str) -> WarehouseStatus | None:
        """The shipment's progress, or None if it was never released."""
        ...
