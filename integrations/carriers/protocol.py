"""What activities need from a carrier: rate quotes, labels, voids, hand-over and tracking."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

Service = Literal["ground", "standard", "express", "overnight"]
TrackingStatus = Literal[
    "label_created", "in_transit", "out_for_delivery", "delivered", "exception",
    "returned_to_sender",
]  # fmt: skip


class Address(BaseModel):
    """A postal address (ship-from or ship-to); validation is the carrier's job."""

    name: str = ""
    line1: str = ""
    line2: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = "US"


class Parcel(BaseModel):
    """Outer dimensions in centimetres, used for dimensional weight."""

    length_cm: float = Field(gt=0)
    width_cm: float = Field(gt=0)
    height_cm: float = Field(gt=0)


class RateRequest(BaseModel):
    """What is shipped from where to where."""

    ship_from: Address
    ship_to: Address
    weight_grams: int = Field(gt=0)
    parcel: Parcel | None = None


class Rate(BaseModel):
    """One quoted service; pass it back unchanged to `buy_label`."""

    carrier: str
    service: Service
    amount: Decimal
    currency: str = "USD"
    transit_days: int
    rate_id: str
    description: str = ""


class Label(BaseModel):
    """A purchased label with its printable documents."""

    # Bytes travel as base64 in JSON (Temporal payloads, API responses).
    model_config = ConfigDict(ser_json_bytes="base64", val_json_bytes="base64")

    label_id: str
    carrier: str
    service: Service
    tracking_number: str
    cost: Decimal
    currency: str = "USD"
    pdf: bytes
    zpl: str
    created_at: datetime
    reference: str = ""


class LabelVoid(BaseModel):
    """Confirmation that a label was voided and its cost credited back."""

    label_id: str
    status: Literal["voided"] = "voided"
    refund_amount: Decimal
    voided_at: datetime


class TrackingEvent(BaseModel):
    """One carrier scan."""

    at: datetime
    status: TrackingStatus
    description: str
    location: str = ""


class TrackingInfo(BaseModel):
    """Where a parcel is; `events` are oldest first."""

    tracking_number: str
    carrier: str
    status: TrackingStatus
    events: list[TrackingEvent]
    estimated_delivery: datetime | None = None
    delivered_at: datetime | None = None
    # For status "exception": failed_attempt, lost, ... (None otherwise).
    exception_reason: str | None = None


class Carrier(Protocol):
    """A carrier account. Raises the errors of `integrations.carriers.errors`."""

    name: str

    async def rates(self, req: RateRequest) -> list[Rate]:
        """Quotes for every service to this destination (`InvalidAddress` if it cannot go)."""
        ...

    async def buy_label(
        self, *, idempotency_key: str, rate: Rate, req: RateRequest, reference: str
    ) -> Label:
        """Buy the label for a quoted rate; the same key returns the same label."""
        ...

    async def void_label(self, *, label_id: str) -> LabelVoid:
        """Void an unused label (idempotent); `LabelAlreadyUsed` once it has been scanned."""
        ...

    async def hand_over(self, *, label_id: str, idempotency_key: str) -> None:
        """The parcel left the building with this label (manifest/SCAN form); tracking starts
        with the carrier's acceptance scan; idempotent.

        `UnknownLabel` for a label this carrier never sold, `LabelVoided` for a voided one.
        """
        ...

    async def track(self, tracking_number: str) -> TrackingInfo:
        """Current status and scan history (`UnknownTracking` if the number is unknown)."""
        ...
