"""Invoice only what shipped: how much each shipment captures of the authorized total."""

from __future__ import annotations

from decimal import Decimal

from domain.models import CanonicalOrder
from domain.money import allocate, q
from domain.order_state import ShipmentLine


def capture_plan(order: CanonicalOrder, shipments: list[list[ShipmentLine]]) -> list[Decimal]:
    """Amount to capture per shipment: its merchandise plus a pro-rata share of shipping and tax.

    The shares add up to the order total exactly (the last shipment takes the rounding
    remainder), so capturing every shipment captures the whole authorization.
    """
    prices = {line.line_id: line.unit_price for line in order.lines}
    merchandise = [
        q(sum((prices[part.line_id] * part.quantity for part in parts), Decimal(0)))
        for parts in shipments
    ]
    extras = allocate(order.shipping_price + order.tax_total, merchandise)
    return [q(m + e) for m, e in zip(merchandise, extras, strict=True)]
