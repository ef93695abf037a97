"""Business delays of the order process, all multiplied by one time scale (`--time-scale`)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, Field

from domain.dispositions import DispositionRules
from domain.models import CanonicalOrder

HOUR = 3600.0
DAY = 24 * HOUR


class Timings(BaseModel):
    """Durations in business seconds; `scaled()` turns them into timer durations."""

    time_scale: float = Field(default=1.0, gt=0)
    tracking_poll_s: float = 0.5 * HOUR
    tracking_poll_max_s: float = 4 * HOUR
    return_window_s: float = 30 * DAY
    backorder_deadline_s: float = 7 * DAY
    backorder_recheck_s: float = 1 * HOUR
    # How long an order the shop has not been paid for waits before it is cancelled.
    unpaid_deadline_s: float = 7 * DAY
    # Floor under scaled timers, so a tiny scale does not make pollers spin.
    min_timer_s: float = 0.05

    def scaled(self, business_seconds: float) -> timedelta:
        """A business duration as a real timer duration."""
        return timedelta(seconds=max(self.min_timer_s, business_seconds * self.time_scale))


class OrderInput(BaseModel):
    """Input of `OrderWorkflow`."""

    order_id: str
    order: CanonicalOrder
    timings: Timings = Field(default_factory=Timings)
    # How its returns are disposed of (fixed for the order's lifetime, like its timings).
    return_rules: DispositionRules = Field(default_factory=DispositionRules)
    # Taken in unpaid (Shopify `pending`, WooCommerce `pending`/`on-hold`): stock is reserved,
    # nothing ships until the `payment_received` signal.
    awaiting_payment: bool = False
    # The connected shop that sold it: told of shipments, the cancellation and refunds.
    connection_id: str | None = None
