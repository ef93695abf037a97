"""Returns, pure: what may come back, what a return refunds, and what happens to each unit.

No I/O and no clock, so the order and return workflows call these directly.

Refund policy (documented, applied by `refund_amount`):
- a returned unit refunds its unit price plus its share of the order's tax (tax is split in
  proportion to merchandise, as `domain.billing.capture_plan` charged it);
- shipping is refunded only when the return brings back every unit of the order; the last
  return then refunds whatever of the order total is still unrefunded, so the parts add up to
  the total exactly;
- an exchange refunds the price difference (plus its tax share) when the replacement is
  cheaper, nothing when it costs the same; a dearer replacement is refused (it would need a
  new charge).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.dispositions import (
    DEFECT_REASONS as DEFECT_REASONS,
)
from domain.dispositions import (
    DISPOSITIONS as DISPOSITIONS,
)
from domain.dispositions import (
    MOVEMENT_KIND as MOVEMENT_KIND,
)
from domain.dispositions import Disposition, DispositionRules
from domain.models import Address, CanonicalOrder
from domain.money import q
from domain.shipments import ShipmentLine, ShipmentState
from domain.timings import Timings

DAY = 86400.0
# How long an authorised RMA waits for the parcel before it expires (business seconds).
RMA_EXPIRY_S = 14 * DAY

Condition = Literal["new", "unopened", "opened", "used", "damaged"]
RmaStatus = Literal[
    "authorised",
    "label_issued",
    "in_transit",
    "partially_received",
    "received",
    "inspected",
    "refunding",
    "exchanging",
    "closed",
    "expired",
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ReturnLineRequest(_Body):
    """One line the customer sends back; `exchange_sku` asks for a replacement instead."""

    line_id: str = Field(min_length=1, max_length=64)
    quantity: int = Field(gt=0, le=10_000)
    reason: str = Field(default="other", min_length=1, max_length=64)
    exchange_sku: str | None = Field(default=None, min_length=1, max_length=64)


class ReturnRequest(_Body):
    """`POST /v1/orders/{id}/returns`: the lines to return."""

    lines: list[ReturnLineRequest] = Field(min_length=1, max_length=500)


class ReceivedLine(_Body):
    """What the receiving location found in the parcel for one line."""

    line_id: str = Field(min_length=1, max_length=64)
    quantity: int = Field(gt=0, le=10_000)
    condition: Condition


class ReceiveRequest(_Body):
    """`POST /v1/returns/{rma_id}/receive`."""

    lines: list[ReceivedLine] = Field(min_length=1, max_length=500)


class RmaLine(BaseModel):
    """One line of an RMA, from authorisation to disposition."""

    line_id: str
    sku: str
    quantity: int
    reason: str
    unit_price: Decimal
    exchange_sku: str | None = None
    exchange_unit_price: Decimal | None = None
    received: int = 0
    condition: Condition | None = None
    disposition: Disposition | None = None


class ReturnInput(BaseModel):
    """Input of `ReturnWorkflow`."""

    rma_id: str
    rma_seq: int
    order_id: str
    parent_workflow_id: str
    channel: str
    shipping_service: str
    location_id: str
    customer_address: Address
    lines: list[RmaLine]
    label_id: str
    carrier: str
    tracking_number: str
    label_url: str
    timings: Timings = Field(default_factory=Timings)
    expiry_s: float = RMA_EXPIRY_S
    rules: DispositionRules = Field(default_factory=DispositionRules)


class ReturnState(BaseModel):
    """Everything a return workflow holds: its `state` query and read-model snapshot."""

    rma_id: str
    order_id: str
    status: RmaStatus = "authorised"
    location_id: str
    carrier: str = ""
    tracking_number: str = ""
    label_url: str = ""
    lines: list[RmaLine]
    refund_amount: Decimal | None = None
    replacement_shipments: list[ShipmentState] = Field(default_factory=list)
    # Receipts taken so far (parcels), and the refunds the order reported for them.
    receipts: int = 0
    note: str = ""


class ReturnAuthorisation(BaseModel):
    """The answer to a return request."""

    rma_id: str
    status: str
    label_url: str


class ReturnOutcome(BaseModel):
    """What the return workflow reports to its order: a parcel, its close, or its expiry.

    `lines` are the units of this parcel (`received` counts them); a line keeps its
    `exchange_sku` only when its units wait for a replacement, settled at the close:
    `exchanged` were replaced, `refund_instead` could not be and are refunded.
    `parcel` 0 is a report from a return authorised before parcels were counted (one parcel,
    its exchanges already shipped).
    """

    rma_id: str
    status: Literal["received", "closed", "expired"]
    parcel: int = 0
    lines: list[RmaLine] = Field(default_factory=list)
    replacement_shipments: list[ShipmentState] = Field(default_factory=list)
    exchanged: dict[str, int] = Field(default_factory=dict)
    refund_instead: dict[str, int] = Field(default_factory=dict)


class ReturnsLedger(BaseModel):
    """What the order knows of its returns (part of the order's state)."""

    seq: int = 0
    window_closes_at: datetime | None = None
    window_closed: bool = False
    # line_id -> units requested or returned (expired RMAs give theirs back).
    claimed: dict[str, int] = Field(default_factory=dict)
    # line_id -> units received back, and the part of them refunded (not exchanged).
    returned: dict[str, int] = Field(default_factory=dict)
    refunded_units: dict[str, int] = Field(default_factory=dict)
    open_rmas: dict[str, list[RmaLine]] = Field(default_factory=dict)
    # rma_id -> the ReturnWorkflow's id.
    children: dict[str, str] = Field(default_factory=dict)

    def add(self, counts: str, line_id: str, units: int) -> None:
        """Add `units` (may be negative) to one of the per-line counters, never below zero."""
        table: dict[str, int] = getattr(self, counts)
        table[line_id] = max(0, table.get(line_id, 0) + units)


class RefundIssued(BaseModel):
    """The order tells its return what it refunded."""

    amount: Decimal


def ordered_quantities(order: CanonicalOrder) -> dict[str, int]:
    """line_id -> units ordered."""
    return {line.line_id: line.quantity for line in order.lines}


def delivered_quantities(shipments: Iterable[tuple[str, list[ShipmentLine]]]) -> dict[str, int]:
    """line_id -> units delivered, from (shipment status, lines) pairs."""
    out: dict[str, int] = {}
    for status, lines in shipments:
        if status != "delivered":
            continue
        for part in lines:
            out[part.line_id] = out.get(part.line_id, 0) + part.quantity
    return out


def returnable(delivered: Mapping[str, int], claimed: Mapping[str, int]) -> dict[str, int]:
    """line_id -> units that may still be returned (delivered minus returned or requested)."""
    return {k: max(0, v - claimed.get(k, 0)) for k, v in delivered.items()}


def refusal(
    request: ReturnRequest,
    order: CanonicalOrder,
    still_returnable: Mapping[str, int],
) -> str | None:
    """Why `request` cannot be authorised, or None when it can."""
    known = {line.line_id: line for line in order.lines}
    seen: set[str] = set()
    for index, line in enumerate(request.lines):
        if line.line_id in seen:
            return f"lines[{index}].line_id: line {line.line_id!r} appears twice"
        seen.add(line.line_id)
        if line.line_id not in known:
            return f"lines[{index}].line_id: order has no line {line.line_id!r}"
        left = still_returnable.get(line.line_id, 0)
        if line.quantity > left:
            return (
                f"lines[{index}].quantity: only {left} unit(s) of line {line.line_id!r} "
                f"can be returned (delivered minus already returned or requested)"
            )
        if line.exchange_sku is not None and line.exchange_sku == known[line.line_id].sku:
            return f"lines[{index}].exchange_sku: same SKU as the line; return it instead"
    return None


def window_closed_message(closes_at: datetime) -> str:
    """The refusal given once the return window has passed."""
    return f"return window closed on {closes_at:%Y-%m-%d %H:%M} UTC"


def disposition_for(
    condition: Condition, reason: str = "", rules: DispositionRules | None = None
) -> Disposition:
    """Where a unit in `condition`, returned for `reason`, goes (see `DispositionRules`)."""
    return (rules or DispositionRules()).disposition(condition, reason)


def tax_share(order: CanonicalOrder, merchandise: Decimal) -> Decimal:
    """The part of the order's tax that `merchandise` carried."""
    total = order.merchandise_total
    if total <= 0 or order.tax_total <= 0:
        return Decimal("0.00")
    return q(order.tax_total * merchandise / total)


def refund_amount(
    order: CanonicalOrder,
    returned: Mapping[str, int],
    *,
    whole_order: bool,
    refunded_before: Decimal,
) -> Decimal:
    """Refund for `returned` units (line_id -> units) under the policy in the module docstring."""
    if whole_order:
        return max(Decimal("0.00"), q(order.total - refunded_before))
    prices = {line.line_id: line.unit_price for line in order.lines}
    merchandise = q(sum((prices[k] * n for k, n in returned.items()), Decimal(0)))
    return q(merchandise + tax_share(order, merchandise))


def exchange_difference(
    order: CanonicalOrder, lines: Iterable[RmaLine], units: Mapping[str, int] | None = None
) -> Decimal:
    """Refund owed for exchanges to cheaper SKUs: price difference plus its tax share.

    `units` (line_id -> units replaced) overrides each line's `received`.
    """
    difference = Decimal(0)
    for line in lines:
        n = line.received if units is None else units.get(line.line_id, 0)
        if line.exchange_sku and line.exchange_unit_price is not None and n:
            difference += (line.unit_price - line.exchange_unit_price) * n
    difference = q(max(Decimal(0), difference))
    return q(difference + tax_share(order, difference))


def exchange_refusal(line: RmaLine) -> str | None:
    """Why an exchange cannot be authorised (unknown or dearer SKU), or None."""
    if line.exchange_sku is None:
        return None
    if line.exchange_unit_price is None:
        return f"unknown exchange SKU {line.exchange_sku!r}"
    if line.exchange_unit_price > line.unit_price:
        return (
            f"exchange SKU {line.exchange_sku!r} costs {line.exchange_unit_price}, more than "
            f"{line.unit_price}; return the item and place a new order"
        )
    return None
