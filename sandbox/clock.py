"""Time helpers shared by the sandboxes: an injectable clock and business-time scaling."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The current time in UTC (the default clock)."""
    return datetime.now(UTC)


def scaled(business_seconds: float, time_scale: float) -> timedelta:
    """A business duration as wall-clock time under `--time-scale`."""
    return timedelta(seconds=business_seconds * time_scale)
