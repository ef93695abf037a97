"""Money as Decimal with a currency; amounts are split so the parts add up exactly."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def q(amount: Decimal | int | str) -> Decimal:
    """Quantize to cents, half up (what a receipt shows)."""
    return Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)


def allocate(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """Split `total` in proportion to `weights`; the last part takes the rounding remainder."""
    if not weights:
        return []
    weight_sum = sum(weights, Decimal(0))
    if weight_sum == 0:
        parts = [Decimal("0.00")] * len(weights)
        parts[-1] = q(total)
        return parts
    parts = [q(total * w / weight_sum) for w in weights[:-1]]
    parts.append(q(total) - sum(parts, Decimal(0)))
    return parts
