"""Fulfilment KPIs computed from order facts and stock positions (pure: no I/O, no clock)."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel

from domain.atp import atp

EXCEPTION_EVENTS = frozenset({"delivery_exception", "alert", "tracking_exception"})
DELIVERED_STATUSES = frozenset({"delivered", "completed", "returned", "partially_returned"})
# Events the KPIs read; the store loads only these (timelines carry many more).
KPI_EVENTS = frozenset(
    {
        "received",
        "delivered",
        "backordered",
        "rerouted",
        "label_purchased",
        "payment_refunded",
        "return_requested",
        *EXCEPTION_EVENTS,
    }
)
# Promised door-to-door time per shipping service, in business hours (scaled by the caller).
PROMISE_HOURS: Mapping[str, float] = {
    "overnight": 48.0,
    "express": 96.0,
    "standard": 168.0,
    "economy": 240.0,
}


@dataclass(frozen=True)
class EventFact:
    """One timeline event of an order."""

    at: datetime
    type: str
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OrderFact:
    """What the KPIs need of one order."""

    order_id: str
    channel: str
    status: str
    created_at: datetime
    shipments: int = 0
    shipping_service: str = "standard"
    events: tuple[EventFact, ...] = ()

    def first(self, type_: str) -> EventFact | None:
        """The earliest event of a type."""
        return min((e for e in self.events if e.type == type_), key=lambda e: e.at, default=None)

    def has(self, types: Iterable[str]) -> bool:
        """Whether any event of these types happened."""
        wanted = set(types)
        return any(e.type in wanted for e in self.events)


@dataclass(frozen=True)
class StockFact:
    """Counters of one SKU at one location."""

    sku: str
    location_id: str
    on_hand: int
    reserved: int
    safety_stock: int = 0
    inbound: int = 0

    @property
    def available(self) -> int:
        """Available to promise."""
        return atp(self.on_hand, self.reserved, self.safety_stock)


class CycleTime(BaseModel):
    """Received -> delivered, in hours."""

    count: int
    p50_hours: float | None
    p90_hours: float | None


class ChannelDay(BaseModel):
    """Orders received on one UTC day, per channel."""

    day: date
    counts: dict[str, int]


class Kpis(BaseModel):
    """The fulfilment scorecard of a window. Rates are 0..1, or None without a denominator."""

    since: datetime
    until: datetime
    orders: int
    cycle_time: CycleTime
    perfect_order_rate: float | None
    stockout_rate: float | None
    backorder_rate: float | None
    split_shipment_rate: float | None
    reroute_rate: float | None
    fulfilment_cost_per_order: Decimal | None
    label_cost_total: Decimal
    return_rate_by_reason: dict[str, float]
    orders_by_channel: list[ChannelDay]


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100) with linear interpolation between ranks."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _hours(order: OrderFact) -> float | None:
    start = order.first("received")
    end = order.first("delivered")
    if end is None:
        return None
    began = start.at if start is not None else order.created_at
    return max(0.0, (end.at - began).total_seconds() / 3600)


def _money(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return Decimal("0")


def cycle_time(orders: Iterable[OrderFact]) -> CycleTime:
    """p50/p90 of received -> delivered over delivered orders."""
    hours = [h for h in (_hours(o) for o in orders) if h is not None]
    p50, p90 = percentile(hours, 50), percentile(hours, 90)
    return CycleTime(
        count=len(hours),
        p50_hours=None if p50 is None else round(p50, 3),
        p90_hours=None if p90 is None else round(p90, 3),
    )


def is_perfect(order: OrderFact, promise_hours: Mapping[str, float]) -> bool:
    """Delivered, on time, without a delivery exception or a refund."""
    hours = _hours(order)
    if order.status not in DELIVERED_STATUSES or hours is None:
        return False
    promise = promise_hours.get(order.shipping_service, promise_hours.get("standard", math.inf))
    return hours <= promise and not order.has(EXCEPTION_EVENTS | {"payment_refunded"})


def perfect_order_rate(
    orders: Sequence[OrderFact], promise_hours: Mapping[str, float] = PROMISE_HOURS
) -> float | None:
    """Perfect orders over orders that reached an outcome (delivered or failed).

    Failed orders count against the rate (the customer did not get the order); cancellations
    by ops or the customer are excluded, as are orders still on their way.
    """
    finished = [o for o in orders if o.status in DELIVERED_STATUSES or o.status == "failed"]
    return _rate(sum(is_perfect(o, promise_hours) for o in finished), len(finished))


def stockout_rate(stock: Iterable[StockFact]) -> float | None:
    """Share of stocked SKUs that no location can promise a unit of."""
    by_sku: dict[str, int] = defaultdict(int)
    for s in stock:
        by_sku[s.sku] += s.available
    return _rate(sum(1 for units in by_sku.values() if units <= 0), len(by_sku))


def split_shipment_rate(orders: Sequence[OrderFact]) -> float | None:
    """Orders sent in more than one parcel over orders with at least one."""
    shipped = [o for o in orders if o.shipments > 0]
    return _rate(sum(1 for o in shipped if o.shipments > 1), len(shipped))


def fulfilment_cost(orders: Sequence[OrderFact]) -> tuple[Decimal, Decimal | None]:
    """(total label cost, cost per order that bought a label); voided labels still cost."""
    total, labelled = Decimal("0"), 0
    for o in orders:
        costs = [_money(e.detail.get("cost", 0)) for e in o.events if e.type == "label_purchased"]
        if costs:
            labelled += 1
            total += sum(costs, Decimal("0"))
    per_order = (total / labelled).quantize(Decimal("0.01")) if labelled else None
    return total.quantize(Decimal("0.01")), per_order


def _return_reasons(event: EventFact) -> list[str]:
    """A request names one reason, or one per returned line."""
    lines = event.detail.get("lines")
    if isinstance(lines, list) and lines:
        return [str(x.get("reason") or "unspecified") for x in lines if isinstance(x, Mapping)]
    return [str(event.detail.get("reason") or "unspecified")]


def return_rate_by_reason(orders: Sequence[OrderFact]) -> dict[str, float]:
    """Orders with a return for each reason over delivered orders."""
    delivered = [o for o in orders if o.status in DELIVERED_STATUSES or o.has({"delivered"})]
    counts: Counter[str] = Counter()
    for o in orders:
        reasons: set[str] = set()
        for e in o.events:
            if e.type == "return_requested":
                reasons.update(_return_reasons(e))
        counts.update(reasons)
    if not delivered:
        return {}
    return {reason: round(n / len(delivered), 4) for reason, n in sorted(counts.items())}


def orders_by_channel(orders: Iterable[OrderFact], since: date, until: date) -> list[ChannelDay]:
    """Orders per UTC day and channel, every day of the window present (zeros included)."""
    counts: dict[date, Counter[str]] = defaultdict(Counter)
    channels: set[str] = set()
    for o in orders:
        counts[o.created_at.date()][o.channel] += 1
        channels.add(o.channel)
    days = []
    day = since
    while day <= until:
        days.append(ChannelDay(day=day, counts={c: counts[day][c] for c in sorted(channels)}))
        day += timedelta(days=1)
    return days


def compute(
    orders: Sequence[OrderFact],
    stock: Sequence[StockFact],
    since: datetime,
    until: datetime,
    promise_hours: Mapping[str, float] = PROMISE_HOURS,
) -> Kpis:
    """Every KPI of the window from orders created in it and the current stock."""
    total, per_order = fulfilment_cost(orders)
    routed = [o for o in orders if o.shipments > 0 or o.has({"rerouted"})]
    return Kpis(
        since=since,
        until=until,
        orders=len(orders),
        cycle_time=cycle_time(orders),
        perfect_order_rate=perfect_order_rate(orders, promise_hours),
        stockout_rate=stockout_rate(stock),
        backorder_rate=_rate(sum(o.has({"backordered"}) for o in orders), len(orders)),
        split_shipment_rate=split_shipment_rate(orders),
        reroute_rate=_rate(sum(o.has({"rerouted"}) for o in routed), len(routed)),
        fulfilment_cost_per_order=per_order,
        label_cost_total=total,
        return_rate_by_reason=return_rate_by_reason(orders),
        orders_by_channel=orders_by_channel(orders, since.date(), until.date()),
    )
