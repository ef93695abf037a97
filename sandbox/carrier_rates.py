"""Sandbox carrier data: zones from distance, price tables (weight band x zone), schedules.

Prices are in USD for a ground parcel; faster services multiply them. Every number a sandbox
carrier quotes comes from this module, so changing a tariff is a data edit.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal

from domain.money import q
from integrations.carriers.errors import InvalidAddress, InvalidParcel
from integrations.carriers.protocol import Address, RateRequest, Service

HOUR = 3600.0

# Rough geographic centre (lat, lon) of each state: enough to tell zone 2 from zone 8.
STATE_CENTROIDS: dict[str, tuple[float, float]] = {
    "AL": (32.8, -86.8), "AK": (64.2, -149.5), "AZ": (34.2, -111.7), "AR": (34.9, -92.4),
    "CA": (37.2, -119.4), "CO": (39.0, -105.5), "CT": (41.6, -72.7), "DE": (39.0, -75.5),
    "DC": (38.9, -77.0), "FL": (28.6, -82.4), "GA": (32.7, -83.4), "HI": (20.8, -156.3),
    "ID": (44.4, -114.6), "IL": (40.0, -89.2), "IN": (39.9, -86.3), "IA": (42.1, -93.5),
    "KS": (38.5, -98.4), "KY": (37.5, -85.3), "LA": (31.1, -92.0), "ME": (45.4, -69.2),
    "MD": (39.0, -76.8), "MA": (42.3, -71.8), "MI": (44.3, -85.4), "MN": (46.3, -94.3),
    "MS": (32.7, -89.7), "MO": (38.4, -92.5), "MT": (47.0, -109.6), "NE": (41.5, -99.8),
    "NV": (39.3, -116.6), "NH": (43.7, -71.6), "NJ": (40.2, -74.7), "NM": (34.4, -106.1),
    "NY": (42.9, -75.5), "NC": (35.6, -79.4), "ND": (47.5, -100.5), "OH": (40.3, -82.8),
    "OK": (35.6, -97.5), "OR": (43.9, -120.6), "PA": (40.9, -77.8), "PR": (18.2, -66.5),
    "RI": (41.7, -71.5), "SC": (33.9, -80.9), "SD": (44.4, -100.2), "TN": (35.9, -86.4),
    "TX": (31.5, -99.3), "UT": (39.3, -111.7), "VT": (44.1, -72.7), "VA": (37.5, -78.9),
    "WA": (47.4, -120.5), "WV": (38.6, -80.6), "WI": (44.6, -89.9), "WY": (43.0, -107.6),
}  # fmt: skip
# The first ZIP digit names a band of states; one stands in when the region is missing.
ZIP_DIGIT_STATE = {"0": "MA", "1": "NY", "2": "VA", "3": "GA", "4": "OH",
                   "5": "MN", "6": "IL", "7": "TX", "8": "CO", "9": "CA"}  # fmt: skip
# Upper bound in miles of zones 1..7; anything further is zone 8 (USPS-like bands).
ZONE_MILES = (50, 150, 300, 600, 1000, 1400, 1800)
US_ZIP = re.compile(r"^\d{5}(-\d{4})?$")

WEIGHT_BANDS_KG = (0.5, 1, 2, 5, 10, 20, 30)

# Business-time offsets of each scan after label creation, in seconds. Standard stays within
# 8 hours, so a time scale of 0.001 delivers in about 25 seconds.
SCHEDULES: dict[Service, dict[str, float]] = {
    "ground": {"in_transit": 1 * HOUR, "out_for_delivery": 7 * HOUR, "delivered": 8 * HOUR},
    "standard": {"in_transit": 1 * HOUR, "out_for_delivery": 6 * HOUR, "delivered": 7 * HOUR},
    "express": {"in_transit": 1 * HOUR, "out_for_delivery": 4 * HOUR, "delivered": 5 * HOUR},
    "overnight": {"in_transit": 0.5 * HOUR, "out_for_delivery": 2 * HOUR, "delivered": 3 * HOUR},
}
# After a failed attempt: back out for delivery, then delivered.
REDELIVERY = {"out_for_delivery": 0.5 * HOUR, "delivered": 1 * HOUR}


def _table(rows: str) -> tuple[tuple[Decimal, ...], ...]:
    return tuple(tuple(Decimal(cell) for cell in row.split()) for row in rows.strip().splitlines())


@dataclass(frozen=True)
class CarrierTariff:
    """One sandbox carrier's coverage, prices and label format."""

    name: str
    display_name: str
    countries: frozenset[str]
    # Ground price per weight band (rows, WEIGHT_BANDS_KG) and zone (columns 1..8).
    ground: tuple[tuple[Decimal, ...], ...]
    multipliers: dict[Service, Decimal]
    transit_days: dict[Service, tuple[int, ...]]
    dim_divisor: int
    tracking_prefix: str


