"""Order and address rules that need no database: each problem names its field."""

from __future__ import annotations

import re

from domain.models import Address

POSTAL_PATTERNS = {
    "US": re.compile(r"^\d{5}(-\d{4})?$"),
    "CA": re.compile(r"^[A-Z]\d[A-Z] ?\d[A-Z]\d$", re.IGNORECASE),
    "GB": re.compile(r"^[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}$", re.IGNORECASE),
    "DE": re.compile(r"^\d{5}$"),
    "FR": re.compile(r"^\d{5}$"),
    "AU": re.compile(r"^\d{4}$"),
    "MX": re.compile(r"^\d{5}$"),
}
SUPPORTED_COUNTRIES = frozenset(POSTAL_PATTERNS)
REGION_REQUIRED = frozenset({"US", "CA", "AU"})


def address_problems(address: Address, prefix: str = "ship_to") -> list[tuple[str, str]]:
    """(field, message) for every rule the address breaks; empty when it is shippable."""
    problems: list[tuple[str, str]] = []
    country = address.country.upper()
    if country not in SUPPORTED_COUNTRIES:
        supported = ", ".join(sorted(SUPPORTED_COUNTRIES))
        problems.append((f"{prefix}.country", f"we do not ship to {country} (only {supported})"))
        return problems
    if not POSTAL_PATTERNS[country].match(address.postal_code):
        problems.append(
            (
                f"{prefix}.postal_code",
                f"{address.postal_code!r} is not a valid {country} postal code",
            )
        )
    elif address.postal_code.startswith("00000"):
        problems.append((f"{prefix}.postal_code", "00000 is not a deliverable postal code"))
    if country in REGION_REQUIRED and not address.region:
        problems.append((f"{prefix}.region", f"a region (state/province) is required in {country}"))
    return problems
