"""One parcel from one location, as the order (or an exchange) knows it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

ShipmentStatus = Literal[
    "pending",
    "label_purchased",
    "released",
    "picked",
    "packed",
    "shipped",
    "in_transit",
    "out_for_delivery",
    "delivered",
    "exception",
    "cancelled",
]
FULFILMENT_EVENTS = ("picked", "packed", "shipped")
# A shipment in one of these has left its location: it can be tracked or returned, not stopped.
SHIPPED_STATES: frozenset[str] = frozenset(
    {"shipped", "in_transit", "out_for_delivery", "delivered", "exception"}
)


class ShipmentLine(BaseModel):
    """Part of an order line going out in one shipment."""

    line_id: str
    sku: str
    quantity: int


class RateChoice(BaseModel):
    """A carrier rate: the one bought and the ones it beat."""

    carrier: str
    service: str
    amount: Decimal
    currency: str = "USD"
    transit_days: int = 0


class ShipmentState(BaseModel):
    """One parcel from one location."""

    shipment_id: str
    location_id: str
    lines: list[ShipmentLine]
    status: ShipmentStatus = "pending"
    carrier: str | None = None
    service: str | None = None
    tracking_number: str | None = None
    label_id: str | None = None
    label_url: str | None = None
    rate: RateChoice | None = None
    rate_alternatives: list[RateChoice] = Field(default_factory=list)
    released: bool = False
    capture_amount: Decimal = Decimal("0")
    captured: bool = False
    label_voided: bool = False
    delivered_at: datetime | None = None
    # The warehouse reported `shipped` and the order accepted it (before stock and money follow).
    shipped_reported: bool = False
    shipped_at: datetime | None = None
    # A release or a withdrawal is under way: a `shipped` report waits for its answer (the
    # warehouse may report before its acknowledgement of the release reached the order).
    releasing: bool = False
    withdrawing: bool = False
    # How many times this shipment was released (each release has its own idempotency key).
    releases: int = 0
    # The order did its part of the parcel leaving: stock committed, carrier told, payment
    # captured, customer told. Undoing the rest of an order waits for this.
    dispatched: bool = False
    cancel_reason: str | None = None

    @property
    def has_shipped(self) -> bool:
        """Whether the parcel left (reported by the warehouse, or further along)."""
        return self.shipped_reported or self.status in SHIPPED_STATES

    @property
    def is_open(self) -> bool:
        """Neither shipped nor cancelled: work the order can still stop or move."""
        return not self.has_shipped and self.status != "cancelled"


def units_by_line(shipments: Iterable[ShipmentState]) -> dict[str, int]:
    """line_id -> units in the given shipments."""
    out: dict[str, int] = {}
    for sh in shipments:
        for part in sh.lines:
            out[part.line_id] = out.get(part.line_id, 0) + part.quantity
    return out


def units_of(lines: Iterable[ShipmentLine]) -> dict[str, int]:
    """line_id -> units in these parts of lines."""
    out: dict[str, int] = {}
    for part in lines:
        out[part.line_id] = out.get(part.line_id, 0) + part.quantity
    return out
