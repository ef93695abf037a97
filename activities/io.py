"""Inputs and outputs of activities: one pydantic model each, so fields can be added later.

Kept free of I/O imports: workflows import this module through the sandbox.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from domain.models import Address, CanonicalOrder
from domain.order_state import OrderSnapshot, RateChoice, Reservation, ShipmentLine


class ValidateOrderInput(BaseModel):
    order_id: str
    order: CanonicalOrder


class ValidatedOrder(BaseModel):
    """SKU weights looked up during validation (routing and rating need them)."""

    weights: dict[str, int]


class ValidateAddressInput(BaseModel):
    order_id: str
    address: Address


class AuthorizeInput(BaseModel):
    idempotency_key: str
    order_id: str
    amount: Decimal
    currency: str
    token: str


class AuthorizeResult(BaseModel):
    authorization_id: str
    amount: Decimal
    status: str


class PaymentOpInput(BaseModel):
    idempotency_key: str
    order_id: str
    authorization_id: str
    amount: Decimal = Decimal("0")


class PaymentOpResult(BaseModel):
    status: str
    amount: Decimal


class RouteInput(BaseModel):
    order_id: str
    channel: str
    ship_to: Address
    lines: list[ShipmentLine]
    weights: dict[str, int]
    exclude_locations: list[str] = Field(default_factory=list)


class RouteResult(BaseModel):
    """Allocations per location plus the recorded decision (inputs, scores, explanation)."""

    allocations: list[Reservation]
    unallocated: list[ShipmentLine]
    decision: dict[str, Any]


class ReserveInput(BaseModel):
    order_id: str
    allocations: list[Reservation]


class ReserveResult(BaseModel):
    """All allocations reserved, or none and the ones that lost a race."""

    reserved: bool
    short: list[Reservation] = Field(default_factory=list)


class ReleaseStockInput(BaseModel):
    order_id: str
    # Empty means every held reservation of the order.
    location_ids: list[str] = Field(default_factory=list)
    reason: str = ""


class CommitStockInput(BaseModel):
    order_id: str
    location_id: str
    line_ids: list[str]


class BuyLabelInput(BaseModel):
    idempotency_key: str
    order_id: str
    shipment_id: str
    location_id: str
    ship_to: Address
    service: str
    lines: list[ShipmentLine]
    weights: dict[str, int]


class LabelResult(BaseModel):
    label_id: str
    carrier: str
    service: str
    tracking_number: str
    label_url: str
    rate: RateChoice
    alternatives: list[RateChoice]


class VoidLabelInput(BaseModel):
    order_id: str
    carrier: str
    label_id: str


class ReleaseToLocationInput(BaseModel):
    idempotency_key: str
    order_id: str
    workflow_id: str
    shipment_id: str
    location_id: str
    lines: list[ShipmentLine]


class CancelReleaseInput(BaseModel):
    order_id: str
    shipment_id: str


class CancelReleaseResult(BaseModel):
    cancelled: bool
    already_shipped: bool = False


class PollTrackingInput(BaseModel):
    order_id: str
    shipment_id: str
    carrier: str
    tracking_number: str


class TrackingEventOut(BaseModel):
    at: datetime
    status: str
    description: str = ""
    location: str = ""


class TrackingResult(BaseModel):
    status: str
    events: list[TrackingEventOut] = Field(default_factory=list)
    delivered_at: datetime | None = None
    exception_reason: str | None = None


class NotifyInput(BaseModel):
    idempotency_key: str
    order_id: str
    kind: str
    to: str
    context: dict[str, Any] = Field(default_factory=dict)


# The projection's input is the read model's snapshot itself.
ProjectOrderInput = OrderSnapshot
