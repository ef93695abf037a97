"""Inputs and outputs of activities: one pydantic model each, so fields can be added later.

Kept free of I/O imports: workflows import this module through the sandbox.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field

from domain.forecast import ForecastParams
from domain.models import Address, CanonicalOrder
from domain.order_state import OrderSnapshot, RateChoice, Reservation, ShipmentLine
from domain.returns import RmaLine


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


class IncrementInput(BaseModel):
    """Raise the order's authorization to `total` (an edit raised the order's total)."""

    idempotency_key: str
    order_id: str
    authorization_id: str
    total: Decimal


# ---- invoice payment (B2B) -------------------------------------------------------------------


class OpenReceivableInput(BaseModel):
    """An invoice order was taken: record what the customer is expected to owe."""

    order_id: str
    channel: str
    customer_name: str
    customer_email: str
    currency: str
    terms_days: int
    amount: Decimal


class InvoiceLine(BaseModel):
    """One line of an invoice: units of an order line at its unit price."""

    line_id: str
    sku: str
    quantity: int
    unit_price: Decimal


class InvoiceInput(BaseModel):
    """Issue an invoice (a shipment shipped) or a credit note (a refund); `document_id` makes
    it once only, and an invoice's PDF is stored for `GET /v1/shipments/{id}/invoice`."""

    document_id: str
    order_id: str
    kind: Literal["invoice", "credit_note"]
    # The shipment an invoice bills; what a credit note refunds (an RMA, a parcel, a change).
    reference: str
    amount: Decimal
    currency: str
    issued_at: datetime
    due_at: datetime | None = None
    terms_days: int = 0
    order_number: str = ""
    bill_to: Address | None = None
    customer_email: str = ""
    lines: list[InvoiceLine] = Field(default_factory=list)


class AdjustReceivableInput(BaseModel):
    """An order change: the order is now expected to invoice `expected` in all."""

    order_id: str
    expected: Decimal


class ReleaseReceivableInput(BaseModel):
    """What the order will never invoice (it shipped less, or stopped) leaves the receivable."""

    order_id: str
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
    # Where the order may ship from at all (profile, exclusions): a backordered line waits
    # for stock at these.
    eligible_locations: list[str] = Field(default_factory=list)


class ReserveInput(BaseModel):
    """Hold the allocations (each under its location's shipment) and queue the short lines."""

    order_id: str
    allocations: list[Reservation]
    # location_id -> the shipment (hold) its units belong to; absent: the legacy '' hold.
    shipment_ids: dict[str, str] = Field(default_factory=dict)
    # With `queue`: the order's place in the backorder queue becomes exactly `short`.
    queue: bool = False
    workflow_id: str = ""
    short: list[ShipmentLine] = Field(default_factory=list)
    eligible_locations: list[str] = Field(default_factory=list)


class ReserveResult(BaseModel):
    """All allocations reserved, or none and the ones that lost a race."""

    reserved: bool
    short: list[Reservation] = Field(default_factory=list)


class ReleaseStockInput(BaseModel):
    order_id: str
    # Both empty means every held reservation of the order.
    location_ids: list[str] = Field(default_factory=list)
    hold_ids: list[str] = Field(default_factory=list)
    reason: str = ""
    # The order stops waiting for stock (it ended, or its open lines were cancelled).
    leave_queue: bool = False


class TrimLinesInput(BaseModel):
    """An order change: each line keeps at most `keep[line_id]` units outside its shipments."""

    order_id: str
    keep: dict[str, int]
    reason: str = ""


class CommitStockInput(BaseModel):
    order_id: str
    location_id: str
    line_ids: list[str]
    # The shipment whose hold leaves; None for orders started before holds had ids.
    hold_id: str | None = None


class BuyLabelInput(BaseModel):
    """A label between a location and the customer: outbound, or a prepaid return."""

    idempotency_key: str
    order_id: str
    # The shipment, or the RMA for a return label: its documents are stored under this id.
    shipment_id: str
    location_id: str
    # The customer's address: where an outbound parcel goes, where a return comes from.
    ship_to: Address
    service: str
    lines: list[ShipmentLine]
    weights: dict[str, int]
    direction: Literal["outbound", "return"] = "outbound"


class LabelResult(BaseModel):
    label_id: str
    carrier: str
    service: str
    tracking_number: str
    label_url: str
    rate: RateChoice
    alternatives: list[RateChoice]


class HandOverInput(BaseModel):
    """The parcel left its location: the carrier takes it (manifest), tracking starts."""

    idempotency_key: str
    order_id: str
    shipment_id: str
    carrier: str
    label_id: str


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


class SkuPricesInput(BaseModel):
    """SKUs whose catalogue price an exchange needs."""

    skus: list[str]


class RecordReturnInput(BaseModel):
    """A snapshot of an RMA for the read model; `version` orders late retries."""

    rma_id: str
    order_id: str
    workflow_id: str
    status: str
    location_id: str
    carrier: str = ""
    tracking_number: str = ""
    label_url: str = ""
    refund_amount: Decimal | None = None
    replacement_shipment_id: str | None = None
    version: int
    lines: list[RmaLine]


class DispositionInput(BaseModel):
    """Move the inspected units of an RMA: restock, refurbish, inspect or write off."""

    rma_id: str
    order_id: str
    location_id: str
    lines: list[RmaLine]
    # Which receipt of the RMA (a parcel): each moves its own units, once.
    receipt: int = 1


