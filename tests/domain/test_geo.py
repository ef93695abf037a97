"""Geocoding by postal prefix and region, and great-circle distance."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.geo import (
    CA_PROVINCE_CENTROIDS,
    COUNTRY_CENTROIDS,
    EARTH_RADIUS_KM,
    US_STATE_CENTROIDS,
    ZIP3_TO_STATE,
    GeoPoint,
    distances_km,
    geocode,
    haversine_km,
    us_state_for_zip,
)

STATES_AND_DC = {
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA",
    "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ",
    "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT",
    "VA", "WA", "WV", "WI", "WY", "DC",
}  # fmt: skip

points = st.builds(
    GeoPoint,
    lat=st.floats(min_value=-90, max_value=90, allow_nan=False),
    lon=st.floats(min_value=-180, max_value=180, allow_nan=False),
)


def test_every_state_and_dc_has_a_centroid() -> None:
    assert STATES_AND_DC <= set(US_STATE_CENTROIDS)
    assert len(STATES_AND_DC) == 51


def test_every_zip3_maps_to_a_state_with_a_centroid() -> None:
    assert set(ZIP3_TO_STATE.values()) <= set(US_STATE_CENTROIDS)
    assert STATES_AND_DC <= set(ZIP3_TO_STATE.values())


def test_centroids_are_valid_points() -> None:
    tables = (US_STATE_CENTROIDS, CA_PROVINCE_CENTROIDS, COUNTRY_CENTROIDS)
    for table in tables:
        for lat, lon in table.values():
            GeoPoint(lat=lat, lon=lon)
    assert {"CA", "GB", "DE", "FR", "AU", "MX", "US"} <= set(COUNTRY_CENTROIDS)
    assert len(CA_PROVINCE_CENTROIDS) == 13


@pytest.mark.parametrize(
    ("postal_code", "state"),
    [
        ("10001", "NY"),
        ("14201", "NY"),
        ("78701", "TX"),
        ("78701-1234", "TX"),
        ("73301", "TX"),  # Austin IRS, inside Oklahoma's range
        ("88510", "TX"),  # El Paso, among New Mexico's
        ("73102", "OK"),
        ("90210", "CA"),
        ("96101", "CA"),
        ("96813", "HI"),
        ("99501", "AK"),
        ("02134", "MA"),
        ("2134", "MA"),  # the leading zero lost in a spreadsheet
        ("05501", "MA"),  # Andover IRS, inside Vermont's range
        ("05401", "VT"),
        ("07030", "NJ"),
        ("20500", "DC"),
        ("20101", "VA"),
        ("21201", "MD"),
        ("30301", "GA"),
        ("39801", "GA"),  # among Mississippi's
        ("39201", "MS"),
        ("33101", "FL"),
        ("60601", "IL"),
        ("80202", "CO"),
        ("98101", "WA"),
        ("00901", "PR"),
    ],
)
def test_zip3_to_state(postal_code: str, state: str) -> None:
    assert us_state_for_zip(postal_code) == state


@pytest.mark.parametrize("postal_code", ["", "  ", "ABCDE", "12", "09001", "34001", "96201"])
def test_zip_without_a_state(postal_code: str) -> None:
    # Junk, too short, or military (AE/AA/AP): no state.
    assert us_state_for_zip(postal_code) is None


def test_geocode_us_prefers_zip_over_region() -> None:
    assert geocode("78701", "CA", "US") == GeoPoint(
        lat=US_STATE_CENTROIDS["TX"][0], lon=US_STATE_CENTROIDS["TX"][1]
    )


def test_geocode_us_falls_back_to_region_then_country() -> None:
    ny = US_STATE_CENTROIDS["NY"]
    assert geocode("not-a-zip", "ny", "us") == GeoPoint(lat=ny[0], lon=ny[1])
    us = COUNTRY_CENTROIDS["US"]
    assert geocode("09001", "AE", "US") == GeoPoint(lat=us[0], lon=us[1])


def test_geocode_canada_by_postal_letter_then_region() -> None:
    on, nu, bc = (CA_PROVINCE_CENTROIDS[p] for p in ("ON", "NU", "BC"))
    assert geocode("M5V 2T6", "", "CA") == GeoPoint(lat=on[0], lon=on[1])
    assert geocode("X0A 0H0", "NU", "CA") == GeoPoint(lat=nu[0], lon=nu[1])
    assert geocode("", "BC", "CA") == GeoPoint(lat=bc[0], lon=bc[1])


@pytest.mark.parametrize("country", ["GB", "DE", "FR", "AU", "MX", "gb"])
def test_geocode_other_countries_by_centroid(country: str) -> None:
    lat, lon = COUNTRY_CENTROIDS[country.upper()]
    assert geocode("SW1A 1AA", "", country) == GeoPoint(lat=lat, lon=lon)


def test_geocode_unknown_country_is_none() -> None:
    assert geocode("12345", "XX", "ZZ") is None
    assert geocode("", "", "") is None


def test_haversine_known_distances() -> None:
    nyc, la = GeoPoint(lat=40.7128, lon=-74.0060), GeoPoint(lat=34.0522, lon=-118.2437)
    assert haversine_km(nyc, la) == pytest.approx(3936, rel=0.01)
    north, south = GeoPoint(lat=90, lon=0), GeoPoint(lat=-90, lon=0)
    assert haversine_km(north, south) == pytest.approx(math.pi * EARTH_RADIUS_KM)


@given(points, points)
def test_haversine_is_a_symmetric_bounded_distance(a: GeoPoint, b: GeoPoint) -> None:
    d = haversine_km(a, b)
    assert d == pytest.approx(haversine_km(b, a), abs=1e-6)
    assert 0 <= d <= math.pi * EARTH_RADIUS_KM + 1e-6
    assert haversine_km(a, a) == pytest.approx(0, abs=1e-6)


@given(points, points, points)
def test_haversine_triangle_inequality(a: GeoPoint, b: GeoPoint, c: GeoPoint) -> None:
    assert haversine_km(a, c) <= haversine_km(a, b) + haversine_km(b, c) + 1e-6


@given(points, st.lists(points, max_size=5))
def test_distances_km_matches_haversine(origin: GeoPoint, others: list[GeoPoint]) -> None:
    got = distances_km(origin, [(p.lat, p.lon) for p in others])
    assert got == pytest.approx([haversine_km(origin, p) for p in others], abs=1e-6)
