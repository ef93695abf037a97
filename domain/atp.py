"""Available-to-promise: what can still be sold from a location, and what a channel is shown."""

from __future__ import annotations

import math
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field


def atp(on_hand: int, reserved: int, safety_stock: int) -> int:
    """Units free to promise: on hand minus reserved minus safety stock, never below zero."""
    return max(0, on_hand - reserved - safety_stock)


def channel_atp(atp: int, buffer_units: int = 0, buffer_pct: float | Decimal = 0) -> int:
    """What a channel may sell: `atp` minus the larger of a unit buffer and a percentage buffer.

    The percentage buffer rounds up (a 10% buffer on 5 units holds one back), so a channel that
    lags in syncing stock cannot oversell the last units. The result is in `0..atp`.
    """
    if buffer_units < 0:
        raise ValueError(f"buffer_units: must be >= 0, got {buffer_units}")
    pct = Decimal(str(buffer_pct))
    if not pct.is_finite() or pct < 0 or pct > 100:
        raise ValueError(f"buffer_pct: must be between 0 and 100, got {buffer_pct}")
    base = max(0, atp)
    held_by_pct = math.ceil(Decimal(base) * pct / 100)
    return max(0, base - max(buffer_units, held_by_pct))


class InventoryPosition(BaseModel):
    """Stock of one SKU at one location."""

    model_config = ConfigDict(frozen=True)

    sku: str = Field(min_length=1)
    location_id: str = Field(min_length=1)
    # May go negative after a miscount or an oversell; ATP then clamps to zero.
    on_hand: int
    reserved: int = Field(default=0, ge=0)
    safety_stock: int = Field(default=0, ge=0)
    inbound: int = Field(default=0, ge=0)

    @property
    def available(self) -> int:
        """Units free to promise now."""
        return atp(self.on_hand, self.reserved, self.safety_stock)

    @property
    def available_with_inbound(self) -> int:
        """Units free to promise once inbound stock (purchase orders, transfers) arrives."""
        return atp(self.on_hand + self.inbound, self.reserved, self.safety_stock)
