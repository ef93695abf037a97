"""What an order workflow knows at any moment: the query result and the read-model snapshot."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field

from domain.models import Address, CanonicalOrder
from domain.states import OrderStatus

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


class PaymentEntry(BaseModel):
    """One gateway operation as shown on the order."""

    kind: Literal["authorization", "capture", "void", "refund"]
    amount: Decimal
    status: str
    reference: str = ""


class PaymentState(BaseModel):
    """The order's money: authorized, captured, refunded."""

    authorization_id: str | None = None
    authorized: Decimal = Decimal("0")
    captured: Decimal = Decimal("0")
    refunded: Decimal = Decimal("0")
    voided: bool = False
    entries: list[PaymentEntry] = Field(default_factory=list)


class Reservation(BaseModel):
    """Units held for a line at a location."""

    line_id: str
    sku: str
    location_id: str
    quantity: int


class TimelineEvent(BaseModel):
    """One entry of the order timeline; `key` makes its projection idempotent."""

    key: str
    at: datetime
    type: str
    detail: dict[str, Any] = Field(default_factory=dict)


class OrderSnapshot(BaseModel):
    """What the read model shows of an order; `version` orders concurrent writes."""

    order_id: str
    version: int
    status: str
    hold: bool
    failure_reason: str | None
    shipments: list[dict[str, Any]]
    payments: list[dict[str, Any]]
    routing: dict[str, Any]
    # Only when it changed: it lives in the order's document, which costs a read to rewrite.
    ship_to: dict[str, Any] | None = None
    # Timeline events not projected yet.
    events: list[TimelineEvent] = Field(default_factory=list)


class OrderState(BaseModel):
    """Everything the order workflow holds: returned by the `state` query."""

    order_id: str
    workflow_id: str
    order: CanonicalOrder
    status: OrderStatus = OrderStatus.RECEIVED
    status_before_hold: OrderStatus | None = None
    hold_reason: str | None = None
    cancel_reason: str | None = None
    failure_reason: str | None = None
    shipments: list[ShipmentState] = Field(default_factory=list)
    payment: PaymentState = Field(default_factory=PaymentState)
    reservations: list[Reservation] = Field(default_factory=list)
    routing: dict[str, Any] = Field(default_factory=dict)
    excluded_locations: list[str] = Field(default_factory=list)
    events: list[TimelineEvent] = Field(default_factory=list)
    version: int = 0

    @property
    def ship_to(self) -> Address:
        """Where the order goes (may change until a label is bought)."""
        return self.order.ship_to

    @property
    def on_hold(self) -> bool:
        """Whether ops has paused the order."""
        return self.status == OrderStatus.ON_HOLD

    def shipment(self, shipment_id: str) -> ShipmentState | None:
        """Find a shipment by id."""
        return next((s for s in self.shipments if s.shipment_id == shipment_id), None)

    def any_label(self) -> ShipmentState | None:
        """The first shipment with a live label, if any."""
        return next((s for s in self.shipments if s.label_id and not s.label_voided), None)

    def any_shipped(self) -> ShipmentState | None:
        """The first shipment that left its location, if any."""
        shipped = {"shipped", "in_transit", "out_for_delivery", "delivered", "exception"}
        return next((s for s in self.shipments if s.status in shipped), None)
