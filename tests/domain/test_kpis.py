"""KPIs on a small, hand-checked set of orders and stock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from domain.kpis import EventFact, OrderFact, StockFact, compute, percentile

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def order(
    n: int, status: str, hours: float | None = None, shipments: int = 1, *extra: EventFact
) -> OrderFact:
    """An order received at T0 + n days, delivered `hours` later when given."""
    at = T0 + timedelta(days=n)
    events = [EventFact(at, "received")]
    if hours is not None:
        events.append(EventFact(at + timedelta(hours=hours), "delivered"))
    return OrderFact(
        order_id=f"o{n}",
        channel="web" if n % 2 else "shopify",
        status=status,
        created_at=at,
        shipments=shipments,
        events=(*events, *extra),
    )


def ev(type_: str, **detail: object) -> EventFact:
    return EventFact(T0, type_, detail)


ORDERS = [
    order(0, "delivered", 24, 1, ev("label_purchased", cost="7.50")),
    order(
        1,
        "completed",
        48,
        2,
        ev("label_purchased", cost="5.00"),
        ev("label_purchased", cost="6.00"),
    ),
    # Late: 200 h against the 168 h standard promise.
    order(2, "delivered", 200, 1, ev("label_purchased", cost="8.00")),
    order(3, "delivered", 30, 1, ev("delivery_exception", alert=True), ev("payment_refunded")),
    order(
        4,
        "returned",
        40,
        1,
        ev("return_requested", lines=[{"reason": "too_small"}, {"reason": "damaged"}]),
    ),
    order(5, "failed", None, 0),
    order(6, "cancelled", None, 0, ev("backordered")),
    order(7, "in_fulfillment", None, 1, ev("rerouted"), ev("backordered")),
]
STOCK = [
    StockFact("A", "W1", on_hand=10, reserved=2),
    StockFact("A", "W2", on_hand=0, reserved=0),
    StockFact("B", "W1", on_hand=5, reserved=5),
    StockFact("C", "W1", on_hand=3, reserved=0, safety_stock=3),
]


@pytest.fixture
def kpis():  # type: ignore[no-untyped-def]
    return compute(ORDERS, STOCK, T0, T0 + timedelta(days=8))


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([], 50) is None
    assert percentile([5.0], 90) == 5.0
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile(list(range(11)), 90) == pytest.approx(9.0)


def test_cycle_time_uses_received_to_delivered(kpis) -> None:  # type: ignore[no-untyped-def]
    # Delivered: 24, 48, 200, 30, 40 -> sorted 24, 30, 40, 48, 200.
    assert kpis.cycle_time.count == 5
    assert kpis.cycle_time.p50_hours == 40
    assert kpis.cycle_time.p90_hours == pytest.approx(48 + 0.6 * 152)


def test_perfect_order_rate(kpis) -> None:  # type: ignore[no-untyped-def]
    # Finished: o0..o4 delivered plus o5 failed = 6; perfect: o0, o1, o4 (o2 late, o3 exception).
    assert kpis.perfect_order_rate == pytest.approx(3 / 6, abs=1e-4)


def test_rates(kpis) -> None:  # type: ignore[no-untyped-def]
    assert kpis.orders == 8
    assert kpis.backorder_rate == pytest.approx(2 / 8)
    # Shipped orders o0..o4 and o7 (6); split: o1.
    assert kpis.split_shipment_rate == pytest.approx(1 / 6, abs=1e-4)
    assert kpis.reroute_rate == pytest.approx(1 / 6, abs=1e-4)
    # SKU A has 8 available, B none (all reserved), C none (all safety stock).
    assert kpis.stockout_rate == pytest.approx(2 / 3, abs=1e-4)


def test_fulfilment_cost_per_order(kpis) -> None:  # type: ignore[no-untyped-def]
    assert kpis.label_cost_total == Decimal("26.50")
    assert kpis.fulfilment_cost_per_order == Decimal("8.83")  # 26.50 over 3 labelled orders


def test_return_rate_by_reason(kpis) -> None:  # type: ignore[no-untyped-def]
    assert kpis.return_rate_by_reason == {"damaged": 0.2, "too_small": 0.2}


def test_orders_by_channel_fills_every_day(kpis) -> None:  # type: ignore[no-untyped-def]
    days = kpis.orders_by_channel
    assert len(days) == 9 and days[0].day == T0.date()
    assert days[0].counts == {"shopify": 1, "web": 0}
    assert days[1].counts == {"shopify": 0, "web": 1}
    assert sum(sum(d.counts.values()) for d in days) == 8


def test_empty_window_has_no_rates() -> None:
    k = compute([], [], T0, T0 + timedelta(days=1))
    assert k.perfect_order_rate is None and k.backorder_rate is None
    assert k.fulfilment_cost_per_order is None and k.cycle_time.p50_hours is None
    assert k.return_rate_by_reason == {}
