"""The order state machine: statuses and the transitions allowed between them, in one place."""

from __future__ import annotations

from enum import StrEnum

from domain.errors import InvalidTransition as InvalidTransition


class OrderStatus(StrEnum):
    """Customer-visible status of an order."""

    # Stored and editable, not placed: no stock taken, no payment, no workflow (confirm places
    # it as `received`; the sweeper expires one left too long).
    DRAFT = "draft"
    EXPIRED = "expired"
    RECEIVED = "received"
    # Stock is reserved; the shop has not been paid yet, so nothing ships.
    AWAITING_PAYMENT = "awaiting_payment"
    BACKORDERED = "backordered"
    ON_HOLD = "on_hold"
    IN_FULFILLMENT = "in_fulfillment"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"
    RETURNED = "returned"
    PARTIALLY_RETURNED = "partially_returned"


S = OrderStatus
_ACTIVE = {S.RECEIVED, S.BACKORDERED, S.IN_FULFILLMENT}
# Statuses where an order's stock outcome is known (reserved, backordered, or ended): every
# step but the first ones, and not waiting for payment or on hold.
STOCK_SETTLED: frozenset[str] = frozenset(
    s.value for s in OrderStatus if s not in {S.DRAFT, S.RECEIVED, S.AWAITING_PAYMENT, S.ON_HOLD}
)
# Drafts (and the drafts that expired) were never placed: no demand, no sale, no KPI.
NOT_PLACED: frozenset[str] = frozenset({S.DRAFT.value, S.EXPIRED.value})

ALLOWED: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.DRAFT: frozenset({S.RECEIVED, S.EXPIRED}),
    S.EXPIRED: frozenset(),
    S.RECEIVED: frozenset({S.IN_FULFILLMENT, S.BACKORDERED, S.ON_HOLD, S.CANCELLED, S.FAILED}),
    S.BACKORDERED: frozenset(
        {S.IN_FULFILLMENT, S.AWAITING_PAYMENT, S.ON_HOLD, S.CANCELLED, S.FAILED}
    ),
    S.AWAITING_PAYMENT: frozenset(_ACTIVE | {S.ON_HOLD, S.CANCELLED, S.FAILED}),
    # Release returns to where the order was; a held order can still be cancelled.
    S.ON_HOLD: frozenset(_ACTIVE | {S.AWAITING_PAYMENT, S.SHIPPED, S.CANCELLED, S.FAILED}),
    S.IN_FULFILLMENT: frozenset(
        {S.SHIPPED, S.AWAITING_PAYMENT, S.ON_HOLD, S.BACKORDERED, S.CANCELLED, S.FAILED}
    ),
    S.SHIPPED: frozenset({S.DELIVERED, S.FAILED, S.RETURNED, S.ON_HOLD}),
    S.DELIVERED: frozenset({S.COMPLETED, S.RETURNED, S.PARTIALLY_RETURNED}),
    S.PARTIALLY_RETURNED: frozenset({S.RETURNED, S.COMPLETED, S.PARTIALLY_RETURNED}),
    S.COMPLETED: frozenset({S.RETURNED, S.PARTIALLY_RETURNED}),
    S.CANCELLED: frozenset(),
    S.FAILED: frozenset(),
    S.RETURNED: frozenset(),
}

TERMINAL = frozenset({S.CANCELLED, S.FAILED, S.RETURNED, S.EXPIRED})


def can_transition(current: OrderStatus, new: OrderStatus) -> bool:
    """Whether `current -> new` is allowed (staying put always is)."""
    return current == new or new in ALLOWED[current]


def transition(current: OrderStatus, new: OrderStatus) -> OrderStatus:
    """Return `new`, or raise `InvalidTransition` when the machine forbids it."""
    if not can_transition(current, new):
        raise InvalidTransition(f"order cannot go from {current.value} to {new.value}")
    return new
