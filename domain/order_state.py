"""What an order workflow knows at any moment: the query result and the read-model snapshot."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field

from domain.models import Address, CanonicalOrder
from domain.returns import ReturnsLedger
from domain.shipments import (
    FULFILMENT_EVENTS as FULFILMENT_EVENTS,
)
from domain.shipments import (
    SHIPPED_STATES,
    ShipmentLine,
    ShipmentState,
    units_by_line,
)
from domain.shipments import (
    RateChoice as RateChoice,
)
from domain.shipments import (
    ShipmentStatus as ShipmentStatus,
)
from domain.states import OrderStatus


class PaymentEntry(BaseModel):
    """One gateway operation as shown on the order (for an invoice order: the receivable, an
    invoice per shipment, credit notes; no gateway involved)."""

    kind: Literal[
        "authorization",
        "increment",
        "capture",
        "void",
        "refund",
        "receivable",
        "invoice",
        "credit_note",
    ]
    amount: Decimal
    status: str
    reference: str = ""
    # An invoice's number and when it is due.
    document: str | None = None
    due_at: datetime | None = None


class PaymentState(BaseModel):
    """The order's money: authorized, captured, refunded."""

    authorization_id: str | None = None
    authorized: Decimal = Decimal("0")
    captured: Decimal = Decimal("0")
    refunded: Decimal = Decimal("0")
    # Refunded because an order change left less to pay than was captured (not a return).
    change_refunds: Decimal = Decimal("0")
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
    # After an order change: the order's lines, shipping, tax and total as they are now.
    order_change: dict[str, Any] | None = None


class OrderProgress(BaseModel):
    """Where the process stands: the flags the process and its handlers share."""

    confirmed: bool = False
    # Ops asked to cancel; `cancels_settled` counts cancels whose effect is done or refused.
    cancel_requested: bool = False
    cancels_settled: int = 0
    # Why the last cancel stopped nothing (everything had shipped by the time it took effect).
    cancel_refusal: str | None = None
    # A shipment failed for good: its siblings stop too.
    aborted: bool = False
    # The run is over: handlers refuse from here on.
    finished: bool = False
    # Ops asked to route the unshipped work again; the count moves when a plan is made.
    reroute_pending: bool = False
    routing_passes: int = 0
    # Stock arrived for a backordered line (signal from the inventory service).
    stock_signal: bool = False
    # Some lines wait for stock while others are under way (told to the customer once).
    partly_backordered: bool = False
    # Taken in unpaid: the shop's payment arrived (signal).
    paid_at_shop: bool = False
    # An order change (line cancel or edit) is under way; `change_seq` counts those asked
    # for (each has its own idempotency keys), `changes_applied` those that took effect.
    change_pending: bool = False
    change_seq: int = 0
    changes_applied: int = 0
    # Every line has shipped or been cancelled: nothing is left to change.
    fulfilment_over: bool = False
    shipment_seq: int = 0
    # Read-model bookkeeping: events already projected, the address the read model holds.
    projected_events: int = 0
    projected_ship_to: Address | None = None
    projected_changes: int = 0


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
    # Units taken off the order without shipping (a cancel that came after part had shipped).
    cancelled_lines: list[ShipmentLine] = Field(default_factory=list)
    # Units no location could supply yet (backordered).
    short_lines: list[ShipmentLine] = Field(default_factory=list)
    progress: OrderProgress = Field(default_factory=OrderProgress)
    returns: ReturnsLedger = Field(default_factory=ReturnsLedger)
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
        return next((s for s in self.shipments if s.has_shipped), None)

    def open_shipments(self) -> list[ShipmentState]:
        """Shipments neither shipped nor cancelled."""
        return [s for s in self.shipments if s.is_open]

    def open_lines(self) -> list[ShipmentLine]:
        """Units of the order in no live shipment and not cancelled: still to allocate."""
        placed = units_by_line(s for s in self.shipments if s.status != "cancelled")
        gone: dict[str, int] = {}
        for part in self.cancelled_lines:
            gone[part.line_id] = gone.get(part.line_id, 0) + part.quantity
        out = []
        for line in self.order.lines:
            left = line.quantity - placed.get(line.line_id, 0) - gone.get(line.line_id, 0)
            if left > 0:
                out.append(ShipmentLine(line_id=line.line_id, sku=line.sku, quantity=left))
        return out

    def all_shipped(self) -> bool:
        """Every live shipment left and nothing is waiting to be allocated."""
        live = [s for s in self.shipments if s.status != "cancelled"]
        return bool(live) and all(s.status in SHIPPED_STATES for s in live)
