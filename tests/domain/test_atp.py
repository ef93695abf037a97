"""Available-to-promise and channel buffers."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from domain.atp import InventoryPosition, atp, channel_atp

units = st.integers(min_value=-1_000, max_value=100_000)
counts = st.integers(min_value=0, max_value=100_000)
percents = st.decimals(min_value=0, max_value=100, places=2, allow_nan=False)


@pytest.mark.parametrize(
    ("on_hand", "reserved", "safety", "expected"),
    [(10, 3, 2, 5), (10, 10, 0, 0), (5, 3, 4, 0), (-2, 0, 0, 0), (0, 0, 0, 0)],
)
def test_atp_examples(on_hand: int, reserved: int, safety: int, expected: int) -> None:
    assert atp(on_hand, reserved, safety) == expected


@given(units, counts, counts)
def test_atp_is_never_negative_and_never_above_on_hand(
    on_hand: int, reserved: int, safety: int
) -> None:
    value = atp(on_hand, reserved, safety)
    assert value >= 0
    assert value <= max(0, on_hand)
    assert value == max(0, on_hand - reserved - safety)


@pytest.mark.parametrize(
    ("available", "buffer_units", "buffer_pct", "expected"),
    [
        (10, 0, 0, 10),
        (10, 2, 0, 8),
        (5, 0, 10, 4),  # 10% of 5 rounds up to one unit held back
        (100, 3, 10, 90),  # the larger buffer wins
        (100, 15, 10, 85),
        (3, 5, 0, 0),
        (10, 0, 100, 0),
        (0, 2, 50, 0),
        (-4, 0, 0, 0),
    ],
)
def test_channel_atp_examples(
    available: int, buffer_units: int, buffer_pct: float, expected: int
) -> None:
    assert channel_atp(available, buffer_units, buffer_pct) == expected


@given(units, counts, percents)
def test_channel_atp_stays_between_zero_and_atp(available: int, buffer: int, pct: Decimal) -> None:
    value = channel_atp(available, buffer, pct)
    assert 0 <= value <= max(0, available)


@given(counts, counts, counts, percents, percents)
def test_bigger_buffers_never_show_more(
    available: int, a: int, b: int, pct_a: Decimal, pct_b: Decimal
) -> None:
    small, big = sorted((a, b))
    low, high = sorted((pct_a, pct_b))
    assert channel_atp(available, big, low) <= channel_atp(available, small, low)
    assert channel_atp(available, small, high) <= channel_atp(available, small, low)


@pytest.mark.parametrize(("buffer_units", "buffer_pct"), [(-1, 0), (0, -1), (0, 101)])
def test_channel_atp_rejects_bad_buffers(buffer_units: int, buffer_pct: float) -> None:
    with pytest.raises(ValueError):
        channel_atp(10, buffer_units, buffer_pct)


def test_channel_atp_rejects_nan() -> None:
    with pytest.raises(ValueError, match="buffer_pct"):
        channel_atp(10, 0, float("nan"))


def test_inventory_position() -> None:
    position = InventoryPosition(
        sku="TSHIRT-M", location_id="WH-1", on_hand=20, reserved=5, safety_stock=3, inbound=10
    )
    assert position.available == 12
    assert position.available_with_inbound == 22
    oversold = InventoryPosition(sku="TSHIRT-M", location_id="WH-1", on_hand=-3)
    assert oversold.available == 0


def test_inventory_position_refuses_negative_counts() -> None:
    with pytest.raises(ValidationError, match="reserved"):
        InventoryPosition(sku="X", location_id="WH-1", on_hand=1, reserved=-1)


@given(units, counts, counts, counts)
def test_inventory_position_matches_atp(
    on_hand: int, reserved: int, safety: int, inbound: int
) -> None:
    position = InventoryPosition(
        sku="X",
        location_id="L",
        on_hand=on_hand,
        reserved=reserved,
        safety_stock=safety,
        inbound=inbound,
    )
    assert position.available == atp(on_hand, reserved, safety)
    assert position.available_with_inbound >= position.available
