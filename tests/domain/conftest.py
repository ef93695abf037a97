"""Fixtures for the pure domain tests: a few well-known warehouses around an Austin order."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from domain.geo import GeoPoint, geocode
from domain.routing import RoutingLine, RoutingLocation

LocationFactory = Callable[..., RoutingLocation]


def make_location(
    location_id: str,
    lat: float,
    lon: float,
    kind: str = "warehouse",
    daily_capacity: int = 100,
    **extra: object,
) -> RoutingLocation:
    """A routing location with generous capacity unless told otherwise."""
    return RoutingLocation.model_validate(
        {
            "location_id": location_id,
            "kind": kind,
            "lat": lat,
            "lon": lon,
            "daily_capacity": daily_capacity,
            **extra,
        }
    )


@pytest.fixture
def location() -> LocationFactory:
    """Build a `RoutingLocation` from an id and coordinates."""
    return make_location


@pytest.fixture
def austin() -> GeoPoint:
    """Where the example orders go: 78701 resolves to the Texas centroid."""
    point = geocode("78701", "TX", "US")
    assert point is not None
    return point


@pytest.fixture
def warehouses() -> list[RoutingLocation]:
    """Dallas (near Texas), Newark (east) and Los Angeles (west)."""
    return [
        make_location("WH-DAL", 32.78, -96.80),
        make_location("WH-EAST", 40.73, -74.17),
        make_location("WH-WEST", 34.05, -118.24),
    ]


@pytest.fixture
def tshirt_order() -> list[RoutingLine]:
    """Two T-shirt lines and a mug."""
    return [
        RoutingLine(line_id="1", sku="TSHIRT-M", quantity=2, weight_grams=200),
        RoutingLine(line_id="2", sku="MUG", quantity=1, weight_grams=400),
        RoutingLine(line_id="3", sku="TSHIRT-L", quantity=1, weight_grams=220),
    ]