TARIFFS: dict[str, CarrierTariff] = {
    "parcelpoint": CarrierTariff(
        name="parcelpoint",
        display_name="ParcelPoint",
        countries=frozenset({"US"}),
        ground=_table("""
             7.10  7.35  7.60  7.95  8.40  8.90  9.45 10.10
             7.80  8.10  8.45  8.95  9.60 10.30 11.05 11.90
             8.90  9.35  9.90 10.70 11.75 12.90 14.10 15.45
            11.60 12.40 13.50 15.10 17.20 19.50 21.95 24.60
            15.20 16.60 18.50 21.30 24.90 28.80 33.00 37.50
            22.40 25.00 28.60 33.80 40.50 47.80 55.60 64.00
            29.50 33.40 38.70 46.30 56.10 66.80 78.20 90.40
        """),
        multipliers={"ground": Decimal("1.00"), "standard": Decimal("1.30"),
                     "express": Decimal("2.20"), "overnight": Decimal("3.60")},
        transit_days={"ground": (1, 2, 2, 3, 4, 4, 5, 5), "standard": (1, 2, 2, 2, 3, 3, 3, 4),
                      "express": (1, 1, 2, 2, 2, 2, 2, 2), "overnight": (1,) * 8},
        dim_divisor=5000,
        tracking_prefix="PP",
    ),
    "swiftship": CarrierTariff(
        name="swiftship",
        display_name="SwiftShip",
        countries=frozenset({"US"}),
        ground=_table("""
             7.60  7.75  7.90  8.10  8.30  8.55  8.85  9.20
             8.30  8.50  8.75  9.05  9.40  9.80 10.25 10.75
             9.50  9.85 10.25 10.80 11.45 12.20 13.00 13.90
            12.40 13.10 13.95 15.05 16.35 17.85 19.50 21.30
            16.50 17.70 19.20 21.10 23.40 26.00 28.90 32.00
            24.60 26.90 29.80 33.50 37.90 42.90 48.40 54.40
            32.80 36.20 40.50 45.90 52.40 59.80 67.90 76.80
        """),
        multipliers={"ground": Decimal("1.00"), "standard": Decimal("1.22"),
                     "express": Decimal("1.95"), "overnight": Decimal("3.30")},
        transit_days={"ground": (2, 2, 3, 3, 4, 5, 5, 6), "standard": (1, 2, 2, 3, 3, 3, 4, 4),
                      "express": (1, 2, 2, 2, 2, 2, 2, 2), "overnight": (1,) * 8},
        dim_divisor=6000,
        tracking_prefix="SW",
    ),
}  # fmt: skip


def validate_destination(address: Address, countries: frozenset[str]) -> None:
    """Refuse what no carrier could deliver: missing parts, impossible ZIPs, other countries."""
    _check_country(address, "ship_to", countries)
    for part in ("line1", "city"):
        if not getattr(address, part).strip():
            raise InvalidAddress(f"ship_to.{part}", f"{part} is required.")
    if not address.postal_code.strip():
        raise InvalidAddress("ship_to.postal_code", "Postal code is required.")
    _check_zip(address, "ship_to")


def validate_origin(address: Address, countries: frozenset[str]) -> None:
    """Refuse an origin the carrier cannot zone: another country, or neither ZIP nor state."""
    # The pickup street is on file with the carrier account; the origin only sets the zone.
    _check_country(address, "ship_from", countries)
    if address.postal_code.strip():
        _check_zip(address, "ship_from")
    elif address.region.strip().upper() not in STATE_CENTROIDS:
        raise InvalidAddress("ship_from.postal_code", "A ZIP code or a state is required.")


def _check_country(address: Address, prefix: str, countries: frozenset[str]) -> None:
    country = address.country.strip().upper()
    if country not in countries:
        raise InvalidAddress(f"{prefix}.country", f"Country {country!r} is not served.")


def _check_zip(address: Address, prefix: str) -> None:
    postal = address.postal_code.strip()
    digits = postal[:5]
    if not US_ZIP.match(postal) or len(set(digits)) == 1 or digits.startswith("000"):
        raise InvalidAddress(f"{prefix}.postal_code", f"{postal!r} is not a valid ZIP code.")


def state_of(address: Address) -> str:
    """The address's state: its region when it is one, else guessed from the ZIP."""
    region = address.region.strip().upper()
    if region in STATE_CENTROIDS:
        return region
    # Validation guarantees a valid ZIP when the region is not a known state.
    return ZIP_DIGIT_STATE[address.postal_code.strip()[0]]


def zone_between(origin: Address, destination: Address) -> int:
    """Shipping zone 1..8 from the distance between the two states."""
    a, b = state_of(origin), state_of(destination)
    if a == b:
        return 1 if origin.postal_code[:3] == destination.postal_code[:3] else 2
    miles = _miles(STATE_CENTROIDS[a], STATE_CENTROIDS[b])
    return next((zone for zone, limit in enumerate(ZONE_MILES, 1) if miles <= limit), 8)


def _miles(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 3958.8 * math.asin(math.sqrt(h))


def billable_kg(req: RateRequest, tariff: CarrierTariff) -> float:
    """The greater of actual and dimensional weight."""
    actual = req.weight_grams / 1000
    if req.parcel is None:
        return actual
    p = req.parcel
    return max(actual, p.length_cm * p.width_cm * p.height_cm / tariff.dim_divisor)


def quote(tariff: CarrierTariff, zone: int, kg: float, service: Service) -> tuple[Decimal, int]:
    """Price and transit days for one service; `InvalidParcel` above the heaviest band."""
    band = next((i for i, limit in enumerate(WEIGHT_BANDS_KG) if kg <= limit), None)
    if band is None:
        raise InvalidParcel(
            "too_heavy", f"{kg:.1f} kg exceeds {tariff.display_name}'s {WEIGHT_BANDS_KG[-1]} kg."
        )
    price = q(tariff.ground[band][zone - 1] * tariff.multipliers[service])
    return price, tariff.transit_days[service][zone - 1]
