"""The order timeline's vocabulary: every event type, and a typed constructor for each.

Workflows record `Entry` values built here (never a bare string and a dict), so a type is
spelled once, its detail always has the same keys, and the read model, the dashboard and the
KPIs can rely on both. Carrier scans (`carrier_<status>`) are written by the tracking activity
with `carrier_scan`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any


class EventType(StrEnum):
    """What happened to an order."""

    RECEIVED = "received"
    PAYMENT_AUTHORIZED = "payment_authorized"
    PAYMENT_COLLECTED_BY_CHANNEL = "payment_collected_by_channel"
    PAYMENT_NOT_REQUIRED = "payment_not_required"
    PAYMENT_CAPTURED = "payment_captured"
    PAYMENT_REFUNDED = "payment_refunded"
    PAYMENT_INCREMENTED = "payment_incremented"
    RECEIVABLE_ADJUSTED = "receivable_adjusted"
    PAYMENT_VOIDED = "payment_voided"
    ROUTED = "routed"
    BACKORDERED = "backordered"
    PARTIALLY_BACKORDERED = "partially_backordered"
    BACKORDER_CANCELLED = "backorder_cancelled"
    LABEL_PURCHASED = "label_purchased"
    LABEL_VOIDED = "label_voided"
    RELEASED_TO_LOCATION = "released_to_location"
    RELEASE_WITHDRAWN = "release_withdrawn"
    SHIPMENT_PICKED = "shipment_picked"
    SHIPMENT_PACKED = "shipment_packed"
    SHIPMENT_SHIPPED = "shipment_shipped"
    SHIPMENT_DELIVERED = "shipment_delivered"
    SHIPPED = "shipped"
    TRACKING_IN_TRANSIT = "tracking_in_transit"
    TRACKING_OUT_FOR_DELIVERY = "tracking_out_for_delivery"
    TRACKING_EXCEPTION = "tracking_exception"
    DELIVERY_EXCEPTION = "delivery_exception"
    DELIVERED = "delivered"
    COMPLETED = "completed"
    HELD = "held"
    RELEASED = "released"
    ADDRESS_CHANGED = "address_changed"
    REROUTE_REQUESTED = "reroute_requested"
    REROUTED = "rerouted"
    CANCEL_REQUESTED = "cancel_requested"
    CANCEL_REFUSED = "cancel_refused"
    PARTIALLY_CANCELLED = "partially_cancelled"
    LINES_CANCELLED = "lines_cancelled"
    ORDER_EDITED = "order_edited"
    CHANGE_REFUSED = "change_refused"
    CANCELLED = "cancelled"
    STOCK_RELEASED = "stock_released"
    FAILED = "failed"
    RETURN_WINDOW_OPENED = "return_window_opened"
    RETURN_REQUESTED = "return_requested"
    RETURN_RECEIVED = "return_received"
    RETURN_EXPIRED = "return_expired"
    EXCHANGE_SHIPPED = "exchange_shipped"
    PARTIALLY_RETURNED = "partially_returned"
    RETURNED = "returned"
    NOTIFICATION_FAILED = "notification_failed"
    ALERT = "alert"
    AWAITING_PAYMENT = "awaiting_payment"
    PAYMENT_RECEIVED_AT_SHOP = "payment_received_at_shop"
    SHOP_UPDATED = "shop_updated"
    SHOP_UPDATE_FAILED = "shop_update_failed"
    # Drafts (services/drafts.py): stored, edited, placed, or left to expire.
    DRAFT_CREATED = "draft_created"
    DRAFT_EDITED = "draft_edited"
    DRAFT_CONFIRMED = "draft_confirmed"
    DRAFT_EXPIRED = "draft_expired"
    # Invoice payment (B2B): the receivable, an invoice per shipment, credit notes.
    RECEIVABLE_OPENED = "receivable_opened"
    INVOICE_ISSUED = "invoice_issued"
    CREDIT_NOTE_ISSUED = "credit_note_issued"
    RECEIVABLE_REDUCED = "receivable_reduced"


@dataclass(frozen=True)
class Entry:
    """One timeline entry before it gets its key and time (the workflow adds both)."""

    type: EventType
    detail: dict[str, Any] = field(default_factory=dict)


def _ids(shipment_id: str) -> dict[str, Any]:
    return {"shipment_id": shipment_id}


# ---- intake and money ----------------------------------------------------------------------------


def received(total: Decimal, lines: int) -> Entry:
    """The order arrived."""
    return Entry(EventType.RECEIVED, {"total": str(total), "lines": lines})


def payment(kind: EventType, amount: Decimal, **detail: Any) -> Entry:
    """A gateway operation (authorized, captured, refunded, voided) or its absence."""
    return Entry(kind, {"amount": str(amount), **detail})


def invoice_document(
    kind: EventType, document: str, amount: Decimal, reference: str, due_at: str | None = None
) -> Entry:
    """An invoice or a credit note was issued (`reference`: the shipment, or the return)."""
    detail: dict[str, Any] = {"document": document, "amount": str(amount), "reference": reference}
    if due_at is not None:
        detail["due_at"] = due_at
    return Entry(kind, detail)


# ---- allocation ----------------------------------------------------------------------------------


def routed(locations: Iterable[str], explanation: str) -> Entry:
    """Shipments were planned (why: the routing explanation)."""
    return Entry(EventType.ROUTED, {"locations": sorted(locations), "explanation": explanation})


def short(kind: EventType, lines: list[dict[str, Any]]) -> Entry:
    """Lines no location could supply (backordered, partly backordered)."""
    return Entry(kind, {"short": lines})


# ---- shipments -----------------------------------------------------------------------------------


def label_purchased(
    shipment_id: str,
    carrier: str,
    service: str,
    tracking_number: str,
    cost: Decimal,
    alternatives: list[str],
) -> Entry:
    """A label was bought (and the rates it beat)."""
    return Entry(
        EventType.LABEL_PURCHASED,
        {
            "shipment_id": shipment_id,
            "carrier": carrier,
            "service": service,
            "tracking_number": tracking_number,
            "cost": str(cost),
            "alternatives": alternatives,
        },
    )


def released_to_location(shipment_id: str, location_id: str) -> Entry:
    """The shipment went to its location's warehouse."""
    return Entry(
        EventType.RELEASED_TO_LOCATION, {"shipment_id": shipment_id, "location_id": location_id}
    )


