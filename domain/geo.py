"""Coarse geocoding from postal code and region to a centroid, and great-circle distance.

Routing only needs "roughly where is this parcel going": a state or province centroid is within
a shipping zone of the real address, and it needs no network call, so it is safe inside a
workflow. The tables are Python data (not files) because workflow code may not do I/O.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field

EARTH_RADIUS_KM = 6371.0088


class GeoPoint(BaseModel):
    """A latitude/longitude pair in decimal degrees."""

    model_config = ConfigDict(frozen=True)

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


# Geographic centres of the US states, DC and Puerto Rico (lat, lon).
US_STATE_CENTROIDS: dict[str, tuple[float, float]] = {
    "AK": (63.588753, -154.493062),
    "AL": (32.318231, -86.902298),
    "AR": (35.201050, -91.831833),
    "AZ": (34.048928, -111.093731),
    "CA": (36.778261, -119.417932),
    "CO": (39.550051, -105.782067),
    "CT": (41.603221, -73.087749),
    "DC": (38.905985, -77.033418),
    "DE": (38.910832, -75.527670),
    "FL": (27.664827, -81.515754),
    "GA": (32.157435, -82.907123),
    "HI": (19.898682, -155.665857),
    "IA": (41.878003, -93.097702),
    "ID": (44.068202, -114.742041),
    "IL": (40.633125, -89.398528),
    "IN": (40.551217, -85.602364),
    "KS": (39.011902, -98.484246),
    "KY": (37.839333, -84.270018),
    "LA": (31.244823, -92.145024),
    "MA": (42.407211, -71.382437),
    "MD": (39.045755, -76.641271),
    "ME": (45.253783, -69.445469),
    "MI": (44.314844, -85.602364),
    "MN": (46.729553, -94.685900),
    "MO": (37.964253, -91.831833),
    "MS": (32.354668, -89.398528),
    "MT": (46.879682, -110.362566),
    "NC": (35.759573, -79.019300),
    "ND": (47.551493, -101.002012),
    "NE": (41.492537, -99.901813),
    "NH": (43.193852, -71.572395),
    "NJ": (40.058324, -74.405661),
    "NM": (34.972730, -105.032363),
    "NV": (38.802610, -116.419389),
    "NY": (43.299428, -74.217933),
    "OH": (40.417287, -82.907123),
    "OK": (35.007752, -97.092877),
    "OR": (43.804133, -120.554201),
    "PA": (41.203322, -77.194525),
    "PR": (18.220833, -66.590149),
    "RI": (41.580095, -71.477429),
    "SC": (33.836081, -81.163725),
    "SD": (43.969515, -99.901813),
    "TN": (35.517491, -86.580447),
    "TX": (31.968599, -99.901813),
    "UT": (39.320980, -111.093731),
    "VA": (37.431573, -78.656894),
    "VT": (44.558803, -72.577841),
    "WA": (47.751074, -120.740139),
    "WI": (43.784440, -88.787868),
    "WV": (38.597626, -80.454903),
    "WY": (43.075968, -107.290284),
}

# Canadian provinces and territories (lat, lon).
CA_PROVINCE_CENTROIDS: dict[str, tuple[float, float]] = {
    "AB": (53.933271, -116.576504),
    "BC": (53.726668, -127.647621),
    "MB": (53.760861, -98.813876),
    "NB": (46.565316, -66.461916),
    "NL": (53.135509, -57.660436),
    "NS": (44.681987, -63.744311),
    "NT": (64.825545, -124.845733),
    "NU": (70.299771, -83.107577),
    "ON": (51.253775, -85.323214),
    "PE": (46.510712, -63.416814),
    "QC": (52.939916, -73.549136),
    "SK": (52.939916, -106.450864),
    "YT": (64.282327, -135.000000),
}

COUNTRY_CENTROIDS: dict[str, tuple[float, float]] = {
    "US": (37.090240, -95.712891),
    "CA": (56.130366, -106.346771),
    "GB": (55.378051, -3.435973),
    "DE": (51.165691, 10.451526),
    "FR": (46.227638, 2.213749),
    "AU": (-25.274398, 133.775136),
    "MX": (23.634501, -102.552784),
}

# USPS ZIP3 prefixes by state: (first, last, state), inclusive. Later rows override earlier
# ones, which is how the exceptions inside a range (IRS and other unique ZIPs) are expressed.
# Military (AA/AE/AP) prefixes are left out on purpose: they fall back to the region.
_ZIP3_RANGES: tuple[tuple[int, int, str], ...] = (
    (5, 5, "NY"),
    (6, 9, "PR"),
    (10, 27, "MA"),
    (28, 29, "RI"),
    (30, 38, "NH"),
    (39, 49, "ME"),
    (50, 59, "VT"),
    (55, 55, "MA"),
    (60, 69, "CT"),
    (70, 89, "NJ"),
    (100, 149, "NY"),
    (150, 196, "PA"),
    (197, 199, "DE"),
    (200, 205, "DC"),
    (201, 201, "VA"),
    (206, 219, "MD"),
    (220, 246, "VA"),
    (247, 268, "WV"),
    (270, 289, "NC"),
    (290, 299, "SC"),
    (300, 319, "GA"),
    (398, 399, "GA"),
    (320, 339, "FL"),
    (341, 349, "FL"),
    (350, 369, "AL"),
    (370, 385, "TN"),
    (386, 397, "MS"),
    (400, 427, "KY"),
    (430, 459, "OH"),
    (460, 479, "IN"),
    (480, 499, "MI"),
    (500, 528, "IA"),
    (530, 549, "WI"),
    (550, 567, "MN"),
    (569, 569, "DC"),
    (570, 577, "SD"),
    (580, 588, "ND"),
    (590, 599, "MT"),
    (600, 629, "IL"),
    (630, 658, "MO"),
    (660, 679, "KS"),
    (680, 693, "NE"),
    (700, 714, "LA"),
    (716, 729, "AR"),
    (730, 749, "OK"),
    (750, 799, "TX"),
    (733, 733, "TX"),
    (885, 885, "TX"),
    (800, 816, "CO"),
    (820, 831, "WY"),
    (832, 838, "ID"),
    (840, 847, "UT"),
    (850, 865, "AZ"),
    (870, 884, "NM"),
    (889, 898, "NV"),
    (900, 961, "CA"),
    (967, 968, "HI"),
    (970, 979, "OR"),
    (980, 994, "WA"),
    (995, 999, "AK"),
)


def _build_zip3() -> dict[int, str]:
    table: dict[int, str] = {}
    for first, last, state in _ZIP3_RANGES:
        for prefix in range(first, last + 1):
            table[prefix] = state
    return table


ZIP3_TO_STATE: dict[int, str] = _build_zip3()

# First letter of a Canadian postal code (the FSA's district) -> province.
_CA_POSTAL_DISTRICT: dict[str, str] = {
    "A": "NL",
    "B": "NS",
    "C": "PE",
    "E": "NB",
    "G": "QC",
    "H": "QC",
    "J": "QC",
    "K": "ON",
    "L": "ON",
    "M": "ON",
    "N": "ON",
    "P": "ON",
    "R": "MB",
    "S": "SK",
    "T": "AB",
    "V": "BC",
    "X": "NT",
    "Y": "YT",
}


def _point(pair: tuple[float, float]) -> GeoPoint:
    return GeoPoint(lat=pair[0], lon=pair[1])


def us_state_for_zip(postal_code: str) -> str | None:
    """The state a US ZIP (5 or 9 digits, any punctuation) belongs to, by its first 3 digits."""
    code = postal_code.strip()
    digits = "".join(ch for ch in code if ch.isdigit())
    if len(digits) < 3 or not code[:1].isdigit():
        return None
    if len(digits) in (4, 8):
        # A spreadsheet ate the leading zero of a New England or New Jersey ZIP.
        digits = "0" + digits
    return ZIP3_TO_STATE.get(int(digits[:3]))


def ca_province_for_postal(postal_code: str) -> str | None:
    """The province of a Canadian postal code, by its first letter (X is NT or NU: NT)."""
    code = postal_code.strip().upper()
    return _CA_POSTAL_DISTRICT.get(code[:1]) if code else None


def geocode(postal_code: str, region: str, country: str) -> GeoPoint | None:
    """Approximate location: postal prefix, then region, then country centroid; None if unknown."""
    country = (country or "").strip().upper()
    region = (region or "").strip().upper()
    postal_code = postal_code or ""
    if country == "US":
        state = us_state_for_zip(postal_code)
        if state is not None:
            return _point(US_STATE_CENTROIDS[state])
        if region in US_STATE_CENTROIDS:
            return _point(US_STATE_CENTROIDS[region])
    elif country == "CA":
        province = ca_province_for_postal(postal_code)
        # The letter X covers both NT and NU; the region tells them apart.
        if province == "NT" and region == "NU":
            province = region
        if province is None and region in CA_PROVINCE_CENTROIDS:
            province = region
        if province is not None:
            return _point(CA_PROVINCE_CENTROIDS[province])
    centroid = COUNTRY_CENTROIDS.get(country)
    return _point(centroid) if centroid is not None else None


def haversine_km(a: GeoPoint, b: GeoPoint) -> float:
    """Great-circle distance between two points in kilometres."""
    return haversine_km_coords(a.lat, a.lon, b.lat, b.lon)


def haversine_km_coords(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres between two (lat, lon) pairs in degrees."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlam = math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlam / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def distances_km(origin: GeoPoint, points: Iterable[tuple[float, float]]) -> list[float]:
    """Great-circle distances from `origin` to many (lat, lon) pairs: the routing hot path."""
    phi0 = math.radians(origin.lat)
    cos0, lon0 = math.cos(phi0), origin.lon
    radians, sin, cos = math.radians, math.sin, math.cos
    out = []
    for lat, lon in points:
        phi = radians(lat)
        h = sin((phi0 - phi) / 2) ** 2 + cos0 * cos(phi) * sin(radians(lon0 - lon) / 2) ** 2
        out.append(2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h))))
    return out
