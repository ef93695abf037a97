"""Estimated parcel cost by zone and billable weight, for scoring routing candidates.

This is not the price a label is bought at (rate shopping asks the carriers); it is a stable,
carrier-neutral estimate so that routing can compare "ship from here" against "ship from there"
without I/O. The tables are plain data: edit a cell, not a formula.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from decimal import Decimal

from domain.money import q

CURRENCY = "USD"

# Upper bound (exclusive, km) of each zone; anything farther is the last zone.
ZONE_BANDS_KM: tuple[tuple[float, int], ...] = (
    (80, 1),
    (240, 2),
    (480, 3),
    (960, 4),
    (1600, 5),
    (2400, 6),
    (2900, 7),
)
MAX_ZONE = 8

# Ground rate by zone for 1..10 billable pounds.
_RATES_BY_ZONE: dict[int, tuple[str, ...]] = {
    1: ("6.90", "7.25", "7.60", "7.95", "8.30", "8.65", "9.00", "9.35", "9.70", "10.05"),
    2: ("7.40", "7.85", "8.30", "8.75", "9.20", "9.65", "10.10", "10.55", "11.00", "11.45"),
    3: ("7.95", "8.55", "9.15", "9.75", "10.35", "10.95", "11.55", "12.15", "12.75", "13.35"),
    4: ("8.60", "9.40", "10.20", "11.00", "11.80", "12.60", "13.40", "14.20", "15.00", "15.80"),
    5: ("9.30", "10.30", "11.30", "12.30", "13.30", "14.30", "15.30", "16.30", "17.30", "18.30"),
    6: ("10.10", "11.35", "12.60", "13.85", "15.10", "16.35", "17.60", "18.85", "20.10", "21.35"),
    7: ("10.90", "12.40", "13.90", "15.40", "16.90", "18.40", "19.90", "21.40", "22.90", "24.40"),
    8: ("11.80", "13.60", "15.40", "17.20", "19.00", "20.80", "22.60", "24.40", "26.20", "28.00"),
}
RATE_TABLE: dict[int, tuple[Decimal, ...]] = {
    zone: tuple(Decimal(rate) for rate in rates) for zone, rates in _RATES_BY_ZONE.items()
}
# Each pound beyond the table's last column, by zone.
EXTRA_LB_RATE: dict[int, Decimal] = {
    1: Decimal("0.35"),
    2: Decimal("0.45"),
    3: Decimal("0.60"),
    4: Decimal("0.80"),
    5: Decimal("1.00"),
    6: Decimal("1.25"),
    7: Decimal("1.50"),
    8: Decimal("1.80"),
}
SERVICE_MULTIPLIER: dict[str, Decimal] = {
    "economy": Decimal("0.85"),
    "standard": Decimal("1"),
    "express": Decimal("1.85"),
    "overnight": Decimal("3.10"),
}

# Exact: 1 lb = 0.45359237 kg, kept as integers so rounding up never suffers float error.
_MICROGRAMS_PER_LB = 453_592_370


_ZONE_UPPER_KM = [upper for upper, _ in ZONE_BANDS_KM]


def zone_for_distance(distance_km: float) -> int:
    """Shipping zone (1..8) for a distance: <80 km is zone 1, 2900 km or more is zone 8."""
    if math.isnan(distance_km):
        return MAX_ZONE
    # Bands are contiguous and numbered from 1, so the band's index is the zone minus one.
    return bisect_right(_ZONE_UPPER_KM, distance_km) + 1


def billable_lb(weight_grams: int) -> int:
    """Weight in whole pounds, rounded up, at least 1."""
    if weight_grams <= 0:
        return 1
    return max(1, -(-weight_grams * 1_000_000 // _MICROGRAMS_PER_LB))


def rate_for(zone: int, pounds: int) -> Decimal:
    """Standard-service rate for a zone and a billable weight in pounds."""
    if zone not in RATE_TABLE:
        raise ValueError(f"zone: must be 1..{MAX_ZONE}, got {zone}")
    rates = RATE_TABLE[zone]
    pounds = max(1, pounds)
    if pounds <= len(rates):
        return rates[pounds - 1]
    return rates[-1] + EXTRA_LB_RATE[zone] * (pounds - len(rates))


def estimate_for_pounds(zone: int, pounds: int, service: str = "standard") -> Decimal:
    """Estimated cost (cents, half up) of one parcel of `pounds` billable pounds into `zone`."""
    multiplier = SERVICE_MULTIPLIER.get(service)
    if multiplier is None:
        raise ValueError(f"service: unknown service {service!r}")
    return q(rate_for(zone, pounds) * multiplier)


def estimate_for_zone(zone: int, weight_grams: int, service: str = "standard") -> Decimal:
    """Estimated cost (cents, half up) of one parcel of `weight_grams` into `zone`."""
    return estimate_for_pounds(zone, billable_lb(weight_grams), service)


def estimate_shipping_cost(
    distance_km: float, weight_grams: int, service: str = "standard"
) -> Decimal:
    """Estimated cost of one parcel of `weight_grams` travelling `distance_km`."""
    return estimate_for_zone(zone_for_distance(distance_km), weight_grams, service)
