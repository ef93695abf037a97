"""Rate shopping: the cheapest rate that meets the service level the customer was promised."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Protocol, TypeVar

SERVICE_RANK = {"economy": 0, "ground": 0, "standard": 1, "express": 2, "overnight": 3}


class RateLike(Protocol):
    """What rate shopping needs of a carrier's rate."""

    @property
    def carrier(self) -> str: ...
    @property
    def service(self) -> str: ...
    @property
    def amount(self) -> Decimal: ...
    @property
    def transit_days(self) -> int: ...


R = TypeVar("R", bound=RateLike)


def meets(rate: RateLike, promised: str) -> bool:
    """A rate meets a promise when its service is at least as fast."""
    return SERVICE_RANK.get(rate.service, -1) >= SERVICE_RANK.get(promised, 1)


def choose_rate(rates: Sequence[R], promised: str) -> tuple[R, list[R]]:
    """(chosen, alternatives): cheapest qualifying rate; ties go to the faster, then by name."""
    qualifying = [r for r in rates if meets(r, promised)]
    if not qualifying:
        raise ValueError(f"no carrier offers {promised} or faster to this address")
    ranked = sorted(qualifying, key=lambda r: (r.amount, r.transit_days, r.carrier, r.service))
    chosen = ranked[0]
    return chosen, [r for r in rates if r is not chosen]