class SweepInput(BaseModel):
    """Look for order runs that ended abnormally within `lookback_hours` (real time)."""

    task_queue: str
    lookback_hours: float = Field(default=7 * 24, gt=0)
    limit: int = Field(default=500, ge=1)


class SweepResult(BaseModel):
    """Orders whose abandoned holds were released, what could not be undone, and the drafts
    that expired."""

    swept: list[str] = Field(default_factory=list)
    alerts: list[str] = Field(default_factory=list)
    expired_drafts: list[str] = Field(default_factory=list)


# ---- channels ----------------------------------------------------------------------------------


class PullInput(BaseModel):
    """One poll of one channel account."""

    channel: str
    account: str = "default"
    # Where a first poll starts (no cursor yet).
    lookback_hours: float = Field(default=24, gt=0)


class PullResult(BaseModel):
    """What one poll found."""

    fetched: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    cancelled: int = 0
    ignored: int = 0
    cursor: str = ""


class StockChanged(BaseModel):
    """SKUs whose availability may have changed, and when we learnt it."""

    skus: list[str]
    at: datetime
    # When each SKU first changed, where known (the relay batches older changes): honest lag.
    since: dict[str, datetime] = Field(default_factory=dict)
    # Scarce SKUs (shared out between channels): pushed before the rest when the rate limit
    # makes SKUs queue, as the last units are the ones a channel must not oversell.
    urgent: list[str] = Field(default_factory=list)


# Documented limits, as (burst, sustained calls per second): Shopify REST is a leaky bucket of
# 40 refilling at 2/s; the marketplaces' inventory APIs are slower.
RATE_LIMITS: dict[str, tuple[int, float]] = {
    "shopify": (40, 2.0),
    "woocommerce": (10, 5.0),
    "amazon": (10, 5.0),
    "ebay": (10, 1.0),
    "etsy": (10, 5.0),
    "walmart": (10, 1.0),
}


class InventorySyncInput(BaseModel):
    """A channel's sync workflow: its rate limit, coalescing window, and carried-over state."""

    channel: str
    burst: int = Field(default=10, ge=1)
    per_second: float = Field(default=1.0, gt=0)
    # Long enough to gather a burst's changes into one push, short enough that a channel
    # hears of a sale within a second (the flash-sale target).
    window_s: float = Field(default=0.25, ge=0)
    # Carried across continue-as-new: what is queued and the bucket's level, and what the
    # `state` query shows (a run on the dev server lasts only ~60 events).
    pending: dict[str, datetime] = Field(default_factory=dict)
    tokens: float | None = None
    refilled_at: datetime | None = None
    pushes: int = 0
    last_pushed: dict[str, int] = Field(default_factory=dict)
    urgent: list[str] = Field(default_factory=list)

    @classmethod
    def for_channel(cls, channel: str, **overrides: object) -> InventorySyncInput:
        """Defaults for a channel from its documented rate limit."""
        burst, per_second = RATE_LIMITS.get(channel, (10, 1.0))
        return cls.model_validate(
            {"channel": channel, "burst": burst, "per_second": per_second, **overrides}
        )


class PushInventoryInput(BaseModel):
    """Availability to push to one channel: SKU -> when its change was first queued."""

    channel: str
    enqueued_at: dict[str, datetime]


class PushInventoryResult(BaseModel):
    """Levels sent, and SKUs skipped because the channel already shows that level."""

    pushed: dict[str, int] = Field(default_factory=dict)
    unchanged: int = 0


# ---- forecasting -------------------------------------------------------------------------------


class ComputeForecastsInput(BaseModel):
    """A run's parameters and the moment it plans from (the workflow's clock, for replays)."""

    params: ForecastParams
    as_of: datetime


class ComputeForecastsResult(BaseModel):
    """What a run wrote."""

    skus: int
    reorder_now: list[str]


# The projection's input is the read model's snapshot itself.
ProjectOrderInput = OrderSnapshot


# ---- connected shops ---------------------------------------------------------------------------


class ShopSyncInput(BaseModel):
    """One run against a connected shop: refresh its listing map, or pull its orders."""

    connection_id: str
    kind: Literal["listings", "orders"] = "listings"
    # Where the shop should deliver its webhooks (our API's public URL).
    callback_url: str = ""


class ShopSyncResult(BaseModel):
    """What a listing sync found (and subscribed), or what an order pull took in."""

    listings: int = 0
    mapped: int = 0
    unmapped: int = 0
    newly_mapped: int = 0
    locations: list[str] = Field(default_factory=list)
    webhooks: list[str] = Field(default_factory=list)
    orders: PullResult | None = None


class ShopOrderRef(BaseModel):
    """Which shop sold an order, and its id there."""

    connection_id: str
    order_id: str
    external_id: str


class ShopFulfilmentInput(ShopOrderRef):
    """A parcel left: create the shop's fulfilment with carrier and tracking."""

    idempotency_key: str
    shipment_id: str
    carrier: str
    tracking_number: str
    tracking_url: str
    # (the shop's line id, units) of this parcel.
    lines: list[tuple[str, int]] = Field(default_factory=list)
    last_parcel: bool = False


class ShopMessageInput(ShopOrderRef):
    """A cancellation (`reason`) or a note (`text`) to push to the shop."""

    idempotency_key: str
    text: str


class ShopLinesInput(ShopOrderRef):
    """Units of some lines were cancelled (the order goes on): the shop takes them off."""

    idempotency_key: str
    # (line id, units taken off); our line ids of a shop's order are its line item ids.
    lines: list[tuple[str, int]] = Field(default_factory=list)
    reason: str = ""
