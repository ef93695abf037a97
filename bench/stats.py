"""Percentiles and rates, rounded for a report."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by nearest rank; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def latency_ms(seconds: Sequence[float]) -> dict[str, float]:
    """p50 and p99 of durations in seconds, as milliseconds."""
    return {
        "p50_ms": round(percentile(seconds, 50) * 1000, 3),
        "p99_ms": round(percentile(seconds, 99) * 1000, 3),
    }


def rate(count: int, elapsed_s: float) -> float:
    """Units per second, rounded."""
    return round(count / elapsed_s, 2) if elapsed_s > 0 else 0.0


def ratio(numerator: float, denominator: float) -> float | None:
    """numerator / denominator, or None when the denominator is missing."""
    if not denominator:
        return None
    return round(numerator / denominator, 3)


def geomean(values: Sequence[float | None]) -> float | None:
    """Geometric mean of the present values."""
    present = [v for v in values if v]
    if not present:
        return None
    return round(math.exp(sum(math.log(v) for v in present) / len(present)), 3)


def rounded(data: dict[str, Any]) -> dict[str, Any]:
    """Floats to 3 decimals (for a compact JSON line)."""
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in data.items()}
