"""Zone bands, billable weight and the estimated parcel cost."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.shipping_cost import (
    EXTRA_LB_RATE,
    MAX_ZONE,
    RATE_TABLE,
    SERVICE_MULTIPLIER,
    billable_lb,
    estimate_for_zone,
    estimate_shipping_cost,
    rate_for,
    zone_for_distance,
)

distances = st.floats(min_value=0, max_value=20_000, allow_nan=False)
weights = st.integers(min_value=0, max_value=100_000)


@pytest.mark.parametrize(
    ("km", "zone"),
    [
        (0, 1),
        (79.99, 1),
        (80, 2),
        (239.9, 2),
        (240, 3),
        (479.9, 3),
        (480, 4),
        (959.9, 4),
        (960, 5),
        (1599.9, 5),
        (1600, 6),
        (2399.9, 6),
        (2400, 7),
        (2899.9, 7),
        (2900, 8),
        (15_000, 8),
        (float("nan"), 8),
    ],
)
def test_zone_bands(km: float, zone: int) -> None:
    assert zone_for_distance(km) == zone


@pytest.mark.parametrize(
    ("grams", "pounds"),
    [(0, 1), (1, 1), (453, 1), (454, 2), (907, 2), (908, 3), (4536, 11), (45_359, 100)],
)
def test_billable_weight_rounds_up_to_whole_pounds(grams: int, pounds: int) -> None:
    assert billable_lb(grams) == pounds


def test_rate_table_is_monotonic_in_zone_and_weight() -> None:
    assert sorted(RATE_TABLE) == list(range(1, MAX_ZONE + 1))
    for rates in RATE_TABLE.values():
        assert list(rates) == sorted(rates)
    for column in zip(*RATE_TABLE.values(), strict=True):
        assert list(column) == sorted(column)
    assert list(EXTRA_LB_RATE.values()) == sorted(EXTRA_LB_RATE.values())


def test_rates_beyond_the_table_add_per_pound() -> None:
    last = len(RATE_TABLE[4])
    assert rate_for(4, last + 3) == RATE_TABLE[4][-1] + 3 * EXTRA_LB_RATE[4]
    with pytest.raises(ValueError, match="zone"):
        rate_for(9, 1)


def test_examples() -> None:
    assert estimate_shipping_cost(50, 400) == Decimal("6.90")
    assert estimate_shipping_cost(1000, 2000) == Decimal("13.30")
    assert estimate_shipping_cost(5000, 500, "express") == Decimal("25.16")


def test_services() -> None:
    costs = [estimate_shipping_cost(1000, 1500, s) for s in SERVICE_MULTIPLIER]
    assert costs == sorted(costs)
    with pytest.raises(ValueError, match="service"):
        estimate_shipping_cost(1000, 1500, "teleport")


@given(distances, distances, weights)
def test_cost_never_falls_with_distance(a: float, b: float, grams: int) -> None:
    near, far = sorted((a, b))
    assert estimate_shipping_cost(near, grams) <= estimate_shipping_cost(far, grams)


@given(distances, weights, weights)
def test_cost_never_falls_with_weight(km: float, a: int, b: int) -> None:
    light, heavy = sorted((a, b))
    assert estimate_shipping_cost(km, light) <= estimate_shipping_cost(km, heavy)


@given(st.integers(min_value=1, max_value=MAX_ZONE), weights)
def test_cost_is_positive_and_in_cents(zone: int, grams: int) -> None:
    cost = estimate_for_zone(zone, grams)
    assert cost > 0
    assert cost == cost.quantize(Decimal("0.01"))