def shipment(kind: EventType, shipment_id: str) -> Entry:
    """A shipment-level step (withdrawn, picked, packed, shipped, delivered, label voided)."""
    return Entry(kind, _ids(shipment_id))


def warehouse_report(report: str, shipment_id: str) -> Entry:
    """The warehouse's `picked`, `packed` or `shipped`."""
    return shipment(EventType(f"shipment_{report}"), shipment_id)


def tracking(status: str, shipment_id: str, description: str) -> Entry:
    """The carrier's status changed (in transit, out for delivery, exception: an alert)."""
    alert = {"alert": True} if status == "exception" else {}
    return Entry(
        EventType(f"tracking_{status}"),
        {"shipment_id": shipment_id, "description": description, **alert},
    )


def delivery_exception(shipment_id: str, carrier_status: str) -> Entry:
    """The parcel was lost or returned to sender: refunded, customer told."""
    return Entry(
        EventType.DELIVERY_EXCEPTION,
        {"shipment_id": shipment_id, "carrier_status": carrier_status, "alert": True},
    )


# ---- status and ops ------------------------------------------------------------------------------


def status(kind: EventType, **detail: Any) -> Entry:
    """A plain status step (shipped, delivered, completed, held, released, cancelled, ...)."""
    return Entry(kind, detail)


def with_reason(kind: EventType, reason: str | None) -> Entry:
    """An ops step and the reason given (cancel requested or refused, held, released, failed)."""
    return Entry(kind, {"reason": reason})


def address_changed(city: str, country: str) -> Entry:
    """The ship-to address changed (only the city and country: no personal data)."""
    return Entry(EventType.ADDRESS_CHANGED, {"city": city, "country": country})


def reroute_requested(exclude_locations: list[str], reason: str) -> Entry:
    """Ops asked to move unshipped work away from some locations."""
    return Entry(
        EventType.REROUTE_REQUESTED, {"exclude_locations": exclude_locations, "reason": reason}
    )


def rerouted(moved_from: list[str], excluded: list[str]) -> Entry:
    """Unshipped shipments came back to be routed again."""
    return Entry(EventType.REROUTED, {"from": moved_from, "excluded": excluded})


def cancelled_part(
    kind: EventType, reason: str, shipments: list[str], lines: list[dict[str, Any]]
) -> Entry:
    """What a cancel (or the backorder deadline) took off an order that is partly under way."""
    return Entry(kind, {"reason": reason, "shipments": shipments, "lines": lines})


def order_changed(
    kind: EventType,
    reason: str,
    lines: list[dict[str, Any]],
    totals: tuple[Decimal, Decimal],
    payment: dict[str, Any],
    replanned: list[str],
) -> Entry:
    """A line cancel or an edit took effect: lines before and after, totals, the money, and the
    shipments it took back to plan again."""
    return Entry(
        kind,
        {
            "reason": reason,
            "lines": lines,
            "total_before": str(totals[0]),
            "total_after": str(totals[1]),
            "payment": payment,
            "replanned": replanned,
        },
    )


def by(entry: Entry, actor: Any) -> Entry:
    """The entry with who asked for it (an `Actor`: API key id and name), when known."""
    if actor is None:
        return entry
    who = {"key_id": actor.key_id, "name": actor.name, "role": actor.role}
    return Entry(entry.type, {**entry.detail, "actor": who})


def alert(message: str, **detail: Any) -> Entry:
    """Something ops should look at."""
    return Entry(EventType.ALERT, {"message": message, **detail})


def notification_failed(kind: str, reason: str) -> Entry:
    """An email could not be sent (the order goes on)."""
    return Entry(EventType.NOTIFICATION_FAILED, {"kind": kind, "reason": reason})


# ---- returns -------------------------------------------------------------------------------------


def return_window_opened(closes_at: str) -> Entry:
    """Delivery opened the return window."""
    return Entry(EventType.RETURN_WINDOW_OPENED, {"closes_at": closes_at})


def return_line(kind: EventType, rma_id: str, **detail: Any) -> Entry:
    """A line of an RMA was requested or received."""
    return Entry(kind, {"rma_id": rma_id, **detail})


def rma(kind: EventType, rma_id: str, **detail: Any) -> Entry:
    """An RMA-level step (expired, exchange shipped, order returned in part or whole)."""
    return Entry(kind, {"rma_id": rma_id, **detail})


def carrier_scan(status_: str) -> str:
    """The type of a carrier scan on the timeline (written by the tracking activity)."""
    return f"carrier_{status_}"


def shop_updated(what: str, **detail: Any) -> Entry:
    """The shop that sold the order was told (a fulfilment, a cancellation, a note)."""
    return Entry(EventType.SHOP_UPDATED, {"what": what, **detail})


def shop_update_failed(what: str, reason: str) -> Entry:
    """The shop could not be told; ops should look (the order goes on)."""
    return Entry(EventType.SHOP_UPDATE_FAILED, {"what": what, "reason": reason})
