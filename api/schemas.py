"""Response schemas of the HTTP API (requests reuse the domain models)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from domain.models import CanonicalOrder


class OrderRequest(CanonicalOrder):
    """`POST /v1/orders`: the canonical order, and whether to keep it as a draft."""

    draft: bool = Field(
        default=False,
        description="store an editable draft: no stock taken, no payment, no workflow until "
        "`POST /v1/orders/{order_id}/confirm`",
    )

    def canonical(self) -> CanonicalOrder:
        """The order itself (what a workflow takes), without the request's own fields."""
        return CanonicalOrder.model_validate(self.model_dump(exclude={"draft"}))


class OrderAccepted(BaseModel):
    """Answer to `POST /v1/orders` (and to a draft's confirmation)."""

    order_id: str
    workflow_id: str
    status: str


class ShipmentView(BaseModel):
    shipment_id: str
    location_id: str
    carrier: str | None = None
    service: str | None = None
    tracking_number: str | None = None
    status: str
    label_url: str | None = None
    lines: list[dict[str, Any]] = Field(default_factory=list)
    rate: dict[str, Any] | None = None
    rate_alternatives: list[dict[str, Any]] = Field(default_factory=list)
    released: bool = False
    label_voided: bool = False
    captured: bool = False
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    cancel_reason: str | None = None


class PaymentView(BaseModel):
    kind: str
    amount: str
    status: str
    reference: str = ""
    # An invoice's number and due date (orders paid by invoice).
    document: str | None = None
    due_at: datetime | None = None


class EventView(BaseModel):
    at: datetime
    type: str
    detail: dict[str, Any] = Field(default_factory=dict)


class OrderView(BaseModel):
    """An order as the API shows it (from the read model)."""

    order_id: str
    workflow_id: str
    channel: str
    external_id: str
    status: str
    on_hold: bool = False
    failure_reason: str | None = None
    currency: str
    total: str
    customer: dict[str, Any]
    ship_to: dict[str, Any]
    shipping_service: str
    lines: list[dict[str, Any]]
    shipments: list[ShipmentView]
    payments: list[PaymentView]
    routing: dict[str, Any] = Field(default_factory=dict)
    events: list[EventView] = Field(default_factory=list)
    temporal_url: str | None = None
    created_at: datetime
    updated_at: datetime


class OrderSummary(BaseModel):
    order_id: str
    channel: str
    external_id: str
    # The channel's order number as its customers see it ("#1001"); else the external id.
    order_number: str = ""
    status: str
    total: str
    currency: str
    created_at: datetime
    updated_at: datetime


class OrderPage(BaseModel):
    """A page of orders, newest first; pass `next_cursor` back as `cursor`."""

    items: list[OrderSummary]
    next_cursor: str | None = None


class TotalView(BaseModel):
    total: str


class ChangePaymentView(BaseModel):
    """What the payment does for a change: `authorize` (the difference, on the same
    authorization), `capture_less`, `refund`, `collected_by_channel`, `invoice` or `none`."""

    action: str
    amount: str


class ChangeResult(BaseModel):
    """Answer to a line cancel or an edit (with `preview`, what it would do)."""

    order: OrderView
    preview: bool
    currency: str
    before: TotalView
    after: TotalView
    payment: ChangePaymentView
    # Lines whose ordered quantity moves: line_id, sku, before, after.
    lines: list[dict[str, Any]]
    # Shipments taken back and planned again because their contents changed.
    replanned: list[str] = Field(default_factory=list)
